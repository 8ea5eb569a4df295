//! Everything the window draws, in one place, and the commands the drawing code emits.
//!
//! Owns: [`UiState`] (inputs, settings, destination fields, the queue, the notice line, the
//! quit prompt) and [`Command`] (what a click or a key asks for; the app applies commands after
//! the frame is drawn, so views only read state and edit their own fields).
//! Must not touch: the engine, threads, the file system.

use std::path::PathBuf;
use std::time::Instant;

use crate::engine::JobId;

use super::dialogs::DialogRequest;
use super::inputs::InputList;
use super::queue::Queue;
use super::settings::{Destinations, Operation, Settings};

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
}

/// The state the views draw.
pub struct UiState {
    pub settings: Settings,
    pub destinations: Destinations,
    pub inputs: InputList,
    pub queue: Queue,
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
}

impl UiState {
    pub fn new(settings: Settings) -> UiState {
        UiState {
            settings,
            destinations: Destinations::default(),
            inputs: InputList::default(),
            queue: Queue::default(),
            path_field: String::new(),
            notice: None,
            quit: QuitState::Running,
            dialog_open: false,
            files_hovering: false,
            cores: crate::engine::default_workers(),
        }
    }

    pub fn notify(&mut self, level: NoticeLevel, text: impl Into<String>) {
        self.notice = Some(Notice {
            level,
            text: text.into(),
        });
    }
}
