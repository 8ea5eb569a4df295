//! Making one thumbnail: bytes of an image file in, bytes of an encoded thumbnail out.
//!
//! Owns: Lanczos3 resampling, EXIF orientation, alpha handling and encoding, on pixels that
//! `decode` produced (format detection, limits, JPEG shrink-on-load, the damaged-JPEG rules are
//! there). Pure computation: no file system, no threads.
//! Must not touch: files, job state, any front end.

use std::cell::RefCell;

use fast_image_resize as fr;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, RgbImage, RgbaImage};

use super::decode::{DecodeScratch, decode};
pub use super::decode::{
    DecodeWarning, MAX_DECODE_ALLOC_BYTES, MAX_FILE_BYTES, MAX_PIXELS, detect_format,
};
use super::error::ItemError;
use super::spec::ThumbFormat;

#[derive(Debug, Clone, Copy)]
pub struct ThumbParams {
    pub max_side_px: u32,
    pub format: ThumbFormat,
    pub quality: u8,
}

/// A finished thumbnail.
pub struct Thumbnail {
    pub encoded: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// Non-fatal findings of the decoder (e.g. a JPEG without its end marker), for the report.
    pub warnings: Vec<DecodeWarning>,
}

/// File name extensions that claim to be one of the images we read.
pub fn has_image_extension(name: &str) -> bool {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    matches!(
        ext.as_str(),
        "jpg" | "jpeg" | "jpe" | "jfif" | "png" | "webp" | "gif" | "bmp" | "dib" | "tif" | "tiff"
    )
}

thread_local! {
    /// Each worker thread keeps its decoder state (the libjpeg decompressor) between images.
    static DECODE_SCRATCH: RefCell<DecodeScratch> = RefCell::new(DecodeScratch::new());
}

/// Decodes `data` with this thread's reusable decoder state (a fresh one if it is unavailable,
/// e.g. while the thread is being torn down).
fn decode_on_this_thread(
    data: &[u8],
    min_long_side_px: u32,
) -> Result<super::decode::Decoded, ItemError> {
    DECODE_SCRATCH
        .try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => decode(data, min_long_side_px, &mut scratch),
            Err(_) => decode(data, min_long_side_px, &mut DecodeScratch::new()),
        })
        .unwrap_or_else(|_| decode(data, min_long_side_px, &mut DecodeScratch::new()))
}

/// Decodes `data`, fits it in a `max_side_px` square (never upscaling), applies the EXIF
/// orientation and encodes it. JPEGs are decoded at the smallest DCT scale that keeps the long
/// side at least twice the target (as Pillow's `reducing_gap=2`), then Lanczos3 does the rest.
pub fn make_thumbnail(data: &[u8], params: &ThumbParams) -> Result<Thumbnail, ItemError> {
    let decoded = decode_on_this_thread(data, params.max_side_px.saturating_mul(2))?;
    let mut thumb = resize_to_fit(decoded.image, params.max_side_px)?;
    thumb.apply_orientation(decoded.orientation);
    let (width, height) = (thumb.width(), thumb.height());
    let encoded = encode(thumb, params)?;
    Ok(Thumbnail {
        encoded,
        width,
        height,
        warnings: decoded.warnings,
    })
}

/// The size that fits `(w, h)` in a `max_side_px` square, never larger than the original.
pub fn fit_size(w: u32, h: u32, max_side_px: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= max_side_px || long == 0 {
        return (w, h);
    }
    let scale = f64::from(max_side_px) / f64::from(long);
    let tw = ((f64::from(w) * scale).round() as u32).clamp(1, max_side_px);
    let th = ((f64::from(h) * scale).round() as u32).clamp(1, max_side_px);
    (tw, th)
}

/// Lanczos3 down to the thumbnail size, as 8-bit RGB or RGBA.
fn resize_to_fit(image: DynamicImage, max_side_px: u32) -> Result<DynamicImage, ItemError> {
    let src = if image.color().has_alpha() {
        match image {
            DynamicImage::ImageRgba8(_) => image,
            other => DynamicImage::ImageRgba8(other.to_rgba8()),
        }
    } else {
        match image {
            DynamicImage::ImageRgb8(_) => image,
            other => DynamicImage::ImageRgb8(other.to_rgb8()),
        }
    };
    let (w, h) = (src.width(), src.height());
    let (tw, th) = fit_size(w, h, max_side_px);
    // The ratio is computed on the image as decoded; a shrink-on-load decode can be a pixel off.
    if (tw, th) == (w, h) {
        return Ok(src);
    }
    let mut resizer = fr::Resizer::new();
    // A large reduction first averages pixel blocks (a box filter, cheap) down to about twice the
    // target, then Lanczos3 does the last step: the quality of Lanczos3 all the way for a
    // fraction of its cost, as Pillow's reduce-then-resample.
    let src = if w.max(h) > tw.max(th).saturating_mul(PRE_REDUCE_FACTOR) {
        let (mw, mh) = (tw.saturating_mul(2).min(w), th.saturating_mul(2).min(h));
        resize_with(&mut resizer, &src, mw, mh, fr::FilterType::Box)?
    } else {
        src
    };
    resize_with(&mut resizer, &src, tw, th, fr::FilterType::Lanczos3)
}

/// A downscale is split in two steps beyond this ratio.
const PRE_REDUCE_FACTOR: u32 = 4;

fn resize_with(
    resizer: &mut fr::Resizer,
    src: &DynamicImage,
    w: u32,
    h: u32,
    filter: fr::FilterType,
) -> Result<DynamicImage, ItemError> {
    let mut dst = match src {
        DynamicImage::ImageRgba8(_) => DynamicImage::ImageRgba8(RgbaImage::new(w, h)),
        _ => DynamicImage::ImageRgb8(RgbImage::new(w, h)),
    };
    let options = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(filter));
    resizer
        .resize(src, &mut dst, &options)
        .map_err(|e| ItemError::Internal(format!("resize: {e}")))?;
    Ok(dst)
}

/// White under transparent pixels (JPEG has no alpha).
fn flatten_on_white(image: &RgbaImage) -> RgbImage {
    let mut out = RgbImage::new(image.width(), image.height());
    for (dst, src) in out.pixels_mut().zip(image.pixels()) {
        let a = u32::from(src[3]);
        for c in 0..3 {
            dst[c] = ((u32::from(src[c]) * a + 255 * (255 - a) + 127) / 255) as u8;
        }
    }
    out
}

fn encode(image: DynamicImage, params: &ThumbParams) -> Result<Vec<u8>, ItemError> {
    let mut out = Vec::new();
    let enc_err = |e: image::ImageError| ItemError::Encode(e.to_string());
    match params.format {
        ThumbFormat::Jpeg => {
            let rgb = match image {
                DynamicImage::ImageRgba8(rgba) => flatten_on_white(&rgba),
                other => other.to_rgb8(),
            };
            let encoder = JpegEncoder::new_with_quality(&mut out, params.quality.clamp(1, 100));
            rgb.write_with_encoder(encoder).map_err(enc_err)?;
        }
        ThumbFormat::Png => image
            .write_with_encoder(PngEncoder::new(&mut out))
            .map_err(enc_err)?,
        ThumbFormat::Webp => image
            .write_with_encoder(WebPEncoder::new_lossless(&mut out))
            .map_err(enc_err)?,
    }
    Ok(out)
}

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
