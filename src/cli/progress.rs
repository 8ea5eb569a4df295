//! Terminal progress: one indicatif bar per job on stderr, drawn only when stderr is a
//! terminal (the caller decides), at most 15 times a second. Each line fits the terminal's
//! width (the message is cut, never wrapped); while a job scans or plans, a spinner with the
//! count found so far stands in for the bar (no "100% 0 B/0 B" before the total is known).
//! Figures use the window's units and separators (`crate::format`).
//!
//! Must not touch: the event loop and the exit status (`run`), stdout (the plan and `--json`
//! go there).

use std::collections::HashMap;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::{Counts, JobId, JobState, Progress};
use crate::format;

/// A byte count for people ("1.20 MB"), in the window's units.
pub(super) fn human_bytes(bytes: f64) -> String {
    format::bytes(bytes.max(0.0) as u64)
}

/// A job whose totals are still being counted: a spinner and the message.
const COUNTING_TEMPLATE: &str = "{prefix:.bold} {spinner} {wide_msg}";
/// A job with a known total: the bar and the message (cut to the terminal's width).
const RUNNING_TEMPLATE: &str = "{prefix:.bold} {bar:20.cyan/blue} {wide_msg}";
/// The longest job name shown before the bar (the rest of the line is the job's figures).
const NAME_CHARS: usize = 20;

/// One bar per job.
pub(super) struct Bars {
    multi: MultiProgress,
    bars: HashMap<JobId, (ProgressBar, bool)>,
    counting: ProgressStyle,
    running: ProgressStyle,
}

impl Bars {
    pub fn new() -> Self {
        Self::with_target(ProgressDrawTarget::stderr_with_hz(15))
    }

    /// Bars drawn on `target` (a test's recording terminal).
    fn with_target(target: ProgressDrawTarget) -> Self {
        let counting = ProgressStyle::with_template(COUNTING_TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let running = ProgressStyle::with_template(RUNNING_TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("█▉▊▋▌▍▎▏ ");
        Bars {
            multi: MultiProgress::with_draw_target(target),
            bars: HashMap::new(),
            counting,
            running,
        }
    }

    /// Shows a job's latest progress.
    pub fn show(&mut self, p: &Progress) {
        let counting = matches!(
            p.state,
            JobState::Queued | JobState::Scanning | JobState::Planning
        ) || (p.bytes_total == 0 && p.items_total == 0);
        let (bar, shows_counting) = self.bars.entry(p.job).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(0));
            bar.set_style(self.counting.clone());
            bar.set_prefix(short_name(&p.name));
            (bar, true)
        });
        if counting != *shows_counting {
            bar.set_style(if counting {
                self.counting.clone()
            } else {
                self.running.clone()
            });
            *shows_counting = counting;
        }
        let (done, total) = match p.kind.counts {
            Counts::Items => (p.items_done, p.items_total),
            Counts::Bytes => (p.bytes_done, p.bytes_total),
        };
        bar.set_length(total);
        bar.set_position(done.min(total));
        bar.set_message(message(p));
    }

    /// Prints a line above the bars (without tearing them).
    pub fn println(&self, line: String) {
        let _ = self.multi.println(line);
    }

    /// Removes the bar of a job that ended.
    pub fn finish(&mut self, id: JobId) {
        if let Some((bar, _)) = self.bars.remove(&id) {
            bar.finish_and_clear();
        }
    }

    /// Removes every bar, before the reports are printed.
    pub fn clear(self) {
        let _ = self.multi.clear();
    }
}

/// A job's name, cut to [`NAME_CHARS`] (keeping its end, which tells names apart).
fn short_name(name: &str) -> String {
    let chars = name.chars().count();
    if chars <= NAME_CHARS {
        return name.to_owned();
    }
    let tail: String = name.chars().skip(chars - (NAME_CHARS - 1)).collect();
    format!("…{tail}")
}

