//! "Keep watching": a finished thumbnail or extract card goes on watching its inputs (the
//! engine's [`FolderWatch`]); new and changed files, once settled, go through the card's job
//! again (its plan rules: `update` skips what is current), one watch job at a time (the
//! engine's [`WatchJobs`]). The watch jobs have no card of their own: what they make is listed
//! on the watching card, with the time.
//!
//! Each watch's news is forwarded by a `shrinkwrap-watch-news` helper thread (it waits on the
//! watch's channel and wakes the window), so the frame code only ever takes what has come.
//!
//! Owns: [`Watches`] (every card's running watch and its jobs), [`CardWatch`] (what the card
//! shows). Must not touch: when a file is ready or what a watch job is (the engine's), the
//! frame code's thread with waiting, drawing.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::engine::workflow::watch::{FolderWatch, WatchJobs, WatchNews, WatchOptions};
use crate::engine::{JobId, JobSpec, OutputShape};

use super::helper::{Helper, Reply, Waker, Work};

/// How many made files a card lists (the most recent).
pub const MADE_SHOWN: usize = 50;
/// How often the forwarder looks whether it is being stopped while no news comes.
const FORWARD_TICK: Duration = Duration::from_millis(200);

/// What a watching card shows: plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct CardWatch {
    /// When the watch began.
    pub since: SystemTime,
    /// `None` until the watch has taken stock; then whether file-system events drive it (else
    /// it looks every second).
    pub events: Option<bool>,
    /// What its jobs made, the most recent last (at most [`MADE_SHOWN`]), with when.
    pub made: Vec<(PathBuf, SystemTime)>,
    /// How many files its jobs made in all.
    pub made_count: u64,
    /// A watch job runs or files wait for one.
    pub busy: bool,
    /// What went wrong, if the watch stopped by itself or a job failed.
    pub problem: Option<String>,
}

impl CardWatch {
    pub fn new(since: SystemTime) -> CardWatch {
        CardWatch {
            since,
            events: None,
            made: Vec::new(),
            made_count: 0,
            busy: false,
            problem: None,
        }
    }

    /// Adds what a watch job made at `when`.
    pub fn record(&mut self, outputs: &[PathBuf], when: SystemTime) {
        self.made_count += outputs.len() as u64;
        self.made
            .extend(outputs.iter().map(|output| (output.clone(), when)));
        let extra = self.made.len().saturating_sub(MADE_SHOWN);
        self.made.drain(..extra);
    }
}

/// Whether a card with `spec` can keep watching: its kind fills a folder, and it is the whole
/// job (not a retry of some files, not a shard).
pub fn can_watch(spec: &JobSpec) -> bool {
    spec.kind().output == OutputShape::FolderOfFiles
        && spec.only().is_empty()
        && spec.shard().is_none()
        && !spec.inputs().is_empty()
}

/// Forwards one watch's news to the window.
struct ForwardWork {
    card: JobId,
}

impl Work for ForwardWork {
    type Request = flume::Receiver<WatchNews>;
    type Result = (JobId, WatchNews);

