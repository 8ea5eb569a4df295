//! The plan: every output of a job, decided after the scan and before the first byte is
//! written, and the rules that decide them.
//!
//! Owns: [`Plan`] (what the front ends see and what a dry run prints), and [`Resolver`], the one
//! place where an output's final name and action are chosen: collisions inside the job are
//! resolved first, in sorted input order, from the inputs alone (so the same inputs and settings
//! give the same outputs every run, for any worker count); then the conflict policy is applied
//! against the disk and the other live jobs. Whatever the policy, an output never replaces an
//! input of this or any queued or running job.
//! Must not touch: file contents, writing anything, any front end.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::ser::SerializeMap;

use super::claims::{Claims, comparable_path};
use super::events::JobId;
use super::spec::{ConflictPolicy, JobKind};

/// What will happen at one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A new file.
    Write,
    /// Replaces an existing file (the policy asked for it, and it is no job's input).
    Overwrite,
    /// The wanted name was taken; the output gets this plan item's `output` name instead.
    Rename { wanted: PathBuf },
    /// No output.
    Skip(SkipReason),
}

impl Action {
    pub fn label(&self) -> &'static str {
        match self {
            Action::Write => "write",
            Action::Overwrite => "overwrite",
            Action::Rename { .. } => "rename",
            Action::Skip(_) => "skip",
        }
    }

    pub fn is_skip(&self) -> bool {
        matches!(self, Action::Skip(_))
    }
}

/// Why a planned output is not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The file exists and the policy is "skip".
    Exists,
    /// Policy "update": the existing thumbnail is newer than its source.
    UpToDate,
    /// The existing file is an input of this job or of another queued or running job.
    WouldReplaceInput { job: Option<JobId> },
    /// Another queued or running job writes this file.
    ClaimedByJob(JobId),
    /// A folder has the output's name.
    FolderInTheWay,
    /// The content is not an image we read.
    NotAnImage,
    /// Two inputs give one entry name in the archive; the first in sorted order is kept.
    DuplicateName,
    /// A resumed job: the output was made before the interruption and is still there, unchanged.
    AlreadyDone,
    /// A resumed job: skipped by the original plan, for this reason.
    AsPlanned(String),
    /// A resumed job: the input is gone since the job started (an error, not a choice).
    InputGone,
}

impl SkipReason {
    /// Whether this skip is an error of the item (the job ends "done with errors").
    pub fn is_error(&self) -> bool {
        matches!(self, SkipReason::InputGone)
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::Exists => write!(f, "the output exists (policy: skip)"),
            SkipReason::UpToDate => {
                write!(f, "up to date (the thumbnail is newer than its source)")
            }
            SkipReason::WouldReplaceInput { job: None } => {
                write!(
                    f,
                    "the output would replace an input of this job; inputs are never replaced"
                )
            }
            SkipReason::WouldReplaceInput { job: Some(j) } => write!(
                f,
                "the output would replace an input of queued job {j}; inputs are never replaced"
            ),
            SkipReason::ClaimedByJob(j) => write!(f, "queued job {j} writes this output"),
            SkipReason::FolderInTheWay => write!(f, "a folder has the output's name"),
            SkipReason::NotAnImage => write!(
                f,
                "not an image (content is not JPEG, PNG, WebP, GIF, BMP or TIFF)"
            ),
            SkipReason::DuplicateName => {
                write!(
                    f,
                    "same name as another input in the archive (the first is kept)"
                )
            }
            SkipReason::AlreadyDone => write!(f, "made before the interruption"),
            SkipReason::AsPlanned(reason) => f.write_str(reason),
            SkipReason::InputGone => write!(f, "vanished since the job started"),
        }
    }
}

/// One output (or one input that gets none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanItem {
    /// The user's path of the source.
    pub input: PathBuf,
    /// The thumbnail's path, or the archive entry's name; `None` when nothing could be named
    /// (an input that is not an image).
    pub output: Option<PathBuf>,
    pub action: Action,
    /// Size of the source, in bytes.
    pub input_bytes: u64,
}

