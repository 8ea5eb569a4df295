//! Drawing: turns [`UiState`] into panels and widgets, and reports what the person did as
//! [`Command`]s.
//!
//! Layout: a toolbar on top (name, worker count), a status bar at the bottom (what runs, notices,
//! shortcuts), the inputs and the job settings on the left, the unfinished jobs found at start,
//! the plan preview and the queue in the middle, and the modal questions over everything.
//!
//! Keyboard: the window's first Tab stop, while there are jobs, is "Skip to the queue" (shown
//! only while it has the focus, as web pages do); it and F6 put the focus on the queue, so the
//! first card is two keys away instead of a Tab through every setting.
//!
//! Owns: layout and widgets, accessible names of every interactive widget, and calling each
//! kind's own drawing (its form, plan lines, card extras, questions) where it belongs.
//! Must not touch: the engine, threads, the file system; state other than the fields a widget
//! edits in place (text fields, settings). Everything else goes through a [`Command`].

pub(crate) mod form;
mod inputs_panel;
mod job_panel;
pub mod plan_panel;
mod prompts;
mod queue_panel;
mod quit_prompt;
pub mod theme;
mod unfinished_panel;
pub(crate) mod widgets;

use eframe::egui::{self, RichText};

use super::format;
use super::settings::{MEMORY_MB_RANGE, WORKERS_RANGE};
use super::state::{Command, UiState};

/// The height the inputs list keeps at least, above the job settings, in points.
const INPUTS_MIN_HEIGHT: f32 = 250.0;
/// The Start button with its spacing, in points.
const START_ROW_HEIGHT: f32 = 56.0;

/// Width of the left column (inputs and job settings) when the window opens.
const LEFT_PANEL_DEFAULT_WIDTH: f32 = 410.0;

/// Draws the whole window.
pub fn draw(
    ui: &mut egui::Ui,
    state: &mut UiState,
    icon: Option<&egui::TextureHandle>,
    commands: &mut Vec<Command>,
) {
    let panel_margin = egui::Margin::symmetric(16, 10);
    let to_queue = state.prompt.is_none() && !state.queue.rows().is_empty();
    if to_queue && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::F6)) {
        queue_panel::request_queue_focus(ui.ctx());
    }
    egui::Panel::top("toolbar")
        .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::symmetric(16, 8)))
        .show(ui, |ui| {
            if to_queue {
                skip_to_queue(ui);
            }
            toolbar(ui, state, icon, commands)
        });
    egui::Panel::bottom("status")
        .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::symmetric(16, 5)))
        .show(ui, |ui| status_bar(ui, state));
    egui::Panel::left("inputs-and-settings")
        .resizable(true)
        .default_size(LEFT_PANEL_DEFAULT_WIDTH)
        .size_range(340.0..=640.0)
        .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(panel_margin))
        .show(ui, |ui| {
            // The job settings take what they need, but leave the inputs list room to be
            // useful; on a short window the settings scroll instead.
            let settings_max_height =
                (ui.available_height() - INPUTS_MIN_HEIGHT - START_ROW_HEIGHT).max(120.0);
            egui::Panel::bottom("job-settings")
                .resizable(false)
                .show_separator_line(false)
                .frame(egui::Frame::NONE.inner_margin(egui::Margin {
                    top: 10,
                    ..Default::default()
                }))
                .show(ui, |ui| {
                    job_panel::show(ui, state, settings_max_height, commands)
                });
            egui::CentralPanel::no_frame().show(ui, |ui| inputs_panel::show(ui, state, commands));
        });
    egui::CentralPanel::default()
        .frame(egui::Frame::central_panel(ui.style()).inner_margin(egui::Margin::symmetric(18, 12)))
        .show(ui, |ui| {
            unfinished_panel::show(ui, state, commands);
            plan_panel::show(ui, state, commands);
            queue_panel::show(ui, state, commands);
        });
    prompts::show(ui.ctx(), state, commands);
    quit_prompt::show(ui.ctx(), state, commands);
    if state.files_hovering {
        drop_overlay(ui.ctx());
    }
}

/// The skip link: a Tab stop, first in the window, that puts the focus on the queue (Enter or
/// Space). Drawn only while it has the focus; the pointer never meets it.
fn skip_to_queue(ui: &mut egui::Ui) {
    const TEXT: &str = "Skip to the queue (F6)";
    let id = ui.make_persistent_id("skip-to-queue");
    let font = egui::TextStyle::Button.resolve(ui.style());
    let galley = ui
        .painter()
        .layout_no_wrap(TEXT.to_owned(), font, egui::Color32::WHITE);
    let padding = egui::vec2(10.0, 5.0);
    let rect = egui::Rect::from_min_size(ui.max_rect().min, galley.size() + 2.0 * padding);
    let response = ui.interact(rect, id, egui::Sense::focusable_noninteractive());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::accesskit::Role::Link, true, TEXT));
    if !response.has_focus() {
        return;
    }
    if ui.input_mut(|i| {
        i.consume_key(egui::Modifiers::NONE, egui::Key::Enter)
            || i.consume_key(egui::Modifiers::NONE, egui::Key::Space)
    }) {
        queue_panel::request_queue_focus(ui.ctx());
        ui.ctx().request_repaint();
    }
    let painter = ui
        .ctx()
        .layer_painter(egui::LayerId::new(egui::Order::Foreground, id));
    painter.rect(
        rect,
        4.0,
        theme::accent(ui.visuals()),
        ui.visuals().selection.stroke,
        egui::StrokeKind::Outside,
    );
    painter.galley(rect.min + padding, galley, egui::Color32::WHITE);
}

