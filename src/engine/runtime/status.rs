//! A job's shared status: the counters its workers bump, its state and the lists that end up in
//! its report.
//!
//! Owns: [`JobCore`] (atomics for the figures, one short mutex for the rest) and [`CancelFlag`].
//! Workers only touch atomics and that short mutex: nothing here ever blocks on a front end.
//! Must not touch: the reporter (it reads cores; cores know nothing of it), the file system,
//! job logic, any front end.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::engine::model::error::JobError;
use crate::engine::model::events::{
    Cause, Failure, ItemProblem, JobId, JobOutcome, JobReport, JobState, PauseReason, ProblemKind,
    Progress,
};
use crate::engine::model::kind::{Counts, JobKind};

/// A job's cancel flag, shared with every task and thread of the job.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// Asks every task and thread of the job to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// Whether the job was cancelled (or failed).
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Mutable part of a job's status, behind a short mutex.
#[derive(Debug)]
pub(crate) struct Status {
    pub state: JobState,
    pub name: String,
    pub current_item: Option<String>,
    pub started: Option<Instant>,
    pub finished_at: Option<Instant>,
    pub problems: Vec<ItemProblem>,
    pub warnings: Vec<ItemProblem>,
    pub outputs: Vec<PathBuf>,
    pub archive: Option<PathBuf>,
    pub output_bytes: u64,
    pub failure: Option<Failure>,
    pub outcome: Option<JobOutcome>,
    pub dry_run: bool,
    /// Set while paused.
    pub pause: Option<PauseReason>,
    pub paused_since: Option<Instant>,
    /// Time spent paused so far (left out of the elapsed time, the speed and the ETA).
    pub paused_total: Duration,
}

/// The part of a job shared between its tasks, its threads, the scheduler and the reporter.
#[derive(Debug)]
pub(crate) struct JobCore {
    pub id: JobId,
    pub kind: JobKind,
    pub cancel: CancelFlag,
    pub items_done: AtomicU64,
    pub items_total: AtomicU64,
    pub bytes_done: AtomicU64,
    pub bytes_total: AtomicU64,
    pub errors: AtomicU64,
    pub skipped: AtomicU64,
    /// Tasks of the job on pool workers now (kept by the lifecycle): `workers_busy`.
    pub busy: AtomicU64,
    /// Threads of the job's own running now (a zip job's writer): not pool workers, but work.
    pub threads: AtomicU64,
    status: Mutex<Status>,
}

impl JobCore {
    pub fn new(id: JobId, kind: JobKind, name: String, dry_run: bool) -> Self {
        JobCore {
            id,
            kind,
            cancel: CancelFlag::default(),
            items_done: AtomicU64::new(0),
            items_total: AtomicU64::new(0),
            bytes_done: AtomicU64::new(0),
            bytes_total: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            busy: AtomicU64::new(0),
            threads: AtomicU64::new(0),
            status: Mutex::new(Status {
                state: JobState::Queued,
                name,
                current_item: None,
                started: None,
                finished_at: None,
                problems: Vec::new(),
                warnings: Vec::new(),
                outputs: Vec::new(),
                archive: None,
                output_bytes: 0,
                failure: None,
                outcome: None,
                dry_run,
                pause: None,
                paused_since: None,
                paused_total: Duration::ZERO,
            }),
        }
    }

