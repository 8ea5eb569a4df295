//! The worker pool and the scheduler that feeds it.
//!
//! Owns: the worker threads (named `shrinkwrap-worker-N`; their number can change while jobs
//! run), the queue of jobs in the order they were submitted (a dry run is queued ahead of every
//! other, and a job not started yet can be moved: [`QueueMove`]), and the rule for picking the
//! next task: the first job in the queue that has a task ready goes first, so one big job keeps
//! every worker busy and later jobs use what it leaves idle.
//! Must not touch: what tasks do (the job drivers decide), progress delivery, any front end.

use crate::engine::runtime::memory::{MemoryBudget, default_budget_bytes};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::engine::runtime::status::JobCore;

/// One unit of work: a file to compress, an image to thumbnail, a folder to scan.
pub(crate) type Task = Box<dyn FnOnce() + Send + 'static>;

/// What a job answers when a worker asks it for work.
pub(crate) enum Poll {
    Task(Task),
    /// Nothing ready now; the job calls `Scheduler::notify` when that changes.
    Idle,
    /// The job is over and can leave the queue.
    Finished,
}

/// A job as the scheduler sees it.
pub(crate) trait JobDriver: Send + Sync {
    fn core(&self) -> &Arc<JobCore>;
    /// Called with the scheduler's lock held: must be quick, do no I/O, and never call back into
    /// the scheduler.
    fn next_task(self: Arc<Self>) -> Poll;
    /// Called (without the scheduler lock) when a task of this job panicked.
    fn task_panicked(&self, message: String);
    /// Sets the cancel flag; a job still queued (or with nothing running) ends at once.
    fn cancel(&self);
    /// Pauses: nothing new starts, running work parks at its next chunk.
    fn pause(&self);
    fn resume(&self);
    /// Asks the job to end once the work in progress is done. False when the kind cannot.
    fn stop_after_current(&self) -> bool;
    /// Whether the job has left the queue (its first task was handed out).
    fn started(&self) -> bool;
    /// The job's plan, once made (a job chained after this one takes its outputs from it).
    fn plan(&self) -> Option<Arc<crate::engine::model::plan::Plan>>;
}

/// How many ended jobs the scheduler keeps findable by id (for a job chained after one that
/// ended before the chain was submitted).
const ENDED_KEPT: usize = 16;

/// Where to move a queued job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueMove {
    /// One place earlier among the queued jobs.
    Up,
    /// One place later among the queued jobs.
    Down,
    /// First among the queued jobs: it starts as soon as a worker is free.
    Next,
}

struct State {
    jobs: VecDeque<Arc<dyn JobDriver>>,
    /// The jobs that ended last, newest last (at most [`ENDED_KEPT`]): a job chained after one of
    /// them still finds it, and learns how it ended.
    ended: VecDeque<Arc<dyn JobDriver>>,
    target_workers: usize,
    live_workers: usize,
    /// Workers waiting for work now: `notify` wakes nobody (makes no system call) when none are.
    idle_workers: usize,
    next_worker_index: usize,
    shutdown: bool,
}

pub(crate) struct Scheduler {
    state: Mutex<State>,
    work_ready: Condvar,
    handles: Mutex<Vec<JoinHandle<()>>>,
    /// What the workers' large allocations (decodes) may hold together.
    memory: Arc<MemoryBudget>,
}

