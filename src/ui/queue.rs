//! The job queue as the window shows it: one row per submitted job, newest last, kept after the
//! job ends until "Clear finished".
//!
//! Owns: [`Queue`] and [`JobRow`] (latest progress, final report, thumbnail strip textures),
//! applying engine events to them, and the overall progress for the window title.
//! Must not touch: the engine's scheduling (rows only mirror what the engine reports), the file
//! system, drawing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui;

use crate::engine::{
    JobError, JobEvent, JobId, JobKind, JobReport, JobSpec, JobState, Plan, Progress,
};

/// How many thumbnails a finished thumbnail job shows in its strip.
pub const STRIP_MAX_THUMBNAILS: usize = 24;

/// The thumbnails shown under a finished thumbnail job.
#[derive(Default)]
pub struct ThumbStrip {
    pub textures: Vec<egui::TextureHandle>,
    /// Thumbnails asked from the loader and not back yet.
    pub pending: usize,
    /// Thumbnails made but not shown (beyond [`STRIP_MAX_THUMBNAILS`] or undecodable).
    pub not_shown: usize,
}

pub struct JobRow {
    pub id: JobId,
    /// What was submitted (to compare with what Start would submit, and to resubmit it).
    pub spec: JobSpec,
    pub kind: JobKind,
    pub name: String,
    /// The archive, or the thumbnails' folder.
    pub output: PathBuf,
    pub progress: Progress,
    /// Every output of the job, once planned.
    pub plan: Option<Arc<Plan>>,
    pub report: Option<JobReport>,
    pub strip: ThumbStrip,
}

impl JobRow {
    pub fn new(id: JobId, spec: &JobSpec) -> JobRow {
        let progress = Progress::queued(id, spec.kind(), spec.display_name());
        JobRow {
            id,
            spec: spec.clone(),
            kind: spec.kind(),
            name: spec.display_name(),
            output: spec.output_path().to_path_buf(),
            progress,
            plan: None,
            report: None,
            strip: ThumbStrip::default(),
        }
    }

    pub fn state(&self) -> JobState {
        self.progress.state
    }

    pub fn is_finished(&self) -> bool {
        self.report.is_some()
    }

    /// The folder "Open folder" shows: the archive's folder, or the thumbnails' folder.
    pub fn folder_to_open(&self) -> &Path {
        match self.kind {
            JobKind::Zip => self
                .output
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
            JobKind::Thumbs => &self.output,
        }
    }

    /// The outcome line of a finished job: "done", "done with 1 error", "failed: ...", "cancelled".
    pub fn outcome(&self) -> Option<String> {
        self.report.as_ref().map(JobReport::summary)
    }

    /// The archive that already existed, when the job failed for that reason (the window then
    /// offers Replace and Keep both).
    pub fn existing_archive(&self) -> Option<&Path> {
        match self.report.as_ref()?.failure.as_ref()?.error() {
            JobError::DestinationExists { path } => Some(path),
            _ => None,
        }
    }

    /// Output size over input size for a finished archive (e.g. 0.42).
    pub fn compression_ratio(&self) -> Option<f64> {
        let report = self.report.as_ref()?;
        (self.kind == JobKind::Zip && report.progress.bytes_total > 0 && report.output_bytes > 0)
            .then(|| report.output_bytes as f64 / report.progress.bytes_total as f64)
    }
}

/// All rows, oldest first.
#[derive(Default)]
pub struct Queue {
    rows: Vec<JobRow>,
    selected: Option<JobId>,
    /// Changes when a row is added or removed or a job ends.
    generation: u64,
}

impl Queue {
    pub fn rows(&self) -> &[JobRow] {
        &self.rows
    }

    pub fn rows_mut(&mut self) -> &mut [JobRow] {
        &mut self.rows
    }

    pub fn row(&self, id: JobId) -> Option<&JobRow> {
        self.rows.iter().find(|r| r.id == id)
    }

    pub fn row_mut(&mut self, id: JobId) -> Option<&mut JobRow> {
        self.rows.iter_mut().find(|r| r.id == id)
    }

    pub fn push(&mut self, id: JobId, spec: &JobSpec) {
        self.rows.push(JobRow::new(id, spec));
        self.generation += 1;
    }

    /// Removes one row (a failed job that was submitted again).
    pub fn remove(&mut self, id: JobId) {
        self.rows.retain(|r| r.id != id);
        if self.selected == Some(id) {
            self.selected = None;
        }
        self.generation += 1;
    }

    /// A number that changes whenever rows are added or removed or a job ends.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The queued or running job that does exactly `spec`, if any.
    pub fn active_with_spec(&self, spec: &JobSpec) -> Option<JobId> {
        self.rows
            .iter()
            .find(|r| !r.is_finished() && r.spec == *spec)
            .map(|r| r.id)
    }

    pub fn selected(&self) -> Option<JobId> {
        self.selected
    }

    pub fn select(&mut self, id: Option<JobId>) {
        self.selected = id;
    }

    /// Applies one engine event. Returns the report when it is a job's final event.
    pub fn apply(&mut self, event: JobEvent) -> Option<&JobRow> {
        match event {
            JobEvent::Progress(progress) => {
                if let Some(row) = self.row_mut(progress.job).filter(|r| !r.is_finished()) {
                    row.progress = progress;
                }
                None
            }
            JobEvent::Plan(plan) => {
                if let Some(row) = self.row_mut(plan.job) {
                    row.name = plan.name.clone();
                    row.output = plan.destination.clone();
                    row.plan = Some(plan);
                }
                None
            }
            JobEvent::Finished(report) => {
                let id = report.progress.job;
                self.generation += 1;
                let row = self.row_mut(id)?;
                row.progress = report.progress.clone();
                row.report = Some(report);
                Some(row)
            }
        }
    }

