//! The pieces every kind's settings form is drawn with: a two-column grid, its row labels, and a
//! path field with its Browse… button.
//!
//! Owns: those widgets. Must not touch: a kind's settings (the kind's module draws its form with
//! these), app state.

use std::path::PathBuf;

use eframe::egui::{self, RichText};

use super::super::command::Command;
use super::super::dialogs::DialogRequest;
use super::super::inputs::InputList;

/// A form's grid of labelled rows.
pub fn settings_grid(ui: &mut egui::Ui, id: &str, add_rows: impl FnOnce(&mut egui::Ui)) {
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([12.0, 6.0])
        .min_col_width(72.0)
        .show(ui, add_rows);
}

/// A row's label, in the left column.
pub fn row_label(ui: &mut egui::Ui, text: &str) -> egui::Response {
    ui.label(RichText::new(text).color(ui.visuals().weak_text_color()))
}

/// A path field with a Browse… button; empty means the default, shown as the hint.
pub fn path_field<K>(
    ui: &mut egui::Ui,
    label: &egui::Response,
    text: &mut String,
    default_hint: String,
    accessible_name: &str,
    browse: Option<DialogRequest>,
    commands: &mut Vec<Command<K>>,
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

/// The hint of an empty path field: the default path, or where it goes.
pub fn default_hint(path: Option<PathBuf>) -> String {
    path.map(|p| p.display().to_string())
        .unwrap_or_else(|| "next to the first input".to_owned())
}

/// The first inputs: the defaults shown as hints depend on the first one and on whether there
/// are more (one input's archive is named after it, several inputs' after their folder), so
/// two are enough for the hint to name what the plan writes. Cloning every path each frame
/// would cost with 100,000 inputs.
pub fn first_inputs(inputs: &InputList) -> Vec<PathBuf> {
    inputs
        .entries()
        .iter()
        .take(2)
        .map(|e| e.path.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ZipSpec;

    #[test]
    fn the_hint_names_the_archive_the_plan_writes() {
        let mut inputs = InputList::default();
        inputs.add([
            PathBuf::from("/data/edge/twins"),
            PathBuf::from("/data/edge/b.txt"),
            PathBuf::from("/data/edge/c.txt"),
        ]);
        let all: Vec<PathBuf> = inputs.entries().iter().map(|e| e.path.clone()).collect();
        let hint = default_hint(ZipSpec::default_destination(&first_inputs(&inputs)));
        assert_eq!(hint, "/data/edge/edge.zip");
        assert_eq!(
            Some(PathBuf::from(hint)),
            ZipSpec::default_destination(&all)
        );
    }
}
