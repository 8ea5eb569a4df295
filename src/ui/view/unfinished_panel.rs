//! The card of jobs a crash left unfinished, above the plan: what each one was doing, where,
//! how far it got and when it started, with Resume and Discard (and Resume all).
//!
//! Owns: drawing that card. Must not touch: listing, resuming or discarding (the app does it on
//! helper threads and through the engine; this emits commands).

use std::time::SystemTime;

use eframe::egui::{self, RichText};

use super::super::kinds;
use super::super::state::{Command, UiState};
use super::super::unfinished::ListStatus;
use super::theme;

pub fn show(ui: &mut egui::Ui, state: &UiState, commands: &mut Vec<Command>) {
    let unfinished = &state.unfinished;
    if unfinished.status != ListStatus::Listed || unfinished.entries.is_empty() {
        return;
    }
    let visuals = ui.visuals().clone();
    let warning = theme::warning(&visuals);
    let now = SystemTime::now();
    egui::Frame::new()
        .fill(theme::card_fill(&visuals))
        .stroke(egui::Stroke::new(1.0, warning.gamma_multiply(0.7)))
        .corner_radius(8)
        .inner_margin(egui::Margin::symmetric(14, 10))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(RichText::new("Unfinished jobs").heading().strong());
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if unfinished.entries.len() > 1
                        && ui
                            .button("Resume all")
                            .accessible_name("Resume all unfinished jobs")
                            .on_hover_text("Go on with every job below")
                            .clicked()
                    {
                        commands.push(Command::ResumeAllUnfinished);
                    }
                });
            });
            ui.add(
                egui::Label::new(
                    RichText::new(
                        "These jobs were interrupted (the app was closed abruptly, or the \
                         computer stopped). Resume keeps what they finished and does the rest; \
                         Discard removes their leftovers.",
                    )
                    .weak(),
                )
                .wrap(),
            );
            ui.add_space(4.0);
            for entry in &unfinished.entries {
                let job = &entry.job;
                let name = job.spec.display_name();
                ui.separator();
                ui.horizontal(|ui| {
                    let kind = job.spec.kind();
                    let (badge, color) = (kind.badge, kinds::badge_color(ui.visuals(), kind));
                    egui::Frame::new()
                        .fill(color.gamma_multiply(0.16))
                        .corner_radius(4)
                        .inner_margin(egui::Margin::symmetric(6, 1))
                        .show(ui, |ui| {
                            ui.label(RichText::new(badge).small().strong().color(color));
                        });
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        ui.add_enabled_ui(!entry.discarding, |ui| {
                            if ui
                                .button("Discard")
                                .accessible_name(format!("Discard the unfinished job {name}"))
                                .on_hover_text(
                                    "Forget this job: its leftover temporary files are removed; \
                                     finished outputs stay",
                                )
                                .clicked()
                            {
                                commands.push(Command::DiscardUnfinished(job.journal.clone()));
                            }
                            let resume = egui::Button::new(
                                RichText::new("Resume").color(egui::Color32::WHITE),
                            )
                            .fill(theme::accent(ui.visuals()));
                            if ui
                                .add(resume)
                                .accessible_name(format!("Resume the unfinished job {name}"))
                                .on_hover_text("Queue it: what it finished is kept")
                                .clicked()
                            {
                                commands.push(Command::ResumeUnfinished(job.journal.clone()));
                            }
                        });
                        if entry.discarding {
                            ui.label(RichText::new("discarding…").weak().small());
                        }
                        ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                            ui.vertical(|ui| {
                                ui.spacing_mut().item_spacing.y = 0.0;
                                ui.add(egui::Label::new(RichText::new(&name).strong()).truncate());
                                ui.add(
                                    egui::Label::new(
                                        RichText::new(format!(
                                            "{} · {} · into {}",
                                            entry.done_text(),
                                            entry.started_text(now),
                                            job.spec.output_path().display()
                                        ))
                                        .small()
                                        .weak(),
                                    )
                                    .truncate(),
                                );
                            });
                        });
                    });
                });
            }
        });
    ui.add_space(10.0);
}