    /// Whether any job is queued or running (as far as the events received so far tell).
    pub fn any_active(&self) -> bool {
        self.rows.iter().any(|r| !r.is_finished())
    }

    pub fn active_count(&self) -> usize {
        self.rows.iter().filter(|r| !r.is_finished()).count()
    }

    pub fn finished_count(&self) -> usize {
        self.rows.iter().filter(|r| r.is_finished()).count()
    }

    /// Removes the rows of finished jobs.
    pub fn clear_finished(&mut self) {
        self.rows.retain(|r| !r.is_finished());
        self.generation += 1;
        if self.selected.is_some_and(|id| self.row(id).is_none()) {
            self.selected = None;
        }
    }

    /// Progress of the running and queued jobs together, 0.0 to 1.0 (by bytes where known), or
    /// `None` when nothing runs.
    pub fn overall_fraction(&self) -> Option<f32> {
        let active: Vec<&JobRow> = self.rows.iter().filter(|r| !r.is_finished()).collect();
        if active.is_empty() {
            return None;
        }
        let (done, total) = active.iter().fold((0u64, 0u64), |(d, t), r| {
            (d + r.progress.bytes_done, t + r.progress.bytes_total)
        });
        if total > 0 && active.iter().all(|r| r.progress.bytes_total > 0) {
            Some((done as f64 / total as f64).clamp(0.0, 1.0) as f32)
        } else {
            Some(active.iter().map(|r| r.progress.fraction()).sum::<f32>() / active.len() as f32)
        }
    }

    /// The window title: "Shrinkwrap" when idle, "42 % · 2 jobs — Shrinkwrap" while jobs run.
    pub fn window_title(&self) -> String {
        match self.overall_fraction() {
            None => "Shrinkwrap".to_owned(),
            Some(fraction) => {
                let jobs = self.active_count();
                let percent = super::format::percent(fraction, false);
                if jobs == 1 {
                    format!("{percent} · 1 job — Shrinkwrap")
                } else {
                    format!("{percent} · {jobs} jobs — Shrinkwrap")
                }
            }
        }
    }

    /// The exit status a script gets with `--quit-when-done`, like the command line's: 0 all
    /// done, 1 done with per-file errors, 2 a job failed, 130 a job was cancelled.
    pub fn exit_status(&self) -> u8 {
        crate::engine::exit_status(
            self.rows
                .iter()
                .filter_map(|r| r.report.as_ref().map(|rep| rep.outcome)),
            false,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{JobOutcome, ZipSpec};

    fn spec(name: &str) -> JobSpec {
        JobSpec::Zip(ZipSpec::new(
            vec![PathBuf::from("/in")],
            PathBuf::from(format!("/out/{name}.zip")),
        ))
    }

    fn progress(row: &JobRow, state: JobState, done: u64, total: u64) -> Progress {
        Progress {
            state,
            bytes_done: done,
            bytes_total: total,
            ..row.progress.clone()
        }
    }

    #[test]
    fn events_update_rows_and_title() {
        let mut queue = Queue::default();
        queue.push(JobId(1), &spec("a"));
        queue.push(JobId(2), &spec("b"));
        assert_eq!(queue.rows()[1].name, "b.zip");
        let p1 = progress(&queue.rows()[0], JobState::Running, 50, 100);
        let p2 = progress(&queue.rows()[1], JobState::Running, 0, 100);
        queue.apply(JobEvent::Progress(p1));
        queue.apply(JobEvent::Progress(p2.clone()));
        assert_eq!(queue.window_title(), "25 % · 2 jobs — Shrinkwrap");
        let report = JobReport {
            progress: Progress {
                state: JobState::Done,
                bytes_done: 100,
                ..p2
            },
            outcome: JobOutcome::Done,
            dry_run: false,
            failure: None,
            problems: Vec::new(),
            warnings: Vec::new(),
            outputs: vec![PathBuf::from("b/x.txt")],
            archive: Some(PathBuf::from("/out/b.zip")),
            output_bytes: 40,
        };
        assert!(queue.apply(JobEvent::Finished(report)).is_some());
        assert_eq!(queue.rows()[1].outcome().as_deref(), Some("done"));
        assert_eq!(queue.rows()[1].compression_ratio(), Some(0.4));
        assert_eq!(queue.rows()[1].folder_to_open(), Path::new("/out"));
        assert_eq!(queue.window_title(), "50 % · 1 job — Shrinkwrap");
        queue.clear_finished();
        assert_eq!(queue.rows().len(), 1);
        assert!(queue.any_active());
    }

    #[test]
    fn late_progress_does_not_undo_the_end() {
        let mut queue = Queue::default();
        queue.push(JobId(1), &spec("a"));
        let row = &queue.rows()[0];
        let running = progress(row, JobState::Running, 5, 10);
        let report = JobReport {
            progress: progress(row, JobState::Cancelled, 5, 10),
            outcome: JobOutcome::Cancelled,
            dry_run: false,
            failure: None,
            problems: Vec::new(),
            warnings: Vec::new(),
            outputs: Vec::new(),
            archive: None,
            output_bytes: 0,
        };
        queue.apply(JobEvent::Finished(report));
        queue.apply(JobEvent::Progress(running));
        assert_eq!(queue.rows()[0].state(), JobState::Cancelled);
        assert_eq!(queue.exit_status(), 130);
        assert_eq!(queue.window_title(), "Shrinkwrap");
    }
}
