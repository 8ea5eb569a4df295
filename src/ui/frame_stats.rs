//! Frame timing for measurements: with `SHRINKWRAP_FRAME_STATS=<FILE>` each frame appends
//! `<seconds since start, when the frame began> <milliseconds the frame code took>` to FILE.
//!
//! Owns: the `shrinkwrap-frame-stats` writer thread and the bounded channel to it. The frame only
//! does a `try_send` (a sample is dropped, and counted, if the writer falls behind).
//! Must not touch: the frame code's thread with any I/O.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

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
    samples: flume::Sender<FrameSample>,
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
        let (samples, rx) = flume::bounded::<FrameSample>(FRAME_STATS_CHANNEL_CAPACITY);
        let spawned = std::thread::Builder::new()
            .name("shrinkwrap-frame-stats".to_owned())
            .spawn(move || write_samples(&path, &rx));
        if let Err(err) = spawned {
            eprintln!("shrinkwrap: could not start the frame stats writer: {err}");
        }
        FrameStats {
            samples,
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
        if self.samples.try_send(sample).is_err() {
            self.dropped_samples += 1;
        }
    }

    pub fn dropped_samples(&self) -> u64 {
        self.dropped_samples
    }
}

fn write_samples(path: &std::path::Path, rx: &flume::Receiver<FrameSample>) {
    let file = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        Ok(f) => f,
        Err(err) => {
            eprintln!(
                "shrinkwrap: cannot write frame stats to {}: {err}",
                path.display()
            );
            return;
        }
    };
    let mut out = std::io::BufWriter::new(file);
    // Block for a sample, then take whatever else is queued, then flush: the file is current
    // whenever the window is idle, and the writer does one write per burst.
    while let Ok(sample) = rx.recv() {
        let mut result = writeln!(out, "{:.6} {:.3}", sample.began_secs, sample.frame_code_ms);
        while let Ok(sample) = rx.try_recv() {
            result = result.and_then(|()| {
                writeln!(out, "{:.6} {:.3}", sample.began_secs, sample.frame_code_ms)
            });
        }
        if let Err(err) = result.and_then(|()| out.flush()) {
            eprintln!("shrinkwrap: frame stats: {err}");
            return;
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
