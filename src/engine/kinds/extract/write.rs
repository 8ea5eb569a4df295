//! Putting entries on disk without ever going through a link: folders made one part at a time
//! below the output folder (each existing part checked to be a real folder, never a link),
//! files written under a temporary name and renamed into place complete, links created only as
//! the plan allowed, and the metadata the entry carries (modification time, plain permission
//! bits; setuid and setgid only when asked) set on the open file, not through its name.
//!
//! Owns: [`Folders`], [`inflate`] (reading one entry with its checks: stated size, CRC-32,
//! cancel and pause), [`make_link`]. Must not touch: the plan's decisions, inputs.

use crate::engine::runtime::temp::TempFiles;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ::zip::ZipReadOptions;

use crate::engine::model::error::{IoCause, ItemError, KindCause};
use crate::engine::runtime::claims::comparable_path;
use crate::engine::runtime::input::CHUNK_BYTES;
use crate::engine::runtime::job::Run;

use super::error::ExtractError;
use super::source::{Reader, read_error};

/// Unix file-type bits.
pub const S_IFMT: u32 = 0o170_000;
pub const S_IFLNK: u32 = 0o120_000;
pub const S_IFDIR: u32 = 0o040_000;
pub const S_IFREG: u32 = 0o100_000;
pub const S_IFIFO: u32 = 0o010_000;
pub const S_IFCHR: u32 = 0o020_000;
pub const S_IFBLK: u32 = 0o060_000;
pub const S_IFSOCK: u32 = 0o140_000;

/// An item error of this kind.
pub fn kind_error(e: ExtractError) -> ItemError {
    ItemError::Kind(KindCause::new(e))
}

/// Why an entry was not put in place.
pub enum Failed {
    /// The job is stopping: nothing to report.
    Stopped,
    /// The disk is full while writing into this folder: the entry is done again after Resume.
    DiskFull(PathBuf),
    Error(ItemError),
}

impl From<ItemError> for Failed {
    fn from(e: ItemError) -> Failed {
        Failed::Error(e)
    }
}

impl From<ExtractError> for Failed {
    fn from(e: ExtractError) -> Failed {
        Failed::Error(kind_error(e))
    }
}

/// A write error at `path`, or a full disk.
pub fn write_failed(path: &Path, e: io::Error) -> Failed {
    let cause = IoCause::of(e);
    if cause.is_disk_full() {
        Failed::DiskFull(crate::engine::model::paths::parent_dir(path).to_path_buf())
    } else {
        Failed::Error(ItemError::Write {
            path: path.to_path_buf(),
            cause,
        })
    }
}

/// The folders of one job below its output folder: the ones checked to be real folders, and the
/// ones it created (claimed as its outputs).
pub struct Folders {
    root: PathBuf,
    checked: Mutex<HashSet<PathBuf>>,
    created: Mutex<HashSet<PathBuf>>,
}

impl Folders {
    pub fn new(root: PathBuf) -> Folders {
        Folders {
            root,
            checked: Mutex::new(HashSet::new()),
            created: Mutex::new(HashSet::new()),
        }
    }

    /// Whether this job created `dir`.
    pub fn created(&self, dir: &Path) -> bool {
        crate::engine::runtime::lock(&self.created).contains(dir)
    }

    /// Makes sure `dir` (the output folder or below it) is a real folder, creating the missing
    /// parts one by one; an existing part that is a link or not a folder is an error (nothing is
    /// ever written through a link).
    pub(crate) fn ensure(&self, run: &Run, dir: &Path) -> Result<(), Failed> {
        if crate::engine::runtime::lock(&self.checked).contains(dir) {
            return Ok(());
        }
        let rel = dir.strip_prefix(&self.root).map_err(|_| {
            ItemError::Internal(format!("{} is outside the output folder", dir.display()))
        })?;
        let mut at = self.root.clone();
        for part in rel.components() {
            at.push(part);
            if crate::engine::runtime::lock(&self.checked).contains(&at) {
                continue;
            }
            self.ensure_one(run, &at)?;
            crate::engine::runtime::lock(&self.checked).insert(at.clone());
        }
        Ok(())
    }

    fn ensure_one(&self, run: &Run, at: &Path) -> Result<(), Failed> {
        for _ in 0..2 {
            match fs::symlink_metadata(at) {
                Ok(m) if m.is_dir() => return Ok(()),
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(ExtractError::LinkInTheWay {
                        path: at.to_path_buf(),
                    }
                    .into());
                }
                Ok(_) => {
                    return Err(ExtractError::NotAFolder {
                        path: at.to_path_buf(),
                    }
                    .into());
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    // Claimed first, so no other job's scan takes it half-filled.
                    run.claims.add_outputs(run.core.id, [comparable_path(at)]);
                    match fs::create_dir(at) {
                        Ok(()) => {
                            crate::engine::runtime::lock(&self.created).insert(at.to_path_buf());
                            return Ok(());
                        }
                        // Made meanwhile (by another worker): look again.
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                        Err(e) => return Err(write_failed(at, e)),
                    }
                }
                Err(e) => return Err(write_failed(at, e)),
            }
        }
        Err(ExtractError::NotAFolder {
            path: at.to_path_buf(),
        }
        .into())
    }
}

/// What one entry's reading needs to know of it.
pub struct EntryRead<'a> {
    pub index: usize,
    pub stated_bytes: u64,
    pub crc32: u32,
    pub encrypted: bool,
    pub password: Option<&'a [u8]>,
}

