//! The zip kind in the window: one archive of the inputs, or one archive per input.
//!
//! Owns: the "Zip archive" form (layout, level, what to do when the archive exists, the archive
//! path or the folder for the archives, the exclude patterns and "Honour .gitignore"; those are
//! remembered), the password field with its "Show" toggle and confirmation (never remembered,
//! never printed: only the spec carries it, and the engine never journals it), building its
//! [`ZipSpec`]s, the questions asked before queuing ("Make 3 archives?" when plain files would
//! each become an archive; "photos.zip already exists: Replace, Keep both or Cancel", asked from
//! the fresh preview, or at once when a job found the archive first), the answer given in
//! advance in the plan card and its "Ask again", the plan's archive line, the failed card's
//! Replace and Keep both, the "keep both" probe that lets the preview list an existing archive's
//! entries, the plan's "excluded" and "encrypted" lines, the card's compression ratio, the
//! badge colour, `--compress` and its desktop action.
//! Must not touch: deciding what an archive path means or whether it exists (the engine does, in
//! the plan), other kinds, anything blocking.

use std::path::{Path, PathBuf};

use eframe::egui::{self, RichText};

use crate::engine::model::password::Password;
use crate::engine::{
    Action, ExistingArchive, JobError, JobId, JobKind, JobReport, JobSpec, PlannedFile, SkipReason,
    ZipSpec, parent_dir,
};

use super::super::dialogs::{DialogRequest, FormField};
use super::super::format::{self, file_name};
use super::super::inputs::InputList;
use super::super::preview::PlanView;
use super::super::queue::JobRow;
use super::super::kind_store::{load_kind, save_kind};
use super::super::typed_path::typed_path;
use super::super::command::NoticeLevel;
use super::Command;
use super::super::view::{form, theme, widgets};
use super::extract::Secret;
use super::{
    DesktopAction, FormCx, KindCx, KindForm, PlanCx, StartCheck, StartCx, WindowKind, Wrap,
};

/// Names listed in a question before "and N more".
const NAMES_LISTED: usize = 5;
/// Archives named in the plan's archive line before "and N more".
const ARCHIVES_NAMED: usize = 3;
/// The form's fields a dialog fills in.
const ARCHIVE_FIELD: &str = "archive";
const ARCHIVES_FOLDER_FIELD: &str = "archives_folder";

/// One archive for all inputs, or one archive per input folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ArchiveLayout {
    #[default]
    SingleArchive,
    ArchivePerFolder,
}

/// The four compression presets a person chooses from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum CompressionLevel {
    Store,
    Fast,
    #[default]
    Normal,
    Maximum,
}

impl CompressionLevel {
    pub const ALL: [CompressionLevel; 4] = [
        CompressionLevel::Store,
        CompressionLevel::Fast,
        CompressionLevel::Normal,
        CompressionLevel::Maximum,
    ];

    pub fn label(self) -> &'static str {
        match self {
            CompressionLevel::Store => "Store",
            CompressionLevel::Fast => "Fast",
            CompressionLevel::Normal => "Normal",
            CompressionLevel::Maximum => "Maximum",
        }
    }

    /// The deflate level (0 = stored, no compression).
    pub fn deflate_level(self) -> u8 {
        match self {
            CompressionLevel::Store => 0,
            CompressionLevel::Fast => 1,
            CompressionLevel::Normal => 6,
            CompressionLevel::Maximum => 9,
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            CompressionLevel::Store => {
                "No compression: fastest, for media that is already compressed"
            }
            CompressionLevel::Fast => "Deflate level 1",
            CompressionLevel::Normal => "Deflate level 6, like zip's default",
            CompressionLevel::Maximum => "Deflate level 9: smallest, slowest",
        }
    }
}

/// What to do when an archive to be written already exists, as remembered between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ArchiveExists {
    /// Ask: the preview shows the question before Start, and Start asks if it is unanswered.
    #[default]
    Ask,
    /// Replace it once the new archive is complete.
    Replace,
    /// Keep it and write `name (1).zip`.
    KeepBoth,
}

impl ArchiveExists {
    pub const ALL: [ArchiveExists; 3] = [
        ArchiveExists::Ask,
        ArchiveExists::Replace,
        ArchiveExists::KeepBoth,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ArchiveExists::Ask => "Ask",
            ArchiveExists::Replace => "Replace",
            ArchiveExists::KeepBoth => "Keep both",
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            ArchiveExists::Ask => "Ask before writing over an archive that already exists",
            ArchiveExists::Replace => "Replace an existing archive once the new one is complete",
            ArchiveExists::KeepBoth => {
                "Keep an existing archive and name the new one “name (1).zip”"
            }
        }
    }

    /// The engine's policy: "ask" is "fail at once", which the window turns into the question.
    pub fn policy(self) -> ExistingArchive {
        match self {
            ArchiveExists::Ask => ExistingArchive::Fail,
            ArchiveExists::Replace => ExistingArchive::Replace,
            ArchiveExists::KeepBoth => ExistingArchive::KeepBoth,
        }
    }
}

/// An answer to "the archive already exists", valid while the inputs and destination it was
/// given for are unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveChoice {
    key: ChoiceKey,
    pub on_exists: ExistingArchive,
}

/// What an answer about an existing archive depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ChoiceKey {
    inputs_generation: u64,
    layout: ArchiveLayout,
    archive: String,
    archives_folder: String,
}

/// The zip form: its settings, destination fields and answers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZipForm {
    pub archive_layout: ArchiveLayout,
    pub compression: CompressionLevel,
    /// What to do when an archive already exists.
    pub existing_archive: ArchiveExists,
    /// The archive of "one archive" mode, as typed (empty: next to the first input). Not
    /// remembered: a file name remembered would make every new archive collide with the last.
    pub archive: String,
    /// The folder that receives the archives of "one archive per folder" mode, as typed.
    pub archives_folder: String,
    /// The answer given in advance to "the archive already exists".
    pub choice: Option<ArchiveChoice>,
    /// Inputs generation for which "make N archives" was confirmed.
    pub many_confirmed: Option<u64>,
    /// Exclude patterns as typed, separated by commas or new lines (see
    /// [`ZipForm::exclude_patterns`]).
    pub excludes: String,
    /// Leave out what `.gitignore` files in the inputs' folders say.
    pub honour_gitignore: bool,
    /// Encrypt the entries with AES-256 under this password (empty: no encryption). For this
    /// session only: never remembered, never printed.
    pub password: Secret,
    /// The password typed again, while it is masked: a typo would lock the archive for good.
    pub password_confirm: Secret,
    /// The password is shown as typed (then no confirmation is asked).
    pub show_password: bool,
}

