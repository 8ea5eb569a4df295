//! What the front ends receive: job ids and states, progress snapshots, final reports, the plan
//! event, the one typed outcome of a job, the exit status derived from it, and the `--json`
//! wire form of all of these.
//!
//! Owns: the public event types and their serialization (the JSON schema, versioned by
//! [`JSON_SCHEMA_VERSION`]), [`JobOutcome`] and [`exit_status`] (and
//! [`exit_status_with_refused`]), which both front ends use so a script gets the same exit
//! status from the window (`--quit-when-done`) as from the CLI.
//! Must not touch: job logic, threads, the file system, any front end.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::engine::model::error::{ItemError, JobError};
use crate::engine::model::kind::{Counts, JobKind};
use crate::engine::model::plan::{Plan, SkipReason};

/// Version of the `--json` event schema. 2: durations are seconds as numbers (`elapsed_s`,
/// `eta_s`), every event carries `schema`, the plan event exists.
pub const JSON_SCHEMA_VERSION: u32 = 2;

pub use super::id::JobId;

/// Where a job is in its life: queued, then the lifecycle's steps (scan, plan, run), then one
/// of the final states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker (or for the jobs queued before it).
    Queued,
    /// Walking the inputs.
    Scanning,
    /// Deciding every output (the plan).
    Planning,
    /// Making the outputs.
    Running,
    /// Paused by the user or by a full disk: running tasks park, nothing new starts.
    Paused,
    /// Finished, every item made.
    Done,
    /// Finished, but some items failed (see the report's problems).
    DoneWithErrors,
    /// Ended without its outputs (the report says why).
    Failed,
    /// Cancelled: what it was writing was removed.
    Cancelled,
    /// "Stop after current": the items in progress finished, nothing new started.
    Stopped,
}

impl JobState {
    /// Whether the job has ended (done, with errors, failed, cancelled, stopped).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Done
                | JobState::DoneWithErrors
                | JobState::Failed
                | JobState::Cancelled
                | JobState::Stopped
        )
    }

    /// The state in one lower-case word.
    pub fn label(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Scanning => "scanning",
            JobState::Planning => "planning",
            JobState::Running => "running",
            JobState::Paused => "paused",
            JobState::Done => "done",
            JobState::DoneWithErrors => "done with errors",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Stopped => "stopped",
        }
    }
}

/// Why a job is paused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum PauseReason {
    /// The user paused it (or the whole queue).
    User,
    /// Writing into `folder` failed because its disk is full (`free_bytes` left then): the job
    /// waits for room and goes on by itself once there is some (a Resume goes on at once).
    DiskFull {
        #[serde(with = "crate::engine::model::paths::path_json")]
        folder: PathBuf,
        free_bytes: u64,
    },
}

impl std::fmt::Display for PauseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PauseReason::User => f.write_str("paused"),
            PauseReason::DiskFull { folder, .. } => write!(
                f,
                "paused: the disk is full ({}); it goes on by itself once there is room",
                folder.display()
            ),
        }
    }
}

/// What a job does when its disk is full (a front end's choice, for every job it submits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDiskFull {
    /// Pause, say so, and go on by itself once there is room (watched on a timer).
    #[default]
    Wait,
    /// Fail at once: nothing partial is left (a command line that must never wait).
    Fail,
}

/// Whether a problem item was an error or deliberately passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemKind {
    /// Something went wrong with this item: the job ends "done with errors" (exit status 1).
    Error,
    /// Deliberately not processed (not an image, a FIFO, a symlink loop...): listed, but the job
    /// is still "done".
    Skipped,
}

/// Why an item was not processed (or a warning about it): a typed error or a plan decision.
/// Shown (and serialized) as its message in the user's terms.
#[derive(Debug, Clone)]
pub enum Cause {
    /// A per-item error met while running.
    Item(Arc<ItemError>),
    /// An item the plan skipped, and why.
    Plan(SkipReason),
    /// A non-fatal note (a decoder warning).
    Note(String),
}

