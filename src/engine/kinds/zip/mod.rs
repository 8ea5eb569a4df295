//! The zip job kind: many inputs into one `.zip` archive.
//!
//! Owns: this kind's plan (the archive's path and what happens there, decided before the scan;
//! one entry per scanned file, folder or kept symlink, in sorted name order, then a skipped item
//! for each file or folder the exclude patterns left out), the dry run's estimate of the
//! archive's size, and the job's course: start the writer, hand out the pool's work, rebuild the
//! archive after a full disk, put the complete archive in place (encrypted with AES-256 when the
//! spec has a password: see `archive` and `aes`).
//!
//! The parts, each in its file: the entry rules (`entry.rs`: names, times, modes, known
//! compressed types), how work is cut into batches and blocks and what runs next (`feed.rs`),
//! what a pool worker does (`worker.rs`), the ordered writer thread (`writer.rs`), the deflate
//! blocks (`compress.rs`), the archive format (`archive.rs`, `sink.rs`), WinZip AES-256
//! encryption of entries (`aes.rs`) and the spec (`spec.rs`).
//!
//! The archive is written under a temporary name in the target folder by one writer thread
//! (started under the lifecycle's panic guard) and put in place by the lifecycle's rules when
//! complete. When the disk fills up, the job pauses with one clear message; the partial archive
//! is removed at once (it frees the space) and, after Resume, rebuilt from its first entry once
//! every compression task of the old run has ended (the lifecycle counts them:
//! [`Run::tasks_running`]).
//!
//! Must not touch: inputs (opened read-only, never followed through a swapped-in link or FIFO),
//! any front end.
//!
//! The spec's `KindSpec` (what the runtime and the job files read of it) is implemented here,
//! so that the spec (`spec.rs`) and its options by name (`options.rs`) do not import each other.

pub mod aes;
pub mod archive;
pub mod compress;
mod entry;
mod feed;
pub(crate) mod options;
pub mod sink;
pub mod spec;
mod worker;
mod writer;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::engine::model::error::{ItemError, JobError, SpecError};
use crate::engine::model::kind::{Counts, JobKind, KindInfo, OutputShape};
use crate::engine::model::options::{OptionError, OptionValue};
use crate::engine::model::password::Password;
use crate::engine::model::paths::parent_dir;
use crate::engine::model::plan::{Action, Plan, PlanItem, PlannedFile, SkipReason};
use crate::engine::model::shard::Shard;
use crate::engine::runtime::claims::comparable_path;
use crate::engine::runtime::exclude::ExcludeRules;
use crate::engine::runtime::input::open_regular;
use crate::engine::runtime::job::{Finished, JobKindImpl, KindPoll, KindSpec, Planned, Run};
use crate::engine::runtime::resolver::numbered_free_name;
use crate::engine::runtime::scan::{EntryKind, ScanOptions, Scanned, SymlinkPolicy};
use crate::engine::runtime::status::CancelFlag;
use crate::engine::runtime::temp::TempOutput;
use compress::{BlockCompressor, BlockEnd};
use entry::{ZipEntry, is_precompressed, name, source, stored_whole};
use feed::{Feed, Next, UNWRITTEN_MAX, Unit, make_units};
use spec::{ExistingArchive, ZipSpec};
use spec::{MAX_ZIP_LEVEL, SpecProblem};
use writer::{ArchiveInput, WriteEnd};

/// The zip kind's description.
pub const KIND: JobKind = JobKind::new(&KindInfo {
    id: "zip",
    noun: "archive",
    output_noun: ("entry", "entries"),
    item_noun: ("entry", "entries"),
    verb: "Compress",
    badge: "ZIP",
    counts: Counts::Bytes,
    can_stop_early: false,
    can_retry_failed: false,
    output: OutputShape::OneFile,
    input_filter: None,
});

/// The job for `spec`, once its options are checked.
pub(crate) fn new_job(spec: ZipSpec) -> Result<ZipJob, SpecError> {
    KindSpec::validate(&spec)?;
    Ok(ZipJob::new(spec))
}

