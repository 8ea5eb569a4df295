//! The engine: jobs, the scheduler and worker pool, progress, cancellation, and the zip and
//! thumbnail work. Any front end drives it through [`Engine`]; it knows none of them.
//!
//! A *job* is one user request ("compress these inputs into this archive", "make thumbnails of
//! these inputs into this folder"). It is split into *tasks* (scan the inputs; one per file or
//! image) that run on one shared pool of worker threads. Jobs start in the order they were
//! submitted; a worker always takes work from the oldest job that has some, so one big job keeps
//! every core busy and later jobs fill in what it leaves idle.
//!
//! Progress reaches the front end as [`JobEvent`]s on a bounded channel, at most about 30 times
//! a second, together with a call of the registered waker. Workers never wait on it: progress is
//! coalesced (and dropped when the front end is slow), but each job's final event is kept until
//! it can be delivered.
//!
//! Must not touch: egui or any other front-end crate; the UI thread (nothing here is called from
//! a frame except the non-blocking methods of [`Engine`]).

pub mod color;
pub mod decode;
pub mod encode;
mod error;
pub mod metadata;
mod output;
mod progress;
pub mod render;
mod scan;
mod scheduler;
mod spec;
mod thumb_job;
pub mod thumbnail;
mod zip_job;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use error::{ItemError, JobError};
pub use progress::{
    EVENT_CHANNEL_CAPACITY, ItemProblem, JobEvent, JobId, JobReport, JobState, ProblemKind,
    Progress, REPORT_INTERVAL, Waker,
};
pub use spec::{
    ConflictPolicy, DEFAULT_JPEG_QUALITY, DEFAULT_THUMB_SIDE_PX, DEFAULT_ZIP_LEVEL, JobKind,
    JobSpec, ThumbFormat, ThumbSpec, ZipSpec, folder_display_name,
};

use progress::{JobCore, ProgressHub};
use scheduler::{JobDriver, Scheduler};

/// Locks a mutex, carrying on after a panic elsewhere poisoned it: every engine mutex guards data
/// that stays consistent between statements, so the poison carries no information here.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The number of workers to use when none is chosen: one per core.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// A worker pool with its job queue and progress reporter. Several engines can live side by
/// side; dropping one cancels its jobs, waits for them to clean up, and stops its threads.
pub struct Engine {
    sched: Arc<Scheduler>,
    hub: Arc<ProgressHub>,
    jobs: Mutex<HashMap<JobId, Arc<dyn JobDriver>>>,
    events: flume::Receiver<JobEvent>,
    next_id: AtomicU64,
    reporter: Option<JoinHandle<()>>,
}

impl Engine {
    /// An engine with `workers` worker threads (at least one).
    pub fn new(workers: usize) -> Engine {
        let sched = Scheduler::new(workers);
        let hub = ProgressHub::new();
        let (tx, rx) = flume::bounded(EVENT_CHANNEL_CAPACITY);
        let reporter_hub = Arc::clone(&hub);
        let reporter = std::thread::Builder::new()
            .name("shrinkwrap-progress".to_owned())
            .spawn(move || reporter_hub.run(tx))
            .ok();
        Engine {
            sched,
            hub,
            jobs: Mutex::new(HashMap::new()),
            events: rx,
            next_id: AtomicU64::new(1),
            reporter,
        }
    }

    fn jobs(&self) -> MutexGuard<'_, HashMap<JobId, Arc<dyn JobDriver>>> {
        lock(&self.jobs)
    }

    /// Queues a job and returns its id at once.
    pub fn submit(&self, spec: JobSpec) -> JobId {
        let id = JobId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let core = Arc::new(JobCore::new(
            id,
            spec.kind(),
            spec.display_name(),
            &self.hub,
        ));
        let driver: Arc<dyn JobDriver> = match spec {
            JobSpec::Zip(z) => zip_job::ZipJob::new(Arc::clone(&core), z, &self.sched),
            JobSpec::Thumbs(t) => thumb_job::ThumbJob::new(Arc::clone(&core), t, &self.sched),
        };
        {
            let mut jobs = self.jobs();
            jobs.retain(|_, j| !j.core().state().is_final());
            jobs.insert(id, Arc::clone(&driver));
        }
        self.hub.watch(core);
        self.sched.submit(driver);
        id
    }

    /// Cancels one job: a queued job leaves the queue at once; a running one stops starting
    /// tasks, its running tasks stop within a chunk of input, and its partial outputs are
    /// removed before its final `cancelled` event. Never blocks.
    pub fn cancel(&self, id: JobId) {
        let job = self.jobs().get(&id).cloned();
        if let Some(job) = job {
            job.cancel();
        }
    }

    /// Cancels every job. Never blocks.
    pub fn cancel_all(&self) {
        let jobs: Vec<_> = self.jobs().values().cloned().collect();
        for job in jobs {
            job.cancel();
        }
    }

    /// The event stream: progress (coalesced) and each job's final report (never dropped).
    pub fn events(&self) -> &flume::Receiver<JobEvent> {
        &self.events
    }

    /// Registers the "there is news" callback, called at most about 30 times a second.
    pub fn set_waker(&self, waker: Waker) {
        self.hub.set_waker(Some(waker));
    }

    /// Current figures of a job that has not finished yet.
    pub fn progress(&self, id: JobId) -> Option<Progress> {
        self.jobs().get(&id).map(|j| j.core().progress(0.0))
    }

    /// Whether any job is queued or running.
    pub fn is_busy(&self) -> bool {
        self.jobs().values().any(|j| !j.core().state().is_final())
    }

    pub fn workers(&self) -> usize {
        self.sched.workers()
    }

    /// Resizes the pool; running tasks are not interrupted.
    pub fn set_workers(&self, workers: usize) {
        self.sched.set_workers(workers);
    }

    /// Cancels everything and waits (up to `timeout`) until every job has ended and removed its
    /// partial files. Returns whether they all did.
    pub fn cancel_all_and_wait(&self, timeout: Duration) -> bool {
        self.cancel_all();
        let deadline = Instant::now() + timeout;
        while self.is_busy() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(default_workers())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.cancel_all_and_wait(Duration::from_secs(30));
        self.sched.shutdown();
        self.hub.shutdown();
        // The reporter may hold final events nobody will read: it gives up once the receiver
        // (ours) is gone, so drop interest first by not waiting on a full channel.
        while self.events.try_recv().is_ok() {}
        if let Some(r) = self.reporter.take() {
            let _ = r.join();
        }
    }
}
