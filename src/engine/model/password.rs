//! A password given to a job: what a spec holds of it ([`Password`]), how a spec records it
//! (that there was one, never its text: [`serde_marker`]), and how a spec read back from a
//! journal is given it again. Shared by every kind that takes a password (writing encrypted
//! entries, reading them) and by the runtime's defaults for such kinds.
//!
//! Owns: [`Password`] (wiped from memory when dropped) and [`serde_marker`]. Must not touch: files (reading a password file is
//! the runtime's `password_file`), ciphers (each kind's own), any front end.

use zeroize::Zeroize;

/// A password given for a job. Its text is never printed (`Debug` shows `Password(..)`) and never
/// serialized: a spec records only that there was one, and a spec read back from a journal
/// holds [`Password::NotKept`], which every use refuses (nothing is written unencrypted, no entry
/// is tried with a wrong password).
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    /// The password the user typed (or read from a password file), as UTF-8 text.
    Given(String),
    /// The spec was read back from a journal: the password was not kept, it must be given again.
    NotKept,
}

impl Password {
    /// A given password of `text`.
    pub fn new(text: impl Into<String>) -> Password {
        Password::Given(text.into())
    }

    /// Puts `text` in `slot` when it holds a password that was not kept (a spec read back from
    /// a journal); whether it did.
    pub fn give_again(slot: &mut Option<Password>, text: &str) -> bool {
        let waits = matches!(slot, Some(Password::NotKept));
        if waits {
            *slot = Some(Password::new(text));
        }
        waits
    }

    /// The password's bytes, unless it was not kept.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Password::Given(text) => Some(text.as_bytes()),
            Password::NotKept => None,
        }
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        if let Password::Given(text) = self {
            text.zeroize();
        }
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Password::Given(_) => f.write_str("Password(..)"),
            Password::NotKept => f.write_str("Password(not kept)"),
        }
    }
}

/// Serde for an optional password: written as `true` (there was one) or `null`, never its text;
/// read back as [`Password::NotKept`].
pub mod serde_marker {
    use super::Password;

    /// Writes `true` when there is a password, `null` when there is none; never its text.
    pub fn serialize<S: serde::Serializer>(p: &Option<Password>, s: S) -> Result<S::Ok, S::Error> {
        match p {
            Some(_) => s.serialize_bool(true),
            None => s.serialize_none(),
        }
    }

    /// Reads `true` back as [`Password::NotKept`], `null` or `false` as no password.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Password>, D::Error> {
        let had: Option<bool> = serde::Deserialize::deserialize(d)?;
        Ok(had.filter(|h| *h).map(|_| Password::NotKept))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_never_shown_or_serialized() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct S {
            #[serde(with = "serde_marker")]
            password: Option<Password>,
        }
        let s = S {
            password: Some(Password::new("hunter2")),
        };
        assert!(!format!("{:?}", s.password).contains("hunter2"));
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        let back: S = serde_json::from_str(&json).unwrap();
        assert_eq!(back.password, Some(Password::NotKept));
        assert_eq!(back.password.unwrap().bytes(), None);
        let none: S = serde_json::from_str(r#"{"password":null}"#).unwrap();
        assert_eq!(none.password, None);
    }
}