/// Input test-compressed from one place of a file by a dry run (its estimate of the archive's
/// size): a window of the real file, deflated as the workers deflate a block.
const SAMPLE_WINDOW_BYTES: u64 = 64 << 10;
/// Windows taken from a file too big to test whole, spread evenly from its start to its end (a
/// tar or a disk image changes its kind of data along the way; its start alone misleads).
const SAMPLE_WINDOWS: u64 = 8;
/// Files test-compressed per kind of file (files of one extension), at most: spread over their
/// sizes, small to big.
const SAMPLE_FILES_PER_CLASS: usize = 6;
/// Input test-compressed by one dry run, at most (a fraction of a second at level 9 on one
/// core); kinds of file beyond it take the ratio of those tested.
const SAMPLE_BUDGET_BYTES: u64 = 8 << 20;
/// Bytes of headers per entry, about (local header, central directory record, extra fields).
const ENTRY_OVERHEAD_BYTES: u64 = 30 + 46 + 2 * 9;

/// What the writer hands back: the complete archive, and which entries it holds.
struct Written {
    temp: TempOutput,
    archived: Vec<bool>,
    bytes: u64,
}

/// Where the archive stands.
#[derive(Default)]
struct State {
    /// The writer has ended (successfully or not).
    writer_done: bool,
    written: Option<Written>,
    /// The disk filled up: the archive is rebuilt from the start after Resume.
    restart: bool,
    /// Problems recorded before the archive's first entry (scan and plan): a rebuild keeps
    /// only those.
    problems_at_start: usize,
}

pub(crate) struct ZipJob {
    spec: ZipSpec,
    /// The archive's final path and what happens there, decided before the scan.
    destination: OnceLock<(PathBuf, Action)>,
    /// (device, inode) of an existing archive being replaced: never archived into itself.
    replaced: OnceLock<(u64, u64)>,
    /// The archive's entries, set by the plan.
    entries: OnceLock<Arc<Vec<ZipEntry>>>,
    /// The entries cut into units, set when the run starts.
    units: OnceLock<Arc<Vec<Unit>>>,
    /// The pool's work and the results on their way to the writer.
    feed: Arc<Feed>,
    state: Mutex<State>,
}

