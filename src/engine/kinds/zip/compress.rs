//! Deflate of one stream cut into blocks that compress independently, on any worker (as pigz
//! does), concatenated into ONE valid raw deflate stream (RFC 1951).
//!
//! Each block is compressed by a [`BlockCompressor`] primed with the (up to) 32 KiB of input
//! before the block as its dictionary, so back-references reach across the cut almost as in one
//! serial stream. Every block ends on a byte boundary (a sync flush, RFC 1951 3.2.4's empty
//! stored block), so the compressed blocks are simply appended in order; the last one may end
//! the stream (BFINAL). A block whose deflated form is not smaller than its stored form is
//! emitted as stored blocks instead, so incompressible stretches cost 5 bytes per 64 KiB; a big
//! block is first probed with a few samples, and one where none shrinks is stored without trying
//! (see [`BlockCompressor::set_probe`]). The CRC-32 of each block's input comes with it
//! ([`BlockSummary`]) and [`BlockSequence`] combines them in order, so the whole stream's CRC
//! needs no second pass. A block's bytes depend only on its input and dictionary, never on what
//! the worker compressed before, so archives are the same from run to run.
//!
//! Owns: the per-worker compressor state and the format of blocks; how a file is cut into blocks
//! ([`BlockPlan`]) and read for one ([`read_block`]).
//! Must not touch: threads (the caller runs blocks on its own workers, each with its own
//! [`BlockCompressor`]), the archive (see `archive.rs`), progress or cancel (a block is at most
//! [`MAX_BLOCK_BYTES`] of input, so checking cancel between blocks is often enough).

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;

use flate2::{Compress, Compression, FlushCompress, Status};

/// The deflate window (RFC 1951 2.0: distances reach back at most 32,768 bytes): the most
/// dictionary a block can use.
pub(super) const WINDOW_BYTES: usize = 32 << 10;
/// Input per block for one big file. Measured on `big.tar` (481 MB, level 6, one thread): 128 KiB
/// to 1 MiB blocks all cost the same CPU within noise (8.0-8.3 s) and sizes within 0.01 %
/// (priming with the dictionary is a few percent of a block's work); 512 KiB keeps a 2-worker
/// pipeline with 8 blocks in flight under 10 MiB and halves the task count of 256 KiB.
pub const DEFAULT_BLOCK_BYTES: usize = 512 << 10;
/// Input per block, at most: cancel is checked between blocks and must be seen within 1 MiB.
const MAX_BLOCK_BYTES: usize = 1 << 20;
/// Blocks from this size on are probed before being deflated (see `BlockCompressor::set_probe`).
const PROBE_MIN_BLOCK_BYTES: usize = 128 << 10;
/// Samples taken from a block to probe it.
const PROBE_SAMPLES: usize = 8;
/// Bytes per probe sample.
const PROBE_SAMPLE_BYTES: usize = 4 << 10;
/// Level the probe samples are deflated at: zlib-rs level 2 is its fastest with dynamic Huffman
/// codes (level 1 uses fixed codes, which expand data that dynamic codes still shrink a little:
/// on `big.tar` it stored 219 of 918 blocks and made the archive 1.4 % larger; level 2 stores
/// 156, for 0.06 %).
const PROBE_LEVEL: u32 = 2;
/// The highest deflate level (zlib's 9); level 0 emits stored blocks only.
const MAX_LEVEL: u8 = 9;
/// Bytes past a dictionary's end that are zeroed before it is loaded (see `deflate`).
const DICTIONARY_GUARD_BYTES: usize = 8;
/// Zeros for that.
static GUARD_ZEROS: [u8; WINDOW_BYTES + DICTIONARY_GUARD_BYTES] =
    [0; WINDOW_BYTES + DICTIONARY_GUARD_BYTES];
/// Output space for each call that drains a given-up stream (see `drain`): the library's pending
/// buffer is 64 KiB at the default memory level.
const DRAIN_BYTES: usize = 128 << 10;
/// Payload of one stored block, at most (RFC 1951 3.2.4: LEN is 16 bits).
const STORED_BLOCK_MAX_BYTES: usize = 0xFFFF;
/// Header of a stored block that starts on a byte boundary: BFINAL and BTYPE (padded to a
/// byte), LEN, NLEN.
const STORED_HEADER_BYTES: usize = 5;
/// An empty final block with fixed Huffman codes (BFINAL=1, BTYPE=01, end-of-block code 256):
/// how a stream with nothing left ends in 2 bytes rather than a 5-byte empty stored block.
const EMPTY_FINAL_BLOCK: [u8; 2] = [0x03, 0x00];

/// Why a block could not be compressed. Only a bad argument or a bug in the deflate library
/// can cause one: compressing memory to memory has no I/O.
#[derive(Debug, thiserror::Error)]
pub enum DeflateError {
    /// The compression level given is above 9.
    #[error("deflate level {0} is not 0-9")]
    Level(u8),
    /// The dictionary given is longer than the 32 KiB deflate window (its length in bytes).
    #[error("a dictionary holds at most 32 KiB, got {0} bytes")]
    Dictionary(usize),
    /// The block's input is longer than 1 MiB (its length in bytes).
    #[error("a block holds at most 1 MiB of input, got {0} bytes")]
    BlockTooLarge(usize),
    /// The deflate library reported an error or made no progress: its words.
    #[error("deflate failed: {0}")]
    Compress(String),
}

/// How a block ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockEnd {
    /// On a byte boundary, the stream going on (zlib's `Z_SYNC_FLUSH`): more blocks, or a final
    /// block written by someone else, follow.
    Flush,
    /// The stream ends here (BFINAL set on its last deflate block; zlib's `Z_FINISH`).
    Final,
}

