//! Writing outputs safely: every output is written under a temporary name in its target folder
//! and renamed into place only when complete; the lifecycle removes every temporary file of a
//! job that is cancelled, fails or panics.
//!
//! A temporary name is `.<name>.<tag><2 random>.part`: hidden, beside its output, recognisable
//! by the scans (never taken as an input) and by the job itself after a crash (`tag` is the
//! job's, recorded in its journal before any temporary exists, so a resumed job removes only its
//! own leftovers). It fits wherever the final name fits: when `<name>` plus the 15 bytes around
//! it would pass 255 bytes, or the file system refuses a name that long, `<name>` is cut (at a
//! character boundary) so that the temporary name is no longer than the final one.
//!
//! Owns: [`TempFiles`] (a job's register of its temporary files: the one place that creates and
//! removes them), [`TempOutput`], the temporary names ([`temp_name_parts`]), and the final
//! rename (no-clobber, or replace) with the permissions a finished output gets. Errors name the
//! user's final path, never the temporary one. Must not touch: inputs (never opened for writing
//! here or anywhere), job logic, the rules of what may be replaced (the plan and
//! [`crate::engine::runtime::job::Run`] decide that before calling).

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tempfile::NamedTempFile;

use crate::engine::model::error::IoCause;
use crate::engine::model::paths::parent_dir;

/// Permission bits of a finished output (temporary files are private until then).
const OUTPUT_MODE: u32 = 0o644;
/// Characters of a job's tag in its temporary names.
pub(crate) const TAG_CHARS: usize = 6;
/// Random characters after the tag (tempfile retries on a collision).
const RANDOM_CHARS: usize = 2;
/// Bytes a temporary name adds around the output's name: `.`, `.`, the tag, the random
/// characters and `.part`.
const TEMP_EXTRA_BYTES: usize = 2 + TAG_CHARS + RANDOM_CHARS + ".part".len();
/// The longest file name the usual file systems take (ext4, XFS, Btrfs, tmpfs: NAME_MAX).
const NAME_MAX_BYTES: usize = 255;

/// A new job's tag for its temporary names: [`TAG_CHARS`] characters of `[a-z0-9]`, random
/// (a per-process seed, the time and a counter).
pub(crate) fn new_tag() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::hash::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let mut n = h.finish();
    (0..TAG_CHARS)
        .map(|_| {
            let c = b"abcdefghijklmnopqrstuvwxyz0123456789"[(n % 36) as usize];
            n /= 36;
            c as char
        })
        .collect()
}

/// For a temporary name `.<target>.<random>.part`, the target's name (cut short when the
/// output's name was long: see the module documentation) and the random part (the job's tag
/// then random characters, for names this build makes).
pub(crate) fn temp_name_parts(name: &OsStr) -> Option<(&[u8], &[u8])> {
    let inner = name.as_bytes().strip_prefix(b".")?.strip_suffix(b".part")?;
    let dot = inner.iter().rposition(|&b| b == b'.')?;
    let (target, random) = (&inner[..dot], &inner[dot + 1..]);
    (!target.is_empty() && !random.is_empty()).then_some((target, random))
}

/// Whether `name` is a temporary name made with `tag`.
pub(crate) fn is_temp_of(name: &OsStr, tag: &str) -> bool {
    !tag.is_empty()
        && temp_name_parts(name).is_some_and(|(_, random)| {
            random.len() == TAG_CHARS + RANDOM_CHARS && random.starts_with(tag.as_bytes())
        })
}

/// Whether a temporary name's target part may be cut short (the name was too long to keep
/// whole): only such names are long.
pub(crate) fn may_be_cut(name: &OsStr) -> bool {
    name.len() >= 128
}

/// `name` cut to at most `max` bytes, at a character boundary when it is UTF-8.
fn cut_name(name: &[u8], max: usize) -> &[u8] {
    if name.len() <= max {
        return name;
    }
    match std::str::from_utf8(name) {
        Ok(text) => {
            let mut end = max;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            &name[..end]
        }
        Err(_) => &name[..max],
    }
}

/// Why a temporary file could not be created or put in place.
#[derive(Debug)]
pub(crate) enum PlaceError {
    /// `to` exists (and replacing was not asked).
    Exists,
    Io(IoCause),
}

/// A job's temporary files. Cloned handles share one register.
#[derive(Clone)]
pub(crate) struct TempFiles {
    live: Arc<Mutex<HashSet<PathBuf>>>,
    /// The job's tag in every temporary name.
    tag: Arc<str>,
}

impl Default for TempFiles {
    fn default() -> Self {
        TempFiles::with_tag(&new_tag())
    }
}

