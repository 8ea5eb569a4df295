//! Colour management of thumbnails: pixels described by an embedded ICC profile become sRGB.
//!
//! Owns: reading what an ICC profile describes, building moxcms transforms to sRGB and keeping
//! them per worker in a small cache keyed by the profile's bytes (a batch from one camera builds
//! its transform once), and converting 8-bit pixel buffers in place of the caller's buffers.
//! Must not touch: decoding, resizing, encoding, metadata, files.
//!
//! Why moxcms: it is already in the dependency tree (the `image` crate uses it), it is pure Rust
//! with SIMD paths, reads ICC v2 and v4 matrix/TRC and LUT profiles (RGB, grey, CMYK), and costs
//! no build time; lcms2 would add a C build and qcms has no grey-to-grey or CMYK 8-bit path.
//!
//! Rules (as libvips and Pillow): an image without a profile is sRGB; a profile that cannot be
//! read, or that does not fit the pixels (an RGB profile on grey pixels), is ignored and the
//! pixels are taken as sRGB. Grey pixels with a grey profile stay grey: they are converted to
//! grey with the sRGB tone curve. A CMYK profile arrives with pixels that the decoder already
//! turned into RGB by the uncalibrated formula `R = (1 - C)(1 - K)`; those are turned back into
//! CMYK (K = 1 - max(R, G, B), the inverse with full grey-component replacement) and converted
//! through the profile.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use moxcms::{ColorProfile, Layout, RenderingIntent, Transform8BitExecutor, TransformOptions};

/// What the colour stage does with an embedded ICC profile.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ColorMode {
    /// Convert the pixels to sRGB and embed no profile (every viewer then shows the right
    /// colours, colour-managed or not).
    #[default]
    ConvertToSrgb,
    /// Leave the pixels as they are and embed the original profile. Falls back to converting
    /// when the output cannot carry the profile (a CMYK profile on RGB output, a grey profile
    /// on WebP output, which is always RGB).
    KeepProfile,
}

/// The colour space an ICC profile's data side describes: header bytes 16..20 (ICC.1:2022
/// section 7.2.6, "Data colour space field").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileSpace {
    /// `'RGB '`.
    Rgb,
    /// `'GRAY'`.
    Gray,
    /// `'CMYK'`.
    Cmyk,
    /// Anything else (Lab, XYZ, multi-ink), or too short to have a header.
    Other,
}

/// The data colour space of an ICC profile, from its header alone.
pub fn profile_space(icc: &[u8]) -> ProfileSpace {
    match icc.get(16..20) {
        Some(b"RGB ") => ProfileSpace::Rgb,
        Some(b"GRAY") => ProfileSpace::Gray,
        Some(b"CMYK") => ProfileSpace::Cmyk,
        _ => ProfileSpace::Other,
    }
}

/// The layout of an 8-bit pixel buffer, channels interleaved, rows without padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelLayout {
    /// Grey, one byte a pixel.
    Gray,
    /// Grey and alpha, two bytes a pixel.
    GrayAlpha,
    /// Red, green, blue, three bytes a pixel.
    Rgb,
    /// Red, green, blue and alpha, four bytes a pixel.
    Rgba,
}

impl PixelLayout {
    /// Bytes (= channels) per pixel.
    pub fn channels(self) -> usize {
        match self {
            PixelLayout::Gray => 1,
            PixelLayout::GrayAlpha => 2,
            PixelLayout::Rgb => 3,
            PixelLayout::Rgba => 4,
        }
    }

    /// Whether the layout carries an alpha channel.
    pub fn has_alpha(self) -> bool {
        matches!(self, PixelLayout::GrayAlpha | PixelLayout::Rgba)
    }

    /// Whether the layout is grey (with or without alpha).
    pub fn is_gray(self) -> bool {
        matches!(self, PixelLayout::Gray | PixelLayout::GrayAlpha)
    }

    fn moxcms(self) -> Layout {
        match self {
            PixelLayout::Gray => Layout::Gray,
            PixelLayout::GrayAlpha => Layout::GrayAlpha,
            PixelLayout::Rgb => Layout::Rgb,
            PixelLayout::Rgba => Layout::Rgba,
        }
    }
}

