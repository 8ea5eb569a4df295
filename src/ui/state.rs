//! Everything the window draws, in one place, and the commands the drawing code emits.
//!
//! Owns: [`UiState`] (inputs, settings, destination fields, the plan preview, the queue, the
//! unfinished jobs found at start, the notice line, the questions the window asks, the quit
//! prompt) and [`Command`] (what a click or a key asks for; the app applies commands after the
//! frame is drawn, so views only read state and edit their own fields).
//! Must not touch: the engine, threads, the file system.

use std::ops::Range;
use std::path::PathBuf;
use std::time::Instant;

use crate::engine::{ExistingArchive, JobId, JobSpec, QueueMove};

use super::dialogs::DialogRequest;
use super::export::ExportFormat;
use super::inputs::InputList;
use super::preview::Preview;
use super::queue::Queue;
use super::settings::{ArchiveLayout, Destinations, Operation, Settings};
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

/// A question the window asks in a modal before it queues anything.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// Archives already exist: Replace, Keep both (as `name (1).zip`) or Cancel.
    ArchiveExists {
        /// The archives in the way.
        archives: Vec<PathBuf>,
        /// The jobs to submit with the answer.
        specs: Vec<JobSpec>,
        /// Failed jobs these replace (their cards go once the new jobs are queued).
        failed: Vec<JobId>,
    },
    /// "One archive per folder" with plain files among the inputs makes several archives.
    ManyArchives {
        archives: usize,
        /// The names of the inputs that are plain files.
        files: Vec<String>,
    },
}

/// An answer to "the archive already exists", valid while the inputs and destination it was
/// given for are unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveChoice {
    pub key: ChoiceKey,
    pub on_exists: ExistingArchive,
}

/// What an answer about an existing archive depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceKey {
    inputs_generation: u64,
    layout: ArchiveLayout,
    archive: String,
    archives_folder: String,
}

/// The person's answer to [`Prompt::ArchiveExists`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExistsAnswer {
    Replace,
    KeepBoth,
    Cancel,
}

impl ExistsAnswer {
    /// The engine's policy for this answer (`None`: cancel).
    pub fn policy(self) -> Option<ExistingArchive> {
        match self {
            ExistsAnswer::Replace => Some(ExistingArchive::Replace),
            ExistsAnswer::KeepBoth => Some(ExistingArchive::KeepBoth),
            ExistsAnswer::Cancel => None,
        }
    }
}

/// The person's answer to [`Prompt::ManyArchives`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManyArchivesAnswer {
    /// Make them all.
    Confirm,
    /// Switch to one archive for all inputs (nothing is queued: the preview shows it first).
    OneArchive,
    Cancel,
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
    Start(Operation),
    Cancel(JobId),
    CancelAll,
    SelectJob(JobId),
    ClearFinished,
    OpenFolder(PathBuf),
    SetWorkers(usize),
    DismissNotice,
    ConfirmQuit,
    KeepRunning,
    /// Answer to the modal "the archive already exists".
    AnswerArchiveExists(ExistsAnswer),
    /// Answer to the modal "this makes N archives".
    AnswerManyArchives(ManyArchivesAnswer),
    /// An answer given in advance in the preview (`None`: ask again).
    ChooseExisting(Option<ExistingArchive>),
    /// Submits a job that failed because its archive exists again, with this policy.
    RetryArchive(JobId, ExistingArchive),
    /// Sets the thumbnails' folder (the preview's "Use a thumbnails subfolder").
    SetThumbnailsFolder(PathBuf),
    /// Pauses one job (queued or running).
    Pause(JobId),
    /// Resumes a paused job (also one paused by a full disk).
    Resume(JobId),
    PauseAll,
    ResumeAll,
    /// "Stop after current" (thumbnail jobs).
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
    pub settings: Settings,
    pub destinations: Destinations,
    pub inputs: InputList,
    pub queue: Queue,
    /// The dry run of what Start would do, and its plan.
    pub preview: Preview,
    /// The modal question open now, if any.
    pub prompt: Option<Prompt>,
    /// The answer given in advance to "the archive already exists".
    pub archive_choice: Option<ArchiveChoice>,
    /// Start was pressed while inputs were being measured (their kinds decide whether
    /// "one archive per folder" must ask first): it goes ahead once they are.
    pub pending_start: Option<Operation>,
    /// Inputs generation for which "make N archives" was confirmed.
    pub many_archives_confirmed: Option<u64>,
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
}

impl UiState {
    pub fn new(settings: Settings) -> UiState {
        UiState {
            settings,
            destinations: Destinations::default(),
            inputs: InputList::default(),
            queue: Queue::default(),
            preview: Preview::default(),
            prompt: None,
            archive_choice: None,
            pending_start: None,
            many_archives_confirmed: None,
            start_blocked_by: None,
            path_field: String::new(),
            notice: None,
            quit: QuitState::Running,
            dialog_open: false,
            files_hovering: false,
            cores: crate::engine::default_workers(),
            unfinished: Unfinished::default(),
        }
    }

    /// Why Start (the button or Ctrl+Enter) cannot queue a job now, or `None` when it can.
    pub fn start_refusal(&self) -> Option<StartRefusal> {
        let operation = self.settings.operation;
        let template_error = (operation == Operation::Thumbnails)
            .then(|| self.settings.parsed_template().err())
            .flatten();
        let refusal = |button, why: String| Some(StartRefusal { button, why });
        if self.inputs.is_empty() {
            refusal(None, "Add files or folders first".to_owned())
        } else if let Some(error) = template_error {
            refusal(None, error)
        } else if let Some(id) = self.start_blocked_by {
            refusal(
                Some("Queued"),
                format!(
                    "This job is already in the queue ({id}); change something to queue another"
                ),
            )
        } else if self.pending_start.is_some() {
            refusal(
                Some("Measuring the inputs…"),
                "Starts once every input is measured".to_owned(),
            )
        } else {
            None
        }
    }

    /// What an answer about an existing archive given now would be tied to.
    pub fn choice_key(&self) -> ChoiceKey {
        ChoiceKey {
            inputs_generation: self.inputs.generation(),
            layout: self.settings.archive_layout,
            archive: self.destinations.archive.clone(),
            archives_folder: self.destinations.archives_folder.clone(),
        }
    }

    /// The answer about an existing archive that holds for the current inputs and destination.
    pub fn archive_choice(&self) -> Option<ExistingArchive> {
        self.archive_choice
            .as_ref()
            .filter(|c| c.key == self.choice_key())
            .map(|c| c.on_exists)
    }

    pub fn notify(&mut self, level: NoticeLevel, text: impl Into<String>) {
        self.notice = Some(Notice {
            level,
            text: text.into(),
        });
    }
}
