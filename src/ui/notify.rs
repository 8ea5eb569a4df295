//! "When it is done": the desktop notification and the window title's outcome when a job or the
//! whole queue finishes while the window is unfocused or minimized.
//!
//! The words come from [`Finishes`], a plain record of the jobs that ended since the person last
//! looked at the window. The notification is sent over D-Bus by `notify-rust` (pure Rust, zbus)
//! on the `shrinkwrap-notify` helper thread, started at the first notification: a frame never
//! waits on D-Bus. No session bus or no notification service means nothing is shown: never an
//! error, and never a wait for the window (the channel is bounded and never blocked on; a
//! notification that finds it full is dropped, a newer one follows anyway).
//! Later notifications of one unfocused spell replace the earlier one instead of piling up.
//!
//! Owns: [`Finishes`], [`DesktopNotification`], [`Notifier`].
//! Must not touch: the engine, egui (the app decides when the window is unfocused and sets the
//! title), the frame code's thread with any D-Bus call.

use crate::engine::JobOutcome;
use crate::engine::OutputShape;

use super::format;
use super::helper::{Helper, Reply, Work};
use super::queue::JobRow;

/// Notifications waiting for the thread; more are dropped (a newer one follows anyway).
const NOTIFY_CHANNEL_CAPACITY: usize = 4;
/// How long the notification stays, in milliseconds (the server may choose otherwise).
const NOTIFICATION_TIMEOUT_MS: u32 = 10_000;

/// One notification: a title line and a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesktopNotification {
    pub summary: String,
    pub body: String,
    /// Something failed: the server may show it longer or in another colour.
    pub important: bool,
    /// A notification of the same unfocused spell replaces the previous one.
    pub replaces_previous: bool,
}

/// How one job ended, as the notification and the title tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Finish {
    name: String,
    /// The card's words: "done", "done with 2 errors", "failed: ...", "nothing made".
    words: String,
    outcome: JobOutcome,
    /// A job that made nothing is not "done" in the counts.
    made_nothing: bool,
    /// Where the output went ("in /home/me/photos/thumbnails"), when something was made.
    place: Option<String>,
}

/// The jobs that ended while the person was not looking, since the window last had focus.
#[derive(Debug, Default)]
pub struct Finishes {
    unseen: Vec<Finish>,
}

impl Finishes {
    /// Notes a finished row (its report is in); returns the notification to send now.
    /// `still_active` is how many jobs are queued or running after it.
    pub fn record(&mut self, row: &JobRow, still_active: usize) -> Option<DesktopNotification> {
        let report = row.report.as_ref()?;
        let made_nothing = row.made_nothing();
        let place = (!made_nothing).then(|| match row.kind.output {
            OutputShape::OneFile => format!("{}", row.output.display()),
            OutputShape::FolderOfFiles => format!(
                "{} in {}",
                format::plural(
                    report.outputs.len() as u64,
                    row.kind.output_noun.0,
                    row.kind.output_noun.1
                ),
                row.output.display()
            ),
        });
        let replaces_previous = !self.unseen.is_empty();
        self.unseen.push(Finish {
            name: row.name.clone(),
            words: row.outcome_words().unwrap_or_default(),
            outcome: report.outcome,
            made_nothing,
            place,
        });
        let mut note = if still_active > 0 || self.unseen.len() == 1 {
            self.job_notification(still_active)
        } else {
            self.queue_notification()
        };
        note.replaces_previous = replaces_previous;
        Some(note)
    }

    /// The person looked at the window: the outcome leaves the title.
    pub fn seen(&mut self) {
        self.unseen.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.unseen.is_empty()
    }

    /// The window title while there are unseen outcomes, e.g. "Done: photos.zip — Shrinkwrap",
    /// "3 jobs finished: 2 done, 1 failed — Shrinkwrap". `None` when nothing is unseen.
    pub fn title(&self, still_active: usize) -> Option<String> {
        let last = self.unseen.last()?;
        let text = if self.unseen.len() == 1 {
            format!("{}: {}", capitalize(&last.words), last.name)
        } else {
            format!(
                "{} finished: {}",
                format::plural(self.unseen.len() as u64, "job", "jobs"),
                self.counts()
            )
        };
        Some(if still_active > 0 {
            format!(
                "{text} · {} left — Shrinkwrap",
                format::plural(still_active as u64, "job", "jobs")
            )
        } else {
            format!("{text} — Shrinkwrap")
        })
    }

