//! The zip job's writer thread: takes the pool's results in archive order and appends every
//! entry to the temporary archive with `archive.rs`.
//!
//! The writer walks the units in order. A batch's folders and links it adds itself and its files
//! from the batch's result; a large file's blocks it appends one after the other as they come
//! (checking that each continues the one before); large stored files it copies itself, chunk by
//! chunk. Results that arrive before their turn wait in a ring of [`UNWRITTEN_MAX`] slots (the
//! feed never hands out more). It counts progress as it writes, so bytes done move per block or
//! file written. A file that changed since the scan (another size, or other bytes where two
//! blocks meet) it compresses again itself, as it is then; an entry it cannot complete is taken
//! back out, so the archive stays valid, and reported. Cancel and pause are seen between units,
//! blocks and chunks (within 1 MiB of input).
//!
//! Owns: the archive's temporary file while it is written, and the order of entries in it.
//! Gets only what it needs ([`ArchiveInput`]): the run (cancel, pause, progress, problems), the
//! plan and the entries, the units, the results channel, the feed (to give room and buffers
//! back), the destination (for messages) and the level. Must not touch: the job's other
//! state, putting the archive in place (the kind's `finish`), inputs beyond reading them.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::engine::kinds::zip::archive::{
    ArchiveError, ArchiveWriter, Method, ZIP64_BYTES, needs_zip64,
};
use crate::engine::kinds::zip::compress::{BlockPlan, BlockSequence, read_block};
use crate::engine::kinds::zip::entry::{
    ZipEntry, display_name, entry_meta, name, source, stored_whole,
};
use crate::engine::kinds::zip::feed::{Feed, UNWRITTEN_MAX, Unit};
use crate::engine::kinds::zip::worker::{
    BLOCK_BYTES, BlockFailure, Done, FileDone, Opened, ResultBuf, Worker,
};
use crate::engine::model::error::{IoCause, ItemError, JobError};
use crate::engine::model::events::ProblemKind;
use crate::engine::model::plan::Plan;
use crate::engine::runtime::input::{CHUNK_BYTES, open_regular};
use crate::engine::runtime::job::Run;
use crate::engine::runtime::scan::EntryKind;
use crate::engine::runtime::status::JobCore;
use crate::engine::runtime::temp::TempOutput;

/// What the writer needs for one archive.
pub(super) struct ArchiveInput {
    pub run: Arc<Run>,
    pub plan: Arc<Plan>,
    pub entries: Arc<Vec<ZipEntry>>,
    pub units: Arc<Vec<Unit>>,
    /// The pool's results: (ticket, result).
    pub results: flume::Receiver<(u64, Done)>,
    pub feed: Arc<Feed>,
    /// The archive's final path (errors name it).
    pub dest: PathBuf,
    pub level: u8,
    /// Encrypt every entry (WinZip AES-256) under this password.
    pub password: Option<crate::engine::model::password::Password>,
}

/// Why the writer stopped before completing the archive.
pub(super) enum WriteEnd {
    Cancelled,
    Failed(JobError),
}

/// Writes the archive into `temp`: every entry in order, then the central directory, synced to
/// disk. Returns which entries it holds.
pub(super) fn write_archive(input: ArchiveInput, temp: &TempOutput) -> Result<Vec<bool>, WriteEnd> {
    let ArchiveInput {
        run,
        plan,
        entries,
        units,
        results,
        feed,
        dest,
        level,
        password,
    } = input;
    let io_err = |e: io::Error| {
        WriteEnd::Failed(JobError::WriteArchive {
            path: dest.clone(),
            cause: IoCause::of(e),
        })
    };
    let file = temp.reopen().map_err(io_err)?;
    let mut out = ArchiveWriter::new(file).map_err(io_err)?;
    if let Some(password) = &password {
        let bytes = password.bytes().ok_or_else(|| {
            WriteEnd::Failed(JobError::Spec(
                super::spec::SpecProblem::PasswordNotKept.into(),
            ))
        })?;
        out.set_password(bytes);
    }
    let mut writer = Writer {
        run: &run,
        plan: &plan,
        entries: &entries,
        rx: &results,
        feed: &feed,
        dest: &dest,
        level,
        out,
        ring: (0..UNWRITTEN_MAX).map(|_| None).collect(),
        next_ticket: 0,
        archived: vec![false; entries.len()],
        own: None,
        chunk: Vec::new(),
    };
    for unit in units.iter() {
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
                run.core.set_current(display_name(&plan, &entries[entry]));
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
    run: &'a Run,
    plan: &'a Plan,
    entries: &'a [ZipEntry],
    rx: &'a flume::Receiver<(u64, Done)>,
    feed: &'a Feed,
    dest: &'a Path,
    level: u8,
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

    /// A result of `input_bytes` is written: room for the next task, its buffer kept for it,
    /// and the pool woken if the caps had held it back.
    fn returned(&self, input_bytes: u64, buf: Option<ResultBuf>) {
        if self.feed.returned(input_bytes, buf) {
            self.run.notify();
        }
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
            core.set_current(display_name(plan, entry));
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
            self.returned(input_bytes, buf);
        }
        Ok(())
    }

    /// Writes a file cut into blocks: appends each block as it comes, in order.
    fn blocks(&mut self, index: usize, blocks: u64) -> Result<(), WriteEnd> {
        let entry = &self.entries[index];
        let core = &self.run.core;
        core.set_current(display_name(self.plan, entry));
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
                                Some(crate::engine::runtime::lock(error).take().unwrap_or_else(
                                    || ItemError::Internal("the file could not be opened".into()),
                                ));
                        }
                        _ => redo = true,
                    }
                    None
                }
            };
            self.returned(input_bytes, buf);
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
        let level = self.level;
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
