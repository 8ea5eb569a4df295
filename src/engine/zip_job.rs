//! The zip job kind: many inputs into one `.zip` archive.
//!
//! Owns: this kind's plan (the archive's path and what happens there, decided before the scan;
//! one entry per scanned file, folder or kept symlink, in sorted name order), and writing the
//! archive. Files to deflate of up to `IN_MEMORY_MAX_BYTES` are compressed in parallel on the
//! pool, each into a prepared entry in memory (the compressed bytes waiting for the writer are
//! capped by `PENDING_MAX_BYTES`). One writer thread (started under the lifecycle's panic
//! guard) appends entries in sorted order; it streams the rest itself, chunk by chunk: stored
//! entries (already-compressed data, level 0) and files too large to hold in memory. So memory
//! stays bounded whatever the input size. The archive is written under a temporary name in the
//! target folder and put in place by the lifecycle's rules when complete.
//! Must not touch: inputs (opened read-only, never followed through a swapped-in link or FIFO),
//! any front end.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

use zip::write::{FullFileOptions, PreparedZipFile, ZipFileBuilder};
use zip::{CompressionMethod, ZipWriter};

use super::claims::comparable_path;
use super::error::{IoCause, ItemError, JobError};
use super::events::ProblemKind;
use super::input::{CHUNK_BYTES, open_regular};
use super::job::{JobKindImpl, KindPoll, Run, report_plan_skips};
use super::journal::{RecordedAction, mtime_ns};
use super::output::TempOutput;
use super::plan::{Action, Plan, PlanItem, PlannedFile, SkipReason, numbered_free_name};
use super::scan::{Entry, EntryKind, ScanOptions, Scanned, SymlinkPolicy};
use super::spec::{ExistingArchive, JobKind, ZipSpec, parent_dir};
use super::status::{CancelFlag, JobCore};

/// Files up to this size are deflated into memory on the pool; larger ones are streamed by the
/// writer (while the pool goes on with the entries after them).
pub(crate) const IN_MEMORY_MAX_BYTES: u64 = 32 << 20;
/// How much of a large file is test-compressed to decide whether deflating it is worth it.
const SAMPLE_BYTES: usize = 256 << 10;
/// Compressed bytes waiting in memory for the writer, at most (beyond it, no new task starts).
const PENDING_MAX_BYTES: u64 = 48 << 20;
/// Entries handed out but not yet written, at most.
const UNWRITTEN_MAX: usize = 512;
/// Zip64 is needed from this many entries on (the 16-bit count field then holds 0xFFFF).
const ZIP64_ENTRIES: usize = 0xFFFF;
/// Zip64 is needed for sizes and offsets from this value on.
const ZIP64_BYTES: u64 = 0xFFFF_FFFF;
/// Header id of the extended-timestamp extra field ("UT", APPNOTE 4.6 / Info-ZIP extra field).
const EXTENDED_TIMESTAMP_ID: u16 = 0x5455;
/// Files sampled by a dry run to estimate the archive's size.
const ESTIMATE_SAMPLES: usize = 8;
/// Bytes of headers per entry, about (local header, central directory record, extra fields).
const ENTRY_OVERHEAD_BYTES: u64 = 30 + 46 + 2 * 9 + 24;

/// Extensions of data that is already compressed: stored, not deflated.
const STORED_EXTENSIONS: &[&str] = &[
    "7z", "aac", "apk", "avi", "avif", "br", "bz2", "cab", "deb", "docx", "epub", "flac", "gif",
    "gz", "heic", "heif", "jar", "jpeg", "jpg", "jxl", "lz", "lz4", "lzma", "m4a", "m4v", "mkv",
    "mov", "mp3", "mp4", "odp", "ods", "odt", "ogg", "opus", "png", "pptx", "rar", "rpm", "tgz",
    "txz", "webm", "webp", "whl", "woff", "woff2", "xlsx", "xz", "zip", "zst",
];

/// A compressed entry ready for the writer.
enum Compressed {
    Memory(PreparedZipFile),
    /// Not archived (the problem was already reported).
    Failed,
}

/// What the writer hands back: the complete archive, and the entry names it holds.
struct Written {
    temp: TempOutput,
    names: Vec<PathBuf>,
    bytes: u64,
}

