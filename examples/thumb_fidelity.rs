//! Bytes and fidelity of thumbnails on a folder of photos: JPEG q85 against WebP q80 (lossy) and
//! WebP lossless, each image decoded once for all three, with the luma PSNR of each output
//! against a reference made the slow way (full-size decode, Lanczos3 straight to the output
//! size, same colour conversion and orientation). Also times the colour conversion.
//!
//! Usage: cargo run --example thumb_fidelity -- LIST_OR_DIR [MAX_SIDE_PX]
//!   LIST_OR_DIR: a file with one image path a line (the corpus' images.list) or a folder.

use std::path::PathBuf;

use fast_image_resize as fr;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};
use shrinkwrap::engine::ThumbFormat;
use shrinkwrap::engine::kinds::thumbs::color::{ColorCache, ColorMode, PixelLayout};
use shrinkwrap::engine::kinds::thumbs::metadata::MetadataPolicy;
use shrinkwrap::engine::kinds::thumbs::render::{OutputRequest, orient};
use shrinkwrap::engine::kinds::thumbs::thumbnail::{ThumbScratch, make_thumbnails};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let src = PathBuf::from(
        args.get(1)
            .map_or("/tmp/shrinkwrap-corpus/images.list", |s| s),
    );
    let side: u32 = args.get(2).map_or(Ok(256), |s| s.parse())?;
    let paths: Vec<PathBuf> = if src.is_dir() {
        let mut v: Vec<_> = std::fs::read_dir(&src)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        v.sort();
        v
    } else {
        std::fs::read_to_string(&src)?
            .lines()
            .filter(|l| !l.is_empty())
            .map(PathBuf::from)
            .collect()
    };
    let req = |format, quality, lossless| OutputRequest {
        size: side.into(),
        fit: shrinkwrap::engine::Fit::Contain,
        upscale: false,
        format,
        quality,
        lossless,
        metadata: MetadataPolicy::Strip,
        color: ColorMode::ConvertToSrgb,
    };
    let requests = [
        req(ThumbFormat::Jpeg, 85, false),
        req(ThumbFormat::Webp, 80, false),
        req(ThumbFormat::Webp, 80, true),
    ];
    let mut scratch = ThumbScratch::default();
    let mut colors = ColorCache::new();
    let mut totals = [0u64; 3];
    let mut worst = [
        (f64::INFINITY, String::new()),
        (f64::INFINITY, String::new()),
    ];
    let mut with_icc = 0;
    let (mut convert_ns, mut convert_px, mut converts) = (0u64, 0u64, 0u32);
    let (mut build_ns, mut builds) = (0u64, 0u32);
    let mut outcomes = std::collections::BTreeMap::new();
    println!(
        "image\tjpeg_q85_bytes\twebp_q80_bytes\twebp_lossless_bytes\tpsnr_jpeg_db\tpsnr_webp_db"
    );
    for path in &paths {
        let data = std::fs::read(path)?;
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let outs = match make_thumbnails(&data, &requests, &mut scratch) {
            Ok(o) => o.outputs,
            Err(e) => {
                println!("{name}\terror: {e}");
                continue;
            }
        };
        let (reference, icc) = reference(&data, outs[0].width_px, outs[0].height_px, &mut colors)?;
        if let Some((icc, layout, pixels)) = icc {
            with_icc += 1;
            // Cost of one thumbnail's conversion: building the transform (a fresh cache), then
            // with the transform cached. Thread CPU time, so other load on the machine counts less.
            let mut out = Vec::new();
            let mut fresh = ColorCache::new();
            let t = cpu_ns();
            let outcome = fresh.convert_to_srgb(&icc, layout, from_cmyk(&icc), &pixels, &mut out);
            build_ns += cpu_ns() - t;
            builds += 1;
            *outcomes
                .entry(format!("{outcome:?}").chars().take(24).collect::<String>())
                .or_insert(0) += 1;
            if outcome == shrinkwrap::engine::kinds::thumbs::color::ColorOutcome::Converted {
                let t = cpu_ns();
                for _ in 0..20 {
                    colors.convert_to_srgb(&icc, layout, from_cmyk(&icc), &pixels, &mut out);
                }
                let ns = cpu_ns() - t;
                if std::env::var_os("FIDELITY_ICC").is_some() {
                    eprintln!(
                        "{name}\t{} bytes\t{:.1} ns/px",
                        icc.len(),
                        ns as f64 / (20 * pixels.len() / layout.channels()) as f64
                    );
                }
                convert_ns += ns;
                convert_px += 20 * (pixels.len() / layout.channels()) as u64;
                converts += 20;
            }
        }
        let mut psnr = [0.0; 2];
        for (i, out) in outs.iter().enumerate() {
            totals[i] += out.encoded.len() as u64;
            if i < 2 {
                let got = flatten(&image::load_from_memory(&out.encoded)?);
                psnr[i] = luma_psnr(&reference, &got);
                if psnr[i] < worst[i].0 {
                    worst[i] = (psnr[i], name.clone());
                }
            }
        }
        println!(
            "{name}\t{}\t{}\t{}\t{:.2}\t{:.2}",
            outs[0].encoded.len(),
            outs[1].encoded.len(),
            outs[2].encoded.len(),
            psnr[0],
            psnr[1]
        );
    }
    println!(
        "# images: {} ({} with an ICC profile), max side {side} px",
        paths.len(),
        with_icc
    );
    println!(
        "# total bytes: JPEG q85 {}  WebP q80 {}  WebP lossless {}  ->  WebP q80 / JPEG q85 = {:.3}",
        totals[0],
        totals[1],
        totals[2],
        totals[1] as f64 / totals[0] as f64
    );
    println!(
        "# worst luma PSNR: JPEG q85 {:.2} dB ({})  WebP q80 {:.2} dB ({})",
        worst[0].0, worst[0].1, worst[1].0, worst[1].1
    );
    println!("# colour outcomes of the images with a profile: {outcomes:?}");
    if builds > 0 {
        println!(
            "# colour, first image of a profile (parse + build + identity probe + convert): {:.2} ms CPU on average",
            build_ns as f64 / f64::from(builds) / 1e6
        );
    }
    if converts > 0 {
        println!(
            "# colour conversion, cached transform: {:.1} us CPU per thumbnail ({:.1} ns/px)",
            convert_ns as f64 / f64::from(converts) / 1000.0,
            convert_ns as f64 / convert_px as f64,
        );
    }
    Ok(())
}

