//! The zip job: many inputs into one `.zip` archive.
//!
//! Owns: turning scanned entries into archive entries. Files to deflate of up to
//! `IN_MEMORY_MAX_BYTES` are compressed in parallel on the pool, each into a prepared entry in
//! memory (the compressed bytes waiting for the writer are capped by `PENDING_MAX_BYTES`). One
//! writer thread appends entries in sorted order; it streams the rest itself, chunk by chunk:
//! stored entries (already-compressed data, level 0) and files too large to hold in memory.
//! So memory stays bounded whatever the input size. The archive is written under a temporary
//! name in the target folder and renamed when complete.
//! Must not touch: inputs (opened read-only, never followed through a swapped-in link or FIFO),
//! any front end.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime};

use tempfile::NamedTempFile;
use zip::write::{FullFileOptions, PreparedZipFile, ZipFileBuilder};
use zip::{CompressionMethod, ZipWriter};

use super::error::{ItemError, JobError};
use super::output::{parent_dir, persist, temp_beside};
use super::progress::{CancelFlag, JobCore, JobState, ProblemKind};
use super::scan::{Entry, EntryKind, ScanOptions, SymlinkPolicy, scan};
use super::scheduler::{JobDriver, Poll, Scheduler, Task};
use super::spec::ZipSpec;

/// Files up to this size are deflated into memory on the pool; larger ones are streamed by the
/// writer (while the pool goes on with the entries after them).
pub(crate) const IN_MEMORY_MAX_BYTES: u64 = 32 << 20;
/// How much of a large file is test-compressed to decide whether deflating it is worth it.
const SAMPLE_BYTES: usize = 256 << 10;
/// Compressed bytes waiting in memory for the writer, at most (beyond it, no new task starts).
const PENDING_MAX_BYTES: u64 = 48 << 20;
/// Entries handed out but not yet written, at most.
const UNWRITTEN_MAX: usize = 512;
/// Input is read (and cancel checked) in chunks of this size.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;
/// Zip64 is needed from this many entries on (the 16-bit count field then holds 0xFFFF).
const ZIP64_ENTRIES: usize = 0xFFFF;
/// Zip64 is needed for sizes and offsets from this value on.
const ZIP64_BYTES: u64 = 0xFFFF_FFFF;
/// Header id of the extended-timestamp extra field ("UT").
const EXTENDED_TIMESTAMP_ID: u16 = 0x5455;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Queued,
    Starting,
    Compressing,
    Over,
}

struct Inner {
    phase: Phase,
    entries: Arc<Vec<Entry>>,
    next: usize,
    running: usize,
    unwritten: usize,
    pending_bytes: u64,
    to_writer: Option<flume::Sender<(usize, Compressed, u64)>>,
    /// Entries from this index on may start at or beyond 4 GiB (see `first_beyond_4gib`).
    first_beyond: usize,
}

pub(crate) struct ZipJob {
    core: Arc<JobCore>,
    spec: ZipSpec,
    sched: Weak<Scheduler>,
    inner: Mutex<Inner>,
    tasks_idle: Condvar,
}