/// What is remembered of the form. Its field names are those the shared settings and folders
/// used before each kind had its own key, so those still load.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Stored {
    archive_layout: ArchiveLayout,
    compression: CompressionLevel,
    existing_archive: ArchiveExists,
    archives_folder: String,
    excludes: String,
    honour_gitignore: bool,
}

/// The zip kind's own commands.
#[derive(Debug, Clone, PartialEq)]
pub enum ZipCommand {
    /// Answer to the modal "the archive already exists".
    AnswerExists(ExistsAnswer),
    /// Answer to the modal "this makes N archives".
    AnswerMany(ManyArchivesAnswer),
    /// An answer given in advance in the preview (`None`: ask again).
    ChooseExisting(Option<ExistingArchive>),
    /// Submits a job that failed because its archive exists again, with this policy.
    RetryArchive(JobId, ExistingArchive),
}

/// The zip kind's questions.
#[derive(Debug, Clone, PartialEq)]
pub enum ZipQuestion {
    /// Archives already exist: Replace, Keep both (as `name (1).zip`) or Cancel.
    ArchiveExists {
        /// The archives in the way.
        archives: Vec<PathBuf>,
        /// The jobs to submit with the answer.
        specs: Vec<JobSpec>,
        /// Failed jobs these replace (their cards go once the new jobs are queued).
        failed: Vec<JobId>,
    },
    /// "One archive per folder" with plain files among the inputs makes several archives.
    ManyArchives {
        archives: usize,
        /// The names of the inputs that are plain files.
        files: Vec<String>,
    },
}

/// The person's answer to [`ZipQuestion::ArchiveExists`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExistsAnswer {
    Replace,
    KeepBoth,
    Cancel,
}

impl ExistsAnswer {
    /// The engine's policy for this answer (`None`: cancel).
    pub fn policy(self) -> Option<ExistingArchive> {
        match self {
            ExistsAnswer::Replace => Some(ExistingArchive::Replace),
            ExistsAnswer::KeepBoth => Some(ExistingArchive::KeepBoth),
            ExistsAnswer::Cancel => None,
        }
    }
}

/// The person's answer to [`ZipQuestion::ManyArchives`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManyArchivesAnswer {
    /// Make them all.
    Confirm,
    /// Switch to one archive for all inputs (nothing is queued: the preview shows it first).
    OneArchive,
    Cancel,
}

