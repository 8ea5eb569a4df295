//! From one decoded image to any number of finished thumbnails (sizes, formats, policies).
//!
//! Owns: the post-decode pipeline, per requested output: Lanczos3 resize with box
//! pre-reduction (fast_image_resize), colour conversion to sRGB (`color`, after resizing: fewer
//! pixels), EXIF orientation applied to the pixels, metadata by policy (`metadata`) and encoding
//! (`encode`). A JPEG whose outputs are all JPEGs and need no colour transform arrives as
//! YCbCr ([`ycbcr_suffices`]) and stays YCbCr through resizing and orientation into the encoder:
//! neither the decoder nor the encoder converts colours. Keeps the per-worker state in
//! [`RenderScratch`]: the resizer, pixel buffers and the colour-transform cache are made once
//! per worker, not per image.
//! Must not touch: decoding (that is `decode`), files, job state, names of outputs.

use fast_image_resize as fr;
use image::DynamicImage;
use image::metadata::Orientation;

use crate::engine::kinds::thumbs::color::{
    ColorCache, ColorMode, ColorOutcome, PixelLayout, ProfileSpace, profile_space,
};
use crate::engine::kinds::thumbs::decoded::Decoded;
use crate::engine::kinds::thumbs::encode::{
    Embedded, EncodeParams, EncodeScratch, encode, encode_jpeg_ycbcr,
};
use crate::engine::kinds::thumbs::metadata::{
    MetadataPolicy, OutputFacts, output_metadata, subject_point,
};
use crate::engine::kinds::thumbs::spec::{Fit, ThumbFormat, ThumbSize};
use crate::engine::model::error::ItemError;

/// One thumbnail to make from a decoded image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputRequest {
    /// The box, in the upright image's pixels.
    pub size: ThumbSize,
    /// How the image is put in the box.
    pub fit: Fit,
    /// Whether an image smaller than the box is enlarged.
    pub upscale: bool,
    /// The output format.
    pub format: ThumbFormat,
    /// 1-100: JPEG quality, or WebP quality when lossy. PNG ignores it.
    pub quality: u8,
    /// WebP only: lossless instead of lossy.
    pub lossless: bool,
    /// What EXIF and XMP metadata the thumbnail keeps.
    pub metadata: MetadataPolicy,
    /// Convert colours to sRGB, or keep the source's ICC profile.
    pub color: ColorMode,
}

/// A finished thumbnail.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The whole output file.
    pub encoded: Vec<u8>,
    /// Size after orientation, in pixels.
    pub width_px: u32,
    /// Size after orientation: height, in pixels.
    pub height_px: u32,
    /// What the colour stage did (`Ignored` carries the reason, worth a note in a report).
    pub color: ColorOutcome,
}

/// How large to decode so that every request resizes down from at least twice its size
/// (Lanczos3 from 2x and more looks the same as from full size), as the long side of the decoded
/// image. `contain` needs twice the box's long side whatever the image; `cover` and `exact`
/// depend on the image's shape, so they need `source_px` (width and height as stored, from the
/// header): without it the image is decoded at full size.
pub fn decode_long_side_px(requests: &[OutputRequest], source_px: Option<(u32, u32)>) -> u32 {
    requests
        .iter()
        .map(|r| match (r.fit, source_px) {
            (Fit::Contain, _) => r.size.long_side_px().saturating_mul(2),
            (_, None) => u32::MAX,
            (_, Some((w, h))) => {
                // The largest scale either way up (the orientation is not known before decoding).
                let long = f64::from(w.max(h));
                let scale = [Orientation::NoTransforms, Orientation::Rotate90]
                    .into_iter()
                    .map(|orientation| {
                        let p = place(w, h, orientation, r, None);
                        let (cw, ch) = (p.crop.2, p.crop.3);
                        let (tw, th) = (f64::from(p.target_px.0), f64::from(p.target_px.1));
                        (tw / cw).max(th / ch)
                    })
                    .fold(0.0f64, f64::max);
                (2.0 * scale * long).ceil().min(f64::from(u32::MAX)) as u32
            }
        })
        .max()
        .unwrap_or(0)
}

