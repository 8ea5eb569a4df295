//! The window's one kind of background thread: a named [`Helper`] that takes requests over a
//! bounded channel, does them one at a time with its [`Work`], and sends results back over a
//! bounded channel with a repaint request. Measuring inputs, decoding strip images, file dialogs,
//! exports, opening folders, journals, notifications, screenshots and frame statistics all run on
//! helpers, so that a frame never does file I/O or waits for anything.
//!
//! A panic in the work is caught: the request that caused it gets the work's answer for a failed
//! request ([`Work::panicked`], e.g. "could not be measured"), so nothing waits for ever, and the
//! thread goes on with the next request. Dropping a helper closes its channels, asks the work to
//! stop ([`Reply::stopping`]) and joins the thread; a thread still busy after
//! [`JOIN_GRACE`] (a file dialog left open, a folder walk on a slow disk) is left to end on its
//! own, so closing the window never hangs.
//!
//! Owns: [`Helper`], [`Work`], [`Reply`], [`Requests`].
//! Must not touch: what the work does (each user's module), the frame code's thread (only the
//! non-blocking [`Helper::try_send`] and [`Helper::try_recv`] run there).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The repaint request a helper makes after each result.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// How long dropping a helper waits for its thread to end before leaving it to end on its own.
pub const JOIN_GRACE: Duration = Duration::from_secs(2);

/// What a helper thread does.
pub trait Work: Send + 'static {
    type Request: Send + 'static;
    type Result: Send + 'static;

    /// Does one request; results (none, one or several) go through `reply`.
    fn run(&mut self, request: &Self::Request, reply: &Reply<Self::Result>);

    /// `run` panicked on `request` (`message` says why): answers it as failed, so that nothing
    /// waits for it for ever.
    fn panicked(&mut self, request: &Self::Request, message: &str, reply: &Reply<Self::Result>);

    /// How long to wait for a request before calling [`Work::tick`]; `None`: only requests wake
    /// the thread.
    fn tick_interval(&self) -> Option<Duration> {
        None
    }

    /// Periodic work between requests (see [`Work::tick_interval`]).
    fn tick(&mut self, _reply: &Reply<Self::Result>) {}

    /// Called when no request is waiting after one was done (e.g. to flush a buffer).
    fn idle(&mut self) {}

    /// Whether the work still has something of its own to finish after the window has gone
    /// (e.g. processes to reap): the thread then keeps ticking until it has not.
    fn busy(&self) -> bool {
        false
    }
}

/// Sends a helper's results back to the window.
pub struct Reply<R> {
    results: flume::Sender<R>,
    waker: Waker,
    stop: Arc<AtomicBool>,
}

impl<R> Reply<R> {
    /// Sends a result and asks for a repaint. Waits while the channel is full (the window takes
    /// results every frame); returns false once the window is gone.
    pub fn send(&self, result: R) -> bool {
        let sent = self.results.send(result).is_ok();
        if sent {
            (self.waker)();
        }
        sent
    }

    /// Whether the helper is being dropped: long work should stop early.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The stop flag itself, for work that checks it deep down (a folder walk).
    pub fn stop_flag(&self) -> &AtomicBool {
        &self.stop
    }
}

/// A sending end of a helper's requests, for code that must queue requests from elsewhere (an
/// egui callback).
#[derive(Clone)]
pub struct Requests<Q>(flume::Sender<Q>);

impl<Q> Requests<Q> {
    /// Queues a request without waiting; `Err` gives it back when the channel is full or the
    /// thread has ended.
    pub fn try_send(&self, request: Q) -> Result<(), flume::TrySendError<Q>> {
        self.0.try_send(request)
    }
}

