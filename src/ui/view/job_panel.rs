//! The job column: what to make from the inputs (one tab per kind), the chosen kind's form, and
//! the button that queues it.
//!
//! Owns: the tabs, the kind's preset menu (apply a built-in or saved preset, save the options as
//! one, rename, delete), placing the kind's form (the kind draws it), the Start button and its
//! words,
//! and the workflow buttons beside it ("Copy as command", "Save as job file…", "Open job
//! file…").
//! Must not touch: building or submitting jobs (it emits [`Command::Start`] and the workflow
//! commands), a kind's settings (its module draws and edits them), dialogs (asked for with a
//! command).

use eframe::egui::{self, RichText};

use super::super::dialogs::{DialogRequest, JobFileOf};
use super::super::kinds::{self, FormCx};
use super::super::presets::PresetMenu;
use super::super::state::{Command, UiState};
use super::{section_heading, theme, widgets};
use crate::engine::workflow::Preset;

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
    ui.add_space(2.0);
    workflow_buttons(ui, state, commands);
    ui.add_space(4.0);
}

/// The "Presets" menu of the chosen kind. It stays open while its fields are edited; applying
/// a preset closes it. The presets are read when it first opens (on a helper thread).
fn preset_menu(ui: &mut egui::Ui, state: &mut UiState, commands: &mut Vec<Command>) {
    use egui::containers::menu::{MenuButton, MenuConfig};
    let kind = state.settings.kind;
    let config = MenuConfig::new().close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside);
    let menu = &mut state.presets;
    let (response, inner) = MenuButton::new("Presets")
        .config(config)
        .ui(ui, |ui| preset_items(ui, kind, menu, commands));
    response.on_hover_text("Apply, save, rename or delete presets of this kind's options");
    if inner.is_some() && menu.presets.is_none() && !menu.loading {
        commands.push(Command::LoadPresets);
    }
}

fn preset_items(
    ui: &mut egui::Ui,
    kind: crate::engine::JobKind,
    menu: &mut PresetMenu,
    commands: &mut Vec<Command>,
) {
    ui.set_min_width(280.0);
    if menu.presets.is_none() {
        ui.label(RichText::new("Reading the presets…").weak());
    }
    let presets: Vec<Preset> = menu.of_kind(kind).into_iter().cloned().collect();
    if menu.presets.is_some() && presets.is_empty() {
        ui.label(RichText::new("No presets for this kind yet").weak());
    }
    for preset in presets {
        let name = preset.name.clone();
        ui.horizontal(|ui| {
            let apply = ui
                .button(&name)
                .accessible_name(format!("Apply preset {name}"))
                .on_hover_text(format!("Apply: {}", preset.options.to_args().join(" ")));
            if apply.clicked() {
                commands.push(Command::ApplyPreset(kind, name.clone()));
                ui.close();
            }
            if preset.builtin {
                ui.label(RichText::new("built in").weak().small());
                return;
            }
            if ui
                .small_button("Rename…")
                .accessible_name(format!("Rename preset {name}"))
                .clicked()
            {
                menu.renaming = Some((name.clone(), name.clone()));
            }
            if ui
                .small_button("Delete")
                .accessible_name(format!("Delete preset {name}"))
                .clicked()
            {
                commands.push(Command::DeletePreset(name.clone()));
            }
        });
        let renaming_this = menu
            .renaming
            .as_ref()
            .is_some_and(|(from, _)| *from == name);
        if renaming_this && let Some((from, to)) = menu.renaming.as_mut() {
            let mut rename = None;
            let mut cancel = false;
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(to).desired_width(150.0))
                    .accessible_name(format!("New name for {from}"));
                let ok = ui
                    .add_enabled(!to.trim().is_empty(), egui::Button::new("Rename"))
                    .accessible_name(format!("Rename {from} to the new name"));
                if ok.clicked() {
                    rename = Some(Command::RenamePreset {
                        from: from.clone(),
                        to: to.trim().to_owned(),
                    });
                }
                cancel = ui
                    .button("Cancel")
                    .accessible_name(format!("Keep the name {from}"))
                    .clicked();
            });
            if cancel {
                menu.renaming = None;
            }
            commands.extend(rename);
        }
    }
    ui.separator();
    ui.label("Save the options as a preset");
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(&mut menu.new_name)
                .hint_text("name")
                .desired_width(150.0),
        )
        .accessible_name("New preset name");
        let save = ui
            .add_enabled(
                !menu.new_name.trim().is_empty(),
                egui::Button::new("Save preset"),
            )
            .on_hover_text(
                "Keep these options (never the inputs, the output or a password) under this \
                 name; a saved preset of that name is replaced",
            );
        if save.clicked() {
            commands.push(Command::SavePreset(kind));
        }
    });
}

/// "Copy as command", "Save as job file…" (the jobs Start would queue) and "Open job file…".
fn workflow_buttons(ui: &mut egui::Ui, state: &UiState, commands: &mut Vec<Command>) {
    let kind = state.settings.kind;
    let why_not = if state.inputs.is_empty() {
        Some("Add files or folders first".to_owned())
    } else {
        state.settings.form().and_then(|form| form.refusal())
    };
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        let copy = ui.add_enabled(why_not.is_none(), egui::Button::new("Copy as command"));
        let copy = match &why_not {
            None => copy.on_hover_text(
                "Copy the shrinkwrap command line that makes the same outputs as Start would \
                 (absolute paths; never a password)",
            ),
            Some(why) => copy.on_disabled_hover_text(why),
        };
        if copy.clicked() {
            commands.push(Command::CopyAsCommand(kind));
        }
        let save = ui.add_enabled(
            why_not.is_none() && !state.dialog_open,
            egui::Button::new("Save as job file…"),
        );
        let save = match &why_not {
            None => save.on_hover_text(
                "Save the job(s) Start would queue as a .toml job file \
                 (run it with shrinkwrap run, or open it here)",
            ),
            Some(why) => save.on_disabled_hover_text(why),
        };
        if save.clicked() {
            commands.push(Command::SaveJobFile(JobFileOf::Form(kind)));
        }
        let open = ui
            .add_enabled(!state.dialog_open, egui::Button::new("Open job file…"))
            .on_hover_text(
                "Queue the jobs of a .toml job file (dropping one on the window does too)",
            );
        if open.clicked() {
            let start_dir = state
                .inputs
                .entries()
                .first()
                .and_then(|e| e.path.parent().map(std::path::PathBuf::from));
            commands.push(Command::OpenDialog(DialogRequest::OpenJobFile {
                start_dir,
            }));
        }
    });
}

fn settings(ui: &mut egui::Ui, state: &mut UiState, commands: &mut Vec<Command>) {
    section_heading(ui, "Job", None);
    ui.horizontal(|ui| {
        for entry in kinds::ENTRIES {
            ui.selectable_value(&mut state.settings.kind, entry.kind, entry.tab_label())
                .on_hover_text(entry.tab_hint);
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            preset_menu(ui, state, commands);
        });
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
