//! The eframe app: owns the engine and the helper threads, feeds their news into [`UiState`]
//! once a frame, asks the views to draw, and applies the [`Command`]s they emit.
//!
//! Owns: [`App`] (the `eframe::App` implementation), the per-frame logic (engine events, input
//! measurements, strip images, dialog answers, drops, shortcuts, the plan preview's debounce,
//! closing, the title, noticing that the person is not looking when jobs end), and turning
//! commands into engine calls: what Start submits and the questions asked before it does (an
//! archive that exists, several archives from plain files), job control (pause, resume, stop
//! after current, queue order, retry, run again), and resuming or discarding the jobs a crash
//! left unfinished.
//! Must not touch: anything blocking in a frame (no file I/O, no waiting on a worker or a dialog:
//! all of that lives on the helper threads), the engine's internals.

use std::ffi::OsString;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eframe::egui;

use crate::engine::{
    Engine, JobEvent, JobId, JobSpec, JobState, QueueMove, SubmitError, UnfinishedJob,
};

use super::args::LaunchArgs;
use super::dialogs::{DialogOutcome, DialogRequest, DialogRunner};
use super::export::ProblemExport;
use super::frame_stats::FrameStats;
use super::inputs::{InputList, Measurer};
use super::launcher::{self, Launcher, Target};
use super::notify::{DesktopNotification, Finishes, Notifier};
use super::preview::PreviewSource;
use super::queue::{Queue, STRIP_MAX_THUMBNAILS, ThumbSlot};
use super::screenshot::{Screenshot, ScreenshotStep};
use super::settings::{
    self, ArchiveLayout, Destinations, FOLDERS_KEY, Operation, RememberedFolders, SETTINGS_KEY,
    Settings,
};
use super::state::{
    ArchiveChoice, Command, ExistsAnswer, ManyArchivesAnswer, NoticeLevel, Prompt, QuitState,
    UiState,
};
use super::strip_loader::StripLoader;
use super::unfinished::{JournalNews, JournalThreads, ListStatus, UnfinishedEntry};
use super::view;

/// How long quitting waits for cancelled jobs to remove their partial files before closing
/// anyway (the engine's drop waits for them too).
const QUIT_CANCEL_GRACE: Duration = Duration::from_secs(10);
/// How often the window repaints while it waits for something that sends no wake-up.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The shortest time between a frame and the next one caused by job progress (at most about
/// 15 frames a second while jobs run).
const PROGRESS_REPAINT_INTERVAL: Duration = Duration::from_millis(66);
/// The shortest time between two title changes that only move the percentage.
const TITLE_UPDATE_INTERVAL: Duration = Duration::from_secs(1);
/// Messages from helper threads waiting to be shown.
const BACKGROUND_NOTICE_CAPACITY: usize = 8;
/// In `--screenshot` mode with a job, how much progress to show before capturing.
const SCREENSHOT_PROGRESS_TIME: Duration = Duration::from_secs(2);

/// Waker type shared by the helper threads.
type Waker = Arc<dyn Fn() + Send + Sync>;

/// How the app is set up besides its settings and command line.
pub struct AppOptions {
    /// Frame time statistics (`SHRINKWRAP_FRAME_STATS`).
    pub frame_stats: Option<FrameStats>,
    /// Where the engine keeps job journals, and where unfinished jobs are looked for at start
    /// (`None`: no journals, nothing listed).
    pub state_dir: Option<PathBuf>,
    /// Show desktop notifications (false: they are only recorded, see [`App::notifications`]).
    pub desktop_notifications: bool,
    /// The program that opens folders and files ([`launcher::DEFAULT_OPENER`]).
    pub opener: OsString,
    /// The output folders remembered from the last run.
    pub folders: RememberedFolders,
}

impl AppOptions {
    /// The desktop window: journals in the default state folder, desktop notifications (not in
    /// a `--screenshot` run, which must not disturb the desktop), `xdg-open`.
    pub fn desktop(launch: &LaunchArgs) -> AppOptions {
        AppOptions {
            frame_stats: FrameStats::from_env(Instant::now()),
            state_dir: crate::engine::default_state_dir(),
            desktop_notifications: launch.screenshot.is_none(),
            opener: OsString::from(launcher::DEFAULT_OPENER),
            folders: RememberedFolders::default(),
        }
    }

    /// Tests: journals in `state_dir` (`None`: none), notifications recorded only.
    pub fn test(state_dir: Option<PathBuf>) -> AppOptions {
        AppOptions {
            frame_stats: None,
            state_dir,
            desktop_notifications: false,
            opener: OsString::from(launcher::DEFAULT_OPENER),
            folders: RememberedFolders::default(),
        }
    }
}

