//! Progress: the per-job counters the workers bump, the snapshots and events the front ends see,
//! and the reporter thread that turns one into the other at a bounded rate.
//!
//! Owns: `JobCore` (a job's shared counters, state and problems), `Progress` snapshots,
//! `JobEvent`s, the bounded event channel and the waker. Workers only touch atomics and short
//! mutexes here: nothing in this module ever blocks a worker on a slow front end.
//! Must not touch: the file system, job logic, any front end.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::spec::JobKind;

/// Identifies a job within one engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct JobId(pub u64);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Scanning,
    Running,
    Done,
    /// Finished, but some items were not processed (see the report's problems).
    DoneWithErrors,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::DoneWithErrors | JobState::Failed | JobState::Cancelled
        )
    }
    pub fn label(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Scanning => "scanning",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::DoneWithErrors => "done with errors",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
}

/// Whether a problem item was an error or just passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemKind {
    /// Something went wrong with this item.
    Error,
    /// Deliberately not processed (not an image, a FIFO, an existing output with "skip"...).
    Skipped,
}

/// One item that was not processed, with its path and the cause.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ItemProblem {
    pub path: PathBuf,
    pub kind: ProblemKind,
    pub cause: String,
}

impl std::fmt::Display for ItemProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.cause)
    }
}

/// A snapshot of one job's progress.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Progress {
    pub job: JobId,
    pub kind: JobKind,
    pub name: String,
    pub state: JobState,
    pub items_done: u64,
    pub items_total: u64,
    /// Bytes of input processed.
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub current_item: Option<String>,
    /// Time since the job started scanning (zero while queued).
    pub elapsed: Duration,
    /// Recent input throughput.
    pub bytes_per_sec: f64,
    pub eta: Option<Duration>,
    pub errors: u64,
    pub skipped: u64,
}

impl Progress {
    /// 0.0 to 1.0, by bytes when there are any, else by items.
    pub fn fraction(&self) -> f32 {
        if self.state == JobState::Done || self.state == JobState::DoneWithErrors {
            return 1.0;
        }
        let (done, total) = if self.bytes_total > 0 {
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

/// The final account of a job.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JobReport {
    pub progress: Progress,
    /// Why the whole job failed, when it did.
    pub failure: Option<String>,
    pub problems: Vec<ItemProblem>,
    /// Files written (the archive, or each thumbnail), complete and renamed into place.
    pub outputs: Vec<PathBuf>,
    pub output_bytes: u64,
}

impl JobReport {
    /// "done", "done with 2 errors", "done with 3 skipped", "failed: ...", "cancelled".
    pub fn summary(&self) -> String {
        let p = &self.progress;
        let plural = |n: u64, one: &str, many: &str| {
            if n == 1 {
                format!("1 {one}")
            } else {
                format!("{n} {many}")
            }
        };
        match p.state {
            JobState::Done if p.skipped > 0 => format!("done ({} skipped)", p.skipped),
            JobState::Done => "done".to_owned(),
            JobState::DoneWithErrors if p.errors > 0 => {
                let mut s = format!("done with {}", plural(p.errors, "error", "errors"));
                if p.skipped > 0 {
                    s.push_str(&format!(", {} skipped", p.skipped));
                }
                s
            }
            JobState::DoneWithErrors => format!("done with {} skipped", p.skipped),
            JobState::Failed => format!(
                "failed: {}",
                self.failure.as_deref().unwrap_or("unknown error")
            ),
            JobState::Cancelled => "cancelled".to_owned(),
            other => other.label().to_owned(),
        }
    }
}

/// What the front end receives.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JobEvent {
    /// Intermediate progress: may be coalesced or dropped when the front end is slow.
    Progress(Progress),
    /// The job's final event: never dropped.
    Finished(JobReport),
}

impl JobEvent {
    pub fn job(&self) -> JobId {
        match self {
            JobEvent::Progress(p) => p.job,
            JobEvent::Finished(r) => r.progress.job,
        }
    }
}

/// A job's cancel flag, shared with every task of the job.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Mutable part of a job's status, behind a short mutex.
#[derive(Debug)]
pub(crate) struct Status {
    pub state: JobState,
    pub current_item: Option<String>,
    pub started: Option<Instant>,
    pub finished_at: Option<Instant>,
    pub problems: Vec<ItemProblem>,
    pub outputs: Vec<PathBuf>,
    pub output_bytes: u64,
    pub failure: Option<String>,
}

/// The part of a job shared between its tasks, the scheduler and the reporter.
#[derive(Debug)]
pub(crate) struct JobCore {
    pub id: JobId,
    pub kind: JobKind,
    pub name: String,
    pub cancel: CancelFlag,
    pub items_done: AtomicU64,
    pub items_total: AtomicU64,
    pub bytes_done: AtomicU64,
    pub bytes_total: AtomicU64,
    pub errors: AtomicU64,
    pub skipped: AtomicU64,
    status: Mutex<Status>,
    hub: Weak<ProgressHub>,
}

impl JobCore {
    pub fn new(id: JobId, kind: JobKind, name: String, hub: &Arc<ProgressHub>) -> Self {
        JobCore {
            id,
            kind,
            name,
            cancel: CancelFlag::default(),
            items_done: AtomicU64::new(0),
            items_total: AtomicU64::new(0),
            bytes_done: AtomicU64::new(0),
            bytes_total: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            status: Mutex::new(Status {
                state: JobState::Queued,
                current_item: None,
                started: None,
                finished_at: None,
                problems: Vec::new(),
                outputs: Vec::new(),
                output_bytes: 0,
                failure: None,
            }),
            hub: Arc::downgrade(hub),
        }
    }

