//! The one job lifecycle, shared by every job kind: scan, plan, run, finish.
//!
//! ```text
//!  queued ──► scanning ──► planning ──► running ──► finishing ──► done / done with errors
//!    │            │            │           │            │
//!    └────────────┴────────────┴───────────┴────────────┴──► cancelled / failed
//! ```
//!
//! A job kind plugs in through [`JobKindImpl`]: it says how to scan, makes the plan (every
//! output decided before any is written), hands out units of work while running, and puts its
//! outputs in place when all work is done. Everything else lives here, once: the state machine,
//! the claims on inputs and outputs ([`Claims`]), the temporary files ([`TempFiles`], all removed
//! before a cancelled or failed job reports), a panic guard around every task and every thread
//! the job uses (a panic fails the job, it never leaves it running), the plan event, and the one
//! typed outcome ([`JobOutcome`]) the report carries.
//!
//! Also here, once for every kind: the journal (a resumed job takes its journal over before
//! anything else, under its exclusive lock; each output is recorded with its identity just
//! before it is renamed into place, [`Run::place_from`]) and pauses: the user's, and a full
//! disk's, which announces the folder and the room left and is watched by a thread that resumes
//! the job once there is room again (or fails it at once, as the front end chose).
//!
//! The lifecycle does every duty a kind would otherwise have to remember: it reports the plan's
//! skipped items when the run starts, sets the progress totals the plan gives, writes the kind's
//! final report ([`Finished`]) into the job's status, and decides "stop after current" from the
//! kind's description. Adding a job kind means: its folder under `kinds/` (a spec implementing
//! [`KindSpec`], a [`JobKindImpl`]) and one line in the kinds' registry.
//!
//! Must not touch: what a kind does with its files (the kind's module), scheduling policy (the
//! scheduler's), the front ends.

use crate::engine::runtime::memory::MemoryBudget;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use crate::engine::model::error::SpecError;
use crate::engine::model::error::{ItemError, JobError};
use crate::engine::model::events::{
    JobEvent, JobOutcome, JobState, OnDiskFull, PauseReason, ProblemKind,
};
use crate::engine::model::kind::{JobKind, SpecInfo};
use crate::engine::model::password::Password;
use crate::engine::model::plan::{Action, Plan};
use crate::engine::runtime::claims::Claims;
use crate::engine::runtime::disk;
use crate::engine::runtime::journal::{
    JournalWriter, ResumeState, SourceId, remove_leftover_temps,
};
use crate::engine::runtime::reporter::ProgressHub;
use crate::engine::runtime::scan::{ScanOptions, Scanned, scan};
pub(crate) use crate::engine::runtime::scheduler::panic_message;
use crate::engine::runtime::scheduler::{JobDriver, Poll, Scheduler, Task};
use crate::engine::runtime::status::JobCore;
use crate::engine::runtime::temp::{PlaceError, TempFiles, TempOutput};

/// What a kind answers when the lifecycle asks it for work while running.
pub(crate) enum KindPoll {
    /// A unit of work for a pool worker.
    Task(Task),
    /// Nothing ready now; the kind calls [`Run::notify`] when that changes.
    Idle,
    /// All work is handed out and complete (tasks and threads of the kind included): time to
    /// finish.
    Complete,
}

/// What a kind's spec tells the registry and the lifecycle (object-safe; the by-value parts,
/// `normalized` and building the job, are the registry's macro's).
pub(crate) trait KindSpec: Send + Sync {
    /// The kind.
    fn kind(&self) -> JobKind;
    /// The inputs as the user gave them.
    fn inputs(&self) -> &[std::path::PathBuf];
    /// The archive, or the output folder.
    fn output_path(&self) -> &std::path::Path;
    /// Outputs known before any scan (claimed at submission).
    fn known_outputs(&self) -> Vec<std::path::PathBuf> {
        Vec::new()
    }
    /// A short human name: the output's file or folder name.
    fn display_name(&self) -> String {
        let path = self.output_path();
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())
    }
    /// Checks the kind's options (the inputs are checked by the registry and the plan).
    fn validate(&self) -> Result<(), SpecError>;
    /// The kind's option keys (job files, presets, long flags with `_` for `-`), in the order
    /// job files write them.
    fn option_keys(&self) -> &'static [&'static str];
    /// Every option, as `(key, value)` in the order of [`option_keys`](KindSpec::option_keys)
    /// (an option that is unset by default may be missing).
    fn options(&self) -> Vec<(&'static str, crate::engine::model::options::OptionValue)>;
    /// Sets one option; an unknown key or a value of the wrong type is refused.
    fn set_option(
        &mut self,
        key: &str,
        value: &crate::engine::model::options::OptionValue,
    ) -> Result<(), crate::engine::model::options::OptionError>;
    /// Replaces the inputs (a chained job's, once the job before it has ended).
    fn set_inputs(&mut self, inputs: Vec<std::path::PathBuf>);
    /// The files among the inputs the job takes (a retry, a `--files-from` list, what a chained
    /// job was given); empty: every file of the inputs.
    fn only(&self) -> &[std::path::PathBuf];
    /// Takes only these files among the inputs (empty: all of them).
    fn set_only(&mut self, files: Vec<std::path::PathBuf>);
    /// The share of the inputs the job takes, when split across machines.
    fn shard(&self) -> Option<crate::engine::model::shard::Shard>;
    /// Takes only this share of the inputs (`None`: all of them).
    fn set_shard(&mut self, shard: Option<crate::engine::model::shard::Shard>);
    /// The spec's password, for a kind whose jobs take one (to write or to read encrypted
    /// entries): `None` for a kind that takes none, `Some(None)` when none was given. The
    /// password methods below are answered from it.
    fn password(&self) -> Option<&Option<Password>> {
        None
    }
    /// The spec's password, to give it again (see [`KindSpec::password`]).
    fn password_mut(&mut self) -> Option<&mut Option<Password>> {
        None
    }
    /// Whether the spec waits for a password it was not given again: a spec read back from a
    /// journal keeps only that there was one.
    fn waits_for_password(&self) -> bool {
        matches!(self.password(), Some(Some(Password::NotKept)))
    }
    /// Gives a spec that [waits for a password](KindSpec::waits_for_password) its password
    /// (`text`: as typed or read from a password file); whether it was waiting for one.
    fn give_password(&mut self, text: &str) -> bool {
        self.password_mut()
            .is_some_and(|slot| Password::give_again(slot, text))
    }
    /// The password file the job reads when it starts (and again when resumed), if any.
    fn password_file(&self) -> Option<&std::path::Path> {
        None
    }
    /// Whether the job holds a password given to it (typed, read from a file, or one that was
    /// not kept): never shown, never written anywhere.
    fn holds_password(&self) -> bool {
        self.password().is_some_and(Option::is_some)
    }
    /// Whether jobs of the kind take a password (to write or to read encrypted entries).
    fn takes_password(&self) -> bool {
        self.password().is_some()
    }
    /// Takes the password from a password file (a job file's `password_file`): read now, or
    /// kept as the file when the kind reads it as the job starts.
    fn set_password_file(
        &mut self,
        _path: &std::path::Path,
    ) -> Result<(), crate::engine::model::error::PasswordFileError> {
        Ok(())
    }
}

