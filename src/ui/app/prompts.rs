//! Questions and quitting: a kind's own commands (the answers to its questions, the clicks in its
//! plan lines and cards) and what they ask the window to do, a kind hearing that its job ended
//! (a zip job that found its archive existing asks at once), and closing the window (the
//! question asked while jobs run, `--quit-when-done`, the end of quitting).
//!
//! Owns: handing commands and finished jobs to the kind, applying the [`Effect`]s it asks for,
//! and the quit state machine's transitions.
//! Must not touch: a question's words or answers (the kind's module), anything blocking
//! (quitting cancels and then waits frame by frame, never in one).

use std::sync::atomic::Ordering;

use eframe::egui;

use crate::engine::JobId;

use super::super::kinds::{Effect, KindCommand, KindCx};
use super::super::state::{QuitState, UiState};
use super::{App, POLL_INTERVAL, QUIT_CANCEL_GRACE};

impl App {
    /// Hands a kind its own command, then does what it asked for.
    pub(super) fn apply_kind(&mut self, command: KindCommand) {
        let quit_when_done = self.launch.args.quit_when_done;
        let UiState {
            settings,
            inputs,
            queue,
            prompt,
            ..
        } = &mut self.state;
        let mut cx = KindCx::new(inputs, queue, prompt, quit_when_done);
        settings.kinds.apply(command, &mut cx);
        let effects = cx.into_effects();
        self.apply_effects(effects);
    }

    /// A real job ended: its kind hears of it (and may ask a question).
    pub(super) fn job_finished(&mut self, id: JobId) {
        let quit_when_done = self.launch.args.quit_when_done;
        let UiState {
            settings,
            inputs,
            queue,
            prompt,
            ..
        } = &mut self.state;
        let Some(row) = queue.row(id) else {
            return;
        };
        let Some(form) = settings.kinds.get_mut(row.kind) else {
            return;
        };
        let mut cx = KindCx::new(inputs, queue, prompt, quit_when_done);
        form.job_finished(row, &mut cx);
        let effects = cx.into_effects();
        self.apply_effects(effects);
    }

    fn apply_effects(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Submit { specs, replacing } => {
                    self.submit_jobs(specs, &replacing);
                }
                Effect::Start(kind) => self.start(kind),
                Effect::Notify(level, text) => self.state.notify(level, text),
            }
        }
    }

    /// Close requests, `--quit-when-done`, and the end of quitting.
    pub(super) fn handle_closing(&mut self, ctx: &egui::Context) {
        let close_requested = ctx.input(|i| i.viewport().close_requested());
        if close_requested {
            match self.state.quit {
                QuitState::Closing => {}
                QuitState::Running if !self.state.queue.any_active() => {
                    self.state.quit = QuitState::Closing
                }
                QuitState::Running => {
                    ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
                    self.state.quit = QuitState::Asking;
                }
                QuitState::Asking | QuitState::Cancelling { .. } => {
                    ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
                }
            }
        }
        if let QuitState::Cancelling { since } = self.state.quit {
            if !self.state.queue.any_active() || since.elapsed() > QUIT_CANCEL_GRACE {
                self.close(ctx);
            } else {
                ctx.request_repaint_after(POLL_INTERVAL);
            }
        }
        if self.launch.args.quit_when_done
            && self.launch.launched
            && self.launch.screenshot.is_none()
            && self.state.quit == QuitState::Running
            && self.state.pending_start.is_none()
            && self.state.prompt.is_none()
            && !self.state.queue.any_active()
        {
            // Nothing queued (the job could not be built, e.g. no usable destination) is a failure.
            let status = if self.state.queue.rows().is_empty() {
                2
            } else {
                self.state.queue.exit_status()
            };
            self.launch.exit_status.store(status, Ordering::Relaxed);
            self.close(ctx);
        }
    }

    pub(super) fn close(&mut self, ctx: &egui::Context) {
        self.state.quit = QuitState::Closing;
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }
}
