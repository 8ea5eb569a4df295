//! The thumbnails kind in the window: a small copy of every image of the inputs, at one or more
//! sizes, in one folder.
//!
//! Owns: the "Thumbnails" form (the folder, sizes, name template with its live preview of the
//! first names, format, quality, metadata, colours, what to do when a name is taken; all of it
//! remembered), building its [`ThumbSpec`], refusing Start while the template is wrong, the
//! plan's warning when thumbnails would land beside their originals (with the one-click move into
//! a subfolder), "Then zip the thumbnails" (a zip job chained after the thumbnail job, on its
//! outputs), "Retry failed" (a job of just the failed images), the strip of thumbnails on a
//! finished card, the badge colour, `--thumbnails` and its desktop action.
//! Must not touch: naming and validation rules (the engine's template and plan decide), other
//! kinds, anything blocking (the name preview renders locally, no file system access).

use std::path::PathBuf;

use eframe::egui::{self, RichText};

use crate::engine::{
    ColorMode, ConflictPolicy, DEFAULT_JPEG_QUALITY, DEFAULT_THUMB_SIDE_PX, Fit, JobKind, JobSpec,
    MAX_THUMB_SIDE_PX, MetadataPolicy, NameTemplate, ThumbFormat, ThumbSize, ThumbSpec, ZipSpec,
};

use super::super::dialogs::{DialogRequest, FormField};
use super::super::format;
use super::super::inputs::InputSize;
use super::super::preview::{PlanView, SampleNames};
use super::super::kind_store::{load_kind, save_kind};
use super::super::typed_path::typed_path;
use super::super::queue::ImageBox;
use super::Command;
use super::super::view::{form, theme, widgets};
use super::{DesktopAction, FormCx, KindCx, KindForm, PlanCx, WindowKind, Wrap};

/// Thumbnail sizes offered as one-click presets (toggles), in pixels.
pub const THUMB_SIZE_PRESETS_PX: [u32; 4] = [128, 256, 512, 1024];
/// Range of a custom thumbnail size, in pixels.
pub const CUSTOM_THUMB_SIDE_RANGE_PX: std::ops::RangeInclusive<u32> = 16..=MAX_THUMB_SIDE_PX;
/// At most this many sizes in one job.
pub const MAX_THUMB_SIZES: usize = 8;
/// How many images the name preview shows.
const NAME_SAMPLES: usize = 3;
/// The example file name standing for the images inside a folder input.
const EXAMPLE_IMAGE_NAME: &str = "IMG_0001.jpg";
/// The form's field a dialog fills in.
const FOLDER_FIELD: &str = "thumbnails_folder";

/// The thumbnails form, all of it remembered. Its field names are those the shared settings and
/// folders used before each kind had its own key, so those still load.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ThumbsForm {
    /// The thumbnails' boxes (a square's side, or width x height, in pixels), smallest first,
    /// without repeats, at least one. Stores of earlier versions call it `thumb_sizes_px`.
    #[serde(alias = "thumb_sizes_px")]
    pub thumb_sizes: Vec<ThumbSize>,
    /// The width the "Add" field proposes, in pixels.
    pub custom_thumb_side_px: u32,
    /// The height the "Add" field proposes, in pixels (the same as the width: a square).
    pub custom_thumb_height_px: u32,
    /// How each image goes in its box: inside it, filling it (cropped) or stretched.
    pub fit: Fit,
    /// Enlarge images smaller than the box.
    pub upscale: bool,
    /// The thumbnails' file name template; empty means the engine's default (`{stem}` for one
    /// size, `{stem}_{size}` for several).
    pub name_template: String,
    pub thumb_format: ThumbFormat,
    pub jpeg_quality: u8,
    /// WebP thumbnails lossless instead of lossy.
    pub webp_lossless: bool,
    /// What EXIF/XMP metadata thumbnails keep.
    pub metadata: MetadataPolicy,
    /// Convert colours to sRGB, or keep the source's ICC profile.
    pub color: ColorMode,
    pub on_conflict: ConflictPolicy,
    /// The thumbnails' output folder as typed (empty: `thumbnails` beside the first input).
    pub thumbnails_folder: String,
    /// "Then zip the thumbnails": a zip job chained after the thumbnail job takes the
    /// thumbnails it made (or found up to date) into `FOLDER.zip` beside their folder.
    pub then_zip: bool,
}

