//! Step one of rule loading: the YAML shape of a rule file, deserialized as written.
//!
//! Every struct denies unknown keys and none uses `#[serde(flatten)]`, so serde_yaml can report
//! the line and column of every mistake. Step two ([`super::validate`]) checks what serde cannot:
//! ids, references between entries, regexes and the allowed values of the string fields.
//!
//! A rule file is a mapping with any of the lists below; the default pack keeps one concern per
//! file (`rules/categories.yaml`, `rules/sources/*.yaml`, `rules/sinks/*.yaml`, ...).

use serde::{Deserialize, Serialize};

/// One YAML rule file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRuleFile {
    /// Data categories (identifier kinds).
    #[serde(default)]
    pub categories: Vec<RawCategory>,
    /// Receiver kinds: the network objects sinks are called on (a reqwest client, a TCP stream).
    #[serde(default)]
    pub kinds: Vec<RawKind>,
    /// Calls and paths that create or configure values of a kind (`TcpStream::connect`).
    #[serde(default)]
    pub constructors: Vec<RawConstructor>,
    /// Where identifiers come from.
    #[serde(default)]
    pub sources: Vec<RawSource>,
    /// Where data leaves the device.
    #[serde(default)]
    pub sinks: Vec<RawSink>,
    /// Encryption and hashing calls.
    #[serde(default)]
    pub sanitizers: Vec<RawSanitizer>,
    /// Consent / opt-in checks.
    #[serde(default)]
    pub guards: Vec<RawGuard>,
    /// How data moves through library calls the analysis cannot see into.
    #[serde(default)]
    pub propagators: Vec<RawPropagator>,
    /// Crates that do network I/O, for the blind-spot list: a dependency on one the pack does
    /// not model means flows through it are invisible (`rules/network-crates.yaml`).
    #[serde(default)]
    pub network_crates: Vec<RawNetworkCrate>,
}

/// A crate that does network I/O (HTTP, websocket, MQTT, gRPC, mail, QUIC, telemetry, push,
/// sockets), as `Cargo.toml` names it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetworkCrate {
    /// The crate's name on crates.io, e.g. `reqwest-websocket`.
    #[serde(rename = "crate")]
    pub name: String,
    /// What it does: one of [`super::validate::NETWORK_FAMILIES`].
    pub family: String,
    /// One line about it (optional).
    #[serde(default)]
    pub what: String,
    /// Whether the pack models its sinks. When absent, derived: a sink, kind or constructor of
    /// the pack names a path of the crate (`reqwest::Client`, `tonic::Request::new`).
    #[serde(default)]
    pub modelled: Option<bool>,
}

/// Documentation every rule carries; feeds SARIF rule help and `idflow rules list`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawDoc {
    /// One line: what the rule matches.
    pub what: String,
    /// Why it matters for privacy.
    #[serde(default)]
    pub why: String,
    /// A code example the rule matches.
    #[serde(default)]
    pub example: String,
    /// Links to API docs or regulations.
    #[serde(default)]
    pub references: Vec<String>,
}

/// A data category such as `imei`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCategory {
    /// Stable id used in rules, reports and SARIF.
    pub id: String,
    /// Human name, e.g. "IMEI".
    pub name: String,
    /// GDPR wording (online identifier, Art. 4(1)).
    pub gdpr: String,
    /// fideslang data category, e.g. `user.device.device_id`.
    pub fideslang: String,
    /// Google Play data-safety data type, e.g. "Device or other IDs".
    pub play_data_safety: String,
    /// Apple privacy-manifest collected data type, e.g. `NSPrivacyCollectedDataTypeDeviceID`.
    pub apple_privacy: String,
}

/// How a call is matched. Paths are matched by suffix of `::` segments after `use` resolution:
/// `TcpStream::connect` matches `std::net::TcpStream::connect` and `tokio::net::TcpStream::connect`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCall {
    /// Free functions and associated functions (`machine_uid::get`, `TcpStream::connect`).
    #[serde(default)]
    pub function: Vec<String>,
    /// Method names (`body`, `write_all`).
    #[serde(default)]
    pub method: Vec<String>,
    /// Path expressions that are not calls (`Transport::Tcp`).
    #[serde(default)]
    pub path: Vec<String>,
    /// Macro names (`write`, `writeln`); the first macro argument is the receiver.
    #[serde(default, rename = "macro")]
    pub macro_: Vec<String>,
    /// Receiver kinds a method must be called on; empty means any receiver.
    #[serde(default)]
    pub receiver: Vec<String>,
    /// Regex one string-literal argument must match (JNI method names, file paths).
    #[serde(default)]
    pub string_arg: Option<String>,
}

/// A receiver kind: a network object type.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKind {
    /// Id, e.g. `reqwest-client`.
    pub id: String,
    /// What it is.
    pub what: String,
    /// Type paths (suffix-matched) that have this kind in annotations, fields, params, returns.
    #[serde(default)]
    pub types: Vec<String>,
    /// Transport every value of the kind uses whatever its endpoint (`plaintext` for a raw
    /// `TcpStream`); when absent, the transport comes from the endpoint URL's scheme.
    #[serde(default)]
    pub transport: Option<String>,
}