/// Why a profile of colour space `space` cannot describe pixels in `layout` (`from_cmyk`: a
/// CMYK source converted to RGB by the decoder), or `None` when it can.
pub fn profile_mismatch(
    space: ProfileSpace,
    layout: PixelLayout,
    from_cmyk: bool,
) -> Option<String> {
    let fits = match space {
        ProfileSpace::Cmyk => from_cmyk && layout == PixelLayout::Rgb,
        ProfileSpace::Rgb => !from_cmyk && !layout.is_gray(),
        ProfileSpace::Gray => !from_cmyk && layout.is_gray(),
        ProfileSpace::Other => false,
    };
    if fits {
        return None;
    }
    let profile = match space {
        ProfileSpace::Cmyk => "a CMYK profile",
        ProfileSpace::Rgb => "an RGB profile",
        ProfileSpace::Gray => "a grey profile",
        ProfileSpace::Other => "a profile of an unsupported colour space",
    };
    let pixels = if from_cmyk {
        "CMYK"
    } else if layout.is_gray() {
        "grey"
    } else {
        "RGB"
    };
    Some(format!("{profile} does not describe {pixels} pixels"))
}

/// What the colour stage did to one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColorOutcome {
    /// No profile: the pixels were taken as sRGB and left alone.
    Untagged,
    /// The pixels were converted from the embedded profile to sRGB.
    Converted,
    /// The embedded profile is sRGB in all but name (an sRGB variant: every probe colour maps
    /// to itself within 1/255), so the pixels were left alone.
    AlreadySrgb,
    /// The pixels were left alone and the original profile goes into the output.
    ProfileKept,
    /// The profile was ignored (pixels taken as sRGB): it could not be read, does not fit the
    /// pixels, or no transform to sRGB exists for it. The text says which.
    Ignored(String),
}

/// Transforms cached per worker; a handful covers a batch of photos from a few cameras.
const CACHE_ENTRIES: usize = 8;

/// Per-worker colour state: the sRGB target profiles, the transform cache and the CMYK
/// scratch buffer. Create one per worker thread and pass it to every conversion.
pub struct ColorCache {
    srgb: ColorProfile,
    srgb_gray: ColorProfile,
    entries: Vec<CacheEntry>,
    clock: u64,
    /// Transforms built since this cache was made (for tests and measurements).
    pub transforms_built: u64,
    cmyk: Vec<u8>,
}

struct CacheEntry {
    hash: u64,
    layout: PixelLayout,
    profile: Vec<u8>,
    /// `Err` caches the reason a profile is unusable, so it is not parsed again either.
    transform: Result<Cached, String>,
    last_used: u64,
}

#[derive(Clone)]
enum Cached {
    /// The profile is sRGB (or sRGB grey) within 1/255 on every probe colour.
    Identity,
    Transform(Arc<Transform8BitExecutor>),
}

impl Default for ColorCache {
    fn default() -> Self {
        Self::new()
    }
}

impl ColorCache {
    /// A cache with no transforms built yet.
    pub fn new() -> Self {
        let srgb = ColorProfile::new_srgb();
        // Grey with the sRGB tone curve: the target for grey images with a grey profile.
        let mut srgb_gray = ColorProfile::new_gray_with_gamma(2.2);
        srgb_gray.gray_trc = srgb.red_trc.clone();
        ColorCache {
            srgb,
            srgb_gray,
            entries: Vec::with_capacity(CACHE_ENTRIES),
            clock: 0,
            transforms_built: 0,
            cmyk: Vec::new(),
        }
    }

