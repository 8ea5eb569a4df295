//! Workflows in the window: "Copy as command" and "Save as job file" for the jobs a kind's form
//! would start (its chained job included), opening job files (the dialog, a drop, the command
//! line) and queuing their jobs, submitting a form's chain, and the preset menu (presets are
//! the engine's, read and saved on the presets thread).
//!
//! The command lines and the job files' text are the engine's
//! ([`command_line`](crate::engine::workflow::command_line),
//! [`job_file_text`](crate::engine::workflow::job_file_text)); chains are the engine's
//! ([`WindowEngine::submit_after`](super::super::engine::WindowEngine::submit_after),
//! [`WindowEngine::submit_job_file`](super::super::engine::WindowEngine::submit_job_file)).
//!
//! Owns: turning a form into job-file jobs, applying and saving presets (the preset menu's
//! commands), the notices these actions give.
//! Must not touch: anything blocking (files are read and written by
//! [`JobFiles`](super::super::job_files::JobFiles)), parsing or writing command lines and job
//! files (the engine's).

use std::path::PathBuf;

use eframe::egui;

use crate::engine::workflow::{
    FileJob, JobFile, KindOptions, PASSWORD_FILE_PLACEHOLDER, PasswordOnLine, Which, command_line,
    job_file_text, password_on_line,
};
use crate::engine::{JobId, JobKind, JobSpec, SubmitError};

use super::super::dialogs::{DialogRequest, JobFileOf};
use super::super::job_files::{JobFileNews, JobFileRequest};
use super::super::presets::{PresetNews, PresetRequest};
use super::super::settings;
use super::super::state::{Command, NoticeLevel};
use super::App;

/// The name a saved job file is offered under.
const SUGGESTED_JOB_FILE: &str = "shrinkwrap-jobs.toml";

impl App {
    /// The jobs `kind`'s form would start over the current inputs, each followed by the job
    /// chained after it (if the form asks for one), with absolute paths. The error is a
    /// sentence.
    pub(super) fn form_jobs(&self, kind: JobKind) -> Result<Vec<FileJob>, String> {
        let state = &self.state;
        let form = state
            .settings
            .kinds
            .get(kind)
            .ok_or("This kind of job has no form in the window.")?;
        if let Some(refusal) = form.refusal() {
            return Err(refusal);
        }
        let specs = settings::build_jobs(form, &state.inputs.paths(), state.inputs.generation())?;
        let mut jobs = Vec::new();
        for spec in specs {
            let then = form.then_job(&spec);
            let first = jobs.len();
            jobs.push(FileJob {
                name: None,
                line: 0,
                spec: spec.normalized(),
                inputs_from: None,
            });
            if let Some(then) = then {
                jobs.push(FileJob {
                    name: None,
                    line: 0,
                    spec: then.normalized(),
                    inputs_from: Some(first),
                });
            }
        }
        Ok(jobs)
    }

    /// "Copy as command": the command line of each job the form would start, one a line, to
    /// the clipboard; the notice says what the line does not hold (a password, a chained job).
    pub(super) fn copy_as_command(&mut self, ctx: &egui::Context, kind: JobKind) {
        let jobs = match self.form_jobs(kind) {
            Ok(jobs) => jobs,
            Err(why) => {
                self.state
                    .notify(NoticeLevel::Warning, format!("Nothing copied: {why}"));
                return;
            }
        };
        let mut lines = Vec::new();
        let mut chained = 0;
        let mut placeholder = false;
        for job in &jobs {
            if job.inputs_from.is_some() {
                chained += 1;
                continue;
            }
            match command_line(&job.spec) {
                Ok(line) => lines.push(line),
                Err(e) => {
                    self.state.notify(
                        NoticeLevel::Warning,
                        format!("Nothing copied: {}.", settings::capitalized(&e.to_string())),
                    );
                    return;
                }
            }
            placeholder |= password_on_line(&job.spec) == PasswordOnLine::Placeholder;
        }
        let mut text = lines.join("\n");
        text.push('\n');
        ctx.copy_text(text);
        let mut notice = if lines.len() == 1 {
            "Copied the command line.".to_owned()
        } else {
            format!("Copied {} command lines, one a line.", lines.len())
        };
        if placeholder {
            notice.push_str(&format!(
                " The password is not on it: put it in a file and write that file's path in \
                 place of {PASSWORD_FILE_PLACEHOLDER}."
            ));
        }
        if chained > 0 {
            notice.push_str(
                " The job that follows on its outputs is not on it: Save as job file keeps the \
                 chain.",
            );
        }
        self.state.notify(NoticeLevel::Info, notice);
    }

