//! The reporter: turns the jobs' counters into events for the front end, at a bounded rate.
//!
//! Owns: [`ProgressHub`] (the events that must be delivered: plans and final reports), its
//! thread's loop, the bounded event channel's capacity and the waker. The jobs it reports on
//! are the scheduler's (the one list of jobs): it keeps no list of its own.
//! Progress is coalesced and dropped when the front end is slow; plans and final reports are
//! kept until delivered, in the order they were pushed.
//! Must not touch: job logic or job state (it only reads [`JobCore`]s), the file system, any
//! front end.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::engine::model::events::{JobEvent, JobId, Progress};
use crate::engine::runtime::scheduler::Scheduler;
use crate::engine::runtime::status::JobCore;

/// A front end's "wake up, there is news" callback (the window passes `request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// How often at most the reporter sends progress and calls the waker.
pub const REPORT_INTERVAL: Duration = Duration::from_millis(33);
/// Capacity of the bounded event channel.
pub const EVENT_CHANNEL_CAPACITY: usize = 256;

/// Collects what the reporter must deliver: plans and final reports not yet sent.
pub(crate) struct ProgressHub {
    inner: Mutex<HubState>,
    wake: std::sync::Condvar,
    waker: Mutex<Option<Waker>>,
}

struct HubState {
    /// Plans and final reports not yet delivered, oldest first.
    must_deliver: VecDeque<JobEvent>,
    kicked: bool,
    shutdown: bool,
}

impl ProgressHub {
    pub fn new() -> Arc<Self> {
        Arc::new(ProgressHub {
            inner: Mutex::new(HubState {
                must_deliver: VecDeque::new(),
                kicked: false,
                shutdown: false,
            }),
            wake: std::sync::Condvar::new(),
            waker: Mutex::new(None),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        crate::engine::runtime::lock(&self.inner)
    }

    pub fn set_waker(&self, waker: Option<Waker>) {
        *crate::engine::runtime::lock(&self.waker) = waker;
    }

    /// Wakes the reporter: a job was queued (so there is progress to watch) or changed state.
    pub fn kick(&self) {
        self.lock().kicked = true;
        self.wake.notify_all();
    }

    /// Queues an event that must reach the front end (a plan, a final report).
    pub fn push(&self, event: JobEvent) {
        let mut st = self.lock();
        st.must_deliver.push_back(event);
        st.kicked = true;
        drop(st);
        self.wake.notify_all();
    }

    pub fn shutdown(&self) {
        self.lock().shutdown = true;
        self.wake.notify_all();
    }

    fn call_waker(&self) {
        let waker = crate::engine::runtime::lock(&self.waker).clone();
        if let Some(w) = waker {
            w();
        }
    }

    /// The reporter thread's loop: at most every `REPORT_INTERVAL`, sends plans and final reports
    /// first (kept until the channel has room: never dropped), then fresh progress of each running job
    /// (dropped when the channel is full: the next tick carries newer figures anyway).
    /// A plan or final report pushed meanwhile, or a shutdown, cuts the wait short: the front end
    /// gets them at once (a command-line run ends when its final report arrives, so a tick's
    /// wait was up to 66 ms added to every run), while progress keeps its bounded rate.
    /// Sleeps without a timeout when there is nothing to watch.
    pub fn run(self: Arc<Self>, events: flume::Sender<JobEvent>, jobs: Weak<Scheduler>) {
        let mut last_sent: HashMap<JobId, Progress> = HashMap::new();
        let mut rates: HashMap<JobId, (RateMeter, RateMeter)> = HashMap::new();
        // When progress was last sent: it goes at most once per interval.
        let mut progress_round: Option<Instant> = None;
        loop {
            let started = Instant::now();
            let (watched, mut pending) = loop {
                // Asked outside the hub's lock: a worker holds the scheduler's lock while a job
                // pushes its events here.
                let watched: Vec<Arc<JobCore>> = jobs.upgrade().map_or_else(Vec::new, |s| {
                    s.live().iter().map(|j| Arc::clone(j.core())).collect()
                });
                let mut st = self.lock();
                if st.shutdown && st.must_deliver.is_empty() {
                    return;
                }
                if st.kicked || st.shutdown || !watched.is_empty() || !st.must_deliver.is_empty() {
                    st.kicked = false;
                    break (watched, std::mem::take(&mut st.must_deliver));
                }
                // Nothing to watch or deliver: sleep until kicked (a job queued, an event pushed).
                drop(self.wake.wait(st).unwrap_or_else(|e| e.into_inner()));
            };
            let mut sent_any = false;
            while let Some(event) = pending.pop_front() {
                let id = event.job();
                let is_final = matches!(event, JobEvent::Finished(_));
                match events.try_send(event) {
                    Ok(()) => {
                        sent_any = true;
                        if is_final {
                            last_sent.remove(&id);
                            rates.remove(&id);
                        }
                    }
                    Err(flume::TrySendError::Full(event)) => {
                        pending.push_front(event);
                        break;
                    }
                    // Nobody listens any more (the engine is being dropped): nothing to deliver.
                    Err(flume::TrySendError::Disconnected(_)) => {
                        pending.clear();
                        break;
                    }
                }
            }
            let progress_due =
                progress_round.is_none_or(|at| started.duration_since(at) >= REPORT_INTERVAL);
            let full = !pending.is_empty();
            if full {
                let mut st = self.lock();
                for event in pending.into_iter().rev() {
                    st.must_deliver.push_front(event);
                }
            } else if progress_due {
                progress_round = Some(started);
                for core in &watched {
                    let (bytes_rate, items_rate) = rates.entry(core.id).or_default();
                    if core.is_paused() {
                        // After a pause the speed is measured afresh.
                        bytes_rate.clear();
                        items_rate.clear();
                    }
                    let bytes_per_sec = bytes_rate.update(core.bytes_done.load(Ordering::Relaxed));
                    let items_per_sec = items_rate.update(core.items_done.load(Ordering::Relaxed));
                    let progress = core.progress(bytes_per_sec, items_per_sec);
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
            // Bounded rate: progress at most once per interval. Events that must be delivered
            // end the wait early, unless the channel was full (then only the interval helps).
            let deadline = started + REPORT_INTERVAL;
            let mut st = self.lock();
            loop {
                if st.shutdown || (!full && !st.must_deliver.is_empty()) {
                    break;
                }
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                st = self
                    .wake
                    .wait_timeout(st, deadline - now)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0);
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
        && a.workers_busy == b.workers_busy
        && a.paused == b.paused
}

/// Throughput over a sliding window of about two seconds.
#[derive(Default)]
struct RateMeter {
    samples: VecDeque<(Instant, u64)>,
}

impl RateMeter {
    const WINDOW: Duration = Duration::from_secs(2);

    fn clear(&mut self) {
        self.samples.clear();
    }

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
