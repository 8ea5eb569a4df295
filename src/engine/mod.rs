//! The engine: jobs, the scheduler and worker pool, progress, cancellation, and the zip,
//! thumbnail and extract work. Any front end drives it through [`Engine`]; it knows none of them.
//!
//! A *job* is one user request ("compress these inputs into this archive", "make thumbnails of
//! these inputs into this folder"). Every job kind goes through one lifecycle ([`job`]): scan
//! the inputs, *plan* every output before writing any (the plan is sent to the front end, and a
//! dry run stops there), run, finish. The work is split into *tasks* (the scan and plan; then a
//! kind's units: a batch of small files or one block of a big file to compress, an image, a run
//! of consecutive archive entries) that run on one shared pool of worker threads. Jobs start in the order they
//! were submitted; a worker always takes work from the oldest job that has some, so one big job
//! keeps every core busy and later jobs fill in what it leaves idle. Dry runs go first: they are
//! short, and a window's preview waits for them.
//!
//! Progress reaches the front end as [`JobEvent`]s on a bounded channel, at most about 30 times
//! a second, together with a call of the registered waker. Workers never wait on it: progress is
//! coalesced (and dropped when the front end is slow), but each job's plan and final event are
//! kept until they can be delivered.
//!
//! Several jobs the same way, and one job on many machines, are [`workflow`]'s: job files,
//! chains (a job that takes another's outputs: [`Engine::submit_after`]), file lists, shards
//! and presets.
//!
//! Must not touch: egui or any other front-end crate; the UI thread (nothing here is called from
//! a frame except the non-blocking methods of [`Engine`]).

#![warn(missing_docs)]

pub mod kinds;
pub mod model;
pub mod runtime;
pub mod workflow;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use kinds::thumbs::color::ColorMode;
pub use kinds::thumbs::metadata::MetadataPolicy;
pub use kinds::thumbs::spec::{
    BadThumbSize, DEFAULT_JPEG_QUALITY, DEFAULT_THUMB_SIDE_PX, Fit, MAX_QUALITY, MAX_THUMB_SIDE_PX,
    MIN_QUALITY, NameTemplate, ThumbFormat, ThumbSize, ThumbSpec,
};
pub use kinds::zip::spec::{DEFAULT_ZIP_LEVEL, ExistingArchive, MAX_ZIP_LEVEL, ZipSpec};
pub use kinds::{JobSpec, KINDS, kind_by_id};
pub use model::error::{
    ChainBroken, IoCause, ItemError, JobError, ResumeError, SpecError, SubmitError,
};
pub use model::events::{
    Cause, Failure, ItemProblem, JSON_SCHEMA_VERSION, JobEvent, JobId, JobOutcome, JobReport,
    JobState, OnDiskFull, PauseReason, ProblemKind, Progress, exit_status,
    exit_status_with_refused,
};
pub use model::kind::{Counts, JobKind, KindInfo, OutputShape};
pub use model::paths::{folder_display_name, normalize_path, parent_dir, path_json};
pub use model::plan::{
    Action, ConflictPolicy, Plan, PlanItem, PlanSummary, PlanWarning, PlannedFile, SkipReason,
};
pub use model::shard::{Shard, ShardError};
pub use runtime::journal::{JOURNAL_VERSION, SetAside, default_state_dir};
pub use runtime::password_file::read_password_file;
pub use runtime::reporter::{EVENT_CHANNEL_CAPACITY, REPORT_INTERVAL, Waker};
pub use runtime::scheduler::QueueMove;

use runtime::claims::Claims;
use runtime::job::{Journaling, Run};
use runtime::lock;
use runtime::reporter::ProgressHub;
use runtime::scheduler::{JobDriver, Scheduler};
use runtime::status::JobCore;

/// An unfinished job found in the state folder (see [`list_unfinished`]).
pub type UnfinishedJob = runtime::journal::Unfinished<JobSpec>;
/// A journal a live job holds (see [`list_journals`]).
pub type JournalInUse = runtime::journal::InUse<JobSpec>;
/// Everything in the journal folder (see [`list_journals`]).
pub type JournalListing = runtime::journal::Listing<JobSpec>;

