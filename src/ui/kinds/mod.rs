//! The window's one dispatch over job kinds. Each kind's window parts live in its own module
//! here; the rest of the window reaches them only through [`KindForm`] (a kind's form and what
//! depends on it) and [`KindEntry`] (what the window knows of a kind without its form), and reads
//! the engine's description of the kind ([`JobKind`]) for everything that says (what progress
//! counts, whether "stop after current" and "retry failed" make sense, what the outputs are
//! called, whether they are one file or a folder of files).
//!
//! A kind's module holds all of that kind's window parts: its settings form and destination
//! fields (remembered between runs under its own storage key), building its job specs, the
//! questions it asks before queuing, its options as a preset sees them, the job it chains after
//! its own (if it offers one), its plan lines, its card's summary line and extra answers,
//! its badge colour, its tab and Start button words, its `--flag` on the window's command line
//! and the desktop-file action that runs it.
//!
//! Adding a kind to the window: its module here (a type implementing [`WindowKind`] and
//! [`KindForm`]) and one line in `register_window_kinds!` below (which also declares the
//! module); its desktop action goes into `assets/shrinkwrap.desktop`. Tests check that every
//! kind the engine knows has its line, and that the desktop file offers each kind's action.
//!
//! Owns: [`WindowKind`], [`KindForm`], [`KindEntry`], [`KindForms`] (every kind's form),
//! [`KindCommand`] and [`Prompt`] (a kind's own commands and questions, carried by the generic
//! ones), [`Command`] (the window's command: `super::command`'s generic requests closed over
//! [`KindCommand`]), the contexts a kind is called with, and what the queue and the preview are
//! made with ([`card_kind`], [`probe`]). Imports run one way: this dispatch and the kinds'
//! modules use the window's parts below them (queue rows, plan views, the command vocabulary);
//! those parts never name a kind or this module.
//! Must not touch: the engine's internals, anything blocking (a form is called from the frame
//! code), another kind's form.

use std::fmt::Debug;
use std::path::PathBuf;

use eframe::egui;

use crate::engine::{JobId, JobKind, JobReport, JobSpec, OutputShape};

use super::command::{self, NoticeLevel};
use super::format;
use super::inputs::InputList;
use super::preview::Probe;
use super::preview::{PlanView, Preview};
use super::queue::{self, CardKind, JobRow, Queue};

