//! The one error type of the messenger core; the JNI export turns it into an `IOException`.

use std::io;
use std::path::Path;

use thiserror::Error;

/// Everything that can stop a delivery.
#[derive(Debug, Error)]
pub enum Error {
    /// A JNI call failed or threw.
    #[error("jni call failed")]
    Jni(#[from] jni::errors::Error),
    /// A request to a Parley server failed or returned an error status.
    #[error("request to parley servers failed")]
    Http(#[from] reqwest::Error),
    /// A file in app storage could not be read or written.
    #[error("cannot access {path}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
    /// The mirrored address book is not the JSON the Java side writes.
    #[error("address book is malformed")]
    AddressBook(#[from] serde_json::Error),
    /// The app asked to deliver to a contact the address book does not have.
    #[error("no contact with id {0}")]
    UnknownContact(i64),
    /// The sealing key file does not hold a 256-bit key.
    #[error("sealing key has the wrong length")]
    BadKey,
    /// AES-GCM refused to encrypt (the plaintext is too long for one message).
    #[error("cannot seal identifier")]
    Seal,
    /// The telephony service answered with null (no modem, or a tablet).
    #[error("the telephony service returned no device id")]
    NoDeviceId,
}

impl Error {
    /// Wraps an I/O error with the file it happened on.
    pub fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