/// The [`KindSpec`] methods every kind answers the same way: from the spec's own `inputs`,
/// `only` and `shard` fields, and from its kind's `options` module (`OPTION_KEYS`, `options`,
/// `set_option`). Written once, expanded inside each kind's `impl KindSpec` (which must have
/// `PathBuf`, `Shard`, `OptionValue` and `OptionError` in scope).
macro_rules! spec_selection_and_options {
    () => {
        fn inputs(&self) -> &[PathBuf] {
            &self.inputs
        }
        fn option_keys(&self) -> &'static [&'static str] {
            options::OPTION_KEYS
        }
        fn options(&self) -> Vec<(&'static str, OptionValue)> {
            options::options(self)
        }
        fn set_option(&mut self, key: &str, value: &OptionValue) -> Result<(), OptionError> {
            options::set_option(self, key, value)
        }
        fn set_inputs(&mut self, inputs: Vec<PathBuf>) {
            self.inputs = inputs;
        }
        fn only(&self) -> &[PathBuf] {
            &self.only
        }
        fn set_only(&mut self, files: Vec<PathBuf>) {
            self.only = files;
        }
        fn shard(&self) -> Option<Shard> {
            self.shard
        }
        fn set_shard(&mut self, shard: Option<Shard>) {
            self.shard = shard;
        }
    };
}
pub(crate) use spec_selection_and_options;

/// A kind's plan, with the work it counts (the lifecycle sets the job's totals from it).
pub(crate) struct Planned {
    pub plan: Plan,
    /// Items the run will process (images, archive entries).
    pub items_total: u64,
    /// Input bytes the run will read.
    pub bytes_total: u64,
}

/// What a kind reports when its outputs are in place; the lifecycle writes it into the job's
/// status.
#[derive(Default)]
pub(crate) struct Finished {
    /// The outputs made, in plan order.
    pub outputs: Vec<std::path::PathBuf>,
    /// The archive, for a kind that makes one.
    pub archive: Option<std::path::PathBuf>,
    /// The bytes written, when the kind knows them as a whole (else what was counted per item).
    pub output_bytes: Option<u64>,
}

/// One job kind (zip, thumbnails...), plugged into the lifecycle.
pub(crate) trait JobKindImpl: Send + Sync + 'static {
    /// The inputs as the user gave them.
    fn inputs(&self) -> &[std::path::PathBuf];

    /// What can be decided before the scan (a zip job's archive path, and whether it exists):
    /// an error here ends the job at once, before any work.
    fn prepare(&self, run: &Run) -> Result<(), JobError>;

    /// How the scan walks this kind's inputs.
    fn scan_options(&self, run: &Run) -> ScanOptions;

    /// Decides every output from the scan (entries sorted by name). Must not write anything.
    fn plan(&self, run: &Run, scanned: Scanned) -> Result<Planned, JobError>;

    /// A dry run's estimate of the output bytes, from sample encodes of a few inputs.
    fn estimate_output_bytes(&self, run: &Run, plan: &Plan) -> Option<u64>;

    /// Starts running the plan (not called for dry runs): create outputs, start threads with
    /// [`Run::spawn`].
    fn start(self: Arc<Self>, run: &Arc<Run>) -> Result<(), JobError>;

    /// The next unit of work. Called with the scheduler's lock held: quick, no I/O, never calls
    /// back into the scheduler.
    fn next_task(self: Arc<Self>, run: &Arc<Run>) -> KindPoll;

    /// Called once, on a worker, when the kind said `Complete` and nothing of it runs any more:
    /// puts the outputs in place and says what was made (not called when the job is cancelled
    /// or has failed; called after "stop after current" too).
    fn finish(&self, run: &Run) -> Result<Finished, JobError>;
}

/// Where a job keeps its journal, and what it resumes.
#[derive(Default)]
pub(crate) struct Journaling {
    /// The folder for journals; `None`: no journal (dry runs, or no state folder).
    pub dir: Option<std::path::PathBuf>,
    /// A resumed job: the journal it takes over.
    pub resume: Option<ResumeFrom>,
}

