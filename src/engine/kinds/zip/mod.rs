//! The zip job kind: many inputs into one `.zip` archive.
//!
//! Owns: this kind's plan (the archive's path and what happens there, decided before the scan;
//! one entry per scanned file, folder or kept symlink, in sorted name order), and writing the
//! archive.
//!
//! How the work is cut (all of it decided from the plan, so the archive's bytes are the same for
//! any number of workers):
//! - Files up to [`BLOCK_BYTES`] are each compressed whole, as one block (`deflate_blocks`), and
//!   many of them go to one pool task: a batch of consecutive entries holding at most
//!   [`BATCH_MAX_FILES`] files and [`BATCH_MAX_BYTES`] of input. A file that does not shrink is
//!   stored.
//! - A larger file is cut into blocks of [`BLOCK_BYTES`], each a pool task, each primed with the
//!   32 KiB before it and ending on a byte boundary, so the blocks append into one deflate
//!   stream (as pigz does) and one big file keeps every core busy. Each block is stored or
//!   deflated on its own (`BlockCompressor`'s probe and size check), so an incompressible
//!   stretch costs 5 bytes per 64 KiB and the rest of the file is still deflated.
//! - Files of known compressed types (and every file at level 0) are stored whole: small ones
//!   read on the pool in the batches, large ones copied by the writer chunk by chunk.
//!
//! Each pool worker keeps its compressor and buffers in a thread-local [`Worker`] (allocated on
//! its first zip task, reused for every file and block after it), and results travel in
//! recycled buffers, so compressing allocates, maps and spawns nothing per file. One writer
//! thread (started under the lifecycle's panic guard) takes the results in archive order and
//! appends them with `archive_writer`; it counts progress, so bytes done move per block or file
//! written. Results waiting for the writer are capped ([`UNWRITTEN_MAX`] tasks and
//! [`PENDING_MAX_BYTES`] of their input), so memory stays bounded whatever the input; when the
//! cap held the pool back, the writer wakes it as it makes room (and only then). Cancel and
//! pause are seen within 1 MiB of input: between batches and blocks, and between the writer's
//! chunks. A file that changed since the scan (another size, or other bytes where two blocks
//! meet) is compressed again by the writer, as it is then. The archive is written under a
//! temporary name in the target folder and put in place by the lifecycle's rules when complete.
//!
//! Must not touch: inputs (opened read-only, never followed through a swapped-in link or FIFO),
//! any front end.

pub mod archive;
pub mod compress;
pub mod sink;
pub mod spec;

use std::cell::RefCell;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

use crate::engine::kinds::zip::archive::{
    ArchiveError, ArchiveWriter, EntryMeta, Method, ZIP64_BYTES, needs_zip64,
};
use crate::engine::kinds::zip::compress::{
    BlockCompressor, BlockEnd, BlockPlan, BlockSequence, BlockSummary, DEFAULT_BLOCK_BYTES,
    read_block,
};
use crate::engine::model::error::{IoCause, ItemError, JobError, SpecError};
use crate::engine::model::events::ProblemKind;
use crate::engine::model::kind::{Counts, JobKind, KindInfo, OutputShape};
use crate::engine::model::paths::parent_dir;
use crate::engine::model::plan::{Action, Plan, PlanItem, PlannedFile, SkipReason};
use crate::engine::runtime::claims::comparable_path;
use crate::engine::runtime::input::{CHUNK_BYTES, open_regular};
use crate::engine::runtime::job::{Finished, JobKindImpl, KindPoll, KindSpec, Planned, Run};
use crate::engine::runtime::journal::{RecordedAction, mtime_ns};
use crate::engine::runtime::resolver::numbered_free_name;
use crate::engine::runtime::scan::{EntryKind, ScanOptions, Scanned, SymlinkPolicy};
use crate::engine::runtime::status::{CancelFlag, JobCore};
use crate::engine::runtime::temp::TempOutput;
use spec::{ExistingArchive, ZipSpec};

/// Input per block of a large file, and the largest file compressed whole as one block.
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
});

/// The job for `spec`, once its options are checked.
pub(crate) fn new_job(spec: ZipSpec) -> Result<ZipJob, SpecError> {
    KindSpec::validate(&spec)?;
    Ok(ZipJob::new(spec))
}

const BLOCK_BYTES: usize = DEFAULT_BLOCK_BYTES;
/// Files up to this size go into batches.
const SMALL_MAX_BYTES: u64 = BLOCK_BYTES as u64;
/// Input of one batch, at most: a task never reads more than this between two looks at cancel.
const BATCH_MAX_BYTES: u64 = CHUNK_BYTES as u64;
/// Files in one batch, at most. Measured on 100,000 files of 70 bytes: 16 files per task cost
/// 6 % more time than 64; 256 gain nothing over 64.
const BATCH_MAX_FILES: usize = 64;
/// Pool tasks handed out whose results the writer has not taken yet, at most. Each result holds
/// at most about 1 MiB (a batch's output, or a block's), so this bounds their memory.
const UNWRITTEN_MAX: usize = 12;
/// Input bytes of those tasks, at most (16 blocks: the writer may copy a large stored file
/// meanwhile, and the pool should not starve while it does).
const PENDING_MAX_BYTES: u64 = 8 << 20;
/// How much of a file is test-compressed to estimate the archive's size (dry runs).
const SAMPLE_BYTES: usize = 256 << 10;
/// Files sampled by a dry run to estimate the archive's size.
const ESTIMATE_SAMPLES: usize = 8;
/// Bytes of headers per entry, about (local header, central directory record, extra fields).
const ENTRY_OVERHEAD_BYTES: u64 = 30 + 46 + 2 * 9;

/// Extensions of data that is already compressed: stored whole, never deflated.
///
/// JPEG is not among them, although it is compressed: its entropy coding (mostly the standard
/// Huffman tables) leaves a few percent that deflate takes, and the blocks where it does not
/// cost only their probe (see `BlockCompressor::set_probe`). Measured on the 39 JPEG files of
/// `zipcorpus/mixed` (27.5 MB): deflated in blocks they take 2.4 % less (652 KB, as Info-ZIP,
/// which deflates everything), for 0.29 s of one core; 28 of their 53 large blocks were still
/// stored. Storing them whole left our archive of `mixed` 0.72 % larger than Info-ZIP's; PNG
/// (zlib inside) gains 0.2 %, not worth deflating.
const STORED_EXTENSIONS: &[&str] = &[
    "7z", "aac", "apk", "avi", "avif", "br", "bz2", "cab", "deb", "docx", "epub", "flac", "gif",
    "gz", "heic", "heif", "jar", "jxl", "lz", "lz4", "lzma", "m4a", "m4v", "mkv", "mov", "mp3",
    "mp4", "odp", "ods", "odt", "ogg", "opus", "png", "pptx", "rar", "rpm", "tgz", "txz", "webm",
    "webp", "whl", "woff", "woff2", "xlsx", "xz", "zip", "zst",
];

