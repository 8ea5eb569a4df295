//! What Start submits, and everything the window asks of jobs once they are queued.
//!
//! Owns: Start (the kind builds its specs and decides whether to ask first; Start waits for the
//! inputs to be measured when the kind needs them), submitting (a calm notice for a job already
//! queued), job control that needs more than one engine call (stop after current, moving a
//! waiting job, then taking the engine's start order), Retry failed and Run again, resuming
//! unfinished jobs, asking the strip loader for output images, and problem lists to copy or
//! export.
//! Must not touch: anything blocking (engine calls only queue or flag work; files are written on
//! helper threads), a kind's own rules (its form decides, through `KindForm`).

use std::ops::Range;

use eframe::egui;

use crate::engine::{JobId, JobKind, JobSpec, QueueMove, SubmitError, UnfinishedJob};

use super::super::dialogs::DialogRequest;
use super::super::export::{ExportFormat, ExportRequest, ProblemExport};
use super::super::kinds::{StartCheck, StartCx};
use super::super::queue::ThumbSlot;
use super::super::settings;
use super::super::state::{Command, NoticeLevel};
use super::super::strip_loader::StripRequest;
use super::super::unfinished::UnfinishedEntry;
use super::App;

impl App {
    /// Start: builds the jobs of `kind`'s form over the current inputs and submits them, unless
    /// the kind asks first or refuses (e.g. "one archive per folder" with plain files among the
    /// inputs; archives the fresh preview found already existing). When the kind needs the
    /// inputs measured to decide, Start waits for them.
    pub(super) fn start(&mut self, kind: JobKind) {
        let state = &mut self.state;
        let Some(form) = state.settings.kinds.get(kind) else {
            return;
        };
        if form.waits_for_measuring(&state.inputs) && state.inputs.measuring() {
            state.pending_start = Some(kind);
            return;
        }
        state.pending_start = None;
        let built = settings::build_jobs(form, &state.inputs.paths(), state.inputs.generation());
        let check = built.map(|specs| {
            let cx = StartCx {
                inputs: &state.inputs,
                preview: &state.preview,
                quit_when_done: self.launch.args.quit_when_done,
            };
            let check = form.check_start(&specs, &cx);
            (specs, check)
        });
        match check {
            Err(message) => state.notify(NoticeLevel::Warning, message),
            Ok((_, StartCheck::Ask(prompt))) => state.prompt = Some(prompt),
            Ok((_, StartCheck::Refuse(text))) => state.notify(NoticeLevel::Warning, text),
            Ok((specs, StartCheck::Go)) => {
                let submitted = self.submit_jobs(specs, &[]);
                self.submit_chained(kind, &submitted);
            }
        }
    }

    /// Submits jobs and adds their cards (several as one batch: no job of the batch scans
    /// another's output); `replacing` are failed jobs whose cards the new ones take over. A job
    /// identical to a queued or running one is refused by the engine: a calm notice says so,
    /// and no card is added. Returns the jobs queued, with their ids.
    pub(super) fn submit_jobs(
        &mut self,
        specs: Vec<JobSpec>,
        replacing: &[JobId],
    ) -> Vec<(JobSpec, JobId)> {
        let results = match specs.as_slice() {
            [one] => vec![self.engine.submit(one.clone())],
            _ => self.engine.submit_all(specs.clone()),
        };
        let state = &mut self.state;
        let mut queued = Vec::new();
        let mut already: Vec<String> = Vec::new();
        let mut refused = None;
        for (spec, result) in specs.iter().zip(results) {
            match result {
                Ok(id) => {
                    state.queue.push(id, spec);
                    queued.push((spec.clone(), id));
                }
                Err(SubmitError::Duplicate(_)) => already.push(spec.display_name()),
                Err(e) => refused = Some(e),
            }
        }
        if !queued.is_empty() {
            for &id in replacing {
                state.queue.remove(id);
            }
        }
        if let Some(e) = refused {
            state.notify(NoticeLevel::Warning, format!("Not queued: {e}."));
        } else if !already.is_empty() {
            state.notify(
                NoticeLevel::Info,
                format!(
                    "Already queued: {}. The same job was not added again.",
                    already.join(", ")
                ),
            );
        } else if !queued.is_empty() {
            state.notice = None;
        }
        self.start_blocked_key = None;
        queued
    }

    /// "Stop after current" (offered only for kinds that can stop early).
    pub(super) fn stop_after_current(&mut self, id: JobId) {
        if self.engine.stop_after_current(id) {
            return;
        }
        let noun = self
            .state
            .queue
            .row(id)
            .map_or("output", |row| row.kind.noun);
        self.state.notify(
            NoticeLevel::Info,
            format!(
                "This job cannot stop part-way (its {noun} would be incomplete): pause or \
                 cancel it instead."
            ),
        );
    }

    /// Moves a waiting job one place (past the waiting job before or after it) or to the
    /// front, then shows the engine's start order.
    pub(super) fn move_queued(&mut self, id: JobId, to: QueueMove) {
        let waiting = self.state.queue.waiting_ids();
        let Some(at) = waiting.iter().position(|&w| w == id) else {
            return;
        };
        let past = match to {
            QueueMove::Up => at.checked_sub(1).map(|i| waiting[i]),
            QueueMove::Down => waiting.get(at + 1).copied(),
            QueueMove::Next => {
                if self.engine.move_queued(id, QueueMove::Next) {
                    self.follow_engine_order();
                }
                return;
            }
        };
        if let Some(past) = past {
            self.move_past(id, past, to);
        }
    }

