//! Paths as the engine compares and names them: absolute and lexically normalised, a path's
//! folder, a folder's display name, and their lossless JSON form ([`path_json`]: any bytes,
//! UTF-8 or not). Pure functions of the path text (no I/O beyond the current folder for
//! [`normalize_path`]).
//!
//! Must not touch: the file system's contents, any job kind.

use std::path::{Component, Path, PathBuf};

/// `path` made absolute against the current folder and cleaned of `.` and `..` components
/// lexically (no file system access, so symlinks are not resolved).
pub fn normalize_path(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    lexically_normal(&absolute)
}

/// `path` made absolute against `cwd` (without asking the OS) and cleaned of `.` and `..`
/// lexically: [`normalize_path`] for many paths with one look-up of the current folder.
pub fn normalize_path_in(cwd: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        lexically_normal(path)
    } else {
        lexically_normal(&cwd.join(path))
    }
}

fn lexically_normal(absolute: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in absolute.components() {
        match comp {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The folder a path is in (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Name of a folder for display and archive naming (`/` and `..` have no file name).
pub fn folder_display_name(folder: &Path) -> String {
    folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .or_else(|| {
            std::path::absolute(folder)
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        })
        .unwrap_or_else(|| "archive".to_owned())
}

/// Paths made absolute and normalised ([`normalize_path`]), sorted, each once: the same inputs
/// however they were typed.
pub fn normalized_inputs(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = inputs.iter().map(|p| normalize_path(p)).collect();
    v.sort();
    v.dedup();
    v
}

/// Paths in JSON (the journal, `--json`, `resume --list --json`) without loss: a path that is
/// valid UTF-8 is a string; any other (a Latin-1 name from an old disk or camera) is an object
/// `{"bytes_hex": "<every byte of the path, two lowercase hex digits each>", "lossy": "<the path
/// with each invalid sequence shown as U+FFFD>"}`. Use with `#[serde(with = "path_json")]`
/// (and [`path_json::option`], [`path_json::vec`]), or wrap a path in [`PathJson`].
pub mod path_json {
    use std::ffi::OsString;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::{Path, PathBuf};

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// A borrowed path that serializes as described in [`path_json`](self).
    pub struct PathJson<'a>(pub &'a Path);

    impl Serialize for PathJson<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            serialize(self.0, s)
        }
    }

    /// Lowercase hex of `bytes`.
    pub fn hex(bytes: &[u8]) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            out.push(DIGITS[usize::from(b >> 4)] as char);
            out.push(DIGITS[usize::from(b & 0xF)] as char);
        }
        out
    }

    fn unhex(text: &str) -> Option<Vec<u8>> {
        if !text.len().is_multiple_of(2) {
            return None;
        }
        let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        text.as_bytes()
            .chunks(2)
            .map(|p| Some((digit(p[0])? << 4) | digit(p[1])?))
            .collect()
    }

    /// Writes `path` as a JSON string, or as the `bytes_hex`/`lossy` object when it is not
    /// UTF-8.
    pub fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
        match path.to_str() {
            Some(text) => s.serialize_str(text),
            None => {
                #[derive(Serialize)]
                struct Raw<'a> {
                    bytes_hex: String,
                    lossy: &'a str,
                }
                Raw {
                    bytes_hex: hex(path.as_os_str().as_bytes()),
                    lossy: &path.to_string_lossy(),
                }
                .serialize(s)
            }
        }
    }

    /// Reads either form back: a string as is, an object from its `bytes_hex` (its `lossy` is
    /// ignored); odd-length or non-hex `bytes_hex` is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Raw { bytes_hex: String },
        }
        match Either::deserialize(d)? {
            Either::Text(text) => Ok(PathBuf::from(text)),
            Either::Raw { bytes_hex } => unhex(&bytes_hex)
                .map(|b| PathBuf::from(OsString::from_vec(b)))
                .ok_or_else(|| serde::de::Error::custom("bytes_hex is not hexadecimal")),
        }
    }

    /// `Option<PathBuf>`, as [`path_json`](self) (null when none).
    pub mod option {
        use super::*;

        /// Writes the path as [`path_json`](super) does, or `null`.
        pub fn serialize<S: Serializer>(path: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
            match path {
                Some(p) => s.serialize_some(&PathJson(p)),
                None => s.serialize_none(),
            }
        }

        /// Reads `null` as `None`, anything else as [`path_json`](super) reads a path.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
            #[derive(Deserialize)]
            struct P(#[serde(with = "super")] PathBuf);
            Ok(Option::<P>::deserialize(d)?.map(|p| p.0))
        }
    }

    /// `Vec<PathBuf>`, as [`path_json`](self).
    pub mod vec {
        use super::*;

        /// Writes a JSON array, each path as [`path_json`](super) writes it.
        pub fn serialize<S: Serializer>(paths: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(paths.iter().map(|p| PathJson(p)))
        }

        /// Reads a JSON array of paths in either form, in order.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
            #[derive(Deserialize)]
            struct P(#[serde(with = "super")] PathBuf);
            Ok(Vec::<P>::deserialize(d)?.into_iter().map(|p| p.0).collect())
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn paths_round_trip_through_json_whatever_their_bytes() {
            #[derive(Serialize, Deserialize, PartialEq, Debug)]
            struct T {
                #[serde(with = "super")]
                one: PathBuf,
                #[serde(with = "super::option")]
                maybe: Option<PathBuf>,
                #[serde(with = "super::vec")]
                many: Vec<PathBuf>,
            }
            let latin1 = PathBuf::from(OsString::from_vec(
                b"/photos/caf\xe9 d\xe9j\xe0.jpg".to_vec(),
            ));
            let t = T {
                one: latin1.clone(),
                maybe: Some(PathBuf::from("/a/\"quoted\"\n.jpg")),
                many: vec![latin1.clone(), PathBuf::from("plain")],
            };
            let json = serde_json::to_value(&t).unwrap();
            assert_eq!(json["one"]["bytes_hex"], hex(latin1.as_os_str().as_bytes()));
            assert_eq!(
                json["one"]["lossy"],
                "/photos/caf\u{fffd} d\u{fffd}j\u{fffd}.jpg"
            );
            assert_eq!(json["many"][1], "plain");
            assert_eq!(serde_json::from_value::<T>(json).unwrap(), t);
            let none = T { maybe: None, ..t };
            let json = serde_json::to_string(&none).unwrap();
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), none);
        }
    }
}
