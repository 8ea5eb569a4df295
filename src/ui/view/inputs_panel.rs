//! The inputs column: add buttons, the paste-a-path field, the list of inputs with their sizes,
//! and the notice box (e.g. "the file dialog could not be opened").
//!
//! Owns: drawing the input list and its controls.
//! Must not touch: measuring (done off-thread; this only shows the result), dialogs (it asks for
//! them with a command).

use std::path::PathBuf;

use eframe::egui::{self, RichText};

use super::super::dialogs::DialogRequest;
use super::super::format;
use super::super::inputs::{InputEntry, InputSize};
use super::super::state::{Command, NoticeLevel, UiState};
use super::{section_heading, theme, widgets};

/// Height of one row of the input list (name line and folder line), in points.
const INPUT_ROW_HEIGHT: f32 = 44.0;

/// A paste of several lines (a file manager's Copy of several files) into the path field: each
/// line is one input, added at once. The single-line field would join the lines into one bogus
/// path, so the paste is taken before the field sees it; a one-line paste goes to the field.
fn take_pasted_lines(ui: &egui::Ui, commands: &mut Vec<Command>) {
    let pasted: Vec<String> = ui.input_mut(|i| {
        let mut taken = Vec::new();
        i.events.retain(|event| match event {
            egui::Event::Paste(text) if text.trim().lines().count() > 1 => {
                taken.push(text.clone());
                false
            }
            _ => true,
        });
        taken
    });
    for text in pasted {
        let paths = super::super::typed_path::typed_paths(&text);
        if !paths.is_empty() {
            commands.push(Command::AddPaths(paths));
        }
    }
}

pub fn show(ui: &mut egui::Ui, state: &mut UiState, commands: &mut Vec<Command>) {
    let count = state.inputs.len();
    section_heading(
        ui,
        "Inputs",
        (count > 0).then(|| format::plural(count as u64, "item", "items")),
    );
    ui.add_space(2.0);

    let start_dir = state
        .inputs
        .entries()
        .first()
        .and_then(|e| e.path.parent().map(PathBuf::from));
    ui.horizontal(|ui| {
        let enabled = !state.dialog_open;
        let add_files = ui
            .add_enabled(enabled, egui::Button::new("Add files…"))
            .on_hover_text("Ctrl+O");
        if add_files.clicked() {
            commands.push(Command::OpenDialog(DialogRequest::AddFiles {
                start_dir: start_dir.clone(),
            }));
        }
        if ui
            .add_enabled(enabled, egui::Button::new("Add folder…"))
            .clicked()
        {
            commands.push(Command::OpenDialog(DialogRequest::AddFolders { start_dir }));
        }
        if state.dialog_open {
            ui.label(RichText::new("Waiting for the file dialog…").weak().small());
        }
    });

    ui.horizontal(|ui| {
        let add_width = 52.0;
        let field_width =
            (ui.available_width() - add_width - ui.spacing().item_spacing.x).max(80.0);
        let field_id = ui.make_persistent_id("path-field");
        if ui.memory(|m| m.has_focus(field_id)) {
            take_pasted_lines(ui, commands);
        }
        let field = ui.add_sized(
            [field_width, ui.spacing().interact_size.y],
            egui::TextEdit::singleline(&mut state.path_field)
                .id(field_id)
                .hint_text("Paste a path, then press Enter"),
        );
        let field = field.accessible_name("Path to add");
        let pressed_enter = field.lost_focus()
            && ui.input(|i| i.key_pressed(egui::Key::Enter) && !i.modifiers.command);
        let has_text = !state.path_field.trim().is_empty();
        let add = ui.add_enabled(
            has_text,
            egui::Button::new("Add").min_size(egui::vec2(add_width, 0.0)),
        );
        if (add.clicked() || pressed_enter) && has_text {
            commands.push(Command::AddTypedPaths);
        }
        if pressed_enter {
            // Enter adds the path and stays in the field, ready for the next one.
            field.request_focus();
        }
    });

    if let Some(notice) = &state.notice {
        notice_box(ui, notice.level, &notice.text, commands);
    }

    ui.add_space(4.0);
    let footer_height = ui.spacing().interact_size.y + 6.0;
    let list_height = (ui.available_height() - footer_height).max(60.0);
    let frame = egui::Frame::new()
        .fill(ui.visuals().extreme_bg_color)
        .stroke(theme::card_stroke(ui.visuals()))
        .corner_radius(6)
        .inner_margin(egui::Margin::same(4));
    frame.show(ui, |ui| {
        ui.set_min_height(list_height - 10.0);
        ui.set_width(ui.available_width());
        if state.inputs.is_empty() {
            empty_list(ui, list_height - 10.0);
        } else {
            egui::ScrollArea::vertical()
                .id_salt("input-list")
                .max_height(list_height - 10.0)
                .auto_shrink([false, true])
                .show_rows(ui, INPUT_ROW_HEIGHT, state.inputs.len(), |ui, rows| {
                    // Only the visible rows are laid out: thousands of inputs stay cheap.
                    let selected = state.inputs.selected();
                    let entries = state.inputs.entries();
                    for index in rows {
                        let Some(entry) = entries.get(index) else {
                            break;
                        };
                        let size = egui::vec2(ui.available_width(), INPUT_ROW_HEIGHT);
                        ui.allocate_ui_with_layout(
                            size,
                            egui::Layout::top_down(egui::Align::Min),
                            |ui| {
                                ui.set_height(INPUT_ROW_HEIGHT);
                                input_row(ui, index, entry, selected == Some(index), commands);
                            },
                        );
                    }
                    widgets::keep_focus_in_view(ui);
                });
        }
    });

    ui.horizontal(|ui| {
        let (files, bytes) = state.inputs.totals();
        let totals = if state.inputs.is_empty() {
            String::new()
        } else if state.inputs.measuring() {
            format!(
                "{} · {} so far…",
                format::plural(files, "file", "files"),
                format::bytes(bytes)
            )
        } else {
            format!(
                "{} · {}",
                format::plural(files, "file", "files"),
                format::bytes(bytes)
            )
        };
        ui.label(RichText::new(totals).weak());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .add_enabled(!state.inputs.is_empty(), egui::Button::new("Clear all"))
                .clicked()
            {
                commands.push(Command::ClearInputs);
            }
        });
    });
}

