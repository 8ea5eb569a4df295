//! Appends a zip entry whose data was compressed elsewhere (by `deflate_blocks` on the workers),
//! streamed block by block into a `zip::ZipWriter`, with the CRC-32 and sizes that the blocks'
//! summaries add up to. The writer thread calls it for each entry in archive order: one big file
//! as many blocks arriving over time, a small file as one block.
//!
//! How it fits the zip crate (9.4.1), which has no public way to start an entry with
//! pre-compressed data (`start_entry` and `PreparedZipFile`'s fields are private; a
//! `PreparedZipFile` can only come from a `ZipFileBuilder`, which compresses itself, in memory,
//! with a fresh deflate state per file): the entry is started with `start_file` and the method it
//! will have (Deflated at the job's level, or Stored), the blocks are written straight to the
//! archive file underneath the crate's encoder with `ZipWriter::get_mut`, and the CRC-32 and
//! uncompressed size are handed over with `ZipWriter::set_file_metadata`, the crate's documented
//! way for data written "independently" to the underlying writer. The crate then measures the
//! compressed size, patches the local header (and its Zip64 field) and writes the central
//! directory as for any entry. For a Deflated entry the crate's own (idle, reused) encoder ends
//! the entry with the empty stream it makes of no input (2 bytes, `03 00`): so every block given
//! here must end with [`BlockEnd::Flush`] (byte-aligned, stream going on), and the crate's bytes
//! complete the stream. That costs at most 7 bytes per Deflated entry over a stream ending in its
//! own final block (the sync marker of the last block, 4-5 bytes, plus those 2).
//!
//! Measured per small entry (100,000 entries of 70-110 bytes, `examples/entry_bench.rs`, release
//! build, writing through an `ArchiveSink`): 4.4 us per Deflated entry on the writer thread (the
//! crate's encoder reset, a 128 KiB memset, and moves of its writer state), against 1.3 us for a
//! stored entry through the crate and 0.19 us through `archive_writer`; the archive is 3.9 %
//! larger than today's (6 bytes per entry), where `archive_writer`'s is byte for byte as small.
//! Prefer `archive_writer`; this module is for keeping `zip::ZipWriter` meanwhile.
//!
//! Owns: the sequence start, append in order, finish (or abort) of one entry; the checks that
//! keep the entry consistent (blocks continue each other, classic sizes stay below 4 GiB).
//! Must not touch: the compression itself, files, threads; anything of the archive but the
//! current entry.

use std::io::{self, Seek, Write};

use zip::ZipWriter;
use zip::result::ZipError;
use zip::write::{FileOptionExtension, FileOptions};
use zip::{CompressionMethod, ZIP64_BYTES_THR};

pub use super::archive_writer::needs_zip64;
use super::deflate_blocks::{BlockEnd, BlockSequence, BlockSummary, SequenceError, stored_payload};

/// How every block of a zip entry must end: the zip crate ends the stream (see the module doc).
pub const ZIP_BLOCK_END: BlockEnd = BlockEnd::Flush;

/// The method of an entry, as its local and central headers will say (APPNOTE 4.4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryMethod {
    /// Method 8; `level` 1-9 only sets the header's compression-option flags (APPNOTE 4.4.4
    /// bits 1-2), exactly as an entry deflated by the crate at that level would have them.
    Deflated { level: u8 },
    /// Method 0: every block must have come out stored; their payloads are written as they are.
    Stored,
}

/// Why an entry could not be written. After any of them the entry has been taken back out of
/// the archive (`ZipWriter::abort_file`), unless the archive itself failed (`Write`, `Zip`).
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("cannot write archive: {0}")]
    Zip(#[from] ZipError),
    #[error("cannot write archive: {0}")]
    Write(io::Error),
    /// A block that does not follow the one before (see [`SequenceError`]).
    #[error(transparent)]
    Sequence(#[from] SequenceError),
    #[error("block {block}: summary says {expected} bytes, {got} given")]
    LengthMismatch { block: u64, expected: u64, got: u64 },
    #[error("block {block} ends the stream, which the zip crate ends itself")]
    FinalBlock { block: u64 },
    #[error("block {block} is deflated, but the entry is stored")]
    NotStored { block: u64 },
    #[error("deflate level {0} is not 1-9")]
    Level(u8),
    #[error("the entry reached 4 GiB but was started without Zip64 fields")]
    NeedsZip64,
}

/// What an entry holds once finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryTotals {
    pub crc32: u32,
    pub uncompressed_bytes: u64,
    /// The bytes appended here (for a Deflated entry, the crate adds its 2 final bytes after).
    pub data_bytes: u64,
    pub blocks: u64,
}

/// One entry being appended: created by [`EntryWriter::start`], given every block in order with
/// [`EntryWriter::append`], ended by [`EntryWriter::finish`]. Dropped before `finish` (an error
/// or cancel on the way), it takes the entry back out of the archive.
pub struct EntryWriter<'z, W: Write + Seek> {
    zip: &'z mut ZipWriter<W>,
    method: EntryMethod,
    large: bool,
    sequence: BlockSequence,
    data_bytes: u64,
    open: bool,
}

impl<W: Write + Seek> std::fmt::Debug for EntryWriter<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntryWriter")
            .field("method", &self.method)
            .field("sequence", &self.sequence)
            .field("data_bytes", &self.data_bytes)
            .finish_non_exhaustive()
    }
}