/// Unix file-type bits of the mode (S_IFREG, S_IFDIR, S_IFLNK), as stored in the high 16 bits of
/// an entry's external attributes by Info-ZIP (APPNOTE 4.4.15 with "version made by" = UNIX).
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;
/// MS-DOS date of 1980-01-01 (APPNOTE 4.4.6), for entries without a modification time.
const DOS_EPOCH_DATE: u16 = (1 << 5) | 1;

/// What the job keeps of one entry of the archive. Its paths (the source, the entry's name) are
/// those of plan item `item`, not copied: with 100,000 entries, a copy would be 10 MB.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ZipEntry {
    item: usize,
    kind: EntryKind,
    /// Bytes when listed.
    size: u64,
    mtime: Option<SystemTime>,
    /// Unix permission bits (`0o7777` part of the mode).
    mode: u32,
    /// A known compressed type (see [`STORED_EXTENSIONS`]).
    precompressed: bool,
}

/// The source of `entry`.
fn source<'p>(plan: &'p Plan, entry: &ZipEntry) -> &'p Path {
    &plan.items[entry.item].input
}

/// The name of `entry` in the archive ('/'-separated; a folder's ends with '/'). Names are
/// UTF-8: the scan skips any other.
fn name<'p>(plan: &'p Plan, entry: &ZipEntry) -> &'p str {
    plan.items[entry.item]
        .output
        .as_deref()
        .and_then(Path::to_str)
        .unwrap_or_default()
}

/// Work in archive order, decided when the job starts. The writer walks these in order; the
/// pool gets one task per batch with files and one per block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// Entries `first..end`: folders, links and small files. The `files` among them (with
    /// `input_bytes` between them) are read and compressed by one pool task; with none, the
    /// writer adds the entries alone.
    Batch {
        first: usize,
        end: usize,
        files: usize,
        input_bytes: u64,
    },
    /// Entry `entry`, a file cut into `blocks` blocks of [`BLOCK_BYTES`], one pool task each.
    Blocks { entry: usize, blocks: u64 },
    /// Entry `entry`, a large file stored whole: the writer copies it.
    Stream { entry: usize },
}

/// Cuts the plan's entries into units (see the module doc).
fn make_units(entries: &[ZipEntry], level: u8) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut open: Option<Unit> = None;
    for (index, entry) in entries.iter().enumerate() {
        let small = match entry.kind {
            EntryKind::File => entry.size <= SMALL_MAX_BYTES,
            EntryKind::Dir | EntryKind::Symlink { .. } => true,
        };
        if small {
            let file_bytes = match entry.kind {
                EntryKind::File => Some(entry.size),
                _ => None,
            };
            if let Some(Unit::Batch {
                end,
                files,
                input_bytes,
                ..
            }) = &mut open
            {
                let fits = match file_bytes {
                    None => true,
                    Some(bytes) => {
                        *files < BATCH_MAX_FILES && *input_bytes + bytes <= BATCH_MAX_BYTES
                    }
                };
                if fits {
                    *end = index + 1;
                    if let Some(bytes) = file_bytes {
                        *files += 1;
                        *input_bytes += bytes;
                    }
                    continue;
                }
            }
            units.extend(open.take());
            open = Some(Unit::Batch {
                first: index,
                end: index + 1,
                files: usize::from(file_bytes.is_some()),
                input_bytes: file_bytes.unwrap_or(0),
            });
            continue;
        }
        units.extend(open.take());
        units.push(if stored_whole(entry, level) {
            Unit::Stream { entry: index }
        } else {
            Unit::Blocks {
                entry: index,
                blocks: BlockPlan::new(entry.size, BLOCK_BYTES).block_count(),
            }
        });
    }
    units.extend(open);
    units
}

/// Whether a file is stored as it is rather than deflated.
fn stored_whole(entry: &ZipEntry, level: u8) -> bool {
    level == 0 || entry.precompressed
}

/// One pool worker's compression state, kept on its thread for every file and block it
/// compresses (the pool's threads outlive jobs, so this is made once per worker).
struct Worker {
    compressor: BlockCompressor,
    /// A file's bytes, or a block's dictionary then data.
    input: Vec<u8>,
    /// A small file's compressed form, before it joins its batch's output.
    out: Vec<u8>,
}

impl Worker {
    fn new() -> Result<Worker, ItemError> {
        Ok(Worker {
            compressor: BlockCompressor::new(6).map_err(|e| ItemError::Compress(e.to_string()))?,
            input: Vec::new(),
            out: Vec::new(),
        })
    }
}