/// Where a decoded image goes in a request's box, in the decoded image's own (stored, not yet
/// oriented) pixels: the part of it to use and the size that part is resized to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Left, top, width and height of the part used, in source pixels (the whole image unless
    /// `cover` crops).
    pub crop: (f64, f64, f64, f64),
    /// Width and height after resizing, before orientation, in pixels.
    pub target_px: (u32, u32),
}

impl Placement {
    /// Whether the image is used as it is (whole, at its own size).
    fn is_identity(&self, w: u32, h: u32) -> bool {
        self.target_px == (w, h) && self.crop == (0.0, 0.0, f64::from(w), f64::from(h))
    }
}

/// Places a `w` x `h` image (as stored; `orientation` turns it upright) in `request`'s box.
/// `focus`: the subject's centre in stored pixels, where `cover` centres its crop when it can
/// (moved so the crop stays inside the image); otherwise the crop is centred.
///
/// Without `upscale` nothing is enlarged: `contain` keeps a small image's size, `cover` and
/// `exact` give the largest box of the requested shape the image fills at its own scale.
pub fn place(
    w: u32,
    h: u32,
    orientation: Orientation,
    request: &OutputRequest,
    focus: Option<(f64, f64)>,
) -> Placement {
    let whole = (0.0, 0.0, f64::from(w), f64::from(h));
    if w == 0 || h == 0 {
        return Placement {
            crop: whole,
            target_px: (w, h),
        };
    }
    let swaps = swaps_axes(orientation);
    // Upright sizes.
    let (ow, oh) = if swaps { (h, w) } else { (w, h) };
    let (ow_f, oh_f) = (f64::from(ow), f64::from(oh));
    let (bw, bh) = (
        f64::from(request.size.width_px),
        f64::from(request.size.height_px),
    );
    let px = |v: f64, max: f64| v.round().clamp(1.0, max.max(1.0)) as u32;
    let unswap = |(a, b): (u32, u32)| if swaps { (b, a) } else { (a, b) };
    match request.fit {
        Fit::Contain => Placement {
            crop: whole,
            target_px: unswap(contain_px((ow, oh), request.size, request.upscale)),
        },
        Fit::Exact => {
            let (sx, sy) = (bw / ow_f, bh / oh_f);
            let shrink = if request.upscale {
                1.0
            } else {
                sx.max(sy).max(1.0)
            };
            Placement {
                crop: whole,
                target_px: unswap((px(bw / shrink, bw), px(bh / shrink, bh))),
            }
        }
        Fit::Cover => {
            let mut scale = (bw / ow_f).max(bh / oh_f);
            let (mut tw, mut th) = (bw, bh);
            if !request.upscale && scale > 1.0 {
                // The largest box of this shape the image fills at its own scale.
                tw = bw / scale;
                th = bh / scale;
                scale = 1.0;
            }
            let target = (px(tw, bw), px(th, bh));
            // The part of the upright image that fills the box.
            let (cw, ch) = (
                (f64::from(target.0) / scale).min(ow_f),
                (f64::from(target.1) / scale).min(oh_f),
            );
            let (cx, cy) = focus
                .map(|(fx, fy)| upright_point(fx, fy, (w, h), orientation))
                .unwrap_or((ow_f / 2.0, oh_f / 2.0));
            let left = (cx - cw / 2.0).clamp(0.0, ow_f - cw);
            let top = (cy - ch / 2.0).clamp(0.0, oh_f - ch);
            Placement {
                crop: stored_rect((left, top, cw, ch), (w, h), orientation),
                target_px: unswap(target),
            }
        }
    }
}

/// Whether `orientation` turns the image a quarter (width and height trade places).
fn swaps_axes(orientation: Orientation) -> bool {
    use Orientation as O;
    matches!(
        orientation,
        O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH
    )
}

