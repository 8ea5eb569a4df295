//! The plan: every output of a job, decided after the scan and before the first byte is
//! written, as the front ends see it and a dry run prints it.
//!
//! Owns: [`Plan`], its items and actions, skip reasons and warnings, and the conflict policy a
//! job chooses ([`ConflictPolicy`]). Deciding the plan is the runtime's resolver's.
//! Must not touch: the file system, writing anything, any front end.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::ser::SerializeMap;

use super::kind::JobKind;
use super::paths::path_json::PathJson;
use crate::engine::model::error::KindCause;
use crate::engine::model::id::JobId;

/// What will happen at one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A new file.
    Write,
    /// Replaces an existing file (the policy asked for it, and it is no job's input).
    Overwrite,
    /// The wanted name was taken; the output gets this plan item's `output` name instead.
    Rename {
        /// The name the output wanted.
        wanted: PathBuf,
    },
    /// No output.
    Skip(SkipReason),
}

impl Action {
    /// The action in one lower-case word (`write`, `overwrite`, `rename`, `skip`).
    pub fn label(&self) -> &'static str {
        match self {
            Action::Write => "write",
            Action::Overwrite => "overwrite",
            Action::Rename { .. } => "rename",
            Action::Skip(_) => "skip",
        }
    }

    /// Whether nothing is made here.
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
    WouldReplaceInput {
        /// The other job whose input it is (`None`: this job's own).
        job: Option<JobId>,
    },
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
    /// Left out by an exclude pattern (or a `.gitignore` file), as the user asked.
    Excluded {
        /// The pattern that left it out; for a `.gitignore` line, with the file it is in.
        pattern: String,
    },
    /// A kind's own reason (an archive entry whose name leaves the output folder...); an error
    /// or a deliberate skip as the kind says.
    Kind(KindCause),
}

impl SkipReason {
    /// Whether this skip is an error of the item (the job ends "done with errors").
    pub fn is_error(&self) -> bool {
        match self {
            SkipReason::InputGone => true,
            SkipReason::Kind(cause) => cause.is_error(),
            _ => false,
        }
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
                "not an image (content is not JPEG, PNG, WebP, GIF, BMP, TIFF, JPEG XL, HEIC or AVIF)"
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
            SkipReason::Excluded { pattern } => write!(f, "excluded by the pattern {pattern}"),
            SkipReason::Kind(cause) => cause.fmt(f),
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
    /// What happens at this output.
    pub action: Action,
    /// Size of the source, in bytes.
    pub input_bytes: u64,
}

impl Serialize for PlanItem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("input", &PathJson(&self.input))?;
        m.serialize_entry("output", &self.output.as_deref().map(PathJson))?;
        m.serialize_entry("action", self.action.label())?;
        match &self.action {
            Action::Rename { wanted } => m.serialize_entry("wanted", &PathJson(wanted))?,
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
    /// The file (the archive).
    pub path: PathBuf,
    /// What happens there.
    pub action: Action,
}

impl Serialize for PlannedFile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("path", &PathJson(&self.path))?;
        m.serialize_entry("action", self.action.label())?;
        if let Action::Rename { wanted } = &self.action {
            m.serialize_entry("wanted", &PathJson(wanted))?;
        }
        m.end()
    }
}

/// Something the user should know before starting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum PlanWarning {
    /// Thumbnails would land in the same folders as their originals.
    OutputBesideInputs {
        /// The folders, each once.
        #[serde(with = "crate::engine::model::paths::path_json::vec")]
        folders: Vec<PathBuf>,
    },
    /// The output folder is this input folder itself: the thumbnails go into a subfolder of it
    /// named after it (never taken as inputs, on this run or the next).
    OutputIsInputFolder {
        /// The input folder.
        #[serde(with = "crate::engine::model::paths::path_json")]
        folder: PathBuf,
    },
    /// The output folder (or the nearest folder of it that exists) does not take new files:
    /// starting would fail at the first write.
    DestinationNotWritable {
        /// The folder that refuses.
        #[serde(with = "crate::engine::model::paths::path_json")]
        folder: PathBuf,
        /// Why, in the user's terms ("permission denied", "the file system is read-only").
        reason: String,
    },
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
            PlanWarning::OutputIsInputFolder { folder } => {
                let name = folder
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                write!(
                    f,
                    "the output folder is the input folder {} itself: the thumbnails go into its \
                     subfolder {name}/ and are never taken as inputs; a \"thumbnails\" subfolder \
                     keeps them apart",
                    folder.display()
                )
            }
            PlanWarning::DestinationNotWritable { folder, reason } => {
                write!(f, "cannot write into {}: {reason}", folder.display())
            }
        }
    }
}

/// Counts over a plan's items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    /// Outputs that will be made (everything but skips).
    pub outputs: u64,
    /// New files.
    pub writes: u64,
    /// Files replaced.
    pub overwrites: u64,
    /// Outputs renamed because their name was taken.
    pub renames: u64,
    /// Items skipped.
    pub skips: u64,
    /// Bytes of the inputs that will be read.
    pub input_bytes: u64,
    /// Estimated bytes of the outputs (dry runs and previews only, from sample encodes).
    pub estimated_output_bytes: Option<u64>,
}

/// Every output of a job, decided before any is written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The job.
    pub job: JobId,
    /// Its kind.
    pub kind: JobKind,
    /// The archive's file name or the output folder's name.
    pub name: String,
    /// The archive (zip) or the output folder (thumbnails).
    #[serde(with = "crate::engine::model::paths::path_json")]
    pub destination: PathBuf,
    /// A zip job's archive and what happens to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<PlannedFile>,
    /// Every output, in plan order (sorted inputs).
    pub items: Vec<PlanItem>,
    /// What the user should know before starting.
    pub warnings: Vec<PlanWarning>,
    /// Counts over the items.
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

/// What to do when a thumbnail's name is already taken on disk. Whatever the policy, an
/// output never replaces an input of any queued or running job.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ConflictPolicy {
    /// Skip when the existing thumbnail is newer than its source, replace it otherwise: running
    /// a job again refreshes instead of piling up copies.
    #[default]
    Update,
    /// Pick a new unique name: `photo (1).jpg`.
    Rename,
    /// Replace the existing file.
    Overwrite,
    /// Keep the existing file and make nothing.
    Skip,
}

impl ConflictPolicy {
    /// The policy as the window names it.
    pub fn label(self) -> &'static str {
        match self {
            ConflictPolicy::Update => "Update",
            ConflictPolicy::Rename => "Rename",
            ConflictPolicy::Overwrite => "Overwrite",
            ConflictPolicy::Skip => "Skip",
        }
    }
    /// Every policy, in the order the window offers them.
    pub const ALL: [ConflictPolicy; 4] = [
        ConflictPolicy::Update,
        ConflictPolicy::Rename,
        ConflictPolicy::Overwrite,
        ConflictPolicy::Skip,
    ];
}
