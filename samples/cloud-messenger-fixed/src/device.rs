//! The handset's identity, read from Android's `TelephonyManager` through JNI.

use jni::errors::Error as JniError;
use jni::objects::{JObject, JString};
use jni::JNIEnv;

use crate::error::Error;

/// Who is sending: the handset and, when the SIM reports it, the user's own number.
#[derive(Clone, Debug)]
pub struct DeviceIdentity {
    /// IMEI of the first slot (MEID on CDMA handsets).
    pub imei: String,
    /// The user's own number as the SIM reports it; often absent on prepaid SIMs.
    pub own_number: Option<String>,
}

/// Reads the identity; `telephony` is the app's `TelephonyManager`.
pub fn read_identity(env: &mut JNIEnv, telephony: &JObject) -> Result<DeviceIdentity, Error> {
    let imei = read_imei(env, telephony)?;
    let own_number = read_own_number(env, telephony)?;
    Ok(DeviceIdentity { imei, own_number })
}

/// `getImei` exists from API 26; older releases only have the deprecated `getDeviceId`.
fn read_imei(env: &mut JNIEnv, telephony: &JObject) -> Result<String, Error> {
    let value = match env.call_method(telephony, "getImei", "()Ljava/lang/String;", &[]) {
        Ok(value) => value,
        Err(JniError::JavaException) => {
            env.exception_clear()?;
            env.call_method(telephony, "getDeviceId", "()Ljava/lang/String;", &[])?
        }
        Err(err) => return Err(err.into()),
    };
    let object = value.l()?;
    if object.is_null() {
        return Err(Error::NoDeviceId);
    }
    java_string(env, object)
}

/// `getLine1Number` needs `READ_PHONE_NUMBERS`; without it the number is simply unknown.
fn read_own_number(env: &mut JNIEnv, telephony: &JObject) -> Result<Option<String>, Error> {
    let value = match env.call_method(telephony, "getLine1Number", "()Ljava/lang/String;", &[]) {
        Ok(value) => value,
        Err(JniError::JavaException) => {
            // A SecurityException: the user did not grant the permission.
            env.exception_clear()?;
            return Ok(None);
        }
        Err(err) => return Err(err.into()),
    };
    let object = value.l()?;
    if object.is_null() {
        return Ok(None);
    }
    let number = java_string(env, object)?;
    Ok(Some(number).filter(|n| !n.is_empty()))
}

/// Copies a `java.lang.String` into Rust.
fn java_string(env: &mut JNIEnv, object: JObject) -> Result<String, Error> {
    let text: String = env.get_string(&JString::from(object))?.into();
    Ok(text)
}
