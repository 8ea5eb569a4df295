//! A queue that survives: the jobs a crash, a `kill -9` or a power cut left unfinished, as the
//! window lists them at start (what, where, how far, when) with Resume and Discard.
//!
//! Listing reads every journal in the state folder and discarding removes files, so both run on
//! `shrinkwrap-journals` helper threads; their news comes back over a channel with a repaint.
//! Journals that cannot be resumed (damaged, from a newer version, inputs gone) are set aside by
//! the engine while listing; their one-line reasons are kept here for the notice line.
//!
//! Owns: [`Unfinished`] (the list the view draws), [`JournalThreads`] (the helper threads).
//! Must not touch: the journal format or resuming (the engine's `list_unfinished`,
//! `discard_unfinished` and `Engine::resume_unfinished` do that), the frame code's thread with
//! any file I/O.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::engine::{SetAside, UnfinishedJob, discard_unfinished, list_unfinished};

/// Where the list stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStatus {
    /// No state folder: journals are off, nothing to list.
    Off,
    /// The helper thread is reading the journals.
    Listing,
    Listed,
}

/// One unfinished job in the list.
#[derive(Debug, Clone, PartialEq)]
pub struct UnfinishedEntry {
    pub job: UnfinishedJob,
    /// Discard was pressed; its files are being removed.
    pub discarding: bool,
}

impl UnfinishedEntry {
    /// "12 of 40 thumbnails done", "not planned yet".
    pub fn done_text(&self) -> String {
        let unit = self.job.spec.kind().output_noun;
        if self.job.outputs_total == 0 {
            "stopped before its plan was made".to_owned()
        } else {
            format!(
                "{} of {} done",
                super::format::count(self.job.outputs_done),
                super::format::plural(self.job.outputs_total, unit.0, unit.1)
            )
        }
    }

    /// "started 5 min ago", "started 2026-03-01 14:05".
    pub fn started_text(&self, now: SystemTime) -> String {
        started_text(self.job.started, now)
    }
}

/// "started 40 s ago", "started 5 min ago", "started 3 h ago", "started 2026-03-01 14:05"
/// (local time, after a day).
pub fn started_text(started: SystemTime, now: SystemTime) -> String {
    let ago = now.duration_since(started).unwrap_or_default().as_secs();
    if ago < 60 {
        format!("started {ago} s ago")
    } else if ago < 3600 {
        format!("started {} min ago", ago / 60)
    } else if ago < 24 * 3600 {
        format!("started {} h ago", ago / 3600)
    } else {
        let local: chrono::DateTime<chrono::Local> = started.into();
        format!("started {}", local.format("%Y-%m-%d %H:%M"))
    }
}

/// The unfinished jobs found at start, as the window shows them.
#[derive(Debug, Clone)]
pub struct Unfinished {
    pub status: ListStatus,
    pub entries: Vec<UnfinishedEntry>,
    /// Journals set aside while listing (each shown as its one line).
    pub set_aside: Vec<SetAside>,
}

impl Default for Unfinished {
    fn default() -> Self {
        Unfinished {
            status: ListStatus::Off,
            entries: Vec::new(),
            set_aside: Vec::new(),
        }
    }
}

impl Unfinished {
    pub fn entry(&self, journal: &Path) -> Option<&UnfinishedEntry> {
        self.entries.iter().find(|e| e.job.journal == journal)
    }

    /// Takes a job out of the list (it is being resumed).
    pub fn take(&mut self, journal: &Path) -> Option<UnfinishedJob> {
        let at = self
            .entries
            .iter()
            .position(|e| e.job.journal == journal && !e.discarding)?;
        Some(self.entries.remove(at).job)
    }

    /// Every job that can be resumed now (not being discarded), taken out of the list.
    pub fn take_all(&mut self) -> Vec<UnfinishedJob> {
        let (discarding, resumable): (Vec<UnfinishedEntry>, Vec<UnfinishedEntry>) =
            std::mem::take(&mut self.entries)
                .into_iter()
                .partition(|e| e.discarding);
        self.entries = discarding;
        resumable.into_iter().map(|e| e.job).collect()
    }
}

/// What the helper threads send back.
pub enum JournalNews {
    Listed(Vec<UnfinishedJob>, Vec<SetAside>),
    /// A discard ended: `Err` is why the journal could not be removed.
    Discarded {
        journal: PathBuf,
        result: Result<(), String>,
    },
}

/// Runs listing and discarding on helper threads.
pub struct JournalThreads {
    news_tx: flume::Sender<JournalNews>,
    news: flume::Receiver<JournalNews>,
    waker: Arc<dyn Fn() + Send + Sync>,
}

impl JournalThreads {
    pub fn new(waker: Arc<dyn Fn() + Send + Sync>) -> JournalThreads {
        // Bounded: a helper thread waits (never the window) when news piles up unread.
        let (news_tx, news) = flume::bounded(16);
        JournalThreads {
            news_tx,
            news,
            waker,
        }
    }

    /// Lists the unfinished jobs in `state_dir` on a helper thread. Returns false when the
    /// thread could not start.
    pub fn list(&self, state_dir: PathBuf) -> bool {
        self.spawn(move || {
            let (jobs, set_aside) = list_unfinished(&state_dir);
            JournalNews::Listed(jobs, set_aside)
        })
    }

    /// Discards `job` (its journal and leftover temporary files) on a helper thread.
    pub fn discard(&self, job: UnfinishedJob) -> bool {
        self.spawn(move || JournalNews::Discarded {
            journal: job.journal.clone(),
            result: discard_unfinished(&job).map_err(|e| {
                format!(
                    "Cannot discard the unfinished job {}: {}.",
                    job.spec.display_name(),
                    crate::engine::IoCause::of(e)
                )
            }),
        })
    }

    fn spawn(&self, work: impl FnOnce() -> JournalNews + Send + 'static) -> bool {
        let news = self.news_tx.clone();
        let waker = Arc::clone(&self.waker);
        std::thread::Builder::new()
            .name("shrinkwrap-journals".to_owned())
            .spawn(move || {
                let _ = news.send(work());
                waker();
            })
            .is_ok()
    }

    /// News ready now (never blocks).
    pub fn try_recv(&self) -> Option<JournalNews> {
        self.news.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn when_a_job_started_reads_naturally() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = |secs: u64| now - Duration::from_secs(secs);
        assert_eq!(started_text(at(42), now), "started 42 s ago");
        assert_eq!(started_text(at(5 * 60 + 3), now), "started 5 min ago");
        assert_eq!(started_text(at(3 * 3600), now), "started 3 h ago");
        let older = started_text(at(3 * 24 * 3600), now);
        assert!(older.starts_with("started 2027-01-"), "{older}");
    }
}
