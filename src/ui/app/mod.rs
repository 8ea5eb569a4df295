//! The eframe app: owns the engine and the helper threads, feeds their news into [`UiState`]
//! once a frame, asks the views to draw, and applies the [`Command`]s they emit.
//!
//! Split by concern:
//! - this module: [`App`] and [`AppOptions`], building the app, the accessors tests read, and
//!   the `eframe::App` glue (one frame: logic, drawing, commands; saving the settings);
//! - [`frame`]: the per-frame logic (engine events, helper-thread news, drops and shortcuts,
//!   the plan preview's debounce, the title, noticing that the person is not looking when jobs
//!   end, `--screenshot`);
//! - [`commands`]: turning each [`Command`] into state changes and engine calls;
//! - [`jobs`]: what Start submits (after the kind's questions), job control, queue order, Retry
//!   and Run again, unfinished jobs, output images and problem lists;
//! - [`workflows`]: "Copy as command", "Save as job file", opening job files, a form's
//!   chained job;
//! - [`watch`]: "Keep watching" on a card (its watch's news, its jobs, what they made);
//! - [`prompts`]: a kind's questions and what its answers ask for, and quitting (the question
//!   asked while jobs run, `--quit-when-done`, the end of quitting).
//!
//! Owns: [`App`]. Must not touch: anything blocking in a frame (no file I/O, no waiting on a
//! worker or a dialog: all of that lives on the helper threads), the engine's internals (only
//! [`WindowEngine`]), what a kind does (its module in `kinds`).

mod commands;
mod frame;
mod jobs;
mod prompts;
mod watch;
mod workflows;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eframe::egui;

use crate::engine::Engine;

use super::args::LaunchArgs;
use super::dialogs::DialogRunner;
use super::engine::WindowEngine;
use super::export::Exporter;
use super::frame_stats::FrameStats;
use super::helper::Waker;
use super::inputs::{InputList, Measurer};
use super::job_files::{JobFiles, is_job_file};
use super::launcher::{self, Launcher};
use super::notify::{DesktopNotification, Finishes, Notifier};
use super::presets::PresetThread;
use super::queue::Queue;
use super::screenshot::Screenshot;
use super::settings::Settings;
use super::state::{Command, UiState};
use super::strip_loader::StripLoader;
use super::unfinished::{JournalThreads, ListStatus};
use super::view;
use super::watching::Watches;

/// How long quitting waits for cancelled jobs to remove their partial files before closing
/// anyway (the engine's drop waits for them too).
const QUIT_CANCEL_GRACE: Duration = Duration::from_secs(10);
/// How often the window repaints while it waits for something that sends no wake-up.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The shortest time between a frame and the next one caused by job progress (at most about
/// 15 frames a second while jobs run).
const PROGRESS_REPAINT_INTERVAL: Duration = Duration::from_millis(66);

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
    /// Where the user's presets are kept (`None`: the default config folder).
    pub config_dir: Option<PathBuf>,
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
            config_dir: None,
        }
    }

    /// Tests: journals in `state_dir` (`None`: none), notifications recorded only.
    pub fn test(state_dir: Option<PathBuf>) -> AppOptions {
        AppOptions {
            frame_stats: None,
            state_dir,
            desktop_notifications: false,
            opener: OsString::from(launcher::DEFAULT_OPENER),
            config_dir: None,
        }
    }
}

/// The helper threads' ends the app holds.
struct Helpers {
    measurer: Measurer,
    strips: StripLoader,
    dialogs: DialogRunner,
    launcher: Launcher,
    journals: JournalThreads,
    exporter: Exporter,
    notifier: Notifier,
    job_files: JobFiles,
    presets: PresetThread,
    watches: Watches,
}

/// What the app was started with, and where `--screenshot` and `--quit-when-done` stand.
struct Launch {
    args: LaunchArgs,
    /// The job queued from the command line has been submitted.
    launched: bool,
    screenshot: Option<Screenshot>,
    /// When a job first showed progress (for `--screenshot`).
    first_progress_at: Option<Instant>,
    exit_status: Arc<AtomicU8>,
}

/// The window title and whether the person sees the window.
#[derive(Default)]
struct Title {
    text: String,
    /// Active and paused jobs, and time, at the last title change.
    active_jobs: (usize, usize),
    updated_at: Option<Instant>,
    /// The title shows how jobs ended (until the window is focused).
    showed_outcome: bool,
    /// Jobs that ended while the window was unfocused or minimized.
    finishes: Finishes,
    /// The window is focused and not minimized (as of this frame).
    looking: bool,
}

