//! Presence: asks the Parley presence server which contacts can get a message over the cloud.
//!
//! The server keys presence by phone number, so the query carries the number of every contact in
//! the address book, plus the handset's IMEI and own number so the server can tell installs apart.
//! Every one of them is sealed with the per-install key, and the query goes over TLS only.

use std::collections::HashSet;

use reqwest::blocking::Client;
use serde::{Deserialize, Serialize};

use crate::contacts::AddressBook;
use crate::crypto::Sealer;
use crate::device::DeviceIdentity;
use crate::error::Error;

const PRESENCE_URL: &str = "https://presence.parley.example/v3/online";

/// One contact the client asks about.
#[derive(Serialize)]
struct Probe {
    /// Echoed back by the server for the contacts that are online.
    id: i64,
    /// Sealed.
    number: String,
}

/// Body of `POST /v3/online`; every identifier in it is sealed.
#[derive(Serialize)]
struct PresenceQuery {
    device: String,
    own_number: Option<String>,
    contacts: Vec<Probe>,
}

/// Reply of `POST /v3/online`.
#[derive(Deserialize)]
struct PresenceReply {
    online: Vec<i64>,
}

/// The ids of the contacts that are online in Parley right now.
pub fn online_contacts(
    http: &Client,
    identity: &DeviceIdentity,
    book: &AddressBook,
    sealer: &Sealer,
) -> Result<HashSet<i64>, Error> {
    let own_number = match identity.own_number.as_deref() {
        Some(number) => Some(sealer.seal(number.as_bytes())?),
        None => None,
    };
    let mut contacts = Vec::new();
    for contact in book.iter() {
        contacts.push(Probe {
            id: contact.id,
            number: sealer.seal(contact.phone_number.as_bytes())?,
        });
    }
    let query = PresenceQuery {
        device: sealer.seal(identity.imei.as_bytes())?,
        own_number,
        contacts,
    };
    let reply: PresenceReply = http
        .post(PRESENCE_URL)
        .json(&query)
        .send()?
        .error_for_status()?
        .json()?;
    Ok(reply.online.into_iter().collect())
}
