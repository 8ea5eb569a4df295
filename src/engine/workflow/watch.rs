//! Watched folders (`--watch`, the window's "keep watching"): after a job has made what is
//! missing, new and changed files of its inputs are taken as they arrive, each through the same
//! job (so its plan rules apply: `update` skips what is current).
//!
//! [`FolderWatch`] watches a job's inputs on its own thread (`shrinkwrap-watch`, panic-guarded)
//! and hands out batches of files that are ready ([`WatchNews::Ready`], on a bounded channel).
//! A file is ready when it is new or changed since it was last handed out (or since the watch
//! began) and its size and modification time have stayed the same for [`SETTLE`] (1.5 s):
//! between two looks at least that far apart, the second more than [`SETTLE`] after its
//! modification time. A file being copied is never read half-written, as long as its writer
//! does not pause longer than that. Names that copying tools use while writing are passed
//! over until renamed: hidden names (`.name`) and `.part`, `.partial`, `.crdownload`,
//! `.download`, `.tmp`, `~` endings. The job's output folder is never watched.
//!
//! How it sees changes: file-system events (the `notify` crate: inotify on Linux) wake it, and
//! it looks at the folders at once; every [`RESCAN_INTERVAL`] it looks anyway, in case an event
//! was lost or never comes (a network folder accepts a watch but reports no change made by
//! another machine). Where the system refuses a watch (out of inotify watches) or when asked
//! ([`WatchOptions::polling`], for network folders), it looks every [`POLL_INTERVAL`]. Each
//! look walks the inputs and compares sizes and times; no file is opened.
//!
//! [`WatchJobs`] is the policy for submitting what arrives: one watch job at a time, files that
//! arrive meanwhile gathered for the next one (two jobs on one file would claim one output).
//!
//! Owns: the watch thread, the readiness rule, [`WatchJobs`]. Must not touch: file contents,
//! outputs, submitting jobs (the front end submits what [`WatchJobs`] gives it).

use std::collections::{BTreeSet, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::file_list::InputSelection;
use crate::engine::kinds::JobSpec;
use crate::engine::model::events::JobId;
use crate::engine::model::paths::normalize_path;

/// How long a file's size and modification time must stay the same before it is taken: more
/// than a second, so that a writer pausing for a second (a file arriving in two halves a second
/// apart) is not cut in the middle, with half a second to spare for a busy machine's sleeps.
pub const SETTLE: Duration = Duration::from_millis(1500);
/// Between two looks at the folders when no file-system events come.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Between two looks when events come, in case one was lost or never comes.
pub const RESCAN_INTERVAL: Duration = Duration::from_secs(10);
/// Between two looks while a file is settling (and at least between two looks however many
/// events come).
const SETTLING_TICK: Duration = Duration::from_millis(250);
/// Batches handed out and not yet taken by the front end, at most.
pub const NEWS_CHANNEL_CAPACITY: usize = 16;

/// Endings of names that copying and download tools write under before renaming.
const PARTIAL_ENDINGS: &[&str] = &[".part", ".partial", ".crdownload", ".download", ".tmp", "~"];

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// How long a file must stay unchanged before it is taken (default [`SETTLE`]).
    pub settle: Duration,
    /// Look every [`POLL_INTERVAL`] instead of waiting for file-system events (for folders
    /// whose events do not come: network file systems).
    pub polling: bool,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            settle: SETTLE,
            polling: false,
        }
    }
}

/// What a watch tells the front end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchNews {
    /// The watch has taken stock of the inputs: from now on every change is seen. Run the job
    /// itself now (it makes what is missing). `events`: file-system events drive the watch
    /// (else it polls).
    Watching {
        /// Whether file-system events drive the watch.
        events: bool,
    },
    /// These files are new or changed, and settled (sorted).
    Ready(Vec<PathBuf>),
    /// The watch thread stopped on a bug (a panic): what is known of it. Nothing more comes.
    Stopped(String),
}

/// Why a watch cannot start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The watch thread could not be started.
    #[error("cannot start watching: {0}")]
    Thread(String),
}

/// Size and modification time: what "changed" means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    size_bytes: u64,
    mtime: SystemTime,
}

/// A running watch; dropping it stops it.
#[derive(Debug)]
pub struct FolderWatch {
    stop: Arc<AtomicBool>,
    kick: flume::Sender<()>,
    news: flume::Receiver<WatchNews>,
    thread: Option<JoinHandle<()>>,
}