/// Declares the window's kinds, one line each (`Variant => module::FormType`): the modules,
/// [`KindForms`], [`KindCommand`], [`Prompt`] and [`ENTRIES`].
macro_rules! register_window_kinds {
    ($($variant:ident => $module:ident :: $form:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Every kind's form (settings, destination fields, answers), one field per kind.
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct KindForms {
            $(pub $module: $module::$form,)*
        }

        /// A command of one kind's own (an answer to its question, a click in its plan lines).
        #[derive(Debug, Clone, PartialEq)]
        pub enum KindCommand {
            $($variant(<$module::$form as WindowKind>::Command),)*
        }

        /// A question one kind asks in a modal before it queues anything.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Prompt {
            $($variant(<$module::$form as WindowKind>::Question),)*
        }

        /// What the window knows of each kind without its form, in the order the tabs show.
        pub static ENTRIES: &[KindEntry] = &[$(entry::<$module::$form>(),)*];

        impl KindForms {
            /// Every form as remembered in `storage` (defaults without one).
            pub fn load(storage: Option<&dyn eframe::Storage>) -> KindForms {
                KindForms {
                    $($module: <$module::$form as WindowKind>::load(storage),)*
                }
            }

            /// The form of `kind` (`None`: a kind this window has no module for).
            pub fn get(&self, kind: JobKind) -> Option<&dyn KindForm> {
                $(if kind == <$module::$form as WindowKind>::KIND {
                    return Some(&self.$module);
                })*
                None
            }

            /// The form of `kind`, to edit.
            pub fn get_mut(&mut self, kind: JobKind) -> Option<&mut dyn KindForm> {
                $(if kind == <$module::$form as WindowKind>::KIND {
                    return Some(&mut self.$module);
                })*
                None
            }

            /// Calls `f` with every form.
            pub fn for_each(&self, mut f: impl FnMut(&dyn KindForm)) {
                $(f(&self.$module);)*
            }

            /// Calls `f` with every form, to edit.
            pub fn for_each_mut(&mut self, mut f: impl FnMut(&mut dyn KindForm)) {
                $(f(&mut self.$module);)*
            }

            /// Hands a kind its own command.
            pub fn apply(&mut self, command: KindCommand, cx: &mut KindCx<'_>) {
                match command {
                    $(KindCommand::$variant(c) => self.$module.apply(c, cx),)*
                }
            }
        }

        impl Prompt {
            /// The kind asking.
            pub fn kind(&self) -> JobKind {
                match self {
                    $(Prompt::$variant(_) => <$module::$form as WindowKind>::KIND,)*
                }
            }

            /// Draws the question inside the modal; answers go out as commands.
            pub fn draw(&self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
                match self {
                    $(Prompt::$variant(q) => {
                        <$module::$form as WindowKind>::draw_question(q, ui, commands)
                    })*
                }
            }
        }

        $(impl Wrap for $module::$form {
            fn command(command: Self::Command) -> Command {
                Command::Kind(KindCommand::$variant(command))
            }
            fn question(question: Self::Question) -> Prompt {
                Prompt::$variant(question)
            }
            fn own_question(prompt: &mut Prompt) -> Option<&mut Self::Question> {
                #[allow(unreachable_patterns)]
                match prompt {
                    Prompt::$variant(q) => Some(q),
                    _ => None,
                }
            }
        })*
    };
}

/// The window's command: the generic requests and every kind's own ([`KindCommand`]).
pub type Command = command::Command<KindCommand>;

register_window_kinds! {
    Zip => zip::ZipForm,
    Thumbs => thumbs::ThumbsForm,
    Extract => extract::ExtractForm,
}

/// A desktop-file action that opens the window with a kind's job queued
/// (`[Desktop Action Compress]`, `Exec=shrinkwrap --compress %F`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesktopAction {
    /// The action's id in the desktop file.
    pub id: &'static str,
    /// Its name in the file manager's menu.
    pub name: &'static str,
}

/// What the window knows of a kind without its form.
pub struct KindEntry {
    pub kind: JobKind,
    /// The tab in the job column, when not the kind's verb (see [`KindEntry::tab_label`]).
    tab_label: Option<&'static str>,
    pub tab_hint: &'static str,
    /// The Start button's word, when not the kind's verb.
    start_label: Option<&'static str>,
    /// The window's command-line flag that queues this kind at start (`--compress`).
    pub launch_flag: &'static str,
    pub desktop_action: DesktopAction,
    /// What a card of this kind needs from it (the queue's part).
    pub card: CardKind,
    pub badge_color: fn(&egui::Visuals) -> egui::Color32,
    pub plan_head: fn(&PlanView) -> String,
    pub probe: Probe,
}

const fn entry<K: WindowKind>() -> KindEntry {
    KindEntry {
        kind: K::KIND,
        tab_label: K::TAB_LABEL,
        tab_hint: K::TAB_HINT,
        start_label: K::START_LABEL,
        launch_flag: K::LAUNCH_FLAG,
        desktop_action: K::DESKTOP_ACTION,
        card: CardKind {
            output_images: K::OUTPUT_IMAGES,
            existing_hint: K::EXISTING_HINT,
            summary: K::card_summary,
            retry_failed: K::retry_failed,
            image_sizes: K::image_sizes,
        },
        badge_color: K::badge_color,
        plan_head: K::plan_head,
        probe: K::probe,
    }
}

impl KindEntry {
    /// The tab in the job column ("Zip archive", "Thumbnails"): the kind's verb unless the
    /// kind says otherwise.
    pub fn tab_label(&self) -> &'static str {
        self.tab_label.unwrap_or(self.kind.info().verb)
    }

    /// The Start button's word ("Compress", "Make thumbnails"): the kind's verb unless the kind
    /// says otherwise.
    pub fn start_label(&self) -> &'static str {
        self.start_label.unwrap_or(self.kind.info().verb)
    }
}