/// The desktop window's app.
pub struct App {
    engine: Box<dyn WindowEngine>,
    state: UiState,
    helpers: Helpers,
    launch: Launch,
    title: Title,
    frame_stats: Option<FrameStats>,
    /// When the frame's logic began (for the frame statistics).
    frame_began: Option<Instant>,
    /// When the last frame was drawn (read by the engine's waker).
    last_frame: Arc<FrameClock>,
    icon: Option<egui::TextureHandle>,
    pending_commands: Vec<Command>,
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
        let settings = Settings::load(cc.storage);
        let options = AppOptions::desktop(&launch);
        let mut app = App::with_options(&cc.egui_ctx, settings, launch, options);
        app.launch.exit_status = exit_status;
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

    /// An app with explicit settings, command line and options (no storage), over a real
    /// engine.
    pub fn with_options(
        ctx: &egui::Context,
        settings: Settings,
        launch: LaunchArgs,
        options: AppOptions,
    ) -> App {
        let engine = Engine::with_state_dir(settings.worker_count(), options.state_dir.clone());
        App::with_engine(ctx, settings, launch, options, Box::new(engine))
    }

    /// An app over `engine` (tests give a fake one where real jobs are not the point).
    pub fn with_engine(
        ctx: &egui::Context,
        settings: Settings,
        launch: LaunchArgs,
        options: AppOptions,
        engine: Box<dyn WindowEngine>,
    ) -> App {
        view::theme::apply(ctx);
        let repaint_ctx = ctx.clone();
        let waker: Waker = Arc::new(move || repaint_ctx.request_repaint());
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
        let mut helpers = Helpers {
            measurer: Measurer::start(Arc::clone(&waker)),
            strips: StripLoader::start(Arc::clone(&waker)),
            dialogs: DialogRunner::new(Arc::clone(&waker)),
            launcher: Launcher::new(options.opener.clone(), Arc::clone(&waker)),
            journals: JournalThreads::new(Arc::clone(&waker)),
            exporter: Exporter::new(Arc::clone(&waker)),
            job_files: JobFiles::new(Arc::clone(&waker)),
            presets: PresetThread::new(options.config_dir.clone(), Arc::clone(&waker)),
            watches: Watches::new(Arc::clone(&waker)),
            notifier: Notifier::new(options.desktop_notifications),
        };
        if let Some(mb) = settings.memory_mb {
            engine.set_memory_budget(Some(mb.saturating_mul(1_000_000)));
        }
        let mut state = UiState::new(settings);
        if let Some(dir) = engine.state_dir().map(PathBuf::from)
            && helpers.journals.list(dir)
        {
            state.unfinished.status = ListStatus::Listing;
        }
        let mut app = App {
            engine,
            state,
            helpers,
            launch: Launch {
                args: launch,
                launched: false,
                screenshot,
                first_progress_at: None,
                exit_status: Arc::new(AtomicU8::new(0)),
            },
            title: Title {
                looking: true,
                ..Title::default()
            },
            frame_stats: options.frame_stats,
            frame_began: None,
            last_frame,
            icon: view::theme::load_icon_texture(ctx),
            pending_commands: Vec::new(),
            start_blocked_key: None,
        };
        app.queue_launch_job(ctx);
        app
    }

    /// Adds the command line's paths and queues its job (paused with `--paused`). Without a
    /// job to queue, the `.toml` paths are job files: their jobs are queued.
    fn queue_launch_job(&mut self, ctx: &egui::Context) {
        let mut paths = self.launch.args.paths.clone();
        if self.launch.args.queue_at_start.is_none() {
            let (job_files, others): (Vec<PathBuf>, Vec<PathBuf>) =
                paths.into_iter().partition(|p| is_job_file(p));
            paths = others;
            if !job_files.is_empty() {
                self.apply(ctx, Command::OpenJobFiles(job_files));
            }
        }
        if !paths.is_empty() {
            self.apply(ctx, Command::AddPaths(paths));
        }
        if let Some(kind) = self.launch.args.queue_at_start {
            self.state.settings.kind = kind;
            self.apply(ctx, Command::Start(kind));
            self.launch.launched = true;
            if self.launch.args.paused {
                for id in self.state.queue.rows().iter().map(|r| r.id) {
                    self.engine.pause(id);
                }
            }
        }
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

    pub fn engine(&self) -> &dyn WindowEngine {
        self.engine.as_ref()
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
        self.helpers.notifier.sent()
    }

    /// The exit status the window leaves with (`--quit-when-done`: the queue's, like the command
    /// line's).
    pub fn exit_status(&self) -> u8 {
        self.launch.exit_status.load(Ordering::Relaxed)
    }

    /// The window title as last set.
    pub fn window_title(&self) -> &str {
        &self.title.text
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
        // Jobs starting fold the plan: the queue gets the space.
        let active = self.state.queue.any_active();
        if active && !self.state.queue_was_active {
            self.state.plan_auto_folded = true;
        }
        self.state.queue_was_active = active;
        self.handle_input(ctx);
        if let Some(kind) = self.state.pending_start
            && !self.state.inputs.measuring()
        {
            self.start(kind);
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
        if self.launch.screenshot.is_some() {
            return;
        }
        self.state.settings.save(storage);
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
