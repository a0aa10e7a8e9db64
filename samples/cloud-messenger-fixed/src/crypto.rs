//! Sealing of identifiers before they leave the device: AES-256-GCM under the per-install key.
//!
//! Parley's servers hold the same key and open the sealed values only to answer presence queries
//! and route messages; nothing on the wire or in proxy logs reads as an IMEI or a phone number.

use std::fs;
use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::Aes256Gcm;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::error::Error;

/// Encrypts identifiers for Parley's servers.
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl Sealer {
    /// Loads the per-install key written at registration.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let key = fs::read(path).map_err(|err| Error::io(path, err))?;
        let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| Error::BadKey)?;
        Ok(Self { cipher })
    }

    /// `base64(nonce || ciphertext)` of `plain`, under a fresh random nonce.
    pub fn seal(&self, plain: &[u8]) -> Result<String, Error> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .cipher
            .encrypt(&nonce, plain)
            .map_err(|_| Error::Seal)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(STANDARD.encode(sealed))
    }
}