/// The entry of `kind` (`None`: a kind this window has no module for).
pub fn entry_of(kind: JobKind) -> Option<&'static KindEntry> {
    ENTRIES.iter().find(|e| e.kind == kind)
}

/// The kind the job column shows first.
pub fn first_kind() -> JobKind {
    ENTRIES[0].kind
}

/// The kind with this id, if the window has it.
pub fn kind_by_id(id: &str) -> Option<JobKind> {
    ENTRIES.iter().map(|e| e.kind).find(|k| k.id == id)
}

/// The first words of the plan's summary line, as `kind` says them (the generic words for a
/// kind the window has no module for).
pub fn plan_head_of(view: &PlanView) -> String {
    match entry_of(view.kind) {
        Some(entry) => (entry.plan_head)(view),
        None => plan_head(view),
    }
}

/// What a card of `kind` needs from its kind (the generic parts for a kind the window has no
/// module for); the queue is made with this.
pub fn card_kind(kind: JobKind) -> CardKind {
    entry_of(kind).map_or(CardKind::GENERIC, |entry| entry.card)
}

/// The dry run a kind makes after a preview's dry run of `spec` ended with `report` (none for a
/// kind the window has no module for); the preview is made with this.
pub fn probe(spec: &JobSpec, report: &JobReport) -> Option<(JobSpec, PathBuf)> {
    (entry_of(spec.kind())?.probe)(spec, report)
}

/// A kind's badge colour (the accent for a kind the window does not know).
pub fn badge_color(visuals: &egui::Visuals, kind: JobKind) -> egui::Color32 {
    match entry_of(kind) {
        Some(entry) => (entry.badge_color)(visuals),
        None => super::view::theme::accent(visuals),
    }
}

/// A kind's window parts, declared once in its module. Everything a kind knows without its
/// form is an associated constant or function ([`ENTRIES`] gathers them); what depends on the
/// form is in [`KindForm`].
pub trait WindowKind: KindForm + Default + Clone + PartialEq + Debug + 'static {
    /// The engine's description of the kind.
    const KIND: JobKind;
    /// The tab's words, when not the kind's verb.
    const TAB_LABEL: Option<&'static str> = None;
    /// The tab's tooltip.
    const TAB_HINT: &'static str;
    /// The Start button's words, when not the kind's verb.
    const START_LABEL: Option<&'static str> = None;
    const LAUNCH_FLAG: &'static str;
    const DESKTOP_ACTION: DesktopAction;
    const OUTPUT_IMAGES: bool = false;
    /// When the kind answers a job that failed because its destination exists (its card's
    /// buttons), how to go on, in the card's words.
    const EXISTING_HINT: Option<&'static str> = None;

    /// The kind's own commands (answers to its questions, clicks in its plan lines).
    type Command: Debug + Clone + PartialEq;
    /// The questions it asks in a modal.
    type Question: Debug + Clone + PartialEq;

    /// The form as remembered in `storage` (the defaults without one).
    fn load(storage: Option<&dyn eframe::Storage>) -> Self;

    fn badge_color(visuals: &egui::Visuals) -> egui::Color32;

    /// The first words of the plan's summary line ("42 thumbnails: 40 new, 2 replaced").
    fn plan_head(view: &PlanView) -> String {
        plan_head(view)
    }

    /// What a finished card says about its output, between "took 3 s" and "in /folder".
    fn card_summary(row: &JobRow, report: &JobReport) -> Vec<String> {
        queue::card_summary(row, report)
    }

    /// "Retry failed": a job of just `failed`, with `spec`'s settings (kinds that can).
    fn retry_failed(_spec: &JobSpec, _failed: Vec<PathBuf>) -> Option<JobSpec> {
        None
    }

    /// A dry run to make after a preview's dry run of `spec` ended with `report` (e.g. to list
    /// what would go into an archive that already exists), with the destination it is for.
    fn probe(_spec: &JobSpec, _report: &JobReport) -> Option<(JobSpec, PathBuf)> {
        None
    }

    /// The sizes (the long side of each box, in pixels) each source's output images are made
    /// at, in the order a source's plan items come (kinds with output images): a card's strip
    /// shows each source once.
    fn image_sizes(_spec: &JobSpec) -> Vec<queue::ImageBox> {
        Vec::new()
    }

    /// Applies one of the kind's own commands.
    fn apply(&mut self, command: Self::Command, cx: &mut KindCx<'_>);

    /// Draws one of the kind's questions (inside the modal).
    fn draw_question(question: &Self::Question, ui: &mut egui::Ui, commands: &mut Vec<Command>);
}