struct Inner {
    entries: Arc<Vec<Entry>>,
    next: usize,
    unwritten: usize,
    pending_bytes: u64,
    to_writer: Option<flume::Sender<(usize, Compressed, u64)>>,
    /// Entries from this index on may start at or beyond 4 GiB (see `first_beyond_4gib`).
    first_beyond: usize,
    /// The writer has ended (successfully or not).
    writer_done: bool,
    written: Option<Written>,
    /// Compression tasks running now.
    running: usize,
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
    inner: Mutex<Inner>,
}

impl ZipJob {
    pub fn new(spec: ZipSpec) -> ZipJob {
        ZipJob {
            spec,
            destination: OnceLock::new(),
            replaced: OnceLock::new(),
            inner: Mutex::new(Inner {
                entries: Arc::new(Vec::new()),
                next: 0,
                unwritten: 0,
                pending_bytes: 0,
                to_writer: None,
                first_beyond: usize::MAX,
                writer_done: false,
                written: None,
                running: 0,
                restart: false,
                problems_at_start: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        super::lock(&self.inner)
    }

    fn dest(&self) -> Result<&(PathBuf, Action), JobError> {
        self.destination
            .get()
            .ok_or_else(|| JobError::Internal("the archive's destination was not decided".into()))
    }

    /// The archive path the spec asks for: an existing folder (or a path ending in `/`) means
    /// `<default name>.zip` inside it; a name without extension gets `.zip`.
    fn wanted_destination(&self) -> PathBuf {
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

    fn compress_task(self: Arc<Self>, run: Arc<Run>, index: usize, entry: Entry) {
        let zip64 = index >= self.lock().first_beyond;
        let result = compress_entry(&entry, self.spec.level, zip64, &run);
        let (compressed, bytes) = match result {
            Ok(prepared) => {
                let bytes = prepared.compressed_size();
                (Compressed::Memory(prepared), bytes)
            }
            Err(EntryFailure::Cancelled | EntryFailure::Archive(_)) => (Compressed::Failed, 0),
            Err(EntryFailure::Item(err, bytes_left)) => {
                run.core.problem(&entry.source, ProblemKind::Error, err);
                run.core.add_bytes_done(bytes_left);
                (Compressed::Failed, 0)
            }
        };
        let mut inner = self.lock();
        inner.running -= 1;
        // Never blocks: the channel has room for every entry that can be unwritten.
        let sent = inner
            .to_writer
            .as_ref()
            .is_some_and(|tx| tx.try_send((index, compressed, bytes)).is_ok());
        if sent {
            inner.pending_bytes += bytes;
        }
    }

    /// Called by the writer when it has consumed an entry's compressed data.
    fn written(&self, run: &Run, bytes: u64) {
        let mut inner = self.lock();
        inner.unwritten = inner.unwritten.saturating_sub(1);
        inner.pending_bytes = inner.pending_bytes.saturating_sub(bytes);
        drop(inner);
        run.notify();
    }

    /// The writer thread: appends every entry in order, then hands the complete archive back.
    fn writer(
        self: Arc<Self>,
        run: Arc<Run>,
        temp: TempOutput,
        entries: Arc<Vec<Entry>>,
        rx: flume::Receiver<(usize, Compressed, u64)>,
    ) {
        let outcome = self.write_archive(&run, &temp, &entries, &rx);
        drop(rx);
        let mut inner = self.lock();
        inner.to_writer = None;
        if let Err(WriteEnd::Failed(JobError::WriteArchive { path, cause })) = &outcome
            && cause.is_disk_full()
        {
            // Pause with one clear message; the partial archive goes now (it frees the space)
            // and the archive is rebuilt from its first entry after Resume.
            let folder = parent_dir(path).to_path_buf();
            inner.restart = true;
            drop(inner);
            drop(temp);
            run.disk_full(&folder);
            return;
        }
        inner.writer_done = true;
        match outcome {
            Ok(names) if !run.stopping() => {
                let bytes = temp
                    .file()
                    .and_then(|f| f.metadata().ok())
                    .map_or(0, |m| m.len());
                inner.written = Some(Written { temp, names, bytes });
            }
            Ok(_) | Err(WriteEnd::Cancelled) => {}
            Err(WriteEnd::Failed(e)) => {
                drop(inner);
                run.fail(e);
                return;
            }
        }
        drop(inner);
        run.notify();
    }

    fn write_archive(
        &self,
        run: &Run,
        temp: &TempOutput,
        entries: &[Entry],
        rx: &flume::Receiver<(usize, Compressed, u64)>,
    ) -> Result<Vec<PathBuf>, WriteEnd> {
        let core = &run.core;
        let dest = self.dest().map_err(WriteEnd::Failed)?.0.clone();
        let zip_err = |source: zip::result::ZipError| {
            WriteEnd::Failed(match source {
                zip::result::ZipError::Io(e) => JobError::WriteArchive {
                    path: dest.clone(),
                    cause: IoCause::of(e),
                },
                other => JobError::ArchiveFormat {
                    path: dest.clone(),
                    detail: other.to_string(),
                },
            })
        };
        let io_err = |e: io::Error| {
            WriteEnd::Failed(JobError::WriteArchive {
                path: dest.clone(),
                cause: IoCause::of(e),
            })
        };
        let file = temp.reopen().map_err(io_err)?;
        let position = Arc::new(AtomicU64::new(0));
        let sink = PositionWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            position: Arc::clone(&position),
        };
        let mut zip = ZipWriter::new(sink);
        let mut ready: BTreeMap<usize, (Compressed, u64)> = BTreeMap::new();
        let mut names = Vec::with_capacity(entries.len());
        let cancel = core.cancel.clone();
        let first_beyond = self.lock().first_beyond;
        for (index, entry) in entries.iter().enumerate() {
            if cancel.is_cancelled() || !run.wait_while_paused() {
                return Err(WriteEnd::Cancelled);
            }
            let zip64 = index >= first_beyond;
            let mut archived = true;
            match &entry.kind {
                EntryKind::Dir => {
                    zip.add_directory(entry.name.as_str(), entry_options(entry, zip64))
                        .map_err(zip_err)?;
                }
                EntryKind::Symlink { target } => {
                    zip.add_symlink(
                        entry.name.as_str(),
                        target.as_str(),
                        entry_options(entry, zip64),
                    )
                    .map_err(zip_err)?;
                }
                EntryKind::File if !on_pool(entry, self.spec.level) => {
                    core.set_current(entry.name.clone());
                    match stream_entry(&mut zip, entry, self.spec.level, zip64, run) {
                        Ok(()) => {}
                        Err(EntryFailure::Cancelled) => return Err(WriteEnd::Cancelled),
                        Err(EntryFailure::Archive(e)) => return Err(zip_err(e)),
                        Err(EntryFailure::Item(err, bytes_left)) => {
                            core.problem(&entry.source, ProblemKind::Error, err);
                            core.add_bytes_done(bytes_left);
                            archived = false;
                        }
                    }
                }
                EntryKind::File => {
                    let (compressed, bytes) = wait_for(index, &mut ready, rx, &cancel)?;
                    core.set_current(entry.name.clone());
                    match compressed {
                        Compressed::Memory(prepared) => {
                            zip.add_prepared_file(prepared).map_err(zip_err)?
                        }
                        Compressed::Failed => archived = false,
                    }
                    self.written(run, bytes);
                }
            }
            if archived {
                names.push(archive_name(entry));
            }
            core.item_done(0);
        }
        if cancel.is_cancelled() {
            return Err(WriteEnd::Cancelled);
        }
        // The zip crate switches to Zip64 only above 65,535 entries or 0xFFFFFFFF bytes of offset;
        // at exactly those values the classic fields hold their "see Zip64" marker, so the Zip64
        // end records must be there too. An empty extensible data sector forces them.
        if entries.len() >= ZIP64_ENTRIES || position.load(Ordering::Relaxed) >= ZIP64_BYTES {
            zip.set_raw_zip64_extensible_data_sector(Box::new([]));
        }
        let sink = zip.finish().map_err(zip_err)?;
        let file = sink
            .inner
            .into_inner()
            .map_err(|e| io_err(e.into_error()))?;
        file.sync_all().map_err(io_err)?;
        Ok(names)
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
        let (tx, rx) = flume::bounded(UNWRITTEN_MAX + 8);
        let entries = {
            let mut inner = self.lock();
            inner.to_writer = Some(tx);
            Arc::clone(&inner.entries)
        };
        let me = Arc::clone(self);
        let writer_run = Arc::clone(run);
        run.spawn("shrinkwrap-zip-writer", move || {
            me.writer(writer_run, temp, entries, rx)
        })
    }

    /// Starts the archive over (after a full disk): counters and per-entry problems back to
    /// where the run began, a new temporary archive, a new writer.
    fn restart(self: &Arc<Self>, run: &Arc<Run>) -> Result<(), JobError> {
        {
            let mut inner = self.lock();
            inner.next = 0;
            inner.unwritten = 0;
            inner.pending_bytes = 0;
            inner.writer_done = false;
            inner.written = None;
            run.core.truncate_problems(inner.problems_at_start);
        }
        run.core.restart_counts();
        self.start_writer(run)
    }

    /// The next file to deflate on the pool, within the memory bounds.
    fn next_compression(self: Arc<Self>, run: &Arc<Run>) -> KindPoll {
        let mut inner = self.lock();
        if inner.writer_done {
            return KindPoll::Complete;
        }
        if inner.unwritten >= UNWRITTEN_MAX || inner.pending_bytes >= PENDING_MAX_BYTES {
            return KindPoll::Idle;
        }
        let entries = Arc::clone(&inner.entries);
        let level = self.spec.level;
        while inner.next < entries.len()
            && !(entries[inner.next].kind == EntryKind::File
                && on_pool(&entries[inner.next], level))
        {
            inner.next += 1;
        }
        if inner.next >= entries.len() {
            return KindPoll::Idle;
        }
        let index = inner.next;
        inner.next += 1;
        inner.unwritten += 1;
        inner.running += 1;
        drop(inner);
        let entry = entries[index].clone();
        let run = Arc::clone(run);
        KindPoll::Task(Box::new(move || self.compress_task(run, index, entry)))
    }

    /// Estimates the archive's size from test-deflating the start of a few files.
    fn estimate(&self, entries: &[Entry], cancel: &CancelFlag) -> u64 {
        let files: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .collect();
        let mut stored: u64 = 0;
        let mut deflatable: u64 = 0;
        for e in &files {
            if self.spec.level == 0 || is_precompressed(&e.name) {
                stored += e.size;
            } else {
                deflatable += e.size;
            }
        }
        let candidates: Vec<&&Entry> = files
            .iter()
            .filter(|e| e.size > 0 && !is_precompressed(&e.name))
            .collect();
        let step = (candidates.len() / ESTIMATE_SAMPLES).max(1);
        let (mut sample_in, mut sample_out) = (0u64, 0u64);
        if self.spec.level > 0 {
            for e in candidates.iter().step_by(step).take(ESTIMATE_SAMPLES) {
                if cancel.is_cancelled() {
                    break;
                }
                if let Some((i, o)) = sample_deflate(&e.source, self.spec.level) {
                    sample_in += i;
                    sample_out += o;
                }
            }
        }
        let ratio = if sample_in > 0 {
            sample_out as f64 / sample_in as f64
        } else {
            1.0
        };
        let names: u64 = entries.iter().map(|e| 2 * e.name.len() as u64).sum();
        stored
            + (deflatable as f64 * ratio) as u64
            + names
            + ENTRY_OVERHEAD_BYTES * entries.len() as u64
            + 22
    }
}

/// Test-deflates the first `SAMPLE_BYTES` of a file: (bytes in, bytes out).
fn sample_deflate(path: &Path, level: u8) -> Option<(u64, u64)> {
    let (mut file, _) = open_regular(path).ok()?;
    let mut sample = Vec::with_capacity(SAMPLE_BYTES);
    (&mut file)
        .take(SAMPLE_BYTES as u64)
        .read_to_end(&mut sample)
        .ok()?;
    let mut encoder = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(sample.len()),
        flate2::Compression::new(u32::from(level)),
    );
    encoder.write_all(&sample).ok()?;
    let out = encoder.finish().ok()?.len();
    Some((sample.len() as u64, out.min(sample.len()) as u64))
}

impl JobKindImpl for ZipJob {
    fn inputs(&self) -> &[PathBuf] {
        &self.spec.inputs
    }

    /// Decides the archive's path and action before the scan: an existing archive is found at
    /// once, before any work.
    fn prepare(&self, run: &Run) -> Result<(), JobError> {
        if let Some(resume) = &run.resume
            && let Some((path, recorded)) = &resume.archive
        {
            return self.prepare_resumed(run, path, recorded, resume.started_ns);
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
            [comparable_path(&path), super::spec::normalize_path(&path)],
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
            only: Default::default(),
        }
    }

    fn plan(&self, run: &Run, scanned: Scanned) -> Result<Plan, JobError> {
        let (path, action) = self.dest()?.clone();
        let mut items = Vec::with_capacity(scanned.entries.len());
        let mut kept: Vec<Entry> = Vec::with_capacity(scanned.entries.len());
        for entry in scanned.entries {
            // Sorted by name: a repeated name directly follows its first use.
            let duplicate = kept.last().is_some_and(|k| k.name == entry.name);
            items.push(PlanItem {
                input: entry.source.clone(),
                output: Some(archive_name(&entry)),
                action: if duplicate {
                    Action::Skip(SkipReason::DuplicateName)
                } else {
                    Action::Write
                },
                input_bytes: entry.size,
            });
            if !duplicate {
                kept.push(entry);
            }
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
        let bytes: u64 = kept.iter().map(|e| e.size).sum();
        run.core.set_totals(kept.len() as u64, bytes);
        {
            let mut inner = self.lock();
            inner.first_beyond = first_beyond_4gib(&kept);
            inner.entries = Arc::new(kept);
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Ok(Plan::new(
            run.core.id,
            JobKind::Zip,
            name,
            path.clone(),
            Some(PlannedFile { path, action }),
            items,
            Vec::new(),
        ))
    }

    fn estimate_output_bytes(&self, run: &Run, _plan: &Plan) -> Option<u64> {
        let entries = Arc::clone(&self.lock().entries);
        Some(self.estimate(&entries, &run.core.cancel))
    }

    fn start(self: Arc<Self>, run: &Arc<Run>) -> Result<(), JobError> {
        if let Some(plan) = run.plan() {
            report_plan_skips(run, plan);
        }
        self.lock().problems_at_start = run.core.status().problems.len();
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
        let mut inner = self.lock();
        if inner.restart {
            // After a full disk: once resumed and every compression task has ended, start over.
            if inner.running > 0 {
                return KindPoll::Idle;
            }
            inner.restart = false;
            drop(inner);
            let run = Arc::clone(run);
            return KindPoll::Task(Box::new(move || {
                if let Err(e) = self.restart(&run) {
                    run.fail(e);
                }
            }));
        }
        drop(inner);
        self.next_compression(run)
    }

    fn can_stop_early(&self) -> bool {
        false
    }

    fn finish(&self, run: &Run) -> Result<(), JobError> {
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
        let mut st = run.core.status();
        st.archive = Some(path);
        st.output_bytes = written.bytes;
        st.outputs = written.names;
        Ok(())
    }
}

impl ZipJob {
    /// A resumed job writes the archive its plan chose (rebuilt from the start). An archive
    /// there newer than the job's start is its own (complete, but not yet recorded): replaced.
    fn prepare_resumed(
        &self,
        run: &Run,
        path: &Path,
        recorded: &RecordedAction,
        started_ns: u64,
    ) -> Result<(), JobError> {
        let me = run.core.id;
        let cmp = comparable_path(path);
        let action = match fs::metadata(path) {
            Err(_) => Action::Write,
            Ok(m) if m.is_dir() => {
                return Err(JobError::DestinationExists {
                    path: path.to_path_buf(),
                });
            }
            Ok(m) => {
                let ours = mtime_ns(&m) >= i64::try_from(started_ns).unwrap_or(i64::MAX);
                if !ours && *recorded != RecordedAction::Overwrite {
                    return Err(JobError::DestinationExists {
                        path: path.to_path_buf(),
                    });
                }
                if run.claims.input_of(me, &cmp, &m).is_some() {
                    return Err(JobError::DestinationIsInput {
                        path: path.to_path_buf(),
                    });
                }
                let _ = self.replaced.set((m.dev(), m.ino()));
                Action::Overwrite
            }
        };
        if let Some(job) = run.claims.claimed_by(me, &cmp) {
            return Err(JobError::DestinationClaimed {
                path: path.to_path_buf(),
                job,
            });
        }
        run.claims
            .add_outputs(me, [cmp, super::spec::normalize_path(path)]);
        if let Some(name) = path.file_name() {
            run.core.set_name(name.to_string_lossy().into_owned());
        }
        let _ = self.destination.set((path.to_path_buf(), action));
        Ok(())
    }
}

/// An entry's name as the archive lists it (folders end with `/`, APPNOTE 4.4.17).
fn archive_name(entry: &Entry) -> PathBuf {
    match entry.kind {
        EntryKind::Dir => PathBuf::from(format!("{}/", entry.name)),
        _ => PathBuf::from(&entry.name),
    }
}

enum WriteEnd {
    Cancelled,
    Failed(JobError),
}

/// Waits for entry `index`'s compressed data, keeping entries that arrive early.
fn wait_for(
    index: usize,
    ready: &mut BTreeMap<usize, (Compressed, u64)>,
    rx: &flume::Receiver<(usize, Compressed, u64)>,
    cancel: &CancelFlag,
) -> Result<(Compressed, u64), WriteEnd> {
    loop {
        if let Some(found) = ready.remove(&index) {
            return Ok(found);
        }
        if cancel.is_cancelled() {
            return Err(WriteEnd::Cancelled);
        }
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok((i, c, b)) => {
                ready.insert(i, (c, b));
            }
            Err(flume::RecvTimeoutError::Timeout) => {}
            Err(flume::RecvTimeoutError::Disconnected) => return Err(WriteEnd::Cancelled),
        }
    }
}

/// Why one entry was not compressed.
pub(crate) enum EntryFailure {
    Cancelled,
    /// The problem, and the bytes of the item not yet counted as done.
    Item(ItemError, u64),
    /// The archive itself could not be kept consistent: the job fails.
    Archive(zip::result::ZipError),
}

/// Whether an entry is deflated on the pool (else the writer streams it).
fn on_pool(entry: &Entry, level: u8) -> bool {
    level > 0
        && entry.size > 0
        && entry.size <= IN_MEMORY_MAX_BYTES
        && !is_precompressed(&entry.name)
}

fn note_size_change(entry: &Entry, size: u64, core: &JobCore) {
    // The file may have changed size since the scan: keep the totals honest.
    if size > entry.size {
        core.bytes_total
            .fetch_add(size - entry.size, Ordering::Relaxed);
    } else if size < entry.size {
        core.bytes_total
            .fetch_sub(entry.size - size, Ordering::Relaxed);
    }
}

fn deflate_options(entry: &Entry, level: u8, zip64: bool) -> FullFileOptions<'static, 'static> {
    entry_options(entry, zip64)
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(i64::from(level)))
}

fn stored_options(entry: &Entry, zip64: bool) -> FullFileOptions<'static, 'static> {
    entry_options(entry, zip64)
        .compression_method(CompressionMethod::Stored)
        .compression_level(None)
}

/// A pool task: deflates a file into memory; stores it instead when it does not shrink.
fn compress_entry(
    entry: &Entry,
    level: u8,
    zip64: bool,
    run: &Run,
) -> Result<PreparedZipFile, EntryFailure> {
    let core = &run.core;
    let (mut file, meta) =
        open_regular(&entry.source).map_err(|e| EntryFailure::Item(e, entry.size))?;
    let size = meta.len();
    note_size_change(entry, size, core);
    let prepared = compress_to_memory(
        &mut file,
        entry,
        deflate_options(entry, level, zip64),
        run,
        true,
        size,
    )?;
    if prepared.compressed_size() < prepared.uncompressed_size() {
        return Ok(prepared);
    }
    // It did not shrink: store it (its bytes were already counted).
    file.seek(SeekFrom::Start(0))
        .map_err(|e| EntryFailure::Item(ItemError::read(e), 0))?;
    compress_to_memory(
        &mut file,
        entry,
        stored_options(entry, zip64),
        run,
        false,
        size,
    )
}

/// The writer's way for stored and large entries: straight from the file into the archive.
fn stream_entry<W: Write + Seek>(
    zip: &mut ZipWriter<W>,
    entry: &Entry,
    level: u8,
    zip64: bool,
    run: &Run,
) -> Result<(), EntryFailure> {
    let core = &run.core;
    let (mut file, meta) =
        open_regular(&entry.source).map_err(|e| EntryFailure::Item(e, entry.size))?;
    let size = meta.len();
    note_size_change(entry, size, core);
    let deflate =
        level > 0 && size > 0 && !is_precompressed(&entry.name) && worth_deflating(&mut file)?;
    let options = if deflate {
        deflate_options(entry, level, zip64)
    } else {
        stored_options(entry, zip64)
    };
    let large = zip64 || size >= ZIP64_BYTES;
    zip.start_file(entry.name.as_str(), options.large_file(large))
        .map_err(EntryFailure::Archive)?;
    match pump(&mut file, zip, run, true, size) {
        Ok(()) => Ok(()),
        Err(PumpError::Cancelled) => Err(EntryFailure::Cancelled),
        // Writing the archive failed (a full disk): the archive cannot be completed.
        Err(PumpError::Write(e, _)) => Err(EntryFailure::Archive(e.into())),
        Err(PumpError::Read(e, left)) => {
            // Take the half-written entry back out; the archive stays valid.
            zip.abort_file().map_err(EntryFailure::Archive)?;
            Err(EntryFailure::Item(ItemError::read(e), left))
        }
    }
}

/// Test-deflates the start of a file: data that shrinks by less than 3 % is stored.
fn worth_deflating(file: &mut File) -> Result<bool, EntryFailure> {
    let mut sample = vec![0u8; SAMPLE_BYTES];
    let mut filled = 0;
    while filled < sample.len() {
        match file.read(&mut sample[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(EntryFailure::Item(ItemError::read(e), 0)),
        }
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| EntryFailure::Item(ItemError::read(e), 0))?;
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::with_capacity(filled), flate2::Compression::fast());
    let compressed = encoder
        .write_all(&sample[..filled])
        .and_then(|()| encoder.finish())
        .map(|v| v.len())
        .unwrap_or(filled);
    Ok(compressed * 100 < filled * 97)
}

enum PumpError {
    Cancelled,
    /// Reading the input failed after this many bytes were counted.
    Read(io::Error, u64),
    Write(io::Error, u64),
}

/// Copies at most `size` bytes (the size when the file was opened: a file growing meanwhile is
/// archived as it was) from `file` into `sink` in chunks, counting them into bytes_done when
/// `count`, and checking cancel between chunks.
fn pump(
    file: &mut File,
    sink: &mut dyn Write,
    run: &Run,
    count: bool,
    size: u64,
) -> Result<(), PumpError> {
    let core = &run.core;
    let mut buf = vec![0u8; CHUNK_BYTES];
    let mut reader = Read::take(file, size);
    let mut done: u64 = 0;
    let left = |done: u64| if count { size.saturating_sub(done) } else { 0 };
    loop {
        // A pause parks here, between chunks, and goes on where it was.
        if core.is_cancelled() || !run.wait_while_paused() {
            return Err(PumpError::Cancelled);
        }
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(PumpError::Read(e, left(done))),
        };
        if let Err(e) = sink.write_all(&buf[..n]) {
            return Err(PumpError::Write(e, left(done)));
        }
        done += n as u64;
        if count {
            core.add_bytes_done(n as u64);
        }
    }
    // The file shrank while it was read: its bytes are accounted for all the same.
    if count && done < size {
        core.add_bytes_done(size - done);
    }
    Ok(())
}

fn compress_to_memory(
    file: &mut File,
    entry: &Entry,
    options: FullFileOptions<'static, 'static>,
    run: &Run,
    count: bool,
    size: u64,
) -> Result<PreparedZipFile, EntryFailure> {
    let compress_err =
        |e: zip::result::ZipError| EntryFailure::Item(ItemError::Compress(e.to_string()), 0);
    let mut builder = ZipFileBuilder::new(&entry.name, options).map_err(compress_err)?;
    pump(file, &mut builder, run, count, size).map_err(|e| match e {
        PumpError::Cancelled => EntryFailure::Cancelled,
        PumpError::Read(e, left) => EntryFailure::Item(ItemError::read(e), left),
        PumpError::Write(e, left) => EntryFailure::Item(ItemError::Compress(e.to_string()), left),
    })?;
    builder.finish().map_err(compress_err)
}

fn is_precompressed(name: &str) -> bool {
    let ext = match name.rsplit_once('.') {
        Some((_, ext)) if !ext.contains('/') => ext.to_ascii_lowercase(),
        _ => return false,
    };
    STORED_EXTENSIONS.contains(&ext.as_str())
}

/// The index of the first entry whose local header may start at or beyond 4 GiB (an upper bound
/// on each offset: every entry before it stored with generous room for headers and deflate's
/// worst case). Those entries get Zip64 fields for their sizes too, not only for their offset:
/// Info-ZIP's unzip 6.0 misreads an offset-only Zip64 field that follows an entry with 64-bit
/// sizes ("extra field (type: 0x0001) corrupt"), while every reader accepts the full field.
fn first_beyond_4gib(entries: &[Entry]) -> usize {
    let mut bound: u64 = 0;
    for (index, entry) in entries.iter().enumerate() {
        if bound >= ZIP64_BYTES {
            return index;
        }
        bound += entry.size + entry.size / 1000 + 512 + entry.name.len() as u64 * 2;
    }
    usize::MAX
}

/// Unix file-type bits of the mode (S_IFREG, S_IFDIR, S_IFLNK), as stored in the high 16 bits of
/// an entry's external attributes by Info-ZIP (APPNOTE 4.4.15 with "version made by" = UNIX).
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;
/// MS-DOS directory attribute in the low byte of the external attributes.
const DOS_DIRECTORY: u32 = 0x10;

/// Options carrying an entry's modification time (DOS local time, clamped to 1980-2107, plus
/// the extended-timestamp field in UTC) and its full unix mode, setuid, setgid and sticky bits
/// included (the zip crate's `unix_permissions` keeps only 0o777; Info-ZIP stores all 12 bits
/// and `unzip -K` restores them).
fn entry_options(entry: &Entry, zip64: bool) -> FullFileOptions<'static, 'static> {
    let (file_type, dos) = match entry.kind {
        EntryKind::File => (S_IFREG, 0),
        EntryKind::Dir => (S_IFDIR, DOS_DIRECTORY),
        EntryKind::Symlink { .. } => (S_IFLNK, 0),
    };
    let mode = entry.mode & 0o7777;
    let mut options = FullFileOptions::default()
        .large_file(zip64)
        .last_modified_time(dos_time(entry.mtime))
        .unix_permissions(mode)
        .external_attributes(((file_type | mode) << 16) | dos)
        .compression_method(CompressionMethod::Stored);
    if let Some(mtime) = entry.mtime {
        let secs = match mtime.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        };
        let secs = secs.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
        let mut field = [0u8; 5];
        field[0] = 1; // modification time present
        field[1..].copy_from_slice(&secs.to_le_bytes());
        // The field is well formed, so this cannot fail; without it the entry is still valid.
        let _ = options.add_extra_field(EXTENDED_TIMESTAMP_ID, field, false);
    }
    options
}

/// DOS date and time in local time, clamped to the range the format can hold.
pub(crate) fn dos_time(mtime: Option<SystemTime>) -> zip::DateTime {
    use chrono::{Datelike, Timelike};
    let Some(mtime) = mtime else {
        return zip::DateTime::default();
    };
    let local: chrono::DateTime<chrono::Local> = mtime.into();
    let year = local.year();
    let parts = if year < 1980 {
        (1980, 1, 1, 0, 0, 0)
    } else if year > 2107 {
        (2107, 12, 31, 23, 59, 58)
    } else {
        (
            year as u16,
            local.month() as u8,
            local.day() as u8,
            local.hour() as u8,
            local.minute() as u8,
            local.second() as u8,
        )
    };
    zip::DateTime::from_date_and_time(parts.0, parts.1, parts.2, parts.3, parts.4, parts.5.min(59))
        .unwrap_or_default()
}

/// A writer that publishes its position, so the writer can tell where the central directory
/// will start.
struct PositionWriter {
    inner: BufWriter<File>,
    position: Arc<AtomicU64>,
}

impl Write for PositionWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.position.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Seek for PositionWriter {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let at = self.inner.seek(pos)?;
        self.position.store(at, Ordering::Relaxed);
        Ok(at)
    }
}
