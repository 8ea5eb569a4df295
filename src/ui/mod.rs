//! The desktop window: an eframe/egui app over the engine that stays smooth while every core
//! is busy.
//!
//! The split follows "logic apart from drawing":
//! - [`app`]: the `eframe::App`; per frame it takes in engine events and helper-thread results,
//!   lets [`view`] draw [`state::UiState`], then applies the [`state::Command`]s the views emitted.
//! - [`kinds`]: everything that differs between job kinds, one module per kind, reached through
//!   one dispatch; the rest of the window reads the engine's description of a kind.
//! - [`state`], [`inputs`], [`queue`], [`settings`]: plain data and rules, no drawing.
//! - [`preview`]: the plan preview, a debounced dry run of exactly what Start would submit.
//! - [`view`]: drawing only.
//! - [`engine`]: the engine calls the window makes, as a trait (tests drive a fake).
//! - [`helper`]: the one kind of background thread; [`dialogs`], [`strip_loader`],
//!   [`screenshot`], [`frame_stats`], [`export`], [`job_files`], [`presets`], [`launcher`],
//!   [`notify`], [`unfinished`], [`watching`] and the measurer in [`inputs`] run on helpers, so that a frame never does
//!   file I/O or waits for anything.
//!
//! Owns: `src/ui/`. Must not touch: the engine's internals (only its public, non-blocking API),
//! the command line (`src/cli/`).

pub mod app;
pub mod args;
pub mod command;
pub mod dialogs;
pub mod engine;
pub mod export;
pub use crate::format;
pub mod frame_stats;
pub mod helper;
pub mod inputs;
pub mod job_files;
pub mod kind_store;
pub mod kinds;
pub mod launcher;
pub mod notify;
pub mod presets;
pub mod preview;
pub mod queue;
pub mod screenshot;
pub mod settings;
pub mod state;
pub mod strip_loader;
pub mod typed_path;
pub mod unfinished;
pub mod view;
pub mod watching;

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use eframe::egui;

pub use app::{App, AppOptions};
pub use args::LaunchArgs;
pub use engine::WindowEngine;
pub use settings::Settings;

/// The window's size when it first opens (and always in `--screenshot` mode), in points.
pub const INITIAL_WINDOW_SIZE: [f32; 2] = [1180.0, 760.0];
/// The smallest size the window can be made.
pub const MIN_WINDOW_SIZE: [f32; 2] = [860.0, 560.0];

/// Opens the window. `args` is the whole command line (program name first). Returns 0 when the
/// window was closed, or with `--quit-when-done` the queue's outcome (0 done, 1 per-file errors,
/// 2 failed, 130 cancelled); 2 for bad arguments or when no window can be opened.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let launch = match LaunchArgs::parse(args.get(1..).unwrap_or_default()) {
        Ok(launch) => launch,
        Err(message) => {
            eprintln!("shrinkwrap: {message}");
            eprintln!("{}", args::window_usage());
            eprintln!(
                "Run `shrinkwrap --help` for the command line ({}).",
                engine_kind_ids().join(", ")
            );
            return ExitCode::from(2);
        }
    };
    let screenshot_mode = launch.screenshot.is_some();
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Shrinkwrap")
        .with_app_id("shrinkwrap")
        .with_inner_size(INITIAL_WINDOW_SIZE)
        .with_min_inner_size(MIN_WINDOW_SIZE)
        .with_drag_and_drop(true);
    if let Some(icon) = view::theme::icon_data() {
        viewport = viewport.with_icon(Arc::new(icon));
    }
    let options = eframe::NativeOptions {
        viewport,
        // A screenshot shows the window at its default size, whatever was remembered.
        persist_window: !screenshot_mode,
        ..Default::default()
    };
    let exit_status = Arc::new(AtomicU8::new(0));
    let app_exit_status = Arc::clone(&exit_status);
    let result = eframe::run_native(
        "Shrinkwrap",
        options,
        Box::new(move |cc| Ok(Box::new(App::new(cc, launch, app_exit_status)))),
    );
    match result {
        Ok(()) => ExitCode::from(exit_status.load(Ordering::Relaxed)),
        Err(err) => {
            eprintln!("shrinkwrap: cannot open the window: {err}");
            let commands: Vec<String> = engine_kind_ids()
                .iter()
                .map(|id| format!("`shrinkwrap {id} ...`"))
                .collect();
            eprintln!(
                "Without a display, use {} (see --help).",
                commands.join(" or ")
            );
            ExitCode::from(2)
        }
    }
}

/// The command line's subcommands: one per kind the engine knows.
fn engine_kind_ids() -> Vec<&'static str> {
    crate::engine::KINDS.iter().map(|k| k.id).collect()
}
