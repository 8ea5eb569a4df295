//! The queue: one card per job, newest at the bottom, with live progress while it runs and its
//! outcome, output, problems and thumbnails once it has finished; a job that failed because its
//! archive exists offers Replace and Keep both on its card.
//!
//! Owns: drawing job cards and the queue's header buttons.
//! Must not touch: the engine (Cancel, Open folder... are commands), textures' creation (the app
//! uploads strip images; this only draws them).

use eframe::egui::{self, RichText};

use crate::engine::{ExistingArchive, JobKind, JobReport, JobState, ProblemKind};

use super::super::format;
use super::super::queue::{JobRow, Queue};
use super::super::state::Command;
use super::{section_heading, theme, widgets};

/// Problems listed per job before "and N more".
const PROBLEMS_SHOWN: usize = 200;
/// Height of the thumbnails in a strip, in points.
const STRIP_HEIGHT: f32 = 80.0;

/// Draws the queue. `answers` is false while a modal question is open (the cards' own answer
/// buttons are hidden then: the question has them).
pub fn show(ui: &mut egui::Ui, queue: &Queue, answers: bool, commands: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        let active = queue.active_count();
        let finished = queue.finished_count();
        let note = match (active, finished) {
            (0, 0) => None,
            (a, 0) => Some(format!("{a} running")),
            (0, f) => Some(format!("{f} finished")),
            (a, f) => Some(format!("{a} running · {f} finished")),
        };
        section_heading(ui, "Queue", note);
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .add_enabled(queue.any_active(), egui::Button::new("Cancel all"))
                .clicked()
            {
                commands.push(Command::CancelAll);
            }
            if ui
                .add_enabled(finished > 0, egui::Button::new("Clear finished"))
                .clicked()
            {
                commands.push(Command::ClearFinished);
            }
        });
    });
    ui.add_space(6.0);

    if queue.rows().is_empty() {
        ui.allocate_ui_with_layout(
            ui.available_size(),
            egui::Layout::centered_and_justified(egui::Direction::TopDown),
            |ui| {
                ui.label(
                    RichText::new(
                        "No jobs yet.\nAdd files or folders on the left, then press Compress or Make thumbnails.",
                    )
                    .color(ui.visuals().weak_text_color())
                    .size(14.0),
                );
            },
        );
        return;
    }

    egui::ScrollArea::vertical()
        .id_salt("queue")
        .auto_shrink([false, false])
        .stick_to_bottom(true)
        .show(ui, |ui| {
            for row in queue.rows() {
                job_card(ui, row, queue.selected() == Some(row.id), answers, commands);
                ui.add_space(8.0);
            }
        });
}

fn job_card(
    ui: &mut egui::Ui,
    row: &JobRow,
    selected: bool,
    answers: bool,
    commands: &mut Vec<Command>,
) {
    let visuals = ui.visuals().clone();
    let stroke = if selected {
        egui::Stroke::new(1.5, theme::accent(&visuals))
    } else {
        theme::card_stroke(&visuals)
    };
    let card = egui::Frame::new()
        .fill(theme::card_fill(&visuals))
        .stroke(stroke)
        .corner_radius(8)
        .inner_margin(egui::Margin::symmetric(14, 10));
    let scope = ui.scope_builder(
        egui::UiBuilder::new()
            .id_salt(("job", row.id.0))
            .sense(egui::Sense::click()),
        |ui| {
            // Plain clicks on the card's text select the job (instead of starting a text selection).
            ui.style_mut().interaction.selectable_labels = false;
            card.show(ui, |ui| {
                ui.set_width(ui.available_width());
                card_header(ui, row, commands);
                match &row.report {
                    None => progress_details(ui, row),
                    Some(report) => finished_details(ui, row, report),
                }
                if let Some(plan) = &row.plan {
                    for warning in &plan.warnings {
                        ui.add(
                            egui::Label::new(
                                RichText::new(warning.to_string())
                                    .small()
                                    .color(theme::warning(ui.visuals())),
                            )
                            .wrap(),
                        );
                    }
                }
                if answers && let Some(existing) = row.existing_archive() {
                    existing_archive_answers(ui, row, existing, commands);
                }
            });
        },
    );
    if scope.response.clicked() {
        commands.push(Command::SelectJob(row.id));
    }
}

