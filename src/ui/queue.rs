//! The job queue as the window shows it: one row per submitted job, kept after the job ends
//! until "Clear finished". Jobs not started yet are in the engine's start order (after a move,
//! the rows take the order the engine reports, [`Queue::follow_order`]), the others in the order
//! they were submitted.
//!
//! Owns: [`Queue`] and [`JobRow`] (latest progress, final report, the strip of output images,
//! each source once),
//! applying engine events to them, the words a card and the title use for a job's state and
//! outcome, what Retry failed and Run again submit (as the kind's description allows), and the
//! overall progress for the window title.
//! Must not touch: the engine's scheduling (rows only mirror what the engine reports), the file
//! system, drawing, anything of a particular kind: what differs is a [`CardKind`], handed to
//! [`Queue::new`] by the window's dispatch over kinds, so this module names none.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui;

use crate::engine::{Counts, OutputShape};
use crate::engine::{
    JobError, JobEvent, JobId, JobKind, JobOutcome, JobReport, JobSpec, JobState, PauseReason,
    Plan, ProblemKind, Progress,
};

use super::format;

/// How many output images a finished job shows before "Show all".
pub const STRIP_MAX_THUMBNAILS: usize = 24;

/// One output image of a finished job, as its strip shows it.
#[derive(Default)]
pub enum ThumbSlot {
    /// Not asked from the loader yet (beyond the first ones, until shown).
    #[default]
    NotAsked,
    Loading,
    Shown(egui::TextureHandle),
    /// It could not be decoded (the cause); it can still be opened.
    Failed(String),
}

/// The box an output image was made to fit, in pixels (a square box for one size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageBox {
    pub width_px: u32,
    pub height_px: u32,
}

impl ImageBox {
    /// Larger boxes sort later: by long side, then by area.
    fn order_key(self) -> (u32, u64) {
        (
            self.width_px.max(self.height_px),
            u64::from(self.width_px) * u64::from(self.height_px),
        )
    }

    pub fn is_square(self) -> bool {
        self.width_px == self.height_px
    }
}

/// The images a finished job made (for a kind whose outputs are images): each source once, in
/// the order of the outputs, at the largest size made of it (a job making three sizes of a
/// photo shows the photo once, and names the sizes).
#[derive(Default)]
pub struct ThumbStrip {
    /// One slot per source, same order as `paths`.
    pub slots: Vec<ThumbSlot>,
    /// The image shown for each source.
    pub paths: Vec<PathBuf>,
    /// The boxes made of each source, smallest first (empty when not known).
    pub sizes: Vec<Vec<ImageBox>>,
    /// "Show all": every thumbnail in a scrolling grid (loaded as it scrolls into view).
    pub expanded: bool,
}

impl ThumbStrip {
    /// Thumbnails asked from the loader and not back yet.
    pub fn loading(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s, ThumbSlot::Loading))
            .count()
    }

    /// The strip of `outputs` (a report's), grouped by source through `plan` (its items name
    /// each output's source; a source's items come in the order of `sizes`). Without a plan,
    /// each output stands alone.
    pub fn of_outputs(outputs: &[PathBuf], plan: Option<&Plan>, sizes: &[ImageBox]) -> ThumbStrip {
        let mut source_of: HashMap<&Path, (&Path, Option<ImageBox>)> = HashMap::new();
        if let Some(plan) = plan {
            let mut nth: HashMap<&Path, usize> = HashMap::new();
            for item in &plan.items {
                let Some(output) = item.output.as_deref() else {
                    continue;
                };
                let n = nth.entry(item.input.as_path()).or_default();
                source_of.insert(output, (item.input.as_path(), sizes.get(*n).copied()));
                *n += 1;
            }
        }
        let mut strip = ThumbStrip::default();
        let mut index_of: HashMap<&Path, usize> = HashMap::new();
        // The size of the image shown for each source.
        let mut shown_size: Vec<Option<ImageBox>> = Vec::new();
        for output in outputs {
            let Some(&(source, size)) = source_of.get(output.as_path()) else {
                strip.paths.push(output.clone());
                strip.sizes.push(Vec::new());
                shown_size.push(None);
                continue;
            };
            match index_of.get(source) {
                Some(&i) => {
                    if size.map(ImageBox::order_key) > shown_size[i].map(ImageBox::order_key) {
                        strip.paths[i] = output.clone();
                        shown_size[i] = size;
                    }
                    strip.sizes[i].extend(size);
                }
                None => {
                    index_of.insert(source, strip.paths.len());
                    strip.paths.push(output.clone());
                    strip.sizes.push(size.into_iter().collect());
                    shown_size.push(size);
                }
            }
        }
        for sizes in &mut strip.sizes {
            sizes.sort_by_key(|b| (b.order_key(), b.width_px));
            sizes.dedup();
        }
        strip.slots = strip.paths.iter().map(|_| ThumbSlot::NotAsked).collect();
        strip
    }

    /// Thumbnails shown as images.
    pub fn shown(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s, ThumbSlot::Shown(_)))
            .count()
    }
}

