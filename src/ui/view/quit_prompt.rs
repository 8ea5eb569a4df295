//! The question asked when the window is closed while jobs run, and the "cancelling…" note shown
//! while their partial files are removed.
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
            ui.label(RichText::new("Jobs are still running").heading().strong());
            ui.add_space(4.0);
            ui.label(format!(
                "Quitting cancels {} and removes their partial files. Finished outputs are kept.",
                format::plural(active, "job", "jobs")
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
