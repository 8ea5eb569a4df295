//! Small custom widgets: icon-only buttons drawn with the painter (no font glyph needed), each
//! with an accessible name, a section title that folds its section, the progress bar, the
//! arrow, and the callout box.
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

/// A section's title that folds or opens it: the arrow and the title are one click target and
/// one Tab stop (Space or Enter toggles it), and it tells screen readers whether the section is
/// open. The caller keeps the state and acts on a click.
pub fn fold_header(ui: &mut egui::Ui, title: &str, open: bool) -> egui::Response {
    let galley = egui::WidgetText::from(egui::RichText::new(title).heading().strong()).into_galley(
        ui,
        Some(egui::TextWrapMode::Extend),
        f32::INFINITY,
        egui::TextStyle::Heading,
    );
    let icon = ui.spacing().icon_width;
    let gap = ui.spacing().icon_spacing;
    let size = egui::vec2(
        icon + gap + galley.size().x,
        galley.size().y.max(ui.spacing().interact_size.y),
    );
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::click());
    let enabled = ui.is_enabled();
    response.widget_info(|| {
        let mut info = egui::WidgetInfo::labeled(egui::accesskit::Role::Button, enabled, title);
        info.selected = Some(open);
        info
    });
    if ui.is_rect_visible(rect) {
        let visuals = ui.style().interact(&response);
        let (fill, text_color) = (visuals.weak_bg_fill, visuals.text_color());
        if response.hovered() || response.has_focus() {
            ui.painter().rect_filled(rect.expand(2.0), 4.0, fill);
        }
        let icon_rect = egui::Rect::from_center_size(
            egui::pos2(rect.left() + icon / 2.0, rect.center().y),
            egui::Vec2::splat(icon),
        );
        egui::collapsing_header::paint_default_icon(
            ui,
            if open { 1.0 } else { 0.0 },
            &response.clone().with_new_rect(icon_rect),
        );
        let text_at = egui::pos2(
            rect.left() + icon + gap,
            rect.center().y - galley.size().y / 2.0,
        );
        ui.painter().galley(text_at, galley, text_color);
    }
    response.on_hover_text(if open {
        format!("Fold the {}", title.to_lowercase())
    } else {
        format!("Show the {}", title.to_lowercase())
    })
}

/// Scrolls the enclosing scroll area to the widget that got the keyboard focus in this frame
/// (Tab, Shift+Tab, an arrow key), when that widget is in `ui` (a scroll area's content, where
/// this is called last): egui moves the focus without scrolling, so Tab would otherwise stop on
/// widgets out of view.
pub fn keep_focus_in_view(ui: &egui::Ui) {
    let Some(id) = ui.memory(|m| m.focused()) else {
        return;
    };
    if ui.memory(|m| m.had_focus_last_frame(id)) {
        return;
    }
    let Some(rect) = ui.ctx().read_response(id).map(|r| r.rect) else {
        return;
    };
    if rect.is_positive() && ui.min_rect().contains_rect(rect) {
        ui.scroll_to_rect(rect, None);
    }
}

/// The symbol of an [`icon_button`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icon {
    /// A chevron pointing up ("move up").
    Up,
    /// A chevron pointing down ("move down").
    Down,
}

/// A button as tall as the text buttons, showing a drawn symbol. `label` is its accessible name
/// and `hint` its tooltip.
pub fn icon_button(ui: &mut egui::Ui, icon: Icon, label: &str, hint: &str) -> egui::Response {
    let side = ui.spacing().interact_size.y;
    let (rect, response) = ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::click());
    let enabled = ui.is_enabled();
    response
        .widget_info(|| egui::WidgetInfo::labeled(egui::accesskit::Role::Button, enabled, label));
    if ui.is_rect_visible(rect) {
        let visuals = ui.style().interact(&response);
        ui.painter().rect(
            rect,
            visuals.corner_radius,
            visuals.weak_bg_fill,
            visuals.bg_stroke,
            egui::StrokeKind::Inside,
        );
        let color = if enabled {
            visuals.fg_stroke.color
        } else {
            ui.visuals().weak_text_color()
        };
        let stroke = egui::Stroke::new(1.6, color);
        let c = rect.center();
        let (w, h) = (4.5, 2.5);
        let points = match icon {
            Icon::Up => [
                egui::pos2(c.x - w, c.y + h),
                egui::pos2(c.x, c.y - h),
                egui::pos2(c.x + w, c.y + h),
            ],
            Icon::Down => [
                egui::pos2(c.x - w, c.y - h),
                egui::pos2(c.x, c.y + h),
                egui::pos2(c.x + w, c.y - h),
            ],
        };
        ui.painter().line(points.to_vec(), stroke);
    }
    if enabled {
        response.on_hover_text(hint)
    } else {
        response.on_disabled_hover_text(hint)
    }
}