/// What one compressed block holds, for the side that appends blocks in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockSummary {
    /// CRC-32 (ISO-HDLC, as zip and gzip use) of the block's input.
    pub crc32: u32,
    /// Input bytes of the block.
    pub uncompressed_bytes: u64,
    /// Bytes of deflate data the block became.
    pub compressed_bytes: u64,
    /// Whether the block was emitted as stored deflate blocks (its deflated form was not smaller).
    pub stored: bool,
    /// Whether the block ends the stream or leaves it open for the next block.
    pub end: BlockEnd,
    /// Length of the dictionary the block was primed with.
    pub dictionary_bytes: u32,
    /// CRC-32 of that dictionary.
    pub dictionary_crc32: u32,
    /// CRC-32 of the last `min(32 KiB, dictionary + input)` bytes of dictionary then input: what
    /// the next block's dictionary must be. The appending side compares it with the next
    /// block's `dictionary_crc32`; a difference means the file changed between the reads of
    /// the two blocks, and the decoder would resolve back-references against other bytes than
    /// the compressor saw.
    pub window_crc32: u32,
}

impl BlockSummary {
    /// Length of the next block's dictionary: the bytes `window_crc32` covers.
    pub fn window_bytes(&self) -> u32 {
        let available = u64::from(self.dictionary_bytes) + self.uncompressed_bytes;
        available.min(WINDOW_BYTES as u64) as u32
    }
}

/// Why a block cannot follow the blocks before it in a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SequenceError {
    /// Block `block` was primed with other bytes than the end of the block before it: the file
    /// changed between the reads of the two blocks (or blocks came out of order).
    #[error("the file changed while it was read (at block {block})")]
    Discontinuous {
        /// The block's index in the stream, from 0.
        block: u64,
    },
    /// A block was pushed after a block that ended the stream ([`BlockEnd::Final`]).
    #[error("block {block} comes after the block that ended the stream")]
    AfterFinal {
        /// The refused block's index in the stream, from 0.
        block: u64,
    },
}

/// Follows the blocks of one stream as they are appended in order: checks that each continues
/// the one before (its dictionary is the window the previous block left), and adds up their
/// sizes and CRC-32s (`crc32fast::Hasher::combine`), so the stream's CRC-32 is known when the
/// last block is in, with no second pass over the data.
#[derive(Debug, Clone)]
pub struct BlockSequence {
    crc: crc32fast::Hasher,
    uncompressed_bytes: u64,
    compressed_bytes: u64,
    blocks: u64,
    /// (length, CRC-32) the next block's dictionary must have.
    next_dictionary: (u32, u32),
    ended: bool,
}

impl Default for BlockSequence {
    fn default() -> Self {
        Self::new()
    }
}

impl BlockSequence {
    /// An empty stream: no block yet, the first block's dictionary must be empty.
    pub fn new() -> Self {
        BlockSequence {
            crc: crc32fast::Hasher::new(),
            uncompressed_bytes: 0,
            compressed_bytes: 0,
            blocks: 0,
            next_dictionary: (0, 0),
            ended: false,
        }
    }

    /// Takes the next block's summary; on error nothing is counted.
    pub fn push(&mut self, summary: &BlockSummary) -> Result<(), SequenceError> {
        let block = self.blocks;
        if self.ended {
            return Err(SequenceError::AfterFinal { block });
        }
        if (summary.dictionary_bytes, summary.dictionary_crc32) != self.next_dictionary {
            return Err(SequenceError::Discontinuous { block });
        }
        self.crc.combine(&crc32fast::Hasher::new_with_initial_len(
            summary.crc32,
            summary.uncompressed_bytes,
        ));
        self.uncompressed_bytes += summary.uncompressed_bytes;
        self.compressed_bytes += summary.compressed_bytes;
        self.blocks += 1;
        self.next_dictionary = (summary.window_bytes(), summary.window_crc32);
        self.ended = summary.end == BlockEnd::Final;
        Ok(())
    }

    /// CRC-32 of the input of the blocks so far.
    pub fn crc32(&self) -> u32 {
        self.crc.clone().finalize()
    }

    /// Input bytes of the blocks so far.
    pub fn uncompressed_bytes(&self) -> u64 {
        self.uncompressed_bytes
    }

    /// Deflate bytes the blocks so far became.
    pub fn compressed_bytes(&self) -> u64 {
        self.compressed_bytes
    }

    /// Number of blocks pushed so far.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Whether a block ending the stream ([`BlockEnd::Final`]) was pushed.
    pub fn ended(&self) -> bool {
        self.ended
    }
}

/// One worker's deflate state, reused for every block and file it compresses: the zlib state
/// (about 270 KiB) is allocated once, in [`BlockCompressor::new`], and only reset per block.
pub struct BlockCompressor {
    compress: Compress,
    level: u8,
    /// A fast compressor for the samples that tell an incompressible block (see
    /// [`BlockCompressor::set_probe`]), and its output buffer.
    probe: Compress,
    probe_out: Vec<u8>,
    probe_on: bool,
}

