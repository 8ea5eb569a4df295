//! Enumerating inputs: files and folders (walked recursively) become a sorted list of entries.
//!
//! Owns: the rules for what is an entry and what is reported and skipped (special files are
//! never opened: everything is classified with `symlink_metadata` first; names with control
//! characters; names that are not valid UTF-8, unless the kind keeps them byte for byte
//! ([`ScanOptions::names_as_bytes`]); symlinks by the job's policy, loops among them;
//! unreadable folders), de-duplicating inputs (the same path given twice, or a path inside another input,
//! is one input), and leaving out the outputs and temporary files of every live job (through
//! [`Claims`]). Scanning runs as a task on the pool and counts into the job's totals as it goes.
//! Must not touch: file contents, outputs, any front end.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::{self, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use crate::engine::model::error::ItemError;
use crate::engine::model::events::ProblemKind;
use crate::engine::normalize_path;
use crate::engine::runtime::claims::Claims;
use crate::engine::runtime::status::JobCore;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntryKind {
    File,
    Dir,
    /// A symlink kept as a link; `target` is its text (relative, resolving inside the selection).
    Symlink {
        target: String,
    },
}

/// One thing found in the inputs.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub source: PathBuf,
    /// Relative name with `/` separators: folder inputs keep their top-level name. Shown with
    /// U+FFFD for invalid sequences when the name is not valid UTF-8 (see `raw_name`).
    pub name: String,
    /// The relative name's bytes, when they are not valid UTF-8 (kept only with
    /// [`ScanOptions::names_as_bytes`]); `None`: `name` is exact.
    pub raw_name: Option<OsString>,
    pub kind: EntryKind,
    pub size: u64,
    pub mtime: Option<SystemTime>,
    /// Unix permission bits (`0o7777` part of the mode).
    pub mode: u32,
}

/// What to do with symlinks met inside folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SymlinkPolicy {
    /// Zip: keep links that resolve inside the selection as links, skip and report the others.
    KeepInside,
    /// Thumbnails: read linked files, do not walk into linked folders.
    FollowFiles,
}

pub(crate) struct ScanOptions {
    pub symlinks: SymlinkPolicy,
    pub include_dirs: bool,
    /// Files never to include, by (device, inode): the archive being written, for one.
    pub exclude_files: Vec<(u64, u64)>,
    /// Folders never to walk into below an input (the thumbnails' output folder), canonical.
    pub exclude_dirs: Vec<PathBuf>,
    /// When not empty, only these files (normalised paths) are entries; the others are passed
    /// over silently.
    pub only: HashSet<PathBuf>,
    /// Keep names that are not valid UTF-8 (Latin-1 names from old disks and cameras) byte for
    /// byte in [`Entry::raw_name`], instead of skipping them with "not valid UTF-8".
    pub names_as_bytes: bool,
}

impl Entry {
    /// The relative name exactly, bytes and all.
    pub fn name_os(&self) -> &OsStr {
        self.raw_name
            .as_deref()
            .unwrap_or_else(|| OsStr::new(&self.name))
    }
}

/// Whether a name that is not UTF-8 holds a control character (tab, newline...).
fn has_control_byte(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b < 0x20 || b == 0x7f)
}

/// What a scan found.
pub(crate) struct Scanned {
    /// Sorted by name (bytes), ties by source path.
    pub entries: Vec<Entry>,
    /// (device, inode) of every file entry: what this job reads.
    pub input_files: HashSet<(u64, u64)>,
}

fn kind_name(ft: &fs::FileType) -> &'static str {
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_char_device() {
        "a character device"
    } else {
        "an unknown kind of file"
    }
}

fn has_control_char(s: &str) -> bool {
    s.chars().any(|c| c.is_control())
}

struct Scanner<'a> {
    core: &'a JobCore,
    opts: &'a ScanOptions,
    claims: &'a Claims,
    roots: Vec<PathBuf>,
    entries: Vec<Entry>,
    input_files: HashSet<(u64, u64)>,
}