    /// A drag put `job` (not started) where `to` is: it moves past `to`, taking its place.
    pub(super) fn move_queued_to(&mut self, job: JobId, to: JobId) {
        let waiting = self.state.queue.waiting_ids();
        let (Some(from), Some(target)) = (
            waiting.iter().position(|&id| id == job),
            waiting.iter().position(|&id| id == to),
        ) else {
            return;
        };
        let step = if target < from {
            QueueMove::Up
        } else {
            QueueMove::Down
        };
        self.move_past(job, to, step);
    }

    /// Moves `job` up or down one place at a time until it has passed `past` in the engine's
    /// start order (the engine's queue also holds the preview's dry runs, which have no card:
    /// one step may only pass one of those), then shows the engine's order.
    fn move_past(&mut self, job: JobId, past: JobId, step: QueueMove) {
        let steps_at_most = self.engine.queued_order().len();
        for _ in 0..steps_at_most {
            let order = self.engine.queued_order();
            let place = |id| order.iter().position(|&o| o == id);
            let (Some(at), Some(other)) = (place(job), place(past)) else {
                break;
            };
            let passed = match step {
                QueueMove::Down => at > other,
                _ => at < other,
            };
            if passed || !self.engine.move_queued(job, step) {
                break;
            }
        }
        self.follow_engine_order();
    }

    /// The waiting rows in the order the engine will start their jobs.
    fn follow_engine_order(&mut self) {
        let order = self.engine.queued_order();
        self.state.queue.follow_order(&order);
    }

    pub(super) fn retry_failed(&mut self, id: JobId) {
        if let Some(spec) = self.state.queue.row(id).and_then(|r| r.retry_spec()) {
            self.submit_jobs(vec![spec], &[]);
        }
    }

    pub(super) fn run_again(&mut self, id: JobId) {
        // The card is replaced: its watch, if any, ends with it.
        self.stop_watching(id);
        if let Some(spec) = self.state.queue.row(id).and_then(|r| r.run_again_spec()) {
            self.submit_jobs(vec![spec], &[id]);
        }
    }

    /// Resumes unfinished jobs: each gets a card; one the engine refuses goes back to the list
    /// with a notice.
    pub(super) fn resume_unfinished(&mut self, jobs: Vec<UnfinishedJob>) {
        for job in jobs {
            let spec = job.spec.clone();
            match self.engine.resume_unfinished(job.clone()) {
                Ok(id) => self.state.queue.push(id, &spec),
                Err(e) => {
                    self.state.notify(
                        NoticeLevel::Warning,
                        format!("Not resumed: {}: {e}.", spec.display_name()),
                    );
                    self.state.unfinished.entries.push(UnfinishedEntry {
                        job,
                        discarding: false,
                    });
                }
            }
        }
        self.start_blocked_key = None;
    }

    /// Asks the strip loader for the output images in `range` not asked yet (those it has no
    /// room for stay unasked and are asked again when drawn).
    pub(super) fn load_thumbnails(&mut self, id: JobId, range: Range<usize>) {
        let Some(row) = self.state.queue.row_mut(id) else {
            return;
        };
        let end = range.end.min(row.strip.slots.len());
        for index in range.start..end {
            if !matches!(row.strip.slots[index], ThumbSlot::NotAsked) {
                continue;
            }
            let Some(path) = row.image_paths().get(index).cloned() else {
                return;
            };
            if !self.helpers.strips.request(StripRequest {
                job: id,
                index,
                path,
            }) {
                return;
            }
            row.strip.slots[index] = ThumbSlot::Loading;
        }
    }

    /// A finished job's problems, errors first, for copying or exporting.
    pub(super) fn problem_export(&self, id: JobId) -> Option<ProblemExport> {
        let row = self.state.queue.row(id)?;
        let report = row.report.as_ref()?;
        Some(ProblemExport {
            job: row.name.clone(),
            outcome: row.outcome_words().unwrap_or_default(),
            problems: row
                .problem_order
                .iter()
                .filter_map(|&i| report.problems.get(i).cloned())
                .collect(),
        })
    }

    /// Copies a job's problem list ("Copied" shows beside the button: the card's view says it).
    pub(super) fn copy_problems(&mut self, ctx: &egui::Context, id: JobId) {
        if let Some(export) = self.problem_export(id) {
            ctx.copy_text(export.clipboard_text());
        }
    }

    /// Asks where to save a job's problem list (the file is written once the dialog answers).
    pub(super) fn export_problems(&mut self, ctx: &egui::Context, id: JobId, format: ExportFormat) {
        let Some(row) = self.state.queue.row(id) else {
            return;
        };
        let stem = row
            .output
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "job".to_owned());
        let suggested = row
            .folder_to_open()
            .join(format!("{stem}-problems.{}", format.extension()));
        self.apply(
            ctx,
            Command::OpenDialog(DialogRequest::ExportProblems {
                job: id,
                format,
                suggested,
            }),
        );
    }

    /// Writes a job's problem list to `path`, on the export thread.
    pub(super) fn write_problems(
        &mut self,
        id: JobId,
        format: ExportFormat,
        path: std::path::PathBuf,
    ) {
        if let Some(export) = self.problem_export(id) {
            self.helpers.exporter.export(ExportRequest {
                export,
                format,
                path,
            });
        }
    }
}
