//! Loads the images a finished job made, for the strip under its card: decoding and scaling
//! happen on the `shrinkwrap-strip` helper thread; the frame only uploads the ready
//! [`ColorImage`]s as textures.
//!
//! Owns: the loader's helper thread and its requests (one image each).
//! Must not touch: the frame code's thread with any file I/O or decoding; textures (the window
//! makes them from what this sends).

use std::path::PathBuf;

use eframe::egui::ColorImage;

use crate::engine::JobId;

use super::helper::{Helper, Reply, Waker, Work};

/// Long side of a strip image, in pixels (enough for the strip's height on a 2x screen).
pub const STRIP_IMAGE_SIDE_PX: u32 = 160;
/// Capacity of the request and result channels.
const STRIP_CHANNEL_CAPACITY: usize = 64;

/// One decoded image (or the cause it could not be shown).
pub struct StripImage {
    pub job: JobId,
    /// Its place among the job's outputs (the order the strip shows).
    pub index: usize,
    pub path: PathBuf,
    pub image: Result<ColorImage, String>,
}

/// One image to load.
pub struct StripRequest {
    pub job: JobId,
    /// Its place among the job's outputs.
    pub index: usize,
    pub path: PathBuf,
}

/// Decodes on the helper thread.
struct StripWork;

impl Work for StripWork {
    type Request = StripRequest;
    type Result = StripImage;

    fn run(&mut self, request: &StripRequest, reply: &Reply<StripImage>) {
        if reply.stopping() {
            return;
        }
        reply.send(StripImage {
            job: request.job,
            index: request.index,
            path: request.path.clone(),
            image: load_strip_image(&request.path),
        });
    }

    fn panicked(&mut self, request: &StripRequest, message: &str, reply: &Reply<StripImage>) {
        reply.send(StripImage {
            job: request.job,
            index: request.index,
            path: request.path.clone(),
            image: Err(message.to_owned()),
        });
    }
}

/// The background decoder of strip images.
pub struct StripLoader {
    helper: Option<Helper<StripWork>>,
}

impl StripLoader {
    /// Starts the `shrinkwrap-strip` thread; `waker` is called after each decoded image.
    pub fn start(waker: Waker) -> StripLoader {
        let helper = Helper::start("shrinkwrap-strip", STRIP_CHANNEL_CAPACITY, waker, StripWork)
            .map_err(|err| {
                eprintln!("shrinkwrap: could not start the thumbnail strip thread: {err}")
            })
            .ok();
        StripLoader { helper }
    }

    /// Asks for one image without blocking; returns false when the loader is busy with too many
    /// requests (that one stays unasked and can be asked again).
    pub fn request(&self, request: StripRequest) -> bool {
        self.helper
            .as_ref()
            .is_some_and(|helper| helper.try_send(request).is_ok())
    }

    /// An image ready now (never blocks).
    pub fn try_recv(&self) -> Option<StripImage> {
        self.helper.as_ref()?.try_recv()
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
