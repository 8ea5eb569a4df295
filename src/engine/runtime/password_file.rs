//! Reading a password file: its first line (a trailing CR/LF is not part of it), from a regular
//! file, as UTF-8 text, not empty. One reader for every job and front end that takes a password
//! file (`zip --password-file`, extract's and `resume`'s, a job file's `password_file`).
//!
//! Owns: [`read_password_file`]. Must not touch: where the password
//! goes (the spec's [`Password`], never kept), any front end's wording of a path.

use std::io::Read;
use std::path::Path;

use zeroize::Zeroize;

use crate::engine::model::error::{IoCause, ItemError, PasswordFileError};
use crate::engine::model::password::Password;
use crate::engine::runtime::input::open_regular;

/// A password file is read up to this many bytes (its first line is the password).
const PASSWORD_FILE_MAX_BYTES: u64 = 64 << 10;

/// The password on the first line of `path`.
pub fn read_password_file(path: &Path) -> Result<Password, PasswordFileError> {
    let (file, _) = open_regular(path).map_err(|e| match e {
        ItemError::Vanished => PasswordFileError::NotFound,
        ItemError::ChangedType(_) => PasswordFileError::NotAFile,
        ItemError::Read(cause) => PasswordFileError::Read(cause),
        other => PasswordFileError::Read(IoCause::Other(std::io::Error::other(other.to_string()))),
    })?;
    let mut bytes = Vec::new();
    file.take(PASSWORD_FILE_MAX_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| PasswordFileError::Read(IoCause::of(e)))?;
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let password = match std::str::from_utf8(line) {
        Ok("") => Err(PasswordFileError::Empty),
        Ok(text) => Ok(Password::new(text)),
        Err(_) => Err(PasswordFileError::NotUtf8),
    };
    bytes.zeroize();
    password
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_without_its_line_end_and_each_refusal_named() {
        let tmp = tempfile::tempdir().unwrap();
        let file = |name: &str, bytes: &[u8]| {
            let p = tmp.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let crlf = file("crlf", "pässwort\r\nsecond line\n".as_bytes());
        assert_eq!(
            read_password_file(&crlf).ok(),
            Some(Password::new("pässwort"))
        );
        let bare = file("bare", b"pw");
        assert_eq!(read_password_file(&bare).ok(), Some(Password::new("pw")));
        assert!(matches!(
            read_password_file(&file("empty", b"\nnext")),
            Err(PasswordFileError::Empty)
        ));
        assert!(matches!(
            read_password_file(&file("latin1", b"caf\xe9\n")),
            Err(PasswordFileError::NotUtf8)
        ));
        assert!(matches!(
            read_password_file(&tmp.path().join("nope")),
            Err(PasswordFileError::NotFound)
        ));
        assert!(matches!(
            read_password_file(tmp.path()),
            Err(PasswordFileError::NotAFile)
        ));
    }
}
