//! Native file dialogs (rfd) without blocking the window: dialogs run on the `shrinkwrap-dialog`
//! helper thread (started at the first dialog) and their answer comes back over its channel,
//! with a repaint request.
//!
//! Owns: [`DialogRunner`] (at most one dialog open at a time), [`JobFileOf`], the dialogs the window opens
//! (adding inputs, a file or folder a kind's form asks for, where to export a problem list,
//! where to save a job file and which one to open), and
//! telling "cancelled" from "the dialog could not be shown" (no portal, no zenity): rfd answers
//! `None` for both, but a person cannot cancel within a fraction of a second.
//! Must not touch: the frame code's thread (the dialog never runs there), the input list or a
//! kind's form (the window applies the answer).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::engine::{JobId, JobKind};

use super::export::ExportFormat;
use super::helper::{Helper, Reply, Waker, Work};

/// An answer faster than this is not a person pressing Cancel: the dialog failed to show.
const FASTEST_HUMAN_CANCEL: Duration = Duration::from_millis(300);

/// A field of a kind's form that a dialog fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormField {
    pub kind: JobKind,
    /// The field's name, as the kind's form knows it.
    pub name: &'static str,
}

impl FormField {
    pub const fn new(kind: JobKind, name: &'static str) -> FormField {
        FormField { kind, name }
    }
}

/// Whose jobs "Save as job file" writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobFileOf {
    /// The jobs a kind's form would start (its chained job included).
    Form(JobKind),
    /// The job a card shows.
    Card(JobId),
}

/// What a dialog is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogRequest {
    /// "Add files…": several files.
    AddFiles { start_dir: Option<PathBuf> },
    /// "Add folder…": one or more folders.
    AddFolders { start_dir: Option<PathBuf> },
    /// Where to save a file a form asks for (e.g. the archive).
    SaveFile {
        title: &'static str,
        /// The file type offered: its name and extension ("Zip archive", "zip").
        filter: (&'static str, &'static str),
        suggested: Option<PathBuf>,
        field: FormField,
    },
    /// A folder a form asks for (e.g. the thumbnails' folder).
    PickFolder {
        title: &'static str,
        start_dir: Option<PathBuf>,
        field: FormField,
    },
    /// Where to save a job file.
    SaveJobFile {
        of: JobFileOf,
        suggested: Option<PathBuf>,
    },
    /// A job file to open (its jobs are queued).
    OpenJobFile { start_dir: Option<PathBuf> },
    /// Where to save a job's problem list.
    ExportProblems {
        job: JobId,
        format: ExportFormat,
        suggested: PathBuf,
    },
}