/// What a card says about a job that has not ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveState {
    /// Waiting for its turn (jobs ahead of it take the workers).
    Queued,
    /// Started, but no worker runs it right now.
    WaitingForWorker,
    Scanning,
    Planning,
    Running,
    /// Paused by the person or by a full disk (work in progress parks at its next chunk or
    /// after its image).
    Paused(PauseReason),
}

impl LiveState {
    /// "queued", "waiting for a worker", "paused", "paused: the disk is full (...)".
    pub fn label(&self) -> String {
        match self {
            LiveState::Queued => "queued".to_owned(),
            LiveState::WaitingForWorker => "waiting for a worker".to_owned(),
            LiveState::Scanning => "scanning".to_owned(),
            LiveState::Planning => "planning".to_owned(),
            LiveState::Running => "running".to_owned(),
            LiveState::Paused(reason) => reason.to_string(),
        }
    }

    pub fn is_paused(&self) -> bool {
        matches!(self, LiveState::Paused(_))
    }
}

/// What a card needs from its kind's window parts (the rest comes from the engine's
/// description of the kind, [`JobKind`]).
#[derive(Clone, Copy)]
pub struct CardKind {
    /// A finished card shows the outputs as images (a strip of thumbnails).
    pub output_images: bool,
    /// A job that failed because its destination exists is answered by the kind (on its card
    /// and in its question), not by "Run again": how to go on, for the card's outcome line.
    pub existing_hint: Option<&'static str>,
    /// A finished card's words about its output.
    pub summary: fn(&JobRow, &JobReport) -> Vec<String>,
    /// "Retry failed": a job of just the failed files, with the spec's settings.
    pub retry_failed: fn(&JobSpec, Vec<PathBuf>) -> Option<JobSpec>,
    /// The boxes each source's output images are made to fit, in the order the plan lists
    /// a source's outputs.
    pub image_sizes: fn(&JobSpec) -> Vec<ImageBox>,
}

impl CardKind {
    /// A kind the window has no module for (its jobs can still come back as unfinished
    /// journals): the generic words, nothing the kind would have to answer.
    pub const GENERIC: CardKind = CardKind {
        output_images: false,
        existing_hint: None,
        summary: card_summary,
        retry_failed: |_, _| None,
        image_sizes: |_| Vec::new(),
    };
}

/// A finished card's words about its output for any kind: "archive 1.2 MB, 40 entries" for one
/// file, "12 thumbnails, 340 kB" for a folder of files.
pub fn card_summary(row: &JobRow, report: &JobReport) -> Vec<String> {
    let (one, many) = row.kind.output_noun;
    match row.kind.output {
        OutputShape::OneFile if report.archive.is_some() => vec![
            format!("{} {}", row.kind.noun, format::bytes(report.output_bytes)),
            format::plural(report.progress.items_total, one, many),
        ],
        OutputShape::FolderOfFiles if !report.outputs.is_empty() => vec![format!(
            "{}, {}",
            format::plural(report.outputs.len() as u64, one, many),
            format::bytes(report.output_bytes)
        )],
        _ => Vec::new(),
    }
}