impl Default for ThumbsForm {
    fn default() -> Self {
        ThumbsForm {
            thumb_sizes: vec![ThumbSize::square(DEFAULT_THUMB_SIDE_PX)],
            custom_thumb_side_px: 320,
            custom_thumb_height_px: 320,
            fit: Fit::Contain,
            upscale: false,
            name_template: String::new(),
            thumb_format: ThumbFormat::Jpeg,
            jpeg_quality: DEFAULT_JPEG_QUALITY,
            webp_lossless: false,
            metadata: MetadataPolicy::Strip,
            color: ColorMode::ConvertToSrgb,
            on_conflict: ConflictPolicy::Update,
            thumbnails_folder: String::new(),
            then_zip: false,
        }
    }
}

/// The thumbnails kind's own commands.
#[derive(Debug, Clone, PartialEq)]
pub enum ThumbsCommand {
    /// Sets the thumbnails' folder (the plan's "Use a thumbnails subfolder").
    SetFolder(PathBuf),
}

/// The thumbnails kind asks nothing before queuing.
#[derive(Debug, Clone, PartialEq)]
pub enum ThumbsQuestion {}

impl ThumbsForm {
    /// Adds a thumbnail size (a square's side, or a box; each side clamped into range);
    /// returns whether the list changed.
    pub fn add_thumb_size(&mut self, size: impl Into<ThumbSize>) -> bool {
        let size = clamp_size(size.into());
        if self.thumb_sizes.contains(&size) || self.thumb_sizes.len() >= MAX_THUMB_SIZES {
            return false;
        }
        self.thumb_sizes.push(size);
        sort_sizes(&mut self.thumb_sizes);
        true
    }

    /// Removes a thumbnail size unless it is the last one; returns whether the list changed.
    pub fn remove_thumb_size(&mut self, size: impl Into<ThumbSize>) -> bool {
        let size = size.into();
        if self.thumb_sizes.len() <= 1 {
            return false;
        }
        let before = self.thumb_sizes.len();
        self.thumb_sizes.retain(|&s| s != size);
        self.thumb_sizes.len() != before
    }

    /// The box the "Add" field proposes.
    fn custom_size(&self) -> ThumbSize {
        clamp_size(ThumbSize::new(
            self.custom_thumb_side_px,
            self.custom_thumb_height_px,
        ))
    }

    /// The name template to pass to the engine: `None` (the default) when the field is empty.
    pub fn name_template(&self) -> Option<String> {
        let t = self.name_template.trim();
        (!t.is_empty()).then(|| t.to_owned())
    }

    /// The template in force, parsed: the typed one, else the default for the number of sizes.
    /// The error is the engine's message ("name template \"{x}\": unknown placeholder ...").
    pub fn parsed_template(&self) -> Result<NameTemplate, String> {
        self.thumb_spec(Vec::new(), PathBuf::new())
            .template()
            .map_err(|e| e.to_string())
    }

    /// The thumbnails' folder: the typed one, else `thumbnails` beside the first input.
    pub fn thumbnails_folder_path(&self, inputs: &[PathBuf]) -> Option<PathBuf> {
        typed_path(&self.thumbnails_folder).or_else(|| ThumbSpec::default_output_dir(inputs))
    }

