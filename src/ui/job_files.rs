//! Job files in the window: "Save as job file" writes the form's jobs (the text is the engine's
//! [`job_file_text`](crate::engine::workflow::job_file_text)), and "Open job file…", a dropped
//! `.toml` or one named on the command line is read (the engine's
//! [`read_job_file`](crate::engine::workflow::read_job_file), with the user's presets) for the
//! window to queue. Both run on the `shrinkwrap-job-files` helper thread (started at the first
//! request); a saved file is written through a temporary file renamed into place.
//!
//! Owns: [`JobFiles`] (the thread's ends), [`JobFileRequest`], [`JobFileNews`], telling a job
//! file from another input ([`is_job_file`]).
//! Must not touch: the frame code's thread with file I/O, parsing or writing job files (the
//! engine's), queuing the jobs (the window does, through the engine).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::workflow::{JobFile, PresetStore, read_job_file};

use super::helper::{Helper, Reply, Waker, Work};

/// Requests waiting for the thread.
const JOB_FILE_CHANNEL_CAPACITY: usize = 8;

/// Whether `path` is opened as a job file rather than added as an input: its name ends in
/// `.toml` (any case). Decided by the name alone (no file system access).
pub fn is_job_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// What the thread is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobFileRequest {
    /// Write `text` to `path` (replacing a file there once the new one is complete); `note`
    /// ends the notice that says it was saved (what the file does not keep).
    Save {
        path: PathBuf,
        text: String,
        note: String,
    },
    /// Read the job file at `path`, with the presets in `config_dir` (`None`: the default
    /// config folder).
    Open {
        path: PathBuf,
        config_dir: Option<PathBuf>,
    },
}

/// What the thread did.
#[derive(Debug)]
pub enum JobFileNews {
    /// A file was saved: the notice that says where, or why not.
    Saved(Result<String, String>),
    /// A job file was read (its jobs to queue), or why it cannot be.
    Opened(Result<JobFile, String>),
}

struct JobFileWork;

impl Work for JobFileWork {
    type Request = JobFileRequest;
    type Result = JobFileNews;

    fn run(&mut self, request: &JobFileRequest, reply: &Reply<JobFileNews>) {
        reply.send(match request {
            JobFileRequest::Save { path, text, note } => {
                JobFileNews::Saved(save(path, text).map(|saved| saved + note))
            }
            JobFileRequest::Open { path, config_dir } => {
                JobFileNews::Opened(open(path, config_dir.as_deref()))
            }
        });
    }

    fn panicked(&mut self, request: &JobFileRequest, message: &str, reply: &Reply<JobFileNews>) {
        reply.send(match request {
            JobFileRequest::Save { path, .. } => {
                JobFileNews::Saved(Err(format!("Cannot save {}: {message}.", path.display())))
            }
            JobFileRequest::Open { path, .. } => {
                JobFileNews::Opened(Err(format!("Cannot open {}: {message}.", path.display())))
            }
        });
    }
}

/// Writes `text` to `path` through a temporary file in its folder, renamed into place.
fn save(path: &Path, text: &str) -> Result<String, String> {
    let why = |e: String| format!("Cannot save the job file {}: {e}.", path.display());
    let folder = crate::engine::parent_dir(path);
    let mut temp = tempfile::Builder::new()
        .prefix(".shrinkwrap-job")
        .tempfile_in(folder)
        .map_err(|e| why(crate::engine::IoCause::of(e).to_string()))?;
    temp.write_all(text.as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| why(crate::engine::IoCause::of(e).to_string()))?;
    temp.persist(path)
        .map_err(|e| why(crate::engine::IoCause::of(e.error).to_string()))?;
    Ok(format!(
        "Saved the job file {}: run it with \u{201c}shrinkwrap run\u{201d} or open it here.",
        path.display()
    ))
}

/// Reads the job file at `path` with the user's presets.
fn open(path: &Path, config_dir: Option<&Path>) -> Result<JobFile, String> {
    let store = match config_dir {
        Some(dir) => Some(PresetStore::new(dir)),
        None => PresetStore::open_default().ok(),
    };
    read_job_file(path, store.as_ref()).map_err(|e| format!("Not queued: {e}."))
}

/// Reads and writes job files off the frame code's thread.
pub struct JobFiles {
    helper: Option<Helper<JobFileWork>>,
    /// News made here (the thread could not be started, or is busy).
    refused: Vec<JobFileNews>,
    waker: Waker,
}

impl JobFiles {
    pub fn new(waker: Waker) -> JobFiles {
        JobFiles {
            helper: None,
            refused: Vec::new(),
            waker,
        }
    }

    /// Hands `request` to the thread; its news comes back through [`JobFiles::try_recv`].
    pub fn request(&mut self, request: JobFileRequest) {
        if self.helper.is_none() {
            match Helper::start(
                "shrinkwrap-job-files",
                JOB_FILE_CHANNEL_CAPACITY,
                self.waker.clone(),
                JobFileWork,
            ) {
                Ok(helper) => self.helper = Some(helper),
                Err(err) => {
                    self.refused.push(refusal(
                        &request,
                        &format!("its helper thread could not be started ({err})"),
                    ));
                    return;
                }
            }
        }
        if let Some(helper) = &self.helper
            && let Err(refused) = helper.try_send(request)
        {
            let request = refused.into_inner();
            self.refused.push(refusal(
                &request,
                "earlier job files are still being read or written",
            ));
        }
    }

    /// News ready now (never blocks).
    pub fn try_recv(&mut self) -> Option<JobFileNews> {
        if !self.refused.is_empty() {
            return Some(self.refused.remove(0));
        }
        self.helper.as_ref()?.try_recv()
    }
}

fn refusal(request: &JobFileRequest, why: &str) -> JobFileNews {
    match request {
        JobFileRequest::Save { path, .. } => {
            JobFileNews::Saved(Err(format!("Not saved to {}: {why}.", path.display())))
        }
        JobFileRequest::Open { path, .. } => {
            JobFileNews::Opened(Err(format!("Not opened {}: {why}.", path.display())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_files_are_told_by_their_name() {
        assert!(is_job_file(Path::new("/a/jobs.toml")));
        assert!(is_job_file(Path::new("JOBS.TOML")));
        assert!(!is_job_file(Path::new("/a/photos")));
        assert!(!is_job_file(Path::new("/a/toml")));
    }

    #[test]
    fn a_saved_file_replaces_the_old_one_whole_and_reads_back() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("jobs.toml");
        std::fs::write(&path, "old").unwrap();
        let text = "[[job]]\nkind = \"zip\"\ninputs = [\"a\"]\noutput = \"a.zip\"\n";
        save(&path, text).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left");
        let file = open(&path, Some(tmp.path())).unwrap();
        assert_eq!(file.jobs.len(), 1);
        assert_eq!(file.jobs[0].spec.inputs(), [tmp.path().join("a")]);
    }
}
