//! Benchmark harness for `compress::BlockCompressor` + `archive::ArchiveWriter` (not part of CI
//! timing): compresses one file into a one-entry zip with N threads, and runs `pigz -p N -c` on
//! the same file in the same run, alternately, printing wall time, output size and peak RSS of
//! each, and their ratios.
//!
//! ```sh
//! cargo run --release --example deflate_bench -- FILE [--threads 2] [--level 6] \
//!     [--block-kib 512] [--in-flight 8] [--rounds 3] [--no-pigz] [--out DIR]
//! ```
//!
//! The archive is written by `archive::ArchiveWriter` (the last block ends the deflate stream).
//! Threads are spawned here, not in the module: each has its own `BlockCompressor` and buffers,
//! takes the next block index, reads it with `read_block`, compresses it and sends it to the
//! writer (this thread), which appends blocks in order. A block is taken only while fewer than
//! `--in-flight` blocks are compressed but not yet written, which bounds memory.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use shrinkwrap::engine::kinds::zip::archive::{ArchiveWriter, EntryMeta, Method, needs_zip64};
use shrinkwrap::engine::kinds::zip::compress::BlockSequence;
use shrinkwrap::engine::kinds::zip::compress::{
    BlockCompressor, BlockPlan, BlockSummary, DEFAULT_BLOCK_BYTES, read_block,
};

struct Args {
    file: PathBuf,
    threads: usize,
    level: u8,
    block_bytes: usize,
    in_flight: u64,
    rounds: usize,
    pigz: bool,
    out: PathBuf,
}

