//! Presence: asks the Parley presence server which contacts can get a message over the cloud.
//!
//! The server keys presence by phone number, so the query carries the number of every contact in
//! the address book, plus the handset's IMEI and own number so the server can tell installs apart.

use std::collections::HashSet;

use reqwest::blocking::Client;
use serde::{Deserialize, Serialize};

use crate::contacts::AddressBook;
use crate::device::DeviceIdentity;
use crate::error::Error;

const PRESENCE_URL: &str = "http://presence.parley.example/v2/online";

/// One contact the client asks about.
#[derive(Serialize)]
struct Probe<'a> {
    /// Echoed back by the server for the contacts that are online.
    id: i64,
    number: &'a str,
}

/// Body of `POST /v2/online`.
#[derive(Serialize)]
struct PresenceQuery<'a> {
    device: &'a str,
    own_number: Option<&'a str>,
    contacts: Vec<Probe<'a>>,
}

/// Reply of `POST /v2/online`.
#[derive(Deserialize)]
struct PresenceReply {
    online: Vec<i64>,
}

/// The ids of the contacts that are online in Parley right now.
pub fn online_contacts(
    http: &Client,
    identity: &DeviceIdentity,
    book: &AddressBook,
) -> Result<HashSet<i64>, Error> {
    let query = PresenceQuery {
        device: &identity.imei,
        own_number: identity.own_number.as_deref(),
        contacts: book
            .iter()
            .map(|contact| Probe {
                id: contact.id,
                number: &contact.phone_number,
            })
            .collect(),
    };
    let reply: PresenceReply = http
        .post(PRESENCE_URL)
        .json(&query)
        .send()?
        .error_for_status()?
        .json()?;
    Ok(reply.online.into_iter().collect())
}