/// The desktop window's app.
pub struct App {
    engine: Engine,
    state: UiState,
    measurer: Measurer,
    strips: StripLoader,
    dialogs: DialogRunner,
    frame_stats: Option<FrameStats>,
    screenshot: Option<Screenshot>,
    launch: LaunchArgs,
    /// The job queued from the command line has been submitted.
    launched: bool,
    /// When a job first showed progress (for `--screenshot`).
    first_progress_at: Option<Instant>,
    window_title: String,
    /// Active and paused jobs, and time, at the last title change.
    title_active_jobs: (usize, usize),
    title_updated_at: Option<Instant>,
    /// The title shows how jobs ended (until the window is focused).
    title_showed_outcome: bool,
    frame_began: Option<Instant>,
    exit_status: Arc<AtomicU8>,
    icon: Option<egui::TextureHandle>,
    pending_commands: Vec<Command>,
    /// When the last frame was drawn (read by the engine's waker).
    last_frame: Arc<FrameClock>,
    /// Messages from helper threads (e.g. "cannot open the folder") for the notice line.
    background_notices_rx: flume::Receiver<String>,
    /// Exports that ended: the notice saying where the file went, or why it could not be written.
    exports: flume::Sender<Result<String, String>>,
    exports_rx: flume::Receiver<Result<String, String>>,
    launcher: Launcher,
    journals: JournalThreads,
    notifier: Notifier,
    /// Jobs that ended while the window was unfocused or minimized (for the title).
    finishes: Finishes,
    /// The window is focused and not minimized (as of this frame).
    looking: bool,
    waker: Waker,
    /// (queue generation, preview generation, preview fresh) when `state.start_blocked_by` was
    /// computed.
    start_blocked_key: Option<(u64, u64, bool)>,
}

