//! The eframe app: owns the engine and the helper threads, feeds their news into [`UiState`]
//! once a frame, asks the views to draw, and applies the [`Command`]s they emit.
//!
//! Owns: [`App`] (the `eframe::App` implementation), the per-frame logic (engine events, input
//! measurements, strip images, dialog answers, drops, shortcuts, the plan preview's debounce,
//! closing, the title), and turning commands into engine calls: what Start submits, and the
//! questions asked before it does (an archive that exists, several archives from plain files).
//! Must not touch: anything blocking in a frame (no file I/O, no waiting on a worker or a dialog:
//! all of that lives on the helper threads), the engine's internals.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eframe::egui;

use crate::engine::{Engine, JobEvent, JobId, JobKind, JobSpec, JobState, SubmitError};

use super::args::LaunchArgs;
use super::dialogs::{DialogOutcome, DialogRequest, DialogRunner};
use super::frame_stats::FrameStats;
use super::inputs::{InputList, Measurer};
use super::preview::PreviewSource;
use super::queue::{Queue, STRIP_MAX_THUMBNAILS};
use super::screenshot::{Screenshot, ScreenshotStep};
use super::settings::{self, ArchiveLayout, Destinations, Operation, SETTINGS_KEY, Settings};
use super::state::{
    ArchiveChoice, Command, ExistsAnswer, ManyArchivesAnswer, NoticeLevel, Prompt, QuitState,
    UiState,
};
use super::strip_loader::StripLoader;
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
    /// Active jobs and time at the last title change.
    title_active_jobs: usize,
    title_updated_at: Option<Instant>,
    frame_began: Option<Instant>,
    exit_status: Arc<AtomicU8>,
    icon: Option<egui::TextureHandle>,
    pending_commands: Vec<Command>,
    /// When the last frame was drawn (read by the engine's waker).
    last_frame: Arc<FrameClock>,
    /// Messages from helper threads (e.g. "cannot open the folder") for the notice line.
    background_notices: flume::Sender<String>,
    background_notices_rx: flume::Receiver<String>,
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
        let frame_stats = FrameStats::from_env(Instant::now());
        let mut app = App::with_settings(&cc.egui_ctx, settings, launch, frame_stats);
        app.exit_status = exit_status;
        app
    }

    /// An app for tests: `workers` engine threads, these settings, no command line.
    pub fn new_for_test(ctx: &egui::Context, workers: usize, settings: Settings) -> App {
        let settings = Settings {
            workers: Some(workers),
            ..settings
        };
        App::with_settings(ctx, settings, LaunchArgs::default(), None)
    }

    /// An app with explicit settings and command line (no storage).
    pub fn with_settings(
        ctx: &egui::Context,
        settings: Settings,
        launch: LaunchArgs,
        frame_stats: Option<FrameStats>,
    ) -> App {
        view::theme::apply(ctx);
        let repaint_ctx = ctx.clone();
        let waker: Waker = Arc::new(move || repaint_ctx.request_repaint());
        let engine = Engine::new(settings.worker_count());
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
        let icon = view::theme::load_icon_texture(ctx);
        let (background_notices, background_notices_rx) =
            flume::bounded(BACKGROUND_NOTICE_CAPACITY);
        let mut app = App {
            engine,
            state: UiState::new(settings),
            measurer: Measurer::start(Arc::clone(&waker)),
            strips: StripLoader::start(Arc::clone(&waker)),
            dialogs: DialogRunner::new(Arc::clone(&waker)),
            frame_stats,
            screenshot,
            launch,
            launched: false,
            first_progress_at: None,
            window_title: String::new(),
            title_active_jobs: 0,
            title_updated_at: None,
            frame_began: None,
            exit_status: Arc::new(AtomicU8::new(0)),
            icon,
            pending_commands: Vec::new(),
            last_frame,
            background_notices,
            background_notices_rx,
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
            Command::OpenFolder(folder) => {
                open_folder(
                    folder,
                    self.background_notices.clone(),
                    Arc::clone(&self.waker),
                );
            }
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
        }
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
            let report = row.report.as_ref();
            let outputs = report.map(|r| r.outputs.clone()).unwrap_or_default();
            if row.kind == JobKind::Thumbs && !outputs.is_empty() {
                let id = row.id;
                let shown: Vec<PathBuf> =
                    outputs.iter().take(STRIP_MAX_THUMBNAILS).cloned().collect();
                let asked = shown.len();
                let accepted = self.strips.request(id, shown);
                if let Some(row) = self.state.queue.row_mut(id) {
                    row.strip.pending = if accepted { asked } else { 0 };
                    row.strip.not_shown = outputs.len() - if accepted { asked } else { 0 };
                }
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
            row.strip.pending = row.strip.pending.saturating_sub(1);
            match strip_image.image {
                Ok(image) => {
                    let name = format!("strip-{}-{}", strip_image.job.0, row.strip.textures.len());
                    row.strip.textures.push(ctx.load_texture(
                        name,
                        image,
                        egui::TextureOptions::LINEAR,
                    ));
                }
                Err(_) => row.strip.not_shown += 1,
            }
        }
        while let Ok(text) = self.background_notices_rx.try_recv() {
            self.state.notify(NoticeLevel::Warning, text);
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

        let typing = ctx.egui_wants_keyboard_input();
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
        let queue = &self.state.queue;
        let strips_loaded = queue.rows().iter().all(|r| r.strip.pending == 0);
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
        let title = self.state.queue.window_title();
        let active_jobs = self.state.queue.active_count();
        if title == self.window_title {
            return;
        }
        let jobs_changed = active_jobs != self.title_active_jobs;
        let due = self
            .title_updated_at
            .is_none_or(|t| t.elapsed() >= TITLE_UPDATE_INTERVAL);
        if jobs_changed || due {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.window_title = title;
            self.title_active_jobs = active_jobs;
            self.title_updated_at = Some(Instant::now());
        }
    }
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.frame_began = Some(Instant::now());
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

/// Shows a folder in the file manager, on a helper thread (opening may wait on a process); a
/// failure comes back as a notice.
fn open_folder(folder: PathBuf, notices: flume::Sender<String>, waker: Waker) {
    let spawned = std::thread::Builder::new()
        .name("shrinkwrap-open-folder".to_owned())
        .spawn(move || {
            if let Err(err) = opener::open(&folder) {
                let _ = notices.try_send(format!(
                    "Cannot open {} in the file manager: {}.",
                    folder.display(),
                    open_error_text(err)
                ));
                waker();
            }
        });
    if let Err(err) = spawned {
        eprintln!("shrinkwrap: cannot open the folder: {err}");
    }
}

/// Why the file manager could not be opened, in the user's terms (the opener crate's own text is
/// "IO error" or a command line).
fn open_error_text(err: opener::OpenError) -> String {
    match err {
        opener::OpenError::Io(e) => crate::engine::IoCause::of(e).to_string(),
        opener::OpenError::Spawn { cmds, .. } => {
            format!("no file manager could be started (tried {cmds})")
        }
        opener::OpenError::ExitStatus { cmd, stderr, .. } => {
            let first_line = stderr.lines().next().unwrap_or_default().trim().to_owned();
            if first_line.is_empty() {
                format!("{cmd} reported a failure")
            } else {
                format!("{cmd} reported: {first_line}")
            }
        }
        other => other.to_string(),
    }
}
