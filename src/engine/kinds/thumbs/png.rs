//! PNG reduced on load: the rows of a large PNG are box-averaged as the decoder hands them out,
//! so the whole image is never held, the way libjpeg's DCT scaling spares a JPEG's.
//!
//! A PNG has no reduced-resolution decode: every row must be inflated and unfiltered. What can
//! be spared is everything after: the full-size pixel buffer (for a 4K screenshot 33 MB of
//! fresh pages per image), the copy that drops an opaque alpha channel, and a box filter over
//! the full-size image. Here each row is added into one row of sums as it arrives (a row's
//! alpha is looked at first, to sum a wholly opaque row the fast way), and every `factor` rows
//! become one output row. The factor is the largest whole
//! number (at most [`MAX_FACTOR`]) that keeps the long side at or above what the thumbnails need
//! (the same rule as the JPEG scale), so Lanczos3 still makes the last step from at least
//! twice the target, as for every other format.
//!
//! With an alpha channel the colour is averaged weighted by alpha (premultiplied, then divided
//! back), so that the colour of fully transparent pixels, which is arbitrary, never bleeds into
//! the visible ones.
//!
//! Interlaced (Adam7) and 16-bit PNGs ([`layout`] tells them from the header), and images that
//! need no reduction ([`reduce_factor`] is 1), are left to the `image` crate's whole-image
//! decode.
//!
//! Owns: [`layout`], [`reduce_factor`], [`decode_reduced`]. Must not touch: metadata (the caller reads it
//! with the `image` crate, as for every raster format), files, the engine's budget.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat};

use crate::engine::kinds::thumbs::decoded::{MAX_DECODE_ALLOC_BYTES, alpha_is_opaque};
use crate::engine::model::error::ItemError;

/// The largest reduction, each way. It bounds the sums: with alpha, a block of
/// `MAX_FACTOR^2` pixels of 255 x 255 fits in 32 bits.
pub const MAX_FACTOR: u32 = 256;

/// What a PNG's header says about reducing it on load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PngLayout {
    /// Width and height, in pixels.
    pub size_px: (u32, u32),
    /// Samples per pixel after palette and low-bit-depth expansion (1 to 4).
    pub channels: u8,
    /// Bytes per sample after expansion: 1, or 2 for a 16-bit PNG.
    pub bytes_per_sample: u8,
    /// Whether its rows can be reduced as they come: not interlaced, and 8 bits per sample or
    /// fewer.
    pub streamable: bool,
}

/// Reads the layout from `data`'s header (IHDR and the chunks before the image data), under the
/// decode's own limits.
pub fn layout(data: &[u8]) -> Option<PngLayout> {
    let mut decoder = ::png::Decoder::new_with_limits(Cursor::new(data), decode_limits());
    decoder.set_transformations(::png::Transformations::EXPAND);
    let reader = decoder.read_info().ok()?;
    let info = reader.info();
    let (color, depth) = reader.output_color_type();
    Some(PngLayout {
        size_px: (info.width, info.height),
        channels: u8::try_from(color.samples()).ok()?,
        bytes_per_sample: if depth == ::png::BitDepth::Sixteen {
            2
        } else {
            1
        },
        streamable: !info.interlaced && depth == ::png::BitDepth::Eight,
    })
}

/// What the png crate may allocate: what any decoder may ([`MAX_DECODE_ALLOC_BYTES`]).
fn decode_limits() -> ::png::Limits {
    ::png::Limits {
        bytes: usize::try_from(MAX_DECODE_ALLOC_BYTES).unwrap_or(usize::MAX),
    }
}

/// By how much (each way) a `w` x `h` PNG is reduced on load when the decoded long side must
/// stay at or above `min_long_side_px`: the largest whole number up to [`MAX_FACTOR`] with
/// `ceil(long / factor) >= min_long_side_px`; 1 means the image is decoded whole.
pub fn reduce_factor(w: u32, h: u32, min_long_side_px: u32) -> u32 {
    let long = w.max(h);
    let min = min_long_side_px.max(1);
    if long <= min {
        return 1;
    }
    // ceil(long / f) >= min  <=>  long > (min - 1) * f  <=>  f <= (long - 1) / (min - 1).
    let largest = (long - 1).checked_div(min - 1).unwrap_or(u32::MAX);
    largest.clamp(1, MAX_FACTOR)
}