fn parse() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut a = Args {
        file: PathBuf::new(),
        threads: 2,
        level: 6,
        block_bytes: DEFAULT_BLOCK_BYTES,
        in_flight: 8,
        rounds: 3,
        pigz: true,
        out: std::env::temp_dir(),
    };
    let num = |v: Option<String>, what: &str| -> Result<u64, String> {
        v.ok_or(format!("{what} needs a value"))?
            .parse()
            .map_err(|e| format!("{what}: {e}"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => a.threads = num(args.next(), "--threads")? as usize,
            "--level" => a.level = num(args.next(), "--level")? as u8,
            "--block-kib" => a.block_bytes = num(args.next(), "--block-kib")? as usize * 1024,
            "--in-flight" => a.in_flight = num(args.next(), "--in-flight")?,
            "--rounds" => a.rounds = num(args.next(), "--rounds")? as usize,
            "--no-pigz" => a.pigz = false,
            "--out" => a.out = PathBuf::from(args.next().ok_or("--out needs a value")?),
            _ if a.file.as_os_str().is_empty() => a.file = PathBuf::from(arg),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    if a.file.as_os_str().is_empty() {
        return Err(
            "usage: deflate_bench FILE [--threads N] [--level L] [--block-kib K] \
                    [--in-flight K] [--rounds R] [--no-pigz] [--out DIR]"
                .into(),
        );
    }
    Ok(a)
}

/// User + system CPU seconds used so far by this process (`who` = RUSAGE_SELF) or by its
/// waited-for children (RUSAGE_CHILDREN).
fn cpu_seconds(who: libc::c_int) -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Resets this process's peak RSS (Linux: writing 5 to clear_refs), so each round measures its own.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak RSS (VmHWM) of process `pid` ("self" for this one), in bytes; 0 once it is gone.
fn vm_hwm_bytes_of(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

fn vm_hwm_bytes() -> u64 {
    vm_hwm_bytes_of("self")
}

struct Window {
    /// Blocks appended so far.
    written: Mutex<u64>,
    moved: Condvar,
}

type Done = (u64, BlockSummary, Vec<u8>);

/// Compresses `path` into `archive` (one entry) with `threads` workers; returns the archive size.
fn ours(a: &Args, archive: &Path) -> Result<u64, String> {
    let file = Arc::new(File::open(&a.file).map_err(|e| e.to_string())?);
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let plan = BlockPlan::new(len, a.block_bytes);
    let count = plan.block_count();
    let next = Arc::new(AtomicU64::new(0));
    let cancel = Arc::new(AtomicBool::new(false));
    let window = Arc::new(Window {
        written: Mutex::new(0),
        moved: Condvar::new(),
    });
    // At most `in_flight` blocks are out at once, so these channels never hold more.
    let capacity = usize::try_from(a.in_flight).unwrap_or(usize::MAX).max(1) + a.threads;
    let (done_tx, done_rx) = flume::bounded::<Done>(capacity);
    // (blocks, nanoseconds compressing them): [deflated, stored].
    let stats: Arc<[(AtomicU64, AtomicU64); 2]> = Arc::new(Default::default());
    let (free_tx, free_rx) = flume::bounded::<Vec<u8>>(capacity);
    let mut workers = Vec::new();
    for _ in 0..a.threads {
        let (file, next, cancel, window) = (
            Arc::clone(&file),
            Arc::clone(&next),
            Arc::clone(&cancel),
            Arc::clone(&window),
        );
        let (done_tx, free_rx, stats) = (done_tx.clone(), free_rx.clone(), Arc::clone(&stats));
        let (level, in_flight) = (a.level, a.in_flight);
        let builder = std::thread::Builder::new().name("deflate-bench-worker".to_owned());
        workers.push(
            builder
                .spawn(move || -> Result<(), String> {
                    let mut compressor = BlockCompressor::new(level).map_err(|e| e.to_string())?;
                    let mut input = Vec::new();
                    loop {
                        // Cancel is checked before every block: at most 1 MiB of input apart.
                        if cancel.load(Ordering::Relaxed) {
                            return Ok(());
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            return Ok(());
                        }
                        {
                            let mut written = window.written.lock().map_err(|e| e.to_string())?;
                            while i >= *written + in_flight {
                                written = window.moved.wait(written).map_err(|e| e.to_string())?;
                            }
                        }
                        let dict_len =
                            read_block(&file, &plan, i, &mut input).map_err(|e| e.to_string())?;
                        let (dict, data) = input.split_at(dict_len);
                        let mut out = free_rx.try_recv().unwrap_or_default();
                        let t = Instant::now();
                        let summary = compressor
                            .compress_block(level, dict, data, plan.end(i), &mut out)
                            .map_err(|e| e.to_string())?;
                        let ns = t.elapsed().as_nanos() as u64;
                        let which = usize::from(summary.stored);
                        stats[which].0.fetch_add(1, Ordering::Relaxed);
                        stats[which].1.fetch_add(ns, Ordering::Relaxed);
                        if done_tx.send((i, summary, out)).is_err() {
                            return Ok(());
                        }
                    }
                })
                .map_err(|e| e.to_string())?,
        );
    }
    drop(done_tx);
    let name = a
        .file
        .file_name()
        .map_or("data".into(), |n| n.to_string_lossy().into_owned());
    let large = needs_zip64(len);
    let mut ready: BTreeMap<u64, (BlockSummary, Vec<u8>)> = BTreeMap::new();
    // The blocks in order, each handed back to the pool once written.
    let mut in_order = |want: u64| -> Result<(BlockSummary, Vec<u8>), String> {
        loop {
            if let Some(found) = ready.remove(&want) {
                return Ok(found);
            }
            let (i, s, out) = done_rx.recv().map_err(|e| e.to_string())?;
            ready.insert(i, (s, out));
        }
    };
    let written = |want: u64, out: Vec<u8>| -> Result<(), String> {
        let _ = free_tx.send(out);
        *window.written.lock().map_err(|e| e.to_string())? = want + 1;
        window.moved.notify_all();
        Ok(())
    };
    let file_out = File::create(archive).map_err(|e| e.to_string())?;
    let result = (|| -> Result<(), String> {
        let mut w = ArchiveWriter::new(file_out).map_err(|e| e.to_string())?;
        let meta = EntryMeta {
            name: name.as_bytes(),
            dos_date: 0x21,
            dos_time: 0,
            unix_mtime: None,
            unix_mode: 0o100_644,
        };
        w.start_entry(&meta, Method::Deflated, large)
            .map_err(|e| e.to_string())?;
        let mut seq = BlockSequence::new();
        for want in 0..count {
            let (s, out) = in_order(want)?;
            seq.push(&s).map_err(|e| e.to_string())?;
            w.append(&out).map_err(|e| e.to_string())?;
            written(want, out)?;
        }
        w.finish_entry(seq.crc32(), seq.uncompressed_bytes())
            .map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
        Ok(())
    })();
    if result.is_err() {
        cancel.store(true, Ordering::Relaxed);
        *window.written.lock().map_err(|e| e.to_string())? = u64::MAX / 2;
        window.moved.notify_all();
    }
    for w in workers {
        w.join().map_err(|_| "worker panicked".to_string())??;
    }
    result?;
    let [deflated, stored] = &*stats;
    let ms = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / 1e6;
    eprintln!(
        "  blocks: {} deflated ({:.0} ms compressing), {} stored ({:.0} ms compressing)",
        deflated.0.load(Ordering::Relaxed),
        ms(&deflated.1),
        stored.0.load(Ordering::Relaxed),
        ms(&stored.1)
    );
    Ok(std::fs::metadata(archive).map_err(|e| e.to_string())?.len())
}

/// Runs pigz; returns its output size and peak RSS (polled from /proc every 10 ms: getrusage's
/// figure for children includes this process's own RSS at the time of the spawn).
fn pigz(a: &Args, out: &Path) -> Result<(u64, u64), String> {
    let mut child = Command::new("pigz")
        .arg(format!("-{}", a.level))
        .arg(format!("-p{}", a.threads))
        .arg("-c")
        .arg(&a.file)
        .stdout(Stdio::from(File::create(out).map_err(|e| e.to_string())?))
        .spawn()
        .map_err(|e| format!("pigz: {e}"))?;
    let pid = child.id().to_string();
    let mut peak = 0;
    let status = loop {
        peak = peak.max(vm_hwm_bytes_of(&pid));
        if let Some(status) = child.try_wait().map_err(|e| format!("pigz: {e}"))? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if !status.success() {
        return Err(format!("pigz: {status}"));
    }
    Ok((
        std::fs::metadata(out).map_err(|e| e.to_string())?.len(),
        peak,
    ))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    shrinkwrap::tune_allocator();
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let archive = a.out.join("deflate_bench.zip");
    let gz = a.out.join("deflate_bench.gz");
    let (mut our_s, mut pigz_s) = (Vec::new(), Vec::new());
    let (mut our_cpu, mut pigz_cpu) = (Vec::new(), Vec::new());
    let (mut our_size, mut pigz_size, mut our_rss, mut pigz_rss) = (0, 0, 0, 0);
    println!(
        "file {} ({} bytes), {} threads, level {}, blocks of {} KiB, {} in flight",
        a.file.display(),
        std::fs::metadata(&a.file).map_or(0, |m| m.len()),
        a.threads,
        a.level,
        a.block_bytes / 1024,
        a.in_flight,
    );
    for round in 0..a.rounds {
        reset_peak_rss();
        let cpu = cpu_seconds(libc::RUSAGE_SELF);
        let t = Instant::now();
        match ours(&a, &archive) {
            Ok(size) => our_size = size,
            Err(e) => {
                eprintln!("ours: {e}");
                std::process::exit(1);
            }
        }
        let s = t.elapsed().as_secs_f64();
        let c = cpu_seconds(libc::RUSAGE_SELF) - cpu;
        our_rss = our_rss.max(vm_hwm_bytes());
        our_s.push(s);
        our_cpu.push(c);
        print!(
            "round {round}: ours {s:.2} s ({c:.2} s CPU), {our_size} B, peak {} MiB",
            vm_hwm_bytes() >> 20
        );
        if a.pigz {
            let cpu = cpu_seconds(libc::RUSAGE_CHILDREN);
            let t = Instant::now();
            match pigz(&a, &gz) {
                Ok((size, rss)) => {
                    pigz_size = size;
                    pigz_rss = pigz_rss.max(rss);
                }
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            }
            let s = t.elapsed().as_secs_f64();
            let c = cpu_seconds(libc::RUSAGE_CHILDREN) - cpu;
            pigz_s.push(s);
            pigz_cpu.push(c);
            print!("; pigz {s:.2} s ({c:.2} s CPU), {pigz_size} B");
        }
        println!();
        std::thread::sleep(Duration::from_millis(200));
    }
    let (ours_median, ours_cpu) = (median(our_s), median(our_cpu));
    println!(
        "ours: median {ours_median:.2} s wall, {ours_cpu:.2} s CPU, {our_size} B, peak RSS {:.1} MiB",
        our_rss as f64 / 1048576.0,
    );
    if a.pigz {
        let (pigz_median, pigz_cpu) = (median(pigz_s), median(pigz_cpu));
        println!(
            "pigz -{} -p{}: median {pigz_median:.2} s wall, {pigz_cpu:.2} s CPU, {pigz_size} B, peak RSS {:.1} MiB",
            a.level,
            a.threads,
            pigz_rss as f64 / 1048576.0
        );
        println!(
            "wall pigz/ours {:.2}x; CPU pigz/ours {:.2}x; size ours/pigz {:.4}x",
            pigz_median / ours_median,
            pigz_cpu / ours_cpu,
            our_size as f64 / pigz_size as f64
        );
    }
}
