//! The rules for one archive entry: what the job keeps of it, its name, whether it is stored or
//! deflated, and what its headers say (MS-DOS date and time, the extended timestamp, the Unix
//! mode).
//!
//! Owns: [`ZipEntry`], the known compressed types ([`STORED_EXTENSIONS`]), and turning an
//! entry into the [`EntryMeta`] the archive writer puts in its headers.
//! Must not touch: files (an entry's source is only named here, never opened), the archive's
//! bytes (`archive.rs`), threads.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::SystemTime;

use crate::engine::kinds::zip::archive::EntryMeta;
use crate::engine::model::plan::Plan;
use crate::engine::runtime::scan::EntryKind;

/// Extensions of data that is already compressed: stored whole, never deflated.
///
/// JPEG is not among them, although it is compressed: its entropy coding (mostly the standard
/// Huffman tables) leaves a few percent that deflate takes, and the blocks where it does not
/// cost only their probe (see `BlockCompressor::set_probe`). Measured on the 39 JPEG files of
/// `zipcorpus/mixed` (27.5 MB): deflated in blocks they take 2.4 % less (652 KB, as Info-ZIP,
/// which deflates everything), for 0.29 s of one core; 28 of their 53 large blocks were still
/// stored. Storing them whole left our archive of `mixed` 0.72 % larger than Info-ZIP's; PNG
/// (zlib inside) gains 0.2 %, not worth deflating.
const STORED_EXTENSIONS: &[&str] = &[
    "7z", "aac", "apk", "avi", "avif", "br", "bz2", "cab", "deb", "docx", "epub", "flac", "gif",
    "gz", "heic", "heif", "jar", "jxl", "lz", "lz4", "lzma", "m4a", "m4v", "mkv", "mov", "mp3",
    "mp4", "odp", "ods", "odt", "ogg", "opus", "png", "pptx", "rar", "rpm", "tgz", "txz", "webm",
    "webp", "whl", "woff", "woff2", "xlsx", "xz", "zip", "zst",
];

/// Unix file-type bits of the mode (S_IFREG, S_IFDIR, S_IFLNK), as stored in the high 16 bits of
/// an entry's external attributes by Info-ZIP (APPNOTE 4.4.15 with "version made by" = UNIX).
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;
/// MS-DOS date of 1980-01-01 (APPNOTE 4.4.6), for entries without a modification time.
const DOS_EPOCH_DATE: u16 = (1 << 5) | 1;

/// What the job keeps of one entry of the archive. Its paths (the source, the entry's name) are
/// those of plan item `item`, not copied: with 100,000 entries, a copy would be 10 MB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ZipEntry {
    pub item: usize,
    pub kind: EntryKind,
    /// Bytes when listed.
    pub size: u64,
    pub mtime: Option<SystemTime>,
    /// Unix permission bits (`0o7777` part of the mode).
    pub mode: u32,
    /// A known compressed type (see [`STORED_EXTENSIONS`]).
    pub precompressed: bool,
}

/// The source of `entry`.
pub(super) fn source<'p>(plan: &'p Plan, entry: &ZipEntry) -> &'p Path {
    &plan.items[entry.item].input
}

/// The name of `entry` in the archive ('/'-separated; a folder's ends with '/'), as bytes: UTF-8,
/// or as the file system gave them (a Latin-1 name from an old disk is archived as it is, as
/// Info-ZIP's `zip` does).
pub(super) fn name<'p>(plan: &'p Plan, entry: &ZipEntry) -> &'p [u8] {
    plan.items[entry.item]
        .output
        .as_deref()
        .map_or(&[][..], |o| o.as_os_str().as_bytes())
}

/// The name of `entry` for the user's eyes (the card's "current item").
pub(super) fn display_name(plan: &Plan, entry: &ZipEntry) -> String {
    String::from_utf8_lossy(name(plan, entry)).into_owned()
}

/// Whether a file is stored as it is rather than deflated.
pub(super) fn stored_whole(entry: &ZipEntry, level: u8) -> bool {
    level == 0 || entry.precompressed
}

/// Whether `name` has the extension of a known compressed type.
pub(super) fn is_precompressed(name: &[u8]) -> bool {
    let ext = match name.iter().rposition(|b| *b == b'.') {
        Some(dot) if !name[dot + 1..].contains(&b'/') => &name[dot + 1..],
        _ => return false,
    };
    STORED_EXTENSIONS
        .iter()
        .any(|known| known.as_bytes().eq_ignore_ascii_case(ext))
}

/// What the headers say of an entry (see `archive::EntryMeta`): its modification time as
/// DOS local time plus the extended-timestamp field in UTC, and its full unix mode, setuid,
/// setgid and sticky bits included (Info-ZIP stores all 12 bits and `unzip -K` restores them).
pub(super) fn entry_meta<'n>(entry: &ZipEntry, name: &'n [u8]) -> EntryMeta<'n> {
    let file_type = match entry.kind {
        EntryKind::File => S_IFREG,
        EntryKind::Dir => S_IFDIR,
        EntryKind::Symlink { .. } => S_IFLNK,
    };
    let (dos_date, dos_time) = dos_date_time(entry.mtime);
    EntryMeta {
        name,
        dos_date,
        dos_time,
        unix_mtime: entry.mtime.map(unix_seconds),
        unix_mode: file_type | (entry.mode & 0o7777),
    }
}

