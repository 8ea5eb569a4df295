//! Making thumbnails: bytes of an image file in, bytes of encoded thumbnails out.
//!
//! Owns: the entry points that chain decoding (`decode`: format detection, limits, JPEG
//! shrink-on-load, the damaged-JPEG rules) with the post-decode pipeline (`render`: Lanczos3
//! resampling, colour, EXIF orientation, metadata, alpha and encoding), and the per-worker state
//! both keep between images. Pure computation: no file system, no threads.
//! Must not touch: files, job state, any front end.

use std::cell::RefCell;

use crate::engine::kinds::thumbs::color::ColorMode;
use crate::engine::kinds::thumbs::decode::{DecodeScratch, Decoded, decode};
pub use crate::engine::kinds::thumbs::decode::{
    DecodeWarning, MAX_DECODE_ALLOC_BYTES, MAX_FILE_BYTES, MAX_PIXELS, detect_format,
};
use crate::engine::kinds::thumbs::metadata::MetadataPolicy;
use crate::engine::kinds::thumbs::render::{
    OutputRequest, RenderScratch, Rendered, decode_long_side_px, render,
};
use crate::engine::kinds::thumbs::spec::{Fit, ThumbFormat, ThumbSize};
use crate::engine::model::error::ItemError;

/// The three settings of [`make_thumbnail`]: a square box, a format and its quality.
#[derive(Debug, Clone, Copy)]
pub struct ThumbParams {
    /// The side of the square box, in pixels.
    pub max_side_px: u32,
    /// The output format.
    pub format: ThumbFormat,
    /// JPEG and lossy WebP quality, 1-100.
    pub quality: u8,
}

/// A finished thumbnail.
pub struct Thumbnail {
    /// The whole output file.
    pub encoded: Vec<u8>,
    /// Width after orientation, in pixels.
    pub width: u32,
    /// Height after orientation, in pixels.
    pub height: u32,
    /// Non-fatal findings of the decoder (e.g. a JPEG without its end marker), for the report.
    pub warnings: Vec<DecodeWarning>,
}

/// File name extensions (lower case, without the dot) that claim to be one of the images we
/// read. JPEG XL, HEIC/HEIF and AVIF are listed in every build: a build without their decoder
/// reports such files as images it cannot read.
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "bmp", "dib", "tif", "tiff", "jxl", "heic",
    "heif", "hif", "avif",
];

/// File name extensions that claim to be one of the images we read ([`IMAGE_EXTENSIONS`]).
pub fn has_image_extension(name: &str) -> bool {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    IMAGE_EXTENSIONS.contains(&ext.as_str())
}

/// Decodes `data`, fits it in a `max_side_px` square (never upscaling), applies the EXIF
/// orientation and encodes it, with the defaults of [`OutputRequest::from_params`] (metadata
/// stripped, colours converted to sRGB, lossy WebP). Keeps its decoder and render state in
/// thread-locals, so each worker thread builds them once.
pub fn make_thumbnail(data: &[u8], params: &ThumbParams) -> Result<Thumbnail, ItemError> {
    let made = make_thumbnails_on_this_thread(data, &[OutputRequest::from_params(params)])?;
    let r = made
        .outputs
        .into_iter()
        .next()
        .ok_or_else(|| ItemError::Internal("no thumbnail rendered".to_owned()))?;
    Ok(Thumbnail {
        encoded: r.encoded,
        width: r.width_px,
        height: r.height_px,
        warnings: made.warnings,
    })
}

/// Per-worker state for [`make_thumbnails`]: decoder and render scratch.
#[derive(Default)]
pub struct ThumbScratch {
    /// The decoder's state (libjpeg's decompressor, the pixel buffer).
    pub decode: DecodeScratch,
    /// The render's state (resizer, buffers, colour transforms, encoders).
    pub render: RenderScratch,
}

thread_local! {
    static WORKER_SCRATCH: RefCell<ThumbScratch> = RefCell::new(ThumbScratch::default());
}

/// [`make_thumbnails`] with this worker thread's reusable decoder and render state.
pub fn make_thumbnails_on_this_thread(
    data: &[u8],
    requests: &[OutputRequest],
) -> Result<Thumbnails, ItemError> {
    WORKER_SCRATCH
        .try_with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => make_thumbnails(data, requests, &mut scratch),
            Err(_) => make_thumbnails(data, requests, &mut ThumbScratch::default()),
        })
        .unwrap_or_else(|_| make_thumbnails(data, requests, &mut ThumbScratch::default()))
}

/// The thumbnails of one image file, in the order of the requests, and what the decoder noted.
pub struct Thumbnails {
    /// One thumbnail per request, in the order of the requests.
    pub outputs: Vec<Rendered>,
    /// Non-fatal findings of the decoder, for the report.
    pub warnings: Vec<DecodeWarning>,
}

/// Every requested thumbnail of one image file, decoded once (at twice the largest size).
/// Errors: the decoder's (`NotAnImage`, `Empty`, `BadImage`, `Damaged`, `TooLarge`) and the
/// encoders' (`Encode`).
pub fn make_thumbnails(
    data: &[u8],
    requests: &[OutputRequest],
    scratch: &mut ThumbScratch,
) -> Result<Thumbnails, ItemError> {
    // Filling or stretching to a box needs the image's shape to know how large to decode.
    let source_px = if requests.iter().any(|r| r.fit != Fit::Contain) {
        stored_size_px(data)
    } else {
        None
    };
    let long_side_px = decode_long_side_px(requests, source_px);
    let mut decoded = decode(data, long_side_px, &mut scratch.decode)?;
    let outputs = render(&mut decoded, requests, &mut scratch.render);
    let Decoded {
        image, warnings, ..
    } = decoded;
    // The pixel buffer goes back to the decoder for the next image.
    scratch.decode.recycle(image);
    Ok(Thumbnails {
        outputs: outputs?,
        warnings,
    })
}

/// Width and height as stored, from the file's header alone (no pixels decoded); `None` when
/// the header cannot be read here (the decoder then says why, or decodes at full size).
fn stored_size_px(data: &[u8]) -> Option<(u32, u32)> {
    image::ImageReader::new(std::io::Cursor::new(data))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}

impl OutputRequest {
    /// The request the three-field [`ThumbParams`] stand for: metadata stripped, colours
    /// converted to sRGB, WebP lossy at `quality`.
    pub fn from_params(params: &ThumbParams) -> Self {
        OutputRequest {
            size: ThumbSize::square(params.max_side_px),
            fit: Fit::Contain,
            upscale: false,
            format: params.format,
            quality: params.quality,
            lossless: false,
            metadata: MetadataPolicy::Strip,
            color: ColorMode::ConvertToSrgb,
        }
    }
}

pub use super::render::fit_size;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_never_upscales_and_keeps_aspect() {
        assert_eq!(fit_size(100, 50, 256), (100, 50));
        assert_eq!(fit_size(1000, 500, 256), (256, 128));
        assert_eq!(fit_size(500, 1000, 256), (128, 256));
        assert_eq!(fit_size(10_000, 1, 256), (256, 1));
    }
}
