//! Per-entry cost of small files (not part of CI timing): N tiny entries (the generated corpus's
//! 70-byte "line i" files) archived on one thread three ways, timing the compress side and the
//! writer side separately:
//!
//! - today's: `ZipFileBuilder` (a fresh deflate state per file) then `add_prepared_file`;
//! - blocks: a reused `BlockCompressor` per worker, then `zip_entry::append_one_block`;
//! - stored: `start_file(Stored)` + `write_all` (the writer's floor through `start_file`);
//! - own: a reused `BlockCompressor` (blocks ending the stream), then
//!   `archive_writer::ArchiveWriter::add_entry` (our own zip writer, no zip crate).
//!
//! ```sh
//! cargo run --release --example entry_bench -- [N] [OUT_DIR]
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use shrinkwrap::engine::archive_sink::ArchiveSink;
use shrinkwrap::engine::archive_writer::{ArchiveWriter, EntryMeta, Method};
use shrinkwrap::engine::deflate_blocks::BlockEnd;
use shrinkwrap::engine::deflate_blocks::{BlockCompressor, BlockSummary};
use shrinkwrap::engine::zip_entry::{ZIP_BLOCK_END, append_one_block};
use zip::ZipWriter;
use zip::write::{FullFileOptions, PreparedZipFile, ZipFileBuilder};

fn options() -> FullFileOptions<'static, 'static> {
    let mut o = FullFileOptions::default()
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let mut field = [0u8; 5];
    field[0] = 1;
    field[1..].copy_from_slice(&1_715_000_000i32.to_le_bytes());
    let _ = o.add_extra_field(0x5455, field, false);
    o
}

fn content(i: usize) -> Vec<u8> {
    format!("line {i}\n").repeat(10).into_bytes()
}

fn name(i: usize) -> String {
    format!("tiny/d{:03}/f{i:06}.txt", i / 1000)
}

/// The archive file behind a `BufWriter` (as the zip job has it today) or an `ArchiveSink`.
trait Sink: Write + std::io::Seek + Sized {
    const NAME: &'static str;
    fn open(path: &Path) -> Self;
}

impl Sink for BufWriter<File> {
    const NAME: &'static str = "BufWriter";
    fn open(path: &Path) -> Self {
        BufWriter::with_capacity(1 << 20, File::create(path).unwrap())
    }
}

impl Sink for ArchiveSink<File> {
    const NAME: &'static str = "ArchiveSink";
    fn open(path: &Path) -> Self {
        ArchiveSink::new(File::create(path).unwrap()).unwrap()
    }
}

fn new_zip<S: Sink>(path: &Path) -> ZipWriter<S> {
    ZipWriter::new(S::open(path))
}

fn report<S: Sink>(what: &str, n: usize, compress: Duration, write: Duration, path: &Path) {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    println!(
        "{what:>8} via {:>11}: compress {:6.2} us/entry, write {:6.2} us/entry, archive {size} B ({:.1} B/entry)",
        S::NAME,
        compress.as_secs_f64() * 1e6 / n as f64,
        write.as_secs_f64() * 1e6 / n as f64,
        size as f64 / n as f64
    );
}

fn main() {
    shrinkwrap::tune_allocator();
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = args
        .next()
        .map_or_else(std::env::temp_dir, std::path::PathBuf::from);
    let inputs: Vec<Vec<u8>> = (0..n).map(content).collect();
    run::<BufWriter<File>>(&inputs, &dir);
    run::<ArchiveSink<File>>(&inputs, &dir);
    if want("own") {
        own(&inputs, &dir);
    }
}

