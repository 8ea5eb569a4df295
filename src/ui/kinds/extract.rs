//! The extract kind in the window: zip archives into a folder, and "Test" (every entry read and
//! checked, nothing written).
//!
//! Owns: the "Extract" form (the folder, what to do when a file exists, links and setuid bits,
//! remembered; the password, never remembered nor shown in logs), building its
//! [`ExtractSpec`]s ("Extract here" when the folder is empty: each archive beside itself),
//! "Then make thumbnails of the images" (a thumbnail job chained after each extract job, on what
//! it extracted, into `thumbnails` in its folder), the "Test" button (a test job of the inputs, submitted as the kind's own command), the badge
//! colour, `--extract` and its desktop action.
//! Must not touch: placement and safety decisions (the engine's plan), other kinds, anything
//! blocking (no file system access while drawing).

use std::collections::BTreeMap;
use std::path::PathBuf;

use eframe::egui;

use crate::engine::kinds::extract::spec::ExtractSpec;
use crate::engine::model::password::Password;
use crate::engine::{ConflictPolicy, JobKind, JobSpec, parent_dir};

use super::super::dialogs::{DialogRequest, FormField};
use super::super::kind_store::{load_kind, save_kind};
use super::super::typed_path::typed_path;
use super::super::command::NoticeLevel;
use super::Command;
use super::super::view::form;
use super::{DesktopAction, FormCx, KindCx, KindForm, WindowKind, Wrap};

/// The form's field a dialog fills in.
const FOLDER_FIELD: &str = "extract_folder";

/// The conflict policies an extract offers (an entry has no "source newer than" to update by),
/// in the order the form shows them.
pub const EXTRACT_POLICIES: [ConflictPolicy; 3] = [
    ConflictPolicy::Rename,
    ConflictPolicy::Overwrite,
    ConflictPolicy::Skip,
];

/// A password typed in the form: kept in memory only (never serialized), and never printed by
/// `Debug`.
#[derive(Clone, PartialEq, Default)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// The extract form. Everything but the password is remembered.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ExtractForm {
    /// The folder to extract into, as typed (empty: each archive's own folder, "Extract here").
    pub extract_folder: String,
    pub on_conflict: ConflictPolicy,
    /// Create link entries whose target stays inside the output folder.
    pub create_symlinks: bool,
    /// Restore setuid and setgid bits.
    pub restore_setuid: bool,
    /// The password of encrypted entries, for this session only.
    #[serde(skip)]
    pub password: Secret,
    /// The password is shown as typed.
    #[serde(skip)]
    pub show_password: bool,
    /// "Then make thumbnails of the images": a thumbnail job (the default settings) chained
    /// after each extract job takes the images it extracted.
    #[serde(default)]
    pub then_thumbnails: bool,
}

impl Default for ExtractForm {
    fn default() -> Self {
        let engine = ExtractSpec::new(Vec::new(), PathBuf::new());
        ExtractForm {
            extract_folder: String::new(),
            on_conflict: engine.on_conflict,
            create_symlinks: engine.create_symlinks,
            restore_setuid: engine.restore_setuid,
            password: Secret::default(),
            show_password: false,
            then_thumbnails: false,
        }
    }
}

/// The extract kind's own commands.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtractCommand {
    /// "Test": check every entry of the inputs, writing nothing.
    Test,
}

/// The extract kind asks nothing before queuing.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtractQuestion {}

impl ExtractForm {
    /// The typed folder, if any.
    /// The folder "Then make thumbnails of the images" writes into: `thumbnails` in the folder
    /// the archives were extracted into.
    pub fn chained_thumbnails(output_dir: &std::path::Path) -> PathBuf {
        output_dir.join("thumbnails")
    }

    fn folder(&self) -> Option<PathBuf> {
        typed_path(&self.extract_folder)
    }

    /// The password for the engine (none when the field is empty).
    fn password(&self) -> Option<Password> {
        (!self.password.0.is_empty()).then(|| Password::new(self.password.0.clone()))
    }

    /// The spec for `inputs` into `output_dir`, with the form's options.
    fn spec(&self, inputs: Vec<PathBuf>, output_dir: PathBuf) -> ExtractSpec {
        ExtractSpec {
            on_conflict: self.on_conflict,
            create_symlinks: self.create_symlinks,
            restore_setuid: self.restore_setuid,
            password: self.password(),
            ..ExtractSpec::new(inputs, output_dir)
        }
    }

    /// The test job of `inputs`, with the password.
    pub fn test_spec(&self, inputs: Vec<PathBuf>) -> JobSpec {
        JobSpec::Extract(ExtractSpec {
            password: self.password(),
            ..ExtractSpec::test(inputs)
        })
    }
}

impl KindForm for ExtractForm {
    fn kind(&self) -> JobKind {
        Self::KIND
    }

