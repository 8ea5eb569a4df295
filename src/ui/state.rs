//! Everything the window draws, in one place, and the commands the drawing code emits.
//!
//! Owns: [`UiState`] (inputs, settings with every kind's form, the plan preview, the queue, the
//! unfinished jobs found at start, the preset menu, the notice line, the question a kind asks,
//! the quit prompt, whether the plan card shows its details)
//! and [`Command`] (what a click or a key asks for; the app applies commands after the frame is
//! drawn, so views only read state and edit their own fields).
//! Must not touch: the engine, threads, the file system, what a kind's question or command
//! holds (its module's).

use std::ops::Range;
use std::path::PathBuf;
use std::time::Instant;

use crate::engine::{JobId, JobKind, QueueMove};

use super::dialogs::{DialogRequest, JobFileOf};
use super::export::ExportFormat;
use super::inputs::InputList;
pub use super::kinds::Prompt;
use super::kinds::{KindCommand, PlanCx};
use super::presets::PresetMenu;
use super::preview::Preview;
use super::queue::Queue;
use super::settings::Settings;
use super::unfinished::Unfinished;

/// How serious a notice is (its colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    Info,
    Warning,
}

/// The one-line message in the status bar (e.g. "the file dialog could not be opened").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub level: NoticeLevel,
    pub text: String,
}

/// Where closing the window stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuitState {
    Running,
    /// Jobs run and the window asks whether to cancel them and quit.
    Asking,
    /// The jobs are being cancelled (their partial files removed); the window closes after.
    Cancelling {
        since: Instant,
    },
    /// The window may close now.
    Closing,
}

/// What the person asked for this frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Paths from the path field, a drop, a dialog or the command line.
    AddPaths(Vec<PathBuf>),
    /// The text of the path field, added as paths.
    AddTypedPaths,
    RemoveInput(usize),
    SelectInput(usize),
    ClearInputs,
    OpenDialog(DialogRequest),
    /// Start: queue the jobs of this kind's form (after its questions, if any).
    Start(JobKind),
    Cancel(JobId),
    CancelAll,
    SelectJob(JobId),
    ClearFinished,
    OpenFolder(PathBuf),
    SetWorkers(usize),
    /// The memory image decodes may hold together, in MB (`None`: automatic).
    SetMemory(Option<u64>),
    DismissNotice,
    ConfirmQuit,
    KeepRunning,
    /// A kind's own command (an answer to its question, a click in its plan lines or card).
    Kind(KindCommand),
    /// Pauses one job (queued or running).
    Pause(JobId),
    /// Resumes a paused job (also one paused by a full disk).
    Resume(JobId),
    PauseAll,
    ResumeAll,
    /// "Stop after current" (kinds that can stop early).
    StopAfterCurrent(JobId),
    /// Moves a job not started yet among the waiting ones.
    MoveQueued(JobId, QueueMove),
    /// A drag: puts the first job (not started yet) where the second one is.
    MoveQueuedTo {
        job: JobId,
        to: JobId,
    },
    /// A new job of just the failed items, same settings.
    RetryFailed(JobId),
    /// Submits a failed, cancelled or stopped job again; its card is replaced.
    RunAgain(JobId),
    /// Opens a file (a thumbnail) with the desktop's default application.
    OpenFile(PathBuf),
    /// Loads these thumbnails of a finished job (they scrolled into view).
    LoadThumbnails(JobId, Range<usize>),
    /// "Show all" (true) or "Show fewer" (false) thumbnails of a job.
    ShowAllThumbnails(JobId, bool),
    /// Copies a finished job's problem list to the clipboard.
    CopyProblems(JobId),
    /// Asks where to save a finished job's problem list, then writes it.
    ExportProblems(JobId, ExportFormat),
    /// Resumes an unfinished job found at start (by its journal).
    ResumeUnfinished(PathBuf),
    /// Forgets an unfinished job: its journal and leftover temporary files are removed.
    DiscardUnfinished(PathBuf),
    /// Resumes every unfinished job found at start.
    ResumeAllUnfinished,
    /// "Copy as command": copies the command line of the job(s) this kind's form would start.
    CopyAsCommand(JobKind),
    /// A card's "Copy as command": copies the command line of its job.
    CopyCardCommand(JobId),
    /// "Save as job file…": asks where, then writes the job(s) of a form or a card.
    SaveJobFile(JobFileOf),
    /// Writes the job(s) of a form or a card as a job file at this path (the save dialog's
    /// answer).
    WriteJobFile(JobFileOf, PathBuf),
    /// Queues the jobs of these job files (read on a helper thread).
    OpenJobFiles(Vec<PathBuf>),
    /// Reads the presets (the preset menu opened before they were read).
    LoadPresets,
    /// Applies the preset of this name to this kind's form.
    ApplyPreset(JobKind, String),
    /// Saves this kind's form's options as a preset named as the menu's field says.
    SavePreset(JobKind),
    /// Renames a saved preset.
    RenamePreset {
        from: String,
        to: String,
    },
    /// Deletes a saved preset.
    DeletePreset(String),
    /// "Keep watching": a finished card goes on watching its inputs.
    KeepWatching(JobId),
    /// "Stop watching".
    StopWatching(JobId),
    /// Folds or opens the plan card (its header was clicked).
    TogglePlan,
}