    /// A card's "Copy as command": the line of the job it shows (a retry of some files or a
    /// chained job has none: the notice says so).
    pub(super) fn copy_card_command(&mut self, ctx: &egui::Context, id: JobId) {
        let Some(spec) = self.state.queue.row(id).map(|r| r.spec.normalized()) else {
            return;
        };
        match command_line(&spec) {
            Ok(line) => {
                ctx.copy_text(format!("{line}\n"));
                let mut notice = "Copied the command line.".to_owned();
                if password_on_line(&spec) == PasswordOnLine::Placeholder {
                    notice.push_str(&format!(
                        " The password is not on it: put it in a file and write that file's \
                         path in place of {PASSWORD_FILE_PLACEHOLDER}."
                    ));
                }
                self.state.notify(NoticeLevel::Info, notice);
            }
            Err(e) => self.state.notify(
                NoticeLevel::Info,
                format!("No command line: {}.", e.to_string().trim_end_matches('.')),
            ),
        }
    }

    /// The jobs "Save as job file" writes for `of`, with absolute paths. The error is a
    /// sentence.
    fn jobs_of(&self, of: JobFileOf) -> Result<Vec<FileJob>, String> {
        match of {
            JobFileOf::Form(kind) => self.form_jobs(kind),
            JobFileOf::Card(id) => {
                let row = self.state.queue.row(id).ok_or("The job is gone.")?;
                if !row.spec.only().is_empty() || row.spec.inputs().is_empty() {
                    return Err(
                        "this job takes only some files among its inputs (a retry or a \
                                chained job): save the whole job, or the chain, from the form."
                            .to_owned(),
                    );
                }
                Ok(vec![FileJob {
                    name: None,
                    line: 0,
                    spec: row.spec.normalized(),
                    inputs_from: None,
                }])
            }
        }
    }

    /// "Save as job file…": asks where (the file is written once the dialog answers).
    pub(super) fn save_job_file(&mut self, ctx: &egui::Context, of: JobFileOf) {
        if let Err(why) = self.jobs_of(of) {
            self.state
                .notify(NoticeLevel::Warning, format!("Not saved: {why}"));
            return;
        }
        let beside = match of {
            JobFileOf::Form(_) => self
                .state
                .inputs
                .entries()
                .first()
                .and_then(|e| e.path.parent().map(PathBuf::from)),
            JobFileOf::Card(id) => self
                .state
                .queue
                .row(id)
                .map(|r| crate::engine::parent_dir(&r.output).to_path_buf()),
        };
        let suggested = beside.map(|dir| dir.join(SUGGESTED_JOB_FILE));
        self.apply(
            ctx,
            Command::OpenDialog(DialogRequest::SaveJobFile { of, suggested }),
        );
    }

    /// Writes the jobs of `of` as a job file at `path` (paths inside its folder relative to
    /// it), on the job-file thread; the notice that says so also says what the file does not
    /// keep.
    pub(super) fn write_job_file(&mut self, of: JobFileOf, path: PathBuf) {
        let path = crate::engine::normalize_path(&path);
        let jobs = match self.jobs_of(of) {
            Ok(jobs) => jobs,
            Err(why) => {
                self.state
                    .notify(NoticeLevel::Warning, format!("Not saved: {why}"));
                return;
            }
        };
        let folder = crate::engine::parent_dir(&path).to_path_buf();
        let text = match job_file_text(&jobs, Some(&folder)) {
            Ok(text) => text,
            Err(e) => {
                self.state.notify(
                    NoticeLevel::Warning,
                    format!("Not saved: {}.", settings::capitalized(&e.to_string())),
                );
                return;
            }
        };
        let mut note = String::new();
        if jobs
            .iter()
            .any(|j| password_on_line(&j.spec) == PasswordOnLine::Placeholder)
        {
            note.push_str(
                " A job file never holds a password: name the file that holds it with a \
                 `password_file` key in the job.",
            );
        }
        self.helpers
            .job_files
            .request(JobFileRequest::Save { path, text, note });
    }

    /// Reads these job files on the job-file thread; their jobs are queued when read.
    pub(super) fn open_job_files(&mut self, paths: Vec<PathBuf>) {
        for path in paths {
            self.helpers.job_files.request(JobFileRequest::Open {
                path,
                config_dir: self.helpers.presets.config_dir().map(PathBuf::from),
            });
        }
    }

    /// What the job-file thread did.
    pub(super) fn apply_job_file_news(&mut self, news: JobFileNews) {
        match news {
            JobFileNews::Saved(Ok(text)) => self.state.notify(NoticeLevel::Info, text),
            JobFileNews::Saved(Err(text)) | JobFileNews::Opened(Err(text)) => {
                self.state.notify(NoticeLevel::Warning, text);
            }
            JobFileNews::Opened(Ok(file)) => self.queue_job_file(&file),
        }
    }