/// The journal a resumed job takes over (when its first task runs: the lock, then what the
/// journal says, read again under the lock).
pub(crate) struct ResumeFrom {
    pub journal: std::path::PathBuf,
    /// The tag of the job's temporary names, as listed (it never changes).
    pub tag: String,
    /// The journal's lock, when the front end claimed it already.
    pub lock: Option<Arc<std::fs::File>>,
}

/// The shared context of one job: what every task and thread of it can use.
pub(crate) struct Run {
    pub core: Arc<JobCore>,
    pub claims: Arc<Claims>,
    pub temps: TempFiles,
    pub dry_run: bool,
    /// The spec as submitted (recorded in the journal).
    pub spec: Arc<dyn SpecInfo>,
    /// What a resumed job recorded before it was interrupted (set once its journal is taken
    /// over, before the kind is asked anything).
    resume: OnceLock<ResumeState>,
    journal_dir: Option<std::path::PathBuf>,
    resume_from: Mutex<Option<ResumeFrom>>,
    journal: Mutex<Option<JournalWriter>>,
    hub: Arc<ProgressHub>,
    sched: Weak<Scheduler>,
    /// The first error that fails the job.
    failure: Mutex<Option<JobError>>,
    /// Threads started with `spawn` that have not ended.
    threads: AtomicUsize,
    /// Tasks of the kind handed out and not yet ended (the lifecycle counts them).
    tasks: AtomicUsize,
    plan: OnceLock<Arc<Plan>>,
    /// Paused (by the user, by a full disk, or both): no new work is handed out and running
    /// work parks at its next chunk.
    paused: Mutex<Pauses>,
    resumed: Condvar,
    /// What to do when the disk is full.
    on_disk_full: OnDiskFull,
    /// This run, for the threads it starts itself (set by [`Job::new`]).
    me: OnceLock<Weak<Run>>,
    /// "Stop after current": no new work; the job ends when the running work has.
    stop_requested: AtomicBool,
    /// Folders this job created for its outputs (removed when it is cancelled or fails, if
    /// still empty).
    created_dirs: Mutex<Vec<std::path::PathBuf>>,
    /// The pool's memory budget, for a kind's large allocations.
    pub memory: Arc<MemoryBudget>,
}

impl Run {
    pub fn new(
        core: Arc<JobCore>,
        claims: Arc<Claims>,
        hub: Arc<ProgressHub>,
        sched: &Arc<Scheduler>,
        spec: Arc<dyn SpecInfo>,
        dry_run: bool,
        journaling: Journaling,
    ) -> Run {
        let temps = match &journaling.resume {
            Some(from) if !from.tag.is_empty() => TempFiles::with_tag(&from.tag),
            _ => TempFiles::default(),
        };
        Run {
            core,
            claims,
            temps,
            dry_run,
            spec,
            resume: OnceLock::new(),
            journal_dir: if dry_run { None } else { journaling.dir },
            resume_from: Mutex::new(journaling.resume),
            journal: Mutex::new(None),
            hub,
            sched: Arc::downgrade(sched),
            failure: Mutex::new(None),
            threads: AtomicUsize::new(0),
            tasks: AtomicUsize::new(0),
            plan: OnceLock::new(),
            paused: Mutex::new(Pauses::default()),
            resumed: Condvar::new(),
            on_disk_full: OnDiskFull::Wait,
            me: OnceLock::new(),
            stop_requested: AtomicBool::new(false),
            created_dirs: Mutex::new(Vec::new()),
            memory: Arc::clone(sched.memory()),
        }
    }

    /// What a resumed job recorded before it was interrupted (`None`: not resumed).
    pub fn resumed(&self) -> Option<&ResumeState> {
        self.resume.get()
    }

    /// A resumed job takes its journal over before anything else: its lock (exactly one process
    /// runs a journal's job), what it says (read again under the lock), its torn tail cut; then
    /// the temporary files it left are removed (only those with its tag).
    fn take_over_journal(&self) -> Result<(), JobError> {
        let Some(from) = crate::engine::runtime::lock(&self.resume_from).take() else {
            return Ok(());
        };
        let (writer, state) = JournalWriter::take_over(&from.journal, from.lock)?;
        remove_leftover_temps(&state);
        let _ = self.resume.set(state);
        *crate::engine::runtime::lock(&self.journal) = Some(writer);
        Ok(())
    }

    /// Starts the journal (a resumed job has taken its own over) and records the plan. A
    /// journal that cannot be kept is a warning, never a reason to stop the job.
    fn open_journal(&self, plan: &Plan) {
        let mut journal = crate::engine::runtime::lock(&self.journal);
        if journal.is_none() {
            let Some(dir) = &self.journal_dir else {
                return;
            };
            match JournalWriter::create(dir, &*self.spec, self.temps.tag()) {
                Ok(j) => *journal = Some(j),
                Err(e) => return self.journal_lost(e),
            }
        }
        if let Some(j) = journal.as_mut()
            && let Err(e) = j.plan(plan)
        {
            Self::give_up_journal(&mut journal);
            self.journal_lost(e);
        }
    }

    /// A journal the job cannot keep writing is removed (it would mislead a later resume); the
    /// job goes on without one.
    fn give_up_journal(journal: &mut Option<JournalWriter>) {
        if let Some(j) = journal.take() {
            j.finish();
        }
    }

    fn journal_lost(&self, e: std::io::Error) {
        self.core.warning(
            self.journal_dir.clone().unwrap_or_default(),
            format!(
                "cannot keep the job's journal ({}): it could not be resumed after a crash",
                crate::engine::model::error::IoCause::of(e)
            ),
        );
    }