impl ZipJob {
    pub fn new(spec: ZipSpec) -> ZipJob {
        ZipJob {
            spec,
            destination: OnceLock::new(),
            replaced: OnceLock::new(),
            entries: OnceLock::new(),
            units: OnceLock::new(),
            feed: Arc::new(Feed::default()),
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::engine::runtime::lock(&self.state)
    }

    fn dest(&self) -> Result<&(PathBuf, Action), JobError> {
        self.destination
            .get()
            .ok_or_else(|| JobError::Internal("the archive's destination was not decided".into()))
    }

    /// The plan's entries (none before the plan).
    fn entries(&self) -> Arc<Vec<ZipEntry>> {
        self.entries.get().cloned().unwrap_or_default()
    }

    /// The archive path the spec asks for: an existing folder (or a path ending in `/`) means
    /// `<default name>.zip` inside it; a name without extension gets `.zip`. A shard writes its
    /// part of that archive: `NAME.part-I-of-N.zip`.
    fn wanted_destination(&self) -> PathBuf {
        let whole = self.whole_destination();
        match self.spec.shard {
            Some(shard) => shard.part_file_name(&whole),
            None => whole,
        }
    }

    /// The archive the whole job (every shard) would write.
    fn whole_destination(&self) -> PathBuf {
        let d = &self.spec.destination;
        let ends_with_slash = d.as_os_str().as_encoded_bytes().ends_with(b"/");
        if ends_with_slash || d.is_dir() {
            return d.join(ZipSpec::default_archive_name(&self.spec.inputs));
        }
        if d.extension().is_none() && d.file_name().is_some() {
            let mut name = d.file_name().unwrap_or_default().to_os_string();
            name.push(".zip");
            return d.with_file_name(name);
        }
        d.clone()
    }

    /// Creates the temporary archive and starts the writer thread on it.
    fn start_writer(self: &Arc<Self>, run: &Arc<Run>) -> Result<(), JobError> {
        let path = self.dest()?.0.clone();
        let dir = parent_dir(&path);
        let temp = run
            .temps
            .create(&path)
            .map_err(|cause| JobError::CreateOutput {
                path: dir.to_path_buf(),
                cause,
            })?;
        let plan = run
            .plan()
            .cloned()
            .ok_or_else(|| JobError::Internal("no plan".into()))?;
        let entries = self.entries();
        let units = self.units.get().cloned().unwrap_or_default();
        let (tx, rx) = flume::bounded(UNWRITTEN_MAX);
        self.feed.open(Arc::clone(&entries), Arc::clone(&units), tx);
        let input = ArchiveInput {
            run: Arc::clone(run),
            plan,
            entries,
            units,
            results: rx,
            feed: Arc::clone(&self.feed),
            dest: path,
            level: self.spec.level,
            password: self.spec.password.clone(),
        };
        let me = Arc::clone(self);
        let writer_run = Arc::clone(run);
        run.spawn("shrinkwrap-zip-writer", move || {
            let outcome = writer::write_archive(input, &temp);
            me.writer_ended(&writer_run, temp, outcome);
        })
    }

    /// The writer thread has ended with `outcome`: keeps the complete archive for `finish`,
    /// fails the job, or (the disk is full) pauses it for a rebuild.
    fn writer_ended(&self, run: &Run, temp: TempOutput, outcome: Result<Vec<bool>, WriteEnd>) {
        self.feed.close();
        let mut state = self.lock();
        if let Err(WriteEnd::Failed(JobError::WriteArchive { path, cause })) = &outcome
            && cause.is_disk_full()
        {
            // Pause with one clear message; the partial archive goes now (it frees the space)
            // and the archive is rebuilt from its first entry after Resume.
            let folder = parent_dir(path).to_path_buf();
            state.restart = true;
            drop(state);
            drop(temp);
            run.disk_full(&folder);
            return;
        }
        state.writer_done = true;
        match outcome {
            Ok(archived) if !run.stopping() => {
                let bytes = temp
                    .file()
                    .and_then(|f| f.metadata().ok())
                    .map_or(0, |m| m.len());
                state.written = Some(Written {
                    temp,
                    archived,
                    bytes,
                });
            }
            Ok(_) | Err(WriteEnd::Cancelled) => {}
            Err(WriteEnd::Failed(e)) => {
                drop(state);
                run.fail(e);
                return;
            }
        }
        drop(state);
        run.notify();
    }

    /// Starts the archive over (after a full disk): counters and per-entry problems back to
    /// where the run began, a new temporary archive, a new writer.
    fn restart(self: &Arc<Self>, run: &Arc<Run>) -> Result<(), JobError> {
        {
            let mut state = self.lock();
            state.writer_done = false;
            state.written = None;
            run.core.truncate_problems(state.problems_at_start);
        }
        run.core.restart_counts();
        self.start_writer(run)
    }

    /// The next batch or block for the pool, within the caps.
    fn next_compression(self: Arc<Self>, run: &Arc<Run>) -> KindPoll {
        let level = self.spec.level;
        let entries = self.entries();
        let run = Arc::clone(run);
        let feed = Arc::clone(&self.feed);
        match self.feed.next() {
            Next::Batch { first, end, ticket } => KindPoll::Task(Box::new(move || {
                let done = worker::compress_batch(&run, &entries[first..end], level, feed.spare());
                feed.deliver(ticket, done);
            })),
            Next::Block {
                entry,
                big,
                index,
                ticket,
            } => KindPoll::Task(Box::new(move || {
                let done = worker::compress_block(&run, &entries[entry], big, index, level, || {
                    feed.spare()
                });
                feed.deliver(ticket, done);
            })),
            Next::Idle => KindPoll::Idle,
        }
    }

    /// Estimates the archive's size: stored files count whole; deflated ones by kind (their
    /// extension), each kind at the ratio its sampled files compress to (a few windows of each,
    /// with the workers' own block compressor at the job's level), weighted by those files'
    /// sizes, so a tree of many small texts and a few big binaries is not estimated as if it
    /// were all text. Headers, names and the password's overhead are added per entry.
    fn estimate(&self, plan: &Plan, entries: &[ZipEntry], cancel: &CancelFlag) -> u64 {
        let level = self.spec.level;
        let mut stored: u64 = 0;
        let mut classes: BTreeMap<Vec<u8>, Vec<&ZipEntry>> = BTreeMap::new();
        for e in entries.iter().filter(|e| e.kind == EntryKind::File) {
            if stored_whole(e, level) {
                stored += e.size;
            } else if e.size > 0 {
                classes.entry(class_of(name(plan, e))).or_default().push(e);
            }
        }
        // The kinds with the most bytes are tested first (the budget may not reach them all).
        let mut classes: Vec<(u64, Vec<&ZipEntry>)> = classes
            .into_values()
            .map(|files| (files.iter().map(|e| e.size).sum(), files))
            .collect();
        classes.sort_by_key(|c| std::cmp::Reverse(c.0));
        let mut compressor = BlockCompressor::new(level).ok();
        let mut budget = SAMPLE_BUDGET_BYTES;
        let (mut known_in, mut known_out) = (0u64, 0f64);
        let mut untested: u64 = 0;
        for (bytes, mut files) in classes {
            let Some(compressor) = compressor.as_mut().filter(|_| budget > 0) else {
                untested += bytes;
                continue;
            };
            files.sort_by_key(|e| e.size);
            let step = files.len().div_ceil(SAMPLE_FILES_PER_CLASS).max(1);
            // Each sampled file stands for itself at its own ratio.
            let (mut sampled_in, mut sampled_out) = (0u64, 0f64);
            for e in files.iter().step_by(step) {
                if cancel.is_cancelled() || budget == 0 {
                    break;
                }
                if let Some((read, ratio)) =
                    sample_ratio(compressor, source(plan, e), e.size, level)
                {
                    budget = budget.saturating_sub(read);
                    sampled_in += e.size;
                    sampled_out += e.size as f64 * ratio;
                }
            }
            if sampled_in == 0 {
                untested += bytes;
                continue;
            }
            known_in += bytes;
            known_out += bytes as f64 * (sampled_out / sampled_in as f64);
        }
        let ratio = if known_in > 0 {
            known_out / known_in as f64
        } else {
            1.0
        };
        let deflated = known_out + untested as f64 * ratio;
        let names: u64 = entries.iter().map(|e| 2 * name(plan, e).len() as u64).sum();
        let encrypted = if self.spec.password.is_some() {
            let files = entries.iter().filter(|e| e.kind == EntryKind::File).count() as u64;
            files * (aes::OVERHEAD_BYTES + 2 * u64::from(archive::AES_EXTRA_BYTES))
        } else {
            0
        };
        stored
            + deflated as u64
            + names
            + encrypted
            + ENTRY_OVERHEAD_BYTES * entries.len() as u64
            + 22
    }
}

impl JobKindImpl for ZipJob {
    fn inputs(&self) -> &[PathBuf] {
        &self.spec.inputs
    }