impl Serialize for PlanItem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("input", &self.input)?;
        m.serialize_entry("output", &self.output)?;
        m.serialize_entry("action", self.action.label())?;
        match &self.action {
            Action::Rename { wanted } => m.serialize_entry("wanted", wanted)?,
            Action::Skip(reason) => m.serialize_entry("reason", &reason.to_string())?,
            _ => m.serialize_entry("reason", &None::<String>)?,
        }
        m.serialize_entry("input_bytes", &self.input_bytes)?;
        m.end()
    }
}

/// The archive of a zip job: where it goes and what happens there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub path: PathBuf,
    pub action: Action,
}

impl Serialize for PlannedFile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("path", &self.path)?;
        m.serialize_entry("action", self.action.label())?;
        if let Action::Rename { wanted } = &self.action {
            m.serialize_entry("wanted", wanted)?;
        }
        m.end()
    }
}

/// Something the user should know before starting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum PlanWarning {
    /// Thumbnails would land in the same folders as their originals.
    OutputBesideInputs { folders: Vec<PathBuf> },
}

impl std::fmt::Display for PlanWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanWarning::OutputBesideInputs { folders } => {
                write!(
                    f,
                    "thumbnails would land in the same folder as their originals"
                )?;
                if let Some(first) = folders.first() {
                    write!(f, " ({}", first.display())?;
                    if folders.len() > 1 {
                        write!(f, " and {} more", folders.len() - 1)?;
                    }
                    write!(f, ")")?;
                }
                write!(f, "; a \"thumbnails\" subfolder keeps them apart")
            }
        }
    }
}

/// Counts over a plan's items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    /// Outputs that will be made (everything but skips).
    pub outputs: u64,
    pub writes: u64,
    pub overwrites: u64,
    pub renames: u64,
    pub skips: u64,
    /// Bytes of the inputs that will be read.
    pub input_bytes: u64,
    /// Estimated bytes of the outputs (dry runs and previews only, from sample encodes).
    pub estimated_output_bytes: Option<u64>,
}

/// Every output of a job, decided before any is written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub job: JobId,
    pub kind: JobKind,
    /// The archive's file name or the output folder's name.
    pub name: String,
    /// The archive (zip) or the output folder (thumbnails).
    pub destination: PathBuf,
    /// A zip job's archive and what happens to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<PlannedFile>,
    pub items: Vec<PlanItem>,
    pub warnings: Vec<PlanWarning>,
    pub summary: PlanSummary,
}

impl Plan {
    /// A plan with its summary computed from `items` (and the archive, for zip).
    pub fn new(
        job: JobId,
        kind: JobKind,
        name: String,
        destination: PathBuf,
        archive: Option<PlannedFile>,
        items: Vec<PlanItem>,
        warnings: Vec<PlanWarning>,
    ) -> Plan {
        let mut summary = PlanSummary::default();
        let mut sources_read: HashSet<&Path> = HashSet::new();
        for item in &items {
            match &item.action {
                Action::Write => summary.writes += 1,
                Action::Overwrite => summary.overwrites += 1,
                Action::Rename { .. } => summary.renames += 1,
                Action::Skip(_) => summary.skips += 1,
            }
            if !item.action.is_skip() {
                summary.outputs += 1;
                // Several outputs of one source read it once.
                if sources_read.insert(&item.input) {
                    summary.input_bytes += item.input_bytes;
                }
            }
        }
        Plan {
            job,
            kind,
            name,
            destination,
            archive,
            items,
            warnings,
            summary,
        }
    }

    /// The outputs that will be made, in plan order.
    pub fn outputs(&self) -> impl Iterator<Item = &Path> {
        self.items
            .iter()
            .filter(|i| !i.action.is_skip())
            .filter_map(|i| i.output.as_deref())
    }
}

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
    let dir = super::spec::parent_dir(path);
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
