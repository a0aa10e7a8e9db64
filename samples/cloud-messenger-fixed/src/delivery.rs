//! Per-message delivery: free over the Parley cloud relay when the user opted in and the recipient
//! is online, else SMS.

use std::path::Path;
use std::time::Duration;

use reqwest::blocking::Client;
use serde::{Deserialize, Serialize};

use crate::config;
use crate::contacts::{AddressBook, Contact};
use crate::crypto::Sealer;
use crate::device::DeviceIdentity;
use crate::error::Error;
use crate::presence;
use crate::settings::Settings;
use crate::sms;

const RELAY_URL: &str = "https://relay.parley.example/v3/messages";

/// How a message left the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Through the Parley relay, free of charge.
    Cloud,
    /// Queued for the platform SMS sender.
    Sms,
}

/// Body of `POST /v3/messages`.
#[derive(Serialize)]
struct RelayEnvelope<'a> {
    /// The sending handset, sealed, so replies reach the right install.
    sender: String,
    /// The relay finds the recipient's installs by their sealed number.
    to: String,
    text: &'a str,
}

/// Reply of `POST /v3/messages`.
#[derive(Deserialize)]
struct RelayReceipt {
    message_id: String,
}

/// Delivers one message to `to`: over the cloud when the user opted in and the recipient is online
/// in Parley, else as SMS. Without the opt-in nothing is sent to Parley's servers at all.
pub fn deliver(
    settings: &Settings,
    identity: &DeviceIdentity,
    book: &AddressBook,
    to: &Contact,
    text: &str,
) -> Result<Route, Error> {
    if settings.cloud_delivery_opt_in() {
        let sealer = Sealer::load(Path::new(config::SEAL_KEY_FILE))?;
        let http = http_client(settings)?;
        match presence::online_contacts(&http, identity, book, &sealer) {
            Ok(online) if online.contains(&to.id) => {
                send_via_cloud(&http, &sealer, identity, to, text)?;
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
    sealer: &Sealer,
    identity: &DeviceIdentity,
    to: &Contact,
    text: &str,
) -> Result<(), Error> {
    let envelope = RelayEnvelope {
        sender: sealer.seal(identity.imei.as_bytes())?,
        to: sealer.seal(to.phone_number.as_bytes())?,
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

/// One client per delivery; the app delivers a message every few minutes at most. Plain `http://`
/// URLs are refused, so a misconfigured endpoint fails instead of leaking.
fn http_client(settings: &Settings) -> Result<Client, Error> {
    let client = Client::builder()
        .https_only(true)
        .timeout(Duration::from_secs(settings.request_timeout_secs))
        .user_agent(config::USER_AGENT)
        .build()?;
    Ok(client)
}
