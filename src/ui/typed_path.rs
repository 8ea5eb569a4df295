//! Paths as a person types or pastes them into a field: trimmed, unquoted, `~/` expanded,
//! `file://` URIs decoded.
//!
//! Owns: [`typed_path`] and [`typed_paths`]. Must not touch: the file system (a typed path is
//! not checked here), state.

use std::path::PathBuf;

/// A path typed by a person: trimmed, without surrounding quotes, `~/` expanded, `file://` URIs
/// decoded. `None` when empty.
pub fn typed_path(text: &str) -> Option<PathBuf> {
    let text = text.trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')))
        .unwrap_or(text)
        .trim();
    if text.is_empty() {
        return None;
    }
    if let Some(rest) = text.strip_prefix("file://") {
        // `file:///home/x` (local host) or `file://localhost/home/x`.
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        return Some(PathBuf::from(percent_decode(rest)));
    }
    if (text == "~" || text.starts_with("~/"))
        && let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty())
    {
        let mut path = PathBuf::from(home);
        if let Some(rest) = text.strip_prefix("~/") {
            path.push(rest);
        }
        return Some(path);
    }
    Some(PathBuf::from(text))
}

/// Splits pasted text into paths: one per line (a file manager's "copy" gives one URI a line).
pub fn typed_paths(text: &str) -> Vec<PathBuf> {
    text.lines().filter_map(typed_path).collect()
}

fn percent_decode(text: &str) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStringExt;
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    std::ffi::OsString::from_vec(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_paths_are_cleaned() {
        assert_eq!(typed_path("  "), None);
        assert_eq!(typed_path("'/a b/c'"), Some(PathBuf::from("/a b/c")));
        assert_eq!(
            typed_path("file:///a%20b/%C3%A9t%C3%A9"),
            Some(PathBuf::from("/a b/été"))
        );
        assert_eq!(
            typed_paths("/x\n\n/y\r\n"),
            vec![PathBuf::from("/x"), PathBuf::from("/y")]
        );
    }
}