impl ZipForm {
    /// The exclude patterns typed: separated by commas or new lines, blanks dropped. A comma
    /// inside braces belongs to the pattern (`*.{jpg,png}`).
    pub fn exclude_patterns(&self) -> Vec<String> {
        let mut patterns = Vec::new();
        let mut current = String::new();
        let mut depth = 0usize;
        for c in self.excludes.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            if c == '\n' || (c == ',' && depth == 0) {
                patterns.push(std::mem::take(&mut current));
                depth = 0;
            } else {
                current.push(c);
            }
        }
        patterns.push(current);
        patterns
            .into_iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect()
    }

    /// The password for the engine (none when the field is empty).
    fn password(&self) -> Option<Password> {
        (!self.password.0.is_empty()).then(|| Password::new(self.password.0.clone()))
    }

    /// Whether the password and its confirmation disagree (no confirmation is asked while the
    /// password is shown).
    fn passwords_differ(&self) -> bool {
        !self.password.0.is_empty()
            && !self.show_password
            && self.password.0 != self.password_confirm.0
    }

    /// `spec` with the form's exclude patterns, `.gitignore` choice and password.
    fn with_options(&self, spec: ZipSpec) -> ZipSpec {
        ZipSpec {
            excludes: self.exclude_patterns(),
            honour_gitignore: self.honour_gitignore,
            password: self.password(),
            ..spec
        }
    }

    /// The archive destination to pass to the engine: the typed path as typed (the engine reads
    /// a folder as "`<default name>.zip` in it" and adds `.zip` to a bare name), else the
    /// default next to the first input.
    pub fn archive_path(&self, inputs: &[PathBuf]) -> Option<PathBuf> {
        typed_path(&self.archive).or_else(|| ZipSpec::default_destination(inputs))
    }

    /// Where "one archive per folder" writes: the typed folder, else the first input's folder.
    pub fn archives_folder_path(&self, inputs: &[PathBuf]) -> Option<PathBuf> {
        typed_path(&self.archives_folder)
            .or_else(|| Some(parent_dir(inputs.first()?).to_path_buf()))
    }

    fn choice_key(&self, inputs_generation: u64) -> ChoiceKey {
        ChoiceKey {
            inputs_generation,
            layout: self.archive_layout,
            archive: self.archive.clone(),
            archives_folder: self.archives_folder.clone(),
        }
    }

    /// The answer about an existing archive that holds for these inputs and destination.
    pub fn archive_choice(&self, inputs_generation: u64) -> Option<ExistingArchive> {
        self.choice
            .as_ref()
            .filter(|c| c.key == self.choice_key(inputs_generation))
            .map(|c| c.on_exists)
    }

    fn remember_choice(&mut self, inputs_generation: u64, on_exists: Option<ExistingArchive>) {
        self.choice = on_exists.map(|on_exists| ArchiveChoice {
            key: self.choice_key(inputs_generation),
            on_exists,
        });
    }

    /// "Makes 5 archives, 3 of them from single files" before starting (from the measured
    /// inputs).
    fn archive_count(ui: &mut egui::Ui, inputs: &InputList) {
        let count = inputs.len() as u64;
        let files = inputs.plain_files().count() as u64;
        let mut text = format!("Makes {}", format::plural(count, "archive", "archives"));
        if inputs.measuring() {
            text.push_str(" (measuring the inputs…)");
        } else if files > 0 && count > 1 {
            text.push_str(&format!(
                ", {} from single files: Start asks first",
                if files == count {
                    "all".to_owned()
                } else {
                    format!("{files} of them")
                }
            ));
        }
        let color = if files > 0 && count > 1 {
            theme::warning(ui.visuals())
        } else {
            ui.visuals().weak_text_color()
        };
        ui.add(egui::Label::new(RichText::new(text).color(color)).wrap());
    }

    /// The answer to "the archive already exists": the jobs are submitted with it (and the
    /// answer holds for the preview while the inputs and destination stay the same).
    fn answer_exists(&mut self, answer: ExistsAnswer, cx: &mut KindCx<'_>) {
        let Some(Some(ZipQuestion::ArchiveExists { specs, failed, .. })) =
            cx.prompt.as_mut().map(|p| Self::own_question(p).cloned())
        else {
            return;
        };
        *cx.prompt = None;
        let Some(on_exists) = answer.policy() else {
            return;
        };
        if failed.is_empty() {
            self.remember_choice(cx.inputs.generation(), Some(on_exists));
        }
        let specs = specs
            .into_iter()
            .map(|spec| with_policy(spec, on_exists))
            .collect();
        cx.submit(specs, failed);
    }

    fn answer_many(&mut self, answer: ManyArchivesAnswer, cx: &mut KindCx<'_>) {
        let asked = cx
            .prompt
            .as_mut()
            .and_then(Self::own_question)
            .is_some_and(|q| matches!(q, ZipQuestion::ManyArchives { .. }));
        if !asked {
            return;
        }
        *cx.prompt = None;
        match answer {
            ManyArchivesAnswer::Confirm => {
                self.many_confirmed = Some(cx.inputs.generation());
                cx.start(Self::KIND);
            }
            ManyArchivesAnswer::OneArchive => self.archive_layout = ArchiveLayout::SingleArchive,
            ManyArchivesAnswer::Cancel => {}
        }
    }

    /// Where the archive goes and what happens there: "Writes photos.zip in /data", "Replaces …",
    /// "Writes photos (1).zip in /data; photos.zip is kept".
    fn archive_line(
        &self,
        ui: &mut egui::Ui,
        view: &PlanView,
        cx: &PlanCx,
        commands: &mut Vec<Command>,
    ) {
        let archives: Vec<&PlannedFile> =
            view.parts().iter().filter_map(|p| p.archive()).collect();
        let text = match archives.as_slice() {
            [] => return,
            [one] => archive_fate(one),
            many => {
                let folder = many[0]
                    .path
                    .parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                let mut names: Vec<String> = many
                    .iter()
                    .take(ARCHIVES_NAMED)
                    .map(|a| file_name(&a.path))
                    .collect();
                if many.len() > ARCHIVES_NAMED {
                    names.push(format!("{} more", many.len() - ARCHIVES_NAMED));
                }
                let replaced = many
                    .iter()
                    .filter(|a| a.action == Action::Overwrite)
                    .count();
                let mut text = format!(
                    "Writes {} archives in {folder}: {}",
                    many.len(),
                    names.join(", ")
                );
                if replaced > 0 {
                    text.push_str(&format!(" ({replaced} replaced)"));
                }
                text
            }
        };
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(text).weak());
            if self.archive_choice(cx.inputs_generation).is_some() && !cx.question_open {
                let change = ui
                    .small_button("Ask again")
                    .on_hover_text("Forget the answer about the existing archive");
                if change.clicked() {
                    commands.push(Self::command(ZipCommand::ChooseExisting(None)));
                }
            }
        });
    }

    /// The "Exclude" field (patterns separated by commas or new lines) and "Honour .gitignore",
    /// on one row.
    fn draw_exclude_rows(&mut self, ui: &mut egui::Ui) {
        let label = form::row_label(ui, "Exclude");
        ui.horizontal(|ui| {
            ui.add(
                egui::TextEdit::singleline(&mut self.excludes)
                    .desired_width(220.0)
                    .hint_text("*.tmp, .git/, node_modules/, .DS_Store"),
            )
            .labelled_by(label.id)
            .accessible_name("Exclude patterns")
            .on_hover_text(
                "Files and folders to leave out, separated by commas, as in .gitignore: \
                 “*.tmp” any file so named, “.git/” folders only, “/build” at the top only, \
                 “!keep.tmp” takes one back. The plan lists what is left out.",
            );
            ui.checkbox(&mut self.honour_gitignore, "Honour .gitignore")
                .on_hover_text(
                    "Also leave out what the .gitignore files in the inputs' folders say (each \
                     applies to its folder and below, as in git)",
                );
        });
        ui.end_row();
    }

    /// The password (masked unless "Show" is on) and, while masked, its confirmation, on one
    /// row.
    fn draw_password_rows(&mut self, ui: &mut egui::Ui) {
        let label = form::row_label(ui, "Password");
        ui.horizontal_wrapped(|ui| {
            ui.add(
                egui::TextEdit::singleline(&mut self.password.0)
                    .password(!self.show_password)
                    .hint_text("none: not encrypted")
                    .desired_width(140.0),
            )
            .labelled_by(label.id)
            .accessible_name("Password")
            .on_hover_text(
                "Encrypts every entry with AES-256 (WinZip AE-2, which 7-Zip and WinZip open). \
                 Used for this session only: never saved, never kept in a journal.",
            );
            if !self.show_password {
                ui.add_enabled(
                    !self.password.0.is_empty(),
                    egui::TextEdit::singleline(&mut self.password_confirm.0)
                        .password(true)
                        .hint_text("again")
                        .desired_width(110.0),
                )
                .accessible_name("Confirm password")
                .on_hover_text("Type the password again: a typo would lock the archive for good");
            }
            ui.toggle_value(&mut self.show_password, "Show")
                .accessible_name("Show password")
                .on_hover_text("Show the password as typed (then it need not be typed twice)");
            if self.passwords_differ() && !self.password_confirm.0.is_empty() {
                ui.label(RichText::new("differs").color(theme::warning(ui.visuals())));
            }
        });
        ui.end_row();
    }

    /// The question about archives in the way, asked as soon as the preview finds them.
    fn exists_question(ui: &mut egui::Ui, view: &PlanView, commands: &mut Vec<Command>) {
        let warning = theme::warning(ui.visuals());
        widgets::callout(ui, warning, |ui| {
            let text = match view.existing.as_slice() {
                [one] => format!(
                    "{} already exists in {}.",
                    file_name(one),
                    one.parent()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                ),
                many => format!(
                    "{} and {} more archives already exist.",
                    file_name(&many[0]),
                    many.len() - 1
                ),
            };
            ui.add(egui::Label::new(RichText::new(text).strong().color(warning)).wrap());
            ui.add(
                egui::Label::new(
                    "Replace it once the new archive is complete, or keep both (the new one gets \
                     a free name such as “name (1).zip”)? Or type another name.",
                )
                .wrap(),
            );
            ui.horizontal(|ui| {
                if ui
                    .button("Replace")
                    .on_hover_text("Replace the existing archive once the new one is complete")
                    .clicked()
                {
                    commands.push(Self::command(ZipCommand::ChooseExisting(Some(
                        ExistingArchive::Replace,
                    ))));
                }
                if ui
                    .button("Keep both")
                    .on_hover_text("Keep the existing archive; the new one gets a free name")
                    .clicked()
                {
                    commands.push(Self::command(ZipCommand::ChooseExisting(Some(
                        ExistingArchive::KeepBoth,
                    ))));
                }
            });
        });
    }
}

