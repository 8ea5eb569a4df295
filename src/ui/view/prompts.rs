//! The modal in which a kind asks its question before it queues anything ("the archive already
//! exists", "this makes N archives").
//!
//! Owns: the modal around the question, and the keyboard focus when it opens: its first button
//! (the kind draws its default answer first) takes the focus, so Enter answers the default and
//! Tab moves through the answers. Must not touch: the question's words and answers (the kind
//! draws them and emits its commands), submitting (the app does, without blocking).

use eframe::egui;

use super::super::state::{Command, UiState};

pub fn show(ctx: &egui::Context, state: &UiState, commands: &mut Vec<Command>) {
    // Set while a question is open: the focus is given once, when it opens.
    let focused_once = egui::Id::unique("question-focused");
    let Some(prompt) = &state.prompt else {
        ctx.data_mut(|d| d.remove::<bool>(focused_once));
        return;
    };
    let opening = ctx.data(|d| d.get_temp::<bool>(focused_once)).is_none();
    let frame = egui::Frame::window(&ctx.global_style()).inner_margin(egui::Margin::same(18));
    let focused = egui::Modal::new(egui::Id::unique("question"))
        .frame(frame)
        .show(ctx, |ui| {
            ui.set_width(440.0);
            // The question's words are not selectable: the focus goes to its answers only.
            ui.style_mut().interaction.selectable_labels = false;
            // A new modal is first laid out invisible (and disabled: nothing takes the focus
            // then); the focus is given on its first visible frame.
            let focus_now = opening && ui.is_enabled() && ui.is_visible();
            if focus_now {
                // Nothing behind the question keeps the focus; the next focusable widget (the
                // question's first button) takes it.
                ui.memory_mut(|m| {
                    if let Some(id) = m.focused() {
                        m.surrender_focus(id);
                    }
                    m.move_focus(egui::FocusDirection::Next);
                });
            }
            prompt.draw(ui, commands);
            focus_now
        })
        .inner;
    if focused {
        ctx.data_mut(|d| d.insert_temp(focused_once, true));
    }
}