thread_local! {
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's [`Worker`], made on first use.
fn with_worker<R>(f: impl FnOnce(&mut Worker) -> R) -> Result<R, ItemError> {
    WORKER.with(|cell| {
        let mut slot = cell
            .try_borrow_mut()
            .map_err(|_| ItemError::Internal("the worker's compressor is in use".into()))?;
        let worker = match slot.as_mut() {
            Some(worker) => worker,
            None => slot.insert(Worker::new()?),
        };
        Ok(f(worker))
    })
}

/// A result's memory, recycled: the writer gives it back once written.
#[derive(Default)]
struct ResultBuf {
    /// The data of a batch's files back to back (as each entry will hold it), or a block's.
    data: Vec<u8>,
    /// What became of each file of a batch, in entry order.
    files: Vec<FileDone>,
}

/// What became of one file of a batch.
enum FileDone {
    /// Its entry's data is the next `data_bytes` of the batch's data.
    Ready {
        method: Method,
        crc32: u32,
        uncompressed_bytes: u64,
        data_bytes: usize,
    },
    /// It grew beyond [`SMALL_MAX_BYTES`] since the scan: the writer compresses it.
    Grown,
    Failed(ItemError),
}

/// A large file whose blocks are being compressed: opened once, by the first of its block
/// tasks to run, and shared by all of them.
struct BigFile {
    entry: usize,
    plan: BlockPlan,
    opened: OnceLock<Opened>,
}

enum Opened {
    File(File),
    /// Not the size the plan was made for: the writer compresses it as it is now.
    Changed,
    /// The error, taken by the writer to report it.
    Failed(Mutex<Option<ItemError>>),
}

impl BigFile {
    fn open(&self, source: &Path) -> &Opened {
        self.opened.get_or_init(|| match open_regular(source) {
            Ok((file, meta)) if meta.len() == self.plan.file_bytes() => Opened::File(file),
            Ok(_) => Opened::Changed,
            Err(e) => Opened::Failed(Mutex::new(Some(e))),
        })
    }
}

/// Why a block has no data.
enum BlockFailure {
    /// The file could not be opened, or changed: see its [`BigFile::opened`].
    Unavailable,
    /// The file shrank while it was read: the writer compresses it as it is now.
    Shrank,
    Read(ItemError),
    Cancelled,
}

/// A pool task's result.
enum Done {
    Batch(ResultBuf),
    Block {
        big: Arc<BigFile>,
        result: Result<(BlockSummary, ResultBuf), BlockFailure>,
    },
}

/// What the writer hands back: the complete archive, and which entries it holds.
struct Written {
    temp: TempOutput,
    archived: Vec<bool>,
    bytes: u64,
}

struct Inner {
    entries: Arc<Vec<ZipEntry>>,
    units: Arc<Vec<Unit>>,
    /// The next unit to hand out work from, and within a `Blocks` unit its next block.
    next_unit: usize,
    next_block: u64,
    /// The file of the `Blocks` unit being handed out.
    big: Option<Arc<BigFile>>,
    next_ticket: u64,
    /// Tasks handed out whose results the writer has not taken, and their input bytes.
    unwritten: usize,
    pending_bytes: u64,
    /// The pool was told "nothing now" because of the caps: the writer wakes it when it makes
    /// room.
    starved: bool,
    to_writer: Option<flume::Sender<(u64, Done)>>,
    /// Result buffers given back by the writer.
    spare: Vec<ResultBuf>,
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

impl Inner {
    /// Counts a task handed out: its ticket (the order the writer takes results in), its room
    /// under the caps, and it as running.
    fn take_ticket(&mut self, input_bytes: u64) {
        self.next_ticket += 1;
        self.unwritten += 1;
        self.pending_bytes += input_bytes;
        self.running += 1;
    }
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
                units: Arc::new(Vec::new()),
                next_unit: 0,
                next_block: 0,
                big: None,
                next_ticket: 0,
                unwritten: 0,
                pending_bytes: 0,
                starved: false,
                to_writer: None,
                spare: Vec::new(),
                writer_done: false,
                written: None,
                running: 0,
                restart: false,
                problems_at_start: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        crate::engine::lock(&self.inner)
    }

    fn dest(&self) -> Result<&(PathBuf, Action), JobError> {
        self.destination
            .get()
            .ok_or_else(|| JobError::Internal("the archive's destination was not decided".into()))
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

    /// A spare result buffer (or a new one while the pool of spares fills).
    fn spare(&self) -> ResultBuf {
        self.lock().spare.pop().unwrap_or_default()
    }

    /// Hands a task's result to the writer.
    fn deliver(&self, ticket: u64, done: Done) {
        let tx = {
            let mut inner = self.lock();
            inner.running -= 1;
            inner.to_writer.clone()
        };
        // Never blocks: the channel has room for every result that can be unwritten. Without a
        // writer (it ended), the result is dropped.
        if let Some(tx) = tx {
            let _ = tx.send((ticket, done));
        }
    }

    /// A pool task: reads and compresses the files among entries `first..end`.
    fn batch_task(&self, run: &Run, entries: &[ZipEntry], ticket: u64) {
        let mut buf = self.spare();
        let Some(plan) = run.plan() else {
            return self.deliver(ticket, Done::Batch(buf));
        };
        buf.data.clear();
        buf.files.clear();
        let level = self.spec.level;
        let compressed = with_worker(|worker| {
            for entry in entries {
                if entry.kind != EntryKind::File {
                    continue;
                }
                if run.stopping() {
                    // The writer sees the cancel; the files left have no result.
                    break;
                }
                let done = compress_small(source(plan, entry), entry, level, worker, &mut buf.data);
                buf.files.push(done);
            }
        });
        if let Err(e) = compressed {
            // No compressor on this thread (cannot happen with a valid level): every file fails.
            let message = e.to_string();
            buf.files.clear();
            for _ in entries.iter().filter(|e| e.kind == EntryKind::File) {
                buf.files
                    .push(FileDone::Failed(ItemError::Compress(message.clone())));
            }
        }
        self.deliver(ticket, Done::Batch(buf));
    }

    /// A pool task: reads and compresses block `index` of a large file.
    fn block_task(&self, run: &Run, entry: &ZipEntry, big: Arc<BigFile>, index: u64, ticket: u64) {
        let result = match run.plan() {
            _ if run.stopping() => Err(BlockFailure::Cancelled),
            None => Err(BlockFailure::Cancelled),
            Some(plan) => match big.open(source(plan, entry)) {
                Opened::File(file) => {
                    let mut buf = self.spare();
                    let level = self.spec.level;
                    let plan = &big.plan;
                    with_worker(|worker| {
                        let dictionary_bytes =
                            match read_block(file, plan, index, &mut worker.input) {
                                Ok(n) => n,
                                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                                    return Err(BlockFailure::Shrank);
                                }
                                Err(e) => return Err(BlockFailure::Read(ItemError::read(e))),
                            };
                        let (dictionary, data) = worker.input.split_at(dictionary_bytes);
                        worker
                            .compressor
                            .compress_block(level, dictionary, data, plan.end(index), &mut buf.data)
                            .map_err(|e| BlockFailure::Read(ItemError::Compress(e.to_string())))
                    })
                    .map_err(BlockFailure::Read)
                    .and_then(|r| r)
                    .map(|summary| (summary, buf))
                }
                Opened::Changed | Opened::Failed(_) => Err(BlockFailure::Unavailable),
            },
        };
        self.deliver(ticket, Done::Block { big, result });
    }

    /// Called by the writer when it has taken a result: makes room for the next task, keeps
    /// the buffer for it, and wakes the pool if the caps had held it back.
    fn written(&self, run: &Run, input_bytes: u64, buf: Option<ResultBuf>) {
        let mut inner = self.lock();
        inner.unwritten = inner.unwritten.saturating_sub(1);
        inner.pending_bytes = inner.pending_bytes.saturating_sub(input_bytes);
        if let Some(buf) = buf
            && inner.spare.len() < UNWRITTEN_MAX
        {
            inner.spare.push(buf);
        }
        let wake = std::mem::take(&mut inner.starved);
        drop(inner);
        if wake {
            run.notify();
        }
    }

    /// The writer thread: appends every entry in order, then hands the complete archive back.
    fn writer(
        self: Arc<Self>,
        run: Arc<Run>,
        temp: TempOutput,
        entries: Arc<Vec<ZipEntry>>,
        units: Arc<Vec<Unit>>,
        rx: flume::Receiver<(u64, Done)>,
    ) {
        let outcome = self.write_archive(&run, &temp, &entries, &units, &rx);
        drop(rx);
        let mut inner = self.lock();
        inner.to_writer = None;
        inner.spare.clear();
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
            Ok(archived) if !run.stopping() => {
                let bytes = temp
                    .file()
                    .and_then(|f| f.metadata().ok())
                    .map_or(0, |m| m.len());
                inner.written = Some(Written {
                    temp,
                    archived,
                    bytes,
                });
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
        entries: &[ZipEntry],
        units: &[Unit],
        rx: &flume::Receiver<(u64, Done)>,
    ) -> Result<Vec<bool>, WriteEnd> {
        let dest = self.dest().map_err(WriteEnd::Failed)?.0.clone();
        let plan = run
            .plan()
            .ok_or_else(|| WriteEnd::Failed(JobError::Internal("no plan".into())))?;
        let io_err = |e: io::Error| {
            WriteEnd::Failed(JobError::WriteArchive {
                path: dest.clone(),
                cause: IoCause::of(e),
            })
        };
        let file = temp.reopen().map_err(io_err)?;
        let out = ArchiveWriter::new(file).map_err(io_err)?;
        let mut writer = Writer {
            job: self,
            run,
            plan,
            entries,
            rx,
            dest: &dest,
            out,
            ring: (0..UNWRITTEN_MAX).map(|_| None).collect(),
            next_ticket: 0,
            archived: vec![false; entries.len()],
            own: None,
            chunk: Vec::new(),
        };
        for unit in units {
            writer.check()?;
            match *unit {
                Unit::Batch {
                    first,
                    end,
                    files,
                    input_bytes,
                } => writer.batch(first, end, files, input_bytes)?,
                Unit::Blocks { entry, blocks } => writer.blocks(entry, blocks)?,
                Unit::Stream { entry } => {
                    run.core.set_current(name(plan, &entries[entry]));
                    let mut progress = Progress::new(&run.core, entries[entry].size);
                    writer.stream(entry, &mut progress)?;
                    progress.finish();
                    run.core.item_done(0);
                }
            }
        }
        writer.check()?;
        let Writer { out, archived, .. } = writer;
        let file = out.finish().map_err(|e| archive_error(&dest, e))?;
        file.sync_all().map_err(io_err)?;
        Ok(archived)
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
        let (tx, rx) = flume::bounded(UNWRITTEN_MAX);
        let (entries, units) = {
            let mut inner = self.lock();
            inner.to_writer = Some(tx);
            (Arc::clone(&inner.entries), Arc::clone(&inner.units))
        };
        let me = Arc::clone(self);
        let writer_run = Arc::clone(run);
        run.spawn("shrinkwrap-zip-writer", move || {
            me.writer(writer_run, temp, entries, units, rx)
        })
    }

    /// Starts the archive over (after a full disk): counters and per-entry problems back to
    /// where the run began, a new temporary archive, a new writer.
    fn restart(self: &Arc<Self>, run: &Arc<Run>) -> Result<(), JobError> {
        {
            let mut inner = self.lock();
            inner.next_unit = 0;
            inner.next_block = 0;
            inner.big = None;
            inner.next_ticket = 0;
            inner.unwritten = 0;
            inner.pending_bytes = 0;
            inner.starved = false;
            inner.writer_done = false;
            inner.written = None;
            run.core.truncate_problems(inner.problems_at_start);
        }
        run.core.restart_counts();
        self.start_writer(run)
    }

    /// The next batch or block for the pool, within the caps.
    fn next_compression(self: Arc<Self>, run: &Arc<Run>) -> KindPoll {
        let mut inner = self.lock();
        if inner.writer_done {
            return KindPoll::Complete;
        }
        if inner.to_writer.is_none() {
            return KindPoll::Idle;
        }
        let units = Arc::clone(&inner.units);
        // Units without pool work are the writer's alone.
        while let Some(Unit::Batch { files: 0, .. } | Unit::Stream { .. }) =
            units.get(inner.next_unit)
        {
            inner.next_unit += 1;
        }
        let Some(&unit) = units.get(inner.next_unit) else {
            return KindPoll::Idle;
        };
        if inner.unwritten >= UNWRITTEN_MAX || inner.pending_bytes >= PENDING_MAX_BYTES {
            inner.starved = true;
            return KindPoll::Idle;
        }
        let entries = Arc::clone(&inner.entries);
        let run = Arc::clone(run);
        let ticket = inner.next_ticket;
        match unit {
            Unit::Batch {
                first,
                end,
                input_bytes,
                ..
            } => {
                inner.take_ticket(input_bytes);
                inner.next_unit += 1;
                drop(inner);
                KindPoll::Task(Box::new(move || {
                    self.batch_task(&run, &entries[first..end], ticket)
                }))
            }
            Unit::Blocks { entry, blocks } => {
                let index = inner.next_block;
                let big = match &inner.big {
                    Some(big) if index > 0 => Arc::clone(big),
                    _ => {
                        let big = Arc::new(BigFile {
                            entry,
                            plan: BlockPlan::new(entries[entry].size, BLOCK_BYTES),
                            opened: OnceLock::new(),
                        });
                        inner.big = Some(Arc::clone(&big));
                        big
                    }
                };
                let range = big.plan.data_range(index);
                inner.take_ticket(range.end - range.start);
                inner.next_block += 1;
                if inner.next_block >= blocks {
                    inner.next_unit += 1;
                    inner.next_block = 0;
                    inner.big = None;
                }
                drop(inner);
                KindPoll::Task(Box::new(move || {
                    self.block_task(&run, &entries[entry], big, index, ticket)
                }))
            }
            // Passed over above: the writer's alone.
            Unit::Stream { .. } => KindPoll::Idle,
        }
    }

    /// Estimates the archive's size from test-deflating the start of a few files.
    fn estimate(&self, plan: &Plan, entries: &[ZipEntry], cancel: &CancelFlag) -> u64 {
        let files: Vec<&ZipEntry> = entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .collect();
        let mut stored: u64 = 0;
        let mut deflatable: u64 = 0;
        for e in &files {
            if stored_whole(e, self.spec.level) {
                stored += e.size;
            } else {
                deflatable += e.size;
            }
        }
        let candidates: Vec<&&ZipEntry> = files
            .iter()
            .filter(|e| e.size > 0 && !e.precompressed)
            .collect();
        let step = (candidates.len() / ESTIMATE_SAMPLES).max(1);
        let (mut sample_in, mut sample_out) = (0u64, 0u64);
        if self.spec.level > 0 {
            for e in candidates.iter().step_by(step).take(ESTIMATE_SAMPLES) {
                if cancel.is_cancelled() {
                    break;
                }
                if let Some((i, o)) = sample_deflate(source(plan, e), self.spec.level) {
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
        let names: u64 = entries.iter().map(|e| 2 * name(plan, e).len() as u64).sum();
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

/// Reads a small file and appends what its entry will hold to `data`: its deflated form, or its
/// bytes when it is stored (a known compressed type, level 0, or it did not shrink). The file
/// is read as it is when opened, up to its size then.
fn compress_small(
    source: &Path,
    entry: &ZipEntry,
    level: u8,
    worker: &mut Worker,
    data: &mut Vec<u8>,
) -> FileDone {
    let (mut file, meta) = match open_regular(source) {
        Ok(opened) => opened,
        Err(e) => return FileDone::Failed(e),
    };
    if meta.len() > SMALL_MAX_BYTES {
        return FileDone::Grown;
    }
    let size = meta.len() as usize;
    if worker.input.len() < size {
        worker.input.resize(size, 0);
    }
    let mut filled = 0;
    while filled < size {
        match file.read(&mut worker.input[filled..size]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return FileDone::Failed(ItemError::read(e)),
        }
    }
    drop(file);
    let input = &worker.input[..filled];
    let stored = |data: &mut Vec<u8>| {
        data.extend_from_slice(input);
        FileDone::Ready {
            method: Method::Stored,
            crc32: crc32fast::hash(input),
            uncompressed_bytes: filled as u64,
            data_bytes: filled,
        }
    };
    if input.is_empty() || stored_whole(entry, level) {
        return stored(data);
    }
    match worker
        .compressor
        .compress_block(level, &[], input, BlockEnd::Final, &mut worker.out)
    {
        Ok(summary) if !summary.stored => {
            data.extend_from_slice(&worker.out);
            FileDone::Ready {
                method: Method::Deflated,
                crc32: summary.crc32,
                uncompressed_bytes: filled as u64,
                data_bytes: worker.out.len(),
            }
        }
        Ok(_) => stored(data),
        Err(e) => FileDone::Failed(ItemError::Compress(e.to_string())),
    }
}

enum WriteEnd {
    Cancelled,
    Failed(JobError),
}

/// An archive error as the job's failure.
fn archive_error(dest: &Path, e: ArchiveError) -> WriteEnd {
    WriteEnd::Failed(match e {
        ArchiveError::Io(e) => JobError::WriteArchive {
            path: dest.to_path_buf(),
            cause: IoCause::of(e),
        },
        other => JobError::ArchiveFormat {
            path: dest.to_path_buf(),
            detail: other.to_string(),
        },
    })
}

/// Counts one entry's bytes into bytes done, as far as its planned size (a file that changed
/// size since the scan still moves the bar by exactly what the plan counted).
struct Progress<'a> {
    core: &'a JobCore,
    planned: u64,
    counted: u64,
}

impl<'a> Progress<'a> {
    fn new(core: &'a JobCore, planned: u64) -> Self {
        Progress {
            core,
            planned,
            counted: 0,
        }
    }

    fn add(&mut self, bytes: u64) {
        let bytes = bytes.min(self.planned - self.counted);
        self.counted += bytes;
        self.core.add_bytes_done(bytes);
    }

    /// The entry is over (written or not): the rest of its planned bytes count as done.
    fn finish(&mut self) {
        self.add(self.planned - self.counted);
    }
}

/// Why one entry the writer compresses or copies itself was not archived.
enum StreamFailure {
    /// The input could not be read (reported as the item's problem).
    Item(ItemError),
    End(WriteEnd),
}

/// The writer thread's state for one archive.
struct Writer<'a> {
    job: &'a ZipJob,
    run: &'a Run,
    plan: &'a Plan,
    entries: &'a [ZipEntry],
    rx: &'a flume::Receiver<(u64, Done)>,
    dest: &'a Path,
    out: ArchiveWriter<File>,
    /// Results that arrived before their turn, by ticket modulo its length.
    ring: Vec<Option<Done>>,
    next_ticket: u64,
    archived: Vec<bool>,
    /// Compression state for the files the writer compresses itself (changed since the scan).
    own: Option<Worker>,
    /// A stored file's chunk.
    chunk: Vec<u8>,
}

impl Writer<'_> {
    /// Stops at a cancel; parks while the job is paused.
    fn check(&self) -> Result<(), WriteEnd> {
        if self.run.stopping() || !self.run.wait_while_paused() {
            return Err(WriteEnd::Cancelled);
        }
        Ok(())
    }

    fn fail(&self, e: ArchiveError) -> WriteEnd {
        archive_error(self.dest, e)
    }

    /// The next task's result in archive order.
    fn take(&mut self) -> Result<Done, WriteEnd> {
        let slot = (self.next_ticket % UNWRITTEN_MAX as u64) as usize;
        loop {
            if let Some(done) = self.ring[slot].take() {
                self.next_ticket += 1;
                return Ok(done);
            }
            if self.run.stopping() {
                return Err(WriteEnd::Cancelled);
            }
            match self.rx.recv_timeout(Duration::from_millis(50)) {
                Ok((ticket, done)) => {
                    self.ring[(ticket % UNWRITTEN_MAX as u64) as usize] = Some(done);
                }
                Err(flume::RecvTimeoutError::Timeout) => {}
                Err(flume::RecvTimeoutError::Disconnected) => return Err(WriteEnd::Cancelled),
            }
        }
    }

    /// Writes the entries of a batch: folders and links directly, files from the batch's result.
    fn batch(
        &mut self,
        first: usize,
        end: usize,
        files: usize,
        input_bytes: u64,
    ) -> Result<(), WriteEnd> {
        let (entries, plan) = (self.entries, self.plan);
        let core = &self.run.core;
        let mut buf = if files > 0 {
            match self.take()? {
                Done::Batch(buf) => Some(buf),
                Done::Block { .. } => {
                    return Err(WriteEnd::Failed(JobError::Internal(
                        "a block's result came for a batch".into(),
                    )));
                }
            }
        } else {
            None
        };
        if let Some(entry) = entries[first..end]
            .iter()
            .find(|e| e.kind == EntryKind::File)
        {
            core.set_current(name(plan, entry));
        }
        let mut file_index = 0;
        let mut data_at = 0;
        for (index, entry) in entries.iter().enumerate().take(end).skip(first) {
            match &entry.kind {
                EntryKind::Dir => {
                    self.out
                        .add_folder(&entry_meta(entry, name(plan, entry)))
                        .map_err(|e| self.fail(e))?;
                    self.archived[index] = true;
                }
                EntryKind::Symlink { target } => {
                    self.out
                        .add_symlink(&entry_meta(entry, name(plan, entry)), target)
                        .map_err(|e| self.fail(e))?;
                    self.archived[index] = true;
                }
                EntryKind::File => {
                    let Some(done) = buf.as_mut().and_then(|b| b.files.get_mut(file_index)) else {
                        // The task stopped early: the job was cancelled.
                        return Err(WriteEnd::Cancelled);
                    };
                    file_index += 1;
                    match std::mem::replace(done, FileDone::Grown) {
                        FileDone::Ready {
                            method,
                            crc32,
                            uncompressed_bytes,
                            data_bytes,
                        } => {
                            let data = buf
                                .as_ref()
                                .map_or(&[][..], |b| &b.data[data_at..data_at + data_bytes]);
                            data_at += data_bytes;
                            self.out
                                .add_entry(
                                    &entry_meta(entry, name(plan, entry)),
                                    method,
                                    crc32,
                                    uncompressed_bytes,
                                    data,
                                )
                                .map_err(|e| self.fail(e))?;
                            self.archived[index] = true;
                        }
                        FileDone::Grown => {
                            let mut progress = Progress::new(core, 0);
                            self.stream(index, &mut progress)?;
                        }
                        FileDone::Failed(err) => {
                            core.problem(source(plan, entry), ProblemKind::Error, err);
                        }
                    }
                    core.add_bytes_done(entry.size);
                }
            }
            core.item_done(0);
        }
        if files > 0 {
            self.job.written(self.run, input_bytes, buf);
        }
        Ok(())
    }

    /// Writes a file cut into blocks: appends each block as it comes, in order.
    fn blocks(&mut self, index: usize, blocks: u64) -> Result<(), WriteEnd> {
        let entry = &self.entries[index];
        let core = &self.run.core;
        core.set_current(name(self.plan, entry));
        let mut progress = Progress::new(core, entry.size);
        let mut sequence = BlockSequence::new();
        let mut started = false;
        // Set once the entry cannot be completed from its blocks; the rest are only drained.
        let mut redo = false;
        let mut failure: Option<ItemError> = None;
        for block in 0..blocks {
            self.check()?;
            let (big, result) = match self.take()? {
                Done::Block { big, result } if big.entry == index => (big, result),
                _ => {
                    return Err(WriteEnd::Failed(JobError::Internal(
                        "results came out of order".into(),
                    )));
                }
            };
            let input_bytes = {
                let range = big.plan.data_range(block);
                range.end - range.start
            };
            let buf = match result {
                _ if redo || failure.is_some() => None,
                Ok((summary, buf)) => {
                    if sequence.push(&summary).is_err() {
                        // Other bytes where two blocks meet: the file changed while read.
                        redo = true;
                    } else {
                        if !started {
                            let meta = entry_meta(entry, name(self.plan, entry));
                            self.out
                                .start_entry(&meta, Method::Deflated, needs_zip64(entry.size))
                                .map_err(|e| self.fail(e))?;
                            started = true;
                        }
                        self.out.append(&buf.data).map_err(|e| self.fail(e))?;
                        progress.add(summary.uncompressed_bytes);
                    }
                    Some(buf)
                }
                Err(BlockFailure::Cancelled) => return Err(WriteEnd::Cancelled),
                Err(BlockFailure::Shrank) => {
                    redo = true;
                    None
                }
                Err(BlockFailure::Read(e)) => {
                    failure = Some(e);
                    None
                }
                Err(BlockFailure::Unavailable) => {
                    match big.opened.get() {
                        Some(Opened::Failed(error)) => {
                            failure =
                                Some(crate::engine::lock(error).take().unwrap_or_else(|| {
                                    ItemError::Internal("the file could not be opened".into())
                                }));
                        }
                        _ => redo = true,
                    }
                    None
                }
            };
            self.job.written(self.run, input_bytes, buf);
        }
        if (redo || failure.is_some()) && started {
            self.out.abort_entry().map_err(|e| self.fail(e))?;
        }
        if redo {
            self.stream(index, &mut progress)?;
        } else if let Some(err) = failure {
            core.problem(source(self.plan, entry), ProblemKind::Error, err);
        } else if sequence.ended() {
            self.out
                .finish_entry(sequence.crc32(), sequence.uncompressed_bytes())
                .map_err(|e| self.fail(e))?;
            self.archived[index] = true;
        } else {
            return Err(WriteEnd::Failed(JobError::Internal(
                "a file's last block did not end its stream".into(),
            )));
        }
        progress.finish();
        core.item_done(0);
        Ok(())
    }

    /// Archives entry `index` by the writer alone, from the file as it is now: copied when it is
    /// stored whole, else compressed block after block (the same blocks the pool would make,
    /// so the same bytes). For large stored files, and files that changed since the scan.
    /// Problems with the input are reported; the entry is then left out.
    fn stream(&mut self, index: usize, progress: &mut Progress<'_>) -> Result<(), WriteEnd> {
        let entry = &self.entries[index];
        match self.stream_entry(entry, progress) {
            Ok(()) => {
                self.archived[index] = true;
                Ok(())
            }
            Err(StreamFailure::Item(err)) => {
                self.run
                    .core
                    .problem(source(self.plan, entry), ProblemKind::Error, err);
                Ok(())
            }
            Err(StreamFailure::End(end)) => Err(end),
        }
    }

    fn stream_entry(
        &mut self,
        entry: &ZipEntry,
        progress: &mut Progress<'_>,
    ) -> Result<(), StreamFailure> {
        let level = self.job.spec.level;
        let (file, meta) = open_regular(source(self.plan, entry)).map_err(StreamFailure::Item)?;
        let size = meta.len();
        let meta_of_entry = entry_meta(entry, name(self.plan, entry));
        let stored = stored_whole(entry, level);
        let (method, large) = if stored {
            (Method::Stored, size >= ZIP64_BYTES)
        } else {
            (Method::Deflated, needs_zip64(size))
        };
        self.out
            .start_entry(&meta_of_entry, method, large)
            .map_err(|e| StreamFailure::End(self.fail(e)))?;
        let result = if stored {
            self.copy_stored(file, size, progress)
        } else {
            self.compress_blocks(&file, size, level, progress)
        };
        match result {
            Ok((crc32, bytes)) => self
                .out
                .finish_entry(crc32, bytes)
                .map_err(|e| StreamFailure::End(self.fail(e))),
            Err(failure) => {
                // Take the half-written entry back out; the archive stays valid.
                self.out
                    .abort_entry()
                    .map_err(|e| StreamFailure::End(self.fail(e)))?;
                Err(failure)
            }
        }
    }

    /// Copies at most `size` bytes (the size when the file was opened: a file growing meanwhile
    /// is archived as it was) in chunks, looking at cancel and pause between them. Returns the
    /// CRC-32 and length of what was copied.
    fn copy_stored(
        &mut self,
        file: File,
        size: u64,
        progress: &mut Progress<'_>,
    ) -> Result<(u32, u64), StreamFailure> {
        let mut reader = Read::take(file, size);
        let mut hasher = crc32fast::Hasher::new();
        let mut chunk = std::mem::take(&mut self.chunk);
        chunk.resize(CHUNK_BYTES, 0);
        let mut done: u64 = 0;
        let result = loop {
            if let Err(end) = self.check() {
                break Err(StreamFailure::End(end));
            }
            let n = match reader.read(&mut chunk) {
                Ok(0) => break Ok((hasher.finalize(), done)),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(StreamFailure::Item(ItemError::read(e))),
            };
            hasher.update(&chunk[..n]);
            if let Err(e) = self.out.append(&chunk[..n]) {
                break Err(StreamFailure::End(self.fail(e)));
            }
            done += n as u64;
            progress.add(n as u64);
        };
        self.chunk = chunk;
        result
    }

    /// Compresses a file of `size` bytes (its size when opened) block after block, as the
    /// pool would. Returns the CRC-32 and length of its input.
    fn compress_blocks(
        &mut self,
        file: &File,
        size: u64,
        level: u8,
        progress: &mut Progress<'_>,
    ) -> Result<(u32, u64), StreamFailure> {
        if self.own.is_none() {
            self.own = Some(Worker::new().map_err(StreamFailure::Item)?);
        }
        let plan = BlockPlan::new(size, BLOCK_BYTES);
        let mut sequence = BlockSequence::new();
        for index in 0..plan.block_count() {
            self.check().map_err(StreamFailure::End)?;
            let Some(own) = self.own.as_mut() else {
                return Err(StreamFailure::Item(ItemError::Internal(
                    "no compressor".into(),
                )));
            };
            let dictionary_bytes = read_block(file, &plan, index, &mut own.input)
                .map_err(|e| StreamFailure::Item(read_error(e)))?;
            let (dictionary, data) = own.input.split_at(dictionary_bytes);
            let summary = own
                .compressor
                .compress_block(level, dictionary, data, plan.end(index), &mut own.out)
                .map_err(|e| StreamFailure::Item(ItemError::Compress(e.to_string())))?;
            sequence
                .push(&summary)
                .map_err(|_| StreamFailure::Item(changed_while_read()))?;
            if let Err(e) = self.out.append(&own.out) {
                return Err(StreamFailure::End(self.fail(e)));
            }
            progress.add(summary.uncompressed_bytes);
        }
        Ok((sequence.crc32(), sequence.uncompressed_bytes()))
    }
}

/// A file the writer compresses itself changed under it again (it shrank, or other bytes came
/// where two blocks meet): reported as a read problem.
fn changed_while_read() -> ItemError {
    ItemError::Read(IoCause::Other(io::Error::other(
        "the file changed while it was read",
    )))
}

/// A read error of a file the writer compresses itself.
fn read_error(e: io::Error) -> ItemError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return changed_while_read();
    }
    ItemError::read(e)
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
                let output = items[k.item].output.as_deref().and_then(Path::to_str);
                output.map(|o| o.strip_suffix('/').unwrap_or(o)) == Some(entry.name.as_str())
            });
            let precompressed = is_precompressed(&entry.name);
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
                output.push('/');
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
        self.lock().entries = Arc::new(kept);
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
        let entries = Arc::clone(&self.lock().entries);
        Some(self.estimate(plan, &entries, &run.core.cancel))
    }

    fn start(self: Arc<Self>, run: &Arc<Run>) -> Result<(), JobError> {
        let problems_at_start = run.core.status().problems.len();
        {
            let mut inner = self.lock();
            inner.problems_at_start = problems_at_start;
            inner.units = Arc::new(make_units(&inner.entries, self.spec.level));
        }
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
        let entries = Arc::clone(&self.lock().entries);
        let names = match run.plan() {
            Some(plan) => entries
                .iter()
                .zip(&written.archived)
                .filter(|(_, archived)| **archived)
                .map(|(entry, _)| PathBuf::from(name(plan, entry)))
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
            .add_outputs(me, [cmp, crate::engine::model::paths::normalize_path(path)]);
        if let Some(name) = path.file_name() {
            run.core.set_name(name.to_string_lossy().into_owned());
        }
        let _ = self.destination.set((path.to_path_buf(), action));
        Ok(())
    }
}

