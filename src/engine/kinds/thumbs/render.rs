//! From one decoded image to any number of finished thumbnails (sizes, formats, policies).
//!
//! Owns: the post-decode pipeline, per requested output: Lanczos3 resize with box
//! pre-reduction (fast_image_resize), colour conversion to sRGB (`color`, after resizing: fewer
//! pixels), EXIF orientation applied to the pixels, metadata by policy (`metadata`) and encoding
//! (`encode`). Keeps the per-worker state in [`RenderScratch`]: the resizer, pixel buffers and
//! the colour-transform cache are made once per worker, not per image.
//! Must not touch: decoding (that is `decode`), files, job state, names of outputs.

use fast_image_resize as fr;
use image::DynamicImage;
use image::metadata::Orientation;

use crate::engine::kinds::thumbs::color::{
    ColorCache, ColorMode, ColorOutcome, PixelLayout, ProfileSpace, profile_space,
};
use crate::engine::kinds::thumbs::decode::Decoded;
use crate::engine::kinds::thumbs::encode::{Embedded, EncodeParams, EncodeScratch, encode};
use crate::engine::kinds::thumbs::metadata::{MetadataPolicy, OutputFacts, output_metadata};
use crate::engine::kinds::thumbs::spec::ThumbFormat;
use crate::engine::model::error::ItemError;

/// One thumbnail to make from a decoded image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputRequest {
    /// The thumbnail fits in a square of this side, in pixels; never upscaled.
    pub max_side_px: u32,
    pub format: ThumbFormat,
    /// 1-100: JPEG quality, or WebP quality when lossy. PNG ignores it.
    pub quality: u8,
    /// WebP only: lossless instead of lossy.
    pub lossless: bool,
    pub metadata: MetadataPolicy,
    pub color: ColorMode,
}

/// A finished thumbnail.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The whole output file.
    pub encoded: Vec<u8>,
    /// Size after orientation, in pixels.
    pub width_px: u32,
    pub height_px: u32,
    /// What the colour stage did (`Ignored` carries the reason, worth a note in a report).
    pub color: ColorOutcome,
}

/// How large to decode so that every request resizes down from at least twice its size
/// (Lanczos3 from 2x and more looks the same as from full size): twice the largest side.
pub fn decode_long_side_px(requests: &[OutputRequest]) -> u32 {
    requests
        .iter()
        .map(|r| r.max_side_px)
        .max()
        .unwrap_or(0)
        .saturating_mul(2)
}

/// Per-worker state of [`render`]: create one per worker thread, reuse it for every image.
pub struct RenderScratch {
    resizer: fr::Resizer,
    reduced: Vec<u8>,
    resized: Vec<u8>,
    converted: Vec<u8>,
    oriented: Vec<u8>,
    color: ColorCache,
    encode: EncodeScratch,
}

impl Default for RenderScratch {
    fn default() -> Self {
        Self::new()
    }
}

impl RenderScratch {
    pub fn new() -> Self {
        RenderScratch {
            resizer: fr::Resizer::new(),
            reduced: Vec::new(),
            resized: Vec::new(),
            converted: Vec::new(),
            oriented: Vec::new(),
            color: ColorCache::new(),
            encode: EncodeScratch::default(),
        }
    }

    /// Colour transforms built by this worker so far (one per distinct profile while the cache
    /// holds it).
    pub fn color_transforms_built(&self) -> u64 {
        self.color.transforms_built
    }
}