/// Walks `inputs` and returns the entries sorted by name. Problems are reported to `core`.
/// Returns `None` when the job was cancelled during the scan.
pub(crate) fn scan(
    inputs: &[PathBuf],
    opts: &ScanOptions,
    core: &JobCore,
    claims: &Claims,
) -> Option<Scanned> {
    // One input per canonical path; an input inside a folder input is covered by that folder.
    let mut resolved: Vec<(PathBuf, &PathBuf)> = Vec::new();
    let mut unresolved: Vec<&PathBuf> = Vec::new();
    for input in inputs {
        match fs::canonicalize(input) {
            Ok(c) => resolved.push((c, input)),
            Err(_) => unresolved.push(input),
        }
    }
    let all: Vec<PathBuf> = resolved.iter().map(|(c, _)| c.clone()).collect();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut kept: Vec<&PathBuf> = Vec::new();
    for (canonical, input) in &resolved {
        let covered = all
            .iter()
            .any(|other| other != canonical && canonical.starts_with(other) && other.is_dir());
        if !covered && seen.insert(canonical.clone()) {
            kept.push(input);
        }
    }
    kept.extend(unresolved);
    let mut scanner = Scanner {
        core,
        opts,
        claims,
        roots: seen.into_iter().collect(),
        entries: Vec::new(),
        input_files: HashSet::new(),
    };
    for input in kept {
        if core.is_cancelled() {
            return None;
        }
        scanner.scan_input(input);
    }
    if core.is_cancelled() {
        return None;
    }
    let mut entries = scanner.entries;
    entries.sort_by(|a, b| {
        a.name
            .as_bytes()
            .cmp(b.name.as_bytes())
            .then_with(|| a.source.cmp(&b.source))
    });
    Some(Scanned {
        entries,
        input_files: scanner.input_files,
    })
}

