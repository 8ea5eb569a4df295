//! Free space: how much room a folder's file system has left, for the full-disk pause (the
//! message says how much is left, and a paused job goes on by itself once there is room).
//!
//! Owns: measuring free space (`statvfs`), and the rule of when there is "room again".
//! Must not touch: job state (the lifecycle's `Run` pauses and resumes), any front end.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

/// How often a job paused by a full disk looks at the free space.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(500);
/// A job paused by a full disk goes on once this much more is free than when the disk filled
/// (the space its failed write freed is counted in "when it filled"): less would fill it again
/// at once.
pub const ROOM_AGAIN_BYTES: u64 = 1 << 20;

/// Bytes an unprivileged writer can still use on the file system of `folder` (or of its
/// nearest existing parent, for a folder not made yet). `None` when it cannot be measured.
pub fn free_bytes(folder: &Path) -> Option<u64> {
    let mut at = Some(folder);
    while let Some(dir) = at {
        if dir.as_os_str().is_empty() {
            return free_bytes(Path::new("."));
        }
        if let Some(free) = statvfs_free(dir) {
            return Some(free);
        }
        at = dir.parent();
    }
    None
}

fn statvfs_free(dir: &Path) -> Option<u64> {
    let c = CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated path; `stat` is plain data written by the call.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above; the pointers live for the call.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut stat) };
    (rc == 0).then(|| stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Whether there is room again: `now` bytes free, against `when_full` when the disk filled.
pub fn room_again(when_full: u64, now: u64) -> bool {
    now >= when_full.saturating_add(ROOM_AGAIN_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_measured_for_missing_folders_too() {
        let dir = tempfile::tempdir().unwrap();
        let here = free_bytes(dir.path()).unwrap();
        assert!(here > 0);
        let missing = free_bytes(&dir.path().join("not/made/yet")).unwrap();
        // The same file system: within what other writers did meanwhile.
        assert!(missing.abs_diff(here) < 1 << 30, "{here} vs {missing}");
        assert!(!room_again(1000, 1000 + ROOM_AGAIN_BYTES - 1));
        assert!(room_again(1000, 1000 + ROOM_AGAIN_BYTES));
    }
}