    /// Records in the journal that `temp` is about to be put in place at `dest` (its identity,
    /// and its source's): the resumed job knows its own outputs by it.
    fn journal_placing(&self, dest: &std::path::Path, temp: &TempOutput, source: Option<SourceId>) {
        let mut journal = crate::engine::runtime::lock(&self.journal);
        let Some(j) = journal.as_mut() else {
            return;
        };
        let Some(meta) = temp.file().and_then(|f| f.metadata().ok()) else {
            return;
        };
        let dest = crate::engine::model::paths::normalize_path(dest);
        if let Err(e) = j.placed(&dest, &meta, source) {
            Self::give_up_journal(&mut journal);
            drop(journal);
            self.journal_lost(e);
        }
    }

    /// What the job does when its disk is full (the engine's setting when it was submitted).
    pub fn with_on_disk_full(mut self, policy: OnDiskFull) -> Run {
        self.on_disk_full = policy;
        self
    }

    /// Sends the job's figures now, never dropped: a pause and a resume always reach the front
    /// end (a script reading `--json` sees both, however quick).
    fn announce(&self) {
        self.hub
            .push(JobEvent::Progress(self.core.progress(0.0, 0.0)));
    }

    /// Pauses the job: nothing new starts, and work in progress parks at its next chunk
    /// ([`Run::wait_while_paused`]).
    pub fn pause(&self, reason: PauseReason) {
        crate::engine::runtime::lock(&self.paused).user = true;
        self.core.set_paused(reason);
        self.announce();
    }

    /// Resumes a paused job where it was (also one paused by a full disk: it tries at once).
    pub fn resume(&self) {
        let was = {
            let mut p = crate::engine::runtime::lock(&self.paused);
            let was = p.any();
            p.user = false;
            p.disk = None;
            was
        };
        self.core.clear_paused();
        self.resumed.notify_all();
        if was {
            self.announce();
        }
        self.notify();
    }

    /// Whether the job is paused (by the user, by a full disk, or both).
    pub fn is_paused(&self) -> bool {
        crate::engine::runtime::lock(&self.paused).any()
    }

