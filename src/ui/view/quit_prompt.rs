//! The question asked when the window is closed while jobs run (it follows the queue: jobs that
//! end meanwhile leave the count, and once none is left it only asks to quit), and the
//! "cancelling…" note shown while their partial files are removed.
//!
//! Owns: drawing that modal.
//! Must not touch: closing or cancelling (it emits [`Command::ConfirmQuit`] /
//! [`Command::KeepRunning`]; the app does the rest without blocking).

use eframe::egui::{self, RichText};

use super::super::format;
use super::super::state::{Command, QuitState, UiState};
use super::theme;

pub fn show(ctx: &egui::Context, state: &UiState, commands: &mut Vec<Command>) {
    let cancelling = match state.quit {
        QuitState::Asking => false,
        QuitState::Cancelling { .. } => true,
        QuitState::Running | QuitState::Closing => return,
    };
    let active = state.queue.active_count() as u64;
    let frame = egui::Frame::window(&ctx.global_style()).inner_margin(egui::Margin::same(18));
    egui::Modal::new(egui::Id::unique("quit-prompt"))
        .frame(frame)
        .show(ctx, |ui| {
            ui.set_width(380.0);
            if cancelling {
                ui.label(RichText::new("Cancelling…").heading().strong());
                ui.add_space(4.0);
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!(
                        "Stopping {} and removing partial files.",
                        format::plural(active, "job", "jobs")
                    ));
                });
                return;
            }
            if active == 0 {
                // The jobs ended while the question was open.
                ui.label(RichText::new("The jobs have finished").heading().strong());
                ui.add_space(4.0);
                ui.label("Nothing is running any more: quitting cancels nothing.");
                ui.add_space(10.0);
                ui.horizontal(|ui| {
                    let quit = egui::Button::new(RichText::new("Quit").color(egui::Color32::WHITE))
                        .fill(theme::accent(ui.visuals()));
                    if ui.add(quit).clicked() {
                        commands.push(Command::ConfirmQuit);
                    }
                    if ui.button("Keep working").clicked() {
                        commands.push(Command::KeepRunning);
                    }
                });
                if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                    commands.push(Command::KeepRunning);
                }
                return;
            }
            let paused = state.queue.paused_count() as u64;
            ui.label(RichText::new("Jobs are still running").heading().strong());
            ui.add_space(4.0);
            let jobs = if paused > 0 {
                format!(
                    "{} ({paused} paused)",
                    format::plural(active, "job", "jobs")
                )
            } else {
                format::plural(active, "job", "jobs")
            };
            ui.label(format!(
                "Quitting cancels {jobs} and removes their partial files. Finished outputs are kept."
            ));
            ui.add_space(10.0);
            ui.horizontal(|ui| {
                let danger = theme::danger(ui.visuals());
                let quit = egui::Button::new(
                    RichText::new("Cancel jobs and quit").color(egui::Color32::WHITE),
                )
                .fill(danger);
                if ui.add(quit).clicked() {
                    commands.push(Command::ConfirmQuit);
                }
                if ui.button("Keep working").clicked() {
                    commands.push(Command::KeepRunning);
                }
            });
            if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                commands.push(Command::KeepRunning);
            }
        });
}
