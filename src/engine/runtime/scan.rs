//! Enumerating inputs: files and folders (walked recursively) become a sorted list of entries.
//!
//! Owns: the rules for what is an entry and what is reported and skipped (special files are
//! never opened: everything is classified with `symlink_metadata` first; names with control
//! characters, and names that are not valid UTF-8 unless the job keeps them as bytes; symlinks
//! by the job's policy, loops among them; unreadable folders), de-duplicating inputs (the same
//! path given twice, or a path inside another input, is one input), leaving out the outputs
//! and temporary files of every live job (through [`Claims`]), the folders the kind names
//! ([`ScanOptions::exclude_dirs`]: a thumbnail job's own thumbnail folders), and leaving out
//! what the job's exclude patterns and `.gitignore` files name (listed in
//! [`Scanned::excluded`]: an excluded folder once, not walked into). Two filters narrow what a
//! job takes: its shard ([`Shard::contains`] on the path relative to the input folder; the top
//! folder itself is in every shard) and its `only` list (a file of the list that is not there is
//! an error of the job, named by the user's path; with a list, the only folder entries are the
//! folders that hold a listed file). Scanning runs as a task on the pool and counts into the
//! job's totals as it goes.
//! Must not touch: file contents, outputs, any front end.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::{self, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use crate::engine::model::error::{IoCause, ItemError};
use crate::engine::model::events::ProblemKind;
use crate::engine::model::paths::normalize_path;
use crate::engine::model::shard::Shard;
use crate::engine::runtime::claims::Claims;
use crate::engine::runtime::exclude::{ExcludeRules, GitignoreStack};
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
    /// Relative name with `/` separators: folder inputs keep their top-level name. UTF-8, or
    /// the file system's bytes as they are when the job keeps names that are not
    /// ([`ScanOptions::keep_non_utf8_names`]).
    pub name: OsString,
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
    /// Only the entries of this shard.
    pub shard: Option<Shard>,
    /// The user's exclude patterns and `.gitignore` files (empty: nothing excluded).
    pub excludes: ExcludeRules,
    /// Names that are not valid UTF-8 (Latin-1 from an old disk) are entries with their bytes
    /// as they are (zip: an archive keeps them, as Info-ZIP's does); otherwise such a file or
    /// folder is skipped and reported.
    pub keep_non_utf8_names: bool,
}

/// A file or folder left out by an exclude pattern or a `.gitignore` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Excluded {
    pub source: PathBuf,
    /// Its name as an entry would have had it.
    pub name: String,
    /// The pattern that excluded it (for a `.gitignore` line, with the file it is in).
    pub pattern: String,
}

/// What a scan found.
pub(crate) struct Scanned {
    /// Sorted by name (bytes), ties by source path.
    pub entries: Vec<Entry>,
    /// (device, inode) of every file entry: what this job reads.
    pub input_files: HashSet<(u64, u64)>,
    /// What the exclude patterns left out, in walk order (an excluded folder once).
    pub excluded: Vec<Excluded>,
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

/// One component of a name, checked: `Ok` with it when it may be part of an entry's name.
fn checked_component(name: &OsStr, keep_non_utf8: bool) -> Result<&OsStr, ItemError> {
    match name.to_str() {
        Some(s) if has_control_char(s) => Err(ItemError::ControlCharacter),
        Some(_) => Ok(name),
        // Bytes of another encoding: only the ASCII control characters are known for sure.
        None if keep_non_utf8 => match name.as_bytes().iter().any(|b| b.is_ascii_control()) {
            true => Err(ItemError::ControlCharacter),
            false => Ok(name),
        },
        None => Err(ItemError::NotUtf8),
    }
}

struct Scanner<'a> {
    core: &'a JobCore,
    opts: &'a ScanOptions,
    claims: &'a Claims,
    roots: Vec<PathBuf>,
    entries: Vec<Entry>,
    input_files: HashSet<(u64, u64)>,
    /// The files of `only` met so far.
    only_met: HashSet<PathBuf>,
    /// The folders that hold a file of `only`: with a list, the only folder entries.
    only_dirs: HashSet<PathBuf>,
    excluded: Vec<Excluded>,
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
        only_met: HashSet::new(),
        only_dirs: opts
            .only
            .iter()
            .flat_map(|p| p.ancestors().skip(1))
            .map(Path::to_path_buf)
            .collect(),
        excluded: Vec::new(),
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
    // A listed file that is not there (one that is, but was passed over, had its reason).
    let mut missing: Vec<&PathBuf> = opts
        .only
        .iter()
        .filter(|p| !scanner.only_met.contains(*p) && fs::symlink_metadata(p).is_err())
        .collect();
    missing.sort();
    for path in missing {
        core.problem(path, ProblemKind::Error, ItemError::Read(IoCause::NotFound));
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
        excluded: scanner.excluded,
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
        let root_name = match input.file_name() {
            Some(n) => match checked_component(n, self.opts.keep_non_utf8_names) {
                Ok(n) => n.to_os_string(),
                Err(e) => return self.skip(input, e),
            },
            // "/", "." or "..": name it after what it resolves to.
            None => match fs::canonicalize(input)
                .ok()
                .and_then(|p| p.file_name().and_then(|n| n.to_str().map(OsString::from)))
            {
                Some(s) => s,
                None => OsString::from("root"),
            },
        };
        let ft = meta.file_type();
        if ft.is_dir() {
            self.walk_dir(&resolved, &root_name);
        } else if ft.is_file() {
            if self
                .opts
                .shard
                .is_some_and(|s| !s.contains(&root_name.to_string_lossy()))
            {
                return;
            }
            if let Some(pattern) = self
                .opts
                .excludes
                .user_match(&root_name.to_string_lossy(), false)
            {
                return self.exclude(input, root_name.to_string_lossy().into_owned(), pattern);
            }
            self.push_file(&resolved, root_name, &meta);
        } else {
            self.skip(input, ItemError::Special(kind_name(&ft)));
        }
    }

