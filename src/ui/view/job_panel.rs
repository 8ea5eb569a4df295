//! The job column: what to make from the inputs (an archive or thumbnails), its settings, and
//! the button that queues it.
//!
//! Owns: drawing the settings (edited in place: they are plain data), the destination fields,
//! how many archives "one per folder" makes, and the live preview of thumbnail names.
//! Must not touch: building or submitting jobs (it emits [`Command::Start`]), dialogs (it asks
//! for them with a command).

use std::path::PathBuf;

use eframe::egui::{self, RichText};

use crate::engine::kinds::thumbs::color::ColorMode;
use crate::engine::kinds::thumbs::metadata::MetadataPolicy;
use crate::engine::{ConflictPolicy, ThumbFormat};

use super::super::dialogs::DialogRequest;
use super::super::format;
use super::super::inputs::InputSize;
use super::super::settings::{
    self, ArchiveExists, ArchiveLayout, CUSTOM_THUMB_SIDE_RANGE_PX, CompressionLevel,
    MAX_THUMB_SIZES, Operation, SampleNames, THUMB_SIZE_PRESETS_PX,
};
use super::super::state::{Command, UiState};
use super::{section_heading, theme, widgets};

/// How many images the name preview shows.
const NAME_SAMPLES: usize = 3;
/// The example file name standing for the images inside a folder input.
const EXAMPLE_IMAGE_NAME: &str = "IMG_0001.jpg";

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
        .show(ui, |ui| settings(ui, state, commands));
    ui.add_space(8.0);
    start_button(ui, state, commands);
    ui.add_space(4.0);
}

fn settings(ui: &mut egui::Ui, state: &mut UiState, commands: &mut Vec<Command>) {
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
}

fn settings_grid(ui: &mut egui::Ui, id: &str, add_rows: impl FnOnce(&mut egui::Ui)) {
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([12.0, 6.0])
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
    let inputs = first_inputs(state);
    let dialog_free = !state.dialog_open;
    let settings = &mut state.settings;
    let destinations = &mut state.destinations;
    settings_grid(ui, "compress-settings", |ui| {
        let label = row_label(ui, "Output");
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
        })
        .response
        .labelled_by(label.id);
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

        let label = row_label(ui, "If it exists");
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            for choice in ArchiveExists::ALL {
                // Named with the row: "Replace" alone is the question's button.
                ui.selectable_value(&mut settings.existing_archive, choice, choice.label())
                    .accessible_name(format!("If it exists: {}", choice.label()))
                    .on_hover_text(choice.hint());
            }
        })
        .response
        .labelled_by(label.id);
        ui.end_row();
    });
    if state.settings.archive_layout == ArchiveLayout::ArchivePerFolder && !state.inputs.is_empty()
    {
        archive_count(ui, state);
    }
}

/// "Makes 5 archives, 3 of them from single files" before starting (from the measured inputs).
fn archive_count(ui: &mut egui::Ui, state: &UiState) {
    let inputs = state.inputs.len() as u64;
    let files = state.inputs.plain_files().count() as u64;
    let mut text = format!("Makes {}", format::plural(inputs, "archive", "archives"));
    if state.inputs.measuring() {
        text.push_str(" (measuring the inputs…)");
    } else if files > 0 && inputs > 1 {
        text.push_str(&format!(
            ", {} from single files: Start asks first",
            if files == inputs {
                "all".to_owned()
            } else {
                format!("{files} of them")
            }
        ));
    }
    let color = if files > 0 && inputs > 1 {
        theme::warning(ui.visuals())
    } else {
        ui.visuals().weak_text_color()
    };
    ui.add(egui::Label::new(RichText::new(text).color(color)).wrap());
}

