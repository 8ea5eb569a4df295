//! Applying the [`Command`]s the views emit (and tests queue): each one becomes a change of
//! state, an engine call that only queues or flags work, or a request to a helper thread.
//!
//! Owns: [`App::apply`] and the small handlers of inputs, dialogs, workers and notices.
//! Must not touch: anything blocking; what Start submits and the job controls (`jobs`), a kind's
//! own commands (handed to the kind, see `prompts`).

use std::time::Instant;

use eframe::egui;

use super::super::launcher::Target;
use super::super::presets::PresetRequest;
use super::super::settings::{MEMORY_MB_RANGE, WORKERS_RANGE};
use super::super::state::{Command, NoticeLevel, QuitState};
use super::super::typed_path;
use super::{App, POLL_INTERVAL};

impl App {
    /// Applies one command. Never blocks: engine calls here only queue or flag work.
    pub(super) fn apply(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::AddPaths(paths) => self.add_paths(ctx, paths),
            Command::AddTypedPaths => self.add_typed_paths(ctx),
            Command::RemoveInput(index) => self.state.inputs.remove(index),
            Command::SelectInput(index) => self.state.inputs.select(Some(index)),
            Command::ClearInputs => self.state.inputs.clear(),
            Command::OpenDialog(request) => {
                self.helpers.dialogs.open(request);
                self.state.dialog_open = self.helpers.dialogs.is_open();
            }
            Command::Start(kind) => self.start(kind),
            Command::Kind(command) => self.apply_kind(command),
            Command::Cancel(id) => self.engine.cancel(id),
            Command::CancelAll => self.engine.cancel_all(),
            Command::Pause(id) => self.engine.pause(id),
            Command::Resume(id) => self.engine.resume(id),
            Command::PauseAll => self.engine.pause_all(),
            Command::ResumeAll => self.engine.resume_all(),
            Command::StopAfterCurrent(id) => self.stop_after_current(id),
            Command::MoveQueued(id, to) => self.move_queued(id, to),
            Command::MoveQueuedTo { job, to } => self.move_queued_to(job, to),
            Command::RetryFailed(id) => self.retry_failed(id),
            Command::RunAgain(id) => self.run_again(id),
            Command::SelectJob(id) => self.state.queue.select(Some(id)),
            Command::ClearFinished => self.state.queue.clear_finished(),
            Command::OpenFolder(folder) => self.helpers.launcher.open(folder, Target::Folder),
            Command::OpenFile(file) => self.helpers.launcher.open(file, Target::File),
            Command::LoadThumbnails(id, range) => self.load_thumbnails(id, range),
            Command::ShowAllThumbnails(id, all) => {
                if let Some(row) = self.state.queue.row_mut(id) {
                    row.strip.expanded = all;
                }
            }
            Command::CopyProblems(id) => self.copy_problems(ctx, id),
            Command::ExportProblems(id, format) => self.export_problems(ctx, id, format),
            Command::ResumeUnfinished(journal) => {
                self.set_aside_journals();
                if let Some(job) = self.state.unfinished.take(&journal) {
                    self.resume_unfinished(vec![job]);
                }
            }
            Command::TogglePlan => {
                if !self.state.plan_open() {
                    self.state.plan_auto_folded = false;
                    self.state.settings.plan_folded = false;
                } else if self.state.queue.any_active() {
                    // Folded for this run only: the remembered choice stays.
                    self.state.plan_auto_folded = true;
                } else {
                    self.state.settings.plan_folded = true;
                }
            }
            Command::ResumeAllUnfinished => {
                self.set_aside_journals();
                let jobs = self.state.unfinished.take_all();
                self.resume_unfinished(jobs);
            }
            Command::DiscardUnfinished(journal) => {
                self.set_aside_journals();
                self.discard_unfinished(&journal);
            }
            Command::SetWorkers(workers) => self.set_workers(workers),
            Command::SetMemory(mb) => self.set_memory(mb),
            Command::DismissNotice => self.state.notice = None,
            Command::ConfirmQuit => {
                self.engine.cancel_all();
                self.state.quit = QuitState::Cancelling {
                    since: Instant::now(),
                };
                ctx.request_repaint();
            }
            Command::KeepRunning => self.state.quit = QuitState::Running,
            Command::CopyAsCommand(kind) => self.copy_as_command(ctx, kind),
            Command::CopyCardCommand(id) => self.copy_card_command(ctx, id),
            Command::SaveJobFile(of) => self.save_job_file(ctx, of),
            Command::WriteJobFile(of, path) => self.write_job_file(of, path),
            Command::OpenJobFiles(paths) => self.open_job_files(paths),
            Command::LoadPresets => self.load_presets(),
            Command::KeepWatching(card) => self.keep_watching(card),
            Command::StopWatching(card) => self.stop_watching(card),
            Command::ApplyPreset(kind, name) => self.apply_preset(kind, &name),
            Command::SavePreset(kind) => self.save_preset(kind),
            Command::RenamePreset { from, to } => {
                self.state.presets.renaming = None;
                self.helpers
                    .presets
                    .request(PresetRequest::Rename { from, to });
            }
            Command::DeletePreset(name) => {
                self.helpers.presets.request(PresetRequest::Delete { name });
            }
        }
    }

    fn add_paths(&mut self, ctx: &egui::Context, paths: Vec<std::path::PathBuf>) {
        let state = &mut self.state;
        let added = state.inputs.add(paths);
        if added > 0 && matches!(state.notice, Some(ref n) if n.level == NoticeLevel::Warning) {
            state.notice = None;
        }
        if state.inputs.send_unmeasured(&self.helpers.measurer) {
            ctx.request_repaint_after(POLL_INTERVAL);
        }
    }

    fn add_typed_paths(&mut self, ctx: &egui::Context) {
        let paths = typed_path::typed_paths(&self.state.path_field);
        if paths.is_empty() {
            self.state
                .notify(NoticeLevel::Info, "Type or paste a path to add it.");
        } else {
            self.state.path_field.clear();
            self.add_paths(ctx, paths);
        }
    }

    fn set_memory(&mut self, mb: Option<u64>) {
        let mb = mb.map(|mb| mb.clamp(*MEMORY_MB_RANGE.start(), *MEMORY_MB_RANGE.end()));
        self.state.settings.memory_mb = mb;
        self.engine
            .set_memory_budget(mb.map(|mb| mb.saturating_mul(1_000_000)));
    }

    fn set_workers(&mut self, workers: usize) {
        let workers = workers.clamp(*WORKERS_RANGE.start(), *WORKERS_RANGE.end());
        self.state.settings.workers = Some(workers);
        self.engine.set_workers(workers);
    }

    /// The person resumes or discards: the journals that cannot be resumed go to `set-aside/`
    /// (once), as the command line's `resume` does.
    fn set_aside_journals(&mut self) {
        let entries = self.state.unfinished.take_set_aside();
        if !entries.is_empty() && !self.helpers.journals.set_aside(entries) {
            self.state.unfinished.setting_aside = false;
            self.state.notify(
                NoticeLevel::Warning,
                "The journals that cannot be resumed could not be set aside (no helper thread).",
            );
        }
    }

    fn discard_unfinished(&mut self, journal: &std::path::Path) {
        let state = &mut self.state;
        let entry = state
            .unfinished
            .entries
            .iter_mut()
            .find(|e| e.job.journal == journal && !e.discarding);
        if let Some(entry) = entry {
            entry.discarding = true;
            let job = entry.job.clone();
            if !self.helpers.journals.discard(job) {
                entry.discarding = false;
                state.notify(
                    NoticeLevel::Warning,
                    "The unfinished job could not be discarded (no helper thread).",
                );
            }
        }
    }
}