/// Width of a drag handle, in points.
const GRIP_WIDTH: f32 = 12.0;

/// A drag handle (two columns of dots) that senses drags; `label` is its accessible name.
pub fn drag_handle(ui: &mut egui::Ui, label: &str) -> egui::Response {
    let height = ui.spacing().interact_size.y;
    let (rect, response) =
        ui.allocate_exact_size(egui::vec2(GRIP_WIDTH, height), egui::Sense::drag());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::accesskit::Role::Button, ui.is_enabled(), label)
    });
    if ui.is_rect_visible(rect) {
        let color = if response.hovered() || response.dragged() {
            ui.visuals().strong_text_color()
        } else {
            ui.visuals().weak_text_color()
        };
        let c = rect.center();
        for dx in [-2.5, 2.5] {
            for dy in [-5.0, 0.0, 5.0] {
                ui.painter()
                    .circle_filled(egui::pos2(c.x + dx, c.y + dy), 1.4, color);
            }
        }
    }
    response
        .on_hover_cursor(egui::CursorIcon::Grab)
        .on_hover_text(label)
}

/// Height of a job's progress bar, in points.
const PROGRESS_BAR_HEIGHT: f32 = 18.0;

/// A progress bar with a visible track in both themes and its text readable over both the
/// filled and the empty part.
pub fn progress_bar(
    ui: &mut egui::Ui,
    fraction: f32,
    fill: egui::Color32,
    text: &str,
) -> egui::Response {
    let fraction = fraction.clamp(0.0, 1.0);
    let size = egui::vec2(ui.available_width(), PROGRESS_BAR_HEIGHT);
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::hover());
    response.widget_info(|| egui::WidgetInfo {
        value: Some(f64::from(fraction) * 100.0),
        ..egui::WidgetInfo::labeled(egui::accesskit::Role::ProgressIndicator, true, text)
    });
    if !ui.is_rect_visible(rect) {
        return response;
    }
    let visuals = ui.visuals();
    let radius = PROGRESS_BAR_HEIGHT / 2.0;
    let track = if visuals.dark_mode {
        egui::Color32::from_gray(24)
    } else {
        egui::Color32::from_gray(226)
    };
    let painter = ui.painter();
    painter.rect_filled(rect, radius, track);
    let filled =
        egui::Rect::from_min_size(rect.min, egui::vec2(rect.width() * fraction, rect.height()));
    if fraction > 0.0 {
        painter.rect_filled(filled, radius, fill);
    }
    let font = egui::TextStyle::Small.resolve(ui.style());
    let galley_color = visuals.text_color();
    let text_pos = egui::pos2(rect.left() + 10.0, rect.center().y);
    // The text twice, clipped: light over the fill, normal over the track.
    painter.with_clip_rect(rect.intersect(filled)).text(
        text_pos,
        egui::Align2::LEFT_CENTER,
        text,
        font.clone(),
        egui::Color32::WHITE,
    );
    let rest = egui::Rect::from_min_max(egui::pos2(filled.right(), rect.top()), rect.max);
    painter.with_clip_rect(rect.intersect(rest)).text(
        text_pos,
        egui::Align2::LEFT_CENTER,
        text,
        font,
        galley_color,
    );
    response
}

/// Width of the drawn arrow, in points.
const ARROW_WIDTH: f32 = 14.0;

/// A small "→" drawn with the painter (the bundled fonts have no arrow glyph), in `color`.
pub fn arrow(ui: &mut egui::Ui, color: egui::Color32) -> egui::Response {
    let height = ui.text_style_height(&egui::TextStyle::Small);
    let (rect, response) =
        ui.allocate_exact_size(egui::vec2(ARROW_WIDTH, height), egui::Sense::hover());
    if ui.is_rect_visible(rect) {
        let stroke = egui::Stroke::new(1.2, color);
        let y = rect.center().y;
        let (left, right) = (rect.left() + 2.0, rect.right() - 2.0);
        let painter = ui.painter();
        painter.line_segment([egui::pos2(left, y), egui::pos2(right, y)], stroke);
        painter.line_segment(
            [egui::pos2(right - 4.0, y - 3.5), egui::pos2(right, y)],
            stroke,
        );
        painter.line_segment(
            [egui::pos2(right - 4.0, y + 3.5), egui::pos2(right, y)],
            stroke,
        );
    }
    response
}

/// A tinted box for a warning or a question inside a card.
pub fn callout(ui: &mut egui::Ui, color: egui::Color32, add: impl FnOnce(&mut egui::Ui)) {
    ui.add_space(4.0);
    egui::Frame::new()
        .fill(color.gamma_multiply(0.10))
        .stroke(egui::Stroke::new(1.0, color.gamma_multiply(0.55)))
        .corner_radius(6)
        .inner_margin(egui::Margin::symmetric(10, 7))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            add(ui);
        });
    ui.add_space(2.0);
}