    fn draw(&mut self, ui: &mut egui::Ui, cx: &FormCx<'_>, commands: &mut Vec<Command>) {
        let inputs = form::first_inputs(cx.inputs);
        let dialog_free = !cx.dialog_open;
        form::settings_grid(ui, "extract-settings", |ui| {
            let label = form::row_label(ui, "Into folder");
            let here = inputs.first().map(|p| parent_dir(p).to_path_buf());
            let browse = dialog_free.then(|| DialogRequest::PickFolder {
                title: "Folder to extract into",
                start_dir: self.folder().or_else(|| here.clone()),
                field: FormField::new(Self::KIND, FOLDER_FIELD),
            });
            form::path_field(
                ui,
                &label,
                &mut self.extract_folder,
                match here {
                    Some(_) => "beside each archive".to_owned(),
                    None => form::default_hint(None),
                },
                "Folder to extract into",
                browse,
                commands,
            );
            ui.end_row();

            form::row_label(ui, "Then");
            ui.checkbox(&mut self.then_thumbnails, "Then make thumbnails of the images")
                .on_hover_text(
                    "Once the archives are extracted, make thumbnails of the images extracted \
                     (into a thumbnails folder where they were extracted)",
                );
            ui.end_row();

            form::row_label(ui, "File exists");
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 4.0;
                for policy in EXTRACT_POLICIES {
                    let hint = match policy {
                        ConflictPolicy::Rename => {
                            "Keep the existing file and name the new one “file (1).txt”"
                        }
                        ConflictPolicy::Overwrite => {
                            "Replace the existing file once the new one is complete"
                        }
                        _ => "Keep the existing file and extract nothing in its place",
                    };
                    ui.selectable_value(&mut self.on_conflict, policy, policy.label())
                        .on_hover_text(hint);
                }
            });
            ui.end_row();

            let password_label = form::row_label(ui, "Password");
            ui.horizontal(|ui| {
                ui.add(
                    egui::TextEdit::singleline(&mut self.password.0)
                        .password(!self.show_password)
                        .hint_text("for encrypted entries")
                        .desired_width(220.0),
                )
                .labelled_by(password_label.id)
                .accessible_name("Password")
                .on_hover_text(
                    "Used by Extract and Test for this session only: never saved, never kept \
                     in a journal",
                );
                ui.toggle_value(&mut self.show_password, "Show")
                    .accessible_name("Show password")
                    .on_hover_text("Show the password as typed");
            });
            ui.end_row();

            form::row_label(ui, "Safety");
            ui.horizontal_wrapped(|ui| {
                ui.checkbox(&mut self.create_symlinks, "Create links")
                    .on_hover_text(
                        "Create symbolic-link entries whose target stays inside the folder \
                         (others are never created)",
                    );
                ui.checkbox(&mut self.restore_setuid, "Keep setuid bits")
                    .on_hover_text("Restore setuid and setgid bits (off: plain permissions)");
            });
            ui.end_row();

            ui.label("");
            let has_inputs = !cx.inputs.is_empty();
            let test = ui
                .add_enabled(has_inputs, egui::Button::new("Test archives"))
                .on_hover_text("Read every entry and check it, writing nothing (like unzip -t)")
                .on_disabled_hover_text("Add some archives first");
            if test.clicked() {
                commands.push(ExtractForm::command(ExtractCommand::Test));
            }
            ui.end_row();
        });
    }

    fn refusal(&self) -> Option<String> {
        match self.folder() {
            Some(folder) if folder.is_relative() => Some(format!(
                "The folder to extract into, {}, is not a full path.",
                folder.display()
            )),
            _ => None,
        }
    }

    /// One job into the typed folder; with none, "Extract here": one job per folder holding
    /// archives, each into its own folder.
    fn build(&self, inputs: &[PathBuf], _inputs_generation: u64) -> Result<Vec<JobSpec>, String> {
        if let Some(folder) = self.folder() {
            return Ok(vec![JobSpec::Extract(self.spec(inputs.to_vec(), folder))]);
        }
        let mut by_folder: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
        for input in inputs {
            by_folder
                .entry(parent_dir(input).to_path_buf())
                .or_default()
                .push(input.clone());
        }
        Ok(by_folder
            .into_iter()
            .map(|(folder, inputs)| JobSpec::Extract(self.spec(inputs, folder)))
            .collect())
    }

    fn then_job(&self, first: &JobSpec) -> Option<JobSpec> {
        let JobSpec::Extract(extract) = first else {
            return None;
        };
        (self.then_thumbnails && !extract.test_only).then(|| {
            JobSpec::Thumbs(crate::engine::ThumbSpec::new(
                Vec::new(),
                Self::chained_thumbnails(&extract.output_dir),
            ))
        })
    }

    fn options_spec(&self) -> JobSpec {
        JobSpec::Extract(ExtractSpec {
            password: None,
            ..self.spec(vec![PathBuf::from("/archive.zip")], PathBuf::from("/"))
        })
    }

    fn take_options(&mut self, spec: &JobSpec) {
        let JobSpec::Extract(e) = spec else { return };
        self.on_conflict = e.on_conflict;
        self.create_symlinks = e.create_symlinks;
        self.restore_setuid = e.restore_setuid;
        self.sanitize();
    }

    fn set_path(&mut self, field: &str, path: PathBuf) {
        if field == FOLDER_FIELD {
            self.extract_folder = path.display().to_string();
        }
    }

    fn sanitize(&mut self) {
        if !EXTRACT_POLICIES.contains(&self.on_conflict) {
            self.on_conflict = ExtractForm::default().on_conflict;
        }
    }

    fn save(&self, storage: &mut dyn eframe::Storage) {
        // The password is `#[serde(skip)]`: it never reaches the store.
        save_kind(
            storage,
            Self::KIND,
            &ExtractForm {
                extract_folder: self.extract_folder.trim().to_owned(),
                password: Secret::default(),
                show_password: false,
                ..self.clone()
            },
        );
    }
}

