//! What every part of the program knows of a job kind without knowing the kind: its
//! description ([`KindInfo`]: what it counts, what it can do, its names) and what the runtime
//! needs of its spec ([`SpecInfo`]).
//!
//! The runtime and both front ends read a kind's description instead of deciding these things
//! again (whether "stop after current" is offered, whether progress is in items or bytes, what
//! the card calls the job). Each kind declares its one [`KindInfo`] in its own folder.
//!
//! Must not touch: any particular kind (this module names none), the file system.

use std::path::PathBuf;

/// What a kind's progress counts: the unit of its progress bar, speed and ETA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counts {
    /// Items (images): "12 of 200 images".
    Items,
    /// Bytes of input: "1.2 GB of 3.4 GB".
    Bytes,
}

/// The shape of what a job of a kind makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputShape {
    /// One file (an archive): the plan names it, the card opens its folder.
    OneFile,
    /// A folder of files, one or more per input (thumbnails).
    FolderOfFiles,
}

/// The description of a job kind, one per kind, read by the runtime and both front ends.
#[derive(Debug)]
pub struct KindInfo {
    /// The kind's one name in machine text: the journal's and `--json`'s `kind`, the CLI's
    /// subcommand (`zip`, `thumbs`).
    pub id: &'static str,
    /// What the job makes, as a noun in a sentence ("archive", "thumbnails").
    pub noun: &'static str,
    /// One output of the plan, singular and plural ("entry"/"entries",
    /// "thumbnail"/"thumbnails").
    pub output_noun: (&'static str, &'static str),
    /// One item of progress, singular and plural ("entry"/"entries", "image"/"images").
    pub item_noun: (&'static str, &'static str),
    /// What the job does, as the window's tab and button say it ("Compress", "Thumbnails").
    pub verb: &'static str,
    /// The card's badge ("ZIP", "THUMBS").
    pub badge: &'static str,
    /// The unit of progress.
    pub counts: Counts,
    /// "Stop after current" makes sense: the outputs made so far stand on their own
    /// (thumbnails yes; a partial archive would mislead).
    pub can_stop_early: bool,
    /// "Retry failed" can redo only the failed items of a finished job.
    pub can_retry_failed: bool,
    /// What a job of this kind makes.
    pub output: OutputShape,
    /// The files the kind reads, for a file dialog's filter: its name and the extensions
    /// (`None`: any file, nothing to filter).
    pub input_filter: Option<(&'static str, &'static [&'static str])>,
}

/// A job's kind: a handle on its [`KindInfo`], compared by id.
#[derive(Clone, Copy)]
pub struct JobKind(&'static KindInfo);

impl JobKind {
    /// The kind described by `info`.
    pub const fn new(info: &'static KindInfo) -> JobKind {
        JobKind(info)
    }

    /// The kind's description.
    pub fn info(self) -> &'static KindInfo {
        self.0
    }

    /// The kind's machine name (`zip`, `thumbs`).
    pub fn id(self) -> &'static str {
        self.0.id
    }

    /// The window's word for the kind ("Compress", "Thumbnails").
    pub fn label(self) -> &'static str {
        self.0.verb
    }
}

impl std::ops::Deref for JobKind {
    type Target = KindInfo;
    fn deref(&self) -> &KindInfo {
        self.0
    }
}

impl PartialEq for JobKind {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}

impl Eq for JobKind {}

impl std::hash::Hash for JobKind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.id.hash(state);
    }
}

impl std::fmt::Debug for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.id)
    }
}

impl serde::Serialize for JobKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.id)
    }
}

/// What the runtime needs of a job's spec, whatever its kind: the lifecycle, the claims and
/// the journal work through this and never look inside a kind's spec.
pub trait SpecInfo: Send + Sync + 'static {
    /// The job's kind.
    fn kind(&self) -> JobKind;
    /// The inputs as the user gave them.
    fn inputs(&self) -> &[PathBuf];
    /// Outputs known before any scan (a zip job's archive path), claimed at submission.
    fn known_outputs(&self) -> Vec<PathBuf>;
    /// A short human name: the archive's file name or the output folder's name.
    fn display_name(&self) -> String;
    /// The spec with every path absolute and normalised, as JSON with its `kind` tag: equal for
    /// two specs that ask for the same work. The journal records this.
    fn record(&self) -> serde_json::Value;
}