impl App {
    /// The app as `eframe::run_native` creates it: settings from storage, the command line's
    /// inputs and job, frame stats from `SHRINKWRAP_FRAME_STATS`.
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        launch: LaunchArgs,
        exit_status: Arc<AtomicU8>,
    ) -> App {
        let settings = cc
            .storage
            .and_then(|storage| eframe::get_value::<Settings>(storage, SETTINGS_KEY))
            .unwrap_or_default()
            .sanitized();
        let folders = cc
            .storage
            .and_then(|storage| eframe::get_value::<RememberedFolders>(storage, FOLDERS_KEY))
            .unwrap_or_default();
        let options = AppOptions {
            folders,
            ..AppOptions::desktop(&launch)
        };
        let mut app = App::with_options(&cc.egui_ctx, settings, launch, options);
        app.exit_status = exit_status;
        app
    }

    /// An app for tests: `workers` engine threads, these settings, no command line, no
    /// journals, notifications recorded only.
    pub fn new_for_test(ctx: &egui::Context, workers: usize, settings: Settings) -> App {
        let settings = Settings {
            workers: Some(workers),
            ..settings
        };
        App::with_options(ctx, settings, LaunchArgs::default(), AppOptions::test(None))
    }

    /// An app with explicit settings, command line and options (no storage).
    pub fn with_options(
        ctx: &egui::Context,
        settings: Settings,
        launch: LaunchArgs,
        options: AppOptions,
    ) -> App {
        view::theme::apply(ctx);
        let repaint_ctx = ctx.clone();
        let waker: Waker = Arc::new(move || repaint_ctx.request_repaint());
        let engine = Engine::with_state_dir(settings.worker_count(), options.state_dir.clone());
        // Progress news repaints no sooner than PROGRESS_REPAINT_INTERVAL after the last frame
        // (input still repaints at once): drawing the window costs CPU that the workers need,
        // most of all with software rendering.
        let last_frame = Arc::new(FrameClock::new());
        let progress_ctx = ctx.clone();
        let waker_clock = Arc::clone(&last_frame);
        engine.set_waker(Arc::new(move || {
            let since_frame = waker_clock.since_last_frame();
            progress_ctx
                .request_repaint_after(PROGRESS_REPAINT_INTERVAL.saturating_sub(since_frame));
        }));
        let screenshot = launch
            .screenshot
            .clone()
            .map(|path| Screenshot::new(path, Arc::clone(&waker)));
        if screenshot.is_some() {
            // The picture shows the window, not a tooltip under wherever the pointer happens to
            // rest.
            ctx.all_styles_mut(|style| style.interaction.tooltip_delay = f32::MAX);
        }
        let icon = view::theme::load_icon_texture(ctx);
        let (background_notices, background_notices_rx) =
            flume::bounded(BACKGROUND_NOTICE_CAPACITY);
        let (exports, exports_rx) = flume::bounded(BACKGROUND_NOTICE_CAPACITY);
        let launcher = Launcher::new(
            options.opener.clone(),
            background_notices.clone(),
            Arc::clone(&waker),
        );
        let journals = JournalThreads::new(Arc::clone(&waker));
        let mut state = UiState::new(settings);
        state.destinations = options.folders.destinations();
        if let Some(dir) = options.state_dir.clone()
            && journals.list(dir)
        {
            state.unfinished.status = ListStatus::Listing;
        }
        let mut app = App {
            engine,
            state,
            measurer: Measurer::start(Arc::clone(&waker)),
            strips: StripLoader::start(Arc::clone(&waker)),
            dialogs: DialogRunner::new(Arc::clone(&waker)),
            frame_stats: options.frame_stats,
            screenshot,
            launch,
            launched: false,
            first_progress_at: None,
            window_title: String::new(),
            title_active_jobs: (0, 0),
            title_updated_at: None,
            title_showed_outcome: false,
            frame_began: None,
            exit_status: Arc::new(AtomicU8::new(0)),
            icon,
            pending_commands: Vec::new(),
            last_frame,
            background_notices_rx,
            exports,
            exports_rx,
            launcher,
            journals,
            notifier: Notifier::new(options.desktop_notifications),
            finishes: Finishes::default(),
            looking: true,
            waker,
            start_blocked_key: None,
        };
        let paths = app.launch.paths.clone();
        if !paths.is_empty() {
            app.apply(ctx, Command::AddPaths(paths));
        }
        if let Some(operation) = app.launch.queue_at_start {
            app.state.settings.operation = operation;
            app.apply(ctx, Command::Start(operation));
            app.launched = true;
            if app.launch.paused {
                for id in app.state.queue.rows().iter().map(|r| r.id) {
                    app.engine.pause(id);
                }
            }
        }
        app
    }

    pub fn state(&self) -> &UiState {
        &self.state
    }

    pub fn inputs(&self) -> &InputList {
        &self.state.inputs
    }

    pub fn queue(&self) -> &Queue {
        &self.state.queue
    }

    pub fn settings(&self) -> &Settings {
        &self.state.settings
    }

    pub fn settings_mut(&mut self) -> &mut Settings {
        &mut self.state.settings
    }

    pub fn destinations_mut(&mut self) -> &mut Destinations {
        &mut self.state.destinations
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Queues a command as if a view had emitted it (applied in the next frame). Tests use this
    /// for what has no widget, e.g. a dialog's answer.
    pub fn queue_command(&mut self, command: Command) {
        self.pending_commands.push(command);
    }

    /// The plan preview as it stands.
    pub fn preview(&self) -> &super::preview::Preview {
        &self.state.preview
    }

    /// The desktop notifications asked for so far (the most recent ones), whether or not a
    /// notification service showed them.
    pub fn notifications(&self) -> &[DesktopNotification] {
        self.notifier.sent()
    }

    /// The window title as last set.
    pub fn window_title(&self) -> &str {
        &self.window_title
    }

    /// Applies one command. Never blocks: engine calls here only queue or flag work.
    fn apply(&mut self, ctx: &egui::Context, command: Command) {
        let state = &mut self.state;
        match command {
            Command::AddPaths(paths) => {
                let added = state.inputs.add(paths);
                if added > 0
                    && matches!(state.notice, Some(ref n) if n.level == NoticeLevel::Warning)
                {
                    state.notice = None;
                }
                if state.inputs.send_unmeasured(&self.measurer) {
                    ctx.request_repaint_after(POLL_INTERVAL);
                }
            }
            Command::AddTypedPaths => {
                let paths = settings::typed_paths(&state.path_field);
                if paths.is_empty() {
                    state.notify(NoticeLevel::Info, "Type or paste a path to add it.");
                } else {
                    state.path_field.clear();
                    self.apply(ctx, Command::AddPaths(paths));
                }
            }
            Command::RemoveInput(index) => state.inputs.remove(index),
            Command::SelectInput(index) => state.inputs.select(Some(index)),
            Command::ClearInputs => state.inputs.clear(),
            Command::OpenDialog(request) => {
                self.dialogs.open(request);
                state.dialog_open = self.dialogs.is_open();
            }
            Command::Start(operation) => self.start(operation),
            Command::Cancel(id) => self.engine.cancel(id),
            Command::CancelAll => self.engine.cancel_all(),
            Command::SelectJob(id) => state.queue.select(Some(id)),
            Command::ClearFinished => state.queue.clear_finished(),
            Command::OpenFolder(folder) => self.launcher.open(folder, Target::Folder),
            Command::OpenFile(file) => self.launcher.open(file, Target::File),
            Command::SetWorkers(workers) => {
                let workers = workers.clamp(
                    *settings::WORKERS_RANGE.start(),
                    *settings::WORKERS_RANGE.end(),
                );
                state.settings.workers = Some(workers);
                self.engine.set_workers(workers);
            }
            Command::DismissNotice => state.notice = None,
            Command::ConfirmQuit => {
                self.engine.cancel_all();
                state.quit = QuitState::Cancelling {
                    since: Instant::now(),
                };
                ctx.request_repaint();
            }
            Command::KeepRunning => state.quit = QuitState::Running,
            Command::AnswerArchiveExists(answer) => self.answer_archive_exists(answer),
            Command::AnswerManyArchives(answer) => {
                if !matches!(state.prompt, Some(Prompt::ManyArchives { .. })) {
                    return;
                }
                state.prompt = None;
                match answer {
                    ManyArchivesAnswer::Confirm => {
                        state.many_archives_confirmed = Some(state.inputs.generation());
                        self.start(Operation::Compress);
                    }
                    ManyArchivesAnswer::OneArchive => {
                        state.settings.archive_layout = ArchiveLayout::SingleArchive;
                    }
                    ManyArchivesAnswer::Cancel => {}
                }
            }
            Command::ChooseExisting(choice) => {
                state.archive_choice = choice.map(|on_exists| ArchiveChoice {
                    key: state.choice_key(),
                    on_exists,
                });
            }
            Command::RetryArchive(id, on_exists) => {
                let Some(JobSpec::Zip(zip)) = state.queue.row(id).map(|r| r.spec.clone()) else {
                    return;
                };
                let spec = JobSpec::Zip(crate::engine::ZipSpec { on_exists, ..zip });
                self.submit_jobs(vec![spec], &[id]);
            }
            Command::SetThumbnailsFolder(folder) => {
                state.destinations.thumbnails_folder = folder.display().to_string();
            }
            Command::Pause(id) => self.engine.pause(id),
            Command::Resume(id) => self.engine.resume(id),
            Command::PauseAll => self.engine.pause_all(),
            Command::ResumeAll => self.engine.resume_all(),
            Command::StopAfterCurrent(id) => {
                if !self.engine.stop_after_current(id) {
                    state.notify(
                        NoticeLevel::Info,
                        "An archive cannot stop part-way (it would be incomplete): pause or \
                         cancel it instead.",
                    );
                }
            }
            Command::MoveQueued(id, to) => {
                if self.engine.move_queued(id, to) {
                    state.queue.move_waiting(id, to);
                }
            }
            Command::MoveQueuedTo { job, to } => self.move_queued_to(job, to),
            Command::RetryFailed(id) => {
                if let Some(spec) = state.queue.row(id).and_then(|r| r.retry_spec()) {
                    self.submit_jobs(vec![spec], &[]);
                }
            }
            Command::RunAgain(id) => {
                if let Some(spec) = state.queue.row(id).and_then(|r| r.run_again_spec()) {
                    self.submit_jobs(vec![spec], &[id]);
                }
            }
            Command::LoadThumbnails(id, range) => self.load_thumbnails(id, range),
            Command::ShowAllThumbnails(id, all) => {
                if let Some(row) = state.queue.row_mut(id) {
                    row.strip.expanded = all;
                }
            }
            Command::CopyProblems(id) => {
                if let Some(export) = self.problem_export(id) {
                    ctx.copy_text(export.clipboard_text());
                    self.state.notify(
                        NoticeLevel::Info,
                        format!(
                            "Copied {} to the clipboard.",
                            super::format::plural(
                                export.problems.len() as u64,
                                "problem",
                                "problems"
                            )
                        ),
                    );
                }
            }
            Command::ExportProblems(id, format) => {
                let Some(row) = state.queue.row(id) else {
                    return;
                };
                let stem = row
                    .output
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "job".to_owned());
                let suggested = row
                    .folder_to_open()
                    .join(format!("{stem}-problems.{}", format.extension()));
                self.apply(
                    ctx,
                    Command::OpenDialog(DialogRequest::ExportProblems {
                        job: id,
                        format,
                        suggested,
                    }),
                );
            }
            Command::ResumeUnfinished(journal) => {
                if let Some(job) = state.unfinished.take(&journal) {
                    self.resume_unfinished(vec![job]);
                }
            }
            Command::ResumeAllUnfinished => {
                let jobs = state.unfinished.take_all();
                self.resume_unfinished(jobs);
            }
            Command::DiscardUnfinished(journal) => {
                let job = state
                    .unfinished
                    .entries
                    .iter_mut()
                    .find(|e| e.job.journal == journal && !e.discarding);
                if let Some(entry) = job {
                    entry.discarding = true;
                    let job = entry.job.clone();
                    if !self.journals.discard(job) {
                        entry.discarding = false;
                        state.notify(
                            NoticeLevel::Warning,
                            "The unfinished job could not be discarded (no helper thread).",
                        );
                    }
                }
            }
        }
    }

    /// A drag put `job` (not started) where `to` is: the engine moves it one place at a time,
    /// and the rows follow each move it agrees to.
    fn move_queued_to(&mut self, job: JobId, to: JobId) {
        let waiting = self.state.queue.waiting_ids();
        let (Some(from), Some(target)) = (
            waiting.iter().position(|&id| id == job),
            waiting.iter().position(|&id| id == to),
        ) else {
            return;
        };
        let (step, count) = if target < from {
            (QueueMove::Up, from - target)
        } else {
            (QueueMove::Down, target - from)
        };
        for _ in 0..count {
            if !self.engine.move_queued(job, step) {
                break;
            }
            self.state.queue.move_waiting(job, step);
        }
    }

    /// Asks the strip loader for the thumbnails in `range` not asked yet.
    fn load_thumbnails(&mut self, id: JobId, range: Range<usize>) {
        let Some(row) = self.state.queue.row_mut(id) else {
            return;
        };
        let paths = row.thumbnail_paths().to_vec();
        let end = range.end.min(row.strip.slots.len());
        let mut index = range.start;
        while index < end {
            // One request per run of unasked thumbnails.
            if !matches!(row.strip.slots[index], ThumbSlot::NotAsked) {
                index += 1;
                continue;
            }
            let first = index;
            while index < end && matches!(row.strip.slots[index], ThumbSlot::NotAsked) {
                index += 1;
            }
            if !self.strips.request(id, first, paths[first..index].to_vec()) {
                // The loader is busy: these stay unasked and are asked again when drawn.
                return;
            }
            for slot in &mut row.strip.slots[first..index] {
                *slot = ThumbSlot::Loading;
            }
        }
    }

    /// A finished job's problems, errors first, for copying or exporting.
    fn problem_export(&self, id: JobId) -> Option<ProblemExport> {
        let row = self.state.queue.row(id)?;
        let report = row.report.as_ref()?;
        Some(ProblemExport {
            job: row.name.clone(),
            outcome: row.outcome_words().unwrap_or_default(),
            problems: row
                .problem_order
                .iter()
                .filter_map(|&i| report.problems.get(i).cloned())
                .collect(),
        })
    }

    /// Resumes unfinished jobs: each gets a card; one the engine refuses goes back to the list
    /// with a notice.
    fn resume_unfinished(&mut self, jobs: Vec<UnfinishedJob>) {
        for job in jobs {
            let spec = job.spec.clone();
            match self.engine.resume_unfinished(job.clone()) {
                Ok(id) => self.state.queue.push(id, &spec),
                Err(e) => {
                    self.state.notify(
                        NoticeLevel::Warning,
                        format!("Not resumed: {}: {e}.", spec.display_name()),
                    );
                    self.state.unfinished.entries.push(UnfinishedEntry {
                        job,
                        discarding: false,
                    });
                }
            }
        }
        self.start_blocked_key = None;
    }

    /// Start: builds the jobs for `operation` over the current inputs and submits them, unless a
    /// question must be answered first: "one archive per folder" with plain files among the
    /// inputs makes several archives (asked once per set of inputs; waits for the inputs to be
    /// measured), and archives the fresh preview found already existing. With
    /// `--quit-when-done` nothing is asked: such a job is not started (or fails, for an archive
    /// found only by the job).
    fn start(&mut self, operation: Operation) {
        let state = &mut self.state;
        let per_folder = operation == Operation::Compress
            && state.settings.archive_layout == ArchiveLayout::ArchivePerFolder
            && state.inputs.len() > 1;
        if per_folder && state.inputs.measuring() {
            state.pending_start = Some(operation);
            return;
        }
        state.pending_start = None;
        let inputs = state.inputs.paths();
        let choice = state.archive_choice();
        let specs = match settings::build_jobs(
            operation,
            &state.settings,
            &inputs,
            &state.destinations,
            choice,
        ) {
            Ok(specs) => specs,
            Err(message) => return state.notify(NoticeLevel::Warning, message),
        };
        let files: Vec<String> = state.inputs.plain_files().map(|e| e.name()).collect();
        if per_folder
            && specs.len() > 1
            && !files.is_empty()
            && state.many_archives_confirmed != Some(state.inputs.generation())
        {
            if self.launch.quit_when_done {
                return state.notify(
                    NoticeLevel::Warning,
                    format!(
                        "Not started: one archive per folder would make {} archives, {} of them \
                         from single files, and --quit-when-done cannot ask first.",
                        specs.len(),
                        files.len()
                    ),
                );
            }
            state.prompt = Some(Prompt::ManyArchives {
                archives: specs.len(),
                files,
            });
            return;
        }
        let preview = &state.preview;
        if let Some(view) = preview.view()
            && preview.is_fresh()
            && !view.existing.is_empty()
            && preview.specs() == specs.as_slice()
            && !self.launch.quit_when_done
        {
            state.prompt = Some(Prompt::ArchiveExists {
                archives: view.existing.clone(),
                specs,
                failed: Vec::new(),
            });
            return;
        }
        self.submit_jobs(specs, &[]);
    }

    /// Submits jobs and adds their cards; `replacing` are failed jobs whose cards the new ones
    /// take over. A job identical to a queued or running one is refused by the engine: a calm
    /// notice says so, and no card is added.
    fn submit_jobs(&mut self, specs: Vec<JobSpec>, replacing: &[JobId]) {
        let state = &mut self.state;
        let mut queued = 0;
        let mut already: Vec<String> = Vec::new();
        let mut refused = None;
        for spec in specs {
            match self.engine.submit(spec.clone()) {
                Ok(id) => {
                    state.queue.push(id, &spec);
                    queued += 1;
                }
                Err(SubmitError::Duplicate(_)) => already.push(spec.display_name()),
                Err(e) => refused = Some(e),
            }
        }
        if queued > 0 {
            for &id in replacing {
                state.queue.remove(id);
            }
        }
        if let Some(e) = refused {
            state.notify(NoticeLevel::Warning, format!("Not queued: {e}."));
        } else if !already.is_empty() {
            state.notify(
                NoticeLevel::Info,
                format!(
                    "Already queued: {}. The same job was not added again.",
                    already.join(", ")
                ),
            );
        } else if queued > 0 {
            state.notice = None;
        }
        self.start_blocked_key = None;
    }

    /// The answer to "the archive already exists": the jobs are submitted with it (and the
    /// answer holds for the preview while the inputs and destination stay the same).
    fn answer_archive_exists(&mut self, answer: ExistsAnswer) {
        let Some(Prompt::ArchiveExists { specs, failed, .. }) = self.state.prompt.take() else {
            return;
        };
        let Some(on_exists) = answer.policy() else {
            return;
        };
        if failed.is_empty() {
            self.state.archive_choice = Some(ArchiveChoice {
                key: self.state.choice_key(),
                on_exists,
            });
        }
        let specs = specs
            .into_iter()
            .map(|spec| match spec {
                JobSpec::Zip(zip) => JobSpec::Zip(crate::engine::ZipSpec { on_exists, ..zip }),
                other => other,
            })
            .collect();
        self.submit_jobs(specs, &failed);
    }

    /// A real job failed because its archive exists (Start came before the preview knew): the
    /// window asks at once (one question for all such jobs), unless `--quit-when-done` runs.
    fn ask_about_failed_archive(&mut self, id: JobId) {
        if self.launch.quit_when_done {
            return;
        }
        let Some(row) = self.state.queue.row(id) else {
            return;
        };
        let Some(path) = row.existing_archive().map(PathBuf::from) else {
            return;
        };
        let spec = row.spec.clone();
        match &mut self.state.prompt {
            None => {
                self.state.prompt = Some(Prompt::ArchiveExists {
                    archives: vec![path],
                    specs: vec![spec],
                    failed: vec![id],
                });
            }
            Some(Prompt::ArchiveExists {
                archives,
                specs,
                failed,
            }) if !failed.is_empty() => {
                archives.push(path);
                specs.push(spec);
                failed.push(id);
            }
            // Another question is open: the failed card offers the same answers.
            Some(_) => {}
        }
    }

    /// Keeps the preview in step with the inputs and settings: notes what Start would submit,
    /// and once that has been still for the debounce, submits the dry runs (building the specs
    /// is the only work done here).
    fn update_preview(&mut self, ctx: &egui::Context) {
        let state = &mut self.state;
        let now = Instant::now();
        let source = PreviewSource::new(
            state.inputs.generation(),
            &state.settings,
            &state.destinations,
            state.archive_choice(),
        );
        state.preview.note_source(source, now);
        match state.preview.due_in(now) {
            None => {}
            Some(wait) if !wait.is_zero() => ctx.request_repaint_after(wait),
            Some(_) => {
                let specs = (!state.inputs.is_empty()).then(|| {
                    settings::build_jobs(
                        state.settings.operation,
                        &state.settings,
                        &state.inputs.paths(),
                        &state.destinations,
                        state.archive_choice(),
                    )
                });
                state.preview.submit(&self.engine, specs);
                ctx.request_repaint_after(POLL_INTERVAL);
            }
        }
        let fresh = state.preview.is_fresh();
        let key = (state.queue.generation(), state.preview.generation(), fresh);
        if self.start_blocked_key != Some(key) {
            self.start_blocked_key = Some(key);
            // Comparing specs compares every input path: done only when something changed.
            state.start_blocked_by = if fresh {
                state
                    .preview
                    .specs()
                    .iter()
                    .find_map(|spec| state.queue.active_with_spec(spec))
            } else {
                None
            };
        }
    }

    /// Takes in what the helper threads and the engine sent since the last frame.
    fn drain_channels(&mut self, ctx: &egui::Context) {
        while let Ok(event) = self.engine.events().try_recv() {
            if self.state.preview.apply(&self.engine, &event) {
                continue;
            }
            let finished = match &event {
                JobEvent::Finished(report) => Some(report.progress.job),
                _ => None,
            };
            if self.state.queue.apply(event).is_none() {
                continue;
            }
            let Some(id) = finished else { continue };
            // The disk changed: what Start would do now may differ.
            self.state.preview.invalidate(Instant::now());
            self.ask_about_failed_archive(id);
            let Some(row) = self.state.queue.row(id) else {
                continue;
            };
            if !self.looking {
                let still_active = self.state.queue.active_count();
                if let Some(note) = self.finishes.record(row, still_active) {
                    self.notifier.send(note);
                }
            }
            if row.kind == crate::engine::kinds::thumbs::KIND && !row.strip.slots.is_empty() {
                self.load_thumbnails(id, 0..STRIP_MAX_THUMBNAILS);
            }
        }
        if self.first_progress_at.is_none()
            && self
                .state
                .queue
                .rows()
                .iter()
                .any(|r| r.state() != JobState::Queued)
        {
            self.first_progress_at = Some(Instant::now());
        }
        while let Some(measured) = self.measurer.try_recv() {
            self.state.inputs.apply(measured);
        }
        if self.state.inputs.send_unmeasured(&self.measurer) {
            ctx.request_repaint_after(POLL_INTERVAL);
        }
        while let Some(strip_image) = self.strips.try_recv() {
            let Some(row) = self.state.queue.row_mut(strip_image.job) else {
                continue;
            };
            let Some(slot) = row.strip.slots.get_mut(strip_image.index) else {
                continue;
            };
            *slot = match strip_image.image {
                Ok(image) => {
                    let name = format!("strip-{}-{}", strip_image.job.0, strip_image.index);
                    ThumbSlot::Shown(ctx.load_texture(name, image, egui::TextureOptions::LINEAR))
                }
                Err(why) => ThumbSlot::Failed(why),
            };
        }
        while let Ok(text) = self.background_notices_rx.try_recv() {
            self.state.notify(NoticeLevel::Warning, text);
        }
        while let Ok(result) = self.exports_rx.try_recv() {
            match result {
                Ok(text) => self.state.notify(NoticeLevel::Info, text),
                Err(text) => self.state.notify(NoticeLevel::Warning, text),
            }
        }
        while let Some(news) = self.journals.try_recv() {
            self.apply_journal_news(news);
        }
        if let Some(answer) = self.dialogs.poll() {
            self.state.dialog_open = false;
            match answer.outcome {
                DialogOutcome::Picked(paths) => self.apply_dialog_paths(ctx, answer.request, paths),
                DialogOutcome::Cancelled => {}
                DialogOutcome::Unavailable(text) => self.state.notify(NoticeLevel::Warning, text),
            }
        }
    }

    /// What the journal threads found or did.
    fn apply_journal_news(&mut self, news: JournalNews) {
        let unfinished = &mut self.state.unfinished;
        match news {
            JournalNews::Listed(jobs, set_aside) => {
                unfinished.status = ListStatus::Listed;
                unfinished.entries = jobs
                    .into_iter()
                    .map(|job| UnfinishedEntry {
                        job,
                        discarding: false,
                    })
                    .collect();
                if !set_aside.is_empty() {
                    let lines: Vec<String> = set_aside
                        .iter()
                        .map(|a| {
                            let line = a.to_string();
                            super::notify::capitalize(&line) + "."
                        })
                        .collect();
                    unfinished.set_aside = set_aside;
                    self.state.notify(NoticeLevel::Warning, lines.join("\n"));
                }
            }
            JournalNews::Discarded { journal, result } => match result {
                Ok(()) => unfinished.entries.retain(|e| e.job.journal != journal),
                Err(text) => {
                    if let Some(entry) = unfinished
                        .entries
                        .iter_mut()
                        .find(|e| e.job.journal == journal)
                    {
                        entry.discarding = false;
                    }
                    self.state.notify(NoticeLevel::Warning, text);
                }
            },
        }
    }

    fn apply_dialog_paths(
        &mut self,
        ctx: &egui::Context,
        request: DialogRequest,
        paths: Vec<PathBuf>,
    ) {
        let first = paths
            .first()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        match request {
            DialogRequest::AddFiles { .. } | DialogRequest::AddFolders { .. } => {
                self.apply(ctx, Command::AddPaths(paths));
            }
            DialogRequest::SaveArchive { .. } => self.state.destinations.archive = first,
            DialogRequest::ArchivesFolder { .. } => self.state.destinations.archives_folder = first,
            DialogRequest::ThumbnailsFolder { .. } => {
                self.state.destinations.thumbnails_folder = first
            }
            DialogRequest::ExportProblems { job, format, .. } => {
                let (Some(path), Some(export)) =
                    (paths.into_iter().next(), self.problem_export(job))
                else {
                    return;
                };
                export.write_in_background(
                    format,
                    path,
                    self.exports.clone(),
                    Arc::clone(&self.waker),
                );
            }
        }
    }

    /// Drops, keyboard shortcuts.
    fn handle_input(&mut self, ctx: &egui::Context) {
        let (dropped, hovering) = ctx.input(|i| {
            let dropped: Vec<PathBuf> = i
                .raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect();
            (dropped, !i.raw.hovered_files.is_empty())
        });
        if hovering != self.state.files_hovering {
            self.state.files_hovering = hovering;
            ctx.request_repaint();
        }
        if !dropped.is_empty() {
            self.apply(ctx, Command::AddPaths(dropped));
        }

        // Typing in a field (a focused button or job card does not count: shortcuts still work).
        let typing = ctx.text_edit_focused();
        let start = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::Enter);
        if self.state.quit == QuitState::Running
            && self.state.prompt.is_none()
            && ctx.input_mut(|i| i.consume_shortcut(&start))
        {
            self.start_from_keyboard(ctx);
        }
        let open_files = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::O);
        if ctx.input_mut(|i| i.consume_shortcut(&open_files)) && !self.dialogs.is_open() {
            let start_dir = self
                .state
                .inputs
                .entries()
                .first()
                .and_then(|e| e.path.parent().map(PathBuf::from));
            self.apply(
                ctx,
                Command::OpenDialog(DialogRequest::AddFiles { start_dir }),
            );
        }
        if typing || self.state.quit != QuitState::Running || self.state.prompt.is_some() {
            return;
        }
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Delete))
            && let Some(index) = self.state.inputs.selected()
        {
            self.apply(ctx, Command::RemoveInput(index));
        }
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape))
            && let Some(id) = self.state.queue.selected()
            && self.state.queue.row(id).is_some_and(|r| !r.is_finished())
        {
            self.apply(ctx, Command::Cancel(id));
        }
    }

    /// Ctrl+Enter: adds what the path field holds, then starts the job (or says why not).
    fn start_from_keyboard(&mut self, ctx: &egui::Context) {
        if !self.state.path_field.trim().is_empty() {
            self.apply(ctx, Command::AddTypedPaths);
        }
        match self.state.start_refusal() {
            None => {
                let operation = self.state.settings.operation;
                self.apply(ctx, Command::Start(operation));
            }
            Some(refusal) => self
                .state
                .notify(NoticeLevel::Info, format!("Not started: {}.", refusal.why)),
        }
    }

    /// Notices whether the person can see the window: once it is focused again, the outcome
    /// leaves the title.
    fn track_focus(&mut self, ctx: &egui::Context) {
        let (focused, minimized) = ctx.input(|i| {
            let viewport = i.viewport();
            (viewport.focused, viewport.minimized)
        });
        // Unknown (some platforms never say) counts as looking: no notification then.
        self.looking = focused.unwrap_or(true) && !minimized.unwrap_or(false);
        if self.looking && !self.finishes.is_empty() {
            self.finishes.seen();
        }
    }

    /// Close requests, `--quit-when-done`, and the end of quitting.
    fn handle_closing(&mut self, ctx: &egui::Context) {
        let close_requested = ctx.input(|i| i.viewport().close_requested());
        if close_requested {
            match self.state.quit {
                QuitState::Closing => {}
                QuitState::Running if !self.state.queue.any_active() => {
                    self.state.quit = QuitState::Closing
                }
                QuitState::Running => {
                    ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
                    self.state.quit = QuitState::Asking;
                }
                QuitState::Asking | QuitState::Cancelling { .. } => {
                    ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
                }
            }
        }
        if let QuitState::Cancelling { since } = self.state.quit {
            if !self.state.queue.any_active() || since.elapsed() > QUIT_CANCEL_GRACE {
                self.close(ctx);
            } else {
                ctx.request_repaint_after(POLL_INTERVAL);
            }
        }
        if self.launch.quit_when_done
            && self.launched
            && self.screenshot.is_none()
            && self.state.quit == QuitState::Running
            && self.state.pending_start.is_none()
            && !self.state.queue.any_active()
        {
            // Nothing queued (the job could not be built, e.g. no usable destination) is a failure.
            let status = if self.state.queue.rows().is_empty() {
                2
            } else {
                self.state.queue.exit_status()
            };
            self.exit_status.store(status, Ordering::Relaxed);
            self.close(ctx);
        }
    }

    fn close(&mut self, ctx: &egui::Context) {
        self.state.quit = QuitState::Closing;
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }

    /// Whether `--screenshot` may capture now: inputs measured, and the job finished (with its
    /// strip loaded) or shown running for a while.
    fn ready_for_screenshot(&self) -> bool {
        if self.state.inputs.measuring() || self.state.preview.is_busy() {
            return false;
        }
        if self.state.unfinished.status == ListStatus::Listing {
            return false;
        }
        let queue = &self.state.queue;
        let strips_loaded = queue.rows().iter().all(|r| r.strip.loading() == 0);
        let all_finished = !queue.any_active();
        let progressed_long_enough = self
            .first_progress_at
            .is_some_and(|t| t.elapsed() >= SCREENSHOT_PROGRESS_TIME);
        (all_finished && strips_loaded) || progressed_long_enough
    }

    fn handle_screenshot(&mut self, ctx: &egui::Context) {
        let ready = self.ready_for_screenshot();
        let Some(screenshot) = self.screenshot.as_mut() else {
            return;
        };
        if let ScreenshotStep::Finished(result) = screenshot.poll(ctx, ready) {
            if self.state.quit == QuitState::Closing {
                return;
            }
            match result {
                Ok(()) => {
                    println!("{}", screenshot.path().display());
                    self.exit_status.store(0, Ordering::Relaxed);
                }
                Err(err) => {
                    eprintln!("shrinkwrap: screenshot: {err}");
                    self.exit_status.store(2, Ordering::Relaxed);
                }
            }
            // The jobs the screenshot showed are cancelled by the engine's drop.
            self.engine.cancel_all();
            self.close(ctx);
        }
    }

    /// Keeps the title's progress current. A title command costs one more frame, so a mere
    /// percentage change waits until TITLE_UPDATE_INTERVAL has passed (the next progress frame
    /// after that carries it); starting and finishing jobs show at once.
    fn update_title(&mut self, ctx: &egui::Context) {
        let active_jobs = (
            self.state.queue.active_count(),
            self.state.queue.paused_count(),
        );
        // A job ended while the person was away: the title says how, until they look.
        let outcome = self.finishes.title(active_jobs.0);
        let title = outcome
            .clone()
            .unwrap_or_else(|| self.state.queue.window_title());
        if title == self.window_title {
            return;
        }
        let jobs_changed =
            active_jobs != self.title_active_jobs || outcome.is_some() || self.title_showed_outcome;
        let due = self
            .title_updated_at
            .is_none_or(|t| t.elapsed() >= TITLE_UPDATE_INTERVAL);
        if jobs_changed || due {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.window_title = title;
            self.title_active_jobs = active_jobs;
            self.title_showed_outcome = outcome.is_some();
            self.title_updated_at = Some(Instant::now());
        }
    }
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.frame_began = Some(Instant::now());
        self.track_focus(ctx);
        for command in std::mem::take(&mut self.pending_commands) {
            self.apply(ctx, command);
        }
        self.drain_channels(ctx);
        self.handle_input(ctx);
        if let Some(operation) = self.state.pending_start
            && !self.state.inputs.measuring()
        {
            self.start(operation);
        }
        self.update_preview(ctx);
        self.handle_closing(ctx);
        self.handle_screenshot(ctx);
        self.update_title(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let frame_began = self.frame_began.take().unwrap_or_else(Instant::now);
        self.last_frame.mark();
        let mut commands = Vec::new();
        view::draw(ui, &mut self.state, self.icon.as_ref(), &mut commands);
        let ctx = ui.ctx().clone();
        for command in commands {
            self.apply(&ctx, command);
        }
        // A setting changed in this frame starts the preview's debounce now (no frame may
        // follow for a while).
        self.update_preview(&ctx);
        if let Some(stats) = self.frame_stats.as_mut() {
            stats.record(frame_began, frame_began.elapsed().as_secs_f64() * 1000.0);
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        // A `--screenshot` run is a picture of the window, not a session: it changes nothing.
        if self.screenshot.is_some() {
            return;
        }
        eframe::set_value(storage, SETTINGS_KEY, &self.state.settings);
        eframe::set_value(
            storage,
            FOLDERS_KEY,
            &RememberedFolders::of(&self.state.destinations),
        );
    }
}

/// The time of the last frame, shared with the engine's waker thread.
struct FrameClock {
    origin: Instant,
    /// Microseconds from `origin` to the start of the last frame.
    last_frame_us: AtomicU64,
}

impl FrameClock {
    fn new() -> FrameClock {
        FrameClock {
            origin: Instant::now(),
            last_frame_us: AtomicU64::new(0),
        }
    }

    fn mark(&self) {
        let us = u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last_frame_us.store(us, Ordering::Relaxed);
    }

    fn since_last_frame(&self) -> Duration {
        let now = self.origin.elapsed();
        now.saturating_sub(Duration::from_micros(
            self.last_frame_us.load(Ordering::Relaxed),
        ))
    }
}