/// Decodes `data` reduced by [`reduce_factor`], or `Ok(None)` when it is not to be reduced
/// (factor 1, interlaced, 16-bit): the caller then decodes it whole. The image is 8-bit grey,
/// grey and alpha, RGB or RGBA, as the `image` crate's decode would give; its alpha channel is
/// kept even when opaque (the caller drops it as for every format).
///
/// Errors as the `image` crate's PNG decoder gives them: a file cut short is
/// [`ItemError::Damaged`], anything else it refuses [`ItemError::BadImage`].
pub fn decode_reduced(
    data: &[u8],
    min_long_side_px: u32,
) -> Result<Option<DynamicImage>, ItemError> {
    let mut decoder = ::png::Decoder::new_with_limits(Cursor::new(data), decode_limits());
    decoder.set_transformations(::png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(map_png_error)?;
    let (w, h, interlaced) = {
        let info = reader.info();
        (info.width, info.height, info.interlaced)
    };
    let (color, depth) = reader.output_color_type();
    let factor = reduce_factor(w, h, min_long_side_px);
    if factor == 1 || interlaced || depth != ::png::BitDepth::Eight {
        return Ok(None);
    }
    let rows = (&mut reader, (w, h), factor);
    let image = match color.samples() {
        1 => DynamicImage::ImageLuma8(reduced::<image::Luma<u8>, 1, false>(rows)?),
        2 => DynamicImage::ImageLumaA8(reduced::<image::LumaA<u8>, 2, true>(rows)?),
        3 => DynamicImage::ImageRgb8(reduced::<image::Rgb<u8>, 3, false>(rows)?),
        4 => DynamicImage::ImageRgba8(reduced::<image::Rgba<u8>, 4, true>(rows)?),
        n => {
            return Err(ItemError::BadImage(format!(
                "PNG with {n} samples per pixel"
            )));
        }
    };
    Ok(Some(image))
}

/// The rows to reduce: the decoder positioned at the image data, the image's width and height,
/// and the factor.
type Rows<'r, 'd> = (&'r mut PngReader<'d>, (u32, u32), u32);

type PngReader<'d> = ::png::Reader<Cursor<&'d [u8]>>;

/// [`reduce_rows`] as an image of pixel type `P` (`C` samples, alpha last when `ALPHA`).
fn reduced<P: image::Pixel<Subpixel = u8>, const C: usize, const ALPHA: bool>(
    (reader, (w, h), factor): Rows<'_, '_>,
) -> Result<image::ImageBuffer<P, Vec<u8>>, ItemError> {
    let samples = reduce_rows::<C, ALPHA>(reader, (w, h), factor)?;
    image::ImageBuffer::from_raw(w.div_ceil(factor), h.div_ceil(factor), samples)
        .ok_or_else(|| ItemError::Internal("pixel buffer does not match its size".to_owned()))
}

/// Every row of `reader` (`w` x `h` pixels of `C` samples), box-averaged by `factor` each way;
/// the last block of a row or column averages what is there. With `ALPHA` the last sample is
/// alpha and the others are averaged weighted by it.
fn reduce_rows<const C: usize, const ALPHA: bool>(
    reader: &mut PngReader<'_>,
    (w, h): (u32, u32),
    factor: u32,
) -> Result<Vec<u8>, ItemError> {
    let f = factor as usize;
    let (w, h) = (w as usize, h as usize);
    let (out_w, out_h) = (w.div_ceil(f), h.div_ceil(f));
    let mut out = Vec::with_capacity(out_w * out_h * C);
    // Each sample column summed down the band (contiguous, so the adds run as vector
    // instructions), then each block's columns summed once per band. With alpha, the rows that
    // are wholly opaque (most, in most images) are summed plainly, their colour weighted by 255
    // when the band is emitted, and only the others weighted by their alpha as they come.
    let mut plain_sums = vec![0u16; w * C];
    let mut weighted_sums: Vec<u32> = Vec::new();
    let mut rows_in_band = 0usize;
    for y in 0..h {
        let row = reader
            .next_row()
            .map_err(map_png_error)?
            .ok_or_else(|| ItemError::Damaged("file is truncated".to_owned()))?;
        let row = row.data();
        if row.len() < w * C {
            return Err(ItemError::BadImage(
                "PNG row shorter than its width".to_owned(),
            ));
        }
        let row = &row[..w * C];
        if !ALPHA || alpha_is_opaque(row, C) {
            add_plain(row, &mut plain_sums);
        } else {
            if weighted_sums.is_empty() {
                weighted_sums.resize(w * C, 0);
            }
            add_weighted::<C>(row, &mut weighted_sums);
        }
        rows_in_band += 1;
        if rows_in_band == f || y + 1 == h {
            emit_row::<C, ALPHA>(
                (&mut plain_sums, &mut weighted_sums),
                (f, rows_in_band),
                &mut out,
            );
            rows_in_band = 0;
        }
    }
    // Past the last row the decoder reads the rest of the image data and checks it, as a
    // whole-image decode does: a file cut in its last bytes of data is refused alike.
    if reader.next_row().map_err(map_png_error)?.is_some() {
        return Err(ItemError::BadImage(
            "PNG with more rows than its height".to_owned(),
        ));
    }
    Ok(out)
}

/// Adds one row into the plain column sums. They are 16-bit: a band has at most
/// [`MAX_FACTOR`] rows of samples of at most 255 (65,280 fits), and 16-bit adds run twice as
/// many to a vector instruction as 32-bit ones (and with AVX2, when the processor has it, twice
/// as many again).
fn add_plain(row: &[u8], column_sums: &mut [u16]) {
    const _: () = assert!(MAX_FACTOR as usize * 255 <= u16::MAX as usize);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2 (checked just above).
        unsafe { add_plain_avx2(row, column_sums) };
        return;
    }
    add_plain_any(row, column_sums);
}