    /// Decides the archive's path and action before the scan: an existing archive is found at
    /// once, before any work.
    fn prepare(&self, run: &Run) -> Result<(), JobError> {
        if let Some(done) = self.prepare_resumed(run) {
            return done;
        }
        let wanted = self.wanted_destination();
        let wanted_cmp = comparable_path(&wanted);
        let me = run.core.id;
        let existing = fs::metadata(&wanted).ok();
        let claimed = run.claims.claimed_by(me, &wanted_cmp);
        let action = match (&existing, claimed) {
            (Some(m), _) if m.is_dir() => {
                // A folder with the archive's name: keeping both is the only way.
                if self.spec.on_exists == ExistingArchive::KeepBoth {
                    None
                } else {
                    return Err(JobError::DestinationExists { path: wanted });
                }
            }
            (_, Some(job)) if self.spec.on_exists != ExistingArchive::KeepBoth => {
                return Err(JobError::DestinationClaimed { path: wanted, job });
            }
            (None, None) => Some(Action::Write),
            (None, Some(_)) => None,
            (Some(m), claimed) => match self.spec.on_exists {
                ExistingArchive::Fail => {
                    return Err(JobError::DestinationExists { path: wanted });
                }
                ExistingArchive::KeepBoth => None,
                ExistingArchive::Replace => {
                    if claimed.is_some() || run.claims.input_of(me, &wanted_cmp, m).is_some() {
                        return Err(JobError::DestinationIsInput { path: wanted });
                    }
                    let _ = self.replaced.set((m.dev(), m.ino()));
                    Some(Action::Overwrite)
                }
            },
        };
        let (path, action) = match action {
            Some(action) => (wanted, action),
            None => {
                let (path, cmp) = numbered_free_name(&wanted, |c| {
                    run.claims.claimed_by(me, c).is_none() && fs::symlink_metadata(c).is_err()
                });
                drop(cmp);
                (path, Action::Rename { wanted })
            }
        };
        run.claims.add_outputs(
            me,
            [
                comparable_path(&path),
                crate::engine::model::paths::normalize_path(&path),
            ],
        );
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        run.core.set_name(name);
        let _ = self.destination.set((path, action));
        Ok(())
    }