fn thumbnail_settings(ui: &mut egui::Ui, state: &mut UiState, commands: &mut Vec<Command>) {
    let inputs = first_inputs(state);
    // From last frame's template: a change shows in the next frame, which the edit asks for.
    let names = sample_names_now(state);
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

        let size_label = row_label(ui, "Sizes");
        ui.horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            size_toggles(ui, settings);
        })
        .response
        .labelled_by(size_label.id);
        ui.end_row();

        let add_label = row_label(ui, "Add size");
        ui.horizontal(|ui| {
            let range = *CUSTOM_THUMB_SIDE_RANGE_PX.start()..=*CUSTOM_THUMB_SIDE_RANGE_PX.end();
            ui.add(
                egui::DragValue::new(&mut settings.custom_thumb_side_px)
                    .range(range)
                    .suffix(" px"),
            )
            .labelled_by(add_label.id)
            .on_hover_text("Another size: the long side, in pixels");
            let px = settings.custom_thumb_side_px;
            let can_add = !settings.thumb_sizes_px.contains(&px)
                && settings.thumb_sizes_px.len() < MAX_THUMB_SIZES;
            let add = ui
                .add_enabled(can_add, egui::Button::new("Add"))
                .accessible_name(format!("Add {px} px"));
            let add = if can_add {
                add.on_hover_text(format!("Also make {px} px thumbnails"))
            } else {
                add.on_disabled_hover_text("Already in the list, or the list is full")
            };
            if add.clicked() {
                settings.add_thumb_size(px);
            }
        });
        ui.end_row();

        let name_label = row_label(ui, "Name");
        {
            let default = if settings.thumb_sizes_px.len() > 1 {
                "{stem}_{size}"
            } else {
                "{stem}"
            };
            let field = ui.add(
                egui::TextEdit::singleline(&mut settings.name_template)
                    .hint_text(default)
                    .desired_width(f32::INFINITY),
            );
            field.labelled_by(name_label.id).on_hover_text(
                "The thumbnails' file names: {stem} (the image's name), {size} (pixels), \
                 {ext} (its extension), {parent} (its folder's name). Empty: the default.",
            );
        }
        ui.end_row();

        // The first names, under the template, in the value column.
        ui.label("");
        ui.vertical(|ui| draw_names(ui, names));
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
        let lossy = match settings.thumb_format {
            ThumbFormat::Jpeg => true,
            ThumbFormat::Webp => !settings.webp_lossless,
            ThumbFormat::Png => false,
        };
        ui.horizontal(|ui| {
            let slider = ui
                .add_enabled(
                    lossy,
                    egui::Slider::new(&mut settings.jpeg_quality, 1..=100),
                )
                .labelled_by(quality_label.id);
            if lossy {
                slider.on_hover_text("Higher is sharper and larger");
            } else {
                slider.on_disabled_hover_text("Lossless: PNG, and WebP when lossless is chosen");
            }
            if settings.thumb_format == ThumbFormat::Webp {
                ui.checkbox(&mut settings.webp_lossless, "Lossless")
                    .on_hover_text("Lossless WebP: exact pixels, files about 6 times larger");
            }
        });
        ui.end_row();

        row_label(ui, "Metadata");
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            for policy in MetadataPolicy::ALL {
                let (label, hint) = match policy {
                    MetadataPolicy::Strip => (
                        "None",
                        "No EXIF or XMP: no GPS position, no camera serial (the private choice)",
                    ),
                    MetadataPolicy::KeepSafe => (
                        "Safe",
                        "Copyright, artist, date taken, camera and lens; no GPS, serial numbers, maker notes or XMP",
                    ),
                    MetadataPolicy::Keep => ("All", "All EXIF and XMP, GPS included"),
                };
                ui.selectable_value(&mut settings.metadata, policy, label)
                    .on_hover_text(hint);
            }
        });
        ui.end_row();

        row_label(ui, "Colours");
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            ui.selectable_value(&mut settings.color, ColorMode::ConvertToSrgb, "sRGB")
                .on_hover_text(
                    "Convert colour profiles (Display P3, Adobe RGB…) to sRGB: right in every viewer",
                );
            ui.selectable_value(&mut settings.color, ColorMode::KeepProfile, "Keep profile")
                .on_hover_text("Keep the photo's colour profile embedded (needs a colour-managed viewer)");
        });
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