    fn run(&mut self, news: &flume::Receiver<WatchNews>, reply: &Reply<(JobId, WatchNews)>) {
        while !reply.stopping() {
            match news.recv_timeout(FORWARD_TICK) {
                Ok(item) => {
                    if !reply.send((self.card, item)) {
                        return;
                    }
                }
                Err(flume::RecvTimeoutError::Timeout) => {}
                Err(flume::RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn panicked(
        &mut self,
        _: &flume::Receiver<WatchNews>,
        message: &str,
        reply: &Reply<Self::Result>,
    ) {
        reply.send((self.card, WatchNews::Stopped(message.to_owned())));
    }
}

/// One card's watch.
struct Watching {
    card: JobId,
    /// Stopped without waiting when the card's watch stops or the window closes (see `Drop`).
    watch: Option<FolderWatch>,
    forwarder: Helper<ForwardWork>,
    jobs: WatchJobs,
    /// The spec of the card's job (the catch-up job once the watch has taken stock).
    spec: JobSpec,
    /// Every job this watch submitted.
    job_ids: Vec<JobId>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        if let Some(watch) = self.watch.take() {
            // The frame code never waits: the watch ends after the look it may be in.
            watch.stop_without_waiting();
        }
    }
}

/// Every card's running watch.
pub struct Watches {
    watching: Vec<Watching>,
    waker: Waker,
}

impl Watches {
    pub fn new(waker: Waker) -> Watches {
        Watches {
            watching: Vec::new(),
            waker,
        }
    }

    /// Starts watching `spec`'s inputs for `card`. Returns at once (the watch takes stock on
    /// its own thread, then says so). The error is a sentence.
    pub fn start(&mut self, card: JobId, spec: JobSpec) -> Result<(), String> {
        if self.is_watching(card) {
            return Ok(());
        }
        let watch = FolderWatch::start(&spec, WatchOptions::default())
            .map_err(|e| format!("Not watching: {e}."))?;
        let forwarder = Helper::start(
            "shrinkwrap-watch-news",
            crate::engine::workflow::watch::NEWS_CHANNEL_CAPACITY,
            self.waker.clone(),
            ForwardWork { card },
        )
        .map_err(|e| format!("Not watching: its helper thread could not be started ({e})."))?;
        forwarder
            .try_send(watch.news().clone())
            .map_err(|_| "Not watching: its helper thread has ended.".to_owned())?;
        self.watching.push(Watching {
            card,
            watch: Some(watch),
            forwarder,
            jobs: WatchJobs::new(spec.clone()),
            spec,
            job_ids: Vec::new(),
        });
        Ok(())
    }

    pub fn is_watching(&self, card: JobId) -> bool {
        self.watching.iter().any(|w| w.card == card)
    }

    /// Stops `card`'s watch; returns its jobs (the window cancels those still running).
    pub fn stop(&mut self, card: JobId) -> Vec<JobId> {
        let Some(at) = self.watching.iter().position(|w| w.card == card) else {
            return Vec::new();
        };
        let mut watching = self.watching.remove(at);
        std::mem::take(&mut watching.job_ids)
    }

    /// News from a watch (never blocks).
    pub fn try_recv(&mut self) -> Option<(JobId, WatchNews)> {
        self.watching.iter().find_map(|w| w.forwarder.try_recv())
    }

    /// The card whose watch submitted job `job`.
    pub fn owner_of(&self, job: JobId) -> Option<JobId> {
        self.watching
            .iter()
            .find(|w| w.job_ids.contains(&job))
            .map(|w| w.card)
    }

    fn of(&mut self, card: JobId) -> Option<&mut Watching> {
        self.watching.iter_mut().find(|w| w.card == card)
    }

    /// The watch has taken stock: the card's whole job, to run now (it makes what arrived
    /// before the watch began; what is current is skipped), unless a watch job runs.
    pub fn caught_up(&mut self, card: JobId) -> Option<JobSpec> {
        let w = self.of(card)?;
        (!w.jobs.busy()).then(|| w.spec.clone())
    }

    /// Files are ready: the job to submit now, if none runs.
    pub fn ready(&mut self, card: JobId, files: Vec<PathBuf>) -> Option<JobSpec> {
        self.of(card)?.jobs.ready(files)
    }

    /// A job of `card`'s watch was submitted as `id`.
    pub fn started(&mut self, card: JobId, id: JobId) {
        if let Some(w) = self.of(card) {
            w.jobs.started(id);
            w.job_ids.push(id);
        }
    }

    /// Job `id` of `card`'s watch ended: the next job to submit, if files wait.
    pub fn finished(&mut self, card: JobId, id: JobId) -> Option<JobSpec> {
        self.of(card)?.jobs.finished(id)
    }

    /// Whether `card`'s watch has a job running or files waiting.
    pub fn busy(&self, card: JobId) -> bool {
        self.watching
            .iter()
            .any(|w| w.card == card && w.jobs.busy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_lists_the_most_recent_files_it_made() {
        let mut card = CardWatch::new(SystemTime::UNIX_EPOCH);
        let files: Vec<PathBuf> = (0..MADE_SHOWN + 5)
            .map(|i| PathBuf::from(format!("/t/{i}.jpg")))
            .collect();
        card.record(&files, SystemTime::UNIX_EPOCH);
        assert_eq!(card.made_count, (MADE_SHOWN + 5) as u64);
        assert_eq!(card.made.len(), MADE_SHOWN);
        assert_eq!(card.made.last().unwrap().0, files[MADE_SHOWN + 4]);
    }

    #[test]
    fn only_a_whole_job_that_fills_a_folder_can_watch() {
        let thumbs = JobSpec::Thumbs(crate::engine::ThumbSpec::new(
            vec![PathBuf::from("/p")],
            PathBuf::from("/t"),
        ));
        assert!(can_watch(&thumbs));
        let zip = JobSpec::Zip(crate::engine::ZipSpec::new(
            vec![PathBuf::from("/p")],
            PathBuf::from("/p.zip"),
        ));
        assert!(!can_watch(&zip));
        let mut retry = thumbs.clone();
        retry.set_only(vec![PathBuf::from("/p/a.jpg")]);
        assert!(!can_watch(&retry));
    }
}
