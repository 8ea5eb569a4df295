//! The thumbnail job: every image among the inputs becomes a small copy in the output folder,
//! keeping the input folder structure.
//!
//! Owns: the job's life (scan, one task per image on the pool, the outcome), reading each input
//! under the cancel flag, and putting each thumbnail in place under the conflict policy (written
//! under a temporary name, renamed when complete). The pixels are `thumbnail`'s business.
//! Must not touch: inputs (read-only), any front end.

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use super::error::{ItemError, JobError};
use super::output::{persist, persist_unique, temp_beside};
use super::progress::{JobCore, JobState, ProblemKind};
use super::scan::{Entry, ScanOptions, SymlinkPolicy, scan};
use super::scheduler::{JobDriver, Poll, Scheduler};
use super::spec::{ConflictPolicy, ThumbSpec};
use super::thumbnail::{MAX_FILE_BYTES, ThumbParams, has_image_extension, make_thumbnail};
use super::zip_job::{CHUNK_BYTES, open_regular};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Queued,
    Starting,
    Running,
    Over,
}

struct Inner {
    phase: Phase,
    entries: Arc<Vec<Entry>>,
    next: usize,
    running: usize,
    /// Output names this job has produced: a second image mapping to one gets a unique name.
    claimed: HashSet<PathBuf>,
}

pub(crate) struct ThumbJob {
    core: Arc<JobCore>,
    spec: ThumbSpec,
    sched: Weak<Scheduler>,
    inner: Mutex<Inner>,
}

enum Outcome {
    Written(PathBuf, u64),
    Problem(ProblemKind, ItemError),
    Cancelled,
}

