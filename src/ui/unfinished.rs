//! A queue that survives: the jobs a crash, a `kill -9` or a power cut left unfinished, as the
//! window lists them at start (what, where, how far, when) with Resume and Discard.
//!
//! Listing reads every journal in the state folder, discarding removes files, and setting a
//! journal aside moves it, so all three run on the `shrinkwrap-journals` helper thread (started
//! at the first request); their news comes back over its bounded channel with a repaint.
//! Listing moves nothing: journals that cannot be resumed (damaged, from a newer version, inputs
//! gone) are reported with their one-line reasons (shown in the notice line) and moved into
//! `set-aside/` by the engine's [`set_aside`] once the person resumes or discards a job, as the
//! command line's `resume` does.
//!
//! Owns: [`Unfinished`] (the list the view draws), [`JournalThreads`] (the helper thread).
//! Must not touch: the journal format or resuming (the engine's `list_unfinished`,
//! `discard_unfinished` and `Engine::resume_unfinished` do that), the frame code's thread with
//! any file I/O.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::engine::{SetAside, UnfinishedJob, discard_unfinished, list_unfinished, set_aside};

use super::helper::{Helper, Reply, Waker, Work};

/// Journal requests waiting for the helper thread (one list, and discards pressed quickly).
const JOURNAL_CHANNEL_CAPACITY: usize = 16;

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
    /// Journals that cannot be resumed, found while listing (each shown as its one line), and
    /// where they went once set aside.
    pub set_aside: Vec<SetAside>,
    /// Those journals are being moved into `set-aside/`.
    pub setting_aside: bool,
}

impl Default for Unfinished {
    fn default() -> Self {
        Unfinished {
            status: ListStatus::Off,
            entries: Vec::new(),
            set_aside: Vec::new(),
            setting_aside: false,
        }
    }
}

impl Unfinished {
    /// The journals that cannot be resumed and are not set aside yet, marked as being moved
    /// (the person resumed or discarded a job: they go to `set-aside/` now).
    pub fn take_set_aside(&mut self) -> Vec<SetAside> {
        if self.setting_aside {
            return Vec::new();
        }
        let entries: Vec<SetAside> = self
            .set_aside
            .iter()
            .filter(|e| !e.moved)
            .cloned()
            .collect();
        self.setting_aside = !entries.is_empty();
        entries
    }

    /// Where the journal `journal`, set aside, went.
    pub fn set_aside_done(&mut self, journal: &Path, moved: SetAside) {
        if let Some(listed) = self.set_aside.iter_mut().find(|e| e.journal == journal) {
            *listed = moved;
        }
    }

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

/// What the helper thread sends back.
pub enum JournalNews {
    Listed(Vec<UnfinishedJob>, Vec<SetAside>),
    /// The journals could not be listed (why, as a sentence).
    ListFailed(String),
    /// A discard ended: `Err` is why the journal could not be removed.
    Discarded {
        journal: PathBuf,
        result: Result<(), String>,
    },
    /// Journals that cannot be resumed were set aside: for each journal, where it went, or why
    /// it could not be moved (a sentence).
    SetAside(Vec<(PathBuf, Result<SetAside, String>)>),
}

/// What the helper thread is asked.
pub enum JournalRequest {
    List(PathBuf),
    Discard(Box<UnfinishedJob>),
    SetAside(Vec<SetAside>),
}

/// Lists and discards on the helper thread.
struct JournalWork;

impl Work for JournalWork {
    type Request = JournalRequest;
    type Result = JournalNews;

    fn run(&mut self, request: &JournalRequest, reply: &Reply<JournalNews>) {
        reply.send(match request {
            JournalRequest::List(state_dir) => {
                let (jobs, set_aside) = list_unfinished(state_dir);
                JournalNews::Listed(jobs, set_aside)
            }
            JournalRequest::Discard(job) => JournalNews::Discarded {
                journal: job.journal.clone(),
                result: discard_unfinished(job).map_err(|e| {
                    format!(
                        "Cannot discard the unfinished job {}: {}.",
                        job.spec.display_name(),
                        crate::engine::IoCause::of(e)
                    )
                }),
            },
            JournalRequest::SetAside(entries) => JournalNews::SetAside(
                entries
                    .iter()
                    .map(|entry| {
                        let moved = set_aside(entry).map_err(|e| {
                            format!(
                                "{} (it could not be set aside: {}).",
                                super::notify::capitalize(&entry.to_string()),
                                crate::engine::IoCause::of(e)
                            )
                        });
                        (entry.journal.clone(), moved)
                    })
                    .collect(),
            ),
        });
    }

    fn panicked(&mut self, request: &JournalRequest, message: &str, reply: &Reply<JournalNews>) {
        reply.send(match request {
            JournalRequest::List(_) => JournalNews::ListFailed(format!(
                "The unfinished jobs could not be listed: {message}."
            )),
            JournalRequest::Discard(job) => JournalNews::Discarded {
                journal: job.journal.clone(),
                result: Err(format!(
                    "Cannot discard the unfinished job {}: {message}.",
                    job.spec.display_name()
                )),
            },
            JournalRequest::SetAside(entries) => JournalNews::SetAside(
                entries
                    .iter()
                    .map(|entry| {
                        let why = format!(
                            "{} (it could not be set aside: {message}).",
                            super::notify::capitalize(&entry.to_string())
                        );
                        (entry.journal.clone(), Err(why))
                    })
                    .collect(),
            ),
        });
    }
}

/// Runs listing and discarding on the helper thread.
pub struct JournalThreads {
    helper: Option<Helper<JournalWork>>,
    waker: Waker,
}

impl JournalThreads {
    pub fn new(waker: Waker) -> JournalThreads {
        JournalThreads {
            helper: None,
            waker,
        }
    }

    /// Lists the unfinished jobs in `state_dir` on the helper thread. Returns false when it
    /// could not be asked.
    pub fn list(&mut self, state_dir: PathBuf) -> bool {
        self.ask(JournalRequest::List(state_dir))
    }

    /// Discards `job` (its journal and leftover temporary files) on the helper thread. Returns
    /// false when it could not be asked.
    pub fn discard(&mut self, job: UnfinishedJob) -> bool {
        self.ask(JournalRequest::Discard(Box::new(job)))
    }

    /// Moves `entries` (journals that cannot be resumed) into `set-aside/` on the helper
    /// thread. Returns false when it could not be asked.
    pub fn set_aside(&mut self, entries: Vec<SetAside>) -> bool {
        self.ask(JournalRequest::SetAside(entries))
    }

    fn ask(&mut self, request: JournalRequest) -> bool {
        if self.helper.is_none() {
            match Helper::start(
                "shrinkwrap-journals",
                JOURNAL_CHANNEL_CAPACITY,
                self.waker.clone(),
                JournalWork,
            ) {
                Ok(helper) => self.helper = Some(helper),
                Err(err) => {
                    eprintln!("shrinkwrap: could not start the journal thread: {err}");
                    return false;
                }
            }
        }
        self.helper
            .as_ref()
            .is_some_and(|helper| helper.try_send(request).is_ok())
    }

    /// News ready now (never blocks).
    pub fn try_recv(&self) -> Option<JournalNews> {
        self.helper.as_ref()?.try_recv()
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
