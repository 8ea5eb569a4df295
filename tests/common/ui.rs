//! Helpers the window tests share: a window over the real or a fake engine, settling and
//! waiting with a deadline that guards against hangs (never a performance check), dropping files
//! on the window, and photos to drop.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use shrinkwrap::ui::settings::Settings;
use shrinkwrap::ui::{App, AppOptions, LaunchArgs};

use super::fake_engine::FakeEngine;

/// How long one wait may take before the test fails: a guard against a hang, not a performance
/// check (real-engine tests run side by side on two cores, each making images; one wait has
/// taken more than two minutes there).
pub const WAIT_DEADLINE: Duration = Duration::from_secs(600);

/// The window's size in the tests, in points.
const WINDOW_SIZE: egui::Vec2 = egui::vec2(1180.0, 760.0);

/// Runs frames until the window stops asking for repaints. Unlike `Harness::run` it allows as
/// many frames as that takes within [`WAIT_DEADLINE`] of real time: the plan preview and the
/// engine's news wake the window on real-time deadlines, and a loaded machine (CI) needs more
/// frames to see them settle. A window that never settles (repaints with nothing going on)
/// still fails.
pub trait Settle {
    /// See the trait.
    fn settle(&mut self);
}

impl Settle for Harness<'static, App> {
    fn settle(&mut self) {
        let deadline = Instant::now() + WAIT_DEADLINE;
        while self.run_ok().is_none() {
            assert!(
                Instant::now() < deadline,
                "the window kept asking for repaints"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A window over a real engine of `workers` threads (not yet laid out).
pub fn harness(workers: usize, settings: Settings) -> Harness<'static, App> {
    Harness::builder()
        .with_size(WINDOW_SIZE)
        .build_eframe(move |cc| App::new_for_test(&cc.egui_ctx, workers, settings))
}

/// A window over a fake engine of two workers, laid out: a person sees the window before
/// touching it, and its first frames lay it out (a form's rows measure themselves in the first
/// one), so no click lands on where a widget was before that.
pub fn fake_harness_with(
    settings: Settings,
    launch: LaunchArgs,
    options: AppOptions,
) -> (Harness<'static, App>, FakeEngine) {
    let fake = FakeEngine::new(2);
    let engine = fake.clone();
    let settings = Settings {
        workers: Some(2),
        ..settings
    };
    let mut harness = Harness::builder()
        .with_size(WINDOW_SIZE)
        .build_eframe(move |cc| {
            App::with_engine(&cc.egui_ctx, settings, launch, options, Box::new(engine))
        });
    harness.settle();
    (harness, fake)
}

/// Steps frames until `done` holds, sleeping a little between frames (the engine and the helper
/// threads work in real time).
pub fn step_until(harness: &mut Harness<'static, App>, what: &str, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + WAIT_DEADLINE;
    loop {
        harness.step();
        if done(harness.state()) {
            // One more frame so the window shows what the state says.
            harness.step();
            return;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[derive(Debug)]
struct DroppedPath(PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// Drops `path` on the window, as a file manager does.
pub fn drop_onto_window(harness: &mut Harness<'static, App>, path: &Path) {
    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(DroppedPath(path.to_path_buf())));
    harness.settle();
}

/// A JPEG of `width` x `height` with a pattern of its own for each `seed`.
pub fn jpeg_bytes(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let v = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ seed.wrapping_mul(31)) as u8;
        image::Rgb([v, v.wrapping_add(x as u8), v ^ (y as u8)])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}