pub struct JobRow {
    pub id: JobId,
    /// What was submitted (to compare with what Start would submit, and to resubmit it).
    pub spec: JobSpec,
    pub kind: JobKind,
    pub name: String,
    /// The one output file, or the outputs' folder.
    pub output: PathBuf,
    pub progress: Progress,
    /// The job has left the queue (a worker took it up); it can no longer be moved.
    pub started: bool,
    /// Every output of the job, once planned.
    pub plan: Option<Arc<Plan>>,
    pub report: Option<JobReport>,
    /// The report's problems in the order the list shows them: errors first, then skipped items.
    pub problem_order: Vec<usize>,
    pub strip: ThumbStrip,
    /// "Keep watching": the card's watch, while it runs (see [`super::watching`]).
    pub watch: Option<super::watching::CardWatch>,
    /// What the card's kind says differs.
    pub card: CardKind,
}

impl JobRow {
    pub fn new(id: JobId, spec: &JobSpec, card: CardKind) -> JobRow {
        let progress = Progress::queued(id, spec.kind(), spec.display_name());
        JobRow {
            card,
            id,
            spec: spec.clone(),
            kind: spec.kind(),
            name: spec.display_name(),
            output: spec.output_path().to_path_buf(),
            progress,
            started: false,
            plan: None,
            report: None,
            problem_order: Vec::new(),
            strip: ThumbStrip::default(),
            watch: None,
        }
    }

    pub fn state(&self) -> JobState {
        self.progress.state
    }

    /// A finished card's words about its output, as its kind says them.
    pub fn card_summary(&self, report: &JobReport) -> Vec<String> {
        (self.card.summary)(self, report)
    }

    pub fn is_finished(&self) -> bool {
        self.report.is_some()
    }

    /// Not started and not ended: it can be moved in the queue.
    pub fn is_waiting_to_start(&self) -> bool {
        !self.started && !self.is_finished()
    }

    /// What the card says while the job has not ended (`None` once it has). True to what the
    /// workers do: a job no worker runs is "queued" or "waiting for a worker", not "running".
    pub fn live_state(&self) -> Option<LiveState> {
        if self.is_finished() {
            return None;
        }
        let p = &self.progress;
        Some(match p.state {
            JobState::Paused => LiveState::Paused(p.paused.clone().unwrap_or(PauseReason::User)),
            _ if !self.started => LiveState::Queued,
            JobState::Scanning | JobState::Planning | JobState::Running if p.workers_busy == 0 => {
                LiveState::WaitingForWorker
            }
            JobState::Scanning => LiveState::Scanning,
            JobState::Planning => LiveState::Planning,
            _ => LiveState::Running,
        })
    }

    /// Whether the job is paused.
    pub fn is_paused(&self) -> bool {
        !self.is_finished() && self.progress.state == JobState::Paused
    }

    /// The folder "Open folder" shows: the output file's folder, or the outputs' folder.
    pub fn folder_to_open(&self) -> &Path {
        match self.kind.output {
            OutputShape::OneFile => self
                .output
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
            OutputShape::FolderOfFiles => &self.output,
        }
    }

    /// A finished job that completed without error but put nothing in place (every input
    /// skipped, or every thumbnail already up to date): not a green "done".
    pub fn made_nothing(&self) -> bool {
        self.report.as_ref().is_some_and(|r| {
            r.outcome == JobOutcome::Done
                && !r.dry_run
                && r.outputs.is_empty()
                && r.archive.is_none()
        })
    }

    /// The outcome line of a finished job: "done", "done with 1 error", "failed: ...",
    /// "cancelled", "stopped: 3 of 10", "nothing made (4 skipped)".
    pub fn outcome(&self) -> Option<String> {
        self.outcome_words()
    }

    /// See [`JobRow::outcome`].
    pub fn outcome_words(&self) -> Option<String> {
        let report = self.report.as_ref()?;
        if self.made_nothing() {
            let skipped = report.progress.skipped;
            return Some(if skipped > 0 {
                format!("nothing made ({skipped} skipped)")
            } else {
                "nothing made".to_owned()
            });
        }
        if self.existing_destination().is_some()
            && let Some(hint) = self.card.existing_hint
        {
            // The engine says what went wrong; the kind says how to go on (its card offers the
            // answers).
            return Some(format!("{} ({hint})", report.summary()));
        }
        Some(report.summary())
    }

    /// The destination that already existed, when the job failed for that reason.
    pub fn existing_destination(&self) -> Option<&Path> {
        match self.report.as_ref()?.failure.as_ref()?.error() {
            JobError::DestinationExists { path } => Some(path),
            _ => None,
        }
    }