    /// Parks the calling task or thread while the job is paused. Returns false when the job
    /// was cancelled (or failed) meanwhile: the caller stops.
    pub fn wait_while_paused(&self) -> bool {
        let mut paused = crate::engine::runtime::lock(&self.paused);
        while paused.any() && !self.stopping() {
            paused = self
                .resumed
                .wait_timeout(paused, Duration::from_millis(100))
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        !self.stopping()
    }

    /// The disk is full while writing into `folder`: the job pauses with one clear message
    /// (the folder, the room left) instead of failing every item that follows, and a thread
    /// watches the free space: once there is room again the job goes on by itself. With
    /// [`OnDiskFull::Fail`] the job fails at once instead (its temporary files go, as always).
    /// The caller puts its item back, and has dropped its temporary file already (so the room
    /// it took is counted as free now).
    pub fn disk_full(&self, folder: &std::path::Path) {
        let free_bytes = disk::free_bytes(folder).unwrap_or(0);
        if self.on_disk_full == OnDiskFull::Fail {
            return self.fail(JobError::DiskFull {
                folder: folder.to_path_buf(),
                free_bytes,
            });
        }
        let start_watch = {
            let mut p = crate::engine::runtime::lock(&self.paused);
            p.disk = Some((folder.to_path_buf(), free_bytes));
            !std::mem::replace(&mut p.watching, true)
        };
        self.core.set_paused(PauseReason::DiskFull {
            folder: folder.to_path_buf(),
            free_bytes,
        });
        self.announce();
        if start_watch {
            let started = self.me.get().and_then(Weak::upgrade).map(|me| {
                let run = Arc::clone(&me);
                me.spawn("shrinkwrap-disk-watch", move || run.watch_disk())
            });
            if !matches!(started, Some(Ok(()))) {
                // No watcher: the job waits for a Resume (the message says it is paused).
                crate::engine::runtime::lock(&self.paused).watching = false;
            }
        }
    }

    /// The watcher of a job paused by a full disk: looks at the free space every
    /// [`disk::WATCH_INTERVAL`] and resumes the job once there is room again; ends when the job
    /// is resumed otherwise, cancelled or failed.
    fn watch_disk(&self) {
        let mut p = crate::engine::runtime::lock(&self.paused);
        loop {
            let waiting = match (&p.disk, self.stopping()) {
                (Some(d), false) => d.clone(),
                _ => {
                    p.watching = false;
                    return;
                }
            };
            drop(p);
            let free = disk::free_bytes(&waiting.0);
            p = crate::engine::runtime::lock(&self.paused);
            if p.disk.as_ref() == Some(&waiting)
                && free.is_some_and(|now| disk::room_again(waiting.1, now))
            {
                p.disk = None;
                p.watching = false;
                let user = p.user;
                drop(p);
                self.core.clear_paused();
                if user {
                    self.core.set_paused(PauseReason::User);
                }
                self.resumed.notify_all();
                self.announce();
                self.notify();
                return;
            }
            p = self
                .resumed
                .wait_timeout(p, disk::WATCH_INTERVAL)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Asks the job to stop after the work in progress. Returns false when the kind cannot.
    fn request_stop(&self) -> bool {
        self.stop_requested.store(true, Ordering::SeqCst);
        self.notify();
        true
    }

    /// Tasks of the kind handed out that have not ended (each ends after its last statement,
    /// panic or not). A kind that must wait for its own tasks before doing something asks this
    /// rather than keeping a count of its own.
    pub fn tasks_running(&self) -> usize {
        self.tasks.load(Ordering::SeqCst)
    }

    /// The plan, once made.
    pub fn plan(&self) -> Option<&Arc<Plan>> {
        self.plan.get()
    }

    /// Fails the job: the first error is kept, everything of the job stops (as on cancel) and
    /// the lifecycle ends it once nothing of it runs.
    pub fn fail(&self, err: JobError) {
        self.resumed.notify_all();
        {
            let mut failure = crate::engine::runtime::lock(&self.failure);
            if failure.is_none() {
                *failure = Some(err);
            }
        }
        self.core.cancel.cancel();
        self.notify();
    }

    /// Whether work should stop (cancelled or failed).
    pub fn stopping(&self) -> bool {
        self.core.is_cancelled()
    }

    /// Tells the scheduler this job may have work (or may be over).
    pub fn notify(&self) {
        Scheduler::notify_weak(&self.sched);
    }

    /// Moves to a non-final state and lets the reporter know.
    pub fn set_state(&self, state: JobState) {
        if self.core.set_state(state) {
            self.hub.kick();
        }
    }

    /// Starts a named thread of this job under the panic guard: a panic in it fails the job
    /// (instead of leaving the job waiting for it forever). The job does not end before the
    /// thread has. It is not a pool worker: `workers_busy` (pool workers on the job's tasks)
    /// never counts it, so it never reads more than the pool has.
    pub fn spawn(
        self: &Arc<Self>,
        name: &str,
        body: impl FnOnce() + Send + 'static,
    ) -> Result<(), JobError> {
        self.threads.fetch_add(1, Ordering::SeqCst);
        let run = Arc::clone(self);
        let thread_name = name.to_owned();
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let guard = ThreadGuard(Arc::clone(&run));
                if let Err(panic) = catch_unwind(AssertUnwindSafe(body)) {
                    run.fail(JobError::Internal(format!(
                        "the {thread_name} thread stopped: {}",
                        panic_message(&*panic)
                    )));
                }
                drop(guard);
            });
        match spawned {
            Ok(_) => Ok(()),
            Err(e) => {
                self.threads.fetch_sub(1, Ordering::SeqCst);
                Err(JobError::Internal(format!("cannot start a thread: {e}")))
            }
        }
    }

    /// Creates the folder `dir` for outputs (and its missing parents). Folders this job creates
    /// are claimed as its outputs first, so that no other job's scan archives them half-filled.
    pub fn create_dirs(
        &self,
        dir: &std::path::Path,
    ) -> Result<(), crate::engine::model::error::IoCause> {
        let mut missing = Vec::new();
        let mut at = Some(dir);
        while let Some(d) = at {
            if d.as_os_str().is_empty() || std::fs::symlink_metadata(d).is_ok() {
                break;
            }
            missing.push(d.to_path_buf());
            at = d.parent();
        }
        if missing.is_empty() {
            return Ok(());
        }
        self.claims.add_outputs(
            self.core.id,
            missing
                .iter()
                .map(|d| crate::engine::runtime::claims::comparable_path(d)),
        );
        let made = std::fs::create_dir_all(dir).map_err(crate::engine::model::error::IoCause::of);
        crate::engine::runtime::lock(&self.created_dirs).extend(missing);
        made
    }

    /// Removes the folders this job created that are still empty (a cancelled or failed job
    /// leaves nothing behind; a folder that holds anything, the user's or another job's, stays).
    fn remove_created_dirs(&self) {
        let mut dirs = std::mem::take(&mut *crate::engine::runtime::lock(&self.created_dirs));
        // Deepest first, so a parent is empty once its children are gone.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        dirs.dedup();
        for dir in dirs {
            // `remove_dir` only removes an empty folder.
            let _ = std::fs::remove_dir(&dir);
        }
    }

    /// Creates the temporary file for output `dest` (the user's final path). The error names the
    /// folder.
    pub fn create_temp(&self, dest: &std::path::Path) -> Result<TempOutput, ItemError> {
        self.temps.create(dest).map_err(|cause| ItemError::Write {
            path: crate::engine::model::paths::parent_dir(dest).to_path_buf(),
            cause,
        })
    }

    /// Puts a complete temporary file in place at `dest` as the plan decided (`action`), with
    /// the last-moment checks: a file that appeared meanwhile is not replaced unless the plan
    /// said overwrite, and a file that became an input of a live job is never replaced.
    pub fn place(
        &self,
        temp: TempOutput,
        dest: &std::path::Path,
        action: &Action,
    ) -> Result<(), ItemError> {
        self.place_from(temp, dest, action, None)
    }

    /// [`Run::place`] for an output made from one source, as it was when read (`source`): a
    /// resumed job makes the output again when its source changed since.
    pub fn place_from(
        &self,
        temp: TempOutput,
        dest: &std::path::Path,
        action: &Action,
        source: Option<SourceId>,
    ) -> Result<(), ItemError> {
        let replace = matches!(action, Action::Overwrite);
        if replace
            && let Ok(meta) = std::fs::metadata(dest)
            && self
                .claims
                .input_of(
                    self.core.id,
                    &crate::engine::runtime::claims::comparable_path(dest),
                    &meta,
                )
                .is_some()
        {
            return Err(ItemError::OutputIsInput {
                path: dest.to_path_buf(),
            });
        }
        self.journal_placing(dest, &temp, source);
        temp.place(dest, replace).map_err(|e| match e {
            PlaceError::Exists => ItemError::OutputAppeared {
                path: dest.to_path_buf(),
            },
            PlaceError::Io(cause) => ItemError::Write {
                path: dest.to_path_buf(),
                cause,
            },
        })
    }
}

/// Uncounts a job's thread when it ends.
struct ThreadGuard(Arc<Run>);

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        self.0.threads.fetch_sub(1, Ordering::SeqCst);
        self.0.notify();
    }
}