/// The extended-timestamp field's 32 bits for `mtime`: seconds since 1970-01-01 UTC as an
/// unsigned number, as Info-ZIP's `zip` writes it, so times from 2038-01-19 03:14:08 to
/// 2106-02-07 06:28:15 are kept (a signed field would clamp them all to 2038-01-19 03:14:07).
/// Times before 1970 are written in two's complement, as Info-ZIP does (down to 1901-12-13);
/// `unzip` tells the two apart by the entry's DOS date. Clamped at both ends.
fn unix_seconds(mtime: SystemTime) -> u32 {
    match mtime.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => u32::try_from(d.as_secs()).unwrap_or(u32::MAX),
        Err(e) => {
            let before = i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX);
            (-before).max(i64::from(i32::MIN)) as i32 as u32
        }
    }
}

/// MS-DOS date and time (APPNOTE 4.4.6: date bits 15-9 year - 1980, 8-5 month, 4-0 day; time
/// bits 15-11 hour, 10-5 minute, 4-0 seconds / 2) in local time, clamped to the range the
/// format holds (1980-01-01 to 2107-12-31 23:59:58); no time gives 1980-01-01 00:00.
fn dos_date_time(mtime: Option<SystemTime>) -> (u16, u16) {
    use chrono::{Datelike, Timelike};
    let Some(mtime) = mtime else {
        return (DOS_EPOCH_DATE, 0);
    };
    let local: chrono::DateTime<chrono::Local> = mtime.into();
    let (year, month, day, hour, minute, second) = match local.year() {
        ..1980 => (1980, 1, 1, 0, 0, 0),
        2108.. => (2107, 12, 31, 23, 59, 58),
        year => (
            year as u32,
            local.month(),
            local.day(),
            local.hour(),
            local.minute(),
            // A leap second (60) is kept in range.
            local.second().min(59),
        ),
    };
    let date = ((year - 1980) << 9) | (month << 5) | day;
    let time = (hour << 11) | (minute << 5) | (second / 2);
    (date as u16, time as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dos_times_are_local_and_clamped() {
        assert_eq!(dos_date_time(None), (DOS_EPOCH_DATE, 0));
        // Before 1980 and after 2107 (whatever the time zone).
        assert_eq!(
            dos_date_time(Some(SystemTime::UNIX_EPOCH)),
            (DOS_EPOCH_DATE, 0)
        );
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(5_000_000_000);
        assert_eq!(
            dos_date_time(Some(far)),
            ((127 << 9) | (12 << 5) | 31, (23 << 11) | (59 << 5) | 29)
        );
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_715_000_000);
        let local: chrono::DateTime<chrono::Local> = t.into();
        let (date, time) = dos_date_time(Some(t));
        use chrono::{Datelike, Timelike};
        assert_eq!(u32::from(date >> 9) + 1980, local.year() as u32);
        assert_eq!(u32::from((date >> 5) & 15), local.month());
        assert_eq!(u32::from(date & 31), local.day());
        assert_eq!(u32::from(time >> 11), local.hour());
        assert_eq!(u32::from((time >> 5) & 63), local.minute());
        assert_eq!(u32::from(time & 31) * 2, local.second() / 2 * 2);
        assert_eq!(unix_seconds(t), 1_715_000_000);
        // 2040 and 2100 as Info-ZIP writes them (unsigned); beyond 2106, the last second.
        let y2040 = SystemTime::UNIX_EPOCH + Duration::from_secs(2_208_988_800);
        assert_eq!(unix_seconds(y2040), 2_208_988_800);
        let y2100 = SystemTime::UNIX_EPOCH + Duration::from_secs(4_102_444_800);
        assert_eq!(unix_seconds(y2100), 4_102_444_800);
        assert_eq!(unix_seconds(far), u32::MAX);
        // Before 1970: two's complement, clamped at 1901-12-13.
        let y1960 = SystemTime::UNIX_EPOCH - Duration::from_secs(315_619_200);
        assert_eq!(unix_seconds(y1960), (-315_619_200i32) as u32);
        let y1800 = SystemTime::UNIX_EPOCH - Duration::from_secs(5_364_662_400);
        assert_eq!(unix_seconds(y1800), i32::MIN as u32);
    }

    #[test]
    fn known_compressed_types_by_extension() {
        assert!(is_precompressed(b"a/b/photo.PNG"));
        // JPEG is deflated block by block (see STORED_EXTENSIONS).
        assert!(!is_precompressed(b"a/b/photo.jpg"));
        assert!(is_precompressed(b"x.tar.gz"));
        assert!(!is_precompressed(b"notes.txt"));
        assert!(!is_precompressed(b"dir.zip/readme"));
        assert!(!is_precompressed(b"zip"));
    }
}