/// A section title with an optional weak note after it.
pub(crate) fn section_heading(ui: &mut egui::Ui, title: &str, note: Option<String>) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(title).heading().strong());
        if let Some(note) = note {
            ui.label(RichText::new(note).weak());
        }
    });
}

fn toolbar(
    ui: &mut egui::Ui,
    state: &mut UiState,
    icon: Option<&egui::TextureHandle>,
    commands: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        if let Some(icon) = icon {
            ui.add(egui::Image::from_texture(egui::load::SizedTexture::from_handle(icon)).max_size(egui::vec2(28.0, 28.0)));
        }
        ui.label(RichText::new("Shrinkwrap").size(19.0).strong());
        ui.label(RichText::new("Zip files and make thumbnails in the background").weak());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let mut workers = state.settings.worker_count();
            let range = *WORKERS_RANGE.start()..=*WORKERS_RANGE.end();
            let cores = state.cores;
            let drag = ui
                .add(egui::DragValue::new(&mut workers).range(range).speed(0.05))
                .on_hover_text(format!(
                    "How many files are compressed or images resized at once. This computer has {}; \
                     one worker per core is the default.",
                    format::plural(cores as u64, "core", "cores")
                ));
            let label = ui.label("Workers");
            let drag = drag.labelled_by(label.id);
            if drag.changed() && Some(workers) != state.settings.workers {
                commands.push(Command::SetWorkers(workers));
            }
            ui.separator();
            memory_setting(ui, state, commands);
        });
    });
}

/// The memory image decodes may hold together: "Auto" (0, a share of what the machine has) or
/// MB. Drawn right to left: the value, then its label.
fn memory_setting(ui: &mut egui::Ui, state: &UiState, commands: &mut Vec<Command>) {
    let mut mb = state.settings.memory_mb.unwrap_or(0);
    let max = *MEMORY_MB_RANGE.end();
    let drag = ui
        .add(
            egui::DragValue::new(&mut mb)
                .range(0..=max)
                .speed(8.0)
                .custom_formatter(|v, _| {
                    if v < 1.0 {
                        "Auto".to_owned()
                    } else {
                        format!("{v:.0} MB")
                    }
                })
                .custom_parser(|text| {
                    let t = text.trim().trim_end_matches("MB").trim();
                    if t.eq_ignore_ascii_case("auto") {
                        Some(0.0)
                    } else {
                        t.parse::<f64>().ok()
                    }
                }),
        )
        .on_hover_text(
            "How much memory the images being decoded may take together. Large images that do \
             not fit beside each other are decoded one after the other; an image that needs \
             more than this alone is refused with its figures. Auto: half of the memory this \
             computer has available.",
        );
    let label = ui.label("Memory");
    let drag = drag.labelled_by(label.id);
    let wanted = (mb > 0).then(|| mb.max(*MEMORY_MB_RANGE.start()));
    if drag.changed() && wanted != state.settings.memory_mb {
        commands.push(Command::SetMemory(wanted));
    }
}

fn status_bar(ui: &mut egui::Ui, state: &UiState) {
    ui.horizontal(|ui| {
        let counts = state.queue.live_counts();
        let mut parts = Vec::new();
        if counts.running > 0 {
            parts.push(format!("{} running", counts.running));
        }
        if counts.waiting > 0 {
            parts.push(format!("{} waiting", counts.waiting));
        }
        if counts.paused > 0 {
            parts.push(format!("{} paused", counts.paused));
        }
        let status = if parts.is_empty() {
            "Idle".to_owned()
        } else {
            format!(
                "{} on {}",
                parts.join(", "),
                format::plural(state.settings.worker_count() as u64, "worker", "workers")
            )
        };
        ui.label(RichText::new(status).small());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.add(
                egui::Label::new(
                    RichText::new(
                        "Drop files anywhere  ·  Ctrl+O add files  ·  Ctrl+Enter start  ·  \
                         Tab / arrows select a job  ·  Esc cancel it  ·  Delete remove input",
                    )
                    .small()
                    .weak(),
                )
                .truncate(),
            );
        });
    });
}

fn drop_overlay(ctx: &egui::Context) {
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop-overlay"),
    ));
    let rect = ctx.content_rect();
    let visuals = ctx.global_style().visuals.clone();
    let accent = theme::accent(&visuals);
    painter.rect_filled(rect, 0.0, accent.gamma_multiply(0.18));
    painter.rect_stroke(
        rect.shrink(6.0),
        10.0,
        egui::Stroke::new(3.0, accent),
        egui::StrokeKind::Inside,
    );
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        "Drop to add to the inputs",
        egui::FontId::proportional(22.0),
        visuals.strong_text_color(),
    );
}