/// Why a job is paused now (both can hold at once).
#[derive(Default)]
struct Pauses {
    user: bool,
    /// A full disk: the folder, and the bytes free when it filled.
    disk: Option<(std::path::PathBuf, u64)>,
    /// A thread watches the free space (at most one at a time).
    watching: bool,
}

impl Pauses {
    fn any(&self) -> bool {
        self.user || self.disk.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Queued,
    /// The scan-and-plan task is out.
    Preparing,
    Running,
    /// The finishing task is out.
    Finishing,
    Over,
}

struct Lifecycle {
    phase: Phase,
}

/// A job: the lifecycle around one kind. This is what the scheduler drives.
pub(crate) struct Job<K: JobKindImpl> {
    kind: Arc<K>,
    run: Arc<Run>,
    life: Mutex<Lifecycle>,
}

impl<K: JobKindImpl> Job<K> {
    pub fn new(kind: K, run: Run) -> Arc<Self> {
        let run = Arc::new(run);
        let _ = run.me.set(Arc::downgrade(&run));
        Arc::new(Job {
            kind: Arc::new(kind),
            run,
            life: Mutex::new(Lifecycle {
                phase: Phase::Queued,
            }),
        })
    }

    fn life(&self) -> MutexGuard<'_, Lifecycle> {
        crate::engine::runtime::lock(&self.life)
    }

    /// The first task: prepare, scan, plan; then start running (or end, for a dry run).
    fn prepare_and_plan(self: &Arc<Self>) {
        let run = &self.run;
        let core = &run.core;
        run.set_state(JobState::Scanning);
        if let Err(e) = run.take_over_journal() {
            return self.end(Some(e));
        }
        if let Err(e) = self.kind.prepare(run) {
            return self.end(Some(e));
        }
        let options = self.kind.scan_options(run);
        run.claims.begin_scan(core.id);
        let scanned = scan(self.kind.inputs(), &options, core, &run.claims);
        let Some(scanned) = scanned else {
            return self.end(None);
        };
        run.claims.end_scan(core.id, scanned.input_files.clone());
        if scanned.entries.is_empty()
            && self
                .kind
                .inputs()
                .iter()
                .all(|p| std::fs::symlink_metadata(p).is_err())
        {
            // Every input is missing (each one listed by the scan): the same failure for every
            // kind, not "done with errors" for one and "failed" for another.
            return self.end(Some(JobError::NothingToDo(
                "nothing to do: none of the inputs exists",
            )));
        }
        run.set_state(JobState::Planning);
        let mut plan = match self.kind.plan(run, scanned) {
            Ok(Planned {
                plan,
                items_total,
                bytes_total,
            }) => {
                core.set_totals(items_total, bytes_total);
                plan
            }
            Err(e) => return self.end(Some(e)),
        };
        if run.stopping() {
            return self.end(None);
        }
        if let Some(warning) = unwritable_destination(&plan, run.core.kind) {
            plan.warnings.push(warning);
        }
        if run.dry_run {
            plan.summary.estimated_output_bytes = self.kind.estimate_output_bytes(run, &plan);
        }
        core.set_name(plan.name.clone());
        let plan = Arc::new(plan);
        let _ = run.plan.set(Arc::clone(&plan));
        run.hub.push(JobEvent::Plan(plan));
        if run.dry_run {
            return self.end(None);
        }
        if let Some(plan) = run.plan() {
            run.open_journal(plan);
            report_plan_skips(run, plan);
        }
        if let Err(e) = Arc::clone(&self.kind).start(run) {
            return self.end(Some(e));
        }
        self.life().phase = Phase::Running;
        run.set_state(JobState::Running);
        run.notify();
    }

    /// The last task of a job that ran to completion: the kind puts its outputs in place.
    fn finish(self: &Arc<Self>) {
        match self.kind.finish(&self.run) {
            Ok(finished) => {
                let mut st = self.run.core.status();
                st.outputs = finished.outputs;
                if finished.archive.is_some() {
                    st.archive = finished.archive;
                }
                if let Some(bytes) = finished.output_bytes {
                    st.output_bytes = bytes;
                }
                drop(st);
                self.end(None);
            }
            Err(e) => self.end(Some(e)),
        }
    }

    /// Ends the job (the one place): removes what is left of its temporary files, releases its
    /// claims, and delivers its final report with its outcome.
    fn end(&self, error: Option<JobError>) {
        let run = &self.run;
        if let Some(e) = error {
            run.fail(e);
        }
        run.temps.remove_all();
        run.claims.release(run.core.id);
        if let Some(journal) = crate::engine::runtime::lock(&run.journal).take() {
            journal.finish();
        }
        let failure = crate::engine::runtime::lock(&run.failure).take();
        let outcome = if failure.is_some() {
            JobOutcome::Failed
        } else if run.core.is_cancelled() {
            JobOutcome::Cancelled
        } else if run.stop_requested.load(Ordering::SeqCst) {
            JobOutcome::Stopped
        } else if run.core.errors.load(Ordering::Relaxed) > 0 {
            JobOutcome::DoneWithErrors
        } else {
            JobOutcome::Done
        };
        if matches!(outcome, JobOutcome::Failed | JobOutcome::Cancelled) {
            run.remove_created_dirs();
        }
        self.life().phase = Phase::Over;
        if let Some(report) = run.core.finish(outcome, failure) {
            run.hub.push(JobEvent::Finished(report));
        }
        run.notify();
    }

