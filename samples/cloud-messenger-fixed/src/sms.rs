//! SMS fallback: queues the message for the platform SMS sender. Nothing leaves the device here;
//! the Java side watches the outbox and sends each line with `SmsManager.sendTextMessage`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use crate::config;
use crate::contacts::Contact;
use crate::error::Error;

/// Appends `number<TAB>text` to the outbox.
pub fn queue(to: &Contact, text: &str) -> Result<(), Error> {
    let path = Path::new(config::OUTBOX_FILE);
    let mut outbox = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|err| Error::io(path, err))?;
    // One message per line: tabs and line breaks in the text would split it.
    let text = text.replace(['\t', '\n'], " ");
    writeln!(outbox, "{}\t{}", to.phone_number, text).map_err(|err| Error::io(path, err))
}