/// [`add_plain`] compiled for AVX2.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn add_plain_avx2(row: &[u8], column_sums: &mut [u16]) {
    add_plain_any(row, column_sums);
}

#[inline(always)]
fn add_plain_any(row: &[u8], column_sums: &mut [u16]) {
    for (sum, &sample) in column_sums.iter_mut().zip(row) {
        *sum += u16::from(sample);
    }
}

/// Adds one row into the column sums, its colour samples weighted by its alpha.
fn add_weighted<const C: usize>(row: &[u8], column_sums: &mut [u32]) {
    for (sum, px) in column_sums.chunks_exact_mut(C).zip(row.chunks_exact(C)) {
        let alpha = u32::from(px[C - 1]);
        for c in 0..C - 1 {
            sum[c] += u32::from(px[c]) * alpha;
        }
        sum[C - 1] += alpha;
    }
}

/// Turns a band's column sums into one output row (each block of `f` columns, the last what
/// is left; rounded to nearest) and clears them. With `ALPHA`, the colour of the plainly
/// summed (opaque) rows counts 255 times, as if weighted by their alpha.
fn emit_row<const C: usize, const ALPHA: bool>(
    (plain_sums, weighted_sums): (&mut [u16], &mut [u32]),
    (f, rows): (usize, usize),
    out: &mut Vec<u8>,
) {
    let rounded = |sum: u32, count: u32| ((sum + count / 2) / count) as u8;
    for (bx, block) in plain_sums.chunks_mut(f * C).enumerate() {
        let mut sum = [0u32; C];
        for px in block.chunks_exact(C) {
            for c in 0..C {
                sum[c] += u32::from(px[c]);
            }
        }
        let count = (block.len() / C * rows) as u32;
        block.fill(0);
        if ALPHA {
            for s in &mut sum[..C - 1] {
                *s *= 255;
            }
            if let Some(weighted) = weighted_sums.chunks_mut(f * C).nth(bx) {
                for px in weighted.chunks_exact(C) {
                    for c in 0..C {
                        sum[c] += px[c];
                    }
                }
                weighted.fill(0);
            }
            let alpha_sum = sum[C - 1];
            for &s in &sum[..C - 1] {
                out.push(if alpha_sum == 0 {
                    0
                } else {
                    rounded(s, alpha_sum)
                });
            }
            out.push(rounded(alpha_sum, count));
        } else {
            out.extend(sum.iter().map(|&s| rounded(s, count)));
        }
    }
}