/// The stored point shown at upright point `(x, y)` (continuous coordinates; the same map as
/// [`orient`]'s, with `w - x` for `w - 1 - x`).
fn stored_point(x: f64, y: f64, (w, h): (f64, f64), orientation: Orientation) -> (f64, f64) {
    use Orientation as O;
    match orientation {
        O::NoTransforms => (x, y),
        O::FlipHorizontal => (w - x, y),
        O::Rotate180 => (w - x, h - y),
        O::FlipVertical => (x, h - y),
        O::Rotate90FlipH => (y, x),
        O::Rotate90 => (y, h - x),
        O::Rotate270FlipH => (w - y, h - x),
        O::Rotate270 => (w - y, x),
    }
}

/// The upright point showing stored point `(sx, sy)`: the inverse of [`stored_point`].
fn upright_point(sx: f64, sy: f64, (w, h): (u32, u32), orientation: Orientation) -> (f64, f64) {
    use Orientation as O;
    let (w, h) = (f64::from(w), f64::from(h));
    let (sx, sy) = (sx.clamp(0.0, w), sy.clamp(0.0, h));
    match orientation {
        O::NoTransforms => (sx, sy),
        O::FlipHorizontal => (w - sx, sy),
        O::Rotate180 => (w - sx, h - sy),
        O::FlipVertical => (sx, h - sy),
        O::Rotate90FlipH => (sy, sx),
        O::Rotate90 => (h - sy, sx),
        O::Rotate270FlipH => (h - sy, w - sx),
        O::Rotate270 => (sy, w - sx),
    }
}

/// An upright rectangle (left, top, width, height) as the stored rectangle that shows it, kept
/// inside the image.
fn stored_rect(
    (left, top, cw, ch): (f64, f64, f64, f64),
    (w, h): (u32, u32),
    orientation: Orientation,
) -> (f64, f64, f64, f64) {
    let (w, h) = (f64::from(w), f64::from(h));
    let a = stored_point(left, top, (w, h), orientation);
    let b = stored_point(left + cw, top + ch, (w, h), orientation);
    let (x0, x1) = (a.0.min(b.0).clamp(0.0, w), a.0.max(b.0).clamp(0.0, w));
    let (y0, y1) = (a.1.min(b.1).clamp(0.0, h), a.1.max(b.1).clamp(0.0, h));
    (x0, y0, x1 - x0, y1 - y0)
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
    /// Fresh state: the resizer, empty buffers and an empty colour cache.
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
    render_pixels(decoded, false, requests, scratch)
}

/// Whether every request can be made from a JPEG's YCbCr samples as they are coded, without
/// the decoder's conversion to RGB (`icc`: the file's ICC profile): every output is a JPEG
/// (which stores YCbCr again), and no colour transform touches the pixels: the file has no
/// profile, or an sRGB one, or each request keeps its RGB profile as it is. Resampling is
/// linear and JFIF's YCbCr is an affine map of the (gamma-encoded) RGB, so resampling the
/// YCbCr gives what resampling the RGB and converting it would, up to rounding; orientation
/// and metadata do not look at the pixels.
pub fn ycbcr_suffices(
    icc: Option<&[u8]>,
    requests: &[OutputRequest],
    scratch: &mut RenderScratch,
) -> bool {
    if requests.is_empty() || requests.iter().any(|r| r.format != ThumbFormat::Jpeg) {
        return false;
    }
    let Some(icc) = icc else {
        return true;
    };
    let keeps = |r: &OutputRequest| {
        r.color == ColorMode::KeepProfile && profile_space(icc) == ProfileSpace::Rgb
    };
    requests.iter().all(keeps) || scratch.color.is_srgb(icc)
}