impl Cause {
    /// The item error behind this cause, if it is one.
    pub fn item_error(&self) -> Option<&ItemError> {
        match self {
            Cause::Item(e) => Some(e),
            _ => None,
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Item(e) => e.fmt(f),
            Cause::Plan(r) => r.fmt(f),
            Cause::Note(n) => f.write_str(n),
        }
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Cause) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Serialize for Cause {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl From<ItemError> for Cause {
    fn from(e: ItemError) -> Cause {
        Cause::Item(Arc::new(e))
    }
}

impl From<SkipReason> for Cause {
    fn from(r: SkipReason) -> Cause {
        Cause::Plan(r)
    }
}

/// Why a whole job failed: the typed error, shown (and serialized) as its message.
#[derive(Debug, Clone)]
pub struct Failure(pub Arc<JobError>);

impl Failure {
    /// The job error behind the failure.
    pub fn error(&self) -> &JobError {
        &self.0
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for Failure {
    fn eq(&self, other: &Failure) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Serialize for Failure {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One item that was not processed, with the user's path and the cause in the user's terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemProblem {
    /// The user's path of the item.
    #[serde(with = "crate::engine::model::paths::path_json")]
    pub path: PathBuf,
    /// An error or a deliberate skip.
    pub kind: ProblemKind,
    /// Why.
    pub cause: Cause,
}

impl std::fmt::Display for ItemProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.cause)
    }
}

/// A snapshot of one job's progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// The job.
    pub job: JobId,
    /// Its kind.
    pub kind: JobKind,
    /// The archive's file name or the output folder's name (known exactly once planned).
    pub name: String,
    /// Where it is in its life.
    pub state: JobState,
    /// Items processed (images, archive entries).
    pub items_done: u64,
    /// Items to process, once the plan is made.
    pub items_total: u64,
    /// Bytes of input processed.
    pub bytes_done: u64,
    /// Input bytes to read, once the plan is made.
    pub bytes_total: u64,
    /// What a worker is on now (a name for the window).
    pub current_item: Option<String>,
    /// Time since the job started scanning (zero while queued).
    #[serde(rename = "elapsed_s", serialize_with = "secs")]
    pub elapsed: Duration,
    /// Recent input throughput.
    pub bytes_per_sec: f64,
    /// Recent images (thumbnails) or entries (zip) per second.
    pub items_per_sec: f64,
    /// Time left at the recent rate; `None` when unknown, paused, or no worker runs the job.
    #[serde(rename = "eta_s", serialize_with = "opt_secs")]
    pub eta: Option<Duration>,
    /// Items that failed.
    pub errors: u64,
    /// Items skipped.
    pub skipped: u64,
    /// Tasks and threads of this job running right now (0: waiting for a worker).
    pub workers_busy: u64,
    /// Why the job is paused, while it is.
    pub paused: Option<PauseReason>,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

impl Progress {
    /// A job that has not started: every figure zero.
    pub fn queued(job: JobId, kind: JobKind, name: String) -> Progress {
        Progress {
            job,
            kind,
            name,
            state: JobState::Queued,
            items_done: 0,
            items_total: 0,
            bytes_done: 0,
            bytes_total: 0,
            current_item: None,
            elapsed: Duration::ZERO,
            bytes_per_sec: 0.0,
            items_per_sec: 0.0,
            eta: None,
            errors: 0,
            skipped: 0,
            workers_busy: 0,
            paused: None,
        }
    }

    /// 0.0 to 1.0, in what the kind counts: items (a big photo is not slower to thumbnail in
    /// proportion to its bytes), or bytes when there are any, else items.
    pub fn fraction(&self) -> f32 {
        if self.state == JobState::Done || self.state == JobState::DoneWithErrors {
            return 1.0;
        }
        let (done, total) = if self.bytes_total > 0 && self.kind.counts == Counts::Bytes {
            (self.bytes_done, self.bytes_total)
        } else {
            (self.items_done, self.items_total)
        };
        if total == 0 {
            0.0
        } else {
            (done as f64 / total as f64).clamp(0.0, 1.0) as f32
        }
    }
}

/// How a job ended: the one typed outcome both front ends derive their status from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    /// Everything planned was done (skipped items are listed but are not errors).
    Done,
    /// Finished, but some items failed.
    DoneWithErrors,
    /// The job could not run or could not complete its output.
    Failed,
    /// Cancelled by the user; no partial file was left.
    Cancelled,
    /// Stopped after the items in progress ("stop after current"); finished outputs are kept.
    Stopped,
}

impl JobOutcome {
    /// The process exit status for this outcome alone: 0, 1, 2 or 130.
    pub fn exit_status(self) -> u8 {
        match self {
            JobOutcome::Done => 0,
            JobOutcome::DoneWithErrors => 1,
            JobOutcome::Failed => 2,
            JobOutcome::Cancelled | JobOutcome::Stopped => 130,
        }
    }

    /// Severity for combining several jobs: failed > cancelled > errors > done.
    fn rank(self) -> u8 {
        match self {
            JobOutcome::Done => 0,
            JobOutcome::DoneWithErrors => 1,
            JobOutcome::Cancelled | JobOutcome::Stopped => 2,
            JobOutcome::Failed => 3,
        }
    }

    /// The outcome a final state stands for (`None` for a state that is not final).
    pub fn from_state(state: JobState) -> Option<JobOutcome> {
        match state {
            JobState::Done => Some(JobOutcome::Done),
            JobState::DoneWithErrors => Some(JobOutcome::DoneWithErrors),
            JobState::Failed => Some(JobOutcome::Failed),
            JobState::Cancelled => Some(JobOutcome::Cancelled),
            JobState::Stopped => Some(JobOutcome::Stopped),
            _ => None,
        }
    }
}

/// The exit status of a run of several jobs, the same for the CLI and the window: 130 when the
/// user interrupted the run (Ctrl-C), else the most severe outcome's (a failed job 2, a
/// cancelled or stopped one 130, per-file errors 1, all done 0). No outcome at all (nothing could be
/// queued) is a failure: 2.
pub fn exit_status(outcomes: impl IntoIterator<Item = JobOutcome>, interrupted: bool) -> u8 {
    if interrupted {
        return JobOutcome::Cancelled.exit_status();
    }
    outcomes
        .into_iter()
        .max_by_key(|o| o.rank())
        .map_or(2, JobOutcome::exit_status)
}

/// [`exit_status`] of a run in which `refused` more jobs could not be queued (the engine refused
/// them at submission: an invalid spec, the same job already queued): each counts as a failed
/// job.
pub fn exit_status_with_refused(
    outcomes: impl IntoIterator<Item = JobOutcome>,
    refused: usize,
    interrupted: bool,
) -> u8 {
    exit_status(
        outcomes
            .into_iter()
            .chain(std::iter::repeat_n(JobOutcome::Failed, refused)),
        interrupted,
    )
}

/// The final account of a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobReport {
    /// The last figures.
    pub progress: Progress,
    /// How it ended.
    pub outcome: JobOutcome,
    /// A dry run: the plan was made and nothing was written.
    pub dry_run: bool,
    /// Why the whole job failed, when it did (or, for a cancelled job that never started, why
    /// not: the job it takes its inputs from was cancelled).
    pub failure: Option<Failure>,
    /// Per-item errors and skips, in the order met.
    pub problems: Vec<ItemProblem>,
    /// Non-fatal notes (e.g. a JPEG decoded without its end marker).
    pub warnings: Vec<ItemProblem>,
    /// What was made, in plan order, as the plan names it: the thumbnails' paths, or the archive's
    /// entry names. Equal to the plan's non-skipped outputs when nothing failed.
    #[serde(with = "crate::engine::model::paths::path_json::vec")]
    pub outputs: Vec<PathBuf>,
    /// The archive of a zip job, once renamed into place.
    #[serde(with = "crate::engine::model::paths::path_json::option")]
    pub archive: Option<PathBuf>,
    /// Bytes written to outputs (the archive, or all thumbnails).
    pub output_bytes: u64,
}

impl JobReport {
    /// "done", "done with 2 errors", "done (3 skipped)", "failed: ...", "cancelled", "planned".
    pub fn summary(&self) -> String {
        let p = &self.progress;
        let plural = |n: u64, one: &str, many: &str| {
            if n == 1 {
                format!("1 {one}")
            } else {
                format!("{n} {many}")
            }
        };
        let skipped = if p.skipped > 0 {
            format!(", {} skipped", p.skipped)
        } else {
            String::new()
        };
        match self.outcome {
            JobOutcome::Failed => match &self.failure {
                Some(f) => format!("failed: {f}"),
                None => "failed: unknown error".to_owned(),
            },
            // A chained job that never started because its first job was cancelled says so.
            JobOutcome::Cancelled => match &self.failure {
                Some(f) => format!("cancelled: {f}"),
                None => "cancelled".to_owned(),
            },
            JobOutcome::Stopped => format!("stopped: {} of {}", p.items_done, p.items_total),
            _ if self.dry_run => "planned (nothing written)".to_owned(),
            JobOutcome::DoneWithErrors => {
                format!("done with {}{skipped}", plural(p.errors, "error", "errors"))
            }
            JobOutcome::Done if p.skipped > 0 => format!("done ({} skipped)", p.skipped),
            JobOutcome::Done => "done".to_owned(),
        }
    }
}

/// What the front end receives.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JobEvent {
    /// Intermediate progress: may be coalesced or dropped when the front end is slow.
    Progress(Progress),
    /// Every output of the job, decided before the first byte is written (never dropped).
    Plan(Arc<Plan>),
    /// The job's final event (never dropped).
    Finished(JobReport),
}