    /// The files that failed (problems of kind error that name a file).
    pub fn failed_files(&self) -> Vec<PathBuf> {
        self.report
            .iter()
            .flat_map(|r| &r.problems)
            .filter(|p| p.kind == ProblemKind::Error && !p.path.as_os_str().is_empty())
            .map(|p| p.path.clone())
            .collect()
    }

    /// "Retry failed": a job of a kind that can redo only its failed items, finished with some,
    /// gets a new job of just those, same inputs and settings (so every output keeps its path).
    pub fn retry_spec(&self) -> Option<JobSpec> {
        let report = self.report.as_ref()?;
        // A chained job's inputs were another job's outputs: the card does not know them.
        if self.spec.inputs().is_empty() {
            return None;
        }
        if !self.kind.can_retry_failed || report.outcome != JobOutcome::DoneWithErrors {
            return None;
        }
        let failed = self.failed_files();
        if failed.is_empty() {
            return None;
        }
        (self.card.retry_failed)(&self.spec, failed)
    }

    /// "Run again": a job that failed, was cancelled or stopped (or finished with errors, for a
    /// kind that cannot redo only the failed items: an archive cannot be mended in place) is
    /// submitted again as it was. Not for a job that failed because its destination exists when
    /// its kind answers that itself (an archive's card offers Replace and Keep both).
    pub fn run_again_spec(&self) -> Option<JobSpec> {
        let report = self.report.as_ref()?;
        // A chained job's inputs were another job's outputs: the card does not know them.
        if self.spec.inputs().is_empty() {
            return None;
        }
        let answers_existing = self.card.existing_hint.is_some();
        let again = match report.outcome {
            JobOutcome::Failed => self.existing_destination().is_none() || !answers_existing,
            JobOutcome::Cancelled | JobOutcome::Stopped => true,
            JobOutcome::DoneWithErrors => !self.kind.can_retry_failed,
            JobOutcome::Done => false,
        };
        again.then(|| self.spec.clone())
    }

    /// The output images' paths, in the strip's order (one per source; none for a kind whose
    /// outputs are not images).
    pub fn image_paths(&self) -> &[PathBuf] {
        match &self.report {
            Some(_)
                if self.kind.output == OutputShape::FolderOfFiles && self.card.output_images =>
            {
                &self.strip.paths
            }
            _ => &[],
        }
    }
}

/// All rows, oldest first (jobs not started yet in the engine's start order).
pub struct Queue {
    /// What differs for each kind (the window's dispatch over kinds).
    card_of: fn(JobKind) -> CardKind,
    rows: Vec<JobRow>,
    selected: Option<JobId>,
    /// Changes when a row is added or removed or a job ends.
    generation: u64,
}

impl Queue {
    /// An empty queue whose cards learn what differs for their kind from `card_of`.
    pub fn new(card_of: fn(JobKind) -> CardKind) -> Queue {
        Queue {
            card_of,
            rows: Vec::new(),
            selected: None,
            generation: 0,
        }
    }

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

