//! What the app does once a frame besides drawing: takes in engine events and the helper
//! threads' news, handles drops and shortcuts, keeps the plan preview in step (after its
//! debounce), notices whether the person sees the window, keeps the title current, and drives
//! `--screenshot`.
//!
//! Owns: those per-frame steps. Must not touch: anything blocking (every channel is read with
//! `try_recv`; engine calls only queue work), a kind's rules (finished jobs and dialog answers
//! are handed to the kind).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use eframe::egui;

use crate::engine::{JobEvent, JobState};

use super::super::dialogs::{DialogOutcome, DialogRequest};
use super::super::notify::DesktopNotification;
use super::super::queue::{STRIP_MAX_THUMBNAILS, ThumbSlot};
use super::super::screenshot::ScreenshotStep;
use super::super::settings;
use super::super::state::{Command, NoticeLevel, QuitState};
use super::super::unfinished::{JournalNews, ListStatus, UnfinishedEntry};
use super::{App, POLL_INTERVAL};

/// The shortest time between two title changes that only move the percentage.
const TITLE_UPDATE_INTERVAL: Duration = Duration::from_secs(1);
/// In `--screenshot` mode with a job, how much progress to show before capturing.
const SCREENSHOT_PROGRESS_TIME: Duration = Duration::from_secs(2);

impl App {
    /// Takes in what the helper threads and the engine sent since the last frame.
    pub(super) fn drain_channels(&mut self, ctx: &egui::Context) {
        while let Ok(event) = self.engine.events().try_recv() {
            self.take_event(event);
        }
        if self.launch.first_progress_at.is_none()
            && self
                .state
                .queue
                .rows()
                .iter()
                .any(|r| r.state() != JobState::Queued)
        {
            self.launch.first_progress_at = Some(Instant::now());
        }
        while let Some(measured) = self.helpers.measurer.try_recv() {
            self.state.inputs.apply(measured);
        }
        if self.state.inputs.send_unmeasured(&self.helpers.measurer) {
            ctx.request_repaint_after(POLL_INTERVAL);
        }
        while let Some(strip_image) = self.helpers.strips.try_recv() {
            let Some(row) = self.state.queue.row_mut(strip_image.job) else {
                continue;
            };
            let Some(slot) = row.strip.slots.get_mut(strip_image.index) else {
                continue;
            };
            *slot = match strip_image.image {
                Ok(image) => {
                    let name = format!("strip-{}-{}", strip_image.job.0, strip_image.index);
                    ThumbSlot::Shown(ctx.load_texture(name, image, egui::TextureOptions::LINEAR))
                }
                Err(why) => ThumbSlot::Failed(why),
            };
        }
        while let Some(text) = self.helpers.launcher.try_recv() {
            self.state.notify(NoticeLevel::Warning, text);
        }
        while let Some(result) = self.helpers.exporter.try_recv() {
            match result {
                Ok(text) => self.state.notify(NoticeLevel::Info, text),
                Err(text) => self.state.notify(NoticeLevel::Warning, text),
            }
        }
        while let Some((card, news)) = self.helpers.watches.try_recv() {
            self.apply_watch_news(card, news);
        }
        while let Some(news) = self.helpers.presets.try_recv() {
            self.apply_preset_news(news);
        }
        while let Some(news) = self.helpers.job_files.try_recv() {
            self.apply_job_file_news(news);
        }
        while let Some(news) = self.helpers.journals.try_recv() {
            self.apply_journal_news(news);
        }
        if let Some(answer) = self.helpers.dialogs.poll() {
            self.state.dialog_open = false;
            match answer.outcome {
                DialogOutcome::Picked(paths) => self.apply_dialog_paths(ctx, answer.request, paths),
                DialogOutcome::Cancelled => {}
                DialogOutcome::Unavailable(text) => self.state.notify(NoticeLevel::Warning, text),
            }
        }
    }