/// What the plan leaves out: "Leaves out 12 files and folders matched by the exclude patterns
/// or .gitignore files".
fn excluded_line(ui: &mut egui::Ui, view: &PlanView) {
    let excluded = view
        .parts()
        .iter()
        .flat_map(|p| p.plan.items.iter())
        .filter(|i| matches!(i.action, Action::Skip(SkipReason::Excluded { .. })))
        .count() as u64;
    if excluded > 0 {
        ui.add(
            egui::Label::new(
                RichText::new(format!(
                    "Leaves out {} matched by the exclude patterns or .gitignore files (listed \
                     below as “excluded”)",
                    format::plural(excluded, "file or folder", "files and folders")
                ))
                .weak(),
            )
            .wrap(),
        );
    }
}

/// `spec` with its "if the archive exists" policy set to `on_exists` (other kinds unchanged).
fn with_policy(spec: JobSpec, on_exists: ExistingArchive) -> JobSpec {
    match spec {
        JobSpec::Zip(zip) => JobSpec::Zip(ZipSpec { on_exists, ..zip }),
        other => other,
    }
}

/// The archive a finished job found in its way, when that is why it failed.
pub fn existing_archive(report: &JobReport) -> Option<&Path> {
    match report.failure.as_ref()?.error() {
        JobError::DestinationExists { path } => Some(path),
        _ => None,
    }
}

fn archive_fate(archive: &PlannedFile) -> String {
    let name = file_name(&archive.path);
    let folder = archive
        .path
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    match &archive.action {
        Action::Overwrite => {
            format!("Replaces {name} in {folder} once the new archive is complete")
        }
        Action::Rename { wanted } => {
            format!("Writes {name} in {folder}; {} is kept", file_name(wanted))
        }
        _ => format!("Writes {name} in {folder}"),
    }
}

fn listed(names: impl Iterator<Item = String>, total: usize) -> String {
    let mut shown: Vec<String> = names.take(NAMES_LISTED).collect();
    if total > NAMES_LISTED {
        shown.push(format!("and {} more", total - NAMES_LISTED));
    }
    shown.join(", ")
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

fn draw_archive_exists(ui: &mut egui::Ui, archives: &[PathBuf], commands: &mut Vec<Command>) {
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
    let answer = |answer| ZipForm::command(ZipCommand::AnswerExists(answer));
    ui.horizontal(|ui| {
        let replace = egui::Button::new(RichText::new("Replace").color(egui::Color32::WHITE))
            .fill(theme::danger(ui.visuals()));
        if ui
            .add(replace)
            .on_hover_text("The existing archive is replaced only once the new one is complete")
            .clicked()
        {
            commands.push(answer(ExistsAnswer::Replace));
        }
        if ui.button("Keep both").clicked() {
            commands.push(answer(ExistsAnswer::KeepBoth));
        }
        if ui.button("Cancel").on_hover_text("Write nothing").clicked()
            || ui.input(|i| i.key_pressed(egui::Key::Escape))
        {
            commands.push(answer(ExistsAnswer::Cancel));
        }
    });
}

fn draw_many_archives(
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
    let answer = |answer| ZipForm::command(ZipCommand::AnswerMany(answer));
    ui.horizontal(|ui| {
        let make = egui::Button::new(
            RichText::new(format!("Make {archives} archives")).color(egui::Color32::WHITE),
        )
        .fill(theme::accent(ui.visuals()));
        if ui.add(make).clicked() {
            commands.push(answer(ManyArchivesAnswer::Confirm));
        }
        if ui
            .button("One archive instead")
            .on_hover_text("Put all inputs into one archive (nothing is started yet)")
            .clicked()
        {
            commands.push(answer(ManyArchivesAnswer::OneArchive));
        }
        if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
            commands.push(answer(ManyArchivesAnswer::Cancel));
        }
    });
}

impl KindForm for ZipForm {
    fn kind(&self) -> JobKind {
        Self::KIND
    }