impl JobEvent {
    /// The job the event is about.
    pub fn job(&self) -> JobId {
        match self {
            JobEvent::Progress(p) => p.job,
            JobEvent::Plan(plan) => plan.job,
            JobEvent::Finished(r) => r.progress.job,
        }
    }

    /// The event as one line of the `--json` stream: the event's fields plus `"schema"`.
    pub fn to_json_line(&self) -> Result<String, serde_json::Error> {
        #[derive(Serialize)]
        struct Line<'a> {
            schema: u32,
            #[serde(flatten)]
            event: &'a JobEvent,
        }
        serde_json::to_string(&Line {
            schema: JSON_SCHEMA_VERSION,
            event: self,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_ranks_the_same_everywhere() {
        use JobOutcome::*;
        assert_eq!(exit_status([Done, Done], false), 0);
        assert_eq!(exit_status([Done, DoneWithErrors], false), 1);
        assert_eq!(exit_status([Cancelled, DoneWithErrors], false), 130);
        assert_eq!(exit_status([Cancelled, Failed, Done], false), 2);
        assert_eq!(exit_status([Failed], true), 130);
        assert_eq!(exit_status([], false), 2);
        // A job refused at submission is a failed one, whatever else finished.
        assert_eq!(
            exit_status_with_refused([Done, DoneWithErrors], 1, false),
            2
        );
        assert_eq!(exit_status_with_refused([Done], 0, false), 0);
        assert_eq!(exit_status_with_refused([], 2, false), 2);
        assert_eq!(exit_status_with_refused([Done], 1, true), 130);
    }

    #[test]
    fn json_lines_carry_the_schema_and_seconds() {
        let mut p = Progress::queued(
            JobId(3),
            crate::engine::kinds::zip::KIND,
            "a.zip".to_owned(),
        );
        p.elapsed = Duration::from_millis(1500);
        p.eta = Some(Duration::from_secs(2));
        let line = JobEvent::Progress(p).to_json_line().unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["event"], "progress");
        assert_eq!(v["schema"], JSON_SCHEMA_VERSION);
        assert_eq!(v["job"], 3);
        assert_eq!(v["elapsed_s"], 1.5);
        assert_eq!(v["eta_s"], 2.0);
    }
}
