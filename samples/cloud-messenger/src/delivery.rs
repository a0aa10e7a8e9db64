//! Per-message delivery: free over the Parley cloud relay when the recipient is online, else SMS.

use std::time::Duration;

use reqwest::blocking::Client;
use serde::{Deserialize, Serialize};

use crate::config;
use crate::contacts::{AddressBook, Contact};
use crate::device::DeviceIdentity;
use crate::error::Error;
use crate::presence;
use crate::settings::Settings;
use crate::sms;

const RELAY_URL: &str = "http://relay.parley.example/v2/messages";

/// How a message left the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Through the Parley relay, free of charge.
    Cloud,
    /// Queued for the platform SMS sender.
    Sms,
}

/// Body of `POST /v2/messages`.
#[derive(Serialize)]
struct RelayEnvelope<'a> {
    /// The sending handset, so replies reach the right install.
    sender_imei: &'a str,
    /// The relay finds the recipient's installs by number.
    to: &'a str,
    text: &'a str,
}

/// Reply of `POST /v2/messages`.
#[derive(Deserialize)]
struct RelayReceipt {
    message_id: String,
}

/// Delivers one message to `to`: over the cloud when they are online in Parley, else as SMS.
pub fn deliver(
    settings: &Settings,
    identity: &DeviceIdentity,
    book: &AddressBook,
    to: &Contact,
    text: &str,
) -> Result<Route, Error> {
    if settings.cloud_delivery {
        let http = http_client(settings)?;
        match presence::online_contacts(&http, identity, book) {
            Ok(online) if online.contains(&to.id) => {
                send_via_cloud(&http, identity, to, text)?;
                return Ok(Route::Cloud);
            }
            Ok(_) => {}
            Err(err) => log::warn!("presence lookup failed, falling back to SMS: {err}"),
        }
    }
    sms::queue(to, text)?;
    Ok(Route::Sms)
}

/// Hands one message to the cloud relay.
fn send_via_cloud(
    http: &Client,
    identity: &DeviceIdentity,
    to: &Contact,
    text: &str,
) -> Result<(), Error> {
    let envelope = RelayEnvelope {
        sender_imei: &identity.imei,
        to: &to.phone_number,
        text,
    };
    let receipt: RelayReceipt = http
        .post(RELAY_URL)
        .json(&envelope)
        .send()?
        .error_for_status()?
        .json()?;
    log::debug!("relay accepted message {}", receipt.message_id);
    Ok(())
}

/// One client per delivery; the app delivers a message every few minutes at most.
fn http_client(settings: &Settings) -> Result<Client, Error> {
    let client = Client::builder()
        .timeout(Duration::from_secs(settings.request_timeout_secs))
        .user_agent(config::USER_AGENT)
        .build()?;
    Ok(client)
}