    /// Converts `pixels` (`layout`, `width_px` x `height_px`, no row padding) described by
    /// `icc` to sRGB, writing the result into `out` in the same layout (alpha copied).
    /// `from_cmyk`: the pixels are a CMYK source's, converted to RGB by the decoder (only then
    /// does a CMYK profile describe them, and only a CMYK profile does).
    /// Returns `Converted`; or, leaving `out` untouched, `AlreadySrgb` when the profile is an
    /// sRGB variant and `Ignored` when the profile cannot be used for these pixels (a profile
    /// whose colour space does not match the pixels is never applied).
    pub fn convert_to_srgb(
        &mut self,
        icc: &[u8],
        layout: PixelLayout,
        from_cmyk: bool,
        pixels: &[u8],
        out: &mut Vec<u8>,
    ) -> ColorOutcome {
        let space = profile_space(icc);
        if let Some(mismatch) = profile_mismatch(space, layout, from_cmyk) {
            return ColorOutcome::Ignored(mismatch);
        }
        // CMYK has no alpha and reaches us as uncalibrated RGB (module docs).
        let source_layout = if space == ProfileSpace::Cmyk {
            PixelLayout::Rgba
        } else {
            layout
        };
        let transform = match self.transform(icc, space, source_layout) {
            Ok(Cached::Transform(t)) => t,
            Ok(Cached::Identity) => return ColorOutcome::AlreadySrgb,
            Err(reason) => return ColorOutcome::Ignored(reason),
        };
        out.clear();
        out.resize(pixels.len(), 0);
        let result = if space == ProfileSpace::Cmyk {
            rgb_to_naive_cmyk(pixels, &mut self.cmyk);
            transform.transform(&self.cmyk, out)
        } else {
            transform.transform(pixels, out)
        };
        match result {
            Ok(()) => ColorOutcome::Converted,
            Err(e) => ColorOutcome::Ignored(format!("colour transform failed: {e}")),
        }
    }

    /// Whether `icc` is an RGB profile that is sRGB in all but name (what
    /// [`ColorCache::convert_to_srgb`] answers `AlreadySrgb` for on RGB pixels); the transform
    /// it builds to tell is cached for that conversion.
    pub fn is_srgb(&mut self, icc: &[u8]) -> bool {
        let space = profile_space(icc);
        space == ProfileSpace::Rgb
            && matches!(
                self.transform(icc, space, PixelLayout::Rgb),
                Ok(Cached::Identity)
            )
    }

    /// The cached transform for `icc` read as `layout`, built on a miss.
    fn transform(
        &mut self,
        icc: &[u8],
        space: ProfileSpace,
        layout: PixelLayout,
    ) -> Result<Cached, String> {
        let mut hasher = DefaultHasher::new();
        icc.hash(&mut hasher);
        let hash = hasher.finish();
        self.clock += 1;
        let now = self.clock;
        if let Some(entry) = self
            .entries
            .iter_mut()
            .find(|e| e.hash == hash && e.layout == layout && e.profile == icc)
        {
            entry.last_used = now;
            return entry.transform.clone();
        }
        let transform = self.build(icc, space, layout);
        self.transforms_built += 1;
        let entry = CacheEntry {
            hash,
            layout,
            profile: icc.to_vec(),
            transform: transform.clone(),
            last_used: now,
        };
        if self.entries.len() < CACHE_ENTRIES {
            self.entries.push(entry);
        } else if let Some(oldest) = self.entries.iter_mut().min_by_key(|e| e.last_used) {
            *oldest = entry;
        }
        transform
    }

    fn build(
        &self,
        icc: &[u8],
        space: ProfileSpace,
        layout: PixelLayout,
    ) -> Result<Cached, String> {
        let source = ColorProfile::new_from_slice(icc)
            .map_err(|e| format!("unreadable ICC profile: {e}"))?;
        let (target, target_layout) = match space {
            ProfileSpace::Gray => (&self.srgb_gray, layout.moxcms()),
            ProfileSpace::Cmyk => (&self.srgb, Layout::Rgb),
            _ => (&self.srgb, layout.moxcms()),
        };
        // Perceptual first (the ICC default, what LUT-based CMYK profiles are made for); a
        // profile without perceptual tables falls back to relative colorimetric. Matrix/TRC
        // profiles give the same result for both.
        let mut last_error = String::new();
        for intent in [
            RenderingIntent::Perceptual,
            RenderingIntent::RelativeColorimetric,
        ] {
            let options = TransformOptions {
                rendering_intent: intent,
                ..TransformOptions::default()
            };
            match source.create_transform_8bit(layout.moxcms(), target, target_layout, options) {
                Ok(t) if space != ProfileSpace::Cmyk && is_identity(&*t, layout) => {
                    return Ok(Cached::Identity);
                }
                Ok(t) => return Ok(Cached::Transform(t)),
                Err(e) => last_error = e.to_string(),
            }
        }
        Err(format!("no transform to sRGB: {last_error}"))
    }
}