    fn exclude(&mut self, source: &Path, name: String, pattern: String) {
        self.excluded.push(Excluded {
            source: source.to_path_buf(),
            name,
            pattern,
        });
    }

    /// The exclude pattern or `.gitignore` line that leaves out this entry of the walk, if any.
    fn exclude_match(
        &self,
        gitignores: &GitignoreStack,
        path: &Path,
        name: &str,
        is_dir: bool,
    ) -> Option<String> {
        if let Some(pattern) = self.opts.excludes.user_match(name, is_dir) {
            return Some(pattern);
        }
        if self.opts.excludes.honour_gitignore {
            return gitignores.matched(path, is_dir);
        }
        None
    }

    fn excluded(&self, path: &Path, meta: &Metadata) -> bool {
        self.opts.exclude_files.contains(&(meta.dev(), meta.ino())) || self.claims.excludes(path)
    }

    fn push_file(&mut self, source: &Path, name: OsString, meta: &Metadata) {
        if self.excluded(source, meta) {
            return;
        }
        if !self.opts.only.is_empty() {
            let normal = normalize_path(source);
            if !self.opts.only.contains(&normal) {
                return;
            }
            self.only_met.insert(normal);
        }
        self.input_files.insert((meta.dev(), meta.ino()));
        let size = meta.len();
        self.core.add_totals(1, size);
        self.entries.push(Entry {
            source: source.to_path_buf(),
            name,
            kind: EntryKind::File,
            size,
            mtime: meta.modified().ok(),
            mode: meta.mode() & 0o7777,
        });
    }

    fn walk_dir(&mut self, root: &Path, root_name: &OsStr) {
        let mut walker = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter();
        let mut count: u64 = 0;
        let mut gitignores = GitignoreStack::default();
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
            // Another shard's: not an entry here (a folder is still walked into).
            let other_shard = entry.depth() > 0
                && self
                    .opts
                    .shard
                    .is_some_and(|s| !s.contains(&rel.to_string_lossy()));
            if other_shard && !is_dir {
                continue;
            }
            let mut name = root_name.to_os_string();
            let mut bad = None;
            for comp in rel.components() {
                match checked_component(comp.as_os_str(), self.opts.keep_non_utf8_names) {
                    Ok(s) => {
                        name.push("/");
                        name.push(s);
                    }
                    Err(e) => bad = Some(e),
                }
            }
            if let Some(err) = bad {
                if !other_shard {
                    self.skip(path, err);
                }
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
            if !self.opts.excludes.is_empty() {
                gitignores.enter(entry.depth());
                if entry.depth() > 0
                    && let Some(pattern) =
                        self.exclude_match(&gitignores, path, &name.to_string_lossy(), ft.is_dir())
                {
                    if ft.is_dir() {
                        walker.skip_current_dir();
                    }
                    self.exclude(path, name.to_string_lossy().into_owned(), pattern);
                    continue;
                }
                if ft.is_dir() && self.opts.excludes.honour_gitignore {
                    gitignores.push_folder(path, entry.depth());
                }
            }
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
                let listed =
                    self.opts.only.is_empty() || self.only_dirs.contains(&normalize_path(path));
                if self.opts.include_dirs && !other_shard && listed {
                    self.core.add_totals(1, 0);
                    self.entries.push(Entry {
                        source: path.to_path_buf(),
                        name,
                        kind: EntryKind::Dir,
                        size: 0,
                        mtime: lmeta.modified().ok(),
                        mode: lmeta.mode() & 0o7777,
                    });
                }
            } else if ft.is_file() {
                self.push_file(path, name, &lmeta);
            } else if ft.is_symlink() {
                self.symlink(path, name, &lmeta);
            } else {
                self.skip(path, ItemError::Special(kind_name(&ft)));
            }
        }
    }

    fn symlink(&mut self, path: &Path, name: OsString, lmeta: &Metadata) {
        match self.opts.symlinks {
            SymlinkPolicy::FollowFiles => match fs::metadata(path) {
                Ok(m) if m.is_file() => match fs::canonicalize(path) {
                    Ok(target) => self.push_file(&target, name, &m),
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
    fn inside_target(&self, path: &Path, name: &OsStr) -> Result<String, LinkProblem> {
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
        // Within the archive, the link must not climb above the top level either: `depth` is
        // the number of folders above the link's name, then above where the target leads.
        let mut depth = name.as_bytes().iter().filter(|b| **b == b'/').count();
        for comp in target.components() {
            match comp {
                Component::ParentDir => {
                    if depth == 0 {
                        return Err(Outside("points outside the selection"));
                    }
                    depth -= 1;
                }
                Component::Normal(_) => depth += 1,
                Component::CurDir => {}
                _ => return Err(Outside("points outside the selection")),
            }
        }
        if depth == 0 {
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