    fn draw(&mut self, ui: &mut egui::Ui, cx: &FormCx<'_>, commands: &mut Vec<Command>) {
        let inputs = form::first_inputs(cx.inputs);
        let dialog_free = !cx.dialog_open;
        form::settings_grid(ui, "compress-settings", |ui| {
            let label = form::row_label(ui, "Output");
            ui.horizontal(|ui| {
                ui.radio_value(
                    &mut self.archive_layout,
                    ArchiveLayout::SingleArchive,
                    "One archive",
                );
                ui.radio_value(
                    &mut self.archive_layout,
                    ArchiveLayout::ArchivePerFolder,
                    "One per folder",
                )
                .on_hover_text("Each input becomes its own archive, named after it");
            })
            .response
            .labelled_by(label.id);
            ui.end_row();

            match self.archive_layout {
                ArchiveLayout::SingleArchive => {
                    let label = form::row_label(ui, "Save as");
                    let suggested = self.archive_path(&inputs);
                    let browse = dialog_free.then(|| DialogRequest::SaveFile {
                        title: "Save archive as",
                        filter: ("Zip archive", "zip"),
                        suggested: suggested.clone(),
                        field: FormField::new(Self::KIND, ARCHIVE_FIELD),
                    });
                    form::path_field(
                        ui,
                        &label,
                        &mut self.archive,
                        form::default_hint(suggested),
                        "Archive path",
                        browse,
                        commands,
                    );
                }
                ArchiveLayout::ArchivePerFolder => {
                    let label = form::row_label(ui, "Into folder");
                    let folder = self.archives_folder_path(&inputs);
                    let browse = dialog_free.then(|| DialogRequest::PickFolder {
                        title: "Folder for the archives",
                        start_dir: folder.clone(),
                        field: FormField::new(Self::KIND, ARCHIVES_FOLDER_FIELD),
                    });
                    form::path_field(
                        ui,
                        &label,
                        &mut self.archives_folder,
                        form::default_hint(folder),
                        "Folder for the archives",
                        browse,
                        commands,
                    );
                }
            }
            ui.end_row();

            form::row_label(ui, "Level");
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 4.0;
                for level in CompressionLevel::ALL {
                    ui.selectable_value(&mut self.compression, level, level.label())
                        .on_hover_text(level.hint());
                }
            });
            ui.end_row();

            let label = form::row_label(ui, "If it exists");
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 4.0;
                for choice in ArchiveExists::ALL {
                    // Named with the row: "Replace" alone is the question's button.
                    ui.selectable_value(&mut self.existing_archive, choice, choice.label())
                        .accessible_name(format!("If it exists: {}", choice.label()))
                        .on_hover_text(choice.hint());
                }
            })
            .response
            .labelled_by(label.id);
            ui.end_row();

            self.draw_exclude_rows(ui);
            self.draw_password_rows(ui);
        });
        if self.archive_layout == ArchiveLayout::ArchivePerFolder && !cx.inputs.is_empty() {
            Self::archive_count(ui, cx.inputs);
        }
    }

    /// A password typed twice differently, or an exclude pattern the engine cannot read.
    fn options_spec(&self) -> JobSpec {
        JobSpec::Zip(ZipSpec {
            level: self.compression.deflate_level(),
            on_exists: self.existing_archive.policy(),
            ..ZipSpec::new(vec![PathBuf::from("/")], PathBuf::from("/archive.zip"))
        })
    }

    /// The form offers four levels: a preset's level takes the nearest one.
    fn take_options(&mut self, spec: &JobSpec) {
        let JobSpec::Zip(z) = spec else { return };
        self.compression = match z.level {
            0 => CompressionLevel::Store,
            1..=3 => CompressionLevel::Fast,
            4..=7 => CompressionLevel::Normal,
            _ => CompressionLevel::Maximum,
        };
        self.existing_archive = match z.on_exists {
            ExistingArchive::Replace => ArchiveExists::Replace,
            ExistingArchive::KeepBoth => ArchiveExists::KeepBoth,
            _ => ArchiveExists::Ask,
        };
        self.excludes = z.excludes.join(", ");
        self.honour_gitignore = z.honour_gitignore;
    }

    fn refusal(&self) -> Option<String> {
        if self.passwords_differ() {
            return Some(
                "the password and its confirmation differ (type it again, or tick Show to see it)"
                    .to_owned(),
            );
        }
        // The options only: inputs and destination are the plan's to check.
        let check = JobSpec::Zip(ZipSpec {
            excludes: self.exclude_patterns(),
            ..ZipSpec::new(vec![PathBuf::from("/")], PathBuf::from("/archive.zip"))
        });
        check.validate().err().map(|e| e.to_string())
    }

    fn build(&self, inputs: &[PathBuf], inputs_generation: u64) -> Result<Vec<JobSpec>, String> {
        let level = self.compression.deflate_level();
        let on_exists = self
            .archive_choice(inputs_generation)
            .unwrap_or(self.existing_archive.policy());
        Ok(match self.archive_layout {
            ArchiveLayout::SingleArchive => {
                let destination = self
                    .archive_path(inputs)
                    .ok_or("Choose where to save the archive.")?;
                vec![JobSpec::Zip(self.with_options(ZipSpec {
                    level,
                    on_exists,
                    ..ZipSpec::new(inputs.to_vec(), destination)
                }))]
            }
            ArchiveLayout::ArchivePerFolder => {
                let folder = self
                    .archives_folder_path(inputs)
                    .ok_or("Choose a folder for the archives.")?;
                ZipSpec::per_folder(inputs, &folder, level, on_exists)
                    .into_iter()
                    .map(|spec| JobSpec::Zip(self.with_options(spec)))
                    .collect()
            }
        })
    }

    /// Whether plain files are among the inputs decides whether "one archive per folder" asks.
    fn waits_for_measuring(&self, inputs: &InputList) -> bool {
        self.archive_layout == ArchiveLayout::ArchivePerFolder && inputs.len() > 1
    }

    /// "One archive per folder" with plain files among the inputs makes several archives (asked
    /// once per set of inputs); archives the fresh preview found already existing are asked
    /// about (with `--quit-when-done` too: the window waits for the answer). With
    /// `--quit-when-done`, several archives unasked are not started.
    fn check_start(&self, specs: &[JobSpec], cx: &StartCx<'_>) -> StartCheck {
        let files: Vec<String> = cx.inputs.plain_files().map(|e| e.name()).collect();
        if self.waits_for_measuring(cx.inputs)
            && specs.len() > 1
            && !files.is_empty()
            && self.many_confirmed != Some(cx.inputs.generation())
        {
            if cx.quit_when_done {
                return StartCheck::Refuse(format!(
                    "Not started: one archive per folder would make {} archives, {} of them \
                     from single files, and --quit-when-done cannot ask first.",
                    specs.len(),
                    files.len()
                ));
            }
            return StartCheck::Ask(Self::question(ZipQuestion::ManyArchives {
                archives: specs.len(),
                files,
            }));
        }
        let preview = cx.preview;
        if let Some(view) = preview.view()
            && preview.is_fresh()
            && !view.existing.is_empty()
            && preview.specs() == specs
        {
            return StartCheck::Ask(Self::question(ZipQuestion::ArchiveExists {
                archives: view.existing.clone(),
                specs: specs.to_vec(),
                failed: Vec::new(),
            }));
        }
        StartCheck::Go
    }

    fn plan_notes(
        &self,
        ui: &mut egui::Ui,
        view: &PlanView,
        cx: &PlanCx,
        commands: &mut Vec<Command>,
    ) {
        self.archive_line(ui, view, cx, commands);
        excluded_line(ui, view);
        if self.password().is_some() {
            ui.add(
                egui::Label::new(
                    RichText::new(
                        "Every entry is encrypted with AES-256 (opens in 7-Zip, WinZip and this \
                         app with the password; the password is not saved)",
                    )
                    .weak(),
                )
                .wrap(),
            );
        }
        if !view.existing.is_empty() && !cx.question_open {
            Self::exists_question(ui, view, commands);
        }
    }

    /// A job that failed because its archive exists: the same answers the question offers.
    fn card_extras(&self, ui: &mut egui::Ui, row: &JobRow, commands: &mut Vec<Command>) {
        let Some(existing) = row.report.as_ref().and_then(existing_archive) else {
            return;
        };
        let name = file_name(existing);
        ui.add_space(2.0);
        ui.horizontal(|ui| {
            let replace = ui
                .button("Replace")
                .accessible_name(format!("Replace {name}"))
                .on_hover_text(format!(
                    "Run the job again and replace {name} once the new archive is complete"
                ));
            if replace.clicked() {
                commands.push(Self::command(ZipCommand::RetryArchive(
                    row.id,
                    ExistingArchive::Replace,
                )));
            }
            let keep = ui
                .button("Keep both")
                .accessible_name(format!("Keep {name} and write a new archive"))
                .on_hover_text(format!(
                    "Run the job again; {name} is kept and the new archive gets a free name"
                ));
            if keep.clicked() {
                commands.push(Self::command(ZipCommand::RetryArchive(
                    row.id,
                    ExistingArchive::KeepBoth,
                )));
            }
        });
    }

    /// A real job failed because its archive exists (Start came before the preview knew): the
    /// window asks at once (one question for all such jobs; `--quit-when-done` waits for the
    /// answer).
    fn job_finished(&mut self, row: &JobRow, cx: &mut KindCx<'_>) {
        let Some(path) = row
            .report
            .as_ref()
            .and_then(existing_archive)
            .map(Path::to_path_buf)
        else {
            return;
        };
        let spec = row.spec.clone();
        match cx.prompt.as_mut().map(|p| Self::own_question(p)) {
            None => {
                *cx.prompt = Some(Self::question(ZipQuestion::ArchiveExists {
                    archives: vec![path],
                    specs: vec![spec],
                    failed: vec![row.id],
                }));
            }
            Some(Some(ZipQuestion::ArchiveExists {
                archives,
                specs,
                failed,
            })) if !failed.is_empty() => {
                archives.push(path);
                specs.push(spec);
                failed.push(row.id);
            }
            // Another question is open: the failed card offers the same answers.
            Some(_) => {}
        }
    }

    fn set_path(&mut self, field: &str, path: PathBuf) {
        let text = path.display().to_string();
        match field {
            ARCHIVE_FIELD => self.archive = text,
            ARCHIVES_FOLDER_FIELD => self.archives_folder = text,
            _ => {}
        }
    }

    fn save(&self, storage: &mut dyn eframe::Storage) {
        save_kind(
            storage,
            Self::KIND,
            &Stored {
                archive_layout: self.archive_layout,
                compression: self.compression,
                existing_archive: self.existing_archive,
                archives_folder: self.archives_folder.trim().to_owned(),
                // The password and its confirmation are not among what is stored.
                excludes: self.excludes.trim().to_owned(),
                honour_gitignore: self.honour_gitignore,
            },
        );
    }
}

