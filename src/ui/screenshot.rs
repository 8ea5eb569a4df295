//! `--screenshot FILE.png`: once the window shows what it was opened with, grab the real
//! rendered frame (`ViewportCommand::Screenshot`), write it as PNG on a background thread, and
//! close the window.
//!
//! Owns: the [`Screenshot`] state machine and the `shrinkwrap-screenshot` writer thread.
//! Must not touch: the frame code's thread with encoding or file I/O; what "ready" means (the
//! window decides and tells [`Screenshot::poll`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui::{self, ColorImage};

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

pub struct Screenshot {
    path: PathBuf,
    phase: Phase,
    started: Instant,
    images_tx: flume::Sender<Arc<ColorImage>>,
    written_rx: flume::Receiver<Result<(), String>>,
}

impl Screenshot {
    /// Starts the writer thread for `path`; `waker` is called once the file is written.
    pub fn new(path: PathBuf, waker: Arc<dyn Fn() + Send + Sync>) -> Screenshot {
        let (images_tx, images_rx) = flume::bounded::<Arc<ColorImage>>(1);
        let (written_tx, written_rx) = flume::bounded::<Result<(), String>>(1);
        let thread_path = path.clone();
        let spawned = std::thread::Builder::new()
            .name("shrinkwrap-screenshot".to_owned())
            .spawn(move || {
                if let Ok(image) = images_rx.recv() {
                    let _ = written_tx.send(write_png(&thread_path, &image));
                    waker();
                }
            });
        let phase = match spawned {
            Ok(_) => Phase::Waiting { ready_frames: 0 },
            Err(err) => {
                Phase::Written(Err(format!("could not start the screenshot writer: {err}")))
            }
        };
        Screenshot {
            path,
            phase,
            started: Instant::now(),
            images_tx,
            written_rx,
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
                    let images = self.images_tx.clone();
                    ctx.request_screenshot(move |image| {
                        let _ = images.try_send(image);
                    });
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
                if let Ok(result) = self.written_rx.try_recv() {
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
