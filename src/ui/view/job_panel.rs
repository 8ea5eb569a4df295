//! The job column: what to make from the inputs (an archive or thumbnails), its settings, and
//! the button that queues it.
//!
//! Owns: drawing the settings (edited in place: they are plain data) and the destination fields.
//! Must not touch: building or submitting jobs (it emits [`Command::Start`]), dialogs (it asks
//! for them with a command).

use std::path::PathBuf;

use eframe::egui::{self, RichText};

use crate::engine::{ConflictPolicy, ThumbFormat};

use super::super::dialogs::DialogRequest;
use super::super::settings::{
    ArchiveLayout, CUSTOM_THUMB_SIDE_RANGE_PX, CompressionLevel, Operation, THUMB_SIZE_PRESETS_PX,
    ThumbSize,
};
use super::super::state::{Command, UiState};
use super::{section_heading, theme};

/// Height of the button that queues the job.
const START_BUTTON_HEIGHT: f32 = 34.0;

pub fn show(ui: &mut egui::Ui, state: &mut UiState, commands: &mut Vec<Command>) {
    ui.separator();
    section_heading(ui, "Job", None);
    ui.horizontal(|ui| {
        let operation = &mut state.settings.operation;
        ui.selectable_value(operation, Operation::Compress, "Zip archive")
            .on_hover_text("Compress the inputs into a zip archive");
        ui.selectable_value(operation, Operation::Thumbnails, "Thumbnails")
            .on_hover_text("Make a small copy of every image in the inputs");
    });
    ui.add_space(4.0);
    match state.settings.operation {
        Operation::Compress => compress_settings(ui, state, commands),
        Operation::Thumbnails => thumbnail_settings(ui, state, commands),
    }
    ui.add_space(8.0);
    start_button(ui, state, commands);
    ui.add_space(4.0);
}

fn settings_grid(ui: &mut egui::Ui, id: &str, add_rows: impl FnOnce(&mut egui::Ui)) {
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([12.0, 8.0])
        .min_col_width(72.0)
        .show(ui, add_rows);
}

fn row_label(ui: &mut egui::Ui, text: &str) -> egui::Response {
    ui.label(RichText::new(text).color(ui.visuals().weak_text_color()))
}

/// A path field with a Browse… button; empty means the default, shown as the hint.
fn path_field(
    ui: &mut egui::Ui,
    label: &egui::Response,
    text: &mut String,
    default_hint: String,
    accessible_name: &str,
    browse: Option<DialogRequest>,
    commands: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        let browse_width = 76.0;
        let width = (ui.available_width() - browse_width - ui.spacing().item_spacing.x).max(80.0);
        let field = ui.add_sized(
            [width, ui.spacing().interact_size.y],
            egui::TextEdit::singleline(text).hint_text(default_hint),
        );
        let field = field.labelled_by(label.id).accessible_name(accessible_name);
        field.on_hover_text("Leave empty for the default, next to the first input");
        let browse_button = ui.add_enabled(browse.is_some(), egui::Button::new("Browse…"));
        if browse_button.clicked()
            && let Some(request) = browse
        {
            commands.push(Command::OpenDialog(request));
        }
    });
}

fn default_hint(path: Option<PathBuf>) -> String {
    path.map(|p| p.display().to_string())
        .unwrap_or_else(|| "next to the first input".to_owned())
}

fn compress_settings(ui: &mut egui::Ui, state: &mut UiState, commands: &mut Vec<Command>) {
    let inputs = state.inputs.paths();
    let dialog_free = !state.dialog_open;
    let settings = &mut state.settings;
    let destinations = &mut state.destinations;
    settings_grid(ui, "compress-settings", |ui| {
        row_label(ui, "Output");
        ui.horizontal(|ui| {
            ui.radio_value(
                &mut settings.archive_layout,
                ArchiveLayout::SingleArchive,
                "One archive",
            );
            ui.radio_value(
                &mut settings.archive_layout,
                ArchiveLayout::ArchivePerFolder,
                "One per folder",
            )
            .on_hover_text("Each input becomes its own archive, named after it");
        });
        ui.end_row();

        match settings.archive_layout {
            ArchiveLayout::SingleArchive => {
                let label = row_label(ui, "Save as");
                let suggested = destinations.archive_path(&inputs);
                let browse = dialog_free.then(|| DialogRequest::SaveArchive {
                    suggested: suggested.clone(),
                });
                path_field(
                    ui,
                    &label,
                    &mut destinations.archive,
                    default_hint(suggested),
                    "Archive path",
                    browse,
                    commands,
                );
            }
            ArchiveLayout::ArchivePerFolder => {
                let label = row_label(ui, "Into folder");
                let folder = destinations.archives_folder_path(&inputs);
                let browse = dialog_free.then(|| DialogRequest::ArchivesFolder {
                    start_dir: folder.clone(),
                });
                path_field(
                    ui,
                    &label,
                    &mut destinations.archives_folder,
                    default_hint(folder),
                    "Folder for the archives",
                    browse,
                    commands,
                );
            }
        }
        ui.end_row();

        row_label(ui, "Level");
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            for level in CompressionLevel::ALL {
                ui.selectable_value(&mut settings.compression, level, level.label())
                    .on_hover_text(level.hint());
            }
        });
        ui.end_row();

        row_label(ui, "Existing");
        ui.checkbox(
            &mut settings.overwrite_archives,
            "Replace an archive that already exists",
        );
        ui.end_row();
    });
}

