//! How a zip job's work is cut into units and handed out, and the caps that bound what waits
//! for the writer.
//!
//! The cut (all of it decided from the plan, so the archive's bytes are the same for any number
//! of workers):
//! - Files up to [`SMALL_MAX_BYTES`] are each compressed whole, as one block, and many of them
//!   go to one pool task: a batch of consecutive entries holding at most [`BATCH_MAX_FILES`]
//!   files and [`BATCH_MAX_BYTES`] of input. Folders and links join the batches; a batch with
//!   no file is the writer's alone.
//! - A larger file is cut into blocks of [`BLOCK_BYTES`], each a pool task, each primed with the
//!   32 KiB before it and ending on a byte boundary, so the blocks append into one deflate
//!   stream (as pigz does) and one big file keeps every core busy.
//! - Large files of known compressed types (and every large file at level 0) are stored whole:
//!   the writer copies them chunk by chunk, with no pool task.
//!
//! Each task handed out gets a ticket, the order the writer takes results in. Results waiting
//! for the writer are capped ([`UNWRITTEN_MAX`] tasks and [`PENDING_MAX_BYTES`] of their
//! input), so memory stays bounded whatever the input; when the caps held the pool back, the
//! writer's [`Feed::returned`] wakes it as it makes room (and only then). Result buffers the
//! writer gives back are kept for the next tasks.
//!
//! Owns: the units ([`Unit`], [`make_units`]), which one runs next, the tickets, the caps, the
//! channel results travel in and the spare result buffers. Must not touch: files, compression
//! (`worker.rs`), the archive (`writer.rs`).

use std::sync::{Arc, Mutex, MutexGuard};

use crate::engine::kinds::zip::compress::BlockPlan;
use crate::engine::kinds::zip::entry::{ZipEntry, stored_whole};
use crate::engine::kinds::zip::worker::{BLOCK_BYTES, BigFile, Done, ResultBuf, SMALL_MAX_BYTES};
use crate::engine::runtime::input::CHUNK_BYTES;
use crate::engine::runtime::scan::EntryKind;

/// Input of one batch, at most: a task never reads more than this between two looks at cancel.
const BATCH_MAX_BYTES: u64 = CHUNK_BYTES as u64;
/// Files in one batch, at most. Measured on 100,000 files of 70 bytes: 16 files per task cost
/// 6 % more time than 64; 256 gain nothing over 64.
const BATCH_MAX_FILES: usize = 64;
/// Pool tasks handed out whose results the writer has not taken yet, at most. Each result holds
/// at most about 1 MiB (a batch's output, or a block's), so this bounds their memory.
pub(super) const UNWRITTEN_MAX: usize = 12;
/// Input bytes of those tasks, at most (16 blocks: the writer may copy a large stored file
/// meanwhile, and the pool should not starve while it does).
const PENDING_MAX_BYTES: u64 = 8 << 20;