/// Why Start cannot queue the job now: what its button says then, and the tooltip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartRefusal {
    /// The button's text while refused ("Queued", "Measuring the inputs…"); `None`: as usual.
    pub button: Option<&'static str>,
    pub why: String,
}

/// The state the views draw.
pub struct UiState {
    /// The settings, with every kind's form (settings, destination fields, answers).
    pub settings: Settings,
    pub inputs: InputList,
    pub queue: Queue,
    /// The dry run of what Start would do, and its plan.
    pub preview: Preview,
    /// The modal question a kind asks now, if any.
    pub prompt: Option<Prompt>,
    /// Start was pressed while inputs were being measured and the kind needs them measured (to
    /// know what to ask): it goes ahead once they are.
    pub pending_start: Option<JobKind>,
    /// A job identical to what Start would submit is queued or running (Start is disabled).
    pub start_blocked_by: Option<JobId>,
    /// The "paste a path" field.
    pub path_field: String,
    pub notice: Option<Notice>,
    pub quit: QuitState,
    /// A file dialog is open (the buttons that open one are disabled).
    pub dialog_open: bool,
    /// Files are being dragged over the window.
    pub files_hovering: bool,
    /// The number of cores (for the worker setting's hint).
    pub cores: usize,
    /// Jobs a crash left unfinished, found at start.
    pub unfinished: Unfinished,
    /// The preset menu: the presets as last read, its fields.
    pub presets: PresetMenu,
    /// The plan card folded by itself when jobs started (so the queue gets the space); it opens
    /// again when the plan changes (inputs or settings) or when the person opens it, not when
    /// the jobs end (the queue would jump under the pointer).
    pub plan_auto_folded: bool,
    /// Some job was active in the last frame (to see jobs start).
    pub queue_was_active: bool,
}

impl UiState {
    /// Whether the plan card shows its details: unless the person folded it, or it folded by
    /// itself when jobs started (see `plan_auto_folded`).
    pub fn plan_open(&self) -> bool {
        !self.settings.plan_folded && !self.plan_auto_folded
    }

    pub fn new(settings: Settings) -> UiState {
        UiState {
            settings,
            inputs: InputList::default(),
            queue: Queue::default(),
            preview: Preview::default(),
            prompt: None,
            pending_start: None,
            start_blocked_by: None,
            path_field: String::new(),
            notice: None,
            quit: QuitState::Running,
            dialog_open: false,
            files_hovering: false,
            cores: crate::engine::default_workers(),
            unfinished: Unfinished::default(),
            presets: PresetMenu::default(),
            plan_auto_folded: false,
            queue_was_active: false,
        }
    }

    /// Why Start (the button or Ctrl+Enter) cannot queue a job now, or `None` when it can.
    pub fn start_refusal(&self) -> Option<StartRefusal> {
        let form_refusal = self.settings.form().and_then(|form| form.refusal());
        let refusal = |button, why: String| Some(StartRefusal { button, why });
        if self.inputs.is_empty() {
            refusal(None, "Add files or folders first".to_owned())
        } else if let Some(error) = form_refusal {
            refusal(None, error)
        } else if let Some(id) = self.start_blocked_by {
            refusal(
                Some("Queued"),
                match self.queue.row(id) {
                    Some(row) => format!(
                        "This job is already in the queue (\u{201c}{}\u{201d}); change \
                         something to queue another",
                        row.name
                    ),
                    None => "This job is already in the queue; change something to queue another"
                        .to_owned(),
                },
            )
        } else if let Some(why) = self.nothing_to_make() {
            refusal(Some("Nothing to make"), why)
        } else if self.pending_start.is_some() {
            refusal(
                Some("Measuring the inputs…"),
                "Starts once every input is measured".to_owned(),
            )
        } else {
            None
        }
    }

    /// Why Start would queue a job that makes nothing, when the plan for the current inputs and
    /// settings (a fresh one only) makes no file at all: it has items, and every one is skipped.
    fn nothing_to_make(&self) -> Option<String> {
        if !self.preview.is_fresh() {
            return None;
        }
        let view = self.preview.view()?;
        let makes_nothing = !view.parts().is_empty()
            && view.summary.outputs == 0
            && view.summary.skips > 0
            && view.existing.is_empty()
            && view.failures.is_empty()
            && view.parts().iter().all(|part| part.archive().is_none());
        if !makes_nothing {
            return None;
        }
        let reasons: Vec<String> = view
            .skip_reasons
            .iter()
            .map(|(phrase, n)| format!("{} {phrase}", super::format::count(*n)))
            .collect();
        Some(if reasons.is_empty() {
            "The plan has nothing to make".to_owned()
        } else {
            format!(
                "The plan has nothing to make: every item is skipped ({})",
                reasons.join(", ")
            )
        })
    }

    /// What a kind's plan lines see now.
    pub fn plan_cx(&self) -> PlanCx {
        PlanCx {
            inputs_generation: self.inputs.generation(),
            question_open: self.prompt.is_some(),
        }
    }

    pub fn notify(&mut self, level: NoticeLevel, text: impl Into<String>) {
        self.notice = Some(Notice {
            level,
            text: text.into(),
        });
    }
}