/// [`render`] from the pixels [`super::decode::decode_keeping_ycc`] gave: with `ycbcr`, the
/// three channels are a JPEG's Y, Cb, Cr, which only [`ycbcr_suffices`] requests may ask of.
pub fn render_pixels(
    decoded: &mut Decoded,
    ycbcr: bool,
    requests: &[OutputRequest],
    scratch: &mut RenderScratch,
) -> Result<Vec<Rendered>, ItemError> {
    if ycbcr && !matches!(decoded.image, DynamicImage::ImageRgb8(_)) {
        return Err(ItemError::Internal(
            "YCbCr pixels that are not three channels".to_owned(),
        ));
    }
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
    let focus = if requests.iter().any(|r| r.fit == Fit::Cover) {
        subject_focus(decoded)
    } else {
        None
    };
    let placements: Vec<Placement> = requests
        .iter()
        .map(|r| place(w, h, decoded.orientation, r, focus))
        .collect();
    let resizes = placements.iter().any(|p| !p.is_identity(w, h));
    let mut premultiplied = false;
    if resizes && let Some(alpha) = alpha_view(&mut decoded.image, layout) {
        fr::MulDiv::default()
            .multiply_alpha_inplace(&mut alpha?)
            .map_err(|e| ItemError::Internal(format!("premultiply alpha: {e}")))?;
        premultiplied = true;
    }
    let decoded = &*decoded;
    let mut out = Vec::with_capacity(requests.len());
    for (request, placement) in requests.iter().zip(&placements) {
        out.push(render_one(
            decoded,
            (layout, premultiplied, ycbcr),
            (request, placement),
            scratch,
        )?);
    }
    Ok(out)
}