impl std::fmt::Debug for BlockCompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCompressor")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl BlockCompressor {
    /// A compressor for `level` (0-9, zlib's levels as the zip crate uses them; another level
    /// may be given per block, at the cost of re-tuning the state).
    pub fn new(level: u8) -> Result<Self, DeflateError> {
        if level > MAX_LEVEL {
            return Err(DeflateError::Level(level));
        }
        Ok(BlockCompressor {
            compress: Compress::new(Compression::new(u32::from(level)), false),
            level,
            probe: Compress::new(Compression::new(PROBE_LEVEL), false),
            probe_out: Vec::with_capacity(PROBE_SAMPLE_BYTES * 2),
            probe_on: true,
        })
    }

    /// Whether blocks of at least [`PROBE_MIN_BLOCK_BYTES`] are first probed (on by default):
    /// [`PROBE_SAMPLES`] samples of [`PROBE_SAMPLE_BYTES`], spread evenly over the block, are
    /// deflated fast (level 2), each on its own; when none of them shrinks, the block is emitted
    /// stored without deflating it. Incompressible data (JPEG, PNG, archives inside a tar) is
    /// where deflate is slowest per byte and gains nothing, so this saves its time; the price is
    /// the few bytes deflate would have won in a block whose compressible parts all fall between
    /// the samples.
    pub fn set_probe(&mut self, on: bool) {
        self.probe_on = on;
    }

    /// True when no probe sample of `data` shrinks.
    fn looks_incompressible(&mut self, data: &[u8]) -> Result<bool, DeflateError> {
        let failed = |e: flate2::CompressError| DeflateError::Compress(e.to_string());
        let stride = data.len() / PROBE_SAMPLES;
        for k in 0..PROBE_SAMPLES {
            let start = k * stride + (stride - PROBE_SAMPLE_BYTES) / 2;
            let sample = &data[start..start + PROBE_SAMPLE_BYTES];
            self.probe.reset();
            self.probe_out.clear();
            self.probe_out.reserve(PROBE_SAMPLE_BYTES * 2);
            let status = self
                .probe
                .compress_vec(sample, &mut self.probe_out, FlushCompress::Finish)
                .map_err(failed)?;
            // A sample that does not even end within twice its size cannot have shrunk.
            if status == Status::StreamEnd && self.probe_out.len() < sample.len() {
                return Ok(false);
            }
            if status != Status::StreamEnd {
                drain(&mut self.probe, &mut self.probe_out, FlushCompress::Finish)
                    .map_err(failed)?;
            }
        }
        Ok(true)
    }

    /// Compresses one block into `out` (cleared first; its capacity is kept and grown to the
    /// block's stored size at most, so pass the same buffers again to allocate nothing).
    ///
    /// - `level`: 0-9. Level 0 emits stored blocks only.
    /// - `dictionary`: the input just before this block, at most [`WINDOW_BYTES`] (empty for
    ///   the first block of a stream).
    /// - `data`: the block's input, at most [`MAX_BLOCK_BYTES`]. It may be empty: with
    ///   [`BlockEnd::Flush`] that emits nothing, with [`BlockEnd::Final`] a 2-byte final block.
    /// - `end`: whether the stream goes on after this block or ends with it.
    ///
    /// The block's bytes depend only on these arguments, never on earlier blocks, so blocks can
    /// be compressed in any order on any worker and appended in input order.
    pub fn compress_block(
        &mut self,
        level: u8,
        dictionary: &[u8],
        data: &[u8],
        end: BlockEnd,
        out: &mut Vec<u8>,
    ) -> Result<BlockSummary, DeflateError> {
        if level > MAX_LEVEL {
            return Err(DeflateError::Level(level));
        }
        if dictionary.len() > WINDOW_BYTES {
            return Err(DeflateError::Dictionary(dictionary.len()));
        }
        if data.len() > MAX_BLOCK_BYTES {
            return Err(DeflateError::BlockTooLarge(data.len()));
        }
        out.clear();
        let worth_trying = level > 0
            && !data.is_empty()
            && !(self.probe_on
                && data.len() >= PROBE_MIN_BLOCK_BYTES
                && self.looks_incompressible(data)?);
        let deflated = worth_trying && self.deflate_or_renew(level, dictionary, data, end, out)?;
        let stored = !deflated;
        if stored {
            out.clear();
            write_stored(data, end, out);
        }
        Ok(BlockSummary {
            crc32: crc32fast::hash(data),
            uncompressed_bytes: data.len() as u64,
            compressed_bytes: out.len() as u64,
            stored,
            end,
            dictionary_bytes: dictionary.len() as u32,
            dictionary_crc32: crc32fast::hash(dictionary),
            window_crc32: window_crc32(dictionary, data),
        })
    }

    /// [`Self::deflate`]; after an error of the library, both zlib states are made anew (an
    /// allocation, on that path only), so that nothing a failed stream left in them reaches
    /// the next block.
    fn deflate_or_renew(
        &mut self,
        level: u8,
        dictionary: &[u8],
        data: &[u8],
        end: BlockEnd,
        out: &mut Vec<u8>,
    ) -> Result<bool, DeflateError> {
        let result = self.deflate(level, dictionary, data, end, out);
        if result.is_err() {
            self.compress = Compress::new(Compression::new(u32::from(level)), false);
            self.level = level;
            self.probe = Compress::new(Compression::new(PROBE_LEVEL), false);
        }
        result
    }

    /// Deflates `data` into `out`; false (with `out` holding garbage) when the result would
    /// not be smaller than the stored form, which it stops as soon as it knows.
    fn deflate(
        &mut self,
        level: u8,
        dictionary: &[u8],
        data: &[u8],
        end: BlockEnd,
        out: &mut Vec<u8>,
    ) -> Result<bool, DeflateError> {
        let failed = |e: flate2::CompressError| DeflateError::Compress(e.to_string());
        self.compress.reset();
        if level != self.level {
            // Right after a reset nothing is pending, so this cannot need output space.
            self.compress
                .set_level(Compression::new(u32::from(level)))
                .map_err(failed)?;
            self.level = level;
        }
        if !dictionary.is_empty() {
            // zlib-rs 0.6.8 (as zlib-ng) hashes 4 bytes per position while inserting the
            // dictionary, so the last position reads one byte past it: whatever an earlier block
            // left in the window there. The output stays valid but depends on which blocks this
            // worker compressed before, and archives would differ from run to run. So that byte
            // is first set to zero: a run of zeros is loaded one byte past the dictionary's end,
            // the state reset again (the window keeps its bytes), and only then the dictionary
            // loaded over it. Costs about 1 % of a 512 KiB block.
            let guard = &GUARD_ZEROS[..dictionary.len() + DICTIONARY_GUARD_BYTES];
            self.compress.set_dictionary(guard).map_err(failed)?;
            self.compress.reset();
            self.compress.set_dictionary(dictionary).map_err(failed)?;
        }
        // Anything at least as long as the stored form is useless: never let it grow beyond.
        let limit = stored_len(data.len(), end);
        out.reserve(limit);
        let flush = match end {
            BlockEnd::Flush => FlushCompress::Sync,
            BlockEnd::Final => FlushCompress::Finish,
        };
        let mut consumed = 0usize;
        loop {
            let before_in = self.compress.total_in();
            let before_out = out.len();
            let status = self
                .compress
                .compress_vec(&data[consumed..], out, flush)
                .map_err(failed)?;
            consumed += (self.compress.total_in() - before_in) as usize;
            if out.len() >= limit {
                drain(&mut self.compress, out, flush).map_err(failed)?;
                return Ok(false);
            }
            let room_left = out.len() < out.capacity();
            let done = match end {
                BlockEnd::Final => status == Status::StreamEnd,
                // zlib: a sync flush is complete when a call ends with output space left.
                BlockEnd::Flush => consumed == data.len() && room_left,
            };
            if done {
                return Ok(true);
            }
            if !room_left {
                // `limit` is below the capacity, so this is unreachable; stay safe anyway.
                out.reserve(limit.saturating_sub(out.len()).max(64));
            } else if consumed == data.len()
                && out.len() == before_out
                && status == Status::BufError
            {
                return Err(DeflateError::Compress(
                    "deflate made no progress with output space left".to_owned(),
                ));
            }
        }
    }
}