/// The words the `image` crate gives the same failures (see `decode::map_image_error`).
fn map_png_error(e: ::png::DecodingError) -> ItemError {
    match e {
        ::png::DecodingError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            ItemError::Damaged("file is truncated".to_owned())
        }
        ::png::DecodingError::LimitsExceeded => {
            ItemError::BadImage("exceeds decoding limits (Memory limit exceeded)".to_owned())
        }
        other => ItemError::BadImage(
            image::ImageError::Decoding(image::error::DecodingError::new(
                ImageFormat::Png.into(),
                other,
            ))
            .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::ImageEncoder;

    fn png(w: u32, h: u32, color: image::ExtendedColorType, pixels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(pixels, w, h, color)
            .unwrap();
        out
    }

    fn samples(w: u32, h: u32, channels: usize, seed: u32) -> Vec<u8> {
        (0..w as usize * h as usize * channels)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
            .collect()
    }

    /// The box average by its definition, one output sample at a time.
    fn box_average(px: &[u8], (w, h): (usize, usize), c: usize, f: usize, alpha: bool) -> Vec<u8> {
        let (ow, oh) = (w.div_ceil(f), h.div_ceil(f));
        let mut out = Vec::new();
        for oy in 0..oh {
            for ox in 0..ow {
                let mut sums = vec![0u64; c];
                let mut count = 0u64;
                for y in oy * f..((oy + 1) * f).min(h) {
                    for x in ox * f..((ox + 1) * f).min(w) {
                        let p = &px[(y * w + x) * c..][..c];
                        count += 1;
                        let a = if alpha { u64::from(p[c - 1]) } else { 1 };
                        for k in 0..c {
                            let is_alpha = alpha && k == c - 1;
                            sums[k] += if is_alpha { a } else { u64::from(p[k]) * a };
                        }
                    }
                }
                for k in 0..c {
                    let is_alpha = alpha && k == c - 1;
                    let weight = if !alpha || is_alpha {
                        count
                    } else {
                        sums[c - 1]
                    };
                    out.push((sums[k] + weight / 2).checked_div(weight).unwrap_or(0) as u8);
                }
            }
        }
        out
    }

    /// An Adam7-interlaced 8-bit RGB PNG (the `png` crate writes none): the seven passes'
    /// rows, each with filter type 0, in one zlib stream.
    fn interlaced_rgb_png(w: u32, h: u32, px: &[u8]) -> Vec<u8> {
        use std::io::Write;
        const PASSES: [(usize, usize, usize, usize); 7] = [
            (0, 0, 8, 8),
            (4, 0, 8, 8),
            (0, 4, 4, 8),
            (2, 0, 4, 4),
            (0, 2, 2, 4),
            (1, 0, 2, 2),
            (0, 1, 1, 2),
        ];
        let (wu, hu) = (w as usize, h as usize);
        let mut raw = Vec::new();
        for (x0, y0, dx, dy) in PASSES {
            if x0 >= wu || y0 >= hu {
                continue;
            }
            for y in (y0..hu).step_by(dy) {
                raw.push(0);
                for x in (x0..wu).step_by(dx) {
                    raw.extend_from_slice(&px[(y * wu + x) * 3..][..3]);
                }
            }
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&raw).unwrap();
        let idat = z.finish().unwrap();
        let chunk = |out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]| {
            out.extend_from_slice(&(body.len() as u32).to_be_bytes());
            out.extend_from_slice(kind);
            out.extend_from_slice(body);
            let mut crc = crc32fast::Hasher::new();
            crc.update(kind);
            crc.update(body);
            out.extend_from_slice(&crc.finalize().to_be_bytes());
        };
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 1]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &idat);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    #[test]
    fn the_factor_keeps_the_long_side_at_or_above_the_minimum() {
        for (w, h, min) in [
            (3840, 2160, 512),
            (1000, 3000, 512),
            (600, 400, 512),
            (513, 2, 512),
            (1025, 10, 512),
            (1024, 10, 512),
            (100_000, 10, 2),
            (70_000, 5, 0),
            (7, 7, 1),
        ] {
            let f = reduce_factor(w, h, min);
            let long = w.max(h);
            assert!((1..=MAX_FACTOR).contains(&f), "{w}x{h} min {min}: {f}");
            if f > 1 {
                assert!(
                    long.div_ceil(f) >= min.max(1),
                    "{w}x{h} min {min}: {f} too large"
                );
            }
            if f < MAX_FACTOR && long > min.max(1) {
                assert!(
                    long.div_ceil(f + 1) < min.max(1),
                    "{w}x{h} min {min}: {f} too small"
                );
            }
        }
        assert_eq!(reduce_factor(3840, 2160, 512), 7);
        assert_eq!(reduce_factor(600, 400, 512), 1);
    }

    #[test]
    fn every_colour_type_reduces_to_the_box_average_at_uneven_sizes() {
        use image::ExtendedColorType as E;
        for (color, c, alpha) in [
            (E::L8, 1, false),
            (E::La8, 2, true),
            (E::Rgb8, 3, false),
            (E::Rgba8, 4, true),
        ] {
            for (w, h, min) in [
                (61u32, 47u32, 10u32),
                (64, 64, 16),
                (200, 9, 20),
                (9, 200, 40),
            ] {
                let px = samples(w, h, c, w * 31 + h);
                let f = reduce_factor(w, h, min) as usize;
                assert!(f > 1);
                let got = decode_reduced(&png(w, h, color, &px), min)
                    .unwrap()
                    .unwrap();
                let (ow, oh) = (w.div_ceil(f as u32), h.div_ceil(f as u32));
                assert_eq!((got.width(), got.height()), (ow, oh), "{color:?} {w}x{h}");
                assert_eq!(got.color().channel_count() as usize, c);
                let want = box_average(&px, (w as usize, h as usize), c, f, alpha);
                assert_eq!(got.as_bytes(), &want[..], "{color:?} {w}x{h} by {f}");
            }
        }
    }

    #[test]
    fn opaque_and_translucent_rows_mixed_in_a_band_average_as_one() {
        // RGBA and grey-alpha images whose rows alternate wholly opaque and translucent, at a
        // size whose bands and blocks are uneven.
        use image::ExtendedColorType as E;
        for (color, c) in [(E::Rgba8, 4usize), (E::La8, 2)] {
            let (w, h) = (53u32, 41u32);
            let mut px = samples(w, h, c, 7);
            for (y, row) in px.chunks_exact_mut(w as usize * c).enumerate() {
                if y % 3 != 1 {
                    for p in row.chunks_exact_mut(c) {
                        p[c - 1] = 255;
                    }
                }
            }
            let f = reduce_factor(w, h, 8) as usize;
            let got = decode_reduced(&png(w, h, color, &px), 8).unwrap().unwrap();
            let want = box_average(&px, (w as usize, h as usize), c, f, true);
            assert_eq!(got.as_bytes(), &want[..], "{color:?} by {f}");
        }
    }

    #[test]
    fn column_sums_add_as_defined_in_every_build() {
        for (c, seed) in [(1usize, 3u32), (2, 5), (3, 7), (4, 11)] {
            let row = samples(333, 1, c, seed);
            let mut plain = vec![7u16; row.len()];
            let mut expected = plain.clone();
            add_plain(&row, &mut plain);
            add_plain_any(&row, &mut expected);
            assert_eq!(plain, expected, "{c} samples");
        }
        for (c, seed) in [(2usize, 13u32), (4, 17)] {
            let row = samples(333, 1, c, seed);
            let mut weighted = vec![9u32; row.len()];
            if c == 2 {
                add_weighted::<2>(&row, &mut weighted);
            } else {
                add_weighted::<4>(&row, &mut weighted);
            }
            let by_definition: Vec<u32> = row
                .chunks_exact(c)
                .flat_map(|px| {
                    let alpha = u32::from(px[c - 1]);
                    px.iter().enumerate().map(move |(i, &v)| {
                        9 + if i == c - 1 {
                            alpha
                        } else {
                            u32::from(v) * alpha
                        }
                    })
                })
                .collect();
            assert_eq!(weighted, by_definition, "{c} samples");
        }
    }

    #[test]
    fn transparent_pixels_lend_no_colour() {
        // Left half: transparent "red" (its colour is arbitrary); right half: opaque blue.
        let (w, h) = (8u32, 8u32);
        let mut px = Vec::new();
        for _ in 0..h {
            for x in 0..w {
                px.extend_from_slice(if x < 4 {
                    &[255, 0, 0, 0]
                } else {
                    &[0, 0, 255, 255]
                });
            }
        }
        let got = decode_reduced(&png(w, h, image::ExtendedColorType::Rgba8, &px), 1)
            .unwrap()
            .unwrap();
        // One block: half covered, all of its colour blue.
        assert_eq!((got.width(), got.height()), (1, 1));
        assert_eq!(got.as_bytes(), &[0, 0, 255, 128]);
    }

    #[test]
    fn palette_and_low_bit_depth_pngs_are_expanded_first() {
        // A 2-bit palette image with transparency, written with the png crate directly.
        let (w, h) = (40u32, 30u32);
        let mut out = Vec::new();
        {
            let mut enc = ::png::Encoder::new(&mut out, w, h);
            enc.set_color(::png::ColorType::Indexed);
            enc.set_depth(::png::BitDepth::Two);
            enc.set_palette(vec![0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
            enc.set_trns(vec![255, 128, 0, 255]);
            let mut writer = enc.write_header().unwrap();
            let row_bytes = (w as usize * 2).div_ceil(8);
            let data: Vec<u8> = (0..row_bytes * h as usize)
                .map(|i| (i * 37 % 256) as u8)
                .collect();
            writer.write_image_data(&data).unwrap();
        }
        let whole = image::load_from_memory(&out).unwrap().to_rgba8();
        let got = decode_reduced(&out, 10).unwrap().unwrap();
        let f = reduce_factor(w, h, 10) as usize;
        let want = box_average(whole.as_raw(), (w as usize, h as usize), 4, f, true);
        assert_eq!(got.as_bytes(), &want[..]);
    }

    #[test]
    fn interlaced_sixteen_bit_and_small_pngs_are_left_to_the_whole_decode() {
        let px = samples(64, 64, 3, 1);
        let plain = png(64, 64, image::ExtendedColorType::Rgb8, &px);
        assert!(
            decode_reduced(&plain, 64).unwrap().is_none(),
            "no reduction needed"
        );
        let wide: Vec<u8> = samples(64, 64, 6, 2);
        let sixteen = png(64, 64, image::ExtendedColorType::Rgb16, &wide);
        assert!(decode_reduced(&sixteen, 8).unwrap().is_none());
        assert!(!layout(&sixteen).unwrap().streamable);
        let out = interlaced_rgb_png(64, 64, &px);
        // Written right: the whole decode reads it back.
        assert_eq!(
            image::load_from_memory(&out).unwrap().to_rgb8().as_raw(),
            &px
        );
        assert!(decode_reduced(&out, 8).unwrap().is_none());
        assert!(!layout(&out).unwrap().streamable);
        assert!(layout(&plain).unwrap().streamable);
    }

    #[test]
    fn cut_and_damaged_pngs_are_errors_not_panics() {
        let px = samples(300, 200, 4, 3);
        let whole = png(300, 200, image::ExtendedColorType::Rgba8, &px);
        for cut in [40, whole.len() / 3, whole.len() / 2, whole.len() - 20] {
            let cut_file = &whole[..cut];
            match decode_reduced(cut_file, 16) {
                Err(ItemError::Damaged(_) | ItemError::BadImage(_)) => {}
                // Only the end chunk is missing: every row is there, and the whole decode
                // reads it too.
                Ok(Some(_)) if image::load_from_memory(cut_file).is_ok() => {}
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        for at in (60..whole.len()).step_by(397) {
            let mut bad = whole.clone();
            bad[at] ^= 0x20;
            // Any outcome but a panic; a flip in an ancillary bit may still decode.
            let _ = decode_reduced(&bad, 16);
        }
    }
}