/// A job that failed because its archive exists: the same answers the question offers.
fn existing_archive_answers(
    ui: &mut egui::Ui,
    row: &JobRow,
    existing: &std::path::Path,
    commands: &mut Vec<Command>,
) {
    let name = existing
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| existing.display().to_string());
    ui.add_space(2.0);
    ui.horizontal(|ui| {
        let replace = ui
            .button("Replace")
            .accessible_name(format!("Replace {name}"))
            .on_hover_text(format!(
                "Run the job again and replace {name} once the new archive is complete"
            ));
        if replace.clicked() {
            commands.push(Command::RetryArchive(row.id, ExistingArchive::Replace));
        }
        let keep = ui
            .button("Keep both")
            .accessible_name(format!("Keep {name} and write a new archive"))
            .on_hover_text(format!(
                "Run the job again; {name} is kept and the new archive gets a free name"
            ));
        if keep.clicked() {
            commands.push(Command::RetryArchive(row.id, ExistingArchive::KeepBoth));
        }
    });
}

fn kind_badge(ui: &mut egui::Ui, kind: JobKind) {
    let (text, color) = match kind {
        JobKind::Zip => ("ZIP", theme::accent(ui.visuals())),
        JobKind::Thumbs => ("THUMBS", egui::Color32::from_rgb(150, 105, 205)),
    };
    egui::Frame::new()
        .fill(color.gamma_multiply(0.16))
        .corner_radius(4)
        .inner_margin(egui::Margin::symmetric(6, 1))
        .show(ui, |ui| {
            ui.label(RichText::new(text).small().strong().color(color));
        })
        .response
        .on_hover_text(kind.label());
}

fn card_header(ui: &mut egui::Ui, row: &JobRow, commands: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        kind_badge(ui, row.kind);
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if row.is_finished() {
                let open = ui
                    .add(egui::Button::new("Open folder"))
                    .on_hover_text(format!(
                        "Show {} in the file manager",
                        row.folder_to_open().display()
                    ));
                if open.clicked() {
                    commands.push(Command::OpenFolder(row.folder_to_open().to_path_buf()));
                }
            } else if ui
                .button("Cancel")
                .on_hover_text("Stop this job and remove its partial output")
                .clicked()
            {
                commands.push(Command::Cancel(row.id));
            }
            let state = row.state();
            let state_text = match &row.report {
                Some(report) => report.summary(),
                None => state.label().to_owned(),
            };
            let color = theme::state_color(ui.visuals(), state);
            if row.is_finished() {
                // The outcome gets its own wrapped line below when long (a failure's cause).
                if state_text.len() <= 40 {
                    ui.label(RichText::new(state_text).strong().color(color));
                }
            } else {
                ui.label(RichText::new(state_text).color(color));
            }
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                ui.add(egui::Label::new(RichText::new(&row.name).strong().size(14.5)).truncate())
                    .on_hover_text(row.output.display().to_string());
            });
        });
    });
}

fn progress_details(ui: &mut egui::Ui, row: &JobRow) {
    let progress = &row.progress;
    let accent = theme::accent(ui.visuals());
    let bar_text = match progress.state {
        JobState::Queued => "waiting for a worker".to_owned(),
        JobState::Scanning => "scanning the inputs…".to_owned(),
        JobState::Planning => "planning every output…".to_owned(),
        _ => format::percent(progress.fraction(), false),
    };
    widgets::progress_bar(ui, progress.fraction(), accent, &bar_text);

    let unit = match row.kind {
        JobKind::Zip => ("entry", "entries"),
        JobKind::Thumbs => ("image", "images"),
    };
    let mut parts = Vec::new();
    if progress.bytes_total > 0 {
        parts.push(format!(
            "{} of {}",
            format::bytes(progress.bytes_done),
            format::bytes(progress.bytes_total)
        ));
    }
    if progress.items_total > 0 {
        parts.push(format!(
            "{} of {}",
            format::count(progress.items_done),
            format::plural(progress.items_total, unit.0, unit.1)
        ));
    }
    if progress.state == JobState::Running {
        parts.push(format::speed(progress.bytes_per_sec));
        if let Some(eta) = progress.eta {
            parts.push(format::eta(eta));
        }
    }
    if progress.errors > 0 {
        parts.push(format::plural(progress.errors, "error", "errors"));
    }
    if !parts.is_empty() {
        ui.label(parts.join("  ·  "));
    }
    if let Some(current) = &progress.current_item {
        ui.add(
            egui::Label::new(RichText::new(format!("Now: {current}")).small().weak()).truncate(),
        );
    }
}