    pub fn status(&self) -> MutexGuard<'_, Status> {
        // A poisoned status only means a task panicked while holding it; the data is still sound.
        super::lock(&self.status)
    }

    pub fn state(&self) -> JobState {
        self.status().state
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Moves to a non-final state (scanning, running) and stamps the start time.
    pub fn set_state(&self, state: JobState) {
        let mut st = self.status();
        if st.state.is_final() {
            return;
        }
        st.state = state;
        if st.started.is_none() && state != JobState::Queued {
            st.started = Some(Instant::now());
        }
        drop(st);
        self.kick();
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

    /// Counts an item as done; `bytes_left` tops up bytes_done for the part of the item that was
    /// not read (a failed or skipped file) so that the bar ends at its total.
    pub fn item_done(&self, bytes_left: u64) {
        if bytes_left > 0 {
            self.bytes_done.fetch_add(bytes_left, Ordering::Relaxed);
        }
        self.items_done.fetch_add(1, Ordering::Relaxed);
    }

    pub fn problem(&self, path: impl Into<PathBuf>, kind: ProblemKind, cause: impl ToString) {
        match kind {
            ProblemKind::Error => self.errors.fetch_add(1, Ordering::Relaxed),
            ProblemKind::Skipped => self.skipped.fetch_add(1, Ordering::Relaxed),
        };
        self.status().problems.push(ItemProblem {
            path: path.into(),
            kind,
            cause: cause.to_string(),
        });
    }

    pub fn add_output(&self, path: PathBuf, bytes: u64) {
        let mut st = self.status();
        st.outputs.push(path);
        st.output_bytes += bytes;
    }

    /// Ends the job. The first call wins; the final event is queued for delivery at once.
    pub fn finish(&self, state: JobState, failure: Option<String>) {
        {
            let mut st = self.status();
            if st.state.is_final() {
                return;
            }
            st.state = state;
            st.failure = failure;
            st.current_item = None;
            st.finished_at = Some(Instant::now());
            if st.started.is_none() {
                st.started = st.finished_at;
            }
        }
        if matches!(state, JobState::Done | JobState::DoneWithErrors) {
            // Whatever was not counted (items the job decided not to process) is complete now.
            let total = self.bytes_total.load(Ordering::Relaxed);
            self.bytes_done.fetch_max(total, Ordering::Relaxed);
            let items = self.items_total.load(Ordering::Relaxed);
            self.items_done.fetch_max(items, Ordering::Relaxed);
        }
        if let Some(hub) = self.hub.upgrade() {
            hub.push_final(self.report());
        }
    }

    pub fn progress(&self, bytes_per_sec: f64) -> Progress {
        let st = self.status();
        let now = Instant::now();
        let elapsed = match (st.started, st.finished_at) {
            (Some(s), Some(f)) => f.duration_since(s),
            (Some(s), None) => now.duration_since(s),
            _ => Duration::ZERO,
        };
        let bytes_done = self.bytes_done.load(Ordering::Relaxed);
        let bytes_total = self.bytes_total.load(Ordering::Relaxed).max(bytes_done);
        let items_done = self.items_done.load(Ordering::Relaxed);
        let items_total = self.items_total.load(Ordering::Relaxed).max(items_done);
        let eta =
            if st.state == JobState::Running && bytes_per_sec > 1.0 && bytes_total > bytes_done {
                Some(Duration::from_secs_f64(
                    (bytes_total - bytes_done) as f64 / bytes_per_sec,
                ))
            } else {
                None
            };
        Progress {
            job: self.id,
            kind: self.kind,
            name: self.name.clone(),
            state: st.state,
            items_done,
            items_total,
            bytes_done,
            bytes_total,
            current_item: st.current_item.clone(),
            elapsed,
            bytes_per_sec,
            eta,
            errors: self.errors.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
        }
    }

    pub fn report(&self) -> JobReport {
        let progress = self.progress(0.0);
        let bytes_per_sec = if progress.elapsed.as_secs_f64() > 0.0 {
            progress.bytes_done as f64 / progress.elapsed.as_secs_f64()
        } else {
            0.0
        };
        let st = self.status();
        JobReport {
            progress: Progress {
                bytes_per_sec,
                ..progress
            },
            failure: st.failure.clone(),
            problems: st.problems.clone(),
            outputs: st.outputs.clone(),
            output_bytes: st.output_bytes,
        }
    }

    fn kick(&self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.kick();
        }
    }
}

/// A front end's "wake up, there is news" callback (the window passes `request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// How often at most the reporter sends progress and calls the waker.
pub const REPORT_INTERVAL: Duration = Duration::from_millis(33);
/// Capacity of the bounded event channel.
pub const EVENT_CHANNEL_CAPACITY: usize = 256;

/// Collects what the reporter must deliver: jobs to watch and final reports not yet sent.
pub(crate) struct ProgressHub {
    inner: Mutex<HubState>,
    wake: std::sync::Condvar,
    waker: Mutex<Option<Waker>>,
}

struct HubState {
    watched: Vec<Arc<JobCore>>,
    finals: VecDeque<JobReport>,
    kicked: bool,
    shutdown: bool,
}

impl ProgressHub {
    pub fn new() -> Arc<Self> {
        Arc::new(ProgressHub {
            inner: Mutex::new(HubState {
                watched: Vec::new(),
                finals: VecDeque::new(),
                kicked: false,
                shutdown: false,
            }),
            wake: std::sync::Condvar::new(),
            waker: Mutex::new(None),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        super::lock(&self.inner)
    }

    pub fn watch(&self, core: Arc<JobCore>) {
        self.lock().watched.push(core);
        self.kick();
    }

    pub fn set_waker(&self, waker: Option<Waker>) {
        *super::lock(&self.waker) = waker;
    }

    pub fn kick(&self) {
        self.lock().kicked = true;
        self.wake.notify_all();
    }

    fn push_final(&self, report: JobReport) {
        let mut st = self.lock();
        st.finals.push_back(report);
        st.kicked = true;
        drop(st);
        self.wake.notify_all();
    }

    pub fn shutdown(&self) {
        self.lock().shutdown = true;
        self.wake.notify_all();
    }

    fn call_waker(&self) {
        let waker = super::lock(&self.waker).clone();
        if let Some(w) = waker {
            w();
        }
    }

    /// The reporter thread's loop: at most every `REPORT_INTERVAL`, sends final reports first
    /// (kept until the channel has room: never dropped), then fresh progress of each running job
    /// (dropped when the channel is full: the next tick carries newer figures anyway).
    /// Sleeps without a timeout when there is nothing to watch.
    pub fn run(self: Arc<Self>, events: flume::Sender<JobEvent>) {
        let mut last_sent: HashMap<JobId, Progress> = HashMap::new();
        let mut rates: HashMap<JobId, RateMeter> = HashMap::new();
        loop {
            let started = Instant::now();
            let (watched, mut finals) = {
                let mut st = self.lock();
                while !st.kicked && !st.shutdown && st.watched.is_empty() && st.finals.is_empty() {
                    st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
                }
                if st.shutdown && st.finals.is_empty() {
                    return;
                }
                st.kicked = false;
                st.watched.retain(|c| !c.state().is_final());
                (st.watched.clone(), std::mem::take(&mut st.finals))
            };
            let mut sent_any = false;
            while let Some(report) = finals.pop_front() {
                let id = report.progress.job;
                match events.try_send(JobEvent::Finished(report)) {
                    Ok(()) => {
                        sent_any = true;
                        last_sent.remove(&id);
                        rates.remove(&id);
                    }
                    Err(flume::TrySendError::Full(JobEvent::Finished(report))) => {
                        finals.push_front(report);
                        break;
                    }
                    // Nobody listens any more (the engine is being dropped): nothing to deliver.
                    Err(_) => {
                        finals.clear();
                        break;
                    }
                }
            }
            let finals_pending = !finals.is_empty();
            if finals_pending {
                let mut st = self.lock();
                for r in finals.into_iter().rev() {
                    st.finals.push_front(r);
                }
            } else {
                for core in &watched {
                    let rate = rates.entry(core.id).or_default();
                    let bytes_per_sec = rate.update(core.bytes_done.load(Ordering::Relaxed));
                    let progress = core.progress(bytes_per_sec);
                    if progress.state.is_final() {
                        continue;
                    }
                    let changed = last_sent
                        .get(&core.id)
                        .is_none_or(|old| !same_figures(old, &progress));
                    if changed
                        && events
                            .try_send(JobEvent::Progress(progress.clone()))
                            .is_ok()
                    {
                        sent_any = true;
                        last_sent.insert(core.id, progress);
                    }
                }
            }
            if sent_any {
                self.call_waker();
            }
            // Bounded rate: never more than one round (and one wake-up) per interval.
            let spent = started.elapsed();
            if spent < REPORT_INTERVAL {
                std::thread::sleep(REPORT_INTERVAL - spent);
            }
        }
    }
}

fn same_figures(a: &Progress, b: &Progress) -> bool {
    a.state == b.state
        && a.items_done == b.items_done
        && a.items_total == b.items_total
        && a.bytes_done == b.bytes_done
        && a.bytes_total == b.bytes_total
        && a.current_item == b.current_item
        && a.errors == b.errors
        && a.skipped == b.skipped
}

/// Throughput over a sliding window of about two seconds.
#[derive(Default)]
struct RateMeter {
    samples: VecDeque<(Instant, u64)>,
}

impl RateMeter {
    const WINDOW: Duration = Duration::from_secs(2);

    fn update(&mut self, bytes_done: u64) -> f64 {
        let now = Instant::now();
        self.samples.push_back((now, bytes_done));
        while self.samples.len() > 2
            && self
                .samples
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > Self::WINDOW)
        {
            self.samples.pop_front();
        }
        match (self.samples.front(), self.samples.back()) {
            (Some((t0, b0)), Some((t1, b1))) if t1 > t0 => {
                b1.saturating_sub(*b0) as f64 / t1.duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}