    /// Adds a card. A name another card already has for a different output (two jobs into
    /// folders both called `out-big`) gets the output's folder after it, "out-big (trip)", or
    /// its whole path, so that cards and notifications tell the jobs apart.
    pub fn push(&mut self, id: JobId, spec: &JobSpec) {
        let mut row = JobRow::new(id, spec, (self.card_of)(spec.kind()));
        let taken = |name: &str, rows: &[JobRow]| {
            rows.iter()
                .any(|r| r.name == name && r.output != row.output)
        };
        if taken(&row.name, &self.rows) {
            let parent = row.output.parent().unwrap_or(Path::new(""));
            let folder = super::format::file_name(parent);
            let named = format!("{} ({folder})", row.name);
            row.name = if folder.is_empty() || taken(&named, &self.rows) {
                format!("{} ({})", row.name, parent.display())
            } else {
                named
            };
        }
        self.rows.push(row);
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

    /// The row `step` places before (negative) or after the selected one, for the keyboard.
    pub fn neighbour_of_selected(&self, step: isize) -> Option<JobId> {
        let at = match self
            .selected
            .and_then(|id| self.rows.iter().position(|r| r.id == id))
        {
            Some(at) => at as isize + step,
            None if step > 0 => 0,
            None => self.rows.len() as isize - 1,
        };
        usize::try_from(at)
            .ok()
            .and_then(|at| self.rows.get(at))
            .map(|r| r.id)
    }

    /// The ids of the jobs not started yet, in start order.
    pub fn waiting_ids(&self) -> Vec<JobId> {
        self.rows
            .iter()
            .filter(|r| r.is_waiting_to_start())
            .map(|r| r.id)
            .collect()
    }

    /// Puts the waiting rows in `order` (the engine's start order, [`queued_order`]): the rows
    /// of the jobs it lists take the places those rows hold now, in its order. Rows it does not
    /// list (started meanwhile, news on the way) keep their place.
    ///
    /// [`queued_order`]: super::engine::WindowEngine::queued_order
    pub fn follow_order(&mut self, order: &[JobId]) {
        let place = |id: JobId| order.iter().position(|&o| o == id);
        let slots: Vec<usize> = (0..self.rows.len())
            .filter(|&i| self.rows[i].is_waiting_to_start() && place(self.rows[i].id).is_some())
            .collect();
        let mut ordered: Vec<usize> = slots.clone();
        ordered.sort_by_key(|&i| place(self.rows[i].id));
        if ordered == slots {
            return;
        }
        let mut taken: Vec<Option<JobRow>> = std::mem::take(&mut self.rows)
            .into_iter()
            .map(Some)
            .collect();
        let moved: Vec<JobRow> = ordered.iter().filter_map(|&i| taken[i].take()).collect();
        for (slot, row) in slots.iter().zip(moved) {
            taken[*slot] = Some(row);
        }
        self.rows = taken.into_iter().flatten().collect();
    }

    /// Applies one engine event. Returns the row when it is a job's final event.
    pub fn apply(&mut self, event: JobEvent) -> Option<&JobRow> {
        match event {
            JobEvent::Progress(progress) => {
                if let Some(row) = self.row_mut(progress.job).filter(|r| !r.is_finished()) {
                    // A worker took it up (a job paused before starting has no time yet).
                    row.started |= matches!(
                        progress.state,
                        JobState::Scanning | JobState::Planning | JobState::Running
                    ) || !progress.elapsed.is_zero()
                        || progress.workers_busy > 0;
                    row.progress = progress;
                }
                None
            }
            JobEvent::Plan(plan) => {
                if let Some(row) = self.row_mut(plan.job) {
                    row.name = plan.name.clone();
                    row.output = plan.destination.clone();
                    row.started = true;
                    row.plan = Some(plan);
                }
                None
            }
            JobEvent::Finished(report) => {
                let id = report.progress.job;
                self.generation += 1;
                let row = self.row_mut(id)?;
                row.progress = report.progress.clone();
                let (errors, skipped): (Vec<usize>, Vec<usize>) = (0..report.problems.len())
                    .partition(|&i| report.problems[i].kind == ProblemKind::Error);
                row.problem_order = errors.into_iter().chain(skipped).collect();
                if row.card.output_images {
                    let sizes = (row.card.image_sizes)(&row.spec);
                    let expanded = row.strip.expanded;
                    row.strip =
                        ThumbStrip::of_outputs(&report.outputs, row.plan.as_deref(), &sizes);
                    row.strip.expanded = expanded;
                }
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

    /// Jobs that are paused.
    pub fn paused_count(&self) -> usize {
        self.rows.iter().filter(|r| r.is_paused()).count()
    }

    /// Active jobs not paused: "Pause all" has something to do.
    pub fn any_unpaused_active(&self) -> bool {
        self.rows.iter().any(|r| !r.is_finished() && !r.is_paused())
    }

    /// How many jobs are running, waiting (queued or for a worker) and paused, for the status
    /// bar.
    pub fn live_counts(&self) -> LiveCounts {
        let mut counts = LiveCounts::default();
        for state in self.rows.iter().filter_map(JobRow::live_state) {
            match state {
                LiveState::Queued | LiveState::WaitingForWorker => counts.waiting += 1,
                LiveState::Paused(_) => counts.paused += 1,
                _ => counts.running += 1,
            }
        }
        counts
    }

    /// Removes the rows of finished jobs.
    /// Removes the finished cards, but those that keep watching (Stop watching ends that).
    pub fn clear_finished(&mut self) {
        self.rows.retain(|r| !r.is_finished() || r.watch.is_some());
        self.generation += 1;
        if self.selected.is_some_and(|id| self.row(id).is_none()) {
            self.selected = None;
        }
    }

    /// Progress of the running and queued jobs together, 0.0 to 1.0, or `None` when nothing
    /// runs: by bytes when every active job counts bytes and knows its size, else the mean of the
    /// jobs' own fractions (some count items, not bytes).
    pub fn overall_fraction(&self) -> Option<f32> {
        let active: Vec<&JobRow> = self.rows.iter().filter(|r| !r.is_finished()).collect();
        if active.is_empty() {
            return None;
        }
        let by_bytes = active
            .iter()
            .all(|r| r.kind.counts == Counts::Bytes && r.progress.bytes_total > 0);
        if by_bytes {
            let (done, total) = active.iter().fold((0u64, 0u64), |(d, t), r| {
                (d + r.progress.bytes_done, t + r.progress.bytes_total)
            });
            Some((done as f64 / total.max(1) as f64).clamp(0.0, 1.0) as f32)
        } else {
            Some(active.iter().map(|r| r.progress.fraction()).sum::<f32>() / active.len() as f32)
        }
    }

    /// The window title: "Shrinkwrap" when idle, "42 % · 2 jobs — Shrinkwrap" while jobs run,
    /// "Paused · 2 jobs — Shrinkwrap" when every active job is paused.
    pub fn window_title(&self) -> String {
        match self.overall_fraction() {
            None => "Shrinkwrap".to_owned(),
            Some(fraction) => {
                let jobs = self.active_count();
                let lead = if self.paused_count() == jobs {
                    "Paused".to_owned()
                } else {
                    super::format::percent(fraction, false)
                };
                if jobs == 1 {
                    format!("{lead} · 1 job — Shrinkwrap")
                } else {
                    format!("{lead} · {jobs} jobs — Shrinkwrap")
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

/// Active jobs by what they do now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveCounts {
    pub running: usize,
    /// Queued, or started and waiting for a worker.
    pub waiting: usize,
    pub paused: usize,
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
        let mut queue = Queue::new(crate::ui::kinds::card_kind);
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
        let row = &queue.rows()[1];
        assert_eq!(
            (row.card.summary)(row, row.report.as_ref().unwrap()),
            vec![
                "archive 40 B (40 % of 100 B)".to_owned(),
                "0 entries".to_owned()
            ]
        );
        assert_eq!(queue.rows()[1].folder_to_open(), Path::new("/out"));
        assert_eq!(queue.window_title(), "50 % · 1 job — Shrinkwrap");
        queue.clear_finished();
        assert_eq!(queue.rows().len(), 1);
        assert!(queue.any_active());
    }

    #[test]
    fn late_progress_does_not_undo_the_end() {
        let mut queue = Queue::new(crate::ui::kinds::card_kind);
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

    #[test]
    fn waiting_rows_follow_the_engines_order() {
        let mut queue = Queue::new(crate::ui::kinds::card_kind);
        for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
            queue.push(JobId(i as u64 + 1), &spec(name));
        }
        // "a" has started: it is not in the engine's queue and keeps its place.
        let row = &queue.rows()[0];
        let running = progress(row, JobState::Running, 1, 10);
        queue.apply(JobEvent::Progress(running));
        let names =
            |q: &Queue| -> Vec<String> { q.rows().iter().map(|r| r.name.clone()).collect() };
        queue.follow_order(&[JobId(4), JobId(2), JobId(3)]);
        assert_eq!(names(&queue), ["a.zip", "d.zip", "b.zip", "c.zip"]);
        assert_eq!(queue.waiting_ids(), vec![JobId(4), JobId(2), JobId(3)]);
        // A job the engine no longer lists (started, its news not here yet) stays where it is.
        queue.follow_order(&[JobId(3), JobId(4)]);
        assert_eq!(names(&queue), ["a.zip", "c.zip", "b.zip", "d.zip"]);
    }
}
