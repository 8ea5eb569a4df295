//! The look of the window: text sizes, spacing, and the colours of job states, for both the
//! light and the dark theme (which follow the system).
//!
//! Owns: style tweaks applied once at start, state colours, the app icon (window icon and the
//! toolbar's logo). A kind's badge colour is its module's.
//! Must not touch: layout of the panels (the other view modules), app state.

use eframe::egui::{self, Color32, FontFamily, FontId, TextStyle};

use crate::engine::JobState;

/// The 64 px app icon, embedded.
pub const ICON_PNG: &[u8] = include_bytes!("../../../assets/shrinkwrap-64.png");

/// Accent used for primary buttons and running progress.
pub fn accent(visuals: &egui::Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_rgb(74, 144, 226)
    } else {
        Color32::from_rgb(36, 110, 200)
    }
}

pub fn success(visuals: &egui::Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_rgb(106, 200, 130)
    } else {
        Color32::from_rgb(24, 128, 56)
    }
}

pub fn warning(visuals: &egui::Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_rgb(235, 175, 75)
    } else {
        Color32::from_rgb(170, 100, 0)
    }
}

pub fn danger(visuals: &egui::Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_rgb(240, 110, 100)
    } else {
        Color32::from_rgb(190, 40, 30)
    }
}

/// The colour of a job's state word.
pub fn state_color(visuals: &egui::Visuals, state: JobState) -> Color32 {
    match state {
        JobState::Queued | JobState::Cancelled | JobState::Stopped => visuals.weak_text_color(),
        JobState::Paused => warning(visuals),
        JobState::Scanning | JobState::Planning | JobState::Running => accent(visuals),
        JobState::Done => success(visuals),
        JobState::DoneWithErrors => warning(visuals),
        JobState::Failed => danger(visuals),
    }
}

/// A card's background: a step away from the panel's.
pub fn card_fill(visuals: &egui::Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_gray(38)
    } else {
        Color32::from_gray(250)
    }
}

pub fn card_stroke(visuals: &egui::Visuals) -> egui::Stroke {
    egui::Stroke::new(
        1.0,
        if visuals.dark_mode {
            Color32::from_gray(60)
        } else {
            Color32::from_gray(214)
        },
    )
}

/// Text sizes and spacing for a calm desktop look; applied to both themes.
pub fn apply(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
        style.text_styles = [
            (
                TextStyle::Small,
                FontId::new(11.0, FontFamily::Proportional),
            ),
            (TextStyle::Body, FontId::new(13.5, FontFamily::Proportional)),
            (
                TextStyle::Button,
                FontId::new(13.5, FontFamily::Proportional),
            ),
            (
                TextStyle::Heading,
                FontId::new(17.0, FontFamily::Proportional),
            ),
            (
                TextStyle::Monospace,
                FontId::new(12.5, FontFamily::Monospace),
            ),
        ]
        .into();
        let spacing = &mut style.spacing;
        spacing.item_spacing = egui::vec2(8.0, 7.0);
        spacing.button_padding = egui::vec2(10.0, 4.0);
        spacing.interact_size.y = 24.0;
        spacing.indent = 16.0;
        spacing.slider_width = 150.0;
        let visuals = &mut style.visuals;
        let corner = egui::CornerRadius::same(5);
        visuals.widgets.noninteractive.corner_radius = corner;
        visuals.widgets.inactive.corner_radius = corner;
        visuals.widgets.hovered.corner_radius = corner;
        visuals.widgets.active.corner_radius = corner;
        visuals.widgets.open.corner_radius = corner;
        if !visuals.dark_mode {
            visuals.panel_fill = Color32::from_gray(242);
            visuals.faint_bg_color = Color32::from_gray(236);
        }
    });
}

/// The app icon decoded for the window's title bar / task bar.
pub fn icon_data() -> Option<egui::IconData> {
    let image = image::load_from_memory_with_format(ICON_PNG, image::ImageFormat::Png)
        .ok()?
        .into_rgba8();
    Some(egui::IconData {
        width: image.width(),
        height: image.height(),
        rgba: image.into_raw(),
    })
}

/// The app icon as a texture for the toolbar.
pub fn load_icon_texture(ctx: &egui::Context) -> Option<egui::TextureHandle> {
    let icon = icon_data()?;
    let size = [icon.width as usize, icon.height as usize];
    let image = egui::ColorImage::from_rgba_unmultiplied(size, &icon.rgba);
    Some(ctx.load_texture("shrinkwrap-icon", image, egui::TextureOptions::LINEAR))
}