fn is_precompressed(name: &str) -> bool {
    let ext = match name.rsplit_once('.') {
        Some((_, ext)) if !ext.contains('/') => ext,
        _ => return false,
    };
    STORED_EXTENSIONS
        .iter()
        .any(|known| known.eq_ignore_ascii_case(ext))
}

/// What the headers say of an entry (see `archive_writer::EntryMeta`): its modification time as
/// DOS local time plus the extended-timestamp field in UTC, and its full unix mode, setuid,
/// setgid and sticky bits included (Info-ZIP stores all 12 bits and `unzip -K` restores them).
fn entry_meta<'n>(entry: &ZipEntry, name: &'n str) -> EntryMeta<'n> {
    let file_type = match entry.kind {
        EntryKind::File => S_IFREG,
        EntryKind::Dir => S_IFDIR,
        EntryKind::Symlink { .. } => S_IFLNK,
    };
    let (dos_date, dos_time) = dos_date_time(entry.mtime);
    EntryMeta {
        name,
        dos_date,
        dos_time,
        unix_mtime: entry.mtime.map(unix_seconds),
        unix_mode: file_type | (entry.mode & 0o7777),
    }
}

/// Seconds since 1970-01-01 UTC, clamped to what the extended-timestamp field holds (i32).
fn unix_seconds(mtime: SystemTime) -> i32 {
    let secs = match mtime.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    secs.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// MS-DOS date and time (APPNOTE 4.4.6: date bits 15-9 year - 1980, 8-5 month, 4-0 day; time
/// bits 15-11 hour, 10-5 minute, 4-0 seconds / 2) in local time, clamped to the range the
/// format holds (1980-01-01 to 2107-12-31 23:59:58); no time gives 1980-01-01 00:00.
fn dos_date_time(mtime: Option<SystemTime>) -> (u16, u16) {
    use chrono::{Datelike, Timelike};
    let Some(mtime) = mtime else {
        return (DOS_EPOCH_DATE, 0);
    };
    let local: chrono::DateTime<chrono::Local> = mtime.into();
    let (year, month, day, hour, minute, second) = match local.year() {
        ..1980 => (1980, 1, 1, 0, 0, 0),
        2108.. => (2107, 12, 31, 23, 59, 58),
        year => (
            year as u32,
            local.month(),
            local.day(),
            local.hour(),
            local.minute(),
            // A leap second (60) is kept in range.
            local.second().min(59),
        ),
    };
    let date = ((year - 1980) << 9) | (month << 5) | day;
    let time = (hour << 11) | (minute << 5) | (second / 2);
    (date as u16, time as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn file(name: &str, size: u64) -> ZipEntry {
        ZipEntry {
            item: 0,
            kind: EntryKind::File,
            size,
            mtime: None,
            mode: 0o644,
            precompressed: is_precompressed(name),
        }
    }

    fn dir(name: &str) -> ZipEntry {
        ZipEntry {
            kind: EntryKind::Dir,
            ..file(name, 0)
        }
    }

    #[test]
    fn units_batch_small_files_and_cut_large_ones() {
        let big = SMALL_MAX_BYTES * 3 + 1;
        let mut entries = vec![dir("d")];
        for i in 0..(BATCH_MAX_FILES + 3) {
            entries.push(file(&format!("d/t{i:03}.txt"), 70));
        }
        entries.push(file("d/u.bin", big));
        entries.push(file("d/v.txt", SMALL_MAX_BYTES));
        entries.push(file("d/w.txt", SMALL_MAX_BYTES));
        entries.push(dir("d/x"));
        entries.push(file("d/y.png", big));
        entries.push(dir("e"));
        let n = BATCH_MAX_FILES;
        assert_eq!(
            make_units(&entries, 6),
            vec![
                Unit::Batch {
                    first: 0,
                    end: n + 1,
                    files: n,
                    input_bytes: 70 * n as u64
                },
                Unit::Batch {
                    first: n + 1,
                    end: n + 4,
                    files: 3,
                    input_bytes: 210
                },
                Unit::Blocks {
                    entry: n + 4,
                    blocks: 4
                },
                // Two files of a whole block each make one batch of 1 MiB.
                Unit::Batch {
                    first: n + 5,
                    end: n + 8,
                    files: 2,
                    input_bytes: 2 * SMALL_MAX_BYTES
                },
                Unit::Stream { entry: n + 8 },
                Unit::Batch {
                    first: n + 9,
                    end: n + 10,
                    files: 0,
                    input_bytes: 0
                },
            ]
        );
        // Level 0 stores everything: large files are the writer's.
        assert_eq!(make_units(&entries, 0)[2], Unit::Stream { entry: n + 4 });
        // Every entry is in exactly one unit, in order.
        let mut next = 0;
        for unit in make_units(&entries, 6) {
            let (first, end) = match unit {
                Unit::Batch { first, end, .. } => (first, end),
                Unit::Blocks { entry, .. } | Unit::Stream { entry } => (entry, entry + 1),
            };
            assert_eq!(first, next);
            next = end;
        }
        assert_eq!(next, entries.len());
    }

    #[test]
    fn batches_never_hold_more_than_a_chunk_of_input() {
        let entries: Vec<ZipEntry> = (0..40)
            .map(|i| file(&format!("f{i:02}"), 100_000 + i * 7919))
            .collect();
        for unit in make_units(&entries, 6) {
            let Unit::Batch {
                first,
                end,
                input_bytes,
                ..
            } = unit
            else {
                panic!("{unit:?}");
            };
            let sum: u64 = entries[first..end].iter().map(|e| e.size).sum();
            assert_eq!(sum, input_bytes);
            assert!(input_bytes <= BATCH_MAX_BYTES, "{unit:?}");
        }
    }

    #[test]
    fn dos_times_are_local_and_clamped() {
        assert_eq!(dos_date_time(None), (DOS_EPOCH_DATE, 0));
        // Before 1980 and after 2107 (whatever the time zone).
        assert_eq!(
            dos_date_time(Some(SystemTime::UNIX_EPOCH)),
            (DOS_EPOCH_DATE, 0)
        );
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(5_000_000_000);
        assert_eq!(
            dos_date_time(Some(far)),
            ((127 << 9) | (12 << 5) | 31, (23 << 11) | (59 << 5) | 29)
        );
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_715_000_000);
        let local: chrono::DateTime<chrono::Local> = t.into();
        let (date, time) = dos_date_time(Some(t));
        use chrono::{Datelike, Timelike};
        assert_eq!(u32::from(date >> 9) + 1980, local.year() as u32);
        assert_eq!(u32::from((date >> 5) & 15), local.month());
        assert_eq!(u32::from(date & 31), local.day());
        assert_eq!(u32::from(time >> 11), local.hour());
        assert_eq!(u32::from((time >> 5) & 63), local.minute());
        assert_eq!(u32::from(time & 31) * 2, local.second() / 2 * 2);
        assert_eq!(unix_seconds(t), 1_715_000_000);
        assert_eq!(unix_seconds(far), i32::MAX);
    }

    #[test]
    fn known_compressed_types_by_extension() {
        assert!(is_precompressed("a/b/photo.PNG"));
        // JPEG is deflated block by block (see STORED_EXTENSIONS).
        assert!(!is_precompressed("a/b/photo.jpg"));
        assert!(is_precompressed("x.tar.gz"));
        assert!(!is_precompressed("notes.txt"));
        assert!(!is_precompressed("dir.zip/readme"));
        assert!(!is_precompressed("zip"));
    }
}