fn thumbnail_settings(ui: &mut egui::Ui, state: &mut UiState, commands: &mut Vec<Command>) {
    let inputs = state.inputs.paths();
    let dialog_free = !state.dialog_open;
    let settings = &mut state.settings;
    let destinations = &mut state.destinations;
    settings_grid(ui, "thumbnail-settings", |ui| {
        let label = row_label(ui, "Into folder");
        let folder = destinations.thumbnails_folder_path(&inputs);
        let browse = dialog_free.then(|| DialogRequest::ThumbnailsFolder {
            start_dir: folder.clone(),
        });
        path_field(
            ui,
            &label,
            &mut destinations.thumbnails_folder,
            default_hint(folder),
            "Folder for the thumbnails",
            browse,
            commands,
        );
        ui.end_row();

        let size_label = row_label(ui, "Size");
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            for px in THUMB_SIZE_PRESETS_PX {
                ui.selectable_value(
                    &mut settings.thumb_size,
                    ThumbSize::Preset(px),
                    format!("{px} px"),
                )
                .on_hover_text(format!(
                    "The long side becomes {px} pixels (smaller images are kept as they are)"
                ));
            }
            ui.selectable_value(&mut settings.thumb_size, ThumbSize::Custom, "Custom");
            if settings.thumb_size == ThumbSize::Custom {
                let range = *CUSTOM_THUMB_SIDE_RANGE_PX.start()..=*CUSTOM_THUMB_SIDE_RANGE_PX.end();
                ui.add(
                    egui::DragValue::new(&mut settings.custom_thumb_side_px)
                        .range(range)
                        .suffix(" px"),
                )
                .labelled_by(size_label.id)
                .on_hover_text("Custom size: the long side, in pixels");
            }
        });
        ui.end_row();

        row_label(ui, "Format");
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            for format in ThumbFormat::ALL {
                ui.selectable_value(&mut settings.thumb_format, format, format.label());
            }
        });
        ui.end_row();

        let quality_label = row_label(ui, "Quality");
        let is_jpeg = settings.thumb_format == ThumbFormat::Jpeg;
        let slider = ui
            .add_enabled(
                is_jpeg,
                egui::Slider::new(&mut settings.jpeg_quality, 1..=100),
            )
            .labelled_by(quality_label.id);
        if is_jpeg {
            slider.on_hover_text("JPEG quality: higher is sharper and larger");
        } else {
            slider.on_disabled_hover_text(
                "Only JPEG has a quality: PNG and WebP thumbnails are lossless",
            );
        }
        ui.end_row();

        row_label(ui, "Name taken");
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            for policy in ConflictPolicy::ALL {
                let hint = match policy {
                    ConflictPolicy::Update => {
                        "Replace the existing thumbnail only when its image is newer"
                    }
                    ConflictPolicy::Rename => {
                        "Keep the existing file and name the new one “photo (1).jpg”"
                    }
                    ConflictPolicy::Overwrite => "Replace the existing file",
                    ConflictPolicy::Skip => "Keep the existing file and make no new one",
                };
                ui.selectable_value(&mut settings.on_conflict, policy, policy.label())
                    .on_hover_text(hint);
            }
        });
        ui.end_row();
    });
}

fn start_button(ui: &mut egui::Ui, state: &UiState, commands: &mut Vec<Command>) {
    let operation = state.settings.operation;
    let text = match operation {
        Operation::Compress => "Compress",
        Operation::Thumbnails => "Make thumbnails",
    };
    let enabled = !state.inputs.is_empty();
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
    let response = if enabled {
        response.on_hover_text("Queue this job; it runs in the background")
    } else {
        response.on_disabled_hover_text("Add files or folders first")
    };
    if response.clicked() {
        commands.push(Command::Start(operation));
    }
}