impl WindowKind for ExtractForm {
    const KIND: JobKind = crate::engine::kinds::extract::KIND;
    const TAB_HINT: &'static str =
        "Extract zip archives into a folder (nothing ever lands outside it), or test them";
    const START_LABEL: Option<&'static str> = Some("Extract archives");
    const LAUNCH_FLAG: &'static str = "--extract";
    const DESKTOP_ACTION: DesktopAction = DesktopAction {
        id: "Extract",
        name: "Extract here with Shrinkwrap",
    };

    type Command = ExtractCommand;
    type Question = ExtractQuestion;

    fn load(storage: Option<&dyn eframe::Storage>) -> ExtractForm {
        // No store before each kind had its own key knew this kind.
        let mut form = load_kind(storage, Self::KIND, |_: ExtractForm, _: ExtractForm| {
            ExtractForm::default()
        });
        form.sanitize();
        form
    }

    fn badge_color(visuals: &egui::Visuals) -> egui::Color32 {
        if visuals.dark_mode {
            egui::Color32::from_rgb(110, 190, 170)
        } else {
            egui::Color32::from_rgb(30, 130, 110)
        }
    }

    fn apply(&mut self, command: ExtractCommand, cx: &mut KindCx<'_>) {
        match command {
            ExtractCommand::Test => {
                let inputs = cx.inputs.paths();
                if inputs.is_empty() {
                    cx.notify(NoticeLevel::Info, "Add some archives to test first.");
                    return;
                }
                let spec = self.test_spec(inputs);
                cx.submit(vec![spec], Vec::new());
            }
        }
    }

    fn draw_question(question: &ExtractQuestion, _ui: &mut egui::Ui, _: &mut Vec<Command>) {
        match *question {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_use_the_settings_and_extract_here_groups_by_folder() {
        let form = ExtractForm {
            extract_folder: " /out ".to_owned(),
            on_conflict: ConflictPolicy::Skip,
            create_symlinks: true,
            password: Secret("pw".to_owned()),
            ..Default::default()
        };
        let inputs = vec![PathBuf::from("/a/x.zip"), PathBuf::from("/b/y.zip")];
        let jobs = form.build(&inputs, 1).unwrap();
        assert_eq!(
            jobs,
            vec![JobSpec::Extract(ExtractSpec {
                on_conflict: ConflictPolicy::Skip,
                create_symlinks: true,
                password: Some(Password::new("pw")),
                ..ExtractSpec::new(inputs.clone(), PathBuf::from("/out"))
            })]
        );
        // Empty folder: each archive beside itself.
        let here = ExtractForm::default().build(&inputs, 1).unwrap();
        assert_eq!(
            here,
            vec![
                JobSpec::Extract(ExtractSpec::new(
                    vec![PathBuf::from("/a/x.zip")],
                    PathBuf::from("/a")
                )),
                JobSpec::Extract(ExtractSpec::new(
                    vec![PathBuf::from("/b/y.zip")],
                    PathBuf::from("/b")
                )),
            ]
        );
        assert_eq!(
            form.test_spec(inputs.clone()),
            JobSpec::Extract(ExtractSpec {
                password: Some(Password::new("pw")),
                ..ExtractSpec::test(inputs)
            })
        );
    }

    #[test]
    fn the_password_is_never_stored_nor_printed() {
        let form = ExtractForm {
            password: Secret("hunter2".to_owned()),
            ..Default::default()
        };
        let json = serde_json::to_string(&form).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        assert!(!format!("{form:?}").contains("hunter2"));
        let back: ExtractForm = serde_json::from_str(&json).unwrap();
        assert_eq!(back.password, Secret::default());
        assert_eq!(back.on_conflict, form.on_conflict);
    }

    #[test]
    fn a_remembered_update_policy_falls_back_to_the_engines_default() {
        let mut form = ExtractForm {
            on_conflict: ConflictPolicy::Update,
            ..Default::default()
        };
        form.sanitize();
        assert_eq!(form.on_conflict, ConflictPolicy::Rename);
    }
}
