//! "Keep watching" on a card: starting and stopping a card's watch, its news (taken stock, files
//! ready, stopped), submitting its jobs one at a time, and listing what they made on the card.
//!
//! Owns: those steps. Must not touch: anything blocking (the watch and its news run on their own
//! threads, see [`watching`](super::super::watching)), when a file is ready (the engine's).

use std::time::SystemTime;

use crate::engine::workflow::watch::WatchNews;
use crate::engine::{JobEvent, JobId, JobOutcome, JobSpec};

use super::super::state::NoticeLevel;
use super::super::watching::{CardWatch, can_watch};
use super::App;

impl App {
    /// "Keep watching": the finished card `card` watches its inputs.
    pub(super) fn keep_watching(&mut self, card: JobId) {
        let Some(row) = self.state.queue.row(card) else {
            return;
        };
        if !row.is_finished() || !can_watch(&row.spec) || row.watch.is_some() {
            return;
        }
        let spec = row.spec.clone();
        match self.helpers.watches.start(card, spec) {
            Ok(()) => {
                if let Some(row) = self.state.queue.row_mut(card) {
                    row.watch = Some(CardWatch::new(SystemTime::now()));
                }
            }
            Err(text) => self.state.notify(NoticeLevel::Warning, text),
        }
    }

    /// "Stop watching": the watch ends; a watch job still running is cancelled (it leaves
    /// nothing partial).
    pub(super) fn stop_watching(&mut self, card: JobId) {
        for id in self.helpers.watches.stop(card) {
            self.engine.cancel(id);
        }
        if let Some(row) = self.state.queue.row_mut(card) {
            row.watch = None;
        }
    }

    /// News from `card`'s watch.
    pub(super) fn apply_watch_news(&mut self, card: JobId, news: WatchNews) {
        if !self.helpers.watches.is_watching(card) {
            return;
        }
        match news {
            WatchNews::Watching { events } => {
                if let Some(watch) = self.watch_of(card) {
                    watch.events = Some(events);
                }
                // What arrived before the watch took stock: the whole job again (what is
                // current is skipped).
                if let Some(spec) = self.helpers.watches.caught_up(card) {
                    self.submit_watch_job(card, spec);
                }
            }
            WatchNews::Ready(files) => {
                if let Some(spec) = self.helpers.watches.ready(card, files) {
                    self.submit_watch_job(card, spec);
                }
                self.mark_watch_busy(card);
            }
            WatchNews::Stopped(why) => {
                self.helpers.watches.stop(card);
                if let Some(watch) = self.watch_of(card) {
                    watch.problem = Some(format!("Stopped watching: {why}"));
                    watch.busy = false;
                }
            }
        }
    }

    /// An event of a job `card`'s watch submitted: its end is listed on the card, and the next
    /// watch job goes.
    pub(super) fn take_watch_event(&mut self, card: JobId, event: JobEvent) {
        let JobEvent::Finished(report) = event else {
            return;
        };
        let id = report.progress.job;
        let now = SystemTime::now();
        if let Some(watch) = self.watch_of(card) {
            watch.record(&report.outputs, now);
            watch.problem = match report.outcome {
                JobOutcome::Done => None,
                _ => {
                    let errors = report.problems.len();
                    Some(match &report.failure {
                        Some(failure) => format!("A watch job failed: {failure}"),
                        None if errors > 0 => format!(
                            "The last watch job had {}",
                            super::super::format::plural(errors as u64, "problem", "problems")
                        ),
                        None => "The last watch job did not finish".to_owned(),
                    })
                }
            };
        }
        if let Some(spec) = self.helpers.watches.finished(card, id) {
            self.submit_watch_job(card, spec);
        }
        self.mark_watch_busy(card);
        // The disk changed: what Start would do now may differ.
        self.state.preview.invalidate(std::time::Instant::now());
    }

    fn submit_watch_job(&mut self, card: JobId, spec: JobSpec) {
        match self.engine.submit(spec) {
            Ok(id) => self.helpers.watches.started(card, id),
            Err(e) => {
                if let Some(watch) = self.watch_of(card) {
                    watch.problem = Some(format!("A watch job was not queued: {e}"));
                }
            }
        }
        self.mark_watch_busy(card);
    }

    fn mark_watch_busy(&mut self, card: JobId) {
        let busy = self.helpers.watches.busy(card);
        if let Some(watch) = self.watch_of(card) {
            watch.busy = busy;
        }
    }

    fn watch_of(&mut self, card: JobId) -> Option<&mut CardWatch> {
        self.state.queue.row_mut(card)?.watch.as_mut()
    }
}