/// The reference thumbnail: full-size decode, Lanczos3 straight to the output's size (before
/// orientation), the pipeline's colour conversion, orientation, alpha flattened on white.
/// Also returns the resized pre-conversion pixels with their profile, for timing.
#[allow(clippy::type_complexity)]
fn reference(
    data: &[u8],
    out_w: u32,
    out_h: u32,
    colors: &mut ColorCache,
) -> anyhow::Result<(RgbImage, Option<(Vec<u8>, PixelLayout, Vec<u8>)>)> {
    let mut decoder = ImageReader::new(std::io::Cursor::new(data))
        .with_guessed_format()?
        .into_decoder()?;
    let icc = decoder.icc_profile()?;
    let orientation = decoder.orientation()?;
    let img = DynamicImage::from_decoder(decoder)?;
    let (img, layout) = match img {
        DynamicImage::ImageLuma8(_) => (img, PixelLayout::Gray),
        DynamicImage::ImageLumaA8(_) => (img, PixelLayout::GrayAlpha),
        i if i.color().has_alpha() => (DynamicImage::ImageRgba8(i.to_rgba8()), PixelLayout::Rgba),
        i => (DynamicImage::ImageRgb8(i.to_rgb8()), PixelLayout::Rgb),
    };
    let swaps = matches!(
        orientation,
        image::metadata::Orientation::Rotate90
            | image::metadata::Orientation::Rotate270
            | image::metadata::Orientation::Rotate90FlipH
            | image::metadata::Orientation::Rotate270FlipH
    );
    let (tw, th) = if swaps {
        (out_h, out_w)
    } else {
        (out_w, out_h)
    };
    let pt = match layout {
        PixelLayout::Gray => fr::PixelType::U8,
        PixelLayout::GrayAlpha => fr::PixelType::U8x2,
        PixelLayout::Rgb => fr::PixelType::U8x3,
        PixelLayout::Rgba => fr::PixelType::U8x4,
    };
    let src = fr::images::ImageRef::new(img.width(), img.height(), img.as_bytes(), pt)?;
    let mut resized = vec![0u8; tw as usize * th as usize * layout.channels()];
    {
        let mut dst = fr::images::Image::from_slice_u8(tw, th, &mut resized, pt)?;
        let options = fr::ResizeOptions::new()
            .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3));
        fr::Resizer::new().resize(&src, &mut dst, &options)?;
    }
    let mut pixels = resized.clone();
    let mut timing = None;
    if let Some(icc) = icc {
        let mut converted = Vec::new();
        if colors.convert_to_srgb(&icc, layout, from_cmyk(&icc), &resized, &mut converted)
            == shrinkwrap::engine::kinds::thumbs::color::ColorOutcome::Converted
        {
            pixels = converted;
        }
        timing = Some((icc, layout, resized));
    }
    let mut upright = Vec::new();
    let (w, h) = orient(
        &pixels,
        layout.channels(),
        (tw, th),
        orientation,
        &mut upright,
    );
    let upright = if orientation == image::metadata::Orientation::NoTransforms {
        pixels
    } else {
        upright
    };
    let img = match layout {
        PixelLayout::Gray => DynamicImage::ImageLuma8(
            image::GrayImage::from_raw(w, h, upright).ok_or_else(|| anyhow::anyhow!("size"))?,
        ),
        PixelLayout::GrayAlpha => DynamicImage::ImageLumaA8(
            image::GrayAlphaImage::from_raw(w, h, upright)
                .ok_or_else(|| anyhow::anyhow!("size"))?,
        ),
        PixelLayout::Rgb => DynamicImage::ImageRgb8(
            RgbImage::from_raw(w, h, upright).ok_or_else(|| anyhow::anyhow!("size"))?,
        ),
        PixelLayout::Rgba => DynamicImage::ImageRgba8(
            image::RgbaImage::from_raw(w, h, upright).ok_or_else(|| anyhow::anyhow!("size"))?,
        ),
    };
    Ok((flatten(&img), timing))
}