    /// Wraps a kind's task: counts it, fails the job if it panics (before anyone can see the
    /// job quiet and finish it), and whatever happens uncounts it.
    fn wrap(self: &Arc<Self>, task: Task) -> Task {
        let job = Arc::clone(self);
        Box::new(move || {
            let guard = TaskGuard(Arc::clone(&job));
            if let Err(panic) = catch_unwind(AssertUnwindSafe(task)) {
                job.run.fail(JobError::Internal(panic_message(&*panic)));
            }
            drop(guard);
        })
    }
}

struct TaskGuard<K: JobKindImpl>(Arc<Job<K>>);

impl<K: JobKindImpl> Drop for TaskGuard<K> {
    fn drop(&mut self) {
        self.0.run.tasks.fetch_sub(1, Ordering::SeqCst);
        self.0.run.core.busy.fetch_sub(1, Ordering::Relaxed);
        self.0.run.notify();
    }
}

impl<K: JobKindImpl> JobDriver for Job<K> {
    fn core(&self) -> &Arc<JobCore> {
        &self.run.core
    }

    fn next_task(self: Arc<Self>) -> Poll {
        let mut life = self.life();
        match life.phase {
            Phase::Over => Poll::Finished,
            Phase::Preparing | Phase::Finishing => Poll::Idle,
            Phase::Queued if self.run.is_paused() && !self.run.stopping() => Poll::Idle,
            Phase::Queued => {
                life.phase = Phase::Preparing;
                drop(life);
                let job = Arc::clone(&self);
                Poll::Task(Box::new(move || job.prepare_and_plan()))
            }
            Phase::Running => {
                let quiet =
                    self.run.tasks_running() == 0 && self.run.threads.load(Ordering::SeqCst) == 0;
                if self.run.stopping() {
                    if !quiet {
                        return Poll::Idle;
                    }
                    life.phase = Phase::Finishing;
                    drop(life);
                    let job = Arc::clone(&self);
                    return Poll::Task(Box::new(move || job.end(None)));
                }
                if self.run.stop_requested.load(Ordering::SeqCst) {
                    if !quiet {
                        return Poll::Idle;
                    }
                    life.phase = Phase::Finishing;
                    drop(life);
                    let job = Arc::clone(&self);
                    return Poll::Task(Box::new(move || job.finish()));
                }
                if self.run.is_paused() {
                    return Poll::Idle;
                }
                match Arc::clone(&self.kind).next_task(&self.run) {
                    KindPoll::Task(task) => {
                        self.run.tasks.fetch_add(1, Ordering::SeqCst);
                        self.run.core.busy.fetch_add(1, Ordering::Relaxed);
                        drop(life);
                        Poll::Task(self.wrap(task))
                    }
                    KindPoll::Idle => Poll::Idle,
                    KindPoll::Complete if quiet => {
                        life.phase = Phase::Finishing;
                        drop(life);
                        let job = Arc::clone(&self);
                        Poll::Task(Box::new(move || job.finish()))
                    }
                    KindPoll::Complete => Poll::Idle,
                }
            }
        }
    }

    fn task_panicked(&self, message: String) {
        let phase = self.life().phase;
        match phase {
            // The scan-and-plan or finishing task itself: nothing else of the job runs.
            Phase::Preparing | Phase::Finishing => {
                self.end(Some(JobError::Internal(message)));
            }
            _ => self.run.fail(JobError::Internal(message)),
        }
    }

    fn pause(&self) {
        self.run.pause(PauseReason::User);
    }

    fn resume(&self) {
        self.run.resume();
    }

    fn stop_after_current(&self) -> bool {
        if !self.run.core.kind.can_stop_early {
            return false;
        }
        let queued = self.life().phase == Phase::Queued;
        if queued {
            // Nothing is in progress: stopping now is cancelling.
            self.cancel();
            return true;
        }
        self.run.request_stop()
    }

    fn started(&self) -> bool {
        self.life().phase != Phase::Queued
    }

    fn plan(&self) -> Option<Arc<Plan>> {
        self.run.plan().cloned()
    }

    fn cancel(&self) {
        self.run.core.cancel.cancel();
        self.run.resumed.notify_all();
        let mut life = self.life();
        if life.phase == Phase::Queued {
            // Never started: nothing was created, it just leaves the queue.
            life.phase = Phase::Finishing;
            drop(life);
            self.end(None);
            return;
        }
        drop(life);
        self.run.notify();
    }
}

/// A warning when the folder a plan writes into (or the nearest of its folders that exists, for
/// one still to be made) does not take new files. Asks the OS without writing anything (a dry
/// run writes nothing).
fn unwritable_destination(
    plan: &Plan,
    kind: JobKind,
) -> Option<crate::engine::model::plan::PlanWarning> {
    use crate::engine::model::error::IoCause;
    use crate::engine::model::kind::OutputShape;
    use std::os::unix::ffi::OsStrExt;
    let mut folder = match kind.output {
        OutputShape::OneFile => crate::engine::model::paths::parent_dir(&plan.destination),
        OutputShape::FolderOfFiles => plan.destination.as_path(),
    }
    .to_path_buf();
    while std::fs::symlink_metadata(&folder).is_err() {
        match folder.parent() {
            Some(p) if !p.as_os_str().is_empty() => folder = p.to_path_buf(),
            _ => {
                folder = std::path::PathBuf::from(".");
                break;
            }
        }
    }
    let reason = match std::fs::metadata(&folder) {
        Ok(m) if !m.is_dir() => Some(IoCause::NotAFolder),
        Ok(_) => {
            let c_path = std::ffi::CString::new(folder.as_os_str().as_bytes()).ok()?;
            // SAFETY: `c_path` is a valid NUL-terminated string for the duration of the call.
            let refused = unsafe { libc::access(c_path.as_ptr(), libc::W_OK | libc::X_OK) } != 0;
            refused.then(|| IoCause::of(std::io::Error::last_os_error()))
        }
        Err(e) => Some(IoCause::of(e)),
    }?;
    Some(
        crate::engine::model::plan::PlanWarning::DestinationNotWritable {
            folder,
            reason: reason.to_string(),
        },
    )
}

