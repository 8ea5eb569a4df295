//! Small custom widgets: icon-only buttons drawn with the painter (no font glyph needed), each
//! with an accessible name.
//!
//! Owns: those widgets. Must not touch: app state.

use eframe::egui;

/// Side of an icon button, in points.
const ICON_BUTTON_SIDE: f32 = 18.0;

/// A small "×" button. `label` is its accessible name and tooltip ("Remove photos").
pub fn close_button(ui: &mut egui::Ui, label: &str) -> egui::Response {
    let (rect, response) =
        ui.allocate_exact_size(egui::Vec2::splat(ICON_BUTTON_SIDE), egui::Sense::click());
    let enabled = ui.is_enabled();
    response
        .widget_info(|| egui::WidgetInfo::labeled(egui::accesskit::Role::Button, enabled, label));
    if ui.is_rect_visible(rect) {
        let visuals = ui.style().interact(&response);
        if response.hovered() || response.has_focus() {
            ui.painter().rect_filled(rect, 4.0, visuals.bg_fill);
        }
        let color = if response.hovered() {
            visuals.fg_stroke.color
        } else {
            ui.visuals().weak_text_color()
        };
        let cross = rect.shrink(5.0);
        let stroke = egui::Stroke::new(1.6, color);
        ui.painter()
            .line_segment([cross.left_top(), cross.right_bottom()], stroke);
        ui.painter()
            .line_segment([cross.right_top(), cross.left_bottom()], stroke);
    }
    response.on_hover_text(label)
}