    fn scan_options(&self, _run: &Run) -> ScanOptions {
        ScanOptions {
            symlinks: SymlinkPolicy::KeepInside,
            include_dirs: true,
            exclude_files: self.replaced.get().copied().into_iter().collect(),
            exclude_dirs: Vec::new(),
            only: self
                .spec
                .only
                .iter()
                .map(|p| crate::engine::model::paths::normalize_path(p))
                .collect(),
            shard: self.spec.shard,
            excludes: ExcludeRules::new(&self.spec.excludes, self.spec.honour_gitignore),
            // Latin-1 names from old disks are archived with their bytes, as Info-ZIP does.
            keep_non_utf8_names: true,
        }
    }

    fn plan(&self, run: &Run, scanned: Scanned) -> Result<Planned, JobError> {
        let (path, action) = self.dest()?.clone();
        let mut items: Vec<PlanItem> = Vec::with_capacity(scanned.entries.len());
        let mut kept: Vec<ZipEntry> = Vec::with_capacity(scanned.entries.len());
        for entry in scanned.entries {
            // Sorted by name: a repeated name directly follows its first use (a folder's
            // output is its name and a '/').
            let duplicate = kept.last().is_some_and(|k| {
                let output = items[k.item]
                    .output
                    .as_deref()
                    .map(|o| o.as_os_str().as_bytes());
                output.map(|o| o.strip_suffix(b"/").unwrap_or(o)) == Some(entry.name.as_bytes())
            });
            let precompressed = is_precompressed(entry.name.as_bytes());
            if !duplicate {
                kept.push(ZipEntry {
                    item: items.len(),
                    kind: entry.kind.clone(),
                    size: entry.size,
                    mtime: entry.mtime,
                    mode: entry.mode,
                    precompressed,
                });
            }
            let mut output = entry.name;
            if entry.kind == EntryKind::Dir {
                output.push("/");
            }
            items.push(PlanItem {
                input: entry.source,
                output: Some(PathBuf::from(output)),
                action: if duplicate {
                    Action::Skip(SkipReason::DuplicateName)
                } else {
                    Action::Write
                },
                input_bytes: entry.size,
            });
        }
        // What the exclude patterns left out, listed (a folder once).
        for excluded in scanned.excluded {
            items.push(PlanItem {
                input: excluded.source,
                output: Some(PathBuf::from(excluded.name)),
                action: Action::Skip(SkipReason::Excluded {
                    pattern: excluded.pattern,
                }),
                input_bytes: 0,
            });
        }
        if kept.is_empty() {
            let skipped_all = run.core.errors.load(Ordering::Relaxed)
                + run.core.skipped.load(Ordering::Relaxed)
                > 0;
            return Err(JobError::NothingToDo(if skipped_all {
                "nothing to archive: every input was skipped"
            } else {
                "nothing to archive"
            }));
        }
        let bytes_total: u64 = kept.iter().map(|e| e.size).sum();
        let items_total = kept.len() as u64;
        let _ = self.entries.set(Arc::new(kept));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Ok(Planned {
            plan: Plan::new(
                run.core.id,
                KIND,
                name,
                path.clone(),
                Some(PlannedFile { path, action }),
                items,
                Vec::new(),
            ),
            items_total,
            bytes_total,
        })
    }