/// Lists the unfinished jobs in the journal folder `dir` (journals no live job holds), oldest
/// first, and the journals that cannot be resumed, with why (left where they are: see
/// [`set_aside`]). Does file I/O: call it off the UI thread.
pub fn list_unfinished(dir: &std::path::Path) -> (Vec<UnfinishedJob>, Vec<SetAside>) {
    runtime::journal::list_unfinished(dir)
}

/// [`list_unfinished`], and the journals live jobs hold (in this process or another: their jobs
/// are running or being resumed). Moves nothing. Does file I/O: call it off the UI thread.
pub fn list_journals(dir: &std::path::Path) -> JournalListing {
    runtime::journal::list_journals(dir)
}

/// Moves a journal that cannot be resumed into `set-aside/` (the front end does it when the
/// user resumes or discards), and says where it went.
pub fn set_aside(entry: &SetAside) -> std::io::Result<SetAside> {
    runtime::journal::set_aside(entry)
}

/// Forgets an unfinished job: takes its journal (refused while another process runs the job),
/// removes the temporary files the job left and the journal.
pub fn discard_unfinished(job: &UnfinishedJob) -> std::io::Result<()> {
    runtime::journal::discard_unfinished(job)
}

/// The number of workers to use when none is chosen: one per core.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// A job registered with the engine and ready to be queued.
type Prepared = (JobId, Arc<dyn JobDriver>);

/// A worker pool with its job queue and progress reporter. Several engines can live side by
/// side; dropping one cancels its jobs, waits for them to clean up, and stops its threads.
pub struct Engine {
    sched: Arc<Scheduler>,
    hub: Arc<ProgressHub>,
    claims: Arc<Claims>,
    /// Where job journals go (`None`: none kept).
    state_dir: Option<std::path::PathBuf>,
    /// What jobs submitted from now on do when their disk is full.
    on_disk_full: Mutex<OnDiskFull>,
    events: flume::Receiver<JobEvent>,
    next_id: AtomicU64,
    reporter: Option<JoinHandle<()>>,
}

impl Engine {
    /// An engine with `workers` worker threads (at least one), keeping job journals in the
    /// default state folder ([`default_state_dir`]).
    pub fn new(workers: usize) -> Engine {
        Engine::with_state_dir(workers, default_state_dir())
    }

    /// An engine that keeps its jobs' journals in `state_dir` (`None`: no journals).
    pub fn with_state_dir(workers: usize, state_dir: Option<std::path::PathBuf>) -> Engine {
        let sched = Scheduler::new(workers);
        let hub = ProgressHub::new();
        let (tx, rx) = flume::bounded(EVENT_CHANNEL_CAPACITY);
        let reporter_hub = Arc::clone(&hub);
        let reporter_jobs = Arc::downgrade(&sched);
        let reporter = std::thread::Builder::new()
            .name("shrinkwrap-progress".to_owned())
            .spawn(move || reporter_hub.run(tx, reporter_jobs))
            .ok();
        Engine {
            sched,
            hub,
            claims: Arc::new(Claims::default()),
            state_dir,
            on_disk_full: Mutex::new(OnDiskFull::Wait),
            events: rx,
            next_id: AtomicU64::new(1),
            reporter,
        }
    }

    /// Queues a job and returns its id at once (no file system access: the scan and the plan
    /// run on the pool). Refused when the spec is invalid or the same job is already queued or
    /// running.
    pub fn submit(&self, spec: JobSpec) -> Result<JobId, SubmitError> {
        let (id, driver) = self.prepare_job(spec, false, None)?;
        self.queue(driver);
        Ok(id)
    }

    /// Queues several jobs as one batch (e.g. one archive per folder): every job's claims are
    /// registered before any of them starts, so no job of the batch scans another's output.
    /// One result per spec, in order.
    pub fn submit_all(&self, specs: Vec<JobSpec>) -> Vec<Result<JobId, SubmitError>> {
        let prepared: Vec<Result<Prepared, SubmitError>> = specs
            .into_iter()
            .map(|spec| self.prepare_job(spec, false, None))
            .collect();
        prepared
            .into_iter()
            .map(|p| {
                p.map(|(id, driver)| {
                    self.queue(driver);
                    id
                })
            })
            .collect()
    }

