//! Everything the window draws, in one place, and the commands the drawing code emits.
//!
//! Owns: [`UiState`] (inputs, settings with every kind's form, the plan preview, the queue, the
//! unfinished jobs found at start, the preset menu, the notice line, the question a kind asks,
//! the quit prompt, whether the plan card shows its details) and [`PreviewSource`] (what the
//! preview depends on, compared every frame). The commands the drawing code
//! emits are [`Command`] (`super::command`, closed over the kinds' own commands by
//! `super::kinds`), re-exported here with [`NoticeLevel`] for the views.
//! Must not touch: the engine, threads, the file system, what a kind's question or command
//! holds (its module's).

use std::time::Instant;

use crate::engine::{JobId, JobKind};

pub use super::command::NoticeLevel;
use super::inputs::InputList;
use super::kinds::{self, PlanCx};
pub use super::kinds::{Command, Prompt};
use super::presets::PresetMenu;
use super::preview::Preview;
use super::queue::Queue;
use super::settings::Settings;
use super::unfinished::Unfinished;

/// What a preview is computed from. Compared every frame (cheap: no input paths, only a
/// counter that changes with them).
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewSource {
    /// [`super::inputs::InputList::generation`].
    pub inputs_generation: u64,
    /// The chosen kind and every kind's form (the worker count left out: it changes no
    /// output).
    pub settings: Settings,
}

impl PreviewSource {
    pub fn new(inputs_generation: u64, settings: &Settings) -> PreviewSource {
        PreviewSource {
            inputs_generation,
            settings: Settings {
                workers: None,
                ..settings.clone()
            },
        }
    }
}

/// The one-line message in the status bar (e.g. "the file dialog could not be opened").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub level: NoticeLevel,
    pub text: String,
}

/// Where closing the window stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuitState {
    Running,
    /// Jobs run and the window asks whether to cancel them and quit.
    Asking,
    /// The jobs are being cancelled (their partial files removed); the window closes after.
    Cancelling {
        since: Instant,
    },
    /// The window may close now.
    Closing,
}

/// Why Start cannot queue the job now: what its button says then, and the tooltip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartRefusal {
    /// The button's text while refused ("Queued", "Measuring the inputs…"); `None`: as usual.
    pub button: Option<&'static str>,
    pub why: String,
}

/// The state the views draw.
pub struct UiState {
    /// The settings, with every kind's form (settings, destination fields, answers).
    pub settings: Settings,
    pub inputs: InputList,
    pub queue: Queue,
    /// The dry run of what Start would do, and its plan.
    pub preview: Preview,
    /// What the preview was last told of (a change restarts its debounce).
    pub preview_source: Option<PreviewSource>,
    /// The modal question a kind asks now, if any.
    pub prompt: Option<Prompt>,
    /// Start was pressed while inputs were being measured and the kind needs them measured (to
    /// know what to ask): it goes ahead once they are.
    pub pending_start: Option<JobKind>,
    /// A job identical to what Start would submit is queued or running (Start is disabled).
    pub start_blocked_by: Option<JobId>,
    /// The "paste a path" field.
    pub path_field: String,
    pub notice: Option<Notice>,
    pub quit: QuitState,
    /// A file dialog is open (the buttons that open one are disabled).
    pub dialog_open: bool,
    /// Files are being dragged over the window.
    pub files_hovering: bool,
    /// The number of cores (for the worker setting's hint).
    pub cores: usize,
    /// Jobs a crash left unfinished, found at start.
    pub unfinished: Unfinished,
    /// The preset menu: the presets as last read, its fields.
    pub presets: PresetMenu,
    /// The plan card folded by itself when jobs started (so the queue gets the space); it opens
    /// again when the plan changes (inputs or settings) or when the person opens it, not when
    /// the jobs end (the queue would jump under the pointer).
    pub plan_auto_folded: bool,
    /// Some job was active in the last frame (to see jobs start).
    pub queue_was_active: bool,
}

impl UiState {
    /// Whether the plan card shows its details: unless the person folded it, or it folded by
    /// itself when jobs started (see `plan_auto_folded`).
    pub fn plan_open(&self) -> bool {
        !self.settings.plan_folded && !self.plan_auto_folded
    }