impl Scanner<'_> {
    fn skip(&self, path: &Path, err: ItemError) {
        self.core.problem(path, ProblemKind::Skipped, err);
    }

    fn scan_input(&mut self, input: &Path) {
        let lmeta = match fs::symlink_metadata(input) {
            Ok(m) => m,
            Err(e) => {
                self.core
                    .problem(input, ProblemKind::Error, ItemError::read(e));
                return;
            }
        };
        // An input the user picked by name is followed when it is a link: they chose it.
        let (meta, resolved) = if lmeta.file_type().is_symlink() {
            match (fs::metadata(input), fs::canonicalize(input)) {
                (Ok(m), Ok(target)) => (m, target),
                _ => {
                    self.skip(input, ItemError::Symlink("is dangling or loops"));
                    return;
                }
            }
        } else {
            (lmeta, input.to_path_buf())
        };
        let (root_name, root_raw) = match input.file_name() {
            Some(n) => match n.to_str() {
                Some(s) if has_control_char(s) => {
                    return self.skip(input, ItemError::ControlCharacter);
                }
                Some(s) => (s.to_owned(), None),
                None if !self.opts.names_as_bytes => {
                    return self.skip(input, ItemError::NotUtf8);
                }
                None if has_control_byte(n.as_bytes()) => {
                    return self.skip(input, ItemError::ControlCharacter);
                }
                None => (n.to_string_lossy().into_owned(), Some(n.to_os_string())),
            },
            // "/", "." or "..": name it after what it resolves to.
            None => {
                let real = fs::canonicalize(input)
                    .ok()
                    .and_then(|p| p.file_name().map(OsStr::to_os_string));
                match real {
                    Some(n) if n.to_str().is_some() => (n.to_string_lossy().into_owned(), None),
                    Some(n) if self.opts.names_as_bytes => {
                        (n.to_string_lossy().into_owned(), Some(n))
                    }
                    _ => ("root".to_owned(), None),
                }
            }
        };
        let ft = meta.file_type();
        if ft.is_dir() {
            self.walk_dir(&resolved, &root_name, root_raw.as_deref());
        } else if ft.is_file() {
            self.push_file(&resolved, root_name, root_raw, &meta);
        } else {
            self.skip(input, ItemError::Special(kind_name(&ft)));
        }
    }

    fn excluded(&self, path: &Path, meta: &Metadata) -> bool {
        self.opts.exclude_files.contains(&(meta.dev(), meta.ino())) || self.claims.excludes(path)
    }

    fn push_file(
        &mut self,
        source: &Path,
        name: String,
        raw_name: Option<OsString>,
        meta: &Metadata,
    ) {
        if self.excluded(source, meta) {
            return;
        }
        if !self.opts.only.is_empty() && !self.opts.only.contains(&normalize_path(source)) {
            return;
        }
        self.input_files.insert((meta.dev(), meta.ino()));
        let size = meta.len();
        self.core.add_totals(1, size);
        self.entries.push(Entry {
            source: source.to_path_buf(),
            name,
            raw_name,
            kind: EntryKind::File,
            size,
            mtime: meta.modified().ok(),
            mode: meta.mode() & 0o7777,
        });
    }

    fn walk_dir(&mut self, root: &Path, root_name: &str, root_raw: Option<&OsStr>) {
        let mut walker = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter();
        let mut count: u64 = 0;
        while let Some(item) = walker.next() {
            if self.core.is_cancelled() {
                return;
            }
            let entry = match item {
                Ok(e) => e,
                Err(err) => {
                    let path = err.path().unwrap_or(root).to_path_buf();
                    let cause = err
                        .io_error()
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| err.to_string());
                    self.core
                        .problem(&path, ProblemKind::Error, ItemError::ListFolder(cause));
                    continue;
                }
            };
            let path = entry.path();
            count += 1;
            if count % 256 == 1 {
                self.core.set_current(path.display().to_string());
            }
            let rel = match path.strip_prefix(root) {
                Ok(r) => r,
                Err(_) => continue,
            };
            let is_dir = entry.file_type().is_dir();
            let mut name = root_name.to_owned();
            let mut bad = None;
            let raw_needed =
                root_raw.is_some() || (self.opts.names_as_bytes && rel.to_str().is_none());
            for comp in rel.components() {
                let comp = comp.as_os_str();
                match comp.to_str() {
                    Some(s) if has_control_char(s) => bad = Some(ItemError::ControlCharacter),
                    Some(s) => {
                        name.push('/');
                        name.push_str(s);
                    }
                    None if !self.opts.names_as_bytes => bad = Some(ItemError::NotUtf8),
                    None if has_control_byte(comp.as_bytes()) => {
                        bad = Some(ItemError::ControlCharacter)
                    }
                    None => {
                        name.push('/');
                        name.push_str(&comp.to_string_lossy());
                    }
                }
            }
            let raw_name = raw_needed.then(|| {
                let mut raw = root_raw
                    .map(OsStr::to_os_string)
                    .unwrap_or_else(|| OsString::from(root_name));
                for comp in rel.components() {
                    raw.push("/");
                    raw.push(comp.as_os_str());
                }
                raw
            });
            if let Some(err) = bad {
                self.skip(path, err);
                if is_dir {
                    walker.skip_current_dir();
                }
                continue;
            }
            let lmeta = match entry.metadata() {
                Ok(m) => m,
                Err(e) => {
                    self.core.problem(
                        path,
                        ProblemKind::Error,
                        ItemError::ListFolder(e.to_string()),
                    );
                    continue;
                }
            };
            let ft = lmeta.file_type();
            if ft.is_dir() {
                // A folder a live job created for its outputs holds only outputs.
                if entry.depth() > 0 && self.claims.excludes(path) {
                    walker.skip_current_dir();
                    continue;
                }
                if entry.depth() > 0
                    && !self.opts.exclude_dirs.is_empty()
                    && self
                        .opts
                        .exclude_dirs
                        .iter()
                        .any(|d| fs::canonicalize(path).is_ok_and(|c| &c == d))
                {
                    walker.skip_current_dir();
                    continue;
                }
                if self.opts.include_dirs {
                    self.core.add_totals(1, 0);
                    self.entries.push(Entry {
                        source: path.to_path_buf(),
                        name,
                        raw_name,
                        kind: EntryKind::Dir,
                        size: 0,
                        mtime: lmeta.modified().ok(),
                        mode: lmeta.mode() & 0o7777,
                    });
                }
            } else if ft.is_file() {
                self.push_file(path, name, raw_name, &lmeta);
            } else if ft.is_symlink() {
                self.symlink(path, name, raw_name, &lmeta);
            } else {
                self.skip(path, ItemError::Special(kind_name(&ft)));
            }
        }
    }

    fn symlink(&mut self, path: &Path, name: String, raw_name: Option<OsString>, lmeta: &Metadata) {
        match self.opts.symlinks {
            SymlinkPolicy::FollowFiles => match fs::metadata(path) {
                Ok(m) if m.is_file() => match fs::canonicalize(path) {
                    Ok(target) => self.push_file(&target, name, raw_name, &m),
                    Err(_) => self.skip(path, ItemError::Symlink("is dangling or loops")),
                },
                Ok(m) if m.is_dir() => {
                    self.skip(path, ItemError::Symlink("to a folder is not followed"))
                }
                Ok(m) => self.skip(path, ItemError::Special(kind_name(&m.file_type()))),
                Err(_) => self.skip(path, ItemError::Symlink("is dangling or loops")),
            },
            SymlinkPolicy::KeepInside => match self.inside_target(path, &name) {
                Err(Loop) => self.skip(path, ItemError::SymlinkLoop),
                Ok(target) => {
                    self.core.add_totals(1, 0);
                    self.entries.push(Entry {
                        source: path.to_path_buf(),
                        name,
                        raw_name,
                        kind: EntryKind::Symlink { target },
                        size: 0,
                        mtime: lmeta.modified().ok(),
                        mode: lmeta.mode() & 0o7777,
                    });
                }
                Err(Outside(why)) => self.skip(path, ItemError::Symlink(why)),
            },
        }
    }

    /// The link's text when it is relative and resolves to something inside the selection, both
    /// on disk and within the archive's names, and is not a loop (a link to a folder that
    /// contains it: archivers that follow it recurse, 7-Zip refuses such an archive).
    fn inside_target(&self, path: &Path, name: &str) -> Result<String, LinkProblem> {
        use LinkProblem::{Loop, Outside};
        let target = fs::read_link(path).map_err(|_| Outside("cannot be read"))?;
        let resolved = fs::canonicalize(path).ok();
        if let (Some(resolved), Some(parent)) = (&resolved, path.parent())
            && let Ok(parent) = fs::canonicalize(parent)
            && parent.starts_with(resolved)
        {
            return Err(Loop);
        }
        if target.is_absolute() {
            return Err(Outside("points to an absolute path"));
        }
        let text = target
            .to_str()
            .ok_or(Outside("target is not valid UTF-8"))?;
        if has_control_char(text) {
            return Err(Outside("target contains a control character"));
        }
        let resolved = resolved.ok_or(Outside("is dangling or loops"))?;
        if !self.roots.iter().any(|r| resolved.starts_with(r)) {
            return Err(Outside("points outside the selection"));
        }
        // Within the archive, the link must not climb above the top level either.
        let mut depth: Vec<&str> = name.split('/').collect();
        depth.pop();
        for comp in target.components() {
            match comp {
                Component::ParentDir => {
                    if depth.pop().is_none() {
                        return Err(Outside("points outside the selection"));
                    }
                }
                Component::Normal(_) => depth.push(""),
                Component::CurDir => {}
                _ => return Err(Outside("points outside the selection")),
            }
        }
        if depth.is_empty() {
            return Err(Outside("points outside the selection"));
        }
        Ok(text.to_owned())
    }
}

/// Why a symlink is not kept as a link.
enum LinkProblem {
    /// It points to a folder that contains it.
    Loop,
    Outside(&'static str),
}
use LinkProblem::{Loop, Outside};