    fn job_notification(&self, still_active: usize) -> DesktopNotification {
        let Some(last) = self.unseen.last() else {
            return self.queue_notification();
        };
        let mut body = Vec::new();
        if let Some(place) = &last.place {
            body.push(capitalize(place));
        }
        body.push(if still_active > 0 {
            format!(
                "{} still in the queue.",
                format::plural(still_active as u64, "job", "jobs")
            )
        } else {
            "The queue is empty.".to_owned()
        });
        DesktopNotification {
            summary: format!("{}: {}", last.name, last.words),
            body: body.join("\n"),
            important: is_bad(last.outcome),
            replaces_previous: false,
        }
    }

    fn queue_notification(&self) -> DesktopNotification {
        DesktopNotification {
            summary: format!(
                "All {} finished",
                format::plural(self.unseen.len() as u64, "job", "jobs")
            ),
            body: format!("{}.", capitalize(&self.counts())),
            important: self.unseen.iter().any(|f| is_bad(f.outcome)),
            replaces_previous: false,
        }
    }

    /// "2 done, 1 with errors, 1 failed, 1 cancelled, 1 stopped, 1 made nothing".
    fn counts(&self) -> String {
        let count = |pred: &dyn Fn(&Finish) -> bool| self.unseen.iter().filter(|f| pred(f)).count();
        let parts = [
            (
                count(&|f| f.outcome == JobOutcome::Done && !f.made_nothing),
                "done",
            ),
            (
                count(&|f| f.outcome == JobOutcome::DoneWithErrors),
                "with errors",
            ),
            (count(&|f| f.outcome == JobOutcome::Failed), "failed"),
            (count(&|f| f.outcome == JobOutcome::Cancelled), "cancelled"),
            (count(&|f| f.outcome == JobOutcome::Stopped), "stopped"),
            (
                count(&|f| f.outcome == JobOutcome::Done && f.made_nothing),
                "made nothing",
            ),
        ];
        parts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, words)| format!("{n} {words}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn is_bad(outcome: JobOutcome) -> bool {
    matches!(outcome, JobOutcome::Failed | JobOutcome::DoneWithErrors)
}

pub fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Sends [`DesktopNotification`]s from its own thread, or only records them (tests, and
/// `--screenshot` runs, which must not disturb the desktop).
pub struct Notifier {
    desktop: bool,
    thread: Option<Helper<NotifyWork>>,
    /// Every notification asked for, newest last (the most recent few).
    sent: Vec<DesktopNotification>,
}

/// How many past notifications [`Notifier::sent`] keeps.
const SENT_KEPT: usize = 16;

impl Notifier {
    /// A notifier that shows notifications on the desktop when `desktop` is true.
    pub fn new(desktop: bool) -> Notifier {
        Notifier {
            desktop,
            thread: None,
            sent: Vec::new(),
        }
    }

    /// Shows `note` without waiting: handed to the notification thread (started now if needed);
    /// dropped when the thread is busy with earlier ones or could not start.
    pub fn send(&mut self, note: DesktopNotification) {
        if self.sent.len() >= SENT_KEPT {
            self.sent.remove(0);
        }
        self.sent.push(note.clone());
        if !self.desktop {
            return;
        }
        if self.thread.is_none() {
            let work = NotifyWork { last_id: None };
            self.thread = Helper::start(
                "shrinkwrap-notify",
                NOTIFY_CHANNEL_CAPACITY,
                std::sync::Arc::new(|| {}),
                work,
            )
            .ok();
        }
        if let Some(thread) = &self.thread {
            let _ = thread.try_send(note);
        }
    }

    /// The notifications asked for so far (the last [`SENT_KEPT`]).
    pub fn sent(&self) -> &[DesktopNotification] {
        &self.sent
    }
}

/// Shows notifications on the helper thread; nothing comes back.
struct NotifyWork {
    /// The id of the last notification shown, replaced by the next of the same spell.
    last_id: Option<u32>,
}

impl Work for NotifyWork {
    type Request = DesktopNotification;
    type Result = ();

    fn run(&mut self, note: &DesktopNotification, _: &Reply<()>) {
        self.last_id = show(note, self.last_id.filter(|_| note.replaces_previous));
    }

    fn panicked(&mut self, _: &DesktopNotification, _: &str, _: &Reply<()>) {
        self.last_id = None;
    }
}

/// Shows one notification; returns its id, `None` when there is no bus or no service.
fn show(note: &DesktopNotification, replaces: Option<u32>) -> Option<u32> {
    let mut notification = notify_rust::Notification::new();
    notification
        .appname("Shrinkwrap")
        .icon("shrinkwrap")
        .summary(&note.summary)
        .body(&note.body)
        .timeout(notify_rust::Timeout::Milliseconds(NOTIFICATION_TIMEOUT_MS))
        .hint(notify_rust::Hint::DesktopEntry("shrinkwrap".to_owned()))
        .urgency(if note.important {
            notify_rust::Urgency::Critical
        } else {
            notify_rust::Urgency::Normal
        });
    if let Some(id) = replaces {
        notification.id(id);
    }
    notification.show().ok().map(|handle| handle.id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{JobEvent, JobId, JobReport, JobSpec, JobState, Progress, ThumbSpec};
    use crate::ui::queue::Queue;
    use std::path::PathBuf;

    fn finished(queue: &mut Queue, id: u64, outcome: JobOutcome, outputs: usize) {
        let spec = JobSpec::Thumbs(ThumbSpec::new(
            vec![PathBuf::from(format!("/p/set{id}"))],
            PathBuf::from(format!("/out/t{id}")),
        ));
        queue.push(JobId(id), &spec);
        let state = match outcome {
            JobOutcome::Done => JobState::Done,
            JobOutcome::DoneWithErrors => JobState::DoneWithErrors,
            JobOutcome::Failed => JobState::Failed,
            JobOutcome::Cancelled => JobState::Cancelled,
            JobOutcome::Stopped => JobState::Stopped,
        };
        let mut progress = Progress::queued(
            JobId(id),
            crate::engine::kinds::thumbs::KIND,
            format!("t{id}"),
        );
        progress.state = state;
        progress.errors = u64::from(outcome == JobOutcome::DoneWithErrors);
        queue.apply(JobEvent::Finished(JobReport {
            progress,
            outcome,
            dry_run: false,
            failure: None,
            problems: Vec::new(),
            warnings: Vec::new(),
            outputs: (0..outputs)
                .map(|i| PathBuf::from(format!("/out/t{id}/{i}.jpg")))
                .collect(),
            archive: None,
            output_bytes: 10,
        }));
    }

    #[test]
    fn one_job_then_a_queue_summary_and_the_title_until_seen() {
        let mut queue = Queue::new(crate::ui::kinds::card_kind);
        let mut finishes = Finishes::default();
        finished(&mut queue, 1, JobOutcome::Done, 3);
        let note = finishes.record(&queue.rows()[0], 2).unwrap();
        assert_eq!(note.summary, "t1: done");
        assert_eq!(
            note.body,
            "3 thumbnails in /out/t1\n2 jobs still in the queue."
        );
        assert!(!note.important && !note.replaces_previous);
        assert_eq!(
            finishes.title(2).as_deref(),
            Some("Done: t1 · 2 jobs left — Shrinkwrap")
        );

        finished(&mut queue, 2, JobOutcome::DoneWithErrors, 1);
        finished(&mut queue, 3, JobOutcome::Done, 0);
        finishes.record(&queue.rows()[1], 1).unwrap();
        let last = finishes.record(&queue.rows()[2], 0).unwrap();
        assert_eq!(last.summary, "All 3 jobs finished");
        assert_eq!(last.body, "1 done, 1 with errors, 1 made nothing.");
        assert!(last.important && last.replaces_previous);
        assert_eq!(
            finishes.title(0).as_deref(),
            Some("3 jobs finished: 1 done, 1 with errors, 1 made nothing — Shrinkwrap")
        );
        finishes.seen();
        assert_eq!(finishes.title(0), None);
    }

    /// Run by hand on a session bus with a notification service, e.g.
    /// `xvfb-run -a dbus-run-session -- sh -c 'dunst & sleep 1; cargo test --lib notify -- --ignored'`.
    #[test]
    #[ignore = "needs a notification service on a D-Bus session bus"]
    fn a_notification_reaches_the_service_and_the_next_one_replaces_it() {
        let first = DesktopNotification {
            summary: "photos: done".to_owned(),
            body: "12 thumbnails in /tmp/photos/thumbnails\nThe queue is empty.".to_owned(),
            important: false,
            replaces_previous: false,
        };
        let id = show(&first, None).expect("the notification service answered");
        let second = DesktopNotification {
            summary: "All 2 jobs finished".to_owned(),
            body: "1 done, 1 failed.".to_owned(),
            important: true,
            replaces_previous: true,
        };
        assert_eq!(show(&second, Some(id)), Some(id), "replaced, not added");
    }

    #[test]
    fn a_single_job_that_made_nothing_is_not_done() {
        let mut queue = Queue::new(crate::ui::kinds::card_kind);
        let mut finishes = Finishes::default();
        finished(&mut queue, 1, JobOutcome::Done, 0);
        let note = finishes.record(&queue.rows()[0], 0).unwrap();
        assert_eq!(note.summary, "t1: nothing made");
        assert_eq!(note.body, "The queue is empty.");
        let mut notifier = Notifier::new(false);
        notifier.send(note.clone());
        assert_eq!(notifier.sent(), &[note]);
    }
}