fn finished_details(ui: &mut egui::Ui, row: &JobRow, report: &JobReport) {
    let visuals = ui.visuals().clone();
    let summary = report.summary();
    if summary.len() > 40 {
        ui.add(
            egui::Label::new(
                RichText::new(&summary)
                    .strong()
                    .color(theme::state_color(&visuals, row.state())),
            )
            .wrap(),
        );
    }
    let mut parts = vec![format!(
        "took {}",
        format::duration(report.progress.elapsed)
    )];
    match row.kind {
        JobKind::Zip if report.archive.is_some() => {
            let mut size = format!("archive {}", format::bytes(report.output_bytes));
            if let Some(ratio) = row.compression_ratio() {
                size.push_str(&format!(
                    " ({:.0} % of {})",
                    ratio * 100.0,
                    format::bytes(report.progress.bytes_total)
                ));
            }
            parts.push(size);
            parts.push(format::plural(
                report.progress.items_total,
                "entry",
                "entries",
            ));
        }
        JobKind::Thumbs if !report.outputs.is_empty() => {
            parts.push(format!(
                "{}, {}",
                format::plural(report.outputs.len() as u64, "thumbnail", "thumbnails"),
                format::bytes(report.output_bytes)
            ));
        }
        _ => {}
    }
    if !report.outputs.is_empty() || report.archive.is_some() {
        parts.push(format!("in {}", row.folder_to_open().display()));
    }
    ui.add(egui::Label::new(RichText::new(parts.join("  ·  ")).weak()).wrap());

    if !report.problems.is_empty() {
        problem_list(ui, row, report);
    }
    if row.kind == JobKind::Thumbs && (!row.strip.textures.is_empty() || row.strip.pending > 0) {
        thumbnail_strip(ui, row);
    }
}

fn problem_list(ui: &mut egui::Ui, row: &JobRow, report: &JobReport) {
    let errors = report
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::Error)
        .count() as u64;
    let skipped = report.problems.len() as u64 - errors;
    let title = match (errors, skipped) {
        (e, 0) => format!("Show {}", format::plural(e, "error", "errors")),
        (0, s) => format!("Show {s} skipped"),
        (e, s) => format!(
            "Show {} and {s} skipped",
            format::plural(e, "error", "errors")
        ),
    };
    egui::CollapsingHeader::new(title)
        .id_salt(("problems", row.id.0))
        .show(ui, |ui| {
            // Paths and causes can be selected and copied.
            ui.style_mut().interaction.selectable_labels = true;
            let danger = theme::danger(ui.visuals());
            let warning = theme::warning(ui.visuals());
            for problem in report.problems.iter().take(PROBLEMS_SHOWN) {
                let color = if problem.kind == ProblemKind::Error {
                    danger
                } else {
                    warning
                };
                let path = if problem.path.as_os_str().is_empty() {
                    "(job)".to_owned()
                } else {
                    problem.path.display().to_string()
                };
                ui.add(egui::Label::new(RichText::new(path).monospace()).wrap());
                ui.indent(("problem", &problem.path), |ui| {
                    ui.add(
                        egui::Label::new(RichText::new(problem.cause.to_string()).color(color))
                            .wrap(),
                    );
                });
            }
            if report.problems.len() > PROBLEMS_SHOWN {
                ui.label(
                    RichText::new(format!(
                        "and {} more",
                        report.problems.len() - PROBLEMS_SHOWN
                    ))
                    .weak(),
                );
            }
        });
}

fn thumbnail_strip(ui: &mut egui::Ui, row: &JobRow) {
    ui.add_space(2.0);
    // A wrapped grid: every thumbnail the same height, widths by aspect ratio.
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing = egui::vec2(6.0, 6.0);
        for texture in &row.strip.textures {
            let [width, height] = texture.size();
            let aspect = width as f32 / height.max(1) as f32;
            let size = egui::vec2(
                (STRIP_HEIGHT * aspect).clamp(STRIP_HEIGHT * 0.5, STRIP_HEIGHT * 2.0),
                STRIP_HEIGHT,
            );
            ui.add(
                egui::Image::from_texture(egui::load::SizedTexture::from_handle(texture))
                    .fit_to_exact_size(size)
                    .corner_radius(4),
            );
        }
        if row.strip.pending > 0 {
            ui.label(RichText::new("loading…").weak());
        } else if row.strip.not_shown > 0 {
            ui.label(RichText::new(format!("+{} more", row.strip.not_shown)).weak());
        }
    });
}
