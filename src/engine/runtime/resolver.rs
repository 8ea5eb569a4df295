//! The plan resolver: the one place where an output's final name and action are chosen.
//!
//! Collisions inside the job are resolved first, in sorted input order, from the inputs alone
//! (so the same inputs and settings give the same outputs every run, for any worker count); then
//! the conflict policy is applied against the disk and the other live jobs. Whatever the policy,
//! an output never replaces an input of this or any queued or running job. A resumed job's
//! recorded outputs keep their names; only where someone else's file now stands is the policy
//! applied again ([`Resolver::resolve_again`]).
//! Must not touch: file contents, writing anything, any front end.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::engine::model::events::JobId;
use crate::engine::model::plan::{Action, ConflictPolicy, SkipReason};
use crate::engine::runtime::claims::{Claims, comparable_path};

/// Chooses final output paths and actions for one job's plan (see the module documentation).
/// Call [`Resolver::resolve`] in sorted input order.
pub(crate) struct Resolver<'a> {
    claims: &'a Claims,
    job: JobId,
    policy: ConflictPolicy,
    /// (device, inode) of this job's own input files.
    own_inputs: &'a HashSet<(u64, u64)>,
    /// Comparable paths already given to an earlier output of this job.
    taken: HashSet<PathBuf>,
}

impl<'a> Resolver<'a> {
    pub fn new(
        claims: &'a Claims,
        job: JobId,
        policy: ConflictPolicy,
        own_inputs: &'a HashSet<(u64, u64)>,
    ) -> Resolver<'a> {
        Resolver {
            claims,
            job,
            policy,
            own_inputs,
            taken: HashSet::new(),
        }
    }

    /// Paths this job will write, comparable form (for the claims register).
    pub fn taken(&self) -> impl Iterator<Item = &PathBuf> {
        self.taken.iter()
    }

    /// Decides the output for `wanted` (the path the naming rule gives), whose source was last
    /// modified at `source_mtime`. Returns the final path (the wanted one unless renamed) and the
    /// action. Collisions inside the job always rename the later output, whatever the policy:
    /// two inputs never write one file.
    pub fn resolve(
        &mut self,
        wanted: &Path,
        source_mtime: Option<std::time::SystemTime>,
    ) -> (PathBuf, Action) {
        let wanted_cmp = comparable_path(wanted);
        // 1. Inside the job: the first in sorted order keeps the name.
        let (path, path_cmp, renamed) = if self.taken.contains(&wanted_cmp) {
            let (p, c) = self.free_name(wanted, |_, _| true);
            (p, c, true)
        } else {
            (wanted.to_path_buf(), wanted_cmp, false)
        };
        // 2. Against other jobs and the disk.
        let rename = Action::Rename {
            wanted: wanted.to_path_buf(),
        };
        let (path, path_cmp, action) = match self.against_disk(&path, &path_cmp, source_mtime) {
            Disk::Free if renamed => (path, path_cmp, rename),
            Disk::Free => (path, path_cmp, Action::Write),
            // A within-job rename that lands on an older file of ours replaces it ("update").
            Disk::Replace => (path, path_cmp, Action::Overwrite),
            Disk::Skip(reason) => (path, path_cmp, Action::Skip(reason)),
            Disk::RenameAway => {
                let (p, c) = self.free_name(&path, |me, c| me.on_disk_free(c));
                (p, c, rename)
            }
        };
        if !action.is_skip() {
            self.taken.insert(path_cmp);
        }
        (path, action)
    }

    /// Reserves `path` for one of this job's outputs without deciding anything (a resumed job's
    /// recorded outputs: a later rename never lands on one of them).
    pub fn reserve(&mut self, path: &Path) {
        self.taken.insert(comparable_path(path));
    }

    /// Decides again for a reserved output of a resumed job whose place holds a file the job did
    /// not put there: the conflict policy against that file, exactly as a fresh run treats an
    /// existing file (skip, update, replace, or a new name). The path keeps its reservation
    /// unless the output is skipped or renamed away.
    pub fn resolve_again(
        &mut self,
        path: &Path,
        source_mtime: Option<std::time::SystemTime>,
    ) -> (PathBuf, Action) {
        let path_cmp = comparable_path(path);
        match self.against_disk(path, &path_cmp, source_mtime) {
            Disk::Free => (path.to_path_buf(), Action::Write),
            Disk::Replace => (path.to_path_buf(), Action::Overwrite),
            Disk::Skip(reason) => {
                self.taken.remove(&path_cmp);
                (path.to_path_buf(), Action::Skip(reason))
            }
            Disk::RenameAway => {
                self.taken.remove(&path_cmp);
                let (p, c) = self.free_name(path, |me, c| me.on_disk_free(c));
                self.taken.insert(c);
                (
                    p,
                    Action::Rename {
                        wanted: path.to_path_buf(),
                    },
                )
            }
        }
    }

    fn protected(&self, path_cmp: &Path, meta: &fs::Metadata) -> Option<Option<JobId>> {
        if self.own_inputs.contains(&(meta.dev(), meta.ino())) {
            return Some(None);
        }
        self.claims.input_of(self.job, path_cmp, meta).map(Some)
    }

    fn against_disk(
        &self,
        path: &Path,
        path_cmp: &Path,
        source_mtime: Option<std::time::SystemTime>,
    ) -> Disk {
        let rename_or = |reason: SkipReason| {
            if self.policy == ConflictPolicy::Rename {
                Disk::RenameAway
            } else {
                Disk::Skip(reason)
            }
        };
        if let Some(other) = self.claims.claimed_by(self.job, path_cmp) {
            return rename_or(SkipReason::ClaimedByJob(other));
        }
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(_) => return Disk::Free,
        };
        if meta.is_dir() {
            return rename_or(SkipReason::FolderInTheWay);
        }
        // A symlink at the output's place is replaced as a name, never followed; what it points
        // to is still protected when it is an input.
        let target_meta = fs::metadata(path).unwrap_or(meta);
        if let Some(job) = self.protected(path_cmp, &target_meta) {
            return rename_or(SkipReason::WouldReplaceInput { job });
        }
        match self.policy {
            ConflictPolicy::Rename => Disk::RenameAway,
            ConflictPolicy::Skip => Disk::Skip(SkipReason::Exists),
            ConflictPolicy::Overwrite => Disk::Replace,
            ConflictPolicy::Update => {
                let existing = target_meta.modified().ok();
                match (existing, source_mtime) {
                    (Some(out), Some(src)) if out >= src => Disk::Skip(SkipReason::UpToDate),
                    _ => Disk::Replace,
                }
            }
        }
    }

    fn on_disk_free(&self, path_cmp: &Path) -> bool {
        self.claims.claimed_by(self.job, path_cmp).is_none()
            && fs::symlink_metadata(path_cmp).is_err()
    }

    /// The first `stem (N).ext` beside `path` that no output of this job took and `free` accepts.
    fn free_name(&self, path: &Path, free: impl Fn(&Self, &Path) -> bool) -> (PathBuf, PathBuf) {
        numbered_free_name(path, |cmp| !self.taken.contains(cmp) && free(self, cmp))
    }
}

