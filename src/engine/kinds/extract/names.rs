//! Entry names and link targets as the archive spells them, checked before anything is placed:
//! a name that would leave the output folder (or is no name) is refused; a link target is kept
//! only when it resolves inside the folder the archive is extracted into.
//!
//! Pure functions of the bytes: no file system access. Must not touch: anything else.

use super::error::UnsafeName;

/// A checked entry name: its parts (each a plain, non-empty name) and whether it names a folder
/// (it ended with `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeName<'a> {
    /// The name's `/`-separated parts, in order, each a plain name (no `..`, `.`, or empty part).
    pub parts: Vec<&'a [u8]>,
    /// The raw name ended with `/`: a folder entry.
    pub is_dir: bool,
}

/// Checks an entry's raw name (see [`UnsafeName`] for what is refused).
pub fn check_name(raw: &[u8]) -> Result<SafeName<'_>, UnsafeName> {
    if raw.is_empty() {
        return Err(UnsafeName::Empty);
    }
    if raw.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(UnsafeName::ControlCharacter);
    }
    if raw.contains(&b'\\') {
        return Err(UnsafeName::Backslash);
    }
    if raw[0] == b'/' {
        return Err(UnsafeName::Absolute);
    }
    if raw.len() >= 2 && raw[0].is_ascii_alphabetic() && raw[1] == b':' {
        return Err(UnsafeName::DriveLetter);
    }
    let (body, is_dir) = match raw.strip_suffix(b"/") {
        Some(body) => (body, true),
        None => (raw, false),
    };
    let mut parts = Vec::new();
    for part in body.split(|&b| b == b'/') {
        match part {
            b"" => return Err(UnsafeName::Empty),
            b"." => return Err(UnsafeName::Dot),
            b".." => return Err(UnsafeName::ParentDir),
            _ => parts.push(part),
        }
    }
    Ok(SafeName { parts, is_dir })
}

/// Where a link placed at `link_parts` (inside the extraction folder) with target `target`
/// resolves, as parts below the extraction folder; `None` when it leaves it (absolute, climbs
/// above it, a drive letter or backslash, empty) or points at the folder itself.
pub fn resolve_link<'a>(link_parts: &[&'a [u8]], target: &'a [u8]) -> Option<Vec<&'a [u8]>> {
    if target.is_empty()
        || target[0] == b'/'
        || target.contains(&b'\\')
        || target.iter().any(|&b| b < 0x20 || b == 0x7f)
        || (target.len() >= 2 && target[0].is_ascii_alphabetic() && target[1] == b':')
    {
        return None;
    }
    let mut at: Vec<&[u8]> = link_parts[..link_parts.len().saturating_sub(1)].to_vec();
    for part in target.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                at.pop()?;
            }
            _ => at.push(part),
        }
    }
    (!at.is_empty()).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_leave_the_folder_are_refused() {
        let cases: &[(&[u8], UnsafeName)] = &[
            (b"../evil", UnsafeName::ParentDir),
            (b"a/../../evil", UnsafeName::ParentDir),
            (b"/etc/passwd", UnsafeName::Absolute),
            (b"C:/x", UnsafeName::DriveLetter),
            (b"c:x", UnsafeName::DriveLetter),
            (b"..\\..\\evil", UnsafeName::Backslash),
            (b"", UnsafeName::Empty),
            (b"a//b", UnsafeName::Empty),
            (b"/", UnsafeName::Absolute),
            (b".", UnsafeName::Dot),
            (b"./a", UnsafeName::Dot),
            (b"a/./b", UnsafeName::Dot),
            (b"a\0b", UnsafeName::ControlCharacter),
            (b"a\nb", UnsafeName::ControlCharacter),
        ];
        for (name, why) in cases {
            assert_eq!(
                check_name(name),
                Err(*why),
                "{:?}",
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn plain_names_pass() {
        let n = check_name(b"a/b c/d.txt").unwrap();
        assert_eq!(n.parts, vec![&b"a"[..], b"b c", b"d.txt"]);
        assert!(!n.is_dir);
        let d = check_name(b"dir/").unwrap();
        assert_eq!(d.parts, vec![&b"dir"[..]]);
        assert!(d.is_dir);
        // Not UTF-8: a name as bytes is fine.
        assert!(check_name(b"caf\xe9.txt").is_ok());
        // `..` inside a longer name is a name.
        assert!(check_name(b"a..b/..c").is_ok());
    }

    #[test]
    fn links_resolve_inside_or_not_at_all() {
        let link: Vec<&[u8]> = vec![b"a", b"b", b"link"];
        assert_eq!(
            resolve_link(&link, b"../c"),
            Some(vec![&b"a"[..], &b"c"[..]])
        );
        assert_eq!(resolve_link(&link, b"../../c"), Some(vec![&b"c"[..]]));
        assert_eq!(resolve_link(&link, b"../../.."), None);
        assert_eq!(resolve_link(&link, b"../../../x"), None);
        assert_eq!(resolve_link(&link, b"/etc"), None);
        assert_eq!(resolve_link(&link, b""), None);
        assert_eq!(resolve_link(&link, b"..\\..\\x"), None);
        // A link to the extraction folder itself would give a way back up: refused.
        assert_eq!(resolve_link(&link, b"../.."), None);
        let top: Vec<&[u8]> = vec![b"l"];
        assert_eq!(resolve_link(&top, b".."), None);
        assert_eq!(resolve_link(&top, b"x/y"), Some(vec![&b"x"[..], &b"y"[..]]));
    }
}