/// Work in archive order, decided when the job starts. The writer walks these in order; the
/// pool gets one task per batch with files and one per block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
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
pub(super) fn make_units(entries: &[ZipEntry], level: u8) -> Vec<Unit> {
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

/// A unit of pool work, with the ticket its result carries to the writer.
pub(super) enum Next {
    /// Compress the files among entries `first..end`.
    Batch {
        first: usize,
        end: usize,
        ticket: u64,
    },
    /// Compress block `index` of `big`, the file of entry `entry`.
    Block {
        entry: usize,
        big: Arc<BigFile>,
        index: u64,
        ticket: u64,
    },
    /// Nothing now: no writer takes results, every unit is handed out, or the caps are reached
    /// (then the writer wakes the pool when it makes room).
    Idle,
}

/// The hand-out state of one writer's run over the units (see the module doc). Shared by the
/// job (which hands work out), its pool tasks (which take spare buffers and deliver results)
/// and its writer (which gives room and buffers back); every method locks it briefly.
#[derive(Default)]
pub(super) struct Feed {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
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
    /// Where results go; `None` while no writer runs.
    to_writer: Option<flume::Sender<(u64, Done)>>,
    /// Result buffers given back by the writer.
    spare: Vec<ResultBuf>,
}

impl Feed {
    fn lock(&self) -> MutexGuard<'_, State> {
        crate::engine::runtime::lock(&self.state)
    }

    /// Starts handing out `units` (of `entries`) from the first, for a writer that takes the
    /// results from `to_writer` (a channel of [`UNWRITTEN_MAX`] results: sending never
    /// blocks). Called when a writer starts, and again when the archive is rebuilt.
    pub fn open(
        &self,
        entries: Arc<Vec<ZipEntry>>,
        units: Arc<Vec<Unit>>,
        to_writer: flume::Sender<(u64, Done)>,
    ) {
        let mut st = self.lock();
        let spare = std::mem::take(&mut st.spare);
        *st = State {
            entries,
            units,
            to_writer: Some(to_writer),
            spare,
            ..State::default()
        };
    }

    /// The writer has ended: results are no longer taken, and the spare buffers are freed.
    pub fn close(&self) {
        let mut st = self.lock();
        st.to_writer = None;
        st.spare = Vec::new();
    }

    /// The next batch or block for the pool, within the caps.
    pub fn next(&self) -> Next {
        let mut st = self.lock();
        if st.to_writer.is_none() {
            return Next::Idle;
        }
        let units = Arc::clone(&st.units);
        // Units without pool work are the writer's alone.
        while let Some(Unit::Batch { files: 0, .. } | Unit::Stream { .. }) = units.get(st.next_unit)
        {
            st.next_unit += 1;
        }
        let Some(&unit) = units.get(st.next_unit) else {
            return Next::Idle;
        };
        if st.unwritten >= UNWRITTEN_MAX || st.pending_bytes >= PENDING_MAX_BYTES {
            st.starved = true;
            return Next::Idle;
        }
        let ticket = st.next_ticket;
        match unit {
            Unit::Batch {
                first,
                end,
                input_bytes,
                ..
            } => {
                st.take_ticket(input_bytes);
                st.next_unit += 1;
                Next::Batch { first, end, ticket }
            }
            Unit::Blocks { entry, blocks } => {
                let index = st.next_block;
                let big = match &st.big {
                    Some(big) if index > 0 => Arc::clone(big),
                    _ => {
                        let big = Arc::new(BigFile::new(entry, st.entries[entry].size));
                        st.big = Some(Arc::clone(&big));
                        big
                    }
                };
                let range = big.plan.data_range(index);
                st.take_ticket(range.end - range.start);
                st.next_block += 1;
                if st.next_block >= blocks {
                    st.next_unit += 1;
                    st.next_block = 0;
                    st.big = None;
                }
                Next::Block {
                    entry,
                    big,
                    index,
                    ticket,
                }
            }
            // Passed over above: the writer's alone.
            Unit::Stream { .. } => Next::Idle,
        }
    }

    /// A spare result buffer (or a new one while the pool of spares fills).
    pub fn spare(&self) -> ResultBuf {
        self.lock().spare.pop().unwrap_or_default()
    }

    /// Hands a task's result to the writer. Never blocks: the channel has room for every
    /// result that can be unwritten. Without a writer (it ended), the result is dropped.
    pub fn deliver(&self, ticket: u64, done: Done) {
        let tx = self.lock().to_writer.clone();
        if let Some(tx) = tx {
            let _ = tx.send((ticket, done));
        }
    }

    /// Called by the writer when it has taken a result of `input_bytes`: makes room for the
    /// next task and keeps the buffer for it. Returns whether the caps had held the pool back
    /// (the caller wakes it).
    pub fn returned(&self, input_bytes: u64, buf: Option<ResultBuf>) -> bool {
        let mut st = self.lock();
        st.unwritten = st.unwritten.saturating_sub(1);
        st.pending_bytes = st.pending_bytes.saturating_sub(input_bytes);
        if let Some(buf) = buf
            && st.spare.len() < UNWRITTEN_MAX
        {
            st.spare.push(buf);
        }
        std::mem::take(&mut st.starved)
    }
}

impl State {
    /// Counts a task handed out: its ticket and its room under the caps.
    fn take_ticket(&mut self, input_bytes: u64) {
        self.next_ticket += 1;
        self.unwritten += 1;
        self.pending_bytes += input_bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kinds::zip::entry::is_precompressed;

    fn file(name: &str, size: u64) -> ZipEntry {
        ZipEntry {
            item: 0,
            kind: EntryKind::File,
            size,
            mtime: None,
            mode: 0o644,
            precompressed: is_precompressed(name.as_bytes()),
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

    /// The hand-out follows the units in order, stops at the caps, and starts again when the
    /// writer gives room back (and says to wake the pool only then).
    #[test]
    fn hands_out_in_order_within_the_caps() {
        let mut entries = vec![dir("d"), file("d/a.txt", 10)];
        let blocks = UNWRITTEN_MAX as u64 + 2;
        entries.push(file("d/big.txt", blocks * BLOCK_BYTES as u64));
        let entries = Arc::new(entries);
        let units = Arc::new(make_units(&entries, 6));
        let feed = Feed::default();
        assert!(matches!(feed.next(), Next::Idle), "no writer yet");
        let (tx, rx) = flume::bounded(UNWRITTEN_MAX);
        feed.open(Arc::clone(&entries), units, tx);
        let mut tickets = Vec::new();
        loop {
            match feed.next() {
                Next::Batch { first, end, ticket } => {
                    assert_eq!((first, end), (0, 2));
                    tickets.push(ticket);
                }
                Next::Block {
                    entry,
                    index,
                    ticket,
                    ..
                } => {
                    assert_eq!((entry, index), (2, ticket - 1));
                    tickets.push(ticket);
                }
                Next::Idle => break,
            }
        }
        assert_eq!(tickets, (0..UNWRITTEN_MAX as u64).collect::<Vec<_>>());
        assert!(
            feed.returned(10, Some(ResultBuf::default())),
            "starved: wake"
        );
        assert!(
            matches!(feed.next(), Next::Block { index, .. } if index == UNWRITTEN_MAX as u64 - 1)
        );
        assert!(
            !feed.returned(BLOCK_BYTES as u64, None),
            "not starved since"
        );
        feed.deliver(0, Done::Batch(feed.spare()));
        assert_eq!(rx.len(), 1);
        feed.close();
        assert!(matches!(feed.next(), Next::Idle), "closed");
        feed.deliver(1, Done::Batch(ResultBuf::default()));
        assert_eq!(rx.len(), 1, "dropped without a writer");
    }
}