/// How a kind's module turns its own commands and questions into the window's (implemented by
/// `register_window_kinds!`).
pub trait Wrap: WindowKind {
    fn command(command: Self::Command) -> Command;
    fn question(question: Self::Question) -> Prompt;
    /// The kind's own question, when `prompt` is one.
    fn own_question(prompt: &mut Prompt) -> Option<&mut Self::Question>;
}

/// A kind's form and what depends on it, as the generic window code calls it.
pub trait KindForm {
    fn kind(&self) -> JobKind;

    /// Draws the settings under the tabs (edited in place; dialogs and the rest go out as
    /// commands).
    fn draw(&mut self, ui: &mut egui::Ui, cx: &FormCx<'_>, commands: &mut Vec<Command>);

    /// Why Start cannot queue a job with these settings (e.g. a bad name template).
    fn refusal(&self) -> Option<String> {
        None
    }

    /// The jobs Start would submit for `inputs` (not empty). The error is a sentence.
    fn build(&self, inputs: &[PathBuf], inputs_generation: u64) -> Result<Vec<JobSpec>, String>;

    /// The job to queue after `first` (one of [`KindForm::build`]'s jobs), on its outputs, when
    /// the form asks for one ("Then zip the thumbnails"): a chain, queued through the engine's
    /// chain support. Its inputs are empty (they are `first`'s outputs).
    fn then_job(&self, _first: &JobSpec) -> Option<JobSpec> {
        None
    }

    /// The form's job options as a spec of its kind over stand-in inputs and output: what a
    /// preset keeps (the engine's preset store takes the options, never paths or a password).
    fn options_spec(&self) -> JobSpec;

    /// Takes `spec`'s options into the form (a preset applied to [`KindForm::options_spec`]);
    /// the form's paths stay as they are.
    fn take_options(&mut self, spec: &JobSpec);

    /// Start must wait until every input is measured (what the inputs are decides what to ask).
    fn waits_for_measuring(&self, _inputs: &InputList) -> bool {
        false
    }

    /// Whether Start goes ahead with `specs`, asks first, or refuses.
    fn check_start(&self, _specs: &[JobSpec], _cx: &StartCx<'_>) -> StartCheck {
        StartCheck::Go
    }

    /// The kind's lines in the plan card, under the summary.
    fn plan_notes(
        &self,
        _ui: &mut egui::Ui,
        _view: &PlanView,
        _cx: &PlanCx,
        _commands: &mut Vec<Command>,
    ) {
    }

    /// The kind's answers on a card (e.g. for a job that failed because its archive exists);
    /// drawn only while no question is open.
    fn card_extras(&self, _ui: &mut egui::Ui, _row: &JobRow, _commands: &mut Vec<Command>) {}

    /// A real job of this kind ended (its row has its report).
    fn job_finished(&mut self, _row: &JobRow, _cx: &mut KindCx<'_>) {}

    /// A dialog picked `path` for the form's field `field`.
    fn set_path(&mut self, _field: &str, _path: PathBuf) {}

    /// Clamps remembered values into their ranges (the stored file may be old or edited).
    fn sanitize(&mut self) {}

    /// Remembers the form (its settings and folders) in `storage`.
    fn save(&self, storage: &mut dyn eframe::Storage);
}

/// What a form sees while it draws.
pub struct FormCx<'a> {
    pub inputs: &'a InputList,
    pub preview: &'a Preview,
    /// A file dialog is open (Browse… is disabled).
    pub dialog_open: bool,
}

/// What a kind decides Start with.
pub struct StartCx<'a> {
    pub inputs: &'a InputList,
    pub preview: &'a Preview,
    /// `--quit-when-done`: nobody answers questions.
    pub quit_when_done: bool,
}

