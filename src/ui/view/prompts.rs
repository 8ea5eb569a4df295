//! The modal in which a kind asks its question before it queues anything ("the archive already
//! exists", "this makes N archives").
//!
//! Owns: the modal around the question. Must not touch: the question's words and answers (the
//! kind draws them and emits its commands), submitting (the app does, without blocking).

use eframe::egui;

use super::super::state::{Command, UiState};

pub fn show(ctx: &egui::Context, state: &UiState, commands: &mut Vec<Command>) {
    let Some(prompt) = &state.prompt else {
        return;
    };
    let frame = egui::Frame::window(&ctx.global_style()).inner_margin(egui::Margin::same(18));
    egui::Modal::new(egui::Id::unique("question"))
        .frame(frame)
        .show(ctx, |ui| {
            ui.set_width(440.0);
            prompt.draw(ui, commands);
        });
}