/// A named background thread doing one kind of [`Work`].
pub struct Helper<W: Work> {
    name: &'static str,
    requests: Option<flume::Sender<W::Request>>,
    results: Option<flume::Receiver<W::Result>>,
    stop: Arc<AtomicBool>,
    exited: flume::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl<W: Work> Helper<W> {
    /// Starts the thread `name`, with request and result channels of `capacity` each; `waker`
    /// is called after every result. `Err` when the thread cannot be started.
    pub fn start(
        name: &'static str,
        capacity: usize,
        waker: Waker,
        work: W,
    ) -> std::io::Result<Helper<W>> {
        let (requests, request_rx) = flume::bounded::<W::Request>(capacity);
        let (result_tx, results) = flume::bounded::<W::Result>(capacity);
        let (exited_tx, exited) = flume::bounded::<()>(1);
        let stop = Arc::new(AtomicBool::new(false));
        let reply = Reply {
            results: result_tx,
            waker,
            stop: Arc::clone(&stop),
        };
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                serve(name, work, &request_rx, &reply);
                let _ = exited_tx.send(());
            })?;
        Ok(Helper {
            name,
            requests: Some(requests),
            results: Some(results),
            stop,
            exited,
            thread: Some(thread),
        })
    }

    /// Queues a request without waiting; `Err` gives it back when the channel is full (or the
    /// thread has ended).
    pub fn try_send(&self, request: W::Request) -> Result<(), flume::TrySendError<W::Request>> {
        match &self.requests {
            Some(requests) => requests.try_send(request),
            None => Err(flume::TrySendError::Disconnected(request)),
        }
    }

    /// Another sending end of the requests.
    pub fn requests(&self) -> Option<Requests<W::Request>> {
        self.requests.clone().map(Requests)
    }

    /// A result ready now (never blocks).
    pub fn try_recv(&self) -> Option<W::Result> {
        self.results.as_ref()?.try_recv().ok()
    }

    /// The thread's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<W: Work> Drop for Helper<W> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Closing both channels ends the request loop and frees a thread waiting to send.
        self.requests = None;
        self.results = None;
        let Some(thread) = self.thread.take() else {
            return;
        };
        if self.exited.recv_timeout(JOIN_GRACE).is_ok() {
            let _ = thread.join();
        }
        // Still busy: it ends on its own (it never waits on the window).
    }
}

/// The thread's loop: requests, ticks and idle calls, each under a panic guard.
fn serve<W: Work>(
    name: &str,
    mut work: W,
    requests: &flume::Receiver<W::Request>,
    reply: &Reply<W::Result>,
) {
    let mut did_work = false;
    let mut next_tick: Option<Instant> = None;
    loop {
        let interval = work.tick_interval();
        let due = interval.map(|every| *next_tick.get_or_insert_with(|| Instant::now() + every));
        let received = if did_work {
            // Take what is waiting at once; idle only once the burst is done.
            match requests.try_recv() {
                Ok(request) => Ok(request),
                Err(flume::TryRecvError::Empty) => {
                    did_work = false;
                    guarded(name, "idle", || work.idle());
                    continue;
                }
                Err(flume::TryRecvError::Disconnected) => {
                    Err(flume::RecvTimeoutError::Disconnected)
                }
            }
        } else {
            match due {
                Some(due) => requests.recv_deadline(due),
                None => requests
                    .recv()
                    .map_err(|_| flume::RecvTimeoutError::Disconnected),
            }
        };
        match received {
            Ok(request) => {
                did_work = true;
                let ran = catch_unwind(AssertUnwindSafe(|| work.run(&request, reply)));
                if let Err(payload) = ran {
                    let message = panic_text(payload.as_ref());
                    eprintln!("shrinkwrap: the {name} thread panicked: {message}");
                    guarded(name, "panic answer", || {
                        work.panicked(&request, &message, reply)
                    });
                }
            }
            Err(flume::RecvTimeoutError::Timeout) => {
                next_tick = None;
                guarded(name, "tick", || work.tick(reply));
            }
            Err(flume::RecvTimeoutError::Disconnected) => break,
        }
    }
    // The window is gone: finish what the work still owns (e.g. reap processes), then end.
    guarded(name, "idle", || work.idle());
    while work.busy() {
        std::thread::sleep(work.tick_interval().unwrap_or(Duration::from_millis(100)));
        guarded(name, "tick", || work.tick(reply));
    }
}