    fn estimate_output_bytes(&self, run: &Run, plan: &Plan) -> Option<u64> {
        Some(self.estimate(plan, &self.entries(), &run.core.cancel))
    }

    fn start(self: Arc<Self>, run: &Arc<Run>) -> Result<(), JobError> {
        let problems_at_start = run.core.status().problems.len();
        self.lock().problems_at_start = problems_at_start;
        let _ = self
            .units
            .set(Arc::new(make_units(&self.entries(), self.spec.level)));
        let path = self.dest()?.0.clone();
        let dir = parent_dir(&path);
        run.create_dirs(dir)
            .map_err(|cause| JobError::CreateOutput {
                path: dir.to_path_buf(),
                cause,
            })?;
        self.start_writer(run)
    }

    fn next_task(self: Arc<Self>, run: &Arc<Run>) -> KindPoll {
        let mut state = self.lock();
        if state.restart {
            // After a full disk: once resumed and every compression task has ended, start over.
            if run.tasks_running() > 0 {
                return KindPoll::Idle;
            }
            state.restart = false;
            drop(state);
            let run = Arc::clone(run);
            return KindPoll::Task(Box::new(move || {
                if let Err(e) = self.restart(&run) {
                    run.fail(e);
                }
            }));
        }
        if state.writer_done {
            return KindPoll::Complete;
        }
        drop(state);
        self.next_compression(run)
    }