/// Ends a stream given up part-way (its output is not wanted), with no more input and as much
/// output space as it takes, so that the library holds no output of it any more.
///
/// Why: zlib-rs 0.6.8 keeps the read position of its pending-output buffer across `reset()`
/// when the last call of a stream filled the output space (part of that buffer was still to
/// be copied out), so the next stream starts with less room in that buffer than it assumes.
/// Its level-1 path (`deflate_quick`) then writes past the end: a panic, "buf.len() must fit in
/// remaining()" (issue 13; zlib-rs 0.6.9 resets that position). A call that ends with output
/// space left has copied out everything pending, so a stream drained so is reset clean,
/// whatever the library's version. `out` is used as scratch (its content is garbage after);
/// this costs the rest of the given-up stream's input (at most its window) once more.
fn drain(
    compress: &mut Compress,
    out: &mut Vec<u8>,
    flush: FlushCompress,
) -> Result<(), flate2::CompressError> {
    while out.len() == out.capacity() {
        out.clear();
        out.reserve(DRAIN_BYTES);
        let status = compress.compress_vec(&[], out, flush)?;
        if status == Status::StreamEnd {
            break;
        }
    }
    Ok(())
}

/// Bytes `data` takes as stored deflate blocks starting on a byte boundary.
fn stored_len(data_bytes: usize, end: BlockEnd) -> usize {
    if data_bytes == 0 {
        return match end {
            BlockEnd::Flush => 0,
            BlockEnd::Final => EMPTY_FINAL_BLOCK.len(),
        };
    }
    data_bytes + data_bytes.div_ceil(STORED_BLOCK_MAX_BYTES) * STORED_HEADER_BYTES
}

/// Appends `data` to `out` as stored blocks (RFC 1951 3.2.4), the last one final when `end` is.
fn write_stored(data: &[u8], end: BlockEnd, out: &mut Vec<u8>) {
    out.reserve(stored_len(data.len(), end));
    if data.is_empty() {
        if end == BlockEnd::Final {
            out.extend_from_slice(&EMPTY_FINAL_BLOCK);
        }
        return;
    }
    let count = data.len().div_ceil(STORED_BLOCK_MAX_BYTES);
    for (i, chunk) in data.chunks(STORED_BLOCK_MAX_BYTES).enumerate() {
        let bfinal = end == BlockEnd::Final && i + 1 == count;
        let len = chunk.len() as u16;
        out.push(u8::from(bfinal)); // BFINAL, then BTYPE=00 and padding to the byte boundary
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
}

/// CRC-32 of the last `min(WINDOW_BYTES, dictionary + data)` bytes of `dictionary ++ data`.
fn window_crc32(dictionary: &[u8], data: &[u8]) -> u32 {
    if data.len() >= WINDOW_BYTES {
        return crc32fast::hash(&data[data.len() - WINDOW_BYTES..]);
    }
    let from_dictionary = (WINDOW_BYTES - data.len()).min(dictionary.len());
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&dictionary[dictionary.len() - from_dictionary..]);
    hasher.update(data);
    hasher.finalize()
}

/// How a file of `file_bytes` is cut into blocks of `block_bytes` (the last one shorter). An
/// empty file is one empty block, so every stream has a block that can end it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockPlan {
    file_bytes: u64,
    block_bytes: u64,
}

impl BlockPlan {
    /// `block_bytes` is clamped to 1..=[`MAX_BLOCK_BYTES`].
    pub fn new(file_bytes: u64, block_bytes: usize) -> Self {
        BlockPlan {
            file_bytes,
            block_bytes: block_bytes.clamp(1, MAX_BLOCK_BYTES) as u64,
        }
    }

    /// Size of the file, in bytes.
    pub fn file_bytes(&self) -> u64 {
        self.file_bytes
    }

    /// Input bytes of each block (the last one may hold fewer), after clamping.
    pub fn block_bytes(&self) -> u64 {
        self.block_bytes
    }