    /// The archive "Then zip the thumbnails" writes: `FOLDER.zip` beside the thumbnails' folder.
    pub fn chained_archive(output_dir: &std::path::Path) -> PathBuf {
        let name = output_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "thumbnails".to_owned());
        crate::engine::parent_dir(output_dir).join(format!("{name}.zip"))
    }

    /// The thumbnail spec for these inputs and folder.
    fn thumb_spec(&self, inputs: Vec<PathBuf>, output_dir: PathBuf) -> ThumbSpec {
        ThumbSpec {
            inputs,
            output_dir,
            sizes: self.thumb_sizes.clone(),
            fit: self.fit,
            upscale: self.upscale,
            name_template: self.name_template(),
            format: self.thumb_format,
            quality: self.jpeg_quality.clamp(1, 100),
            lossless: self.webp_lossless,
            metadata: self.metadata,
            color: self.color,
            on_conflict: self.on_conflict,
            only: Vec::new(),
            shard: None,
        }
    }

    /// The first `count` sources' thumbnail names, rendered locally with the template (no file
    /// system access): `sources` are file paths (a folder input stands for the images inside
    /// it, which the window does not list; the caller passes an example name there). The error
    /// is the template's, in the user's terms.
    pub fn sample_names(
        &self,
        sources: &[PathBuf],
        count: usize,
    ) -> Result<Vec<SampleNames>, String> {
        let template = self.parsed_template()?;
        let extension = self.thumb_format.extension();
        Ok(sources
            .iter()
            .take(count)
            .map(|source| SampleNames {
                source: source
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                outputs: self
                    .thumb_sizes
                    .iter()
                    .map(|&size| template.render(source, size, extension))
                    .collect(),
            })
            .collect())
    }

    /// The first thumbnail names, live: from the fresh preview's plan (renames included), else
    /// rendered here with the template; or the template's error.
    fn sample_names_now(&self, cx: &FormCx<'_>) -> Result<Vec<SampleNames>, String> {
        let from_plan = cx
            .preview
            .view()
            .filter(|v| v.kind == Self::KIND && cx.preview.is_fresh())
            .map(|v| v.first_names(NAME_SAMPLES))
            .filter(|names| !names.is_empty());
        if let Some(names) = from_plan {
            return Ok(names);
        }
        let sources: Vec<PathBuf> = cx
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
        self.sample_names(&sources, NAME_SAMPLES)
    }

    /// One toggle per preset and per chosen size: a click adds or removes the size (the last
    /// size stays).
    fn size_toggles(&mut self, ui: &mut egui::Ui) {
        let mut shown: Vec<ThumbSize> = THUMB_SIZE_PRESETS_PX
            .iter()
            .map(|&px| ThumbSize::square(px))
            .collect();
        for &size in &self.thumb_sizes {
            if !shown.contains(&size) {
                shown.push(size);
            }
        }
        sort_sizes(&mut shown);
        let what = match self.fit {
            Fit::Contain => "fitting inside",
            Fit::Cover => "filling and cropped to",
            Fit::Exact => "stretched to",
        };
        for size in shown {
            let chosen = self.thumb_sizes.contains(&size);
            let text = size_label(size);
            let button = ui.add(egui::Button::selectable(chosen, text.as_str()));
            let button = if chosen {
                button.on_hover_text(format!(
                    "Making thumbnails {what} {text}; click to leave this size out"
                ))
            } else {
                button.on_hover_text(format!("Also make thumbnails {what} {text}"))
            };
            if button.clicked() {
                if chosen {
                    self.remove_thumb_size(size);
                } else {
                    self.add_thumb_size(size);
                }
            }
        }
    }

    /// How images go in their boxes, and whether small ones are enlarged.
    fn fit_row(&mut self, ui: &mut egui::Ui) {
        let fit_label = form::row_label(ui, "Fit");
        ui.horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            for fit in Fit::ALL {
                let (text, hover) = match fit {
                    Fit::Contain => (
                        "Inside",
                        "The whole image inside the box, its shape kept (one side may be shorter)",
                    ),
                    Fit::Cover => (
                        "Fill and crop",
                        "Fill the box exactly, its shape kept; what overflows is cropped, \
                         around the subject when the photo names one, else from the centre",
                    ),
                    Fit::Exact => ("Stretch", "Exactly the box; the image's shape changes"),
                };
                ui.selectable_value(&mut self.fit, fit, text)
                    .on_hover_text(hover);
            }
            ui.checkbox(&mut self.upscale, "Enlarge smaller images")
                .on_hover_text(
                    "Off: an image smaller than the box keeps its size (filled or stretched \
                     thumbnails keep the box's shape)",
                );
        })
        .response
        .labelled_by(fit_label.id);
        ui.end_row();
    }

    /// The sizes, the "Add size" field and the name template with its preview.
    fn naming_rows(&mut self, ui: &mut egui::Ui, names: Result<Vec<SampleNames>, String>) {
        let sizes_label = form::row_label(ui, "Sizes");
        ui.horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            self.size_toggles(ui);
        })
        .response
        .labelled_by(sizes_label.id);
        ui.end_row();

        let add_label = form::row_label(ui, "Add size");
        ui.horizontal(|ui| {
            let range = || *CUSTOM_THUMB_SIDE_RANGE_PX.start()..=*CUSTOM_THUMB_SIDE_RANGE_PX.end();
            ui.add(
                egui::DragValue::new(&mut self.custom_thumb_side_px)
                    .range(range())
                    .suffix(" px"),
            )
            .labelled_by(add_label.id)
            .on_hover_text("Another size: its width, in pixels")
            .accessible_name("Width of the size to add");
            ui.label("×");
            ui.add(
                egui::DragValue::new(&mut self.custom_thumb_height_px)
                    .range(range())
                    .suffix(" px"),
            )
            .on_hover_text("Its height, in pixels (the same as the width: a square)")
            .accessible_name("Height of the size to add");
            let size = self.custom_size();
            let can_add =
                !self.thumb_sizes.contains(&size) && self.thumb_sizes.len() < MAX_THUMB_SIZES;
            let text = size_label(size);
            let add = ui
                .add_enabled(can_add, egui::Button::new("Add"))
                .accessible_name(format!("Add {text}"));
            let add = if can_add {
                add.on_hover_text(format!("Also make {text} thumbnails"))
            } else {
                add.on_disabled_hover_text("Already in the list, or the list is full")
            };
            if add.clicked() {
                self.add_thumb_size(size);
            }
        });
        ui.end_row();

        self.fit_row(ui);

        let name_label = form::row_label(ui, "Name");
        let default = if self.thumb_sizes.len() > 1 {
            "{stem}_{size}"
        } else {
            "{stem}"
        };
        let field = ui.add(
            egui::TextEdit::singleline(&mut self.name_template)
                .hint_text(default)
                .desired_width(f32::INFINITY),
        );
        field.labelled_by(name_label.id).on_hover_text(
            "The thumbnails' file names: {stem} (the image's name), {size} (256, or 320x200), \
             {ext} (its extension), {parent} (its folder's name). Empty: the default.",
        );
        ui.end_row();

        // The first names, under the template, in the value column.
        ui.label("");
        ui.vertical(|ui| draw_names(ui, names));
        ui.end_row();
    }

    /// Format, quality, metadata, colours and what to do when a name is taken.
    fn encoding_rows(&mut self, ui: &mut egui::Ui) {
        form::row_label(ui, "Format");
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            for format in ThumbFormat::ALL {
                ui.selectable_value(&mut self.thumb_format, format, format.label());
            }
        });
        ui.end_row();

        let quality_label = form::row_label(ui, "Quality");
        let lossy = match self.thumb_format {
            ThumbFormat::Jpeg => true,
            ThumbFormat::Webp => !self.webp_lossless,
            ThumbFormat::Png => false,
        };
        ui.horizontal(|ui| {
            let slider = ui
                .add_enabled(lossy, egui::Slider::new(&mut self.jpeg_quality, 1..=100))
                .labelled_by(quality_label.id);
            if lossy {
                slider.on_hover_text("Higher is sharper and larger");
            } else {
                slider.on_disabled_hover_text("Lossless: PNG, and WebP when lossless is chosen");
            }
            if self.thumb_format == ThumbFormat::Webp {
                ui.checkbox(&mut self.webp_lossless, "Lossless")
                    .on_hover_text("Lossless WebP: exact pixels, files about 6 times larger");
            }
        });
        ui.end_row();

        form::row_label(ui, "Metadata");
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
                        "Copyright, artist, date taken, camera and lens; no GPS, serial numbers, \
                         maker notes or XMP",
                    ),
                    MetadataPolicy::Keep => ("All", "All EXIF and XMP, GPS included"),
                };
                ui.selectable_value(&mut self.metadata, policy, label)
                    .on_hover_text(hint);
            }
        });
        ui.end_row();

        form::row_label(ui, "Colours");
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            ui.selectable_value(&mut self.color, ColorMode::ConvertToSrgb, "sRGB")
                .on_hover_text(
                    "Convert colour profiles (Display P3, Adobe RGB…) to sRGB: right in every \
                     viewer",
                );
            ui.selectable_value(&mut self.color, ColorMode::KeepProfile, "Keep profile")
                .on_hover_text(
                    "Keep the photo's colour profile embedded (needs a colour-managed viewer)",
                );
        });
        ui.end_row();

        form::row_label(ui, "Name taken");
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
                ui.selectable_value(&mut self.on_conflict, policy, policy.label())
                    .on_hover_text(hint);
            }
        });
        ui.end_row();
    }
}

