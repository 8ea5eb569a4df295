//! Per-entry cost of small files (not part of CI timing): N tiny entries (the generated corpus's
//! 70-byte "line i" files) archived on one thread two ways, timing the compress side and the
//! writer side separately:
//!
//! - builder: what the zip job did before issue 7: `zip::write::ZipFileBuilder` (a fresh
//!   deflate state per file) then `ZipWriter::add_prepared_file` through a `BufWriter`;
//! - own: what it does now: one reused `BlockCompressor`, then
//!   `archive::ArchiveWriter::add_entry`.
//!
//! ```sh
//! cargo run --release --example entry_bench -- [N] [OUT_DIR]
//! ```
//!
//! `ENTRY_BENCH_MODES=own` (or `builder`) runs one of them, for profiling.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use shrinkwrap::engine::kinds::zip::archive::{ArchiveWriter, EntryMeta, Method};
use shrinkwrap::engine::kinds::zip::compress::{BlockCompressor, BlockEnd, BlockSummary};
use zip::ZipWriter;
use zip::write::{FullFileOptions, PreparedZipFile, ZipFileBuilder};

fn content(i: usize) -> Vec<u8> {
    format!("line {i}\n").repeat(10).into_bytes()
}

fn name(i: usize) -> String {
    format!("tiny/d{:03}/f{i:06}.txt", i / 1000)
}

fn report(what: &str, n: usize, compress: Duration, write: Duration, path: &Path) {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    println!(
        "{what:>8}: compress {:6.2} us/entry, write {:6.2} us/entry, archive {size} B ({:.1} B/entry)",
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
    if want("builder") {
        builder(&inputs, &dir);
    }
    if want("own") {
        own(&inputs, &dir);
    }
}

/// Whether mode `what` runs: all of them unless `ENTRY_BENCH_MODES` lists some.
fn want(what: &str) -> bool {
    std::env::var("ENTRY_BENCH_MODES").map_or(true, |m| m.split(',').any(|w| w == what))
}

/// The way before issue 7.
fn builder(inputs: &[Vec<u8>], dir: &Path) {
    let n = inputs.len();
    let path = dir.join("entry_bench_builder.zip");
    let t = Instant::now();
    let prepared: Vec<PreparedZipFile> = inputs
        .iter()
        .enumerate()
        .map(|(i, data)| {
            let mut o = FullFileOptions::default()
                .last_modified_time(zip::DateTime::default())
                .unix_permissions(0o644)
                .compression_method(zip::CompressionMethod::Deflated)
                .compression_level(Some(6));
            let mut field = [0u8; 5];
            field[0] = 1;
            field[1..].copy_from_slice(&1_715_000_000i32.to_le_bytes());
            let _ = o.add_extra_field(0x5455, field, false);
            let mut b = ZipFileBuilder::new(name(i), o).unwrap();
            b.write_all(data).unwrap();
            b.finish().unwrap()
        })
        .collect();
    let compress = t.elapsed();
    let mut zip = ZipWriter::new(BufWriter::with_capacity(
        1 << 20,
        File::create(&path).unwrap(),
    ));
    let t = Instant::now();
    for p in prepared {
        zip.add_prepared_file(p).unwrap();
    }
    zip.finish().unwrap().flush().unwrap();
    report("builder", n, compress, t.elapsed(), &path);
}

/// The way now: a reused compressor, blocks that end their stream, our own writer.
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
            name: name.as_bytes(),
            dos_date: 0x21,
            dos_time: 0,
            unix_mtime: Some(1_715_000_000),
            unix_mode: 0o100_644,
        };
        let (method, data) = if s.stored {
            (Method::Stored, &inputs[i][..])
        } else {
            (Method::Deflated, &out[..])
        };
        w.add_entry(&meta, method, s.crc32, s.uncompressed_bytes, data)
            .unwrap();
    }
    w.finish().unwrap();
    report("own", n, compress, t.elapsed(), &path);
}