impl<'z, W: Write + Seek> EntryWriter<'z, W> {
    /// Starts entry `name` with `options` (time, permissions, extra fields: as for any entry;
    /// their method and level are replaced by `method`'s). `large`: write Zip64 sizes (use
    /// [`needs_zip64`] of the planned size, or-ed with what the archive's offsets need).
    pub fn start<T: FileOptionExtension>(
        zip: &'z mut ZipWriter<W>,
        name: &str,
        options: FileOptions<'_, '_, T>,
        method: EntryMethod,
        large: bool,
    ) -> Result<Self, EntryError> {
        let options = match method {
            EntryMethod::Deflated { level } => {
                if !(1..=9).contains(&level) {
                    return Err(EntryError::Level(level));
                }
                options
                    .compression_method(CompressionMethod::Deflated)
                    .compression_level(Some(i64::from(level)))
            }
            EntryMethod::Stored => options
                .compression_method(CompressionMethod::Stored)
                .compression_level(None),
        };
        zip.start_file(name, options.large_file(large))?;
        Ok(EntryWriter {
            zip,
            method,
            large,
            sequence: BlockSequence::new(),
            data_bytes: 0,
            open: true,
        })
    }

    /// Appends the next block: `compressed` is its output, `summary` what
    /// `BlockCompressor::compress_block` said of it. Blocks must come in input order, each
    /// compressed with the dictionary the one before leaves (checked), ending with
    /// [`ZIP_BLOCK_END`].
    pub fn append(&mut self, summary: &BlockSummary, compressed: &[u8]) -> Result<(), EntryError> {
        let block = self.sequence.blocks();
        if summary.compressed_bytes != compressed.len() as u64 {
            return Err(EntryError::LengthMismatch {
                block,
                expected: summary.compressed_bytes,
                got: compressed.len() as u64,
            });
        }
        // Checked before anything is written; counted only once written.
        self.sequence.clone().push(summary)?;
        let written = match self.method {
            EntryMethod::Deflated { .. } => {
                if summary.end != ZIP_BLOCK_END {
                    return Err(EntryError::FinalBlock { block });
                }
                self.write(compressed)?;
                compressed.len() as u64
            }
            EntryMethod::Stored => {
                let payload = stored_payload(compressed)
                    .filter(|_| summary.stored)
                    .ok_or(EntryError::NotStored { block })?;
                let mut written = 0;
                for piece in payload {
                    self.write(piece)?;
                    written += piece.len() as u64;
                }
                written
            }
        };
        self.data_bytes += written;
        self.sequence.push(summary)?;
        if !self.large
            && (self.sequence.uncompressed_bytes() >= ZIP64_BYTES_THR
                || self.data_bytes >= ZIP64_BYTES_THR)
        {
            return Err(EntryError::NeedsZip64);
        }
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), EntryError> {
        // SAFETY (the contract of `get_mut`: do not corrupt the archive, leave the position where
        // the crate expects it): the entry is open and its data goes right here, at the current
        // position, which only moves forward; the crate's encoder for this entry has been given
        // nothing, so no bytes of its own are pending ahead of ours. When the entry ends, the
        // crate measures the compressed size from this position.
        let sink = unsafe { self.zip.get_mut() }.ok_or_else(|| {
            EntryError::Write(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the archive is closed",
            ))
        })?;
        sink.write_all(bytes).map_err(EntryError::Write)
    }

    /// Ends the entry: hands the CRC-32 and size over to the crate, which completes the headers
    /// when the next entry starts or the archive finishes.
    pub fn finish(mut self) -> Result<EntryTotals, EntryError> {
        let crc32 = self.sequence.crc32();
        let uncompressed_bytes = self.sequence.uncompressed_bytes();
        // SAFETY (the contract of `set_file_metadata`): an entry is open (started above, never
        // aborted), and exactly `uncompressed_bytes` of input, whose CRC-32 is `crc32`, went
        // into the data written for it: each block's summary counts its input, checked to follow
        // on from the block before.
        unsafe { self.zip.set_file_metadata(uncompressed_bytes, crc32) }?;
        self.open = false;
        Ok(EntryTotals {
            crc32,
            uncompressed_bytes,
            data_bytes: self.data_bytes,
            blocks: self.sequence.blocks(),
        })
    }

    /// Takes the entry back out of the archive (a read error or cancel half-way): the next entry
    /// is written over it.
    pub fn abort(mut self) -> Result<(), EntryError> {
        self.open = false;
        self.zip.abort_file()?;
        Ok(())
    }
}

impl<W: Write + Seek> Drop for EntryWriter<'_, W> {
    fn drop(&mut self) {
        if self.open {
            // Left half-way by an error: never let the crate complete it with a wrong CRC. An
            // error here means the archive itself failed, which the caller sees anyway.
            let _ = self.zip.abort_file();
        }
    }
}

/// Appends a small file compressed as one block (with no dictionary): as a Stored entry of its
/// bytes when the block came out stored (as today: a file that does not shrink is stored), else
/// as a Deflated entry at `level`.
pub fn append_one_block<W: Write + Seek, T: FileOptionExtension>(
    zip: &mut ZipWriter<W>,
    name: &str,
    options: FileOptions<'_, '_, T>,
    level: u8,
    large: bool,
    summary: &BlockSummary,
    compressed: &[u8],
) -> Result<EntryTotals, EntryError> {
    let method = if summary.stored {
        EntryMethod::Stored
    } else {
        EntryMethod::Deflated { level }
    };
    let mut entry = EntryWriter::start(zip, name, options, method, large)?;
    entry.append(summary, compressed)?;
    entry.finish()
}