/// A call (or path) whose result is a value of a kind, or that configures one.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawConstructor {
    /// Id, e.g. `tcp-connect`.
    pub id: String,
    /// What it matches.
    pub what: String,
    /// The call or path.
    pub call: RawCall,
    /// Kind of the result (or of element `element` of a tuple result).
    #[serde(default)]
    pub kind: Option<String>,
    /// Argument index whose string is the endpoint (URL, `host:port`).
    #[serde(default)]
    pub endpoint: Option<usize>,
    /// Argument index whose value's endpoint and transport the result inherits
    /// (`StreamOwned::new(conn, sock)` inherits the host of `sock`); `receiver` is -1.
    #[serde(default)]
    pub inherit: Option<i64>,
    /// Fixed transport of the result: `tls`, `plaintext`.
    #[serde(default)]
    pub transport: Option<String>,
    /// The result is a tuple and the kind is its element at this index (`tungstenite::connect`).
    #[serde(default)]
    pub element: Option<usize>,
    /// The call configures its receiver instead of returning a new value (`set_transport`).
    #[serde(default)]
    pub mutates_receiver: bool,
    /// The result is a (sender, receiver) pair over one channel (`mpsc::channel()`): what is
    /// stored through one half (`store` propagators) is loaded from the other (`load`).
    #[serde(default)]
    pub pair: bool,
}

/// A source of identifiers: a call or a name.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    /// Id, e.g. `jni-telephony-imei`.
    pub id: String,
    /// Category id of the data it yields.
    pub category: String,
    /// One line: what the rule matches.
    pub what: String,
    /// Why it matters.
    #[serde(default)]
    pub why: String,
    /// Example code.
    #[serde(default)]
    pub example: String,
    /// References.
    #[serde(default)]
    pub references: Vec<String>,
    /// The call that returns the identifier.
    #[serde(default)]
    pub call: Option<RawCall>,
    /// Regex on identifiers (functions, locals, params, fields) that say they hold the data.
    #[serde(default)]
    pub name: Option<String>,
    /// Which identifiers `name` applies to: `function`, `local`, `param`, `field` (default all).
    #[serde(default)]
    pub on: Vec<String>,
    /// Regex of identifiers `name` matches that are not sources (`need_phone_number`, a flag).
    #[serde(default)]
    pub exclude: Option<String>,
    /// Where a `name` source's value must not come from only: `environment` (a value read
    /// from `std::env::var` and the like is configuration, not read from the device).
    #[serde(default)]
    pub not_from: Vec<String>,
    /// A type whose values are identifiers (`ruma::OwnedDeviceId`, `E164`), matched by its last
    /// segment, and by its crate when the path names one. With `field`, the identifier is that
    /// field of the type (`web_push::SubscriptionInfo` + `endpoint`).
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    /// With `type`: the field of that type that holds the identifier.
    #[serde(default)]
    pub field: Option<String>,
    /// With `call.function` naming a function of the scanned tree (`mdns_sd::ServiceInfo::new`,
    /// matched by crate and by the path's tail, so a re-exported name matches): the parameters so
    /// named are sources inside that function (a library's API documented to take this host's
    /// name). The call itself is then no source.
    #[serde(default)]
    pub params: Vec<String>,
}

/// A sink: a call that sends data off the device.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSink {
    /// Id, e.g. `reqwest-json-body`.
    pub id: String,
    /// One line: what the rule matches.
    pub what: String,
    /// Why it matters.
    #[serde(default)]
    pub why: String,
    /// Example code.
    #[serde(default)]
    pub example: String,
    /// References.
    #[serde(default)]
    pub references: Vec<String>,
    /// The sending call.
    pub call: RawCall,
    /// Argument indices that carry the data sent; empty means every argument.
    #[serde(default)]
    pub data: Vec<usize>,
    /// The receiver carries data sent too (`message.into_request()`,
    /// `request.request_async(client)`).
    #[serde(default)]
    pub receiver_data: bool,
    /// Argument index holding the URL or address the data goes to (`reqwest::get(url)`,
    /// `send_to(buf, addr)`); the result of the call inherits it.
    #[serde(default)]
    pub endpoint: Option<usize>,
    /// Kind of the call's result (a request builder); default: the receiver's kind.
    #[serde(default)]
    pub returns: Option<String>,
}

/// An encryption or hashing call.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSanitizer {
    /// Id, e.g. `aead-encrypt`.
    pub id: String,
    /// One line: what the rule matches.
    pub what: String,
    /// Why it matters.
    #[serde(default)]
    pub why: String,
    /// Example code.
    #[serde(default)]
    pub example: String,
    /// References.
    #[serde(default)]
    pub references: Vec<String>,
    /// `encrypt` (marks flows `encrypted`) or `hash` (marks them `pseudonymized`).
    pub effect: String,
    /// The call.
    pub call: RawCall,
    /// Argument indices whose data is protected; empty means every argument.
    #[serde(default)]
    pub data: Vec<usize>,
    /// The protected data goes into the receiver (`hasher.update(x)`) instead of the result.
    #[serde(default)]
    pub into_receiver: bool,
}

/// A consent / opt-in check: a call or field name in a condition.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawGuard {
    /// Id, e.g. `consent-call`.
    pub id: String,
    /// One line: what the rule matches.
    pub what: String,
    /// Why it matters.
    #[serde(default)]
    pub why: String,
    /// Example code.
    #[serde(default)]
    pub example: String,
    /// References.
    #[serde(default)]
    pub references: Vec<String>,
    /// Regex on the method, function or field name tested by an `if` condition.
    pub name: String,
    /// Regex of names that look like a guard but are not (`tls_enabled`).
    #[serde(default)]
    pub exclude: Option<String>,
}

/// How data moves through library calls whose code is not analysed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPropagator {
    /// Id, e.g. `predicates-clean`.
    pub id: String,
    /// One line: what the rule matches.
    pub what: String,
    /// `clean` (result carries nothing), `receiver` (result carries the receiver only),
    /// `into-receiver` (arguments flow into the receiver, e.g. `push_str`),
    /// `identity` (result is the first argument with its kind, e.g. `Box::new`),
    /// `closure` (result is what the closure argument returns, e.g. `map`),
    /// `reset` (the receiver is emptied, e.g. `clear`). Checked by `validate`.
    pub effect: String,
    /// The calls.
    pub call: RawCall,
}