impl WindowKind for ZipForm {
    const KIND: JobKind = crate::engine::kinds::zip::KIND;
    const TAB_LABEL: Option<&'static str> = Some("Zip archive");
    const TAB_HINT: &'static str = "Compress the inputs into a zip archive";
    const LAUNCH_FLAG: &'static str = "--compress";
    const DESKTOP_ACTION: DesktopAction = DesktopAction {
        id: "Compress",
        name: "Compress with Shrinkwrap",
    };
    const EXISTING_HINT: Option<&'static str> = Some("choose to replace it, or keep both");

    type Command = ZipCommand;
    type Question = ZipQuestion;

    fn load(storage: Option<&dyn eframe::Storage>) -> ZipForm {
        let stored: Stored = load_kind(storage, Self::KIND, |settings: Stored, folders: Stored| {
            Stored {
                archives_folder: folders.archives_folder,
                ..settings
            }
        });
        ZipForm {
            archive_layout: stored.archive_layout,
            compression: stored.compression,
            existing_archive: stored.existing_archive,
            archives_folder: stored.archives_folder,
            excludes: stored.excludes,
            honour_gitignore: stored.honour_gitignore,
            ..ZipForm::default()
        }
    }

    fn badge_color(visuals: &egui::Visuals) -> egui::Color32 {
        theme::accent(visuals)
    }

