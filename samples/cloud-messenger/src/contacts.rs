//! The address book, as mirrored from Android's `ContactsContract` by the Java side.

use std::fs;
use std::io;
use std::path::Path;

use serde::Deserialize;

use crate::error::Error;

/// One address-book entry with a dialable number (the name and photo stay on the Java side).
#[derive(Clone, Debug, Deserialize)]
pub struct Contact {
    /// `ContactsContract.Contacts._ID`, stable across syncs.
    pub id: i64,
    /// The number in E.164 form (`+4915112345678`), normalised by the Java side.
    pub phone_number: String,
}

/// The user's contacts that have a phone number.
#[derive(Debug, Default)]
pub struct AddressBook {
    contacts: Vec<Contact>,
}

impl AddressBook {
    /// Loads the mirrored address book; before the first sync there is no file and no contact.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(err) => return Err(Error::io(path, err)),
        };
        let contacts: Vec<Contact> = serde_json::from_str(&text)?;
        Ok(Self { contacts })
    }

    /// The contact with this `_ID`.
    pub fn get(&self, id: i64) -> Option<&Contact> {
        self.contacts.iter().find(|contact| contact.id == id)
    }

    /// All contacts, in address-book order.
    pub fn iter(&self) -> impl Iterator<Item = &Contact> {
        self.contacts.iter()
    }
}