/// The photo's subject in the decoded image's pixels, when its EXIF names one (scaled from the
/// stored size when the decoder reduced the image).
fn subject_focus(decoded: &Decoded) -> Option<(f64, f64)> {
    let (x, y) = subject_point(decoded.exif.as_deref()?)?;
    let (sw, sh) = decoded.source_size_px;
    if sw == 0 || sh == 0 {
        return None;
    }
    let (w, h) = (decoded.image.width(), decoded.image.height());
    Some((
        x * f64::from(w) / f64::from(sw),
        y * f64::from(h) / f64::from(sh),
    ))
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
    (layout, premultiplied, ycbcr): (PixelLayout, bool, bool),
    (request, placement): (&OutputRequest, &Placement),
    scratch: &mut RenderScratch,
) -> Result<Rendered, ItemError> {
    let image = &decoded.image;
    let RenderScratch {
        resizer,
        reduced,
        resized,
        converted,
        oriented,
        color,
        encode: encode_scratch,
    } = scratch;
    let (tw, th) = placement.target_px;
    resize(
        resizer,
        image,
        (layout, premultiplied),
        placement,
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
        // YCbCr pixels are only asked for when no transform applies (`ycbcr_suffices`).
        Some(icc) if ycbcr => {
            if !color.is_srgb(icc) {
                return Err(ItemError::Internal(
                    "YCbCr pixels with a colour profile to apply".to_owned(),
                ));
            }
            ColorOutcome::AlreadySrgb
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
    let embedded = Embedded {
        icc_profile: embed_icc,
        exif: meta.exif.as_deref(),
        xmp: meta.xmp.as_deref(),
    };
    let encoded = if ycbcr {
        if request.format != ThumbFormat::Jpeg {
            return Err(ItemError::Internal(
                "YCbCr pixels for an output that is not a JPEG".to_owned(),
            ));
        }
        encode_jpeg_ycbcr(pixels, (ow, oh), request.quality, &embedded, encode_scratch)?
    } else {
        encode(
            pixels,
            layout,
            (ow, oh),
            &EncodeParams {
                format: request.format,
                quality: request.quality,
                lossless: request.lossless,
            },
            &embedded,
            encode_scratch,
        )?
    };
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

/// Lanczos3, `sinc(x) sinc(x / 3)` for |x| < 3, as the resizer's own but with one sine per
/// tap instead of two: with `s = sin(pi x / 3)`, `sin(pi x) = 3s - 4s^3` (the triple-angle
/// identity). The resizer computes its filter weights for every image (it keeps none between
/// calls), and for small images the sines were a tenth of the resampling time.
fn lanczos3() -> fr::FilterType {
    match fr::Filter::new("Lanczos3", lanczos3_weight, 3.0) {
        Ok(filter) => fr::FilterType::Custom(filter),
        Err(_) => fr::FilterType::Lanczos3,
    }
}

/// The weights of the worker's last Lanczos3 resizes, in the order the resizer asked for them:
/// a batch of same-sized images asks for the same taps image after image, and each is then
/// one comparison instead of a sine. Exact: a weight is reused only for the identical `x`.
#[derive(Default)]
struct Lanczos3Replay {
    /// `(x.to_bits(), weight)` in the order of the last resizes.
    taps: Vec<(u64, f64)>,
    /// Where the current resize has got to in `taps`.
    next: usize,
}

/// At most this many taps are kept per worker (1 MiB): a resize of a few thousand pixels a side.
const LANCZOS3_REPLAY_MAX_TAPS: usize = 1 << 16;

thread_local! {
    static LANCZOS3_REPLAY: std::cell::RefCell<Lanczos3Replay> =
        std::cell::RefCell::new(Lanczos3Replay::default());
}

/// A Lanczos3 resize starts: its weights are compared with the last one's from the start.
fn lanczos3_replay_from_start() {
    LANCZOS3_REPLAY.with_borrow_mut(|replay| replay.next = 0);
}

/// The weight of [`lanczos3`] at `x` source pixels from the centre, replayed from the worker's
/// last resize when it asked for the same `x` at this point.
fn lanczos3_weight(x: f64) -> f64 {
    let bits = x.to_bits();
    LANCZOS3_REPLAY
        .try_with(|replay| {
            let mut replay = replay.borrow_mut();
            let at = replay.next;
            replay.next += 1;
            match replay.taps.get(at) {
                Some(&(seen, weight)) if seen == bits => weight,
                Some(_) => {
                    let weight = lanczos3_weight_computed(x);
                    replay.taps[at] = (bits, weight);
                    weight
                }
                None => {
                    let weight = lanczos3_weight_computed(x);
                    if at == replay.taps.len() && at < LANCZOS3_REPLAY_MAX_TAPS {
                        replay.taps.push((bits, weight));
                    }
                    weight
                }
            }
        })
        .unwrap_or_else(|_| lanczos3_weight_computed(x))
}

/// The weight of [`lanczos3`] at `x`, computed.
fn lanczos3_weight_computed(x: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    if !(-3.0..3.0).contains(&x) {
        return 0.0;
    }
    let third = std::f64::consts::PI * x / 3.0;
    let s = third.sin();
    let whole = s * (3.0 - 4.0 * s * s);
    whole * s / (3.0 * third * third)
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

/// Lanczos3 from `placement.crop` of `image` to `placement.target_px` into `out` (same layout,
/// rows unpadded). A large reduction first averages pixel blocks (a box filter, cheap) down to
/// about twice the target, then Lanczos3 does the last step: the quality of Lanczos3 all the way
/// for a fraction of its cost, as Pillow's reduce-then-resample. With alpha, `image` comes
/// premultiplied (see [`render`]) and `out` is divided back here.
fn resize(
    resizer: &mut fr::Resizer,
    image: &DynamicImage,
    (layout, premultiplied): (PixelLayout, bool),
    placement: &Placement,
    reduced: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), ItemError> {
    let (w, h) = (image.width(), image.height());
    let (tw, th) = placement.target_px;
    let (left, top, cw, ch) = placement.crop;
    let src = image.as_bytes();
    let ch_count = layout.channels();
    let fr_err = |e: &dyn std::fmt::Display| ItemError::Internal(format!("resize: {e}"));
    let pt = pixel_type(layout);
    if placement.is_identity(w, h) {
        out.clear();
        out.extend_from_slice(src);
        return if premultiplied {
            unpremultiply(out, (w, h), pt)
        } else {
            Ok(())
        };
    }
    let src_view = fr::images::ImageRef::new(w, h, src, pt).map_err(|e| fr_err(&e))?;
    lanczos3_replay_from_start();
    // Unpremultiplied alpha (never the case when resizing, see `render`) is left to the resizer.
    let lanczos = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(lanczos3()))
        .use_alpha(!premultiplied);
    let target_len = tw as usize * th as usize * ch_count;
    out.clear();
    out.resize(target_len, 0);
    let crop_long = cw.max(ch);
    if crop_long > f64::from(tw.max(th).saturating_mul(PRE_REDUCE_FACTOR)) {
        // The box step reduces the cropped part to about twice the target.
        let mw = (tw.saturating_mul(2).max(1) as f64)
            .min(cw)
            .round()
            .max(1.0) as u32;
        let mh = (th.saturating_mul(2).max(1) as f64)
            .min(ch)
            .round()
            .max(1.0) as u32;
        reduced.clear();
        reduced.resize(mw as usize * mh as usize * ch_count, 0);
        let boxed = fr::ResizeOptions::new()
            .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Box))
            .crop(left, top, cw, ch)
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
            .resize(&src_view, &mut dst, &lanczos.crop(left, top, cw, ch))
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
    contain_px((w, h), ThumbSize::square(max_side_px), false)
}

/// The size of a `w` x `h` image inside `size`, its aspect kept; enlarged only with `upscale`.
fn contain_px((w, h): (u32, u32), size: ThumbSize, upscale: bool) -> (u32, u32) {
    if w == 0 || h == 0 {
        return (w, h);
    }
    let (bw, bh) = (f64::from(size.width_px), f64::from(size.height_px));
    let mut scale = (bw / f64::from(w)).min(bh / f64::from(h));
    if !upscale {
        scale = scale.min(1.0);
    }
    if scale == 1.0 {
        return (w, h);
    }
    let px = |v: f64, max: f64| v.round().clamp(1.0, max) as u32;
    (px(f64::from(w) * scale, bw), px(f64::from(h) * scale, bh))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replayed_lanczos3_weights_are_the_computed_ones_whatever_the_order() {
        // Three "resizes": the same taps twice, then a sequence that differs part way, longer
        // than the first. Every weight handed out equals the computed one, bit for bit.
        let first: Vec<f64> = (0..500).map(|i| f64::from(i) * 0.0123 - 3.0).collect();
        let mut second = first.clone();
        second.truncate(200);
        second.extend((0..700).map(|i| f64::from(i) * 0.0071 - 2.5));
        for taps in [&first, &first, &second, &first] {
            lanczos3_replay_from_start();
            for &x in taps {
                assert_eq!(
                    lanczos3_weight(x).to_bits(),
                    lanczos3_weight_computed(x).to_bits(),
                    "x = {x}"
                );
            }
        }
        // The last resize's taps are what is kept.
        LANCZOS3_REPLAY.with_borrow(|replay| {
            assert_eq!(replay.next, first.len());
            assert!(replay.taps.len() >= second.len());
            assert_eq!(
                replay.taps[..first.len()]
                    .iter()
                    .map(|t| t.0)
                    .collect::<Vec<_>>(),
                first.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
        });
    }

    #[test]
    fn lanczos3_with_one_sine_is_lanczos3() {
        assert!(matches!(lanczos3(), fr::FilterType::Custom(_)));
        let sinc = |x: f64| {
            let px = std::f64::consts::PI * x;
            if x == 0.0 { 1.0 } else { px.sin() / px }
        };
        for i in -400..=400 {
            let x = f64::from(i) / 100.0;
            let reference = if (-3.0..3.0).contains(&x) {
                sinc(x) * sinc(x / 3.0)
            } else {
                0.0
            };
            let got = lanczos3_weight(x);
            assert!(
                (got - reference).abs() < 1e-12,
                "x = {x}: {got} vs {reference}"
            );
        }
        // The same pixels as the resizer's own Lanczos3, up to a rounding step.
        let (w, h) = (97u32, 61u32);
        let src: Vec<u8> = (0..w * h * 3)
            .map(|i| ((i * 7919 + (i / 3) * 31) % 251) as u8)
            .collect();
        let src = fr::images::ImageRef::new(w, h, &src, fr::PixelType::U8x3).unwrap();
        let mut resizer = fr::Resizer::new();
        let mut out = |filter| {
            let mut dst = fr::images::Image::new(40, 25, fr::PixelType::U8x3);
            let options = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(filter));
            resizer.resize(&src, &mut dst, &options).unwrap();
            dst.into_vec()
        };
        let (ours, theirs) = (out(lanczos3()), out(fr::FilterType::Lanczos3));
        let max = ours.iter().zip(&theirs).map(|(a, b)| a.abs_diff(*b)).max();
        assert!(max <= Some(1), "max difference {max:?}");
    }

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
        let r = |side_px| OutputRequest {
            size: ThumbSize::square(side_px),
            fit: Fit::Contain,
            upscale: false,
            format: ThumbFormat::Jpeg,
            quality: 85,
            lossless: false,
            metadata: MetadataPolicy::Strip,
            color: ColorMode::ConvertToSrgb,
        };
        assert_eq!(decode_long_side_px(&[r(256), r(1024), r(128)], None), 2048);
        assert_eq!(decode_long_side_px(&[], None), 0);
    }

    fn request(size: ThumbSize, fit: Fit, upscale: bool) -> OutputRequest {
        OutputRequest {
            size,
            fit,
            upscale,
            format: ThumbFormat::Jpeg,
            quality: 85,
            lossless: false,
            metadata: MetadataPolicy::Strip,
            color: ColorMode::ConvertToSrgb,
        }
    }

    #[test]
    fn points_map_between_stored_and_upright_both_ways() {
        for o in 1..=8u8 {
            let orientation = Orientation::from_exif(o).unwrap();
            let (w, h) = (40u32, 30u32);
            for (x, y) in [(0.0, 0.0), (3.0, 7.0), (12.5, 20.0)] {
                let (ux, uy) = upright_point(x, y, (w, h), orientation);
                let back = stored_point(ux, uy, (f64::from(w), f64::from(h)), orientation);
                assert_eq!(back, (x, y), "orientation {o}");
            }
        }
    }

    #[test]
    fn cover_crops_the_overflow_centred_or_at_the_focus_kept_inside() {
        let r = request(ThumbSize::square(100), Fit::Cover, false);
        let centred = place(800, 400, Orientation::NoTransforms, &r, None);
        assert_eq!(centred.target_px, (100, 100));
        assert_eq!(centred.crop, (200.0, 0.0, 400.0, 400.0));
        // A focus near the right edge: the crop stops at the edge.
        let right = place(800, 400, Orientation::NoTransforms, &r, Some((790.0, 10.0)));
        assert_eq!(right.crop, (400.0, 0.0, 400.0, 400.0));
        // Turned a quarter: the box is upright, the crop is in stored pixels.
        let turned = place(800, 400, Orientation::Rotate90, &r, Some((100.0, 200.0)));
        assert_eq!(turned.target_px, (100, 100));
        assert_eq!(turned.crop, (0.0, 0.0, 400.0, 400.0));
        // A box wider than tall, on a portrait photo turned upright: width is the long side.
        let wide = request(ThumbSize::new(300, 100), Fit::Contain, false);
        let p = place(400, 800, Orientation::NoTransforms, &wide, None);
        assert_eq!(p.target_px, (50, 100));
        let p = place(800, 400, Orientation::Rotate90, &wide, None);
        // Upright it is 400 x 800: 50 x 100; stored (before the turn) 100 x 50.
        assert_eq!(p.target_px, (100, 50));
    }

    #[test]
    fn cover_and_exact_need_a_larger_decode_for_a_long_image() {
        let cover = request(ThumbSize::square(100), Fit::Cover, false);
        let contain = request(ThumbSize::square(100), Fit::Contain, false);
        // A 4:1 image filling a square is scaled by the short side: 4x the long side needed.
        assert_eq!(decode_long_side_px(&[cover], Some((4000, 1000))), 800);
        assert_eq!(decode_long_side_px(&[contain], Some((4000, 1000))), 200);
        assert_eq!(decode_long_side_px(&[cover], None), u32::MAX);
    }
}
