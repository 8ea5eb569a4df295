//! Reading inputs: opening only what is still a regular file, and reading it under the cancel
//! flag.
//!
//! Owns: [`open_regular`] (never follows a symlink swapped in since the scan, never waits on a
//! FIFO), [`read_whole`] and the chunk size every reader uses, so a cancel is seen within
//! [`CHUNK_BYTES`] of input. Must not touch: outputs (inputs are opened read-only here and
//! nowhere else), job state beyond the byte counter.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::engine::model::error::ItemError;
use crate::engine::runtime::status::CancelFlag;

/// Input is read (and cancel checked) in chunks of this size.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

/// Once the bytes the file's size promises are read, it is read on this many at a time (to see
/// its end, or what it grew by).
const TAIL_BYTES: usize = 4096;

/// Opens an input for reading, refusing anything that is not (any more) a regular file: no FIFO
/// is ever waited on, no symlink swapped in since the scan is followed.
pub(crate) fn open_regular(path: &Path) -> Result<(File, fs::Metadata), ItemError> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ItemError::Vanished,
            _ if e.raw_os_error() == Some(libc::ELOOP) => ItemError::ChangedType("a symbolic link"),
            _ => ItemError::read(e),
        })?;
    let meta = file.metadata().map_err(ItemError::read)?;
    if !meta.is_file() {
        return Err(ItemError::ChangedType(if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file"
        }));
    }
    Ok((file, meta))
}

/// Reads a whole input of at most `max_bytes` into `data` (cleared first), checking `cancel`
/// between chunks. `Ok(false)`: cancelled. `too_large` makes the error for a file over the
/// limit.
pub(crate) fn read_whole(
    path: &Path,
    max_bytes: u64,
    cancel: &CancelFlag,
    data: &mut Vec<u8>,
    too_large: impl Fn(u64) -> ItemError,
) -> Result<bool, ItemError> {
    let (mut file, meta) = open_regular(path)?;
    if meta.len() > max_bytes {
        return Err(too_large(meta.len()));
    }
    let expected = usize::try_from(meta.len()).unwrap_or(usize::MAX);
    data.clear();
    // The file's size and a little room to see its end: a small file costs a small buffer
    // (not a chunk's worth of zeroed pages).
    data.reserve(expected.saturating_add(TAIL_BYTES));
    loop {
        if cancel.is_cancelled() {
            return Ok(false);
        }
        let start = data.len();
        let want = expected
            .saturating_sub(start)
            .clamp(TAIL_BYTES, CHUNK_BYTES);
        // Appends straight into the reserved capacity: no zero-filling of bytes the read
        // overwrites anyway (`read_to_end` hands the file uninitialised room; it retries
        // interrupted reads itself).
        match (&mut file).take(want as u64).read_to_end(data) {
            Ok(0) => {
                data.truncate(start);
                return Ok(true);
            }
            Ok(_) => {}
            Err(e) => {
                data.truncate(start);
                return Err(ItemError::read(e));
            }
        }
        if data.len() as u64 > max_bytes {
            return Err(too_large(data.len() as u64));
        }
    }
}

/// The first bytes of a file (up to `buf.len()`), for recognising its format by content.
pub(crate) fn read_head(path: &Path, buf: &mut [u8]) -> Result<usize, ItemError> {
    let (mut file, _) = open_regular(path)?;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ItemError::read(e)),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_whole_files_and_refuses_large_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| i as u8).collect();
        fs::write(&path, &bytes).unwrap();
        let mut data = Vec::new();
        let cancel = CancelFlag::default();
        assert!(read_whole(&path, 1 << 30, &cancel, &mut data, |_| ItemError::Empty).unwrap());
        assert_eq!(data, bytes);
        let err = read_whole(&path, 1000, &cancel, &mut data, |n| {
            ItemError::FileTooLarge { bytes: n }
        });
        assert!(matches!(
            err,
            Err(ItemError::FileTooLarge { bytes: 3_000_000 })
        ));
        cancel.cancel();
        assert!(!read_whole(&path, 1 << 30, &cancel, &mut data, |_| ItemError::Empty).unwrap());
    }
}