/// Runs `f`, reporting (not propagating) a panic.
fn guarded(name: &str, what: &str, f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        eprintln!(
            "shrinkwrap: the {name} thread panicked ({what}): {}",
            panic_text(payload.as_ref())
        );
    }
}

/// The message of a panic payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Doubles numbers; panics on 13; counts idle calls.
    struct Doubler {
        idles: Arc<AtomicUsize>,
    }

    impl Work for Doubler {
        type Request = u32;
        type Result = Result<u32, String>;
        fn run(&mut self, request: &u32, reply: &Reply<Self::Result>) {
            assert_ne!(*request, 13, "unlucky");
            reply.send(Ok(request * 2));
        }
        fn panicked(&mut self, request: &u32, message: &str, reply: &Reply<Self::Result>) {
            reply.send(Err(format!("{request}: {message}")));
        }
        fn idle(&mut self) {
            self.idles.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn recv<W: Work>(helper: &Helper<W>) -> W::Result {
        helper
            .results
            .as_ref()
            .unwrap()
            .recv_timeout(Duration::from_secs(60))
            .expect("a result")
    }

    #[test]
    fn results_come_back_in_order_and_a_panic_answers_its_request() {
        let woken = Arc::new(AtomicUsize::new(0));
        let idles = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&woken);
        let helper = Helper::start(
            "shrinkwrap-test-helper",
            4,
            Arc::new(move || {
                counter.fetch_add(1, Ordering::Relaxed);
            }),
            Doubler {
                idles: Arc::clone(&idles),
            },
        )
        .unwrap();
        for n in [1, 13, 5] {
            helper.try_send(n).unwrap();
        }
        assert_eq!(recv(&helper), Ok(2));
        let failed = recv(&helper).unwrap_err();
        assert!(
            failed.starts_with("13: ") && failed.contains("unlucky"),
            "{failed}"
        );
        assert_eq!(recv(&helper), Ok(10), "the thread goes on after a panic");
        drop(helper);
        // The drop joined the thread: every wake-up has happened.
        assert_eq!(woken.load(Ordering::Relaxed), 3, "one wake-up per result");
        assert!(idles.load(Ordering::Relaxed) >= 1, "idle after the burst");
    }

    /// Never answers until it is told to stop.
    struct Stubborn;

    impl Work for Stubborn {
        type Request = ();
        type Result = ();
        fn run(&mut self, _: &(), reply: &Reply<()>) {
            while !reply.stopping() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        fn panicked(&mut self, _: &(), _: &str, _: &Reply<()>) {}
    }

    #[test]
    fn dropping_asks_the_work_to_stop_and_joins_the_thread() {
        let helper = Helper::start("shrinkwrap-test-stop", 1, Arc::new(|| {}), Stubborn).unwrap();
        helper.try_send(()).unwrap();
        let exited = helper.exited.clone();
        drop(helper);
        // The thread ended (the drop joined it): its exit signal was sent and taken.
        assert!(exited.try_recv().is_err());
        assert!(matches!(
            exited.recv_timeout(Duration::from_millis(10)),
            Err(flume::RecvTimeoutError::Disconnected)
        ));
    }

    #[test]
    fn a_full_channel_gives_the_request_back() {
        let helper = Helper::start("shrinkwrap-test-full", 1, Arc::new(|| {}), Stubborn).unwrap();
        helper.try_send(()).unwrap();
        // One request runs (for ever, until the drop), one waits; the next does not fit.
        let mut refused = false;
        for _ in 0..3 {
            refused |= matches!(helper.try_send(()), Err(flume::TrySendError::Full(())));
        }
        assert!(refused);
    }
}