fn clamp_side_px(px: u32) -> u32 {
    px.clamp(
        *CUSTOM_THUMB_SIDE_RANGE_PX.start(),
        *CUSTOM_THUMB_SIDE_RANGE_PX.end(),
    )
}

/// Each side of `size` clamped into the custom range.
fn clamp_size(size: ThumbSize) -> ThumbSize {
    ThumbSize::new(clamp_side_px(size.width_px), clamp_side_px(size.height_px))
}

/// Smallest box first (by its long side, then width), so toggles keep their places.
fn sort_sizes(sizes: &mut [ThumbSize]) {
    sizes.sort_unstable_by_key(|s| (s.long_side_px(), s.width_px, s.height_px));
}

/// A size as its toggle shows it: `256 px` (a square), `320 × 200` (a box).
fn size_label(size: ThumbSize) -> String {
    if size.is_square() {
        format!("{} px", size.width_px)
    } else {
        format!("{} × {}", size.width_px, size.height_px)
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

/// "Thumbnails would land next to their originals" with the one-click way out.
fn beside_warning(
    ui: &mut egui::Ui,
    view: &PlanView,
    folders: &[PathBuf],
    commands: &mut Vec<Command>,
) {
    let warning = theme::warning(ui.visuals());
    widgets::callout(ui, warning, |ui| {
        let mut text = String::from("Thumbnails would land next to their originals");
        if let Some(first) = folders.first() {
            text.push_str(&format!(" in {}", first.display()));
            if folders.len() > 1 {
                text.push_str(&format!(
                    " and {}",
                    format::plural(folders.len() as u64 - 1, "more folder", "more folders")
                ));
            }
        }
        text.push('.');
        ui.add(egui::Label::new(RichText::new(text).color(warning)).wrap());
        if let Some(destination) = view.destination() {
            let subfolder = destination.join("thumbnails");
            let button = ui
                .button("Use a thumbnails subfolder")
                .on_hover_text(format!("Write them into {}", subfolder.display()));
            if button.clicked() {
                commands.push(ThumbsForm::command(ThumbsCommand::SetFolder(subfolder)));
            }
        }
    });
}

impl KindForm for ThumbsForm {
    fn kind(&self) -> JobKind {
        Self::KIND
    }

    fn draw(&mut self, ui: &mut egui::Ui, cx: &FormCx<'_>, commands: &mut Vec<Command>) {
        let inputs = form::first_inputs(cx.inputs);
        // From last frame's template: a change shows in the next frame, which the edit asks for.
        let names = self.sample_names_now(cx);
        let dialog_free = !cx.dialog_open;
        form::settings_grid(ui, "thumbnail-settings", |ui| {
            let label = form::row_label(ui, "Into folder");
            let folder = self.thumbnails_folder_path(&inputs);
            let archive = folder.as_deref().map(Self::chained_archive);
            let browse = dialog_free.then(|| DialogRequest::PickFolder {
                title: "Folder for the thumbnails",
                start_dir: folder.clone(),
                field: FormField::new(Self::KIND, FOLDER_FIELD),
            });
            form::path_field(
                ui,
                &label,
                &mut self.thumbnails_folder,
                form::default_hint(folder),
                "Folder for the thumbnails",
                browse,
                commands,
            );
            ui.end_row();
            form::row_label(ui, "Then");
            let hint = match archive {
                Some(archive) => format!(
                    "Once the thumbnails are made, zip exactly those into {}",
                    archive.display()
                ),
                None => "Once the thumbnails are made, zip exactly those".to_owned(),
            };
            ui.checkbox(&mut self.then_zip, "Then zip the thumbnails")
                .on_hover_text(hint);
            ui.end_row();
            self.naming_rows(ui, names);
            self.encoding_rows(ui);
        });
    }

    fn options_spec(&self) -> JobSpec {
        JobSpec::Thumbs(self.thumb_spec(vec![PathBuf::from("/")], PathBuf::from("/thumbnails")))
    }

    fn take_options(&mut self, spec: &JobSpec) {
        let JobSpec::Thumbs(t) = spec else { return };
        self.thumb_sizes = t.sizes.clone();
        self.fit = t.fit;
        self.upscale = t.upscale;
        self.name_template = t.name_template.clone().unwrap_or_default();
        self.thumb_format = t.format;
        self.jpeg_quality = t.quality;
        self.webp_lossless = t.lossless;
        self.metadata = t.metadata;
        self.color = t.color;
        self.on_conflict = t.on_conflict;
        self.sanitize();
    }

    fn then_job(&self, first: &JobSpec) -> Option<JobSpec> {
        let JobSpec::Thumbs(thumbs) = first else {
            return None;
        };
        self.then_zip.then(|| {
            JobSpec::Zip(ZipSpec::new(
                Vec::new(),
                Self::chained_archive(&thumbs.output_dir),
            ))
        })
    }

    fn refusal(&self) -> Option<String> {
        self.parsed_template().err()
    }

    fn build(&self, inputs: &[PathBuf], _inputs_generation: u64) -> Result<Vec<JobSpec>, String> {
        let output_dir = self
            .thumbnails_folder_path(inputs)
            .ok_or("Choose a folder for the thumbnails.")?;
        Ok(vec![JobSpec::Thumbs(
            self.thumb_spec(inputs.to_vec(), output_dir),
        )])
    }

    fn plan_notes(
        &self,
        ui: &mut egui::Ui,
        view: &PlanView,
        _cx: &PlanCx,
        commands: &mut Vec<Command>,
    ) {
        if let Some(folders) = view.beside_inputs() {
            beside_warning(ui, view, folders, commands);
        }
    }

    fn set_path(&mut self, field: &str, path: PathBuf) {
        if field == FOLDER_FIELD {
            self.thumbnails_folder = path.display().to_string();
        }
    }

    fn sanitize(&mut self) {
        self.jpeg_quality = self.jpeg_quality.clamp(1, 100);
        self.custom_thumb_side_px = clamp_side_px(self.custom_thumb_side_px);
        self.custom_thumb_height_px = clamp_side_px(self.custom_thumb_height_px);
        let mut sizes: Vec<ThumbSize> = self.thumb_sizes.iter().map(|&s| clamp_size(s)).collect();
        sort_sizes(&mut sizes);
        sizes.dedup();
        sizes.truncate(MAX_THUMB_SIZES);
        if sizes.is_empty() {
            sizes.push(ThumbSize::square(DEFAULT_THUMB_SIDE_PX));
        }
        self.thumb_sizes = sizes;
    }

    fn save(&self, storage: &mut dyn eframe::Storage) {
        save_kind(
            storage,
            Self::KIND,
            &ThumbsForm {
                thumbnails_folder: self.thumbnails_folder.trim().to_owned(),
                ..self.clone()
            },
        );
    }
}

impl WindowKind for ThumbsForm {
    const KIND: JobKind = crate::engine::kinds::thumbs::KIND;
    const TAB_HINT: &'static str = "Make a small copy of every image in the inputs";
    const START_LABEL: Option<&'static str> = Some("Make thumbnails");
    const LAUNCH_FLAG: &'static str = "--thumbnails";
    const DESKTOP_ACTION: DesktopAction = DesktopAction {
        id: "Thumbnails",
        name: "Make thumbnails with Shrinkwrap",
    };
    const OUTPUT_IMAGES: bool = true;

    type Command = ThumbsCommand;
    type Question = ThumbsQuestion;

    fn load(storage: Option<&dyn eframe::Storage>) -> ThumbsForm {
        load_kind(storage, Self::KIND, |settings: ThumbsForm, folders: ThumbsForm| {
            ThumbsForm {
                thumbnails_folder: folders.thumbnails_folder,
                ..settings
            }
        })
    }

    fn badge_color(visuals: &egui::Visuals) -> egui::Color32 {
        if visuals.dark_mode {
            egui::Color32::from_rgb(170, 130, 225)
        } else {
            egui::Color32::from_rgb(130, 80, 190)
        }
    }

    fn image_sizes(spec: &JobSpec) -> Vec<ImageBox> {
        match spec {
            JobSpec::Thumbs(thumbs) => thumbs
                .sizes
                .iter()
                .map(|s| ImageBox {
                    width_px: s.width_px,
                    height_px: s.height_px,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Same inputs and settings, only the failed images (so every thumbnail keeps its path).
    fn retry_failed(spec: &JobSpec, failed: Vec<PathBuf>) -> Option<JobSpec> {
        match spec {
            JobSpec::Thumbs(thumbs) => Some(JobSpec::Thumbs(thumbs.retry(failed))),
            _ => None,
        }
    }

    fn apply(&mut self, command: ThumbsCommand, _cx: &mut KindCx<'_>) {
        match command {
            ThumbsCommand::SetFolder(folder) => {
                self.thumbnails_folder = folder.display().to_string();
            }
        }
    }

    fn draw_question(question: &ThumbsQuestion, _ui: &mut egui::Ui, _: &mut Vec<Command>) {
        match *question {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs(form: &ThumbsForm, inputs: &[PathBuf]) -> Vec<JobSpec> {
        form.build(inputs, 1).unwrap()
    }

    #[test]
    fn thumbnails_use_the_settings() {
        let inputs = vec![PathBuf::from("/pics/x.jpg")];
        let mut form = ThumbsForm {
            thumb_format: ThumbFormat::Webp,
            on_conflict: ConflictPolicy::Skip,
            name_template: " {parent}-{stem}_{size} ".to_owned(),
            ..Default::default()
        };
        assert!(form.add_thumb_size(1024));
        assert!(form.add_thumb_size(64));
        assert!(!form.add_thumb_size(64), "no repeats");
        let jobs = jobs(&form, &inputs);
        let [JobSpec::Thumbs(t)] = jobs.as_slice() else {
            panic!("one thumbnail job expected")
        };
        assert_eq!(t.output_dir, PathBuf::from("/pics/thumbnails"));
        assert_eq!(t.sizes, [64, 256, 1024].map(ThumbSize::square));
        assert_eq!(t.name_template.as_deref(), Some("{parent}-{stem}_{size}"));
        assert_eq!(t.format, ThumbFormat::Webp);
        assert_eq!(t.on_conflict, ConflictPolicy::Skip);
    }

    #[test]
    fn the_last_size_stays() {
        let mut form = ThumbsForm::default();
        assert!(!form.remove_thumb_size(DEFAULT_THUMB_SIDE_PX));
        assert_eq!(form.thumb_sizes, [ThumbSize::square(DEFAULT_THUMB_SIDE_PX)]);
        form.add_thumb_size(512);
        assert!(form.remove_thumb_size(DEFAULT_THUMB_SIDE_PX));
        assert_eq!(form.thumb_sizes, [ThumbSize::square(512)]);
    }

    #[test]
    fn template_names_render_locally_and_errors_read_well() {
        let mut form = ThumbsForm::default();
        let sources = [PathBuf::from("/p/trip/a.JPG"), PathBuf::from("/p/b.png")];
        let names = form.sample_names(&sources, 1).unwrap();
        assert_eq!(
            names,
            vec![SampleNames {
                source: "a.JPG".to_owned(),
                outputs: vec!["a.jpg".to_owned()]
            }]
        );
        form.add_thumb_size(512);
        let names = form.sample_names(&sources, 5).unwrap();
        assert_eq!(names[1].outputs, vec!["b_256.jpg", "b_512.jpg"]);
        form.name_template = "{parent}/{stem}".to_owned();
        let err = form.sample_names(&sources, 5).unwrap_err();
        assert!(err.contains("cannot contain '/'"), "{err}");
        assert!(form.refusal().is_some_and(|e| e.contains("cannot contain '/'")));
        let err = crate::ui::settings::build_jobs(&form, &sources, 1).unwrap_err();
        assert!(err.starts_with("Name template"), "{err}");
    }

    #[test]
    fn stored_settings_are_clamped() {
        let mut form = ThumbsForm {
            jpeg_quality: 0,
            custom_thumb_side_px: 1,
            thumb_sizes: [99_999, 1, 1].map(ThumbSize::square).to_vec(),
            ..Default::default()
        };
        form.sanitize();
        assert_eq!(form.jpeg_quality, 1);
        assert_eq!(form.custom_thumb_side_px, 16);
        assert_eq!(
            form.thumb_sizes,
            [16, MAX_THUMB_SIDE_PX].map(ThumbSize::square)
        );
        let mut empty = ThumbsForm {
            thumb_sizes: Vec::new(),
            ..Default::default()
        };
        empty.sanitize();
        assert_eq!(empty.thumb_sizes, [ThumbSize::square(DEFAULT_THUMB_SIDE_PX)]);
    }

    #[test]
    fn the_form_is_remembered_under_its_own_key_and_old_stores_still_load() {
        use crate::ui::settings::tests::MemoryStorage;
        let mut form = ThumbsForm {
            thumb_format: ThumbFormat::Png,
            thumbnails_folder: " /srv/small ".to_owned(),
            ..Default::default()
        };
        form.add_thumb_size(512);
        let mut storage = MemoryStorage::default();
        form.save(&mut storage);
        let loaded = ThumbsForm::load(Some(&storage));
        assert_eq!(loaded.thumb_sizes, [256, 512].map(ThumbSize::square));
        assert_eq!(loaded.thumb_format, ThumbFormat::Png);
        assert_eq!(loaded.thumbnails_folder, "/srv/small");

        let old = MemoryStorage::old_format();
        let loaded = ThumbsForm::load(Some(&old));
        assert_eq!(loaded.thumb_sizes, [256, 512].map(ThumbSize::square));
        assert_eq!(loaded.thumb_format, ThumbFormat::Webp);
        assert_eq!(loaded.jpeg_quality, 70);
        assert_eq!(loaded.thumbnails_folder, "/srv/photos/small");
    }

    #[test]
    fn retry_failed_keeps_the_settings_and_takes_only_the_failed_images() {
        let spec = jobs(
            &ThumbsForm {
                thumb_format: ThumbFormat::Webp,
                ..Default::default()
            },
            &[PathBuf::from("/p/photos")],
        )
        .remove(0);
        let failed = vec![PathBuf::from("/p/photos/bad.jpg")];
        let Some(JobSpec::Thumbs(retry)) = ThumbsForm::retry_failed(&spec, failed.clone()) else {
            panic!("a thumbnail job")
        };
        assert_eq!(retry.only, failed);
        assert_eq!(retry.format, ThumbFormat::Webp);
        assert_eq!(retry.inputs, vec![PathBuf::from("/p/photos")]);
    }
}