impl FolderWatch {
    /// Starts watching `spec`'s inputs (not its output folder). Returns at once: the watch
    /// thread takes stock of the inputs, then says [`WatchNews::Watching`]; run the job itself
    /// then, and nothing that changes meanwhile is missed.
    pub fn start(spec: &JobSpec, options: WatchOptions) -> Result<FolderWatch, WatchError> {
        let roots: Vec<PathBuf> = spec.inputs().iter().map(|p| normalize_path(p)).collect();
        let exclude = vec![normalize_path(spec.output_path())];
        let (kick_tx, kick_rx) = flume::bounded::<()>(1);
        let (news_tx, news_rx) = flume::bounded(NEWS_CHANNEL_CAPACITY);
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let events_kick = kick_tx.clone();
        let thread = std::thread::Builder::new()
            .name("shrinkwrap-watch".to_owned())
            .spawn(move || {
                let run = catch_unwind(AssertUnwindSafe(|| {
                    // Held for as long as the watch runs.
                    let events = if options.polling {
                        None
                    } else {
                        start_events(&roots, events_kick)
                    };
                    let mut looker = Looker {
                        roots,
                        exclude,
                        settle: options.settle,
                        interval: if events.is_some() {
                            RESCAN_INTERVAL
                        } else {
                            POLL_INTERVAL
                        },
                        handed_out: HashMap::new(),
                        settling: HashMap::new(),
                    };
                    looker.handed_out = looker.look();
                    let watching = WatchNews::Watching {
                        events: events.is_some(),
                    };
                    if news_tx.send(watching).is_ok() {
                        looker.run(&thread_stop, &kick_rx, &news_tx);
                    }
                    drop(events);
                }));
                if let Err(panic) = run {
                    let message = crate::engine::runtime::scheduler::panic_message(&*panic);
                    let _ = news_tx.try_send(WatchNews::Stopped(message));
                }
            })
            .map_err(|e| WatchError::Thread(e.to_string()))?;
        Ok(FolderWatch {
            stop,
            kick: kick_tx,
            news: news_rx,
            thread: Some(thread),
        })
    }

    /// What the watch has to tell (never blocks the watch: it keeps ready files until there is
    /// room).
    pub fn news(&self) -> &flume::Receiver<WatchNews> {
        &self.news
    }

    /// Stops watching and waits for the thread (at most one look at the folders).
    pub fn stop(mut self) {
        self.shut_down();
    }

    /// Stops watching without waiting: for a caller that must never wait (the window's frame
    /// code). The thread ends on its own after the look it may be in (a large or network
    /// folder can take a while); it writes nothing, and its news end with it.
    pub fn stop_without_waiting(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.kick.try_send(());
        // Dropping the handle detaches the thread; `Drop` then has nothing to join.
        drop(self.thread.take());
    }

    fn shut_down(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.kick.try_send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FolderWatch {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// File-system events that wake the watch, when the system gives them.
fn start_events(roots: &[PathBuf], kick: flume::Sender<()>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Any event (or error: a lost event) means "look now"; one pending wake-up is enough.
        let _ = event;
        let _ = kick.try_send(());
    })
    .ok()?;
    for root in roots {
        let mode = if root.is_dir() {
            notify::RecursiveMode::Recursive
        } else {
            notify::RecursiveMode::NonRecursive
        };
        watcher.watch(root, mode).ok()?;
    }
    Some(watcher)
}

/// The watch thread's state.
struct Looker {
    roots: Vec<PathBuf>,
    exclude: Vec<PathBuf>,
    settle: Duration,
    /// Between looks with nothing settling.
    interval: Duration,
    /// What each file was when last handed out (or when the watch began).
    handed_out: HashMap<PathBuf, Stat>,
    /// Files new or changed since: what they are, and since when (first seen so).
    settling: HashMap<PathBuf, (Stat, Instant)>,
}

impl Looker {
    fn run(
        &mut self,
        stop: &AtomicBool,
        kick: &flume::Receiver<()>,
        news: &flume::Sender<WatchNews>,
    ) {
        // Ready files the front end has not had room for yet.
        let mut unsent: BTreeSet<PathBuf> = BTreeSet::new();
        let mut last_look = Instant::now();
        loop {
            let wait = if self.settling.is_empty() && unsent.is_empty() {
                self.interval
            } else {
                SETTLING_TICK
            };
            let _ = kick.recv_timeout(wait);
            if stop.load(Ordering::SeqCst) {
                return;
            }
            // However many events come, at most one look per tick.
            let since = last_look.elapsed();
            if since < SETTLING_TICK {
                std::thread::sleep(SETTLING_TICK - since);
            }
            while kick.try_recv().is_ok() {}
            last_look = Instant::now();
            let now = self.look();
            unsent.extend(self.ready(&now));
            if !unsent.is_empty() {
                let batch: Vec<PathBuf> = unsent.iter().cloned().collect();
                match news.try_send(WatchNews::Ready(batch)) {
                    Ok(()) => unsent.clear(),
                    Err(flume::TrySendError::Full(_)) => {}
                    Err(flume::TrySendError::Disconnected(_)) => return,
                }
            }
        }
    }