    /// "1,204 entries", or for one archive per folder "3 archives, 1,204 entries".
    fn plan_head(view: &PlanView) -> String {
        let entries = super::plan_head(view);
        match view.parts().len() {
            0 | 1 => entries,
            n => format!("{} archives, {entries}", format::count(n as u64)),
        }
    }

    /// "archive 1.2 MB (42 % of 2.9 MB)", "40 entries".
    fn card_summary(row: &JobRow, report: &JobReport) -> Vec<String> {
        let mut parts = super::super::queue::card_summary(row, report);
        if let Some(size) = parts.first_mut()
            && let Some(ratio) = compression_ratio(report)
        {
            size.push_str(&format!(
                " ({:.0} % of {})",
                ratio * 100.0,
                format::bytes(report.progress.bytes_total)
            ));
        }
        parts
    }

    /// A dry run that finds its archive existing is followed by a "keep both" dry run, so the
    /// preview can still list the archive's entries.
    fn probe(spec: &JobSpec, report: &JobReport) -> Option<(JobSpec, PathBuf)> {
        let existing = existing_archive(report)?;
        match spec {
            JobSpec::Zip(zip) if zip.on_exists == ExistingArchive::Fail => Some((
                JobSpec::Zip(ZipSpec {
                    on_exists: ExistingArchive::KeepBoth,
                    ..zip.clone()
                }),
                existing.to_path_buf(),
            )),
            _ => None,
        }
    }

    fn apply(&mut self, command: ZipCommand, cx: &mut KindCx<'_>) {
        match command {
            ZipCommand::AnswerExists(answer) => self.answer_exists(answer, cx),
            ZipCommand::AnswerMany(answer) => self.answer_many(answer, cx),
            ZipCommand::ChooseExisting(choice) => {
                self.remember_choice(cx.inputs.generation(), choice)
            }
            ZipCommand::RetryArchive(id, on_exists) => {
                let Some(spec) = cx.queue.row(id).map(|r| r.spec.clone()) else {
                    return;
                };
                if matches!(spec, JobSpec::Zip(_)) {
                    cx.submit(vec![with_policy(spec, on_exists)], vec![id]);
                } else {
                    cx.notify(NoticeLevel::Info, "That job has no archive to replace.");
                }
            }
        }
    }

    fn draw_question(question: &ZipQuestion, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        match question {
            ZipQuestion::ArchiveExists { archives, .. } => {
                draw_archive_exists(ui, archives, commands)
            }
            ZipQuestion::ManyArchives { archives, files } => {
                draw_many_archives(ui, *archives, files, commands)
            }
        }
    }
}

