//! Writing outputs safely: every output is written under a temporary name in its target folder
//! and renamed into place only when complete; the lifecycle removes every temporary file of a
//! job that is cancelled, fails or panics.
//!
//! Owns: [`TempFiles`] (a job's register of its temporary files: the one place that creates and
//! removes them), [`TempOutput`], and the final rename (no-clobber, or replace) with the
//! permissions a finished output gets. Errors name the user's final path, never the temporary
//! one. Must not touch: inputs (never opened for writing here or anywhere), job logic, the rules
//! of what may be replaced (the plan and [`crate::engine::runtime::job::Run`] decide that before calling).

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tempfile::NamedTempFile;

use crate::engine::model::error::IoCause;
use crate::engine::parent_dir;

/// Permission bits of a finished output (temporary files are private until then).
const OUTPUT_MODE: u32 = 0o644;

/// Why a temporary file could not be created or put in place.
#[derive(Debug)]
pub(crate) enum PlaceError {
    /// `to` exists (and replacing was not asked).
    Exists,
    Io(IoCause),
}

/// A job's temporary files. Cloned handles share one register.
#[derive(Clone, Default)]
pub(crate) struct TempFiles {
    live: Arc<Mutex<HashSet<PathBuf>>>,
}

impl TempFiles {
    /// Creates a hidden temporary file beside `final_path` (`.name.XXXXXX.part`), creating the
    /// folder first when `create_dir`. The error is about the folder, in the user's terms.
    pub fn create(&self, final_path: &Path) -> Result<TempOutput, IoCause> {
        let dir = parent_dir(final_path);
        let name = final_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(|e| {
                let cause = IoCause::of(e);
                // Creating in an existing folder that refuses files (/proc) says "not found".
                if matches!(cause, IoCause::NotFound) && dir.is_dir() {
                    IoCause::FolderRefusesFiles
                } else {
                    cause
                }
            })?;
        crate::engine::lock(&self.live).insert(file.path().to_path_buf());
        Ok(TempOutput {
            file: Some(file),
            register: self.clone(),
        })
    }

    /// Removes every temporary file still registered (a task that was cut short, a thread that
    /// panicked). Called by the lifecycle before a job reports its end.
    pub fn remove_all(&self) {
        let paths: Vec<PathBuf> = crate::engine::lock(&self.live).drain().collect();
        for path in paths {
            let _ = fs::remove_file(path);
        }
    }

    /// How many temporary files exist now.
    #[cfg(test)]
    pub fn count(&self) -> usize {
        crate::engine::lock(&self.live).len()
    }

    fn forget(&self, path: &Path) {
        crate::engine::lock(&self.live).remove(path);
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
}
