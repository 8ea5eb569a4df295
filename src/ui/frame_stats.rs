//! Frame timing for measurements: with `SHRINKWRAP_FRAME_STATS=<FILE>` each frame appends
//! `<seconds since start, when the frame began> <milliseconds the frame code took>` to FILE.
//!
//! Owns: the `shrinkwrap-frame-stats` helper thread that writes the samples. The frame only does
//! a `try_send` (a sample is dropped, and counted, if the writer falls behind).
//! Must not touch: the frame code's thread with any I/O.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use super::helper::{Helper, Reply, Work};

/// The environment variable naming the stats file.
pub const FRAME_STATS_ENV: &str = "SHRINKWRAP_FRAME_STATS";
/// Samples that may wait for the writer.
const FRAME_STATS_CHANNEL_CAPACITY: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct FrameSample {
    began_secs: f64,
    frame_code_ms: f64,
}

/// Records frame samples through the writer thread.
pub struct FrameStats {
    writer: Option<Helper<SampleWriter>>,
    started: Instant,
    dropped_samples: u64,
}

impl FrameStats {
    /// The recorder asked for by `SHRINKWRAP_FRAME_STATS`, if any.
    pub fn from_env(started: Instant) -> Option<FrameStats> {
        let path = std::env::var_os(FRAME_STATS_ENV).filter(|p| !p.is_empty())?;
        Some(FrameStats::start(PathBuf::from(path), started))
    }

    /// Starts the writer thread; the file is opened (for appending) on that thread.
    pub fn start(path: PathBuf, started: Instant) -> FrameStats {
        let work = SampleWriter {
            path,
            out: None,
            failed: false,
        };
        let writer = Helper::start(
            "shrinkwrap-frame-stats",
            FRAME_STATS_CHANNEL_CAPACITY,
            std::sync::Arc::new(|| {}),
            work,
        )
        .map_err(|err| eprintln!("shrinkwrap: could not start the frame stats writer: {err}"))
        .ok();
        FrameStats {
            writer,
            started,
            dropped_samples: 0,
        }
    }

    /// Queues one frame's sample (never blocks).
    pub fn record(&mut self, frame_began: Instant, frame_code_ms: f64) {
        let sample = FrameSample {
            began_secs: frame_began
                .saturating_duration_since(self.started)
                .as_secs_f64(),
            frame_code_ms,
        };
        let sent = self
            .writer
            .as_ref()
            .is_some_and(|w| w.try_send(sample).is_ok());
        if !sent {
            self.dropped_samples += 1;
        }
    }

    pub fn dropped_samples(&self) -> u64 {
        self.dropped_samples
    }
}

/// Appends samples to the file on the helper thread: one line each, flushed when no sample
/// waits (one write per burst; the file is current whenever the window is idle).
struct SampleWriter {
    path: PathBuf,
    /// Opened at the first sample (on the helper thread).
    out: Option<std::io::BufWriter<std::fs::File>>,
    /// The file could not be opened or written: samples are dropped.
    failed: bool,
}

impl SampleWriter {
    fn fail(&mut self, what: &str, err: impl std::fmt::Display) {
        eprintln!(
            "shrinkwrap: cannot {what} frame stats to {}: {err}",
            self.path.display()
        );
        self.failed = true;
        self.out = None;
    }
}

impl Work for SampleWriter {
    type Request = FrameSample;
    type Result = ();

    fn run(&mut self, sample: &FrameSample, _: &Reply<()>) {
        if self.failed {
            return;
        }
        if self.out.is_none() {
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
            {
                Ok(file) => self.out = Some(std::io::BufWriter::new(file)),
                Err(err) => return self.fail("write", err),
            }
        }
        if let Some(out) = &mut self.out
            && let Err(err) = writeln!(out, "{:.6} {:.3}", sample.began_secs, sample.frame_code_ms)
        {
            self.fail("write", err);
        }
    }

    fn panicked(&mut self, _: &FrameSample, message: &str, _: &Reply<()>) {
        self.fail("write", message);
    }

    fn idle(&mut self) {
        if let Some(out) = &mut self.out
            && let Err(err) = out.flush()
        {
            self.fail("flush", err);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_line_per_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frames.txt");
        let started = Instant::now();
        let mut stats = FrameStats::start(path.clone(), started);
        stats.record(started, 1.5);
        stats.record(started + std::time::Duration::from_millis(16), 2.25);
        drop(stats);
        // The writer ends once the sender is gone; wait for the file to have both lines.
        let mut text = String::new();
        for _ in 0..500 {
            text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.lines().count() == 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines, vec!["0.000000 1.500", "0.016000 2.250"]);
    }
}
