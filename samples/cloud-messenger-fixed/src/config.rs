//! Fixed paths and parameters of the messenger core on the device.

/// Address book mirrored from `ContactsContract` by the Java side, as JSON.
pub const CONTACTS_FILE: &str = "/data/data/com.parley.messenger/files/contacts.json";

/// Settings written by the Java settings screen.
pub const SETTINGS_FILE: &str = "/data/data/com.parley.messenger/files/settings.json";

/// Messages waiting for the platform SMS sender, one per line.
pub const OUTBOX_FILE: &str = "/data/data/com.parley.messenger/files/sms-outbox.tsv";

/// Per-install AES-256 key, provisioned at registration and stored wrapped by the Android Keystore.
pub const SEAL_KEY_FILE: &str = "/data/data/com.parley.messenger/files/seal.key";

/// Sent with every request to Parley servers.
pub const USER_AGENT: &str = concat!("parley-core/", env!("CARGO_PKG_VERSION"));

/// Request timeout when the settings file does not set one.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;
