//! `--screenshot FILE.png`: once the window shows what it was opened with, grab the real
//! rendered frame (`ViewportCommand::Screenshot`), write it as PNG on the `shrinkwrap-screenshot`
//! helper thread, and close the window.
//!
//! Owns: the [`Screenshot`] state machine and its writer thread.
//! Must not touch: the frame code's thread with encoding or file I/O; what "ready" means (the
//! window decides and tells [`Screenshot::poll`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui::{self, ColorImage};

use super::helper::{Helper, Reply, Waker, Work};

/// Frames the window must have been ready in a row before it is captured (layout settles).
const READY_FRAMES_BEFORE_CAPTURE: u32 = 3;
/// Capture anyway after this long, whatever the window shows.
const CAPTURE_DEADLINE: Duration = Duration::from_secs(30);
/// How often the window repaints while it waits to be captured.
const WAIT_REPAINT_INTERVAL: Duration = Duration::from_millis(50);

enum Phase {
    /// Waiting until the window is ready.
    Waiting { ready_frames: u32 },
    /// Capture requested; the image goes to the writer thread.
    Capturing,
    /// The writer answered: `Ok(())` or why it failed.
    Written(Result<(), String>),
}

/// What the window must do after [`Screenshot::poll`].
#[derive(Debug, PartialEq, Eq)]
pub enum ScreenshotStep {
    /// Nothing yet.
    Wait,
    /// The PNG was written (or failed, with the cause): close the window.
    Finished(Result<(), String>),
}

/// Writes the captured frame on the helper thread.
struct PngWork {
    path: PathBuf,
}

impl Work for PngWork {
    type Request = Arc<ColorImage>;
    type Result = Result<(), String>;

    fn run(&mut self, image: &Arc<ColorImage>, reply: &Reply<Self::Result>) {
        reply.send(write_png(&self.path, image));
    }

    fn panicked(&mut self, _: &Arc<ColorImage>, message: &str, reply: &Reply<Self::Result>) {
        reply.send(Err(format!(
            "cannot write {}: {message}",
            self.path.display()
        )));
    }
}

pub struct Screenshot {
    path: PathBuf,
    phase: Phase,
    started: Instant,
    writer: Option<Helper<PngWork>>,
}

impl Screenshot {
    /// Starts the writer thread for `path`; `waker` is called once the file is written.
    pub fn new(path: PathBuf, waker: Waker) -> Screenshot {
        let work = PngWork { path: path.clone() };
        let (writer, phase) = match Helper::start("shrinkwrap-screenshot", 1, waker, work) {
            Ok(writer) => (Some(writer), Phase::Waiting { ready_frames: 0 }),
            Err(err) => (
                None,
                Phase::Written(Err(format!("could not start the screenshot writer: {err}"))),
            ),
        };
        Screenshot {
            path,
            phase,
            started: Instant::now(),
            writer,
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Called once a frame with whether the window shows what it should.
    pub fn poll(&mut self, ctx: &egui::Context, ready: bool) -> ScreenshotStep {
        match &mut self.phase {
            Phase::Waiting { ready_frames } => {
                *ready_frames = if ready { *ready_frames + 1 } else { 0 };
                if *ready_frames >= READY_FRAMES_BEFORE_CAPTURE
                    || self.started.elapsed() > CAPTURE_DEADLINE
                {
                    if let Some(images) = self.writer.as_ref().and_then(Helper::requests) {
                        ctx.request_screenshot(move |image| {
                            let _ = images.try_send(image);
                        });
                    }
                    ctx.request_repaint();
                    self.phase = Phase::Capturing;
                } else if ready {
                    ctx.request_repaint();
                } else {
                    ctx.request_repaint_after(WAIT_REPAINT_INTERVAL);
                }
                ScreenshotStep::Wait
            }
            Phase::Capturing => {
                if let Some(result) = self.writer.as_ref().and_then(Helper::try_recv) {
                    self.phase = Phase::Written(result.clone());
                    ScreenshotStep::Finished(result)
                } else {
                    ScreenshotStep::Wait
                }
            }
            Phase::Written(result) => ScreenshotStep::Finished(result.clone()),
        }
    }
}

fn write_png(path: &std::path::Path, image: &ColorImage) -> Result<(), String> {
    let [width, height] = image.size;
    let mut rgba = Vec::with_capacity(width * height * 4);
    for pixel in &image.pixels {
        rgba.extend_from_slice(&pixel.to_srgba_unmultiplied());
    }
    let width = u32::try_from(width).map_err(|e| e.to_string())?;
    let height = u32::try_from(height).map_err(|e| e.to_string())?;
    image::save_buffer_with_format(
        path,
        &rgba,
        width,
        height,
        image::ExtendedColorType::Rgba8,
        image::ImageFormat::Png,
    )
    .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
