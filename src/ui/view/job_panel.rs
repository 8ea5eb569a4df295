//! The job column: what to make from the inputs (one tab per kind), the chosen kind's form, and
//! the button that queues it.
//!
//! Owns: the tabs, placing the kind's form (the kind draws it), the Start button and its words.
//! Must not touch: building or submitting jobs (it emits [`Command::Start`]), a kind's settings
//! (its module draws and edits them), dialogs (asked for with a command).

use eframe::egui::{self, RichText};

use super::super::kinds::{self, FormCx};
use super::super::state::{Command, UiState};
use super::{section_heading, theme, widgets};

/// Height of the button that queues the job.
const START_BUTTON_HEIGHT: f32 = 34.0;

/// The job column: its settings in a scroll area no taller than `settings_max_height` points,
/// and the Start button under them, always in view.
pub fn show(
    ui: &mut egui::Ui,
    state: &mut UiState,
    settings_max_height: f32,
    commands: &mut Vec<Command>,
) {
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("job-settings-scroll")
        .max_height(settings_max_height)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            settings(ui, state, commands);
            widgets::keep_focus_in_view(ui);
        });
    ui.add_space(8.0);
    start_button(ui, state, commands);
    ui.add_space(4.0);
}

fn settings(ui: &mut egui::Ui, state: &mut UiState, commands: &mut Vec<Command>) {
    section_heading(ui, "Job", None);
    ui.horizontal(|ui| {
        for entry in kinds::ENTRIES {
            ui.selectable_value(&mut state.settings.kind, entry.kind, entry.tab_label())
                .on_hover_text(entry.tab_hint);
        }
    });
    ui.add_space(4.0);
    let cx = FormCx {
        inputs: &state.inputs,
        preview: &state.preview,
        dialog_open: state.dialog_open,
    };
    let kind = state.settings.kind;
    if let Some(form) = state.settings.kinds.get_mut(kind) {
        form.draw(ui, &cx, commands);
    }
}

fn start_button(ui: &mut egui::Ui, state: &UiState, commands: &mut Vec<Command>) {
    let kind = state.settings.kind;
    let refusal = state.start_refusal();
    let text = refusal
        .as_ref()
        .and_then(|r| r.button)
        .or_else(|| kinds::entry_of(kind).map(|e| e.start_label()))
        .unwrap_or(kind.info().verb);
    let enabled = refusal.is_none();
    let accent = theme::accent(ui.visuals());
    let button = egui::Button::new(
        RichText::new(text)
            .strong()
            .size(15.0)
            .color(egui::Color32::WHITE),
    )
    .fill(if enabled {
        accent
    } else {
        accent.gamma_multiply(0.45)
    })
    .min_size(egui::vec2(ui.available_width(), START_BUTTON_HEIGHT));
    let response = ui
        .with_layout(
            egui::Layout::top_down_justified(egui::Align::Center),
            |ui| ui.add_enabled(enabled, button),
        )
        .inner;
    let response = match refusal {
        None => response.on_hover_text("Queue this job; it runs in the background (Ctrl+Enter)"),
        Some(refusal) => response.on_disabled_hover_text(refusal.why),
    };
    if response.clicked() {
        commands.push(Command::Start(kind));
    }
}