    /// The files that became ready at this look (and forgets files that are gone).
    fn ready(&mut self, now: &HashMap<PathBuf, Stat>) -> Vec<PathBuf> {
        let mut ready = Vec::new();
        let at = Instant::now();
        let wall = SystemTime::now();
        for (path, stat) in now {
            if self.handed_out.get(path) == Some(stat) {
                self.settling.remove(path);
                continue;
            }
            match self.settling.get(path) {
                Some((seen, since)) if seen == stat => {
                    let old_enough = wall
                        .duration_since(stat.mtime)
                        .is_ok_and(|age| age > self.settle);
                    if at.duration_since(*since) >= self.settle && old_enough {
                        ready.push(path.clone());
                        self.handed_out.insert(path.clone(), *stat);
                        self.settling.remove(path);
                    }
                }
                _ => {
                    self.settling.insert(path.clone(), (*stat, at));
                }
            }
        }
        self.settling.retain(|p, _| now.contains_key(p));
        self.handed_out.retain(|p, _| now.contains_key(p));
        ready.sort();
        ready
    }

    /// Every regular file under the roots (not in the output folder, not a partial name).
    fn look(&self) -> HashMap<PathBuf, Stat> {
        let mut out = HashMap::new();
        for root in &self.roots {
            let mut walker = walkdir::WalkDir::new(root).follow_links(false).into_iter();
            while let Some(entry) = walker.next() {
                let Ok(entry) = entry else { continue };
                let path = entry.path();
                if entry.file_type().is_dir() {
                    if entry.depth() > 0 && self.exclude.iter().any(|x| x == path) {
                        walker.skip_current_dir();
                    }
                    continue;
                }
                if !entry.file_type().is_file() || is_partial_name(path) {
                    continue;
                }
                if let Ok(meta) = entry.metadata()
                    && let Ok(mtime) = meta.modified()
                {
                    out.insert(
                        path.to_path_buf(),
                        Stat {
                            size_bytes: meta.len(),
                            mtime,
                        },
                    );
                }
            }
        }
        out
    }
}

/// A name copying tools write under before renaming (hidden, or a partial ending).
fn is_partial_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.starts_with('.') || PARTIAL_ENDINGS.iter().any(|e| name.ends_with(e))
}

/// One watch job at a time: what arrives while one runs waits for it to end, then goes as the
/// next. Each job is the watched job for only the files that arrived (same inputs, so every
/// output keeps its path).
#[derive(Debug)]
pub struct WatchJobs {
    spec: JobSpec,
    running: Option<JobId>,
    waiting: BTreeSet<PathBuf>,
}

impl WatchJobs {
    /// The policy for watching `spec`'s inputs.
    pub fn new(spec: JobSpec) -> WatchJobs {
        WatchJobs {
            spec,
            running: None,
            waiting: BTreeSet::new(),
        }
    }

    /// Files are ready: the job to submit now, if none is running (then say [`Self::started`]).
    pub fn ready(&mut self, files: Vec<PathBuf>) -> Option<JobSpec> {
        self.waiting.extend(files);
        self.next()
    }

    /// The job given by [`Self::ready`] or [`Self::finished`] was submitted as `id`.
    pub fn started(&mut self, id: JobId) {
        self.running = Some(id);
    }

    /// Job `id` ended: the next job to submit, if files are waiting.
    pub fn finished(&mut self, id: JobId) -> Option<JobSpec> {
        if self.running == Some(id) {
            self.running = None;
        }
        self.next()
    }

    /// Whether a watch job runs or files wait.
    pub fn busy(&self) -> bool {
        self.running.is_some() || !self.waiting.is_empty()
    }

