//! Native file dialogs (rfd) without blocking the window: each dialog runs on its own
//! `shrinkwrap-dialog` thread and its answer comes back over a channel, with a repaint request.
//!
//! Owns: [`DialogRunner`] (at most one dialog open at a time), the kinds of dialog the window
//! opens, and telling "cancelled" from "the dialog could not be shown" (no portal, no zenity):
//! rfd answers `None` for both, but a person cannot cancel within a fraction of a second.
//! Must not touch: the frame code's thread (the dialog never runs there), the input list or
//! settings (the window applies the answer).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::JobId;

use super::export::ExportFormat;

/// An answer faster than this is not a person pressing Cancel: the dialog failed to show.
const FASTEST_HUMAN_CANCEL: Duration = Duration::from_millis(300);

/// What a dialog is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogRequest {
    /// "Add files…": several files.
    AddFiles { start_dir: Option<PathBuf> },
    /// "Add folder…": one or more folders.
    AddFolders { start_dir: Option<PathBuf> },
    /// Where to save the single archive.
    SaveArchive { suggested: Option<PathBuf> },
    /// The folder receiving one archive per input folder.
    ArchivesFolder { start_dir: Option<PathBuf> },
    /// The thumbnails' output folder.
    ThumbnailsFolder { start_dir: Option<PathBuf> },
    /// Where to save a job's problem list.
    ExportProblems {
        job: JobId,
        format: ExportFormat,
        suggested: PathBuf,
    },
}

impl DialogRequest {
    fn title(&self) -> &'static str {
        match self {
            DialogRequest::AddFiles { .. } => "Add files",
            DialogRequest::AddFolders { .. } => "Add folders",
            DialogRequest::SaveArchive { .. } => "Save archive as",
            DialogRequest::ArchivesFolder { .. } => "Folder for the archives",
            DialogRequest::ThumbnailsFolder { .. } => "Folder for the thumbnails",
            DialogRequest::ExportProblems { .. } => "Export the problem list",
        }
    }

    /// Runs the dialog on the calling thread (a dialog thread, never the frame's).
    fn run_blocking(&self) -> Option<Vec<PathBuf>> {
        let dialog = rfd::FileDialog::new().set_title(self.title());
        let in_dir = |dialog: rfd::FileDialog, dir: &Option<PathBuf>| match dir {
            Some(dir) => dialog.set_directory(dir),
            None => dialog,
        };
        match self {
            DialogRequest::AddFiles { start_dir } => in_dir(dialog, start_dir).pick_files(),
            DialogRequest::AddFolders { start_dir } => in_dir(dialog, start_dir).pick_folders(),
            DialogRequest::SaveArchive { suggested } => {
                let mut dialog = dialog.add_filter("Zip archive", &["zip"]);
                if let Some(suggested) = suggested {
                    if let Some(dir) = suggested.parent().filter(|p| !p.as_os_str().is_empty()) {
                        dialog = dialog.set_directory(dir);
                    }
                    if let Some(name) = suggested.file_name() {
                        dialog = dialog.set_file_name(name.to_string_lossy());
                    }
                }
                dialog.save_file().map(|p| vec![p])
            }
            DialogRequest::ArchivesFolder { start_dir }
            | DialogRequest::ThumbnailsFolder { start_dir } => {
                in_dir(dialog, start_dir).pick_folder().map(|p| vec![p])
            }
            DialogRequest::ExportProblems {
                format, suggested, ..
            } => {
                let mut dialog = dialog.add_filter(format.label(), &[format.extension()]);
                if let Some(dir) = suggested.parent().filter(|p| !p.as_os_str().is_empty()) {
                    dialog = dialog.set_directory(dir);
                }
                if let Some(name) = suggested.file_name() {
                    dialog = dialog.set_file_name(name.to_string_lossy());
                }
                dialog.save_file().map(|p| vec![p])
            }
        }
    }
}

/// How a dialog ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogOutcome {
    Picked(Vec<PathBuf>),
    Cancelled,
    /// The dialog could not be shown; the text says so for the window.
    Unavailable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogAnswer {
    pub request: DialogRequest,
    pub outcome: DialogOutcome,
}

/// Opens dialogs on their own threads, one at a time.
pub struct DialogRunner {
    answers_tx: flume::Sender<DialogAnswer>,
    answers: flume::Receiver<DialogAnswer>,
    open: bool,
    waker: Arc<dyn Fn() + Send + Sync>,
}

impl DialogRunner {
    pub fn new(waker: Arc<dyn Fn() + Send + Sync>) -> DialogRunner {
        let (answers_tx, answers) = flume::bounded(1);
        DialogRunner {
            answers_tx,
            answers,
            open: false,
            waker,
        }
    }

    /// Whether a dialog is showing (the buttons that open one are disabled meanwhile).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Shows a dialog on a new thread; returns at once. Ignored while another one is open.
    pub fn open(&mut self, request: DialogRequest) {
        if self.open {
            return;
        }
        let answers = self.answers_tx.clone();
        let waker = Arc::clone(&self.waker);
        let thread_request = request.clone();
        let spawned = std::thread::Builder::new()
            .name("shrinkwrap-dialog".to_owned())
            .spawn(move || {
                let request = thread_request;
                let started = Instant::now();
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    request.run_blocking()
                }));
                let outcome = match result {
                    Ok(Some(paths)) if !paths.is_empty() => DialogOutcome::Picked(paths),
                    Ok(_) if started.elapsed() >= FASTEST_HUMAN_CANCEL => DialogOutcome::Cancelled,
                    Ok(_) | Err(_) => DialogOutcome::Unavailable(UNAVAILABLE_TEXT.to_owned()),
                };
                // The window may be gone already; then nobody needs the answer.
                let _ = answers.send(DialogAnswer { request, outcome });
                waker();
            });
        match spawned {
            Ok(_) => self.open = true,
            Err(err) => {
                let _ = self.answers_tx.try_send(DialogAnswer {
                    request,
                    outcome: DialogOutcome::Unavailable(format!(
                        "The file dialog could not be started ({err})."
                    )),
                });
            }
        }
    }

    /// The answer of the open dialog, once there is one (never blocks).
    pub fn poll(&mut self) -> Option<DialogAnswer> {
        let answer = self.answers.try_recv().ok()?;
        self.open = false;
        Some(answer)
    }
}

/// What the window says when no dialog could be shown.
pub const UNAVAILABLE_TEXT: &str = "The file dialog could not be opened on this desktop (no file-chooser portal \
or zenity). Drag files and folders onto the window, or paste a path into the field above.";
