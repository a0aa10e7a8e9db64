//! Parley messenger core.
//!
//! For every outgoing message the Android app calls [`Java_com_parley_messenger_Outbox_deliver`],
//! which decides whether the message goes out free over the Parley cloud (the user opted in to
//! cloud delivery, and the recipient has Parley and is online) or as a regular SMS. `main` is the
//! host-side tool QA uses to inspect a settings dump pulled from a device.

mod config;
mod contacts;
mod crypto;
mod delivery;
mod device;
mod error;
mod presence;
mod settings;
mod sms;

use std::path::Path;

use jni::objects::{JClass, JObject, JString};
use jni::sys::{jboolean, jlong, JNI_FALSE, JNI_TRUE};
use jni::JNIEnv;

use crate::contacts::AddressBook;
use crate::delivery::Route;
use crate::error::Error;
use crate::settings::Settings;

/// `Outbox.deliver(TelephonyManager telephony, long contactId, String text)`.
///
/// Returns `true` when the message went over the cloud and `false` when it was queued as SMS;
/// throws `java.io.IOException` when it could be sent neither way.
#[no_mangle]
pub extern "system" fn Java_com_parley_messenger_Outbox_deliver<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    telephony: JObject<'local>,
    contact_id: jlong,
    text: JString<'local>,
) -> jboolean {
    match deliver(&mut env, &telephony, contact_id, &text) {
        Ok(Route::Cloud) => JNI_TRUE,
        Ok(Route::Sms) => JNI_FALSE,
        Err(err) => {
            log::error!("delivery failed: {err}");
            let _ = env.throw_new("java/io/IOException", err.to_string());
            JNI_FALSE
        }
    }
}

/// Loads what one delivery needs from app storage and the handset, then delivers.
fn deliver(
    env: &mut JNIEnv,
    telephony: &JObject,
    contact_id: i64,
    text: &JString,
) -> Result<Route, Error> {
    let settings = Settings::load(Path::new(config::SETTINGS_FILE));
    let book = AddressBook::load(Path::new(config::CONTACTS_FILE))?;
    let to = book
        .get(contact_id)
        .ok_or(Error::UnknownContact(contact_id))?;
    let text: String = env.get_string(text)?.into();
    let identity = device::read_identity(env, telephony)?;
    delivery::deliver(&settings, &identity, &book, to, &text)
}

/// Prints the settings a device would use, read from a dump (`adb pull .../settings.json`).
fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| config::SETTINGS_FILE.to_owned());
    println!("{:#?}", Settings::load(Path::new(&path)));
}