/// Makes every requested thumbnail from one decoded image, in the order of `requests`.
///
/// Each size is resized from `decoded.image` (decode it at [`decode_long_side_px`]). Errors:
/// `ItemError::Encode` from an encoder, `ItemError::Internal` from the resizer (neither is
/// expected for valid sizes); the first error ends the call.
pub fn render(
    decoded: &mut Decoded,
    requests: &[OutputRequest],
    scratch: &mut RenderScratch,
) -> Result<Vec<Rendered>, ItemError> {
    match &decoded.image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => {}
        // The contract promises 8-bit; anything else is reduced here rather than refused.
        other if other.color().has_alpha() => {
            decoded.image = DynamicImage::ImageRgba8(other.to_rgba8());
        }
        other => decoded.image = DynamicImage::ImageRgb8(other.to_rgb8()),
    }
    let layout = match &decoded.image {
        DynamicImage::ImageLuma8(_) => PixelLayout::Gray,
        DynamicImage::ImageLumaA8(_) => PixelLayout::GrayAlpha,
        DynamicImage::ImageRgba8(_) => PixelLayout::Rgba,
        _ => PixelLayout::Rgb,
    };
    // Alpha is premultiplied once, in place, for every size: left to the resizer, each resize
    // would premultiply a copy of the whole source (59 MB more for a 5120x2880 RGBA PNG, per
    // worker).
    // Only when some size is resized: an image copied at its own size keeps its exact pixels.
    let (w, h) = (decoded.image.width(), decoded.image.height());
    let resizes = requests
        .iter()
        .any(|r| fit_size(w, h, r.max_side_px) != (w, h));
    let mut premultiplied = false;
    if resizes && let Some(alpha) = alpha_view(&mut decoded.image, layout) {
        fr::MulDiv::default()
            .multiply_alpha_inplace(&mut alpha?)
            .map_err(|e| ItemError::Internal(format!("premultiply alpha: {e}")))?;
        premultiplied = true;
    }
    let decoded = &*decoded;
    let mut out = Vec::with_capacity(requests.len());
    for request in requests {
        out.push(render_one(
            decoded,
            &decoded.image,
            (layout, premultiplied),
            request,
            scratch,
        )?);
    }
    Ok(out)
}

/// A view of `image`'s pixels for the alpha multiply and divide, when its layout has alpha.
fn alpha_view(
    image: &mut DynamicImage,
    layout: PixelLayout,
) -> Option<Result<fr::images::Image<'_>, ItemError>> {
    let (w, h) = (image.width(), image.height());
    let pt = match layout {
        PixelLayout::Rgba | PixelLayout::GrayAlpha => pixel_type(layout),
        PixelLayout::Rgb | PixelLayout::Gray => return None,
    };
    let bytes = match image {
        DynamicImage::ImageRgba8(i) => &mut **i,
        DynamicImage::ImageLumaA8(i) => &mut **i,
        _ => return None,
    };
    Some(
        fr::images::Image::from_slice_u8(w, h, bytes, pt)
            .map_err(|e| ItemError::Internal(format!("alpha view: {e}"))),
    )
}

fn render_one(
    decoded: &Decoded,
    image: &DynamicImage,
    (layout, premultiplied): (PixelLayout, bool),
    request: &OutputRequest,
    scratch: &mut RenderScratch,
) -> Result<Rendered, ItemError> {
    let RenderScratch {
        resizer,
        reduced,
        resized,
        converted,
        oriented,
        color,
        encode: encode_scratch,
    } = scratch;
    let (w, h) = (image.width(), image.height());
    let (tw, th) = fit_size(w, h, request.max_side_px);
    resize(
        resizer,
        image,
        (layout, premultiplied),
        (tw, th),
        reduced,
        resized,
    )?;

    // Colour, after resizing (fewer pixels to convert).
    let icc = decoded.icc_profile.as_deref();
    let mut pixels: &[u8] = resized;
    let mut embed_icc = None;
    let outcome = match icc {
        None => ColorOutcome::Untagged,
        Some(icc)
            if request.color == ColorMode::KeepProfile
                && !decoded.pixels_are_cmyk_converted
                && can_keep(icc, layout, request) =>
        {
            embed_icc = Some(icc);
            ColorOutcome::ProfileKept
        }
        Some(icc) => {
            let outcome = color.convert_to_srgb(
                icc,
                layout,
                decoded.pixels_are_cmyk_converted,
                resized,
                converted,
            );
            if outcome == ColorOutcome::Converted {
                pixels = converted;
            }
            outcome
        }
    };

    let (ow, oh) = orient(
        pixels,
        layout.channels(),
        (tw, th),
        decoded.orientation,
        oriented,
    );
    let pixels: &[u8] = if decoded.orientation == Orientation::NoTransforms {
        pixels
    } else {
        oriented
    };

    let meta = output_metadata(
        request.metadata,
        decoded.exif.as_deref(),
        decoded.xmp.as_deref(),
        &OutputFacts {
            width_px: ow,
            height_px: oh,
            converted_to_srgb: matches!(
                outcome,
                ColorOutcome::Converted | ColorOutcome::AlreadySrgb
            ),
        },
    );
    let encoded = encode(
        pixels,
        layout,
        (ow, oh),
        &EncodeParams {
            format: request.format,
            quality: request.quality,
            lossless: request.lossless,
        },
        &Embedded {
            icc_profile: embed_icc,
            exif: meta.exif.as_deref(),
            xmp: meta.xmp.as_deref(),
        },
        encode_scratch,
    )?;
    Ok(Rendered {
        encoded,
        width_px: ow,
        height_px: oh,
        color: outcome,
    })
}