    pub fn new(settings: Settings) -> UiState {
        UiState {
            settings,
            inputs: InputList::default(),
            queue: Queue::new(kinds::card_kind),
            preview: Preview::new(kinds::probe),
            preview_source: None,
            prompt: None,
            pending_start: None,
            start_blocked_by: None,
            path_field: String::new(),
            notice: None,
            quit: QuitState::Running,
            dialog_open: false,
            files_hovering: false,
            cores: crate::engine::default_workers(),
            unfinished: Unfinished::default(),
            presets: PresetMenu::default(),
            plan_auto_folded: false,
            queue_was_active: false,
        }
    }

    /// Why Start (the button or Ctrl+Enter) cannot queue a job now, or `None` when it can.
    pub fn start_refusal(&self) -> Option<StartRefusal> {
        let form_refusal = self.settings.form().and_then(|form| form.refusal());
        let refusal = |button, why: String| Some(StartRefusal { button, why });
        if self.inputs.is_empty() {
            refusal(None, "Add files or folders first".to_owned())
        } else if let Some(error) = form_refusal {
            refusal(None, error)
        } else if let Some(id) = self.start_blocked_by {
            refusal(
                Some("Queued"),
                match self.queue.row(id) {
                    Some(row) => format!(
                        "This job is already in the queue (\u{201c}{}\u{201d}); change \
                         something to queue another",
                        row.name
                    ),
                    None => "This job is already in the queue; change something to queue another"
                        .to_owned(),
                },
            )
        } else if let Some(why) = self.nothing_to_make() {
            refusal(Some("Nothing to make"), why)
        } else if self.pending_start.is_some() {
            refusal(
                Some("Measuring the inputs…"),
                "Starts once every input is measured".to_owned(),
            )
        } else {
            None
        }
    }

    /// Why Start would queue a job that makes nothing, when the plan for the current inputs and
    /// settings (a fresh one only) makes no file at all: it has items, and every one is skipped.
    fn nothing_to_make(&self) -> Option<String> {
        if !self.preview.is_fresh() {
            return None;
        }
        let view = self.preview.view()?;
        let makes_nothing = !view.parts().is_empty()
            && view.summary.outputs == 0
            && view.summary.skips > 0
            && view.existing.is_empty()
            && view.failures.is_empty()
            && view.parts().iter().all(|part| part.archive().is_none());
        if !makes_nothing {
            return None;
        }
        let reasons: Vec<String> = view
            .skip_reasons
            .iter()
            .map(|(phrase, n)| format!("{} {phrase}", super::format::count(*n)))
            .collect();
        Some(if reasons.is_empty() {
            "The plan has nothing to make".to_owned()
        } else {
            format!(
                "The plan has nothing to make: every item is skipped ({})",
                reasons.join(", ")
            )
        })
    }

    /// Notes what Start would submit now (the inputs and settings); when that changed, the
    /// preview's debounce starts again and this is `true`.
    pub fn note_preview_source(&mut self, now: Instant) -> bool {
        let source = PreviewSource::new(self.inputs.generation(), &self.settings);
        if self.preview_source.as_ref() == Some(&source) {
            return false;
        }
        self.preview_source = Some(source);
        self.preview.note_change(now);
        true
    }

    /// What a kind's plan lines see now.
    pub fn plan_cx(&self) -> PlanCx {
        PlanCx {
            inputs_generation: self.inputs.generation(),
            question_open: self.prompt.is_some(),
        }
    }

    pub fn notify(&mut self, level: NoticeLevel, text: impl Into<String>) {
        self.notice = Some(Notice {
            level,
            text: text.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn only_a_changed_source_restarts_the_preview_debounce() {
        let mut state = UiState::new(Settings::default());
        let t0 = Instant::now();
        assert!(
            state.note_preview_source(t0),
            "the first source is a change"
        );
        let later = t0 + Duration::from_millis(200);
        assert!(!state.note_preview_source(later), "the same source");
        assert_eq!(
            state.preview.due_in(later),
            Some(Duration::from_millis(100)),
            "the same source does not restart the wait"
        );
        state.inputs.add([std::path::PathBuf::from("/a")]);
        assert!(state.note_preview_source(later), "new inputs");
        assert_eq!(
            state.preview.due_in(later),
            Some(super::super::preview::PREVIEW_DEBOUNCE)
        );
        let mut settings = state.settings.clone();
        settings.workers = Some(3);
        state.settings = settings;
        assert!(
            !state.note_preview_source(later),
            "the worker count changes no output"
        );
    }
}