/// The first `stem (N).ext` (N = 1, 2, ...) beside `path` whose comparable path `free`
/// accepts; returns it as spelled beside `path` and in comparable form.
pub(crate) fn numbered_free_name(path: &Path, free: impl Fn(&Path) -> bool) -> (PathBuf, PathBuf) {
    let dir = crate::engine::model::paths::parent_dir(path);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path.extension().map(|s| s.to_string_lossy().into_owned());
    let mut n: u64 = 1;
    loop {
        let name = match &ext {
            Some(ext) => format!("{stem} ({n}).{ext}"),
            None => format!("{stem} ({n})"),
        };
        let candidate = dir.join(name);
        let cmp = comparable_path(&candidate);
        if free(&cmp) {
            return (candidate, cmp);
        }
        n += 1;
    }
}

enum Disk {
    Free,
    Replace,
    RenameAway,
    Skip(SkipReason),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        fs::write(p, b"x").unwrap();
    }

    #[test]
    fn twins_resolve_the_same_way_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let claims = Claims::default();
        let own = HashSet::new();
        for policy in ConflictPolicy::ALL {
            let mut r = Resolver::new(&claims, JobId(1), policy, &own);
            let a = r.resolve(&dir.path().join("k.jpg"), None);
            let b = r.resolve(&dir.path().join("k.jpg"), None);
            assert_eq!(a, (dir.path().join("k.jpg"), Action::Write), "{policy:?}");
            assert_eq!(
                b,
                (
                    dir.path().join("k (1).jpg"),
                    Action::Rename {
                        wanted: dir.path().join("k.jpg")
                    }
                ),
                "{policy:?}"
            );
        }
    }

    #[test]
    fn inputs_are_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let photo = dir.path().join("a.jpg");
        touch(&photo);
        let m = fs::metadata(&photo).unwrap();
        let own: HashSet<(u64, u64)> = [(m.dev(), m.ino())].into();
        let claims = Claims::default();
        for policy in [
            ConflictPolicy::Overwrite,
            ConflictPolicy::Update,
            ConflictPolicy::Skip,
        ] {
            let mut r = Resolver::new(&claims, JobId(1), policy, &own);
            let (_, action) = r.resolve(&photo, None);
            assert_eq!(
                action,
                Action::Skip(SkipReason::WouldReplaceInput { job: None }),
                "{policy:?}"
            );
        }
        let mut r = Resolver::new(&claims, JobId(1), ConflictPolicy::Rename, &own);
        assert_eq!(r.resolve(&photo, None).0, dir.path().join("a (1).jpg"));
    }

    #[test]
    fn update_skips_newer_outputs_and_replaces_older_ones() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("t.jpg");
        touch(&out);
        let mtime = fs::metadata(&out).unwrap().modified().unwrap();
        let claims = Claims::default();
        let own = HashSet::new();
        let mut r = Resolver::new(&claims, JobId(1), ConflictPolicy::Update, &own);
        let older_source = mtime - std::time::Duration::from_secs(60);
        assert_eq!(
            r.resolve(&out, Some(older_source)).1,
            Action::Skip(SkipReason::UpToDate)
        );
        let mut r = Resolver::new(&claims, JobId(1), ConflictPolicy::Update, &own);
        let newer_source = mtime + std::time::Duration::from_secs(60);
        assert_eq!(r.resolve(&out, Some(newer_source)).1, Action::Overwrite);
    }
}