/// Whether the original profile can go into this output unchanged: an RGB profile with RGB
/// pixels, or a grey profile with grey pixels in a format that stays grey (not WebP).
fn can_keep(icc: &[u8], layout: PixelLayout, request: &OutputRequest) -> bool {
    match profile_space(icc) {
        ProfileSpace::Rgb => !layout.is_gray(),
        ProfileSpace::Gray => layout.is_gray() && request.format != ThumbFormat::Webp,
        ProfileSpace::Cmyk | ProfileSpace::Other => false,
    }
}

/// A downscale is split in two steps beyond this ratio.
const PRE_REDUCE_FACTOR: u32 = 4;

fn pixel_type(layout: PixelLayout) -> fr::PixelType {
    match layout {
        PixelLayout::Gray => fr::PixelType::U8,
        PixelLayout::GrayAlpha => fr::PixelType::U8x2,
        PixelLayout::Rgb => fr::PixelType::U8x3,
        PixelLayout::Rgba => fr::PixelType::U8x4,
    }
}

/// Lanczos3 from `image` to `(tw, th)` into `out` (same layout, rows unpadded). A large
/// reduction first averages pixel blocks (a box filter, cheap) down to about twice the target,
/// then Lanczos3 does the last step: the quality of Lanczos3 all the way for a fraction of its
/// cost, as Pillow's reduce-then-resample. With alpha, `image` comes premultiplied (see
/// [`render`]) and `out` is divided back here.
fn resize(
    resizer: &mut fr::Resizer,
    image: &DynamicImage,
    (layout, premultiplied): (PixelLayout, bool),
    (tw, th): (u32, u32),
    reduced: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), ItemError> {
    let (w, h) = (image.width(), image.height());
    let src = image.as_bytes();
    let ch = layout.channels();
    let fr_err = |e: &dyn std::fmt::Display| ItemError::Internal(format!("resize: {e}"));
    let pt = pixel_type(layout);
    if (tw, th) == (w, h) {
        out.clear();
        out.extend_from_slice(src);
        return if premultiplied {
            unpremultiply(out, (w, h), pt)
        } else {
            Ok(())
        };
    }
    let src_view = fr::images::ImageRef::new(w, h, src, pt).map_err(|e| fr_err(&e))?;
    // Unpremultiplied alpha (never the case when resizing, see `render`) is left to the resizer.
    let lanczos = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3))
        .use_alpha(!premultiplied);
    let target_len = tw as usize * th as usize * ch;
    out.clear();
    out.resize(target_len, 0);
    if w.max(h) > tw.max(th).saturating_mul(PRE_REDUCE_FACTOR) {
        let (mw, mh) = (tw.saturating_mul(2).min(w), th.saturating_mul(2).min(h));
        reduced.clear();
        reduced.resize(mw as usize * mh as usize * ch, 0);
        let boxed = fr::ResizeOptions::new()
            .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Box))
            .use_alpha(!premultiplied);
        {
            let mut mid =
                fr::images::Image::from_slice_u8(mw, mh, reduced, pt).map_err(|e| fr_err(&e))?;
            resizer
                .resize(&src_view, &mut mid, &boxed)
                .map_err(|e| fr_err(&e))?;
        }
        let mid = fr::images::ImageRef::new(mw, mh, reduced, pt).map_err(|e| fr_err(&e))?;
        let mut dst = fr::images::Image::from_slice_u8(tw, th, out, pt).map_err(|e| fr_err(&e))?;
        resizer
            .resize(&mid, &mut dst, &lanczos)
            .map_err(|e| fr_err(&e))?;
    } else {
        let mut dst = fr::images::Image::from_slice_u8(tw, th, out, pt).map_err(|e| fr_err(&e))?;
        resizer
            .resize(&src_view, &mut dst, &lanczos)
            .map_err(|e| fr_err(&e))?;
    }
    if premultiplied {
        unpremultiply(out, (tw, th), pt)
    } else {
        Ok(())
    }
}