/// Reads entry `entry` whole, handing its bytes to `out` piece by piece, with the checks: no
/// byte past its stated size (stopped there), its CRC-32 (AE-2 entries: the crate checks their
/// authentication tag instead), a wrong password. Sees cancel and pause between pieces.
/// Progress: each piece's bytes are added to the job's bytes done, and to `counted`.
pub(crate) fn inflate(
    run: &Run,
    reader: &mut Reader,
    entry: &EntryRead<'_>,
    counted: &mut u64,
    mut out: impl FnMut(&[u8]) -> Result<(), Failed>,
) -> Result<u64, Failed> {
    let Reader { archive, buf } = reader;
    let options = ZipReadOptions::new().password(entry.password.filter(|_| entry.encrypted));
    let mut file = archive
        .by_index_with_options(entry.index, options)
        .map_err(read_error)?;
    let mut hasher = crc32fast::Hasher::new();
    let mut total: u64 = 0;
    let mut since_look: usize = 0;
    // AE-2 entries carry no CRC-32 (0): their tag is checked by the reader.
    let check_crc = !(entry.encrypted && entry.crc32 == 0);
    let crc_or = |hasher: &crc32fast::Hasher, other: ExtractError| {
        let actual = hasher.clone().finalize();
        if check_crc && actual != entry.crc32 {
            ExtractError::CrcMismatch {
                expected: entry.crc32,
                actual,
            }
        } else {
            other
        }
    };
    loop {
        if total == entry.stated_bytes {
            // All the stated bytes are in: the data must end here.
            let mut probe = [0u8; 1];
            match file.read(&mut probe) {
                Ok(0) => break,
                Ok(_) => {
                    return Err(ExtractError::LargerThanStated {
                        stated_bytes: entry.stated_bytes,
                    }
                    .into());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.to_string().contains("larger than its declared") => {
                    return Err(ExtractError::LargerThanStated {
                        stated_bytes: entry.stated_bytes,
                    }
                    .into());
                }
                Err(e) => return Err(crc_or(&hasher, ExtractError::Damaged(e.to_string())).into()),
            }
        }
        let want = (entry.stated_bytes - total).min(buf.len() as u64) as usize;
        match file.read(&mut buf[..want]) {
            Ok(0) => {
                return Err(ExtractError::ShorterThanStated {
                    read_bytes: total,
                    stated_bytes: entry.stated_bytes,
                }
                .into());
            }
            Ok(n) => {
                hasher.update(&buf[..n]);
                out(&buf[..n])?;
                total += n as u64;
                since_look += n;
                run.core.add_bytes_done(n as u64);
                *counted += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(crc_or(&hasher, ExtractError::Damaged(e.to_string())).into()),
        }
        if since_look >= CHUNK_BYTES {
            since_look = 0;
            if run.stopping() || (run.is_paused() && !run.wait_while_paused()) {
                return Err(Failed::Stopped);
            }
        }
    }
    let actual = hasher.finalize();
    if check_crc && actual != entry.crc32 {
        return Err(ExtractError::CrcMismatch {
            expected: entry.crc32,
            actual,
        }
        .into());
    }
    Ok(total)
}

/// Reads a link entry's target (at most [`super::source::LINK_TARGET_MAX_BYTES`]).
pub fn read_link_target(
    reader: &mut Reader,
    index: usize,
    password: Option<&[u8]>,
    encrypted: bool,
) -> Result<Vec<u8>, ExtractError> {
    let options = ZipReadOptions::new().password(password.filter(|_| encrypted));
    let file = reader
        .archive
        .by_index_with_options(index, options)
        .map_err(read_error)?;
    let mut target = Vec::new();
    file.take(super::source::LINK_TARGET_MAX_BYTES + 1)
        .read_to_end(&mut target)
        .map_err(|e| ExtractError::Damaged(e.to_string()))?;
    if target.len() as u64 > super::source::LINK_TARGET_MAX_BYTES {
        return Err(ExtractError::Damaged(
            "the link's target is too long".to_owned(),
        ));
    }
    Ok(target)
}

/// Creates the link `dest` -> `target`. `replace`: an existing file at `dest` is replaced (the
/// link is made under a temporary name beside it and renamed over it); else an existing `dest`
/// is an error and nothing is replaced.
pub(crate) fn make_link(
    temps: &TempFiles,
    target: &[u8],
    dest: &Path,
    replace: bool,
) -> Result<(), ItemError> {
    let target = OsStr::from_bytes(target);
    let link_error = |e: io::Error| kind_error(ExtractError::Link(IoCause::of(e)));
    if !replace {
        return std::os::unix::fs::symlink(target, dest).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                ItemError::OutputAppeared {
                    path: dest.to_path_buf(),
                }
            } else {
                link_error(e)
            }
        });
    }
    temps.link(target, dest).map_err(link_error)
}

/// The permission bits to give an output: the entry's plain bits (`rwx` for all three), the
/// sticky bit, and setuid/setgid only when `setuid` is asked.
pub fn output_mode(unix_mode: u32, setuid: bool) -> u32 {
    let keep = if setuid { 0o7777 } else { 0o1777 };
    unix_mode & keep
}

/// Sets `mode` on the open file (never through its name).
pub fn set_mode(file: &fs::File, mode: u32) -> io::Result<()> {
    file.set_permissions(fs::Permissions::from_mode(mode))
}
