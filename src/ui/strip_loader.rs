//! Loads the thumbnails a finished job made, for the strip under its row: decoding and scaling
//! happen on the `shrinkwrap-strip` thread; the frame only uploads the ready [`ColorImage`]s as
//! textures.
//!
//! Owns: the loader thread and its bounded channels.
//! Must not touch: the frame code's thread with any file I/O or decoding; textures (the window
//! makes them from what this sends).

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui::ColorImage;

use crate::engine::JobId;

/// Long side of a strip image, in pixels (enough for the strip's height on a 2x screen).
pub const STRIP_IMAGE_SIDE_PX: u32 = 160;
/// Capacity of the request and result channels.
const STRIP_CHANNEL_CAPACITY: usize = 64;

/// One decoded thumbnail (or the cause it could not be shown).
pub struct StripImage {
    pub job: JobId,
    /// Its place among the job's outputs (the order the strip shows).
    pub index: usize,
    pub path: PathBuf,
    pub image: Result<ColorImage, String>,
}

struct StripRequest {
    job: JobId,
    /// The place of `paths[0]` among the job's outputs.
    first_index: usize,
    paths: Vec<PathBuf>,
}

/// The background decoder of strip images.
pub struct StripLoader {
    requests: flume::Sender<StripRequest>,
    results: flume::Receiver<StripImage>,
}

impl StripLoader {
    /// Starts the `shrinkwrap-strip` thread; `waker` is called after each decoded image.
    pub fn start(waker: Arc<dyn Fn() + Send + Sync>) -> StripLoader {
        let (requests, request_rx) = flume::bounded::<StripRequest>(STRIP_CHANNEL_CAPACITY);
        let (result_tx, results) = flume::bounded::<StripImage>(STRIP_CHANNEL_CAPACITY);
        let spawned = std::thread::Builder::new()
            .name("shrinkwrap-strip".to_owned())
            .spawn(move || {
                for request in request_rx.iter() {
                    for (offset, path) in request.paths.into_iter().enumerate() {
                        let image = load_strip_image(&path);
                        if result_tx
                            .send(StripImage {
                                job: request.job,
                                index: request.first_index + offset,
                                path,
                                image,
                            })
                            .is_err()
                        {
                            return;
                        }
                        waker();
                    }
                }
            });
        if let Err(err) = spawned {
            eprintln!("shrinkwrap: could not start the thumbnail strip thread: {err}");
        }
        StripLoader { requests, results }
    }

    /// Asks for the images of `paths`, the job's outputs from `first_index` on, without
    /// blocking; returns false when the loader is busy with too many requests (those stay
    /// unasked and can be asked again).
    pub fn request(&self, job: JobId, first_index: usize, paths: Vec<PathBuf>) -> bool {
        self.requests
            .try_send(StripRequest {
                job,
                first_index,
                paths,
            })
            .is_ok()
    }

    /// An image ready now (never blocks).
    pub fn try_recv(&self) -> Option<StripImage> {
        self.results.try_recv().ok()
    }
}

/// Decodes an image file and scales it to fit the strip.
pub fn load_strip_image(path: &std::path::Path) -> Result<ColorImage, String> {
    let image = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| e.to_string())?
        .decode()
        .map_err(|e| e.to_string())?;
    let image = if image.width() > STRIP_IMAGE_SIDE_PX || image.height() > STRIP_IMAGE_SIDE_PX {
        image.thumbnail(STRIP_IMAGE_SIDE_PX, STRIP_IMAGE_SIDE_PX)
    } else {
        image
    };
    let rgba = image.to_rgba8();
    let size = [rgba.width() as usize, rgba.height() as usize];
    Ok(ColorImage::from_rgba_unmultiplied(size, rgba.as_raw()))
}