    /// Queues a dry run: the job scans and plans, sends its plan, and ends without writing
    /// anything (not even the output folder). Dry runs go ahead of the queue. Identical dry runs
    /// are allowed (they claim nothing).
    pub fn submit_dry_run(&self, spec: JobSpec) -> Result<JobId, SubmitError> {
        let (id, driver) = self.prepare_job(spec, true, None)?;
        self.queue_first(driver);
        Ok(id)
    }

    /// Resumes an unfinished job found by [`list_unfinished`]. Its first task takes the journal
    /// over (its lock, unless [`UnfinishedJob::claim`] took it already: a job another process
    /// runs fails with [`ResumeError::InUse`] and is left to it), removes the temporary files
    /// the job left, keeps the outputs the job put in place that are still there unchanged
    /// (and whose sources did not change), and does the rest; a file someone else put at an
    /// output's place meanwhile is treated as the job's own rules treat an existing file (a
    /// zip job rebuilds its archive). Refused like [`Engine::submit`].
    pub fn resume_unfinished(&self, job: UnfinishedJob) -> Result<JobId, SubmitError> {
        let from = runtime::job::ResumeFrom {
            tag: job.tag().to_owned(),
            journal: job.journal,
            lock: job.lock.0,
        };
        let (id, driver) = self.prepare_job(job.spec, false, Some(from))?;
        self.queue(driver);
        Ok(id)
    }

    /// Puts a prepared job in the queue and wakes the reporter (it reports on queued jobs).
    fn queue(&self, driver: Arc<dyn JobDriver>) {
        self.sched.submit(driver);
        self.hub.kick();
    }

    /// [`Engine::queue`], ahead of every queued job (a dry run someone waits for).
    fn queue_first(&self, driver: Arc<dyn JobDriver>) {
        self.sched.submit_first(driver);
        self.hub.kick();
    }

    /// What jobs submitted from now on do when their disk is full: wait for room (the default:
    /// they pause and go on by themselves once there is room) or fail at once.
    pub fn set_on_disk_full(&self, policy: OnDiskFull) {
        *lock(&self.on_disk_full) = policy;
    }

    /// The folder this engine keeps job journals in (`None`: journals are off).
    pub fn state_dir(&self) -> Option<&std::path::Path> {
        self.state_dir.as_deref()
    }

    /// Registers a job (claims, watch) without queuing it yet.
    fn prepare_job(
        &self,
        spec: JobSpec,
        dry_run: bool,
        resume: Option<runtime::job::ResumeFrom>,
    ) -> Result<Prepared, SubmitError> {
        let id = self.new_id();
        let core = Arc::new(JobCore::new(id, spec.kind(), spec.display_name(), dry_run));
        let driver = self
            .builder()
            .build(spec, Arc::clone(&core), dry_run, resume)?;
        Ok((id, driver))
    }