impl TempFiles {
    /// A register whose temporary names carry `tag` (a resumed job keeps its journal's).
    pub fn with_tag(tag: &str) -> TempFiles {
        TempFiles {
            live: Arc::default(),
            tag: Arc::from(tag),
        }
    }

    /// The job's tag in its temporary names.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Creates a hidden temporary file beside `final_path` (see the module documentation for
    /// its name). The error is about the folder, in the user's terms.
    pub fn create(&self, final_path: &Path) -> Result<TempOutput, IoCause> {
        let file = self
            .make_beside(final_path, |b, dir| b.tempfile_in(dir))
            .map_err(|e| {
                let cause = IoCause::of(e);
                // Creating in an existing folder that refuses files (/proc) says "not found".
                if matches!(cause, IoCause::NotFound) && parent_dir(final_path).is_dir() {
                    IoCause::FolderRefusesFiles
                } else {
                    cause
                }
            })?;
        crate::engine::runtime::lock(&self.live).insert(file.path().to_path_buf());
        Ok(TempOutput {
            file: Some(file),
            register: self.clone(),
        })
    }

    /// Makes a symbolic link to `target` at `final_path`, replacing what is there atomically: the
    /// link is made under a temporary name of this job's (so a crash leaves a name a resumed job
    /// knows as its own and removes) and renamed into place.
    pub fn link(&self, target: &OsStr, final_path: &Path) -> io::Result<()> {
        let temp = self.make_beside(final_path, |b, dir| {
            b.make_in(dir, |path| std::os::unix::fs::symlink(target, path))
        })?;
        let temp_path = temp.path().to_path_buf();
        crate::engine::runtime::lock(&self.live).insert(temp_path.clone());
        // On failure the temporary link is removed when `temp` is dropped with the error.
        let placed = temp.persist(final_path).map(drop).map_err(|e| e.error);
        self.forget(&temp_path);
        placed
    }

    /// Makes something (`make`: a file, a link) under a hidden temporary name beside
    /// `final_path` (see the module documentation for the name), retrying with a shorter name on
    /// a file system whose names are shorter than usual.
    fn make_beside<T>(
        &self,
        final_path: &Path,
        make: impl Fn(&mut tempfile::Builder<'_, '_>, &Path) -> io::Result<T>,
    ) -> io::Result<T> {
        let dir = parent_dir(final_path);
        let name = final_path
            .file_name()
            .map(OsStr::as_bytes)
            .unwrap_or(b"output");
        let attempt = |max_total: usize| {
            let keep = cut_name(name, max_total.saturating_sub(TEMP_EXTRA_BYTES));
            let mut prefix = OsString::from(".");
            prefix.push(OsStr::from_bytes(keep));
            prefix.push(".");
            prefix.push(&*self.tag);
            make(
                tempfile::Builder::new()
                    .prefix(&prefix)
                    .suffix(".part")
                    .rand_bytes(RANDOM_CHARS),
                dir,
            )
        };
        let too_long = |e: &io::Error| {
            e.kind() == io::ErrorKind::InvalidFilename
                || e.raw_os_error() == Some(libc::ENAMETOOLONG)
        };
        match attempt(NAME_MAX_BYTES) {
            // A file system with shorter names than usual: no longer than the final name.
            Err(e) if too_long(&e) && name.len() > TEMP_EXTRA_BYTES => attempt(name.len()),
            other => other,
        }
    }

    /// Removes every temporary file still registered (a task that was cut short, a thread that
    /// panicked). Called by the lifecycle before a job reports its end.
    pub fn remove_all(&self) {
        let paths: Vec<PathBuf> = crate::engine::runtime::lock(&self.live).drain().collect();
        for path in paths {
            let _ = fs::remove_file(path);
        }
    }

    /// How many temporary files exist now.
    #[cfg(test)]
    pub fn count(&self) -> usize {
        crate::engine::runtime::lock(&self.live).len()
    }

    fn forget(&self, path: &Path) {
        crate::engine::runtime::lock(&self.live).remove(path);
    }
}

/// A temporary output file, removed when dropped unless put in place.
pub(crate) struct TempOutput {
    file: Option<NamedTempFile>,
    register: TempFiles,
}

impl TempOutput {
    pub fn file(&self) -> Option<&File> {
        self.file.as_ref().map(NamedTempFile::as_file)
    }

    /// A second handle on the file (for a writer that owns its `File`).
    pub fn reopen(&self) -> io::Result<File> {
        match &self.file {
            Some(f) => f.reopen(),
            None => Err(io::Error::other("temporary file already closed")),
        }
    }