/// Records the skipped items of a plan as skipped problems (when the run starts, so a dry run
/// lists them only once, in its plan).
fn report_plan_skips(run: &Run, plan: &Plan) {
    for item in &plan.items {
        if let Action::Skip(reason) = &item.action
            && *reason != crate::engine::model::plan::SkipReason::AlreadyDone
        {
            let kind = if reason.is_error() {
                ProblemKind::Error
            } else {
                ProblemKind::Skipped
            };
            run.core.problem(&item.input, kind, reason.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::engine::kinds::zip::KIND as ZIP;
    use crate::engine::model::events::JobId;
    use crate::engine::runtime::scan::SymlinkPolicy;

    /// A kind that panics where it is told to, after leaking a temporary file.
    struct Panicky {
        inputs: Vec<PathBuf>,
        out_dir: PathBuf,
        in_thread: bool,
        handed_out: AtomicBool,
    }

    impl JobKindImpl for Panicky {
        fn inputs(&self) -> &[PathBuf] {
            &self.inputs
        }
        fn prepare(&self, _run: &Run) -> Result<(), JobError> {
            Ok(())
        }
        fn scan_options(&self, _run: &Run) -> ScanOptions {
            ScanOptions {
                symlinks: SymlinkPolicy::FollowFiles,
                include_dirs: false,
                exclude_files: Vec::new(),
                exclude_dirs: Vec::new(),
                only: Default::default(),
                shard: None,
                excludes: Default::default(),
                keep_non_utf8_names: false,
            }
        }
        fn plan(&self, run: &Run, _scanned: Scanned) -> Result<Planned, JobError> {
            Ok(Planned {
                plan: Plan::new(
                    run.core.id,
                    ZIP,
                    "panicky".into(),
                    self.out_dir.clone(),
                    None,
                    Vec::new(),
                    Vec::new(),
                ),
                items_total: 0,
                bytes_total: 0,
            })
        }
        fn estimate_output_bytes(&self, _run: &Run, _plan: &Plan) -> Option<u64> {
            None
        }
        fn start(self: Arc<Self>, run: &Arc<Run>) -> Result<(), JobError> {
            // A temporary file nobody will drop: the lifecycle must remove it.
            let temp = run.create_temp(&self.out_dir.join("out.bin")).unwrap();
            std::mem::forget(temp);
            if self.in_thread {
                run.spawn("shrinkwrap-test-panicky", || panic!("boom in a thread"))?;
            }
            Ok(())
        }
        fn next_task(self: Arc<Self>, _run: &Arc<Run>) -> KindPoll {
            if self.in_thread {
                return KindPoll::Complete;
            }
            if self.handed_out.swap(true, Ordering::SeqCst) {
                return KindPoll::Complete;
            }
            KindPoll::Task(Box::new(|| panic!("boom in a task")))
        }
        fn finish(&self, _run: &Run) -> Result<Finished, JobError> {
            Ok(Finished::default())
        }
    }

    fn run_panicky(in_thread: bool) -> (JobOutcome, String, usize) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("input.txt"), b"x").unwrap();
        let sched = Scheduler::new(2);
        let hub = ProgressHub::new();
        let core = Arc::new(JobCore::new(JobId(1), ZIP, "t".into(), false));
        let spec = Arc::new(crate::engine::kinds::JobSpec::Zip(
            crate::engine::kinds::zip::spec::ZipSpec::new(
                vec![dir.path().join("input.txt")],
                dir.path().join("x.zip"),
            ),
        ));
        let run = Run::new(
            Arc::clone(&core),
            Arc::new(Claims::default()),
            hub,
            &sched,
            spec,
            false,
            Journaling::default(),
        );
        let kind = Panicky {
            inputs: vec![dir.path().join("input.txt")],
            out_dir: dir.path().to_path_buf(),
            in_thread,
            handed_out: AtomicBool::new(false),
        };
        sched.submit(Job::new(kind, run));
        let deadline = Instant::now() + Duration::from_secs(60);
        while !core.state().is_final() {
            assert!(Instant::now() < deadline, "the job never ended");
            std::thread::sleep(Duration::from_millis(5));
        }
        sched.shutdown();
        let report = core.report();
        let left = std::fs::read_dir(dir.path()).unwrap().count();
        (
            report.outcome,
            report.failure.map(|f| f.to_string()).unwrap_or_default(),
            left,
        )
    }

    #[test]
    fn a_panic_in_a_job_thread_fails_the_job_and_removes_its_temporaries() {
        let (outcome, failure, files_left) = run_panicky(true);
        assert_eq!(outcome, JobOutcome::Failed);
        assert!(failure.contains("boom in a thread"), "{failure}");
        assert_eq!(files_left, 1, "only the input is left");
    }

    #[test]
    fn a_panic_in_a_task_fails_the_job_and_removes_its_temporaries() {
        let (outcome, failure, files_left) = run_panicky(false);
        assert_eq!(outcome, JobOutcome::Failed);
        assert!(failure.contains("boom in a task"), "{failure}");
        assert_eq!(files_left, 1, "only the input is left");
    }
}