/// A kind's decision about Start.
#[derive(Debug, Clone, PartialEq)]
pub enum StartCheck {
    Go,
    /// Ask this first (nothing is queued).
    Ask(Prompt),
    /// Not started, for this reason (a sentence).
    Refuse(String),
}

/// What a kind's plan lines see.
pub struct PlanCx {
    pub inputs_generation: u64,
    /// A modal question is open (its answers are there, not in the plan).
    pub question_open: bool,
}

/// What a kind may do when it applies its own command or hears that a job ended: read the
/// inputs and the queue, open or extend its question, and ask the window to submit, start or
/// say something (done after the call).
pub struct KindCx<'a> {
    pub inputs: &'a InputList,
    pub queue: &'a Queue,
    pub prompt: &'a mut Option<Prompt>,
    pub quit_when_done: bool,
    effects: Vec<Effect>,
}

/// What a kind asked the window to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Submit these jobs; their cards take the place of the `replacing` ones.
    Submit {
        specs: Vec<JobSpec>,
        replacing: Vec<JobId>,
    },
    /// Start this kind again (a question was answered).
    Start(JobKind),
    Notify(NoticeLevel, String),
}

impl<'a> KindCx<'a> {
    pub fn new(
        inputs: &'a InputList,
        queue: &'a Queue,
        prompt: &'a mut Option<Prompt>,
        quit_when_done: bool,
    ) -> KindCx<'a> {
        KindCx {
            inputs,
            queue,
            prompt,
            quit_when_done,
            effects: Vec::new(),
        }
    }

    pub fn submit(&mut self, specs: Vec<JobSpec>, replacing: Vec<JobId>) {
        self.effects.push(Effect::Submit { specs, replacing });
    }

    pub fn start(&mut self, kind: JobKind) {
        self.effects.push(Effect::Start(kind));
    }

    pub fn notify(&mut self, level: NoticeLevel, text: impl Into<String>) {
        self.effects.push(Effect::Notify(level, text.into()));
    }

    /// What the kind asked for, in order.
    pub fn into_effects(self) -> Vec<Effect> {
        self.effects
    }
}

/// The plan summary's first words for any kind: "42 thumbnails: 40 new, 2 replaced", "No
/// thumbnails to make", "1,204 entries".
pub fn plan_head(view: &PlanView) -> String {
    let s = &view.summary;
    let (one, many) = view.kind.output_noun;
    match view.kind.output {
        OutputShape::FolderOfFiles if s.outputs == 0 => format!("No {many} to make"),
        OutputShape::FolderOfFiles => {
            let mut head = format::plural(s.outputs, one, many);
            let mut kinds = Vec::new();
            if s.writes > 0 {
                kinds.push(format!("{} new", format::count(s.writes)));
            }
            if s.overwrites > 0 {
                kinds.push(format!("{} replaced", format::count(s.overwrites)));
            }
            if s.renames > 0 {
                kinds.push(format!("{} renamed", format::count(s.renames)));
            }
            if s.writes == s.outputs {
                head.push_str(if s.outputs == 1 { ", new" } else { ", all new" });
            } else {
                head.push_str(": ");
                head.push_str(&kinds.join(", "));
            }
            head
        }
        OutputShape::OneFile => format::plural(s.outputs, one, many),
    }
}