    /// Queues a job file's jobs (chains through the engine), one card each.
    fn queue_job_file(&mut self, file: &JobFile) {
        let results = self.engine.submit_job_file(file);
        let mut queued = 0;
        let mut refused = Vec::new();
        for (job, result) in file.jobs.iter().zip(results) {
            match result {
                Ok(id) => {
                    self.state.queue.push(id, &job.spec);
                    queued += 1;
                }
                Err(e) => refused.push(format!("{}: {e}", job.spec.display_name())),
            }
        }
        let name = file
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if refused.is_empty() {
            self.state.notify(
                NoticeLevel::Info,
                format!(
                    "Queued {} from {name}.",
                    super::super::format::plural(queued as u64, "job", "jobs")
                ),
            );
        } else {
            self.state.notify(
                NoticeLevel::Warning,
                format!(
                    "Queued {} of {} from {name}; not queued: {}.",
                    queued,
                    file.jobs.len(),
                    refused.join("; ")
                ),
            );
        }
        self.start_blocked_key = None;
    }

    /// Queues the job chained after each submitted job of `kind`'s form (`submitted`: the
    /// specs and the ids the engine gave them).
    pub(super) fn submit_chained(&mut self, kind: JobKind, submitted: &[(JobSpec, JobId)]) {
        let Some(form) = self.state.settings.kinds.get(kind) else {
            return;
        };
        let chained: Vec<(JobId, JobSpec)> = submitted
            .iter()
            .filter_map(|(spec, id)| form.then_job(spec).map(|then| (*id, then)))
            .collect();
        for (first, then) in chained {
            match self.engine.submit_after(first, then.clone()) {
                Ok(id) => self.state.queue.push(id, &then),
                Err(SubmitError::Duplicate(_)) => self.state.notify(
                    NoticeLevel::Info,
                    format!(
                        "Already queued: {}. The same job was not added again.",
                        then.display_name()
                    ),
                ),
                Err(e) => self.state.notify(
                    NoticeLevel::Warning,
                    format!("Not queued: {}: {e}.", then.display_name()),
                ),
            }
        }
    }

    /// Asks for the presets (once; again after each change).
    pub(super) fn load_presets(&mut self) {
        if !self.state.presets.loading {
            self.state.presets.loading = true;
            self.helpers.presets.request(PresetRequest::List);
        }
    }

    /// Applies the preset `name` to `kind`'s form: its options over the form's (the form's
    /// paths stay).
    pub(super) fn apply_preset(&mut self, kind: JobKind, name: &str) {
        let Some(preset) = self
            .state
            .presets
            .of_kind(kind)
            .into_iter()
            .find(|p| p.name == name)
            .cloned()
        else {
            return;
        };
        let Some(form) = self.state.settings.kinds.get_mut(kind) else {
            return;
        };
        let mut spec = form.options_spec();
        match preset.options.apply(&mut spec) {
            Ok(()) => {
                form.take_options(&spec);
                self.state.notify(
                    NoticeLevel::Info,
                    format!("Applied the preset \u{201c}{}\u{201d}.", preset.name),
                );
            }
            Err(e) => self.state.notify(
                NoticeLevel::Warning,
                format!(
                    "The preset \u{201c}{}\u{201d} was not applied: {e}.",
                    preset.name
                ),
            ),
        }
    }

    /// Saves `kind`'s form's options (all of them: applying the preset gives exactly these)
    /// under the name in the menu's field.
    pub(super) fn save_preset(&mut self, kind: JobKind) {
        let name = self.state.presets.new_name.trim().to_owned();
        if name.is_empty() {
            self.state
                .notify(NoticeLevel::Info, "Type a name for the preset first.");
            return;
        }
        let Some(form) = self.state.settings.kinds.get(kind) else {
            return;
        };
        let options = KindOptions::of_spec(&form.options_spec(), Which::All);
        self.state.presets.new_name.clear();
        self.helpers
            .presets
            .request(PresetRequest::Save { name, options });
    }

    /// What the presets thread did.
    pub(super) fn apply_preset_news(&mut self, news: PresetNews) {
        match news {
            PresetNews::Listed(Ok(presets)) => {
                self.state.presets.loading = false;
                self.state.presets.presets = Some(presets);
            }
            PresetNews::Listed(Err(text)) => {
                self.state.presets.loading = false;
                self.state.presets.presets = Some(crate::engine::workflow::builtin_presets());
                self.state.notify(NoticeLevel::Warning, text);
            }
            PresetNews::Changed(Ok(text)) => self.state.notify(NoticeLevel::Info, text),
            PresetNews::Changed(Err(text)) => self.state.notify(NoticeLevel::Warning, text),
        }
    }
}
