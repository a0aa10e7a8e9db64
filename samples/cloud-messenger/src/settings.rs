//! User settings, written by the Java settings screen and read on every delivery.

use std::fs;
use std::path::Path;

use serde::Deserialize;

use crate::config;

/// What the user can switch in "Settings → Messages".
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Send messages free over the Parley cloud when the recipient is online, instead of as SMS.
    pub cloud_delivery: bool,
    /// Timeout of every request to Parley servers, in seconds.
    pub request_timeout_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            // Cloud delivery saves the user SMS charges, so new installs get it straight away.
            cloud_delivery: true,
            request_timeout_secs: config::DEFAULT_TIMEOUT_SECS,
        }
    }
}

impl Settings {
    /// Reads the settings file; a missing or unreadable file means the defaults.
    pub fn load(path: &Path) -> Self {
        fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }
}
