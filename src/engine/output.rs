//! Writing outputs safely: every output is written under a temporary name in its target folder
//! and renamed into place only when complete; nothing existing is replaced unless asked.
//!
//! Owns: temporary output files, the final rename (with the no-clobber, overwrite and unique-name
//! rules) and the permissions a finished output gets. Must not touch: inputs (never opened for
//! writing here or anywhere), job logic.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// Permission bits of a finished output (temporary files are private until then).
const OUTPUT_MODE: u32 = 0o644;

/// A new temporary file next to `final_path`, hidden (`.name.XXXXXX.part`). It is deleted when
/// dropped unless persisted: a cancelled or failed job leaves nothing behind.
pub(crate) fn temp_beside(final_path: &Path) -> io::Result<NamedTempFile> {
    let dir = parent_dir(final_path);
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".part")
        .tempfile_in(dir)
}

pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Renames a complete temporary file to `dest`. With `overwrite` false, fails with
/// `AlreadyExists` rather than replace anything (atomically: no check-then-rename race).
pub(crate) fn persist(
    temp: NamedTempFile,
    dest: &Path,
    overwrite: bool,
) -> Result<(), (io::Error, NamedTempFile)> {
    if let Err(e) = fs::set_permissions(temp.path(), fs::Permissions::from_mode(OUTPUT_MODE)) {
        return Err((e, temp));
    }
    let result = if overwrite {
        temp.persist(dest)
    } else {
        temp.persist_noclobber(dest)
    };
    result.map(|_| ()).map_err(|e| (e.error, e.file))
}

/// Renames a complete temporary file to `dest`, or to the first free `stem (N).ext` beside it.
/// Returns the name used.
pub(crate) fn persist_unique(mut temp: NamedTempFile, dest: &Path) -> io::Result<PathBuf> {
    let dir = parent_dir(dest);
    let stem = dest
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = dest.extension().map(|s| s.to_string_lossy().into_owned());
    for n in 0..10_000u32 {
        let candidate = if n == 0 {
            dest.to_path_buf()
        } else {
            let name = match &ext {
                Some(ext) => format!("{stem} ({n}).{ext}"),
                None => format!("{stem} ({n})"),
            };
            dir.join(name)
        };
        match persist(temp, &candidate, false) {
            Ok(()) => return Ok(candidate),
            Err((e, back)) if e.kind() == io::ErrorKind::AlreadyExists => temp = back,
            Err((e, _)) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free name found",
    ))
}