/// CPU time of this thread, in nanoseconds.
fn cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the valid `ts`.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// RGB with any alpha composited over white (as JPEG output does).
fn flatten(img: &DynamicImage) -> RgbImage {
    let rgba = img.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        let a = u32::from(p[3]);
        let c = |v: u8| ((u32::from(v) * a + 255 * (255 - a) + 127) / 255) as u8;
        image::Rgb([c(p[0]), c(p[1]), c(p[2])])
    })
}

/// PSNR of BT.601 luma (Y = 0.299 R + 0.587 G + 0.114 B), in dB; infinite when identical.
fn luma_psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    if a.dimensions() != b.dimensions() {
        return f64::NAN;
    }
    let y = |p: &image::Rgb<u8>| {
        0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
    };
    let mse: f64 = a
        .pixels()
        .zip(b.pixels())
        .map(|(p, q)| (y(p) - y(q)).powi(2))
        .sum::<f64>()
        / f64::from(a.width() * a.height());
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// The image crate turns a CMYK JPEG into RGB itself; its CMYK profile then still describes the
/// source, as with our decoder.
fn from_cmyk(icc: &[u8]) -> bool {
    use shrinkwrap::engine::kinds::thumbs::color::{ProfileSpace, profile_space};
    profile_space(icc) == ProfileSpace::Cmyk
}