    /// Renames the complete file to `to`. `replace`: an existing `to` is replaced atomically;
    /// else an existing `to` is an error and nothing is replaced (no check-then-rename race).
    pub fn place(mut self, to: &Path, replace: bool) -> Result<(), PlaceError> {
        let Some(temp) = self.file.take() else {
            return Err(PlaceError::Io(IoCause::NotFound));
        };
        let temp_path = temp.path().to_path_buf();
        if let Err(e) = fs::set_permissions(&temp_path, fs::Permissions::from_mode(OUTPUT_MODE)) {
            self.register.forget(&temp_path);
            return Err(PlaceError::Io(IoCause::of(e)));
        }
        let result = if replace {
            temp.persist(to)
        } else {
            temp.persist_noclobber(to)
        };
        self.register.forget(&temp_path);
        match result {
            Ok(_) => Ok(()),
            // The temporary file is dropped (removed) with the error.
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Err(PlaceError::Exists),
            Err(e) => Err(PlaceError::Io(IoCause::of(e.error))),
        }
    }
}

impl io::Write for TempOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("temporary file already closed")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for TempOutput {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            let path = file.path().to_path_buf();
            drop(file);
            self.register.forget(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_link_replaces_a_file_through_a_temporary_name_of_the_job() {
        let dir = tempfile::tempdir().unwrap();
        let temps = TempFiles::with_tag("abc123");
        let dest = dir.path().join("l");
        fs::write(&dest, b"old").unwrap();
        temps.link(OsStr::new("target/file"), &dest).unwrap();
        assert_eq!(fs::read_link(&dest).unwrap(), Path::new("target/file"));
        assert_eq!(temps.count(), 0);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("l")], "no temporary link left");
        // The temporary name a link is made under is one a resumed job knows as its own (what
        // a crash between making it and renaming it leaves), also for a name of 250 bytes.
        let long = dir.path().join("n".repeat(250));
        let temp = temps
            .make_beside(&long, |b, d| {
                b.make_in(d, |path| std::os::unix::fs::symlink("t", path))
            })
            .unwrap();
        let temp_name = temp.path().file_name().unwrap();
        assert!(is_temp_of(temp_name, "abc123"), "{temp_name:?}");
        assert!(temp_name.len() <= 255);
        drop(temp);
        temps.link(OsStr::new("t"), &long).unwrap();
        assert_eq!(fs::read_link(&long).unwrap(), Path::new("t"));
        // A link cannot be made in a folder that does not exist: an error, nothing left.
        let missing = dir.path().join("no/such/l");
        assert!(temps.link(OsStr::new("t"), &missing).is_err());
        assert_eq!(temps.count(), 0);
    }

    #[test]
    fn temporaries_are_removed_unless_placed() {
        let dir = tempfile::tempdir().unwrap();
        let temps = TempFiles::default();
        let dest = dir.path().join("a.txt");
        let mut t = temps.create(&dest).unwrap();
        t.write_all(b"x").unwrap();
        assert_eq!(temps.count(), 1);
        drop(t);
        assert_eq!(temps.count(), 0);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);

        let t = temps.create(&dest).unwrap();
        t.place(&dest, false).unwrap();
        assert!(dest.exists());
        let t = temps.create(&dest).unwrap();
        assert!(matches!(t.place(&dest, false), Err(PlaceError::Exists)));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        // A leaked temporary (a thread that died holding it) is removed by remove_all.
        let t = temps.create(&dest).unwrap();
        std::mem::forget(t);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
        temps.remove_all();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temporary_names_fit_wherever_the_final_name_fits() {
        use std::os::unix::ffi::OsStringExt;
        let dir = tempfile::tempdir().unwrap();
        let temps = TempFiles::with_tag("abc123");
        for len in 1..=NAME_MAX_BYTES {
            // Two-byte characters, so that a cut may fall inside one; and one name not UTF-8.
            let mut name: Vec<u8> = "é".repeat(len / 2).into_bytes();
            if len % 2 == 1 {
                name.push(if len % 4 == 1 { b'x' } else { 0xe9 });
            }
            assert_eq!(name.len(), len);
            let dest = dir.path().join(OsString::from_vec(name));
            let t = temps.create(&dest).unwrap_or_else(|e| panic!("{len}: {e}"));
            let temp_name = t
                .file
                .as_ref()
                .unwrap()
                .path()
                .file_name()
                .unwrap()
                .to_os_string();
            assert!(temp_name.len() <= NAME_MAX_BYTES.max(len), "{len}");
            assert!(is_temp_of(&temp_name, "abc123"), "{temp_name:?}");
            if std::str::from_utf8(dest.file_name().unwrap().as_bytes()).is_ok() {
                assert!(
                    temp_name.to_str().is_some(),
                    "cut at a character boundary: {len}"
                );
            }
            t.place(&dest, false).unwrap();
            assert!(dest.is_file());
            fs::remove_file(&dest).unwrap();
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