    fn finish(&self, run: &Run) -> Result<Finished, JobError> {
        let (path, action) = self.dest()?.clone();
        let Some(written) = self.lock().written.take() else {
            return Err(JobError::Internal("the archive was not completed".into()));
        };
        run.place(written.temp, &path, &action)
            .map_err(|e| match e {
                ItemError::OutputAppeared { path } => JobError::DestinationExists { path },
                ItemError::OutputIsInput { path } => JobError::DestinationIsInput { path },
                ItemError::Write { path, cause } => JobError::WriteArchive { path, cause },
                other => JobError::Internal(other.to_string()),
            })?;
        let entries = self.entries();
        let names = match run.plan() {
            Some(plan) => entries
                .iter()
                .zip(&written.archived)
                .filter(|(_, archived)| **archived)
                .map(|(entry, _)| plan.items[entry.item].output.clone().unwrap_or_default())
                .collect(),
            None => Vec::new(),
        };
        Ok(Finished {
            outputs: names,
            archive: Some(path),
            output_bytes: Some(written.bytes),
        })
    }
}

impl ZipJob {
    /// A resumed job rebuilds the archive its plan chose, at the same path, when that path is
    /// free or holds the archive the job itself put there (known by its recorded identity).
    /// Anything else there (an archive the user saved meanwhile) is met as a fresh run meets an
    /// existing archive: `None`, and [`JobKindImpl::prepare`] decides by the job's settings.
    fn prepare_resumed(&self, run: &Run) -> Option<Result<(), JobError>> {
        let resume = run.resumed()?;
        let (path, _) = resume.archive.as_ref()?;
        let me = run.core.id;
        let cmp = comparable_path(path);
        let action = match fs::symlink_metadata(path) {
            Err(_) => Action::Write,
            Ok(m) if resume.own(path, &m).is_some() => {
                if run.claims.input_of(me, &cmp, &m).is_some() {
                    return Some(Err(JobError::DestinationIsInput {
                        path: path.to_path_buf(),
                    }));
                }
                let _ = self.replaced.set((m.dev(), m.ino()));
                Action::Overwrite
            }
            Ok(_) => return None,
        };
        if let Some(job) = run.claims.claimed_by(me, &cmp) {
            return Some(Err(JobError::DestinationClaimed {
                path: path.to_path_buf(),
                job,
            }));
        }
        run.claims
            .add_outputs(me, [cmp, crate::engine::model::paths::normalize_path(path)]);
        if let Some(name) = path.file_name() {
            run.core.set_name(name.to_string_lossy().into_owned());
        }
        let _ = self.destination.set((path.to_path_buf(), action));
        Some(Ok(()))
    }
}

/// The kind of a file for the estimate: its extension, in lower case ("" without one).
fn class_of(name: &[u8]) -> Vec<u8> {
    let file = name.rsplit(|b| *b == b'/').next().unwrap_or(name);
    match file.iter().rposition(|b| *b == b'.') {
        Some(dot) if dot > 0 => file[dot + 1..].to_ascii_lowercase(),
        _ => Vec::new(),
    }
}

/// Test-compresses the file at `path` (`size` bytes when listed) as the workers would at
/// `level`: whole when small, else [`SAMPLE_WINDOWS`] windows of [`SAMPLE_WINDOW_BYTES`] spread
/// over it, each after the 32 KiB before it as its dictionary. Gives the bytes read and the
/// compressed size over the input size; `None` when it cannot be read.
fn sample_ratio(
    compressor: &mut BlockCompressor,
    path: &Path,
    size: u64,
    level: u8,
) -> Option<(u64, f64)> {
    use std::os::unix::fs::FileExt;
    let (file, _) = open_regular(path).ok()?;
    let dictionary_bytes = compress::WINDOW_BYTES as u64;
    let windows: Vec<u64> = if size <= SAMPLE_WINDOW_BYTES * SAMPLE_WINDOWS {
        vec![0]
    } else {
        let last = size - SAMPLE_WINDOW_BYTES;
        (0..SAMPLE_WINDOWS)
            .map(|k| last * k / (SAMPLE_WINDOWS - 1))
            .collect()
    };
    let whole = windows.len() == 1;
    let (mut read_in, mut written) = (0u64, 0u64);
    let mut out = Vec::new();
    for at in windows {
        let from = at.saturating_sub(dictionary_bytes);
        let want = if whole {
            size
        } else {
            at - from + SAMPLE_WINDOW_BYTES
        };
        let mut buffer = vec![0u8; want as usize];
        let mut got = 0;
        while got < buffer.len() {
            match file.read_at(&mut buffer[got..], from + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        buffer.truncate(got);
        let split = ((at - from) as usize).min(buffer.len());
        let (dictionary, data) = buffer.split_at(split);
        if data.is_empty() {
            continue;
        }
        compressor
            .compress_block(level, dictionary, data, BlockEnd::Final, &mut out)
            .ok()?;
        read_in += data.len() as u64;
        written += out.len() as u64;
    }
    (read_in > 0).then(|| (read_in, written as f64 / read_in as f64))
}

impl KindSpec for ZipSpec {
    fn kind(&self) -> JobKind {
        KIND
    }
    fn output_path(&self) -> &Path {
        &self.destination
    }
    fn known_outputs(&self) -> Vec<PathBuf> {
        match self.shard {
            // A named archive (not a folder to put one in): the shard writes its part.
            Some(shard) if self.destination.extension().is_some() => {
                vec![shard.part_file_name(&self.destination)]
            }
            _ => vec![self.destination.clone()],
        }
    }
    fn validate(&self) -> Result<(), SpecError> {
        if self.level > MAX_ZIP_LEVEL {
            return Err(SpecError::Level(self.level));
        }
        match &self.password {
            Some(Password::NotKept) => return Err(SpecProblem::PasswordNotKept.into()),
            Some(Password::Given(text)) if text.is_empty() => {
                return Err(SpecProblem::EmptyPassword.into());
            }
            _ => {}
        }
        for pattern in &self.excludes {
            crate::engine::runtime::exclude::check_pattern(pattern).map_err(|why| {
                SpecProblem::BadExclude {
                    pattern: pattern.clone(),
                    why,
                }
            })?;
        }
        Ok(())
    }
    crate::engine::runtime::job::spec_selection_and_options!();

    fn password(&self) -> Option<&Option<Password>> {
        Some(&self.password)
    }

    fn password_mut(&mut self) -> Option<&mut Option<Password>> {
        Some(&mut self.password)
    }

    /// A zip job reads the file now: the password is needed while the archive is written, and
    /// never kept.
    fn set_password_file(
        &mut self,
        path: &std::path::Path,
    ) -> Result<(), crate::engine::model::error::PasswordFileError> {
        self.password = Some(crate::engine::runtime::password_file::read_password_file(
            path,
        )?);
        Ok(())
    }
}