fn empty_list(ui: &mut egui::Ui, height: f32) {
    ui.allocate_ui_with_layout(
        egui::vec2(ui.available_width(), height),
        egui::Layout::centered_and_justified(egui::Direction::TopDown),
        |ui| {
            ui.label(
                RichText::new("Drop files or folders here\nor use Add files… / Add folder… above")
                    .color(ui.visuals().weak_text_color())
                    .size(14.0),
            );
        },
    );
}

fn input_row(
    ui: &mut egui::Ui,
    index: usize,
    entry: &InputEntry,
    selected: bool,
    commands: &mut Vec<Command>,
) {
    let name = entry.name();
    let (icon, size_text, problem) = match &entry.size {
        InputSize::Measuring => (EntryIcon::File, "measuring…".to_owned(), None),
        InputSize::File { bytes } => (EntryIcon::File, format::bytes(*bytes), None),
        InputSize::Folder { files, bytes } => (
            EntryIcon::Folder,
            format!(
                "{} · {}",
                format::plural(*files, "file", "files"),
                format::bytes(*bytes)
            ),
            None,
        ),
        InputSize::Unreadable(cause) => (EntryIcon::Missing, String::new(), Some(cause.clone())),
    };
    let fill = if selected {
        ui.visuals().selection.bg_fill.gamma_multiply(0.35)
    } else {
        egui::Color32::TRANSPARENT
    };
    egui::Frame::new()
        .fill(fill)
        .corner_radius(4)
        .inner_margin(egui::Margin::symmetric(6, 3))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                entry_icon(ui, icon);
                ui.vertical(|ui| {
                    ui.spacing_mut().item_spacing.y = 0.0;
                    ui.horizontal(|ui| {
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            let remove = widgets::close_button(ui, &format!("Remove {name}"));
                            if remove.clicked() {
                                commands.push(Command::RemoveInput(index));
                            }
                            match &problem {
                                Some(cause) => {
                                    ui.label(
                                        RichText::new(cause)
                                            .color(theme::danger(ui.visuals()))
                                            .small(),
                                    );
                                }
                                None => {
                                    ui.label(RichText::new(&size_text).weak().small());
                                }
                            }
                            ui.with_layout(
                                egui::Layout::left_to_right(egui::Align::Center),
                                |ui| {
                                    let name_button = egui::Button::selectable(
                                        selected,
                                        RichText::new(&name).strong(),
                                    )
                                    .frame_when_inactive(false)
                                    .truncate();
                                    if ui
                                        .add(name_button)
                                        .on_hover_text(entry.path.display().to_string())
                                        .clicked()
                                    {
                                        commands.push(Command::SelectInput(index));
                                    }
                                },
                            );
                        });
                    });
                    let parent = entry
                        .path
                        .parent()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    ui.add(egui::Label::new(RichText::new(parent).small().weak()).truncate());
                });
            });
        });
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EntryIcon {
    File,
    Folder,
    Missing,
}

