//! Terminal progress: one indicatif bar per job on stderr, drawn only when stderr is a
//! terminal (the caller decides), at most 15 times a second.
//!
//! Must not touch: the event loop and the exit status (`run`), stdout (the plan and `--json`
//! go there).

use std::collections::HashMap;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::{JobId, JobState, Progress};

/// A byte count for people ("1.20 MiB").
pub(super) fn human_bytes(bytes: f64) -> String {
    indicatif::HumanBytes(bytes.max(0.0) as u64).to_string()
}

/// One bar per job.
pub(super) struct Bars {
    multi: MultiProgress,
    bars: HashMap<JobId, ProgressBar>,
}

impl Bars {
    pub fn new() -> Self {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(15)),
            bars: HashMap::new(),
        }
    }

    fn bar(&mut self, id: JobId, name: &str) -> &ProgressBar {
        self.bars.entry(id).or_insert_with(|| {
            let style = ProgressStyle::with_template(
                "{prefix:.bold} {bar:30.cyan/blue} {percent:>3}% {bytes}/{total_bytes} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("█▉▊▋▌▍▎▏ ");
            let bar = self.multi.add(ProgressBar::new(0).with_style(style));
            bar.set_prefix(name.to_owned());
            bar
        })
    }

    /// Shows a job's latest progress.
    pub fn show(&mut self, p: &Progress) {
        let bar = self.bar(p.job, &p.name);
        bar.set_length(p.bytes_total);
        bar.set_position(p.bytes_done);
        let eta = p
            .eta
            .map(|d| format!(" ETA {}", indicatif::HumanDuration(d)))
            .unwrap_or_default();
        let what = match p.state {
            JobState::Scanning => format!("scanning… {} items", p.items_total),
            JobState::Planning => format!("planning {} items…", p.items_total),
            _ => format!(
                "{}/{} items {}/s{eta} {}",
                p.items_done,
                p.items_total,
                human_bytes(p.bytes_per_sec),
                p.current_item.as_deref().unwrap_or("")
            ),
        };
        bar.set_message(what);
    }

    /// Prints a line above the bars (without tearing them).
    pub fn println(&self, line: String) {
        let _ = self.multi.println(line);
    }

    /// Removes the bar of a job that ended.
    pub fn finish(&mut self, id: JobId) {
        if let Some(bar) = self.bars.remove(&id) {
            bar.finish_and_clear();
        }
    }

    /// Removes every bar, before the reports are printed.
    pub fn clear(self) {
        let _ = self.multi.clear();
    }
}