impl ThumbJob {
    pub fn new(core: Arc<JobCore>, spec: ThumbSpec, sched: &Arc<Scheduler>) -> Arc<Self> {
        Arc::new(ThumbJob {
            core,
            spec,
            sched: Arc::downgrade(sched),
            inner: Mutex::new(Inner {
                phase: Phase::Queued,
                entries: Arc::new(Vec::new()),
                next: 0,
                running: 0,
                claimed: HashSet::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        super::lock(&self.inner)
    }

    fn notify_sched(&self) {
        Scheduler::notify_weak(&self.sched);
    }

    fn start(&self) {
        self.core.set_state(JobState::Scanning);
        let out = &self.spec.output_dir;
        if let Err(e) = fs::create_dir_all(out) {
            return self.finish_now(
                JobState::Failed,
                Some(
                    JobError::CreateOutput {
                        path: out.clone(),
                        source: e,
                    }
                    .to_string(),
                ),
            );
        }
        if self.spec.inputs.is_empty() {
            return self.finish_now(JobState::Failed, Some(JobError::NoInputs.to_string()));
        }
        let exclude_dirs = fs::canonicalize(out).map(|p| vec![p]).unwrap_or_default();
        let opts = ScanOptions {
            symlinks: SymlinkPolicy::FollowFiles,
            include_dirs: false,
            exclude_files: Vec::new(),
            exclude_dirs,
        };
        let Some(mut entries) = scan(&self.spec.inputs, &opts, &self.core) else {
            return self.finish_now(JobState::Cancelled, None);
        };
        let mut inner = self.lock();
        // Largest first: the long decodes start early instead of leaving one worker busy at the
        // end while the others idle (longest-processing-time-first scheduling).
        entries.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
        inner.entries = Arc::new(entries);
        inner.phase = Phase::Running;
        drop(inner);
        self.core.set_state(JobState::Running);
        self.notify_sched();
    }

    /// Ends the job when no task is running any more (a task's end calls `task_done`).
    fn finish_now(&self, state: JobState, failure: Option<String>) {
        let mut inner = self.lock();
        inner.phase = Phase::Over;
        drop(inner);
        self.core.finish(state, failure);
        self.notify_sched();
    }

    /// After any task: when the last one is over, the job is.
    fn task_done(&self) {
        let mut inner = self.lock();
        inner.running -= 1;
        let all_handed_out = inner.next >= inner.entries.len() || self.core.is_cancelled();
        let over = inner.running == 0 && all_handed_out && inner.phase == Phase::Running;
        if over {
            inner.phase = Phase::Over;
        }
        drop(inner);
        if over {
            let state = if self.core.is_cancelled() {
                JobState::Cancelled
            } else if self.core.errors.load(Ordering::Relaxed) > 0 {
                JobState::DoneWithErrors
            } else {
                JobState::Done
            };
            self.core.finish(state, None);
            self.notify_sched();
        }
    }

    fn thumb_task(&self, entry: &Entry) {
        self.core.set_current(entry.name.clone());
        let outcome = self.thumbnail(entry);
        match outcome {
            Outcome::Written(path, bytes) => {
                self.core.add_output(path, bytes);
                self.core.item_done(entry.size);
            }
            Outcome::Problem(kind, err) => {
                self.core.problem(&entry.source, kind, err);
                self.core.item_done(entry.size);
            }
            Outcome::Cancelled => {}
        }
    }

    fn thumbnail(&self, entry: &Entry) -> Outcome {
        let dest = self.destination(entry);
        let policy = self.spec.on_conflict;
        if policy == ConflictPolicy::Skip && fs::symlink_metadata(&dest).is_ok() {
            return Outcome::Problem(ProblemKind::Skipped, ItemError::OutputExists(dest));
        }
        let data = match read_input(entry, &self.core) {
            Ok(Some(d)) => d,
            Ok(None) => return Outcome::Cancelled,
            Err(e) => return Outcome::Problem(ProblemKind::Error, e),
        };
        if self.core.is_cancelled() {
            return Outcome::Cancelled;
        }
        let params = ThumbParams {
            max_side_px: self.spec.max_side_px,
            format: self.spec.format,
            quality: self.spec.quality,
        };
        let thumb = match make_thumbnail(&data, &params) {
            Ok(t) => t,
            Err(e @ (ItemError::NotAnImage | ItemError::Empty)) => {
                // A file that only claims to be an image by its name is an error; anything else
                // that is not an image is just passed over.
                let kind = if has_image_extension(&entry.name) {
                    ProblemKind::Error
                } else {
                    ProblemKind::Skipped
                };
                return Outcome::Problem(kind, e);
            }
            Err(e) => return Outcome::Problem(ProblemKind::Error, e),
        };
        drop(data);
        if self.core.is_cancelled() {
            return Outcome::Cancelled;
        }
        match self.put_in_place(&dest, &thumb.encoded, policy) {
            Ok(Some(path)) => Outcome::Written(path, thumb.encoded.len() as u64),
            Ok(None) => Outcome::Problem(ProblemKind::Skipped, ItemError::OutputExists(dest)),
            Err(e) => Outcome::Problem(ProblemKind::Error, e),
        }
    }

    fn destination(&self, entry: &Entry) -> PathBuf {
        let rel = Path::new(&entry.name);
        let stem = rel
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".to_owned());
        let file = format!("{stem}.{}", self.spec.format.extension());
        match rel.parent() {
            Some(p) if !p.as_os_str().is_empty() => self.spec.output_dir.join(p).join(file),
            _ => self.spec.output_dir.join(file),
        }
    }

    /// Writes the thumbnail under a temporary name beside `dest` and renames it into place.
    /// `Ok(None)`: skipped because `dest` exists.
    fn put_in_place(
        &self,
        dest: &Path,
        bytes: &[u8],
        policy: ConflictPolicy,
    ) -> Result<Option<PathBuf>, ItemError> {
        let write_err = |e| ItemError::Write {
            path: dest.to_path_buf(),
            source: e,
        };
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).map_err(write_err)?;
        }
        let mut temp = temp_beside(dest).map_err(write_err)?;
        std::io::Write::write_all(&mut temp, bytes).map_err(write_err)?;
        // Two images of this job with one output name (a.png and a.jpg): never replace our own.
        let taken_by_us = self.lock().claimed.contains(dest);
        let placed = match (policy, taken_by_us) {
            (ConflictPolicy::Rename, _) | (_, true) => {
                persist_unique(temp, dest).map_err(write_err)?
            }
            (ConflictPolicy::Overwrite, false) => {
                persist(temp, dest, true).map_err(|(e, _)| write_err(e))?;
                dest.to_path_buf()
            }
            (ConflictPolicy::Skip, false) => match persist(temp, dest, false) {
                Ok(()) => dest.to_path_buf(),
                Err((e, _)) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
                Err((e, _)) => return Err(write_err(e)),
            },
        };
        self.lock().claimed.insert(placed.clone());
        Ok(Some(placed))
    }
}

/// Reads a whole input, checking cancel between chunks. `Ok(None)`: cancelled.
fn read_input(entry: &Entry, core: &JobCore) -> Result<Option<Vec<u8>>, ItemError> {
    let (mut file, meta) = open_regular(&entry.source)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(ItemError::FileTooLarge { bytes: meta.len() });
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    let mut chunk = vec![0u8; CHUNK_BYTES.min(meta.len() as usize + 1)];
    loop {
        if core.is_cancelled() {
            return Ok(None);
        }
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => data.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ItemError::Read(e)),
        }
        if data.len() as u64 > MAX_FILE_BYTES {
            return Err(ItemError::FileTooLarge {
                bytes: data.len() as u64,
            });
        }
    }
    Ok(Some(data))
}

