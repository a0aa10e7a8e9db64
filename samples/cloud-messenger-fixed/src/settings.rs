//! User settings, written by the Java settings screen and read on every delivery.

use std::fs;
use std::path::Path;

use serde::Deserialize;

use crate::config;

/// What the user can switch in "Settings → Messages".
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The user agreed, on the "Free messages over Parley" screen, that the IMEI and their
    /// contacts' numbers go to Parley's servers (sealed) to check presence and relay messages.
    /// Off until they do. The old `cloud_delivery` key, on by default, was never consent and is
    /// ignored.
    pub cloud_delivery_opt_in: bool,
    /// Timeout of every request to Parley servers, in seconds.
    pub request_timeout_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cloud_delivery_opt_in: false,
            request_timeout_secs: config::DEFAULT_TIMEOUT_SECS,
        }
    }
}

impl Settings {
    /// Whether the user opted in to cloud delivery; without it no identifier leaves the device.
    pub fn cloud_delivery_opt_in(&self) -> bool {
        self.cloud_delivery_opt_in
    }

    /// Reads the settings file; a missing or unreadable file means the defaults.
    pub fn load(path: &Path) -> Self {
        fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }
}