/// What follows the bar: "scanning… 1,204 images found", or "42 % · 12 of 200 images · 30.0 MB
/// of 1.20 GB · 12.4 MB/s · 5 s left · current item".
fn message(p: &Progress) -> String {
    let (one, many) = p.kind.item_noun;
    let noun = |n: u64| if n == 1 { one } else { many };
    match p.state {
        JobState::Queued => "waiting…".to_owned(),
        JobState::Scanning => format!(
            "scanning… {} {} found",
            format::count(p.items_total),
            noun(p.items_total)
        ),
        JobState::Planning => format!(
            "planning {} {}…",
            format::count(p.items_total),
            noun(p.items_total)
        ),
        _ => {
            let fraction = match p.kind.counts {
                Counts::Items if p.items_total > 0 => p.items_done as f32 / p.items_total as f32,
                Counts::Bytes if p.bytes_total > 0 => p.bytes_done as f32 / p.bytes_total as f32,
                _ => 0.0,
            };
            let mut parts = vec![
                format::percent(fraction, p.state.is_final()),
                format!(
                    "{} of {} {}",
                    format::count(p.items_done),
                    format::count(p.items_total),
                    noun(p.items_total)
                ),
            ];
            match p.kind.counts {
                Counts::Items => parts.push(format::rate(p.items_per_sec, many)),
                Counts::Bytes => {
                    parts.push(format!(
                        "{} of {}",
                        format::bytes(p.bytes_done),
                        format::bytes(p.bytes_total)
                    ));
                    parts.push(format::speed(p.bytes_per_sec));
                }
            }
            if p.state == JobState::Paused {
                parts.push("paused".to_owned());
            } else if let Some(eta) = p.eta {
                parts.push(format::eta(eta));
            }
            if let Some(item) = &p.current_item {
                parts.push(item.clone());
            }
            parts.join(" · ")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use indicatif::TermLike;

    use super::*;
    use crate::engine::JobId;

    /// A terminal of a given width that records every line drawn on it.
    #[derive(Debug, Clone)]
    struct Recorder {
        width: u16,
        lines: Arc<Mutex<Vec<String>>>,
    }

    impl TermLike for Recorder {
        fn width(&self) -> u16 {
            self.width
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.lines.lock().unwrap().push(s.to_owned());
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            if !s.is_empty() {
                self.lines.lock().unwrap().push(s.to_owned());
            }
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn progress(state: JobState) -> Progress {
        let mut p = Progress::queued(
            JobId(7),
            crate::engine::kinds::zip::KIND,
            "a-rather-long-archive-name-for-the-holidays.zip".to_owned(),
        );
        p.state = state;
        p
    }

    /// `line` without its terminal escape sequences (colours).
    fn without_escapes(line: &str) -> String {
        let mut out = String::with_capacity(line.len());
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                // CSI: ESC [ parameters, ended by a letter.
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// The visible text of the lines drawn (colour codes removed).
    fn drawn(lines: &Mutex<Vec<String>>) -> Vec<String> {
        lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| without_escapes(l))
            .filter(|l| !l.trim().is_empty())
            .collect()
    }

    #[test]
    fn scanning_shows_no_empty_bar_and_every_line_fits_the_terminal() {
        for width in [100u16, 60] {
            let lines = Arc::new(Mutex::new(Vec::new()));
            let term = Recorder {
                width,
                lines: lines.clone(),
            };
            let mut bars = Bars::with_target(ProgressDrawTarget::term_like(Box::new(term)));
            let mut p = progress(JobState::Scanning);
            p.items_total = 12_345;
            bars.show(&p);
            bars.println("above the bars".to_owned());
            let scanning = drawn(&lines);
            let bar_line = scanning
                .iter()
                .find(|l| l.contains("scanning"))
                .unwrap_or_else(|| panic!("no scanning line in {scanning:?}"));
            assert!(bar_line.contains("12,345 entries found"), "{bar_line}");
            assert!(!bar_line.contains('%'), "{bar_line}");
            assert!(!bar_line.contains("0 B"), "{bar_line}");

            lines.lock().unwrap().clear();
            p.state = JobState::Running;
            p.items_done = 1_200;
            p.bytes_total = 3_000_000_000;
            p.bytes_done = 1_500_000_000;
            p.bytes_per_sec = 25_000_000.0;
            p.current_item = Some("photos/2024/a-very-long-folder-name/IMG_0001.jpg".to_owned());
            bars.show(&p);
            bars.println("again".to_owned());
            let running = drawn(&lines);
            let bar_line = running
                .iter()
                .find(|l| l.contains("50 %"))
                .unwrap_or_else(|| panic!("no progress line in {running:?}"));
            if width >= 100 {
                assert!(bar_line.contains("1,200 of 12,345 entries"), "{bar_line}");
                assert!(bar_line.contains("1.50 GB of 3.00 GB"), "{bar_line}");
            }
            assert!(
                !bar_line.contains("MiB") && !bar_line.contains("GiB"),
                "{bar_line}"
            );
            for line in running.iter().chain(scanning.iter()) {
                assert!(
                    line.chars().count() <= usize::from(width),
                    "wider than the terminal ({width}): {line:?}"
                );
            }
            bars.clear();
        }
    }

    #[test]
    fn the_command_line_uses_the_windows_units() {
        assert_eq!(human_bytes(1_500_000.0), format::bytes(1_500_000));
        assert_eq!(human_bytes(1_500_000.0), "1.50 MB");
    }
}
