//! The window's vocabulary of requests: [`Command`] (what a click or a key asks for; the app
//! applies commands after the frame is drawn, so views only read state and edit their own
//! fields) and [`NoticeLevel`].
//!
//! `Command` is generic over the kinds' own commands (`K`): the kinds' dispatch
//! (`super::kinds`) names the window's command type as `Command<KindCommand>`, so the kinds'
//! modules and the drawing code can emit commands without this module knowing any kind, and
//! imports run one way (kinds → this module).
//!
//! Owns: those two types. Must not touch: state, drawing, the engine, any kind.

use std::ops::Range;
use std::path::PathBuf;

use crate::engine::{JobId, JobKind, QueueMove};

use super::dialogs::{DialogRequest, JobFileOf};
use super::export::ExportFormat;

/// How serious a notice is (its colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    Info,
    Warning,
}

/// What the person asked for this frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Command<K> {
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
    Kind(K),
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