/// Divides premultiplied colour by alpha in place (`pixels`: `w` x `h` of `pt`); nothing to do
/// without an alpha channel.
fn unpremultiply(
    pixels: &mut [u8],
    (w, h): (u32, u32),
    pt: fr::PixelType,
) -> Result<(), ItemError> {
    if !matches!(pt, fr::PixelType::U8x4 | fr::PixelType::U8x2) {
        return Ok(());
    }
    let mut view = fr::images::Image::from_slice_u8(w, h, pixels, pt)
        .map_err(|e| ItemError::Internal(format!("alpha view: {e}")))?;
    fr::MulDiv::default()
        .divide_alpha_inplace(&mut view)
        .map_err(|e| ItemError::Internal(format!("unpremultiply alpha: {e}")))
}

/// Applies an EXIF orientation (tag 0x0112, TIFF 6.0 / EXIF 2.32 section 4.6.4) to `src`
/// (`ch` bytes a pixel, `w` x `h`), writing the upright pixels into `dst`; returns the upright
/// size. `dst` is untouched for `NoTransforms`.
pub fn orient(
    src: &[u8],
    ch: usize,
    (w, h): (u32, u32),
    orientation: Orientation,
    dst: &mut Vec<u8>,
) -> (u32, u32) {
    use Orientation as O;
    let swaps = matches!(
        orientation,
        O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH
    );
    let (dw, dh) = if swaps { (h, w) } else { (w, h) };
    if orientation == O::NoTransforms {
        return (dw, dh);
    }
    let (w, h) = (w as usize, h as usize);
    dst.clear();
    dst.reserve(src.len());
    for y in 0..dh as usize {
        for x in 0..dw as usize {
            // The source pixel shown at (x, y) of the upright image.
            let (sx, sy) = match orientation {
                O::NoTransforms => (x, y),
                O::FlipHorizontal => (w - 1 - x, y),
                O::Rotate180 => (w - 1 - x, h - 1 - y),
                O::FlipVertical => (x, h - 1 - y),
                O::Rotate90FlipH => (y, x),
                O::Rotate90 => (y, h - 1 - x),
                O::Rotate270FlipH => (w - 1 - y, h - 1 - x),
                O::Rotate270 => (w - 1 - y, x),
            };
            let at = (sy * w + sx) * ch;
            dst.extend_from_slice(&src[at..at + ch]);
        }
    }
    (dw, dh)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientation_matches_the_image_crate() {
        let img = image::RgbImage::from_fn(5, 3, |x, y| image::Rgb([x as u8, y as u8, 7]));
        for o in 1..=8u8 {
            let orientation = Orientation::from_exif(o).unwrap();
            let mut expected = DynamicImage::ImageRgb8(img.clone());
            expected.apply_orientation(orientation);
            let mut dst = Vec::new();
            let (w, h) = orient(img.as_raw(), 3, (5, 3), orientation, &mut dst);
            assert_eq!((w, h), (expected.width(), expected.height()), "{o}");
            if o != 1 {
                assert_eq!(&dst, expected.as_bytes(), "orientation {o}");
            }
        }
    }

    #[test]
    fn decode_size_is_twice_the_largest_request() {
        let r = |max_side_px| OutputRequest {
            max_side_px,
            format: ThumbFormat::Jpeg,
            quality: 85,
            lossless: false,
            metadata: MetadataPolicy::Strip,
            color: ColorMode::ConvertToSrgb,
        };
        assert_eq!(decode_long_side_px(&[r(256), r(1024), r(128)]), 2048);
        assert_eq!(decode_long_side_px(&[]), 0);
    }
}