    pub fn status(&self) -> MutexGuard<'_, Status> {
        // A poisoned status only means a task panicked while holding it; the data is still sound.
        crate::engine::runtime::lock(&self.status)
    }

    pub fn state(&self) -> JobState {
        self.status().state
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Moves to a non-final state and stamps the start time. Returns false when the job has
    /// already ended.
    pub fn set_state(&self, state: JobState) -> bool {
        let mut st = self.status();
        if st.state.is_final() {
            return false;
        }
        st.state = state;
        if st.started.is_none() && state != JobState::Queued {
            st.started = Some(Instant::now());
        }
        true
    }

    /// Marks the job paused (the lifecycle stops handing out work). The first reason stays
    /// until resumed, except that a full disk is always shown.
    pub fn set_paused(&self, reason: PauseReason) {
        let mut st = self.status();
        if st.state.is_final() {
            return;
        }
        if st.pause.is_none() {
            st.paused_since = Some(Instant::now());
        }
        if st.pause.is_none() || matches!(reason, PauseReason::DiskFull { .. }) {
            st.pause = Some(reason);
        }
    }

    /// Clears the pause; the paused time is left out of the elapsed time from now on.
    pub fn clear_paused(&self) {
        let mut st = self.status();
        if let Some(since) = st.paused_since.take() {
            st.paused_total += since.elapsed();
        }
        st.pause = None;
    }

    pub fn is_paused(&self) -> bool {
        self.status().pause.is_some()
    }

    pub fn set_name(&self, name: String) {
        self.status().name = name;
    }

    pub fn set_current(&self, item: impl Into<String>) {
        self.status().current_item = Some(item.into());
    }

    pub fn add_bytes_done(&self, bytes: u64) {
        self.bytes_done.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_totals(&self, items: u64, bytes: u64) {
        self.items_total.fetch_add(items, Ordering::Relaxed);
        self.bytes_total.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Replaces the totals (the plan knows them exactly once made).
    pub fn set_totals(&self, items: u64, bytes: u64) {
        self.items_total.store(items, Ordering::Relaxed);
        self.bytes_total.store(bytes, Ordering::Relaxed);
    }

    /// Counts an item as done; `bytes_left` tops up bytes_done for the part of the item that was
    /// not read (a failed or skipped file) so that the bar ends at its total.
    pub fn item_done(&self, bytes_left: u64) {
        if bytes_left > 0 {
            self.bytes_done.fetch_add(bytes_left, Ordering::Relaxed);
        }
        self.items_done.fetch_add(1, Ordering::Relaxed);
    }

    pub fn problem(&self, path: impl Into<PathBuf>, kind: ProblemKind, cause: impl Into<Cause>) {
        match kind {
            ProblemKind::Error => self.errors.fetch_add(1, Ordering::Relaxed),
            ProblemKind::Skipped => self.skipped.fetch_add(1, Ordering::Relaxed),
        };
        self.status().problems.push(ItemProblem {
            path: path.into(),
            kind,
            cause: cause.into(),
        });
    }

    /// Keeps only the first `keep` problems (a rebuild from the start redoes the rest), with the
    /// error and skip counts to match.
    pub fn truncate_problems(&self, keep: usize) {
        let mut st = self.status();
        st.problems.truncate(keep);
        let errors = st
            .problems
            .iter()
            .filter(|p| p.kind == ProblemKind::Error)
            .count() as u64;
        self.errors.store(errors, Ordering::Relaxed);
        self.skipped
            .store(st.problems.len() as u64 - errors, Ordering::Relaxed);
    }

    /// Progress back to zero for a run that starts over (the totals stay).
    pub fn restart_counts(&self) {
        self.items_done.store(0, Ordering::Relaxed);
        self.bytes_done.store(0, Ordering::Relaxed);
    }

    /// A non-fatal note about the job or one of its items.
    pub fn warning(&self, path: impl Into<PathBuf>, note: impl Into<String>) {
        self.status().warnings.push(ItemProblem {
            path: path.into(),
            kind: ProblemKind::Skipped,
            cause: Cause::Note(note.into()),
        });
    }

    pub fn add_output(&self, path: PathBuf, bytes: u64) {
        let mut st = self.status();
        st.outputs.push(path);
        st.output_bytes += bytes;
    }

    /// Ends the job: the first call wins and returns the report to deliver; later calls return
    /// `None`.
    pub fn finish(&self, outcome: JobOutcome, failure: Option<JobError>) -> Option<JobReport> {
        {
            let mut st = self.status();
            if st.state.is_final() {
                return None;
            }
            st.state = match outcome {
                JobOutcome::Done => JobState::Done,
                JobOutcome::DoneWithErrors => JobState::DoneWithErrors,
                JobOutcome::Failed => JobState::Failed,
                JobOutcome::Cancelled => JobState::Cancelled,
                JobOutcome::Stopped => JobState::Stopped,
            };
            st.outcome = Some(outcome);
            st.failure = failure.map(|e| Failure(Arc::new(e)));
            st.current_item = None;
            if let Some(since) = st.paused_since.take() {
                st.paused_total += since.elapsed();
            }
            st.pause = None;
            st.finished_at = Some(Instant::now());
            if st.started.is_none() {
                st.started = st.finished_at;
            }
        }
        if matches!(outcome, JobOutcome::Done | JobOutcome::DoneWithErrors) {
            // Whatever was not counted (items the plan skipped) is complete now.
            let total = self.bytes_total.load(Ordering::Relaxed);
            self.bytes_done.fetch_max(total, Ordering::Relaxed);
            let items = self.items_total.load(Ordering::Relaxed);
            self.items_done.fetch_max(items, Ordering::Relaxed);
        }
        Some(self.report())
    }

    /// A snapshot, with the recent rates the reporter measured (bytes and items per second).
    pub fn progress(&self, bytes_per_sec: f64, items_per_sec: f64) -> Progress {
        let st = self.status();
        let now = Instant::now();
        let end = st.finished_at.or(st.paused_since).unwrap_or(now);
        let elapsed = st
            .started
            .map(|s| {
                end.saturating_duration_since(s)
                    .saturating_sub(st.paused_total)
            })
            .unwrap_or(Duration::ZERO);
        let bytes_done = self.bytes_done.load(Ordering::Relaxed);
        let bytes_total = self.bytes_total.load(Ordering::Relaxed).max(bytes_done);
        let items_done = self.items_done.load(Ordering::Relaxed);
        let items_total = self.items_total.load(Ordering::Relaxed).max(items_done);
        let busy = self.busy.load(Ordering::Relaxed);
        let working = busy + self.threads.load(Ordering::Relaxed);
        let paused = st.pause.clone().filter(|_| !st.state.is_final());
        let state = if paused.is_some() {
            JobState::Paused
        } else {
            st.state
        };
        // In what the kind counts: images (a photo's bytes say little about its decode time)
        // or bytes. No ETA while paused or while no worker runs the job.
        let (left, rate) = match self.kind.counts {
            Counts::Items => (items_total.saturating_sub(items_done), items_per_sec),
            Counts::Bytes => (bytes_total.saturating_sub(bytes_done), bytes_per_sec),
        };
        let eta = if state == JobState::Running && working > 0 && rate > 0.0 && left > 0 {
            Some(Duration::from_secs_f64(left as f64 / rate))
        } else {
            None
        };
        Progress {
            job: self.id,
            kind: self.kind,
            name: st.name.clone(),
            state,
            items_done,
            items_total,
            bytes_done,
            bytes_total,
            current_item: st.current_item.clone(),
            elapsed,
            bytes_per_sec,
            items_per_sec,
            eta,
            errors: self.errors.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            workers_busy: busy,
            paused,
        }
    }

    pub fn report(&self) -> JobReport {
        let progress = self.progress(0.0, 0.0);
        let secs = progress.elapsed.as_secs_f64();
        let per_sec = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let st = self.status();
        JobReport {
            progress: Progress {
                bytes_per_sec: per_sec(progress.bytes_done),
                items_per_sec: per_sec(progress.items_done),
                ..progress
            },
            outcome: st.outcome.unwrap_or(JobOutcome::Failed),
            dry_run: st.dry_run,
            failure: st.failure.clone(),
            problems: st.problems.clone(),
            warnings: st.warnings.clone(),
            outputs: st.outputs.clone(),
            archive: st.archive.clone(),
            output_bytes: st.output_bytes,
        }
    }
}