    /// One engine event: the preview's, or a card's (a job's end also reaches its kind, the
    /// notifications, and the strip loader).
    fn take_event(&mut self, event: JobEvent) {
        if self.state.preview.apply(self.engine.as_ref(), &event) {
            return;
        }
        if let Some(card) = self.helpers.watches.owner_of(event.job()) {
            self.take_watch_event(card, event);
            return;
        }
        let finished = match &event {
            JobEvent::Finished(report) => Some(report.progress.job),
            _ => None,
        };
        if self.state.queue.apply(event).is_none() {
            return;
        }
        let Some(id) = finished else { return };
        // The disk changed: what Start would do now may differ.
        self.state.preview.invalidate(Instant::now());
        let asking_before = self.state.prompt.is_some();
        self.job_finished(id);
        let Some(row) = self.state.queue.row(id) else {
            return;
        };
        // A job whose end the window turned into a question (its archive exists: Replace or
        // Keep both?) has not failed yet as far as the person is concerned: they are asked,
        // not told "failed".
        let asking =
            !asking_before && self.state.prompt.is_some() && row.state() == JobState::Failed;
        if !self.title.looking {
            if asking {
                self.helpers.notifier.send(DesktopNotification {
                    summary: format!("{}: waiting for your answer", row.name),
                    body: "Shrinkwrap asks a question before it goes on.".to_owned(),
                    important: false,
                    replaces_previous: false,
                });
            } else {
                let still_active = self.state.queue.active_count();
                if let Some(note) = self.title.finishes.record(row, still_active) {
                    self.helpers.notifier.send(note);
                }
            }
        }
        if !row.strip.slots.is_empty() {
            self.load_thumbnails(id, 0..STRIP_MAX_THUMBNAILS);
        }
    }

    /// What the journal thread found or did.
    fn apply_journal_news(&mut self, news: JournalNews) {
        let unfinished = &mut self.state.unfinished;
        match news {
            JournalNews::Listed(jobs, set_aside) => {
                unfinished.status = ListStatus::Listed;
                unfinished.entries = jobs
                    .into_iter()
                    .map(|job| UnfinishedEntry {
                        job,
                        discarding: false,
                    })
                    .collect();
                if !set_aside.is_empty() {
                    let lines: Vec<String> = set_aside
                        .iter()
                        .map(|a| {
                            let line = a.to_string();
                            super::super::notify::capitalize(&line) + "."
                        })
                        .collect();
                    unfinished.set_aside = set_aside;
                    self.state.notify(NoticeLevel::Warning, lines.join("\n"));
                }
            }
            JournalNews::SetAside(results) => {
                unfinished.setting_aside = false;
                let mut failures = Vec::new();
                for (journal, result) in results {
                    match result {
                        Ok(moved) => unfinished.set_aside_done(&journal, moved),
                        Err(text) => failures.push(text),
                    }
                }
                if !failures.is_empty() {
                    self.state.notify(NoticeLevel::Warning, failures.join("\n"));
                }
            }
            JournalNews::ListFailed(text) => {
                unfinished.status = ListStatus::Listed;
                self.state.notify(NoticeLevel::Warning, text);
            }
            JournalNews::Discarded { journal, result } => match result {
                Ok(()) => unfinished.entries.retain(|e| e.job.journal != journal),
                Err(text) => {
                    if let Some(entry) = unfinished
                        .entries
                        .iter_mut()
                        .find(|e| e.job.journal == journal)
                    {
                        entry.discarding = false;
                    }
                    self.state.notify(NoticeLevel::Warning, text);
                }
            },
        }
    }

    fn apply_dialog_paths(
        &mut self,
        ctx: &egui::Context,
        request: DialogRequest,
        paths: Vec<PathBuf>,
    ) {
        match request {
            DialogRequest::AddFiles { .. } | DialogRequest::AddFolders { .. } => {
                self.apply(ctx, Command::AddPaths(paths));
            }
            DialogRequest::SaveFile { field, .. } | DialogRequest::PickFolder { field, .. } => {
                if let (Some(path), Some(form)) = (
                    paths.into_iter().next(),
                    self.state.settings.kinds.get_mut(field.kind),
                ) {
                    form.set_path(field.name, path);
                }
            }
            DialogRequest::SaveJobFile { of, .. } => {
                if let Some(path) = paths.into_iter().next() {
                    self.apply(ctx, Command::WriteJobFile(of, path));
                }
            }
            DialogRequest::OpenJobFile { .. } => self.apply(ctx, Command::OpenJobFiles(paths)),
            DialogRequest::ExportProblems { job, format, .. } => {
                if let Some(path) = paths.into_iter().next() {
                    self.write_problems(job, format, path);
                }
            }
        }
    }