    /// Number of blocks, at least 1.
    pub fn block_count(&self) -> u64 {
        self.file_bytes.div_ceil(self.block_bytes).max(1)
    }

    /// Byte range of the file that block `index` compresses.
    pub fn data_range(&self, index: u64) -> Range<u64> {
        let start = (index * self.block_bytes).min(self.file_bytes);
        let end = (start + self.block_bytes).min(self.file_bytes);
        start..end
    }

    /// Byte range of the file that primes block `index` (the window before it).
    pub fn dictionary_range(&self, index: u64) -> Range<u64> {
        let start = self.data_range(index).start;
        start.saturating_sub(WINDOW_BYTES as u64)..start
    }

    /// Whether block `index` is the file's last (or past it).
    pub fn is_last(&self, index: u64) -> bool {
        index + 1 >= self.block_count()
    }

    /// How block `index` ends when the stream is ended by its last block.
    pub fn end(&self, index: u64) -> BlockEnd {
        if self.is_last(index) {
            BlockEnd::Final
        } else {
            BlockEnd::Flush
        }
    }
}

/// Reads block `index` of `plan` from `file` into `buf` (overwritten and cut to length; its
/// capacity is reused): the dictionary, then the data. Returns the dictionary's length, so
/// `buf.split_at(returned)` gives `(dictionary, data)`.
///
/// Uses positioned reads (`pread`), so any number of workers can read blocks of the same open
/// file at once. A file that ends before the planned range (it shrank since it was planned)
/// gives `ErrorKind::UnexpectedEof`; bytes beyond the plan (it grew) are not read.
pub fn read_block(
    file: &File,
    plan: &BlockPlan,
    index: u64,
    buf: &mut Vec<u8>,
) -> io::Result<usize> {
    let dictionary = plan.dictionary_range(index);
    let data = plan.data_range(index);
    let dictionary_len = (dictionary.end - dictionary.start) as usize;
    let total = (data.end - dictionary.start) as usize;
    // Zero-filled only where it grows: a reused buffer costs no memset per block.
    if buf.len() < total {
        buf.resize(total, 0);
    } else {
        buf.truncate(total);
    }
    let mut filled = 0;
    while filled < total {
        match file.read_at(&mut buf[filled..], dictionary.start + filled as u64) {
            Ok(0) => {
                buf.truncate(filled);
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file shrank while it was read",
                ));
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(dictionary_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Decompress, FlushDecompress};

    /// The data stored blocks carry. `None` when `deflate` is not a sequence of stored blocks
    /// starting on a byte boundary.
    fn stored_payload(deflate: &[u8]) -> Option<impl Iterator<Item = &[u8]>> {
        // Validate first, so the iterator cannot fail half-way.
        let mut at = 0;
        while at < deflate.len() {
            if deflate.get(at..at + 2) == Some(&EMPTY_FINAL_BLOCK[..]) && at + 2 == deflate.len() {
                break;
            }
            let header = deflate.get(at..at + STORED_HEADER_BYTES)?;
            if header[0] & !1 != 0 {
                return None;
            }
            let len = u16::from_le_bytes([header[1], header[2]]);
            if !len != u16::from_le_bytes([header[3], header[4]]) {
                return None;
            }
            at += STORED_HEADER_BYTES + usize::from(len);
        }
        if at > deflate.len() {
            return None;
        }
        let mut at = 0;
        Some(std::iter::from_fn(move || {
            while at + STORED_HEADER_BYTES <= deflate.len() {
                let len = usize::from(u16::from_le_bytes([deflate[at + 1], deflate[at + 2]]));
                let payload = &deflate[at + STORED_HEADER_BYTES..at + STORED_HEADER_BYTES + len];
                at += STORED_HEADER_BYTES + len;
                if !payload.is_empty() {
                    return Some(payload);
                }
            }
            None
        }))
    }

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed | 1;
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            out.extend_from_slice(&state.to_le_bytes());
        }
        out.truncate(len);
        out
    }

    fn text(len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 64);
        let mut i: u64 = 0;
        while out.len() < len {
            out.extend_from_slice(
                format!("line {i}: the quick brown fox {} jumps\n", i * 7919 % 1013).as_bytes(),
            );
            i += 1;
        }
        out.truncate(len);
        out
    }

    /// Inflates a complete raw deflate stream; panics unless it ends exactly at its end.
    fn inflate(stream: &[u8], expected_len: usize) -> Vec<u8> {
        let mut d = Decompress::new(false);
        let mut out = Vec::with_capacity(expected_len + 1);
        let status = d
            .decompress_vec(stream, &mut out, FlushDecompress::Finish)
            .unwrap();
        assert_eq!(status, Status::StreamEnd, "stream does not end");
        assert_eq!(d.total_in(), stream.len() as u64, "bytes after the end");
        out
    }

    /// Compresses `input` block by block in a shuffled order (as a pool would), then
    /// concatenates the blocks in input order.
    fn compress_all(input: &[u8], block_bytes: usize, level: u8) -> (Vec<u8>, Vec<BlockSummary>) {
        let plan = BlockPlan::new(input.len() as u64, block_bytes);
        let count = plan.block_count();
        let mut order: Vec<u64> = (0..count).collect();
        order.reverse();
        let mut pieces = vec![Vec::new(); count as usize];
        let mut summaries = vec![None; count as usize];
        let mut c = BlockCompressor::new(6).unwrap();
        for i in order {
            let d = plan.dictionary_range(i);
            let r = plan.data_range(i);
            let mut out = Vec::new();
            let s = c
                .compress_block(
                    level,
                    &input[d.start as usize..d.end as usize],
                    &input[r.start as usize..r.end as usize],
                    plan.end(i),
                    &mut out,
                )
                .unwrap();
            assert_eq!(s.compressed_bytes, out.len() as u64);
            pieces[i as usize] = out;
            summaries[i as usize] = Some(s);
        }
        let summaries: Vec<BlockSummary> = summaries.into_iter().map(Option::unwrap).collect();
        for pair in summaries.windows(2) {
            assert_eq!(pair[0].window_crc32, pair[1].dictionary_crc32);
            assert_eq!(pair[0].window_bytes(), pair[1].dictionary_bytes);
        }
        (pieces.concat(), summaries)
    }

    fn combined_crc(summaries: &[BlockSummary]) -> u32 {
        let mut seq = BlockSequence::new();
        for s in summaries {
            seq.push(s).unwrap();
        }
        assert!(seq.ended());
        assert_eq!(
            seq.uncompressed_bytes(),
            summaries.iter().map(|s| s.uncompressed_bytes).sum::<u64>()
        );
        assert_eq!(
            seq.compressed_bytes(),
            summaries.iter().map(|s| s.compressed_bytes).sum::<u64>()
        );
        seq.crc32()
    }

    #[test]
    fn a_sequence_refuses_gaps_reorders_and_blocks_after_the_end() {
        let input = text(300 << 10);
        let (_, s) = compress_all(&input, 100 << 10, 6);
        let mut seq = BlockSequence::new();
        assert_eq!(
            seq.push(&s[1]),
            Err(SequenceError::Discontinuous { block: 0 })
        );
        seq.push(&s[0]).unwrap();
        assert_eq!(
            seq.push(&s[2]),
            Err(SequenceError::Discontinuous { block: 1 })
        );
        assert_eq!(seq.blocks(), 1, "a refused block is not counted");
        seq.push(&s[1]).unwrap();
        seq.push(&s[2]).unwrap();
        assert!(seq.ended());
        assert_eq!(seq.crc32(), crc32fast::hash(&input));
        assert_eq!(seq.push(&s[2]), Err(SequenceError::AfterFinal { block: 3 }));
    }

    fn round_trip(input: &[u8], block_bytes: usize, level: u8) -> Vec<BlockSummary> {
        let (stream, summaries) = compress_all(input, block_bytes, level);
        assert!(inflate(&stream, input.len()) == input, "content differs");
        assert_eq!(combined_crc(&summaries), crc32fast::hash(input));
        summaries
    }

    #[test]
    fn sizes_around_block_boundaries_round_trip() {
        let block = 64 << 10;
        let source = text(5 * block + 100);
        for len in [
            0,
            1,
            block - 1,
            block,
            block + 1,
            2 * block - 1,
            2 * block,
            2 * block + 1,
            5 * block + 100,
        ] {
            let s = round_trip(&source[..len], block, 6);
            assert_eq!(
                s.len() as u64,
                BlockPlan::new(len as u64, block).block_count()
            );
        }
    }

    #[test]
    fn every_level_round_trips_and_higher_levels_are_not_larger() {
        let input = text(600 << 10);
        let mut sizes = Vec::new();
        for level in [0, 1, 6, 9] {
            let s = round_trip(&input, 128 << 10, level);
            sizes.push(s.iter().map(|s| s.compressed_bytes).sum::<u64>());
            assert_eq!(s.iter().all(|s| s.stored), level == 0);
        }
        assert!(sizes[0] > input.len() as u64, "{sizes:?}");
        assert!(sizes[1] < sizes[0] / 3, "{sizes:?}");
        assert!(sizes[2] <= sizes[1] && sizes[3] <= sizes[2], "{sizes:?}");
    }

    #[test]
    fn random_data_is_stored_with_five_bytes_per_64_kib() {
        // The last block is 3,000 bytes: even there a stored block beats deflate.
        let input = noise((1 << 20) + 3000, 7);
        let s = round_trip(&input, 256 << 10, 6);
        assert!(s.iter().all(|s| s.stored));
        let total: u64 = s.iter().map(|s| s.compressed_bytes).sum();
        let stored_blocks = s
            .iter()
            .map(|s| s.uncompressed_bytes.div_ceil(0xFFFF))
            .sum::<u64>();
        assert_eq!(total, input.len() as u64 + 5 * stored_blocks);
    }

    #[test]
    fn random_head_then_text_mixes_stored_and_deflated_blocks() {
        let mut input = noise(300 << 10, 3);
        input.extend_from_slice(&text(700 << 10));
        let s = round_trip(&input, 128 << 10, 6);
        assert!(s[0].stored && s[1].stored);
        assert!(s.iter().skip(3).all(|s| !s.stored));
        let total: u64 = s.iter().map(|s| s.compressed_bytes).sum();
        assert!(total < (300 << 10) + (200 << 10), "{total}");
    }

    #[test]
    fn dictionary_makes_repeats_across_the_cut_cheap() {
        // The block repeats the last 16 KiB of its dictionary: with the dictionary, even its first
        // copy is a back-reference; without, that copy is 16 KiB of noise.
        let dict = noise(WINDOW_BYTES, 9);
        let data = dict[16 << 10..].repeat(4);
        let mut c = BlockCompressor::new(6).unwrap();
        let mut with = Vec::new();
        let mut without = Vec::new();
        let a = c
            .compress_block(6, &dict, &data, BlockEnd::Final, &mut with)
            .unwrap();
        let b = c
            .compress_block(6, &[], &data, BlockEnd::Final, &mut without)
            .unwrap();
        assert!(!a.stored && !b.stored, "{a:?} {b:?}");
        assert!(
            with.len() + 15_000 < without.len(),
            "{} {}",
            with.len(),
            without.len()
        );
        let mut d = Decompress::new(false);
        d.set_dictionary(&dict).unwrap();
        let mut back = Vec::with_capacity(data.len());
        let status = d
            .decompress_vec(&with, &mut back, FlushDecompress::Finish)
            .unwrap();
        assert_eq!(status, Status::StreamEnd);
        assert!(back == data);
    }

    #[test]
    fn flushed_blocks_take_any_complete_stream_after_them() {
        // What the zip writer does: our blocks all flushed, then another encoder's empty stream.
        let input = text(300 << 10);
        let plan = BlockPlan::new(input.len() as u64, 100 << 10);
        let mut c = BlockCompressor::new(6).unwrap();
        let mut stream = Vec::new();
        let mut out = Vec::new();
        for i in 0..plan.block_count() {
            let d = plan.dictionary_range(i);
            let r = plan.data_range(i);
            c.compress_block(
                6,
                &input[d.start as usize..d.end as usize],
                &input[r.start as usize..r.end as usize],
                BlockEnd::Flush,
                &mut out,
            )
            .unwrap();
            stream.extend_from_slice(&out);
        }
        let mut tail = flate2::write::DeflateEncoder::new(Vec::new(), Compression::new(6));
        std::io::Write::flush(&mut tail).unwrap();
        stream.extend_from_slice(&tail.finish().unwrap());
        assert!(inflate(&stream, input.len()) == input);
    }

    #[test]
    fn stored_payload_gives_back_the_input() {
        let mut c = BlockCompressor::new(6).unwrap();
        let mut out = Vec::new();
        for (len, end) in [
            (0, BlockEnd::Final),
            (0, BlockEnd::Flush),
            (100, BlockEnd::Final),
            (0xFFFF, BlockEnd::Flush),
            (0x10000, BlockEnd::Final),
            (300_000, BlockEnd::Flush),
        ] {
            let input = noise(len, 5);
            let s = c.compress_block(6, &[], &input, end, &mut out).unwrap();
            assert!(s.stored);
            let back: Vec<u8> = stored_payload(&out).unwrap().flatten().copied().collect();
            assert!(back == input, "len {len}");
        }
        let s = c
            .compress_block(6, &[], &text(1000), BlockEnd::Final, &mut out)
            .unwrap();
        assert!(!s.stored);
        assert!(stored_payload(&out).is_none());
        assert!(
            stored_payload(&[0, 5, 0, 0xfa, 0xff, 1]).is_none(),
            "truncated"
        );
    }

    #[test]
    fn probe_stores_noise_untried_and_leaves_compressible_blocks_alone() {
        let mut c = BlockCompressor::new(6).unwrap();
        let mut on = Vec::new();
        let mut off = Vec::new();
        let noise_block = noise(512 << 10, 21);
        let s = c
            .compress_block(6, &[], &noise_block, BlockEnd::Flush, &mut on)
            .unwrap();
        assert!(s.stored);
        // Text, and noise with a text stretch as long as the sample stride: deflated, exactly as
        // without the probe.
        let mut mixed = noise(512 << 10, 22);
        mixed[200 << 10..264 << 10].copy_from_slice(&text(64 << 10));
        for block in [text(512 << 10), mixed] {
            c.set_probe(true);
            let a = c
                .compress_block(6, &[], &block, BlockEnd::Flush, &mut on)
                .unwrap();
            c.set_probe(false);
            let b = c
                .compress_block(6, &[], &block, BlockEnd::Flush, &mut off)
                .unwrap();
            assert!(!a.stored && a == b && on == off);
        }
        // What the probe gives up: compressible bytes that all fall between the samples (the
        // first sample starts 30 KiB into a 512 KiB block).
        let mut gap = noise(512 << 10, 23);
        gap[..16 << 10].copy_from_slice(&text(16 << 10));
        c.set_probe(true);
        assert!(
            c.compress_block(6, &[], &gap, BlockEnd::Flush, &mut on)
                .unwrap()
                .stored
        );
        c.set_probe(false);
        let b = c
            .compress_block(6, &[], &gap, BlockEnd::Flush, &mut off)
            .unwrap();
        assert!(!b.stored && off.len() < on.len());
        // Small blocks are never probed.
        c.set_probe(true);
        let mut small = noise(PROBE_MIN_BLOCK_BYTES - 1, 24);
        small[..16 << 10].copy_from_slice(&text(16 << 10));
        assert!(
            !c.compress_block(6, &[], &small, BlockEnd::Flush, &mut on)
                .unwrap()
                .stored
        );
    }

    /// A reused compressor gives the same bytes as a fresh one, whatever it compressed before
    /// (without the guard in `deflate`, 5 of these 253 blocks came out different, each one right
    /// after its predecessor was compressed by the same compressor).
    #[test]
    fn output_does_not_depend_on_earlier_blocks() {
        // Structured input: text, bursts of noise, and copies of recent stretches.
        let mut data = Vec::new();
        let mut seed = 1u64;
        while data.len() < 16 << 20 {
            seed += 1;
            data.extend_from_slice(&text(3000 + (seed as usize * 7919) % 20000));
            data.extend_from_slice(&noise(50 + (seed as usize * 31) % 3000, seed));
            let k = data.len();
            let back = (seed as usize * 104_729) % k.min(30_000);
            let copy = data[k - back..k - back / 2].to_vec();
            data.extend_from_slice(&copy);
        }
        let b = 64 << 10;
        let block = |i: usize| {
            (
                &data[i * b - WINDOW_BYTES..i * b],
                &data[i * b..(i + 1) * b],
            )
        };
        let mut used = BlockCompressor::new(6).unwrap();
        let mut differ = Vec::new();
        let (mut fresh_out, mut out) = (Vec::new(), Vec::new());
        for i in 2..data.len() / b - 1 {
            let (dict, data) = block(i);
            BlockCompressor::new(6)
                .unwrap()
                .compress_block(6, dict, data, BlockEnd::Final, &mut fresh_out)
                .unwrap();
            let (prev_dict, prev) = block(i - 1);
            used.compress_block(6, prev_dict, prev, BlockEnd::Flush, &mut out)
                .unwrap();
            used.compress_block(6, dict, data, BlockEnd::Final, &mut out)
                .unwrap();
            if out != fresh_out {
                differ.push(i);
            }
        }
        assert!(differ.is_empty(), "blocks {differ:?} differ");
    }

    /// Inflates a stream that may end with a sync flush rather than a final block.
    fn inflate_flushed(stream: &[u8], expected_len: usize) -> Vec<u8> {
        let mut d = Decompress::new(false);
        let mut out = Vec::with_capacity(expected_len + 1);
        d.decompress_vec(stream, &mut out, FlushDecompress::Sync)
            .unwrap();
        assert_eq!(d.total_in(), stream.len() as u64, "bytes left over");
        out
    }

    /// Issue 13: a block given up part-way (deflated, it would not be smaller than stored)
    /// leaves the compressor fit for the next block, at every level. With zlib-rs 0.6.8 the
    /// next block at level 1 panicked ("buf.len() must fit in remaining()", a JPEG wallpaper
    /// then a large font in one job) whenever the given-up stream had filled its output.
    #[test]
    fn a_block_given_up_part_way_leaves_the_compressor_fit_for_any_next_block() {
        // Deflated (the probe is off) and given up: noise does not shrink.
        let given_up = noise(600 << 10, 31);
        // Compressible, but its deflated form is larger than zlib-rs's 64 KiB pending buffer.
        let mut next = text(300 << 10);
        for (i, byte) in next.iter_mut().enumerate().step_by(3) {
            *byte = given_up[i];
        }
        let mut out = Vec::new();
        for first in [1, 2, 6, 9] {
            for second in 0..=MAX_LEVEL {
                for end in [BlockEnd::Flush, BlockEnd::Final] {
                    let mut c = BlockCompressor::new(first).unwrap();
                    c.set_probe(false);
                    // A fresh buffer, as a worker's first block has: no room beyond the limit.
                    out = Vec::new();
                    let s = c
                        .compress_block(first, &[], &given_up, end, &mut out)
                        .unwrap();
                    assert!(s.stored, "level {first}");
                    let s = c.compress_block(second, &[], &next, end, &mut out).unwrap();
                    assert_eq!(s.stored, second == 0);
                    let back = match end {
                        BlockEnd::Final => inflate(&out, next.len()),
                        BlockEnd::Flush => inflate_flushed(&out, next.len()),
                    };
                    assert!(back == next, "levels {first} then {second}, {end:?}");
                    let fresh = BlockCompressor::new(second)
                        .unwrap()
                        .compress_block(second, &[], &next, end, &mut Vec::new())
                        .unwrap();
                    assert_eq!(s, fresh, "levels {first} then {second}, {end:?}");
                }
            }
        }
        drop(out);
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(matches!(
            BlockCompressor::new(10),
            Err(DeflateError::Level(10))
        ));
        let mut c = BlockCompressor::new(1).unwrap();
        let mut out = Vec::new();
        let big = vec![0u8; MAX_BLOCK_BYTES + 1];
        assert!(matches!(
            c.compress_block(6, &[], &big, BlockEnd::Final, &mut out),
            Err(DeflateError::BlockTooLarge(_))
        ));
        assert!(matches!(
            c.compress_block(6, &big[..WINDOW_BYTES + 1], &[], BlockEnd::Final, &mut out),
            Err(DeflateError::Dictionary(_))
        ));
        assert!(matches!(
            c.compress_block(11, &[], &[], BlockEnd::Final, &mut out),
            Err(DeflateError::Level(11))
        ));
    }

    #[test]
    fn changing_level_per_block_matches_a_fresh_compressor() {
        let input = text(200 << 10);
        let mut reused = BlockCompressor::new(1).unwrap();
        let mut a = Vec::new();
        let mut b = Vec::new();
        for level in [9, 1, 6, 0, 6] {
            reused
                .compress_block(
                    level,
                    &input[..WINDOW_BYTES],
                    &input[WINDOW_BYTES..],
                    BlockEnd::Flush,
                    &mut a,
                )
                .unwrap();
            BlockCompressor::new(level)
                .unwrap()
                .compress_block(
                    level,
                    &input[..WINDOW_BYTES],
                    &input[WINDOW_BYTES..],
                    BlockEnd::Flush,
                    &mut b,
                )
                .unwrap();
            assert!(a == b, "level {level}");
        }
    }

    #[test]
    fn read_block_reads_dictionary_and_data_and_notices_shrinking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let input = text(200_000);
        std::fs::write(&path, &input).unwrap();
        let file = File::open(&path).unwrap();
        let plan = BlockPlan::new(input.len() as u64, 50_000);
        assert_eq!(plan.block_count(), 4);
        let mut buf = Vec::new();
        for i in 0..4 {
            let dict_len = read_block(&file, &plan, i, &mut buf).unwrap();
            let d = plan.dictionary_range(i);
            let r = plan.data_range(i);
            assert_eq!(dict_len as u64, d.end - d.start);
            assert!(buf == input[d.start as usize..r.end as usize]);
        }
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(120_000)
            .unwrap();
        let err = read_block(&file, &plan, 2, &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn plan_of_an_empty_file_is_one_final_block() {
        let plan = BlockPlan::new(0, 1000);
        assert_eq!(plan.block_count(), 1);
        assert_eq!(plan.data_range(0), 0..0);
        assert_eq!(plan.end(0), BlockEnd::Final);
        assert_eq!(BlockPlan::new(10, 0).block_bytes(), 1);
        assert_eq!(
            BlockPlan::new(10, usize::MAX).block_bytes(),
            MAX_BLOCK_BYTES as u64
        );
    }
}