    fn next(&mut self) -> Option<JobSpec> {
        if self.running.is_some() || self.waiting.is_empty() {
            return None;
        }
        let mut spec = self.spec.clone();
        InputSelection {
            inputs: spec.inputs().to_vec(),
            only: std::mem::take(&mut self.waiting).into_iter().collect(),
        }
        .apply_to(&mut spec);
        Some(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(size_bytes: u64, secs_ago: u64) -> Stat {
        Stat {
            size_bytes,
            mtime: SystemTime::now() - Duration::from_secs(secs_ago),
        }
    }

    #[test]
    fn a_file_is_ready_once_it_stays_the_same_long_enough() {
        let mut looker = Looker {
            roots: Vec::new(),
            exclude: Vec::new(),
            settle: Duration::from_millis(50),
            interval: POLL_INTERVAL,
            handed_out: HashMap::new(),
            settling: HashMap::new(),
        };
        let a = PathBuf::from("/w/a.jpg");
        let old = stat(10, 60);
        let now = HashMap::from([(a.clone(), old)]);
        assert!(looker.ready(&now).is_empty(), "first seen: settling");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(looker.ready(&now), std::slice::from_ref(&a));
        assert!(looker.ready(&now).is_empty(), "handed out once");
        // Changed: settles again. Changed again before it settled: starts over.
        let grown = HashMap::from([(a.clone(), stat(20, 60))]);
        assert!(looker.ready(&grown).is_empty());
        let grown_more = HashMap::from([(a.clone(), stat(30, 60))]);
        std::thread::sleep(Duration::from_millis(60));
        assert!(looker.ready(&grown_more).is_empty());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(looker.ready(&grown_more), std::slice::from_ref(&a));
        // Modified just now: not ready however long it was seen so.
        let fresh = HashMap::from([(a.clone(), stat(40, 0))]);
        looker.settle = Duration::from_secs(3600);
        looker.ready(&fresh);
        assert!(looker.ready(&fresh).is_empty());
    }

    #[test]
    fn a_watch_stopped_without_waiting_ends_on_its_own() {
        use crate::engine::kinds::thumbs::spec::ThumbSpec;
        let dir = tempfile::tempdir().unwrap();
        let spec = JobSpec::Thumbs(ThumbSpec::new(
            vec![dir.path().to_path_buf()],
            dir.path().join("out"),
        ));
        let options = WatchOptions {
            polling: true,
            ..WatchOptions::default()
        };
        let watch = FolderWatch::start(&spec, options).unwrap();
        let news = watch.news().clone();
        assert!(matches!(
            news.recv_timeout(Duration::from_secs(60)),
            Ok(WatchNews::Watching { .. })
        ));
        watch.stop_without_waiting();
        // The thread ends by itself: its end of the news channel closes, with no news before.
        assert_eq!(
            news.recv_timeout(Duration::from_secs(60)).err(),
            Some(flume::RecvTimeoutError::Disconnected)
        );
    }

    #[test]
    fn partial_names_wait_for_their_rename() {
        for name in [
            ".a.jpg.X1b2",
            "a.jpg.part",
            "a.jpg.crdownload",
            "a.jpg~",
            "a.tmp",
        ] {
            assert!(is_partial_name(Path::new(name)), "{name}");
        }
        assert!(!is_partial_name(Path::new("/x/.hidden-dir/a.jpg")));
        assert!(!is_partial_name(Path::new("a.jpg")));
    }

    #[test]
    fn one_watch_job_at_a_time() {
        use crate::engine::kinds::thumbs::spec::ThumbSpec;
        let spec = JobSpec::Thumbs(ThumbSpec::new(vec!["/w".into()], "/t".into()));
        let mut jobs = WatchJobs::new(spec);
        let first = jobs.ready(vec!["/w/a.jpg".into()]).unwrap();
        assert_eq!(InputSelection::of(&first).only, [PathBuf::from("/w/a.jpg")]);
        jobs.started(JobId(1));
        assert!(jobs.ready(vec!["/w/b.jpg".into()]).is_none());
        assert!(
            jobs.ready(vec!["/w/c.jpg".into(), "/w/b.jpg".into()])
                .is_none()
        );
        let next = jobs.finished(JobId(1)).unwrap();
        assert_eq!(InputSelection::of(&next).inputs, [PathBuf::from("/w")]);
        assert_eq!(
            InputSelection::of(&next).only,
            [PathBuf::from("/w/b.jpg"), PathBuf::from("/w/c.jpg")]
        );
        jobs.started(JobId(2));
        assert!(jobs.finished(JobId(2)).is_none());
        assert!(!jobs.busy());
    }
}