impl Scheduler {
    pub fn new(workers: usize) -> Arc<Self> {
        let sched = Arc::new(Scheduler {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                ended: VecDeque::new(),
                target_workers: 0,
                live_workers: 0,
                idle_workers: 0,
                next_worker_index: 0,
                shutdown: false,
            }),
            work_ready: Condvar::new(),
            handles: Mutex::new(Vec::new()),
            memory: MemoryBudget::new(default_budget_bytes()),
        });
        sched.set_workers(workers);
        sched
    }

    /// The memory budget every task on this pool reserves its large allocations from.
    pub fn memory(&self) -> &Arc<MemoryBudget> {
        &self.memory
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::engine::runtime::lock(&self.state)
    }

    pub fn workers(&self) -> usize {
        self.lock().target_workers
    }

    /// Grows the pool at once; shrinking lets surplus workers finish their task and leave.
    pub fn set_workers(self: &Arc<Self>, workers: usize) {
        let workers = workers.max(1);
        let mut st = self.lock();
        st.target_workers = workers;
        let mut spawned = Vec::new();
        while st.live_workers < workers {
            let index = st.next_worker_index;
            st.next_worker_index += 1;
            st.live_workers += 1;
            let me = Arc::clone(self);
            let spawn = std::thread::Builder::new()
                .name(format!("shrinkwrap-worker-{index}"))
                .spawn(move || me.worker_loop());
            match spawn {
                Ok(handle) => spawned.push(handle),
                Err(_) => {
                    st.live_workers -= 1;
                    break;
                }
            }
        }
        drop(st);
        self.work_ready.notify_all();
        let mut handles = crate::engine::runtime::lock(&self.handles);
        handles.retain(|h| !h.is_finished());
        handles.extend(spawned);
    }

    pub fn submit(&self, job: Arc<dyn JobDriver>) {
        self.lock().jobs.push_back(job);
        self.work_ready.notify_all();
    }

    /// Queues a job ahead of every other (a short dry run someone is waiting for).
    pub fn submit_first(&self, job: Arc<dyn JobDriver>) {
        self.lock().jobs.push_front(job);
        self.work_ready.notify_all();
    }

    /// Moves a queued job among the queued jobs (started jobs keep their places). Returns whether
    /// it moved.
    pub fn move_queued(&self, id: crate::engine::model::events::JobId, to: QueueMove) -> bool {
        let mut st = self.lock();
        let queued: Vec<usize> = (0..st.jobs.len())
            .filter(|&i| !st.jobs[i].started())
            .collect();
        let Some(pos) = queued.iter().position(|&i| st.jobs[i].core().id == id) else {
            return false;
        };
        let target = match to {
            QueueMove::Up if pos > 0 => queued[pos - 1],
            QueueMove::Down if pos + 1 < queued.len() => queued[pos + 1],
            QueueMove::Next if pos > 0 => queued[0],
            _ => return false,
        };
        let from = queued[pos];
        match to {
            QueueMove::Up | QueueMove::Down => st.jobs.swap(from, target),
            QueueMove::Next => {
                if let Some(job) = st.jobs.remove(from) {
                    st.jobs.insert(target, job);
                }
            }
        }
        true
    }

    /// The queued or running job with this id, or one of the last jobs that ended.
    pub fn find(&self, id: crate::engine::model::events::JobId) -> Option<Arc<dyn JobDriver>> {
        let st = self.lock();
        st.jobs
            .iter()
            .chain(st.ended.iter())
            .find(|j| j.core().id == id)
            .cloned()
    }

    /// Every job that has not ended, in queue order.
    pub fn live(&self) -> Vec<Arc<dyn JobDriver>> {
        self.lock()
            .jobs
            .iter()
            .filter(|j| !j.core().state().is_final())
            .cloned()
            .collect()
    }

    /// Whether any job has not ended.
    pub fn any_live(&self) -> bool {
        self.lock()
            .jobs
            .iter()
            .any(|j| !j.core().state().is_final())
    }

    /// The jobs not started yet, in the order they will start.
    pub fn queued_order(&self) -> Vec<crate::engine::model::events::JobId> {
        self.lock()
            .jobs
            .iter()
            .filter(|j| !j.started() && !j.core().state().is_final())
            .map(|j| j.core().id)
            .collect()
    }

    /// Wakes the scheduler behind a job's weak handle, if it still exists.
    pub fn notify_weak(sched: &std::sync::Weak<Scheduler>) {
        if let Some(s) = sched.upgrade() {
            s.notify();
        }
    }

    /// Tells idle workers that some job may have work again. Called after every task and by
    /// jobs whose work became ready: when no worker is waiting, it costs one uncontended lock
    /// and no system call (a condition variable's `notify_all` is a futex call even with nobody
    /// waiting).
    pub fn notify(&self) {
        // Taking the lock orders this after any worker's check-then-wait: a worker that has not
        // yet checked will see the new work; one that has is counted as idle.
        let idle = self.lock().idle_workers > 0;
        if idle {
            self.work_ready.notify_all();
        }
    }

    pub fn shutdown(&self) {
        self.lock().shutdown = true;
        self.work_ready.notify_all();
        let handles = std::mem::take(&mut *crate::engine::runtime::lock(&self.handles));
        for h in handles {
            let _ = h.join();
        }
    }

    fn worker_loop(self: Arc<Self>) {
        loop {
            let (job, task) = {
                let mut st = self.lock();
                loop {
                    if st.shutdown || st.live_workers > st.target_workers {
                        st.live_workers -= 1;
                        return;
                    }
                    if let Some(found) = Self::pick(&mut st) {
                        break found;
                    }
                    st.idle_workers += 1;
                    st = self.work_ready.wait(st).unwrap_or_else(|e| e.into_inner());
                    st.idle_workers -= 1;
                }
            };
            if let Err(panic) = catch_unwind(AssertUnwindSafe(task)) {
                job.task_panicked(panic_message(&*panic));
            }
        }
    }

    fn pick(st: &mut State) -> Option<(Arc<dyn JobDriver>, Task)> {
        let mut i = 0;
        while i < st.jobs.len() {
            let job = Arc::clone(&st.jobs[i]);
            match Arc::clone(&job).next_task() {
                Poll::Task(task) => return Some((job, task)),
                Poll::Idle => i += 1,
                Poll::Finished => {
                    if let Some(ended) = st.jobs.remove(i) {
                        if st.ended.len() == ENDED_KEPT {
                            st.ended.pop_front();
                        }
                        st.ended.push_back(ended);
                    }
                }
            }
        }
        None
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}
