//! What a pool worker does for a zip job: read and compress the files of a batch, or one block
//! of a large file, into a result for the writer.
//!
//! Each pool worker keeps its compressor and buffers in a thread-local [`Worker`] (made on its
//! first zip task, reused for every file and block after it, for every job: the pool's threads
//! outlive jobs), and results travel in recycled [`ResultBuf`]s, so compressing allocates,
//! maps and spawns nothing per file. A large file is opened once, by the first of its block
//! tasks to run ([`BigFile`]), and read with positioned reads by all of them.
//!
//! Owns: the per-worker compression state, the results ([`Done`]) and what a file or block
//! becomes. Must not touch: the order of work or its caps (`feed.rs`), the archive
//! (`writer.rs`), inputs beyond reading them (opened read-only, never followed through a
//! swapped-in link or FIFO).

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use crate::engine::kinds::zip::archive::Method;
use crate::engine::kinds::zip::compress::{
    BlockCompressor, BlockEnd, BlockPlan, BlockSummary, DEFAULT_BLOCK_BYTES, read_block,
};
use crate::engine::kinds::zip::entry::{ZipEntry, source, stored_whole};
use crate::engine::model::error::ItemError;
use crate::engine::runtime::input::open_regular;
use crate::engine::runtime::job::Run;
use crate::engine::runtime::scan::EntryKind;

/// Input per block of a large file.
pub(super) const BLOCK_BYTES: usize = DEFAULT_BLOCK_BYTES;
/// The largest file compressed whole, as one block (larger ones are cut into blocks).
pub(super) const SMALL_MAX_BYTES: u64 = BLOCK_BYTES as u64;

/// One pool worker's compression state, kept on its thread for every file and block it
/// compresses (the pool's threads outlive jobs, so this is made once per worker).
pub(super) struct Worker {
    pub compressor: BlockCompressor,
    /// A file's bytes, or a block's dictionary then data.
    pub input: Vec<u8>,
    /// A small file's compressed form, before it joins its batch's output; a block's, for the
    /// writer's own compression.
    pub out: Vec<u8>,
}

impl Worker {
    pub fn new() -> Result<Worker, ItemError> {
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
pub(super) struct ResultBuf {
    /// The data of a batch's files back to back (as each entry will hold it), or a block's.
    pub data: Vec<u8>,
    /// What became of each file of a batch, in entry order.
    pub files: Vec<FileDone>,
}

/// What became of one file of a batch.
pub(super) enum FileDone {
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
pub(super) struct BigFile {
    pub entry: usize,
    pub plan: BlockPlan,
    pub opened: OnceLock<Opened>,
}

pub(super) enum Opened {
    File(File),
    /// Not the size the plan was made for: the writer compresses it as it is now.
    Changed,
    /// The error, taken by the writer to report it.
    Failed(Mutex<Option<ItemError>>),
}

impl BigFile {
    /// Entry `entry`, a file of `file_bytes` cut into blocks of [`BLOCK_BYTES`].
    pub fn new(entry: usize, file_bytes: u64) -> BigFile {
        BigFile {
            entry,
            plan: BlockPlan::new(file_bytes, BLOCK_BYTES),
            opened: OnceLock::new(),
        }
    }

    fn open(&self, source: &Path) -> &Opened {
        self.opened.get_or_init(|| match open_regular(source) {
            Ok((file, meta)) if meta.len() == self.plan.file_bytes() => Opened::File(file),
            Ok(_) => Opened::Changed,
            Err(e) => Opened::Failed(Mutex::new(Some(e))),
        })
    }
}

/// Why a block has no data.
pub(super) enum BlockFailure {
    /// The file could not be opened, or changed: see its [`BigFile::opened`].
    Unavailable,
    /// The file shrank while it was read: the writer compresses it as it is now.
    Shrank,
    Read(ItemError),
    Cancelled,
}

/// A pool task's result.
pub(super) enum Done {
    Batch(ResultBuf),
    Block {
        big: Arc<BigFile>,
        result: Result<(BlockSummary, ResultBuf), BlockFailure>,
    },
}

/// A pool task: reads and compresses the files among `entries` (a batch) into `buf`.
pub(super) fn compress_batch(
    run: &Run,
    entries: &[ZipEntry],
    level: u8,
    mut buf: ResultBuf,
) -> Done {
    buf.data.clear();
    buf.files.clear();
    let Some(plan) = run.plan() else {
        return Done::Batch(buf);
    };
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
    Done::Batch(buf)
}

/// A pool task: reads and compresses block `index` of the large file of `entry`, into a buffer
/// from `spare` (taken only once the file is open).
pub(super) fn compress_block(
    run: &Run,
    entry: &ZipEntry,
    big: Arc<BigFile>,
    index: u64,
    level: u8,
    spare: impl FnOnce() -> ResultBuf,
) -> Done {
    let result = match run.plan() {
        _ if run.stopping() => Err(BlockFailure::Cancelled),
        None => Err(BlockFailure::Cancelled),
        Some(plan) => match big.open(source(plan, entry)) {
            Opened::File(file) => {
                let mut buf = spare();
                let plan = &big.plan;
                with_worker(|worker| {
                    let dictionary_bytes = match read_block(file, plan, index, &mut worker.input) {
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
    Done::Block { big, result }
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