impl JobDriver for ThumbJob {
    fn core(&self) -> &Arc<JobCore> {
        &self.core
    }

    fn next_task(self: Arc<Self>) -> Poll {
        let mut inner = self.lock();
        match inner.phase {
            Phase::Over => Poll::Finished,
            Phase::Starting => Poll::Idle,
            Phase::Queued => {
                inner.phase = Phase::Starting;
                drop(inner);
                let me = Arc::clone(&self);
                Poll::Task(Box::new(move || {
                    me.start();
                    // Nothing to do at all (no entries): the job is over now.
                    let mut inner = me.lock();
                    let empty = inner.phase == Phase::Running && inner.entries.is_empty();
                    if empty {
                        inner.running += 1;
                        drop(inner);
                        me.task_done();
                    }
                }))
            }
            Phase::Running => {
                if self.core.is_cancelled() {
                    if inner.running == 0 {
                        inner.phase = Phase::Over;
                        drop(inner);
                        self.core.finish(JobState::Cancelled, None);
                        return Poll::Finished;
                    }
                    return Poll::Idle;
                }
                if inner.next >= inner.entries.len() {
                    return Poll::Idle;
                }
                let index = inner.next;
                inner.next += 1;
                inner.running += 1;
                let entries = Arc::clone(&inner.entries);
                drop(inner);
                let me = Arc::clone(&self);
                Poll::Task(Box::new(move || {
                    me.thumb_task(&entries[index]);
                    me.task_done();
                }))
            }
        }
    }

    fn task_panicked(&self, message: String) {
        let phase = self.lock().phase;
        if phase == Phase::Starting {
            return self.finish_now(JobState::Failed, Some(format!("internal error: {message}")));
        }
        self.core.problem(
            PathBuf::new(),
            ProblemKind::Error,
            ItemError::Internal(message),
        );
        self.task_done();
    }

    fn cancel(&self) {
        self.core.cancel.cancel();
        let mut inner = self.lock();
        let queued = inner.phase == Phase::Queued;
        let idle_running = inner.phase == Phase::Running && inner.running == 0;
        if queued || idle_running {
            inner.phase = Phase::Over;
            drop(inner);
            self.core.finish(JobState::Cancelled, None);
        }
        self.notify_sched();
    }
}