    /// A fresh job id.
    fn new_id(&self) -> JobId {
        JobId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// What building a job needs of this engine, for a job built later (a chained one).
    fn builder(&self) -> JobBuilder {
        JobBuilder {
            sched: Arc::downgrade(&self.sched),
            hub: Arc::clone(&self.hub),
            claims: Arc::clone(&self.claims),
            state_dir: self.state_dir.clone(),
            on_disk_full: *lock(&self.on_disk_full),
        }
    }

    /// Cancels one job: a queued job leaves the queue at once; a running one stops starting
    /// tasks, its running tasks stop within a chunk of input, and its partial outputs are
    /// removed before its final `cancelled` event. Never blocks.
    pub fn cancel(&self, id: JobId) {
        if let Some(job) = self.job(id) {
            job.cancel();
        }
    }

    /// Pauses one job (queued or running): nothing new starts, work in progress parks at its
    /// next 1 MiB chunk or after its current image. A paused zip job keeps its temporary
    /// archive. Paused time is left out of speed and ETA. Never blocks.
    pub fn pause(&self, id: JobId) {
        if let Some(job) = self.job(id) {
            job.pause();
        }
    }

    /// Resumes a paused job without redoing work (a job paused by a full disk goes on by itself
    /// once there is room; this tries at once).
    pub fn resume(&self, id: JobId) {
        if let Some(job) = self.job(id) {
            job.resume();
        }
    }

    /// Pauses every job not yet ended.
    pub fn pause_all(&self) {
        for job in self.live_jobs() {
            job.pause();
        }
    }

    /// Resumes every paused job.
    pub fn resume_all(&self) {
        for job in self.live_jobs() {
            job.resume();
        }
    }

    /// "Stop after current" (thumbnail jobs): the items in progress finish, nothing new starts,
    /// finished outputs are kept, and the job ends `stopped`. Returns false for a job that
    /// cannot stop early (a zip job: a partial archive would mislead; pause or cancel it).
    pub fn stop_after_current(&self, id: JobId) -> bool {
        self.job(id).is_some_and(|job| job.stop_after_current())
    }

    /// Moves a queued job among the queued ones (up, down, or next to start). Returns whether it
    /// moved: started jobs and the ends of the queue do not.
    pub fn move_queued(&self, id: JobId, to: QueueMove) -> bool {
        self.sched.move_queued(id, to)
    }

    /// The jobs that have not started yet, in the order they will start (dry runs included:
    /// they go first).
    pub fn queued_order(&self) -> Vec<JobId> {
        self.sched.queued_order()
    }

    /// A queued or running job. The scheduler's queue is the one list of jobs: the engine keeps
    /// none of its own.
    fn job(&self, id: JobId) -> Option<Arc<dyn JobDriver>> {
        self.sched.find(id)
    }

    fn live_jobs(&self) -> Vec<Arc<dyn JobDriver>> {
        self.sched.live()
    }

    /// Cancels every job. Never blocks.
    pub fn cancel_all(&self) {
        for job in self.live_jobs() {
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
        self.job(id)
            .filter(|j| !j.core().state().is_final())
            .map(|j| j.core().progress(0.0, 0.0))
    }

    /// Whether any job is queued or running.
    pub fn is_busy(&self) -> bool {
        self.sched.any_live()
    }

    /// The number of worker threads.
    pub fn workers(&self) -> usize {
        self.sched.workers()
    }

    /// Resizes the pool; running tasks are not interrupted.
    pub fn set_workers(&self, workers: usize) {
        self.sched.set_workers(workers);
    }

    /// What the workers' image decodes may hold together, in bytes (`None`: the default, a share
    /// of the memory the machine has available). A decode that needs more than the whole budget
    /// is refused with its figures; decodes that do not fit beside the running ones wait.
    pub fn set_memory_budget(&self, bytes: Option<u64>) {
        self.sched
            .memory()
            .set_limit_bytes(bytes.unwrap_or_else(runtime::memory::default_budget_bytes));
    }

    /// The memory budget in force, in bytes.
    pub fn memory_budget_bytes(&self) -> u64 {
        self.sched.memory().limit_bytes()
    }

    /// The most the decodes have held at once since the engine started, in bytes.
    pub fn memory_peak_bytes(&self) -> u64 {
        self.sched.memory().peak_bytes()
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

/// What building a job needs of its engine, held by a job that is built after its submission
/// (a chained job: its inputs are known only when the job before it has ended). The scheduler
/// is held weakly: a job in its queue must not keep it alive.
struct JobBuilder {
    sched: std::sync::Weak<Scheduler>,
    hub: Arc<ProgressHub>,
    claims: Arc<Claims>,
    state_dir: Option<std::path::PathBuf>,
    on_disk_full: OnDiskFull,
}

impl JobBuilder {
    /// Checks `spec`, claims what it reads and writes under `core`'s id (unless a dry run), and
    /// makes the job around `core`, ready to be queued.
    fn build(
        &self,
        spec: JobSpec,
        core: Arc<JobCore>,
        dry_run: bool,
        resume: Option<runtime::job::ResumeFrom>,
    ) -> Result<Arc<dyn JobDriver>, SubmitError> {
        let build = spec.clone().build()?;
        let sched = self.sched.upgrade().ok_or(SubmitError::EngineStopped)?;
        if !dry_run {
            self.claims
                .register(core.id, &spec)
                .map_err(SubmitError::Duplicate)?;
        }
        let run = Run::new(
            core,
            Arc::clone(&self.claims),
            Arc::clone(&self.hub),
            &sched,
            Arc::new(spec),
            dry_run,
            Journaling {
                dir: self.state_dir.clone(),
                resume,
            },
        )
        .with_on_disk_full(self.on_disk_full);
        Ok(build(run))
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