/// Our own writer, from blocks that end their stream.
fn own(inputs: &[Vec<u8>], dir: &Path) {
    let n = inputs.len();
    let path = dir.join("entry_bench_own.zip");
    let mut c = BlockCompressor::new(6).unwrap();
    let t = Instant::now();
    let blocks: Vec<(BlockSummary, Vec<u8>)> = inputs
        .iter()
        .map(|data| {
            let mut out = Vec::new();
            let s = c
                .compress_block(6, &[], data, BlockEnd::Final, &mut out)
                .unwrap();
            (s, out)
        })
        .collect();
    let compress = t.elapsed();
    let mut w = ArchiveWriter::new(File::create(&path).unwrap()).unwrap();
    let t = Instant::now();
    for (i, (s, out)) in blocks.iter().enumerate() {
        let name = name(i);
        let meta = EntryMeta {
            name: &name,
            dos_date: 0x21,
            dos_time: 0,
            unix_mtime: Some(1_715_000_000),
            unix_mode: 0o100_644,
        };
        if s.stored {
            w.add_entry(
                &meta,
                Method::Stored,
                s.crc32,
                s.uncompressed_bytes,
                &inputs[i],
            )
            .unwrap();
        } else {
            w.add_entry(&meta, Method::Deflated, s.crc32, s.uncompressed_bytes, out)
                .unwrap();
        }
    }
    w.finish().unwrap();
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!(
        "{:>8} via {:>11}: compress {:6.2} us/entry, write {:6.2} us/entry, archive {size} B ({:.1} B/entry)",
        "own",
        "ArchiveWriter",
        compress.as_secs_f64() * 1e6 / n as f64,
        t.elapsed().as_secs_f64() * 1e6 / n as f64,
        size as f64 / n as f64
    );
}

/// Whether mode `what` runs: all of them unless `ENTRY_BENCH_MODES` lists some (for profiling
/// one).
fn want(what: &str) -> bool {
    std::env::var("ENTRY_BENCH_MODES").map_or(true, |m| m.split(',').any(|w| w == what))
}

fn run<S: Sink>(inputs: &[Vec<u8>], dir: &Path) {
    if want("builder") {
        builder::<S>(inputs, dir);
    }
    if want("blocks") {
        blocks::<S>(inputs, dir);
    }
    if want("stored") {
        stored::<S>(inputs, dir);
    }
}

/// Today's way.
fn builder<S: Sink>(inputs: &[Vec<u8>], dir: &Path) {
    let n = inputs.len();
    let path = dir.join("entry_bench_builder.zip");
    let t = Instant::now();
    let prepared: Vec<PreparedZipFile> = inputs
        .iter()
        .enumerate()
        .map(|(i, data)| {
            let o = options()
                .compression_method(zip::CompressionMethod::Deflated)
                .compression_level(Some(6));
            let mut b = ZipFileBuilder::new(name(i), o).unwrap();
            b.write_all(data).unwrap();
            b.finish().unwrap()
        })
        .collect();
    let compress = t.elapsed();
    let mut zip = new_zip::<S>(&path);
    let t = Instant::now();
    for p in prepared {
        zip.add_prepared_file(p).unwrap();
    }
    zip.finish().unwrap().flush().unwrap();
    report::<S>("builder", n, compress, t.elapsed(), &path);
}

/// Blocks, with one reused compressor.
fn blocks<S: Sink>(inputs: &[Vec<u8>], dir: &Path) {
    let n = inputs.len();
    let path = dir.join("entry_bench_blocks.zip");
    let mut c = BlockCompressor::new(6).unwrap();
    let t = Instant::now();
    let blocks: Vec<(BlockSummary, Vec<u8>)> = inputs
        .iter()
        .map(|data| {
            let mut out = Vec::new();
            let s = c
                .compress_block(6, &[], data, ZIP_BLOCK_END, &mut out)
                .unwrap();
            (s, out)
        })
        .collect();
    let compress = t.elapsed();
    let mut zip = new_zip::<S>(&path);
    let t = Instant::now();
    for (i, (s, out)) in blocks.iter().enumerate() {
        append_one_block(&mut zip, &name(i), options(), 6, false, s, out).unwrap();
    }
    zip.finish().unwrap().flush().unwrap();
    report::<S>("blocks", n, compress, t.elapsed(), &path);
}

/// Stored: the writer's floor.
fn stored<S: Sink>(inputs: &[Vec<u8>], dir: &Path) {
    let n = inputs.len();
    let path = dir.join("entry_bench_stored.zip");
    let mut zip = new_zip::<S>(&path);
    let t = Instant::now();
    for (i, data) in inputs.iter().enumerate() {
        let o = options()
            .compression_method(zip::CompressionMethod::Stored)
            .compression_level(None);
        zip.start_file(name(i), o).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().flush().unwrap();
    report::<S>("stored", n, Duration::ZERO, t.elapsed(), &path);
}