/// Output size over input size for a finished archive (e.g. 0.42).
pub fn compression_ratio(report: &JobReport) -> Option<f64> {
    (report.archive.is_some() && report.progress.bytes_total > 0 && report.output_bytes > 0)
        .then(|| report.output_bytes as f64 / report.progress.bytes_total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs(form: &ZipForm, inputs: &[PathBuf]) -> Vec<JobSpec> {
        form.build(inputs, 1).unwrap()
    }

    #[test]
    fn default_archive_is_next_to_the_first_input() {
        let inputs = vec![PathBuf::from("/data/photos")];
        let jobs = jobs(&ZipForm::default(), &inputs);
        let [JobSpec::Zip(zip)] = jobs.as_slice() else {
            panic!("one zip job expected: {jobs:?}")
        };
        assert_eq!(zip.destination, PathBuf::from("/data/photos.zip"));
        assert_eq!(zip.level, 6);
        assert_eq!(zip.on_exists, ExistingArchive::Fail);
    }

    #[test]
    fn typed_archive_is_passed_as_typed_and_the_choice_wins() {
        let inputs = vec![PathBuf::from("/data/a.txt")];
        let mut form = ZipForm {
            archive: " /tmp/out ".to_owned(),
            existing_archive: ArchiveExists::Replace,
            ..Default::default()
        };
        // The engine decides what "/tmp/out" means (a folder, or "out.zip").
        assert_eq!(form.archive_path(&inputs), Some(PathBuf::from("/tmp/out")));
        let on_exists = |specs: &[JobSpec]| match specs {
            [JobSpec::Zip(z)] => z.on_exists,
            other => panic!("one zip job expected: {other:?}"),
        };
        assert_eq!(on_exists(&jobs(&form, &inputs)), ExistingArchive::Replace);
        form.remember_choice(1, Some(ExistingArchive::KeepBoth));
        assert_eq!(on_exists(&jobs(&form, &inputs)), ExistingArchive::KeepBoth);
        // The answer was for these inputs and this destination only.
        assert_eq!(
            on_exists(&form.build(&inputs, 2).unwrap()),
            ExistingArchive::Replace
        );
        form.archive = "/tmp/other.zip".to_owned();
        assert_eq!(on_exists(&jobs(&form, &inputs)), ExistingArchive::Replace);
    }

    #[test]
    fn one_archive_per_folder() {
        let inputs = vec![PathBuf::from("/data/a"), PathBuf::from("/data/b")];
        let form = ZipForm {
            archive_layout: ArchiveLayout::ArchivePerFolder,
            compression: CompressionLevel::Maximum,
            ..Default::default()
        };
        let jobs = jobs(&form, &inputs);
        let outputs: Vec<_> = jobs.iter().map(|j| j.output_path().to_path_buf()).collect();
        assert_eq!(
            outputs,
            vec![PathBuf::from("/data/a.zip"), PathBuf::from("/data/b.zip")]
        );
        assert!(jobs.iter().all(|j| matches!(j, JobSpec::Zip(z) if z.level == 9)));
    }

    #[test]
    fn the_form_is_remembered_under_its_own_key_and_old_stores_still_load() {
        use crate::ui::settings::tests::MemoryStorage;
        let form = ZipForm {
            archive_layout: ArchiveLayout::ArchivePerFolder,
            compression: CompressionLevel::Fast,
            existing_archive: ArchiveExists::KeepBoth,
            archive: "/not/remembered.zip".to_owned(),
            archives_folder: " /srv/archives ".to_owned(),
            ..Default::default()
        };
        let mut storage = MemoryStorage::default();
        form.save(&mut storage);
        let loaded = ZipForm::load(Some(&storage));
        assert_eq!(loaded.archive_layout, ArchiveLayout::ArchivePerFolder);
        assert_eq!(loaded.compression, CompressionLevel::Fast);
        assert_eq!(loaded.existing_archive, ArchiveExists::KeepBoth);
        assert_eq!(loaded.archives_folder, "/srv/archives");
        assert_eq!(loaded.archive, "", "an archive's name is not remembered");

        // What the window stored before each kind had its own key.
        let old = MemoryStorage::old_format();
        let loaded = ZipForm::load(Some(&old));
        assert_eq!(loaded.compression, CompressionLevel::Maximum);
        assert_eq!(loaded.archive_layout, ArchiveLayout::ArchivePerFolder);
        assert_eq!(loaded.existing_archive, ArchiveExists::Replace);
        assert_eq!(loaded.archives_folder, "/srv/zips");
    }

    #[test]
    fn exclude_patterns_split_on_commas_and_lines_but_not_inside_braces() {
        let form = ZipForm {
            excludes: " *.tmp, .git/\nnode_modules/ ,, \n*.{jpg,png}\n!keep.tmp\n".to_owned(),
            ..Default::default()
        };
        assert_eq!(
            form.exclude_patterns(),
            ["*.tmp", ".git/", "node_modules/", "*.{jpg,png}", "!keep.tmp"]
        );
        assert!(ZipForm::default().exclude_patterns().is_empty());
    }

    #[test]
    fn the_options_reach_every_job_and_a_mistyped_password_refuses_start() {
        let inputs = vec![PathBuf::from("/data/a"), PathBuf::from("/data/b")];
        let mut form = ZipForm {
            excludes: "*.tmp, .git/".to_owned(),
            honour_gitignore: true,
            password: Secret("pw one".to_owned()),
            password_confirm: Secret("pw one".to_owned()),
            ..Default::default()
        };
        for layout in [ArchiveLayout::SingleArchive, ArchiveLayout::ArchivePerFolder] {
            form.archive_layout = layout;
            let made = jobs(&form, &inputs);
            assert!(!made.is_empty());
            for spec in made {
                let JobSpec::Zip(zip) = spec else {
                    panic!("a zip job")
                };
                assert_eq!(zip.excludes, ["*.tmp", ".git/"]);
                assert!(zip.honour_gitignore);
                assert_eq!(zip.password, Some(Password::new("pw one")));
            }
        }
        assert_eq!(form.refusal(), None);
        form.password_confirm = Secret("pw 0ne".to_owned());
        assert!(form.refusal().unwrap().contains("differ"));
        // Shown as typed, it need not be typed twice.
        form.show_password = true;
        assert_eq!(form.refusal(), None);
        // No password: no encryption, nothing to confirm.
        let plain = ZipForm {
            password_confirm: Secret("stray".to_owned()),
            ..Default::default()
        };
        assert_eq!(plain.refusal(), None);
        let made = jobs(&plain, &inputs[..1]);
        let [JobSpec::Zip(zip)] = made.as_slice() else {
            panic!("one zip job: {made:?}")
        };
        assert_eq!(zip.password, None);
        // A pattern the engine cannot read is named.
        let bad = ZipForm {
            excludes: "*.tmp, {a".to_owned(),
            ..Default::default()
        };
        assert!(bad.refusal().unwrap().contains("{a"), "{:?}", bad.refusal());
    }

    #[test]
    fn patterns_are_remembered_and_the_password_never_is() {
        use crate::ui::settings::tests::MemoryStorage;
        let form = ZipForm {
            excludes: "*.tmp\n.git/ ".to_owned(),
            honour_gitignore: true,
            password: Secret("hunter2".to_owned()),
            password_confirm: Secret("hunter2".to_owned()),
            show_password: true,
            ..Default::default()
        };
        assert!(!format!("{form:?}").contains("hunter2"));
        let mut storage = MemoryStorage::default();
        form.save(&mut storage);
        let stored = eframe::Storage::get_string(&storage, "shrinkwrap.kind.zip").unwrap();
        assert!(stored.contains(".git/"), "{stored}");
        assert!(!stored.contains("hunter2"), "{stored}");
        let loaded = ZipForm::load(Some(&storage));
        assert_eq!(loaded.excludes, "*.tmp\n.git/");
        assert!(loaded.honour_gitignore);
        assert_eq!(loaded.password, Secret::default());
        assert_eq!(loaded.password_confirm, Secret::default());
        assert!(!loaded.show_password);
    }

    #[test]
    fn the_probe_lists_an_existing_archive_with_keep_both() {
        use crate::engine::{Failure, JobOutcome, Progress};
        let spec = JobSpec::Zip(ZipSpec::new(
            vec![PathBuf::from("/d/a")],
            PathBuf::from("/d/a.zip"),
        ));
        let mut report = JobReport {
            progress: Progress::queued(JobId(1), ZipForm::KIND, "a.zip".to_owned()),
            outcome: JobOutcome::Failed,
            dry_run: true,
            failure: None,
            problems: Vec::new(),
            warnings: Vec::new(),
            outputs: Vec::new(),
            archive: None,
            output_bytes: 0,
        };
        assert_eq!(ZipForm::probe(&spec, &report), None);
        report.failure = Some(Failure(std::sync::Arc::new(
            JobError::DestinationExists {
                path: PathBuf::from("/d/a.zip"),
            },
        )));
        let (probe, existing) = ZipForm::probe(&spec, &report).unwrap();
        assert_eq!(existing, PathBuf::from("/d/a.zip"));
        assert!(matches!(&probe, JobSpec::Zip(z) if z.on_exists == ExistingArchive::KeepBoth));
        // A probe is not probed again.
        assert_eq!(ZipForm::probe(&probe, &report), None);
    }
}