/// Whether `transform` maps every probe colour (8 levels a channel, 512 colours for RGB; all
/// 256 greys) to itself within 1/255: then the profile is sRGB in all but its bytes (most
/// embedded profiles are: "sRGB IEC61966-2.1", "GIMP built-in sRGB", ...) and converting would
/// only cost time.
fn is_identity(transform: &Transform8BitExecutor, layout: PixelLayout) -> bool {
    let probe: Vec<u8> = if layout.is_gray() {
        (0..=255u8)
            .flat_map(|g| {
                if layout.has_alpha() {
                    vec![g, 255]
                } else {
                    vec![g]
                }
            })
            .collect()
    } else {
        let levels = [0u8, 36, 73, 109, 146, 182, 219, 255];
        let mut p = Vec::with_capacity(512 * 4);
        for r in levels {
            for g in levels {
                for b in levels {
                    p.extend_from_slice(&[r, g, b]);
                    if layout.has_alpha() {
                        p.push(255);
                    }
                }
            }
        }
        p
    };
    let mut out = vec![0u8; probe.len()];
    transform.transform(&probe, &mut out).is_ok()
        && probe.iter().zip(&out).all(|(&a, &b)| a.abs_diff(b) <= 1)
}

/// Undoes the decoders' uncalibrated CMYK to RGB step (`R = 255 - C` after black is taken
/// out): K = 255 - max(R, G, B), C = (255 - R - K) / (255 - K) * 255, and so on. `out` gets 4
/// bytes a pixel, C M Y K, 0 = no ink (the ICC CMYK encoding).
fn rgb_to_naive_cmyk(rgb: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(rgb.len() / 3 * 4);
    for px in rgb.chunks_exact(3) {
        let max = px[0].max(px[1]).max(px[2]);
        let k = 255 - max;
        if max == 0 {
            out.extend_from_slice(&[0, 0, 0, 255]);
            continue;
        }
        let ink = |c: u8| -> u8 {
            // (max - c) / max, scaled to 0..=255, rounded.
            ((u32::from(max - c) * 255 + u32::from(max) / 2) / u32::from(max)) as u8
        };
        out.extend_from_slice(&[ink(px[0]), ink(px[1]), ink(px[2]), k]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_space_reads_the_header() {
        let p3 = ColorProfile::new_display_p3().encode().unwrap();
        assert_eq!(profile_space(&p3), ProfileSpace::Rgb);
        let gray = ColorProfile::new_gray_with_gamma(1.8).encode().unwrap();
        assert_eq!(profile_space(&gray), ProfileSpace::Gray);
        assert_eq!(profile_space(b"short"), ProfileSpace::Other);
    }

    #[test]
    fn naive_cmyk_inverts_the_decoder_formula() {
        let mut out = Vec::new();
        // white, black, pure cyan ink, a 50 % grey made of black ink only
        rgb_to_naive_cmyk(
            &[255, 255, 255, 0, 0, 0, 0, 255, 255, 128, 128, 128],
            &mut out,
        );
        assert_eq!(out, [0, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 0, 0, 0, 0, 127]);
    }

    #[test]
    fn p3_red_becomes_clipped_srgb_red_and_the_transform_is_cached() {
        let p3 = ColorProfile::new_display_p3().encode().unwrap();
        let mut cache = ColorCache::new();
        let mut out = Vec::new();
        let outcome = cache.convert_to_srgb(&p3, PixelLayout::Rgb, false, &[255, 0, 0], &mut out);
        assert_eq!(outcome, ColorOutcome::Converted);
        assert!(out[0] >= 250 && out[1] <= 20 && out[2] <= 20, "{out:?}");
        // Alpha passes through untouched.
        let outcome =
            cache.convert_to_srgb(&p3, PixelLayout::Rgba, false, &[255, 0, 0, 77], &mut out);
        assert_eq!(outcome, ColorOutcome::Converted);
        assert_eq!(out[3], 77);
        assert_eq!(cache.transforms_built, 2, "one per layout");
        // Same bytes again: no new transform.
        cache.convert_to_srgb(&p3, PixelLayout::Rgb, false, &[255, 255, 255], &mut out);
        assert_eq!(cache.transforms_built, 2);
        assert!(out.iter().all(|&c| c >= 253), "white stays white: {out:?}");
    }

    #[test]
    fn srgb_variants_are_left_alone() {
        let srgb = ColorProfile::new_srgb().encode().unwrap();
        let mut cache = ColorCache::new();
        let mut out = vec![7];
        let outcome =
            cache.convert_to_srgb(&srgb, PixelLayout::Rgba, false, &[1, 2, 3, 4], &mut out);
        assert_eq!(outcome, ColorOutcome::AlreadySrgb);
        assert_eq!(out, [7], "output untouched");
        let adobe = ColorProfile::new_adobe_rgb().encode().unwrap();
        let outcome =
            cache.convert_to_srgb(&adobe, PixelLayout::Rgb, false, &[0, 200, 0], &mut out);
        assert_eq!(outcome, ColorOutcome::Converted, "Adobe RGB is not sRGB");
    }

    #[test]
    fn unusable_profiles_are_ignored() {
        let mut cache = ColorCache::new();
        let mut out = vec![7];
        let junk = [0u8; 200];
        let outcome = cache.convert_to_srgb(&junk, PixelLayout::Rgb, false, &[1, 2, 3], &mut out);
        assert!(matches!(outcome, ColorOutcome::Ignored(_)), "{outcome:?}");
        let gray = ColorProfile::new_gray_with_gamma(1.8).encode().unwrap();
        let outcome = cache.convert_to_srgb(&gray, PixelLayout::Rgb, false, &[1, 2, 3], &mut out);
        assert!(matches!(outcome, ColorOutcome::Ignored(_)), "{outcome:?}");
        assert_eq!(out, [7], "output untouched");
    }

    #[test]
    fn a_profile_of_another_colour_space_than_the_pixels_is_never_applied() {
        use PixelLayout as L;
        use ProfileSpace::{Cmyk, Gray, Other, Rgb};
        // (profile, pixels, from a CMYK source, fits)
        let cases = [
            (Cmyk, L::Rgb, true, true),
            (Cmyk, L::Rgb, false, false),
            (Cmyk, L::Rgba, false, false),
            (Cmyk, L::Gray, false, false),
            (Rgb, L::Rgb, false, true),
            (Rgb, L::Rgba, false, true),
            (Rgb, L::Rgb, true, false),
            (Rgb, L::Gray, false, false),
            (Gray, L::Gray, false, true),
            (Gray, L::GrayAlpha, false, true),
            (Gray, L::Rgb, false, false),
            (Gray, L::Rgb, true, false),
            (Other, L::Rgb, false, false),
        ];
        for (space, layout, from_cmyk, fits) in cases {
            let why = profile_mismatch(space, layout, from_cmyk);
            assert_eq!(
                why.is_none(),
                fits,
                "{space:?} {layout:?} {from_cmyk}: {why:?}"
            );
        }
        // Through the cache: an RGB image with a CMYK profile is left alone.
        let mut cache = ColorCache::new();
        let cmyk = ColorProfile::new_srgb().encode().map(|mut p| {
            p[16..20].copy_from_slice(b"CMYK");
            p
        });
        let mut out = vec![9];
        let outcome = cache.convert_to_srgb(
            &cmyk.unwrap(),
            PixelLayout::Rgb,
            false,
            &[200, 60, 40],
            &mut out,
        );
        assert!(
            matches!(outcome, ColorOutcome::Ignored(ref w) if w.contains("CMYK")),
            "{outcome:?}"
        );
        assert_eq!(out, [9], "output untouched");
    }

    #[test]
    fn grey_with_a_grey_profile_stays_grey_with_the_srgb_curve() {
        // Gamma 1.0 (linear) grey 50 % is sRGB ~188.
        let linear = ColorProfile::new_gray_with_gamma(1.0).encode().unwrap();
        let mut cache = ColorCache::new();
        let mut out = Vec::new();
        let outcome =
            cache.convert_to_srgb(&linear, PixelLayout::Gray, false, &[0, 128, 255], &mut out);
        assert_eq!(outcome, ColorOutcome::Converted);
        assert_eq!(out.len(), 3);
        assert!(
            out[0] <= 1 && (186..=190).contains(&out[1]) && out[2] >= 254,
            "{out:?}"
        );
    }
}