impl ZipJob {
    pub fn new(core: Arc<JobCore>, spec: ZipSpec, sched: &Arc<Scheduler>) -> Arc<Self> {
        Arc::new(ZipJob {
            core,
            spec,
            sched: Arc::downgrade(sched),
            inner: Mutex::new(Inner {
                phase: Phase::Queued,
                entries: Arc::new(Vec::new()),
                next: 0,
                running: 0,
                unwritten: 0,
                pending_bytes: 0,
                to_writer: None,
                first_beyond: usize::MAX,
            }),
            tasks_idle: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        super::lock(&self.inner)
    }

    fn notify_sched(&self) {
        Scheduler::notify_weak(&self.sched);
    }

    /// Ends the job: waits until no task of it runs any more, then reports.
    fn end(&self, state: JobState, failure: Option<String>) {
        let mut inner = self.lock();
        while inner.running > 0 {
            inner = self
                .tasks_idle
                .wait(inner)
                .unwrap_or_else(|e| e.into_inner());
        }
        inner.phase = Phase::Over;
        inner.to_writer = None;
        drop(inner);
        self.core.finish(state, failure);
        self.notify_sched();
    }

    fn fail(&self, err: JobError) {
        self.end(JobState::Failed, Some(err.to_string()));
    }

    /// First task: check the destination, create the temporary archive, scan, start the writer.
    fn start(self: Arc<Self>) {
        self.core.set_state(JobState::Scanning);
        let dest = &self.spec.destination;
        let dir = parent_dir(dest);
        if let Err(e) = fs::create_dir_all(dir) {
            return self.fail(JobError::CreateOutput {
                path: dir.to_path_buf(),
                source: e,
            });
        }
        let mut exclude_files = Vec::new();
        match fs::metadata(dest) {
            Ok(m) if m.is_dir() => {
                return self.fail(JobError::DestinationIsFolder { path: dest.clone() });
            }
            Ok(_) if !self.spec.overwrite => {
                return self.fail(JobError::DestinationExists { path: dest.clone() });
            }
            Ok(m) => exclude_files.push((m.dev(), m.ino())),
            Err(_) => {}
        }
        let temp = match temp_beside(dest) {
            Ok(t) => t,
            Err(e) => {
                return self.fail(JobError::CreateOutput {
                    path: dest.clone(),
                    source: e,
                });
            }
        };
        if let Ok(m) = temp.as_file().metadata() {
            exclude_files.push((m.dev(), m.ino()));
        }
        if self.spec.inputs.is_empty() {
            return self.fail(JobError::NoInputs);
        }
        let opts = ScanOptions {
            symlinks: SymlinkPolicy::KeepInside,
            include_dirs: true,
            exclude_files,
            exclude_dirs: Vec::new(),
        };
        let Some(entries) = scan(&self.spec.inputs, &opts, &self.core) else {
            drop(temp);
            return self.end(JobState::Cancelled, None);
        };
        if entries.is_empty() {
            drop(temp);
            let why = if self.core.errors.load(Ordering::Relaxed)
                + self.core.skipped.load(Ordering::Relaxed)
                > 0
            {
                "nothing to archive: every input was skipped"
            } else {
                "nothing to archive"
            };
            return self.fail(JobError::NothingToDo(why));
        }
        let entries = Arc::new(entries);
        let (tx, rx) = flume::bounded(UNWRITTEN_MAX + 8);
        {
            let mut inner = self.lock();
            inner.entries = Arc::clone(&entries);
            inner.first_beyond = first_beyond_4gib(&entries);
            inner.to_writer = Some(tx);
            inner.phase = Phase::Compressing;
        }
        self.core.set_state(JobState::Running);
        let me = Arc::clone(&self);
        let spawn = std::thread::Builder::new()
            .name("shrinkwrap-zip-writer".to_owned())
            .spawn(move || me.writer(temp, entries, rx));
        if let Err(e) = spawn {
            self.core.cancel.cancel();
            return self.fail(JobError::Internal(format!(
                "cannot start the writer thread: {e}"
            )));
        }
        self.notify_sched();
    }

    fn compress_task(self: Arc<Self>, index: usize, entry: Entry) {
        let zip64 = index >= self.lock().first_beyond;
        let result = compress_entry(&entry, self.spec.level, zip64, &self.core);
        let (compressed, bytes) = match result {
            Ok(prepared) => {
                let bytes = prepared.compressed_size();
                (Compressed::Memory(prepared), bytes)
            }
            Err(EntryFailure::Cancelled | EntryFailure::Archive(_)) => (Compressed::Failed, 0),
            Err(EntryFailure::Item(err, bytes_left)) => {
                self.core.problem(&entry.source, ProblemKind::Skipped, err);
                self.core.add_bytes_done(bytes_left);
                (Compressed::Failed, 0)
            }
        };
        let mut inner = self.lock();
        inner.pending_bytes += bytes;
        if let Some(tx) = &inner.to_writer {
            // Never blocks: the channel has room for every entry that can be unwritten.
            let _ = tx.try_send((index, compressed, bytes));
        }
        inner.running -= 1;
        if inner.running == 0 {
            self.tasks_idle.notify_all();
        }
    }

    /// Called by the writer when it has consumed an entry's compressed data.
    fn written(&self, bytes: u64) {
        let mut inner = self.lock();
        inner.unwritten = inner.unwritten.saturating_sub(1);
        inner.pending_bytes = inner.pending_bytes.saturating_sub(bytes);
        drop(inner);
        self.notify_sched();
    }

    fn writer(
        self: Arc<Self>,
        temp: NamedTempFile,
        entries: Arc<Vec<Entry>>,
        rx: flume::Receiver<(usize, Compressed, u64)>,
    ) {
        let outcome = self.write_archive(&temp, &entries, &rx);
        drop(rx);
        match outcome {
            Ok(()) => {}
            Err(WriteEnd::Cancelled) => {
                drop(temp);
                return self.end(JobState::Cancelled, None);
            }
            Err(WriteEnd::Failed(e)) => {
                drop(temp);
                self.core.cancel.cancel();
                return self.fail(e);
            }
        }
        if self.core.is_cancelled() {
            drop(temp);
            return self.end(JobState::Cancelled, None);
        }
        let dest = &self.spec.destination;
        let size = temp.as_file().metadata().map(|m| m.len()).unwrap_or(0);
        if let Err((e, temp)) = persist(temp, dest, self.spec.overwrite) {
            drop(temp);
            let err = if e.kind() == io::ErrorKind::AlreadyExists {
                JobError::DestinationExists { path: dest.clone() }
            } else {
                JobError::CreateOutput {
                    path: dest.clone(),
                    source: e,
                }
            };
            return self.fail(err);
        }
        self.core.add_output(dest.clone(), size);
        let incomplete = self.core.errors.load(Ordering::Relaxed)
            + self.core.skipped.load(Ordering::Relaxed)
            > 0;
        self.end(
            if incomplete {
                JobState::DoneWithErrors
            } else {
                JobState::Done
            },
            None,
        );
    }

    fn write_archive(
        &self,
        temp: &NamedTempFile,
        entries: &[Entry],
        rx: &flume::Receiver<(usize, Compressed, u64)>,
    ) -> Result<(), WriteEnd> {
        let dest = &self.spec.destination;
        let zip_err = |source| {
            WriteEnd::Failed(JobError::WriteArchive {
                path: dest.clone(),
                source,
            })
        };
        let file = temp.reopen().map_err(|e| {
            WriteEnd::Failed(JobError::CreateOutput {
                path: dest.clone(),
                source: e,
            })
        })?;
        let position = Arc::new(AtomicU64::new(0));
        let sink = PositionWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            position: Arc::clone(&position),
        };
        let mut zip = ZipWriter::new(sink);
        let mut ready: BTreeMap<usize, (Compressed, u64)> = BTreeMap::new();
        let cancel = self.core.cancel.clone();
        let first_beyond = self.lock().first_beyond;
        for (index, entry) in entries.iter().enumerate() {
            if cancel.is_cancelled() {
                return Err(WriteEnd::Cancelled);
            }
            let zip64 = index >= first_beyond;
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
                    self.core.set_current(entry.name.clone());
                    match stream_entry(&mut zip, entry, self.spec.level, zip64, &self.core) {
                        Ok(()) => {}
                        Err(EntryFailure::Cancelled) => return Err(WriteEnd::Cancelled),
                        Err(EntryFailure::Archive(e)) => return Err(zip_err(e)),
                        Err(EntryFailure::Item(err, bytes_left)) => {
                            self.core.problem(&entry.source, ProblemKind::Skipped, err);
                            self.core.add_bytes_done(bytes_left);
                        }
                    }
                }
                EntryKind::File => {
                    let (compressed, bytes) = wait_for(index, &mut ready, rx, &cancel)?;
                    self.core.set_current(entry.name.clone());
                    if let Compressed::Memory(prepared) = compressed {
                        zip.add_prepared_file(prepared).map_err(zip_err)?;
                    }
                    self.written(bytes);
                }
            }
            self.core.item_done(0);
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
            .map_err(|e| WriteEnd::Failed(JobError::io(dest, e.into_error())))?;
        file.sync_all()
            .map_err(|e| WriteEnd::Failed(JobError::io(dest, e)))?;
        Ok(())
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

impl JobDriver for ZipJob {
    fn core(&self) -> &Arc<JobCore> {
        &self.core
    }

    fn next_task(self: Arc<Self>) -> Poll {
        let mut inner = self.lock();
        match inner.phase {
            Phase::Over => Poll::Finished,
            Phase::Queued => {
                // The start task is not counted in `running`: it may end the job itself, and
                // no compression task exists before it is done.
                inner.phase = Phase::Starting;
                drop(inner);
                let me = Arc::clone(&self);
                let task: Task = Box::new(move || me.start());
                Poll::Task(task)
            }
            Phase::Starting => Poll::Idle,
            Phase::Compressing => {
                if self.core.is_cancelled()
                    || inner.unwritten >= UNWRITTEN_MAX
                    || inner.pending_bytes >= PENDING_MAX_BYTES
                {
                    return Poll::Idle;
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
                    return Poll::Idle;
                }
                let index = inner.next;
                inner.next += 1;
                inner.running += 1;
                inner.unwritten += 1;
                drop(inner);
                let entry = entries[index].clone();
                let me = Arc::clone(&self);
                Poll::Task(Box::new(move || me.compress_task(index, entry)))
            }
        }
    }

    fn task_panicked(&self, message: String) {
        self.core.cancel.cancel();
        let mut inner = self.lock();
        if inner.phase == Phase::Starting {
            inner.phase = Phase::Over;
            drop(inner);
            self.core
                .finish(JobState::Failed, Some(format!("internal error: {message}")));
            return;
        }
        // A compression task: its entry never reaches the writer, which stops on the cancel.
        inner.running = inner.running.saturating_sub(1);
        self.tasks_idle.notify_all();
        drop(inner);
        self.core.problem(
            PathBuf::new(),
            ProblemKind::Error,
            ItemError::Internal(message),
        );
    }

    fn cancel(&self) {
        self.core.cancel.cancel();
        let mut inner = self.lock();
        if inner.phase == Phase::Queued {
            // Never started: nothing was created, it just leaves the queue.
            inner.phase = Phase::Over;
            drop(inner);
            self.core.finish(JobState::Cancelled, None);
        }
        self.notify_sched();
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

/// Opens an input for reading, refusing anything that is not (any more) a regular file: no FIFO
/// is ever waited on, no symlink swapped in since the scan is followed.
pub(crate) fn open_regular(path: &Path) -> Result<(File, fs::Metadata), ItemError> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ItemError::Vanished,
            _ if e.raw_os_error() == Some(libc::ELOOP) => ItemError::ChangedType("a symbolic link"),
            _ => ItemError::Read(e),
        })?;
    let meta = file.metadata().map_err(ItemError::Read)?;
    if !meta.is_file() {
        return Err(ItemError::ChangedType(if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file"
        }));
    }
    Ok((file, meta))
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
    core: &JobCore,
) -> Result<PreparedZipFile, EntryFailure> {
    let (mut file, meta) =
        open_regular(&entry.source).map_err(|e| EntryFailure::Item(e, entry.size))?;
    let size = meta.len();
    note_size_change(entry, size, core);
    let prepared = compress_to_memory(
        &mut file,
        entry,
        deflate_options(entry, level, zip64),
        core,
        true,
        size,
    )?;
    if prepared.compressed_size() < prepared.uncompressed_size() {
        return Ok(prepared);
    }
    // It did not shrink: store it (its bytes were already counted).
    file.seek(SeekFrom::Start(0))
        .map_err(|e| EntryFailure::Item(ItemError::Read(e), 0))?;
    compress_to_memory(
        &mut file,
        entry,
        stored_options(entry, zip64),
        core,
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
    core: &JobCore,
) -> Result<(), EntryFailure> {
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
    match pump(&mut file, zip, core, true, size) {
        Ok(()) => Ok(()),
        Err(PumpError::Cancelled) => Err(EntryFailure::Cancelled),
        // Writing the archive failed (a full disk): the archive cannot be completed.
        Err(PumpError::Write(e, _)) => Err(EntryFailure::Archive(e.into())),
        Err(PumpError::Read(e, left)) => {
            // Take the half-written entry back out; the archive stays valid.
            zip.abort_file().map_err(EntryFailure::Archive)?;
            Err(EntryFailure::Item(ItemError::Read(e), left))
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
            Err(e) => return Err(EntryFailure::Item(ItemError::Read(e), 0)),
        }
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| EntryFailure::Item(ItemError::Read(e), 0))?;
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
    core: &JobCore,
    count: bool,
    size: u64,
) -> Result<(), PumpError> {
    let mut buf = vec![0u8; CHUNK_BYTES];
    let mut reader = Read::take(file, size);
    let mut done: u64 = 0;
    let left = |done: u64| if count { size.saturating_sub(done) } else { 0 };
    loop {
        if core.is_cancelled() {
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
    core: &JobCore,
    count: bool,
    size: u64,
) -> Result<PreparedZipFile, EntryFailure> {
    let compress_err =
        |e: zip::result::ZipError| EntryFailure::Item(ItemError::Compress(e.to_string()), 0);
    let mut builder = ZipFileBuilder::new(&entry.name, options).map_err(compress_err)?;
    pump(file, &mut builder, core, count, size).map_err(|e| match e {
        PumpError::Cancelled => EntryFailure::Cancelled,
        PumpError::Read(e, left) => EntryFailure::Item(ItemError::Read(e), left),
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

/// Options carrying an entry's modification time (DOS local time, clamped to 1980-2107, plus
/// the extended-timestamp field in UTC) and unix permissions.
fn entry_options(entry: &Entry, zip64: bool) -> FullFileOptions<'static, 'static> {
    let mut options = FullFileOptions::default()
        .large_file(zip64)
        .last_modified_time(dos_time(entry.mtime))
        .unix_permissions(entry.mode)
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