/// The first inputs (the defaults shown as hints only depend on the first one): cloning every
/// path each frame would cost with 100,000 inputs.
fn first_inputs(state: &UiState) -> Vec<PathBuf> {
    state
        .inputs
        .entries()
        .iter()
        .take(1)
        .map(|e| e.path.clone())
        .collect()
}

/// One toggle per preset and per chosen size: a click adds or removes the size (the last size
/// stays).
fn size_toggles(ui: &mut egui::Ui, settings: &mut settings::Settings) {
    let mut shown: Vec<u32> = THUMB_SIZE_PRESETS_PX.to_vec();
    for &px in &settings.thumb_sizes_px {
        if !shown.contains(&px) {
            shown.push(px);
        }
    }
    shown.sort_unstable();
    for px in shown {
        let chosen = settings.thumb_sizes_px.contains(&px);
        let button = ui.add(egui::Button::selectable(chosen, format!("{px} px")));
        let button = if chosen {
            button.on_hover_text(format!(
                "Making {px} px thumbnails (the long side); click to leave this size out"
            ))
        } else {
            button.on_hover_text(format!(
                "Also make {px} px thumbnails (the long side; smaller images are kept as they are)"
            ))
        };
        if button.clicked() {
            if chosen {
                settings.remove_thumb_size(px);
            } else {
                settings.add_thumb_size(px);
            }
        }
    }
}

/// The first thumbnail names, live: from the fresh preview's plan (renames included), else
/// rendered here with the template; or the template's error.
fn sample_names_now(state: &UiState) -> Result<Vec<SampleNames>, String> {
    let from_plan = state
        .preview
        .view()
        .filter(|v| v.kind == crate::engine::kinds::thumbs::KIND && state.preview.is_fresh())
        .map(|v| v.first_names(NAME_SAMPLES))
        .filter(|names| !names.is_empty());
    match from_plan {
        Some(names) => Ok(names),
        None => {
            let sources: Vec<PathBuf> = state
                .inputs
                .entries()
                .iter()
                .take(NAME_SAMPLES)
                .map(|e| match e.size {
                    InputSize::Folder { .. } => e.path.join(EXAMPLE_IMAGE_NAME),
                    _ => e.path.clone(),
                })
                .collect();
            let sources = if sources.is_empty() {
                vec![PathBuf::from("photos").join(EXAMPLE_IMAGE_NAME)]
            } else {
                sources
            };
            settings::sample_names(&state.settings, &sources, NAME_SAMPLES)
        }
    }
}

/// The name preview under the template field, or the template's error in its place.
fn draw_names(ui: &mut egui::Ui, names: Result<Vec<SampleNames>, String>) {
    // Tight lines: these are small text, not controls.
    ui.spacing_mut().item_spacing.y = 0.0;
    ui.spacing_mut().interact_size.y = 15.0;
    match names {
        Ok(names) => {
            for SampleNames { source, outputs } in names {
                ui.horizontal(|ui| {
                    ui.spacing_mut().item_spacing.x = 4.0;
                    let weak = ui.visuals().weak_text_color();
                    ui.label(RichText::new(source).small().weak());
                    widgets::arrow(ui, weak);
                    ui.add(
                        egui::Label::new(RichText::new(outputs.join(", ")).small().weak())
                            .truncate(),
                    );
                });
            }
        }
        Err(message) => {
            ui.add(
                egui::Label::new(
                    RichText::new(message)
                        .small()
                        .color(theme::danger(ui.visuals())),
                )
                .wrap(),
            );
        }
    }
}

fn start_button(ui: &mut egui::Ui, state: &UiState, commands: &mut Vec<Command>) {
    let operation = state.settings.operation;
    let refusal = state.start_refusal();
    let text = refusal
        .as_ref()
        .and_then(|r| r.button)
        .unwrap_or(match operation {
            Operation::Compress => "Compress",
            Operation::Thumbnails => "Make thumbnails",
        });
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
        commands.push(Command::Start(operation));
    }
}