/// A small drawn file or folder symbol (crisp at any scale, no font glyph needed).
fn entry_icon(ui: &mut egui::Ui, icon: EntryIcon) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(18.0, 18.0), egui::Sense::hover());
    let visuals = ui.visuals();
    let painter = ui.painter();
    let stroke_color = match icon {
        EntryIcon::Missing => theme::danger(visuals),
        _ => visuals.weak_text_color(),
    };
    let stroke = egui::Stroke::new(1.3, stroke_color);
    match icon {
        EntryIcon::Folder => {
            let color = theme::warning(visuals);
            let body = egui::Rect::from_min_max(
                rect.min + egui::vec2(1.0, 5.0),
                rect.max - egui::vec2(1.0, 2.0),
            );
            let tab =
                egui::Rect::from_min_size(rect.min + egui::vec2(1.0, 3.0), egui::vec2(7.0, 4.0));
            painter.rect_filled(tab, 1.5, color.gamma_multiply(0.8));
            painter.rect_filled(body, 2.0, color);
        }
        EntryIcon::File | EntryIcon::Missing => {
            let body = egui::Rect::from_min_max(
                rect.min + egui::vec2(4.0, 1.5),
                rect.max - egui::vec2(3.0, 1.5),
            );
            let fold = 4.5;
            let points = vec![
                body.left_top(),
                egui::pos2(body.right() - fold, body.top()),
                egui::pos2(body.right(), body.top() + fold),
                body.right_bottom(),
                body.left_bottom(),
            ];
            painter.add(egui::Shape::closed_line(points, stroke));
            painter.line_segment(
                [
                    egui::pos2(body.right() - fold, body.top()),
                    egui::pos2(body.right() - fold, body.top() + fold),
                ],
                stroke,
            );
            painter.line_segment(
                [
                    egui::pos2(body.right() - fold, body.top() + fold),
                    egui::pos2(body.right(), body.top() + fold),
                ],
                stroke,
            );
        }
    }
}

fn notice_box(ui: &mut egui::Ui, level: NoticeLevel, text: &str, commands: &mut Vec<Command>) {
    let color = match level {
        NoticeLevel::Info => ui.visuals().text_color(),
        NoticeLevel::Warning => theme::warning(ui.visuals()),
    };
    egui::Frame::new()
        .fill(color.gamma_multiply(0.12))
        .stroke(egui::Stroke::new(1.0, color.gamma_multiply(0.6)))
        .corner_radius(6)
        .inner_margin(egui::Margin::symmetric(10, 6))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Min), |ui| {
                    let dismiss = widgets::close_button(ui, "Dismiss this message");
                    if dismiss.clicked() {
                        commands.push(Command::DismissNotice);
                    }
                    ui.with_layout(egui::Layout::left_to_right(egui::Align::Min), |ui| {
                        ui.add(egui::Label::new(RichText::new(text).color(color)).wrap());
                    });
                });
            });
        });
}
