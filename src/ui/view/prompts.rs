//! The questions the window asks before it queues anything: "the archive already exists"
//! (Replace, Keep both, Cancel) and "this makes N archives" (one archive per folder with plain
//! files among the inputs).
//!
//! Owns: drawing those modals. Must not touch: submitting (the answers are [`Command`]s; the
//! app submits or not without blocking).

use std::path::Path;

use eframe::egui::{self, RichText};

use super::super::state::{Command, ExistsAnswer, ManyArchivesAnswer, Prompt, UiState};
use super::theme;

/// Names listed in a question before "and N more".
const NAMES_LISTED: usize = 5;

pub fn show(ctx: &egui::Context, state: &UiState, commands: &mut Vec<Command>) {
    let Some(prompt) = &state.prompt else {
        return;
    };
    let frame = egui::Frame::window(&ctx.global_style()).inner_margin(egui::Margin::same(18));
    egui::Modal::new(egui::Id::unique("question"))
        .frame(frame)
        .show(ctx, |ui| {
            ui.set_width(440.0);
            match prompt {
                Prompt::ArchiveExists { archives, .. } => archive_exists(ui, archives, commands),
                Prompt::ManyArchives { archives, files } => {
                    many_archives(ui, *archives, files, commands)
                }
            }
        });
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn listed(names: impl Iterator<Item = String>, total: usize) -> String {
    let mut shown: Vec<String> = names.take(NAMES_LISTED).collect();
    if total > NAMES_LISTED {
        shown.push(format!("and {} more", total - NAMES_LISTED));
    }
    shown.join(", ")
}

fn archive_exists(ui: &mut egui::Ui, archives: &[std::path::PathBuf], commands: &mut Vec<Command>) {
    let title = match archives {
        [one] => format!("{} already exists", file_name(one)),
        many => format!("{} archives already exist", many.len()),
    };
    ui.label(RichText::new(title).heading().strong());
    ui.add_space(4.0);
    let text = match archives {
        [one] => format!(
            "In {}. Replace it once the new archive is complete, or keep both: the new archive \
             then gets a free name such as “{}”.",
            one.parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            keep_both_example(one)
        ),
        many => format!(
            "{}. Replace them once the new archives are complete, or keep both: the new archives \
             then get free names such as “{}”.",
            listed(many.iter().map(|p| file_name(p)), many.len()),
            keep_both_example(&many[0])
        ),
    };
    ui.add(egui::Label::new(text).wrap());
    ui.add_space(12.0);
    ui.horizontal(|ui| {
        let replace = egui::Button::new(RichText::new("Replace").color(egui::Color32::WHITE))
            .fill(theme::danger(ui.visuals()));
        if ui
            .add(replace)
            .on_hover_text("The existing archive is replaced only once the new one is complete")
            .clicked()
        {
            commands.push(Command::AnswerArchiveExists(ExistsAnswer::Replace));
        }
        if ui.button("Keep both").clicked() {
            commands.push(Command::AnswerArchiveExists(ExistsAnswer::KeepBoth));
        }
        if ui.button("Cancel").on_hover_text("Write nothing").clicked()
            || ui.input(|i| i.key_pressed(egui::Key::Escape))
        {
            commands.push(Command::AnswerArchiveExists(ExistsAnswer::Cancel));
        }
    });
}

/// "photos.zip" -> "photos (1).zip" (the first free name is the engine's choice; this only
/// shows its form).
fn keep_both_example(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match path.extension() {
        Some(ext) => format!("{stem} (1).{}", ext.to_string_lossy()),
        None => format!("{stem} (1)"),
    }
}

fn many_archives(
    ui: &mut egui::Ui,
    archives: usize,
    files: &[String],
    commands: &mut Vec<Command>,
) {
    ui.label(
        RichText::new(format!("Make {archives} archives?"))
            .heading()
            .strong(),
    );
    ui.add_space(4.0);
    let file_count = files.len();
    let text = format!(
        "“One per folder” makes one archive per input. {} of the {archives} inputs {} single \
         {}, so each becomes an archive of its own: {}.",
        file_count,
        if file_count == 1 { "is a" } else { "are" },
        if file_count == 1 { "file" } else { "files" },
        listed(files.iter().cloned(), file_count)
    );
    ui.add(egui::Label::new(text).wrap());
    ui.add_space(12.0);
    ui.horizontal(|ui| {
        let make = egui::Button::new(
            RichText::new(format!("Make {archives} archives")).color(egui::Color32::WHITE),
        )
        .fill(theme::accent(ui.visuals()));
        if ui.add(make).clicked() {
            commands.push(Command::AnswerManyArchives(ManyArchivesAnswer::Confirm));
        }
        if ui
            .button("One archive instead")
            .on_hover_text("Put all inputs into one archive (nothing is started yet)")
            .clicked()
        {
            commands.push(Command::AnswerManyArchives(ManyArchivesAnswer::OneArchive));
        }
        if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
            commands.push(Command::AnswerManyArchives(ManyArchivesAnswer::Cancel));
        }
    });
}
