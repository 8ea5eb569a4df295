//! Paths as the engine compares and names them: absolute and lexically normalised, a path's
//! folder, a folder's display name. Pure functions of the path text (no I/O beyond the current
//! folder for [`normalize_path`]).
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