/// A save dialog opened in the suggested file's folder with its name filled in.
fn save_as(dialog: rfd::FileDialog, suggested: Option<&Path>) -> Option<Vec<PathBuf>> {
    let mut dialog = dialog;
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

impl DialogRequest {
    fn title(&self) -> &'static str {
        match self {
            DialogRequest::AddFiles { .. } => "Add files",
            DialogRequest::AddFolders { .. } => "Add folders",
            DialogRequest::SaveFile { title, .. } | DialogRequest::PickFolder { title, .. } => {
                title
            }
            DialogRequest::ExportProblems { .. } => "Export the problem list",
            DialogRequest::SaveJobFile { .. } => "Save as job file",
            DialogRequest::OpenJobFile { .. } => "Open job file",
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
            DialogRequest::AddFiles { start_dir } => add_files_filters()
                .into_iter()
                .fold(in_dir(dialog, start_dir), |dialog, (name, extensions)| {
                    dialog.add_filter(name, extensions)
                })
                .pick_files(),
            DialogRequest::AddFolders { start_dir } => in_dir(dialog, start_dir).pick_folders(),
            DialogRequest::SaveFile {
                filter: (name, extension),
                suggested,
                ..
            } => save_as(
                dialog.add_filter(*name, &[*extension]),
                suggested.as_deref(),
            ),
            DialogRequest::PickFolder { start_dir, .. } => {
                in_dir(dialog, start_dir).pick_folder().map(|p| vec![p])
            }
            DialogRequest::OpenJobFile { start_dir } => in_dir(dialog, start_dir)
                .add_filter("Job file", &["toml"])
                .pick_file()
                .map(|p| vec![p]),
            DialogRequest::SaveJobFile { suggested, .. } => save_as(
                dialog.add_filter("Job file", &["toml"]),
                suggested.as_deref(),
            ),
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

/// Runs the dialogs on the helper thread.
struct DialogWork;

impl Work for DialogWork {
    type Request = DialogRequest;
    type Result = DialogAnswer;

    fn run(&mut self, request: &DialogRequest, reply: &Reply<DialogAnswer>) {
        let started = Instant::now();
        let outcome = match request.run_blocking() {
            Some(paths) if !paths.is_empty() => DialogOutcome::Picked(paths),
            _ if started.elapsed() >= FASTEST_HUMAN_CANCEL => DialogOutcome::Cancelled,
            _ => DialogOutcome::Unavailable(UNAVAILABLE_TEXT.to_owned()),
        };
        // The window may be gone already; then nobody needs the answer.
        reply.send(DialogAnswer {
            request: request.clone(),
            outcome,
        });
    }

    fn panicked(&mut self, request: &DialogRequest, _: &str, reply: &Reply<DialogAnswer>) {
        reply.send(DialogAnswer {
            request: request.clone(),
            outcome: DialogOutcome::Unavailable(UNAVAILABLE_TEXT.to_owned()),
        });
    }
}

/// Opens dialogs on the helper thread, one at a time.
pub struct DialogRunner {
    helper: Option<Helper<DialogWork>>,
    /// An answer made here (the thread could not be started).
    failed: Option<DialogAnswer>,
    open: bool,
    waker: Waker,
}

impl DialogRunner {
    pub fn new(waker: Waker) -> DialogRunner {
        DialogRunner {
            helper: None,
            failed: None,
            open: false,
            waker,
        }
    }

    /// Whether a dialog is showing (the buttons that open one are disabled meanwhile).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Shows a dialog on the helper thread; returns at once. Ignored while another one is open.
    pub fn open(&mut self, request: DialogRequest) {
        if self.open {
            return;
        }
        if self.helper.is_none() {
            match Helper::start("shrinkwrap-dialog", 1, self.waker.clone(), DialogWork) {
                Ok(helper) => self.helper = Some(helper),
                Err(err) => {
                    self.failed = Some(DialogAnswer {
                        request,
                        outcome: DialogOutcome::Unavailable(format!(
                            "The file dialog could not be started ({err})."
                        )),
                    });
                    return;
                }
            }
        }
        if let Some(helper) = &self.helper {
            match helper.try_send(request) {
                Ok(()) => self.open = true,
                Err(refused) => {
                    self.failed = Some(DialogAnswer {
                        request: refused.into_inner(),
                        outcome: DialogOutcome::Unavailable(
                            "The file dialog could not be started (its thread has ended)."
                                .to_owned(),
                        ),
                    });
                }
            }
        }
    }

    /// The answer of the open dialog, once there is one (never blocks).
    pub fn poll(&mut self) -> Option<DialogAnswer> {
        let answer = self
            .failed
            .take()
            .or_else(|| self.helper.as_ref()?.try_recv())?;
        self.open = false;
        Some(answer)
    }
}

/// What the window says when no dialog could be shown.
pub const UNAVAILABLE_TEXT: &str = "The file dialog could not be opened on this desktop (no file-chooser portal \
or zenity). Drag files and folders onto the window, or paste a path into the field above.";

/// The Add files dialog's filters, in order: "All files" (shown first: any file can be
/// zipped), then each kind's own (the images the thumbnails read, the archives extract opens).
fn add_files_filters() -> Vec<(&'static str, &'static [&'static str])> {
    let all: (&'static str, &'static [&'static str]) = ("All files", &["*"]);
    std::iter::once(all)
        .chain(
            crate::engine::KINDS
                .iter()
                .filter_map(|kind| kind.input_filter),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_files_offers_every_file_then_each_kinds_own() {
        let filters = add_files_filters();
        assert_eq!(filters[0], ("All files", &["*"][..]));
        let images = filters.iter().find(|(name, _)| *name == "Images").unwrap();
        assert_eq!(
            images.1,
            crate::engine::kinds::thumbs::thumbnail::IMAGE_EXTENSIONS,
            "every format the plan counts as an image"
        );
        assert!(filters.iter().any(|(_, ext)| ext.contains(&"zip")));
    }
}