    /// Drops, keyboard shortcuts.
    pub(super) fn handle_input(&mut self, ctx: &egui::Context) {
        let (dropped, hovering) = ctx.input(|i| {
            let dropped: Vec<PathBuf> = i
                .raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect();
            (dropped, !i.raw.hovered_files.is_empty())
        });
        if hovering != self.state.files_hovering {
            self.state.files_hovering = hovering;
            ctx.request_repaint();
        }
        // A dropped job file queues its jobs; anything else is an input.
        let (job_files, dropped): (Vec<PathBuf>, Vec<PathBuf>) = dropped
            .into_iter()
            .partition(|p| super::super::job_files::is_job_file(p));
        if !job_files.is_empty() {
            self.apply(ctx, Command::OpenJobFiles(job_files));
        }
        if !dropped.is_empty() {
            self.apply(ctx, Command::AddPaths(dropped));
        }

        // Typing in a field (a focused button or job card does not count: shortcuts still work).
        let typing = ctx.text_edit_focused();
        let start = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::Enter);
        if self.state.quit == QuitState::Running
            && self.state.prompt.is_none()
            && ctx.input_mut(|i| i.consume_shortcut(&start))
        {
            self.start_from_keyboard(ctx);
        }
        let open_files = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::O);
        if ctx.input_mut(|i| i.consume_shortcut(&open_files)) && !self.helpers.dialogs.is_open() {
            let start_dir = self
                .state
                .inputs
                .entries()
                .first()
                .and_then(|e| e.path.parent().map(PathBuf::from));
            self.apply(
                ctx,
                Command::OpenDialog(DialogRequest::AddFiles { start_dir }),
            );
        }
        if typing || self.state.quit != QuitState::Running || self.state.prompt.is_some() {
            return;
        }
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Delete))
            && let Some(index) = self.state.inputs.selected()
        {
            self.apply(ctx, Command::RemoveInput(index));
        }
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape))
            && let Some(id) = self.state.queue.selected()
            && self.state.queue.row(id).is_some_and(|r| !r.is_finished())
        {
            self.apply(ctx, Command::Cancel(id));
        }
    }

    /// Ctrl+Enter: starts the job (or says why not). A path still in the path field may be
    /// half-typed: it is never added silently; the job does not start and the notice says so
    /// (Enter adds it, as the field's hint says).
    fn start_from_keyboard(&mut self, ctx: &egui::Context) {
        let typed = self.state.path_field.trim();
        if !typed.is_empty() {
            let text = format!(
                "Not started: the path field still holds \u{201c}{typed}\u{201d}. Press Enter \
                 to add it, or clear the field, then Ctrl+Enter again."
            );
            self.state.notify(NoticeLevel::Info, text);
            return;
        }
        match self.state.start_refusal() {
            None => {
                let kind = self.state.settings.kind;
                self.apply(ctx, Command::Start(kind));
            }
            Some(refusal) => self
                .state
                .notify(NoticeLevel::Info, format!("Not started: {}.", refusal.why)),
        }
    }

    /// Notices whether the person can see the window: once it is focused again, the outcome
    /// leaves the title.
    pub(super) fn track_focus(&mut self, ctx: &egui::Context) {
        let (focused, minimized) = ctx.input(|i| {
            let viewport = i.viewport();
            (viewport.focused, viewport.minimized)
        });
        // Unknown (some platforms never say) counts as looking: no notification then.
        self.title.looking = focused.unwrap_or(true) && !minimized.unwrap_or(false);
        if self.title.looking && !self.title.finishes.is_empty() {
            self.title.finishes.seen();
        }
    }

    /// Keeps the preview in step with the inputs and settings: notes what Start would submit,
    /// and once that has been still for the debounce, submits the dry runs (building the specs
    /// is the only work done here).
    pub(super) fn update_preview(&mut self, ctx: &egui::Context) {
        let state = &mut self.state;
        let now = Instant::now();
        if state.note_preview_source(now) {
            // A new plan to look at: the plan card opens again (unless the person folded it).
            state.plan_auto_folded = false;
        }
        match state.preview.due_in(now) {
            None => {}
            Some(wait) if !wait.is_zero() => ctx.request_repaint_after(wait),
            Some(_) => {
                let specs = (!state.inputs.is_empty())
                    .then(|| {
                        let form = state.settings.form()?;
                        Some(settings::build_jobs(
                            form,
                            &state.inputs.paths(),
                            state.inputs.generation(),
                        ))
                    })
                    .flatten();
                state.preview.submit(self.engine.as_ref(), specs);
                ctx.request_repaint_after(POLL_INTERVAL);
            }
        }
        let fresh = state.preview.is_fresh();
        let key = (state.queue.generation(), state.preview.generation(), fresh);
        if self.start_blocked_key != Some(key) {
            self.start_blocked_key = Some(key);
            // Comparing specs compares every input path: done only when something changed.
            state.start_blocked_by = if fresh {
                state
                    .preview
                    .specs()
                    .iter()
                    .find_map(|spec| state.queue.active_with_spec(spec))
            } else {
                None
            };
        }
    }

    /// Whether `--screenshot` may capture now: inputs measured, and the job finished (with its
    /// strip loaded) or shown running for a while.
    fn ready_for_screenshot(&self) -> bool {
        if self.state.inputs.measuring() || self.state.preview.is_busy() {
            return false;
        }
        if self.state.unfinished.status == ListStatus::Listing {
            return false;
        }
        let queue = &self.state.queue;
        let strips_loaded = queue.rows().iter().all(|r| r.strip.loading() == 0);
        let all_finished = !queue.any_active();
        let progressed_long_enough = self
            .launch
            .first_progress_at
            .is_some_and(|t| t.elapsed() >= SCREENSHOT_PROGRESS_TIME);
        (all_finished && strips_loaded) || progressed_long_enough
    }

    pub(super) fn handle_screenshot(&mut self, ctx: &egui::Context) {
        let ready = self.ready_for_screenshot();
        let Some(screenshot) = self.launch.screenshot.as_mut() else {
            return;
        };
        if let ScreenshotStep::Finished(result) = screenshot.poll(ctx, ready) {
            if self.state.quit == QuitState::Closing {
                return;
            }
            match result {
                Ok(()) => {
                    println!("{}", screenshot.path().display());
                    self.launch.exit_status.store(0, Ordering::Relaxed);
                }
                Err(err) => {
                    eprintln!("shrinkwrap: screenshot: {err}");
                    self.launch.exit_status.store(2, Ordering::Relaxed);
                }
            }
            // The jobs the screenshot showed are cancelled by the engine's drop.
            self.engine.cancel_all();
            self.close(ctx);
        }
    }

    /// Keeps the title's progress current. A title command costs one more frame, so a mere
    /// percentage change waits until TITLE_UPDATE_INTERVAL has passed (the next progress frame
    /// after that carries it); starting and finishing jobs show at once.
    pub(super) fn update_title(&mut self, ctx: &egui::Context) {
        let active_jobs = (
            self.state.queue.active_count(),
            self.state.queue.paused_count(),
        );
        let title = &mut self.title;
        // A job ended while the person was away: the title says how, until they look.
        let outcome = title.finishes.title(active_jobs.0);
        let text = outcome
            .clone()
            .unwrap_or_else(|| self.state.queue.window_title());
        if text == title.text {
            return;
        }
        let jobs_changed =
            active_jobs != title.active_jobs || outcome.is_some() || title.showed_outcome;
        let due = title
            .updated_at
            .is_none_or(|t| t.elapsed() >= TITLE_UPDATE_INTERVAL);
        if jobs_changed || due {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(text.clone()));
            title.text = text;
            title.active_jobs = active_jobs;
            title.showed_outcome = outcome.is_some();
            title.updated_at = Some(Instant::now());
        }
    }
}