/// "--compress or --thumbnails" (`conjunction` "or"), "--compress and --thumbnails".
pub fn launch_flags_text(conjunction: &str) -> String {
    let flags: Vec<&str> = ENTRIES.iter().map(|e| e.launch_flag).collect();
    match flags.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} {conjunction} {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_window_kind_is_an_engine_kind_once_in_the_engines_order() {
        let window: Vec<&str> = ENTRIES.iter().map(|e| e.kind.id).collect();
        let engine: Vec<&str> = crate::engine::KINDS
            .iter()
            .map(|k| k.id)
            .filter(|id| window.contains(id))
            .collect();
        assert_eq!(window, engine, "one line per kind, in the engine's order");
        let forms = KindForms::default();
        for entry in ENTRIES {
            let form = forms.get(entry.kind).expect("a form");
            assert_eq!(form.kind(), entry.kind);
            assert_eq!(kind_by_id(entry.kind.id), Some(entry.kind));
        }
        let mut flags: Vec<&str> = ENTRIES.iter().map(|e| e.launch_flag).collect();
        flags.sort_unstable();
        flags.dedup();
        assert_eq!(flags.len(), ENTRIES.len(), "one flag per kind");
        assert!(flags.iter().all(|f| f.starts_with("--")));
    }

    /// The desktop file's actions are the window's kinds, each running its flag.
    #[test]
    fn the_desktop_file_offers_each_kind_and_runs_its_flag() {
        let desktop = include_str!("../../../assets/shrinkwrap.desktop");
        let actions: Vec<&str> = desktop
            .lines()
            .find_map(|l| l.strip_prefix("Actions="))
            .expect("an Actions= line")
            .split(';')
            .filter(|a| !a.is_empty())
            .collect();
        let ids: Vec<&str> = ENTRIES.iter().map(|e| e.desktop_action.id).collect();
        assert_eq!(actions, ids);
        for entry in ENTRIES {
            let action = entry.desktop_action;
            let header = format!("[Desktop Action {}]", action.id);
            let section: Vec<&str> = desktop
                .lines()
                .skip_while(|l| *l != header)
                .skip(1)
                .take_while(|l| !l.starts_with('['))
                .collect();
            assert!(
                section.contains(&format!("Name={}", action.name).as_str()),
                "{header}: {section:?}"
            );
            assert!(
                section.contains(&format!("Exec=shrinkwrap {} %F", entry.launch_flag).as_str()),
                "{header}: {section:?}"
            );
        }
    }

    /// A kind the engine knows and the window has no module for yet (its jobs can still come
    /// back as unfinished journals) is shown in the generic words, from its description.
    #[test]
    fn a_kind_without_a_window_module_is_shown_generically() {
        use crate::engine::{JobOutcome, Progress};
        let forms = KindForms::default();
        for &kind in crate::engine::KINDS {
            if entry_of(kind).is_some() {
                continue;
            }
            assert!(forms.get(kind).is_none());
            let view = PlanView::new(kind, Vec::new(), Vec::new(), Vec::new());
            assert_eq!(plan_head_of(&view), plan_head(&view));
            let mut row = JobRow::new(
                JobId(1),
                &JobSpec::Zip(crate::engine::ZipSpec::new(
                    vec![PathBuf::from("/in")],
                    PathBuf::from("/out.zip"),
                )),
                card_kind(kind),
            );
            row.kind = kind;
            let report = JobReport {
                progress: Progress::queued(JobId(1), kind, "out".to_owned()),
                outcome: JobOutcome::Done,
                dry_run: false,
                failure: None,
                problems: Vec::new(),
                warnings: Vec::new(),
                outputs: vec![PathBuf::from("/out/a")],
                archive: None,
                output_bytes: 1500,
            };
            assert_eq!(
                row.card_summary(&report),
                queue::card_summary(&row, &report)
            );
            assert_eq!(
                badge_color(&egui::Visuals::dark(), kind),
                super::super::view::theme::accent(&egui::Visuals::dark())
            );
        }
    }

    #[test]
    fn flags_read_as_a_list() {
        assert_eq!(
            launch_flags_text("or"),
            "--compress, --thumbnails or --extract"
        );
    }
}
