//! AVIF input: the HEIF container read with heifer's parser (`heifer-isobmff`, MIT OR
//! Apache-2.0), the AV1 images decoded by rav1d through [`super::av1`], behind the cargo feature
//! `avif`.
//!
//! Owns: refusing oversized images from the container's `ispe` (or a grid's output size) before
//! anything is decoded; the primary image, a single `av01` item or a `grid` of them (decoded
//! tile by tile into the canvas); YUV to RGB for 8, 10 and 12 bits, 4:2:0, 4:2:2, 4:4:4 and
//! monochrome, full and limited range, with the matrix of the `nclx` colour box or else of the
//! AV1 sequence header (BT.601, BT.709, BT.2020, FCC, SMPTE 240, YCgCo, identity = GBR), chroma
//! upsampled bilinearly from centred samples; the auxiliary alpha image (premultiplied or not);
//! the container's `clap`/`irot`/`imir` in their order (HEIF says they win over any EXIF
//! orientation); the colour space of the pixels (the ICC profile is handed to the colour stage;
//! `nclx` primaries and transfer other than sRGB's become an ICC profile made by moxcms for the
//! same stage; PQ and HLG, which need tone mapping, keep their coded values as the HEIC path
//! does); the EXIF and XMP items; and turning errors into per-file errors.
//! Must not touch: files, threads (rav1d decodes on the calling worker), resampling, ICC colour
//! conversion, encoding, job state, any front end.

use heifer_isobmff::boxes::{ColorInfo, Grid, Property};
use heifer_isobmff::{HeifFile, ItemId};
use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, RgbImage, RgbaImage};

use crate::engine::kinds::thumbs::av1::{self, Av1Error, Layout, Planes};
use crate::engine::kinds::thumbs::decoded::{Decoded, MAX_PIXELS, check_size, drop_opaque_alpha};
use crate::engine::kinds::thumbs::guard::quietly;
use crate::engine::model::error::ItemError;

/// The auxiliary type of alpha planes (ISO/IEC 23008-12, MIAF).
const ALPHA_URNS: [&str; 2] = [
    "urn:mpeg:mpegB:cicp:systems:auxiliary:alpha",
    "urn:mpeg:hevc:2015:auxid:1",
];

/// Decodes the primary image of an AVIF file. Panics of our own code and of the container
/// parser are caught and reported as [`ItemError::Damaged`], without a message on stderr.
pub fn decode_avif(data: &[u8]) -> Result<Decoded, ItemError> {
    quietly(|| decode_unguarded(data)).unwrap_or_else(|panic| {
        Err(ItemError::Damaged(format!(
            "the AVIF decoder stopped: {panic}"
        )))
    })
}

fn container_error(e: heifer_isobmff::Error) -> ItemError {
    ItemError::Damaged(format!("AVIF: {e}"))
}

fn av1_error(e: Av1Error) -> ItemError {
    match e {
        Av1Error::TooLarge => {
            ItemError::Damaged("AVIF: the coded image is larger than its header says".to_owned())
        }
        Av1Error::OutOfMemory => {
            ItemError::BadImage("exceeds decoding limits (AVIF: out of memory)".to_owned())
        }
        Av1Error::Invalid(why) => ItemError::Damaged(format!("AVIF: {why}")),
    }
}

/// The size the primary image will have before its crop and rotation: a grid's output size, or
/// the image's `ispe`.
fn canvas_size(file: &HeifFile<'_>, id: ItemId) -> Result<Option<(u32, u32)>, ItemError> {
    let item = file.item(id).map_err(container_error)?;
    if item.item_type.0 == *b"grid" {
        let grid = file.grid(id).map_err(container_error)?;
        return Ok(Some((grid.output_width, grid.output_height)));
    }
    file.image_size(id).map_err(container_error)
}

/// The primary image's width and height as stored (its `ispe`, or a grid's output size), read
/// from the container alone; `None` when the container cannot be read here (the decoder then
/// says why).
pub(crate) fn stored_size_px(data: &[u8]) -> Option<(u32, u32)> {
    quietly(|| {
        let file = HeifFile::parse(data).ok()?;
        canvas_size(&file, file.primary_id).ok()?
    })
    .ok()
    .flatten()
}

/// Colour information from an item's `colr` boxes.
#[derive(Default)]
struct ColourBoxes {
    icc: Option<Vec<u8>>,
    nclx: Option<Nclx>,
}

/// ITU-T H.273 code points, from a `colr` box of type `nclx` or the AV1 sequence header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Nclx {
    primaries: u16,
    transfer: u16,
    matrix: u16,
    full_range: bool,
}

fn colour_boxes(file: &HeifFile<'_>, id: ItemId) -> ColourBoxes {
    let mut boxes = ColourBoxes::default();
    if let Ok(props) = file.item_properties(id) {
        for p in props {
            match p {
                Property::Color(ColorInfo::Icc(icc)) if !icc.is_empty() => {
                    boxes.icc.get_or_insert_with(|| icc.clone());
                }
                Property::Color(ColorInfo::Nclx {
                    primaries,
                    transfer,
                    matrix,
                    full_range,
                }) => {
                    boxes.nclx.get_or_insert(Nclx {
                        primaries: *primaries,
                        transfer: *transfer,
                        matrix: *matrix,
                        full_range: *full_range,
                    });
                }
                _ => {}
            }
        }
    }
    boxes
}

/// The alpha image of `id`, if any: an auxiliary image of an alpha type referencing it.
fn alpha_item(file: &HeifFile<'_>, id: ItemId) -> Option<ItemId> {
    file.referencing_items(id, b"auxl").into_iter().find(|&aux| {
        file.item_properties(aux).is_ok_and(|mut props| {
            props.any(|p| matches!(p, Property::AuxiliaryType(urn) if ALPHA_URNS.contains(&urn.trim_end_matches('\0'))))
        })
    })
}

fn decode_unguarded(data: &[u8]) -> Result<Decoded, ItemError> {
    let file = HeifFile::parse(data).map_err(|e| {
        // An image sequence (`avis`) need not have a still image (a `meta` box) at all.
        if data.get(8..12) == Some(b"avis")
            && e == heifer_isobmff::Error::MissingBox(heifer_isobmff::FourCC(*b"meta"))
        {
            ItemError::BadImage("an AVIF image sequence without a still image".to_owned())
        } else {
            container_error(e)
        }
    })?;
    let id = file.primary_id;
    let stored = canvas_size(&file, id)?;
    if let Some((w, h)) = stored {
        check_size(u64::from(w), u64::from(h))?;
    }
    let colour = colour_boxes(&file, id);
    // A grid without its own `colr` takes its first tile's (as its ICC profile does).
    let colour = if colour.icc.is_none() && colour.nclx.is_none() {
        match file.referenced_items(id, b"dimg").first() {
            Some(&tile) if tile != id => colour_boxes(&file, tile),
            _ => colour,
        }
    } else {
        colour
    };

    let mut rgb = item_pixels(&file, id, Plane::Colour(colour.nclx))?;
    let (w, h) = (rgb.width, rgb.height);
    let alpha = match alpha_item(&file, id) {
        Some(alpha_id) => {
            let alpha = item_pixels(&file, alpha_id, Plane::Alpha)?;
            if (alpha.width, alpha.height) != (w, h) {
                return Err(ItemError::Damaged(format!(
                    "AVIF: the alpha plane is {}x{}, the image {w}x{h}",
                    alpha.width, alpha.height
                )));
            }
            Some(alpha.samples)
        }
        None => None,
    };
    let premultiplied = alpha.is_some()
        && alpha_item(&file, id).is_some_and(|a| file.referenced_items(id, b"prem").contains(&a));

    let image = match alpha {
        Some(alpha) => {
            let channels = if rgb.grey { 1 } else { 3 };
            let mut rgba = Vec::new();
            rgba.try_reserve_exact(w as usize * h as usize * 4)
                .map_err(|_| too_big(w, h))?;
            for (px, &a) in rgb.samples.chunks_exact(channels).zip(&alpha) {
                let mut c = [px[0], px[channels / 2], px[channels - 1]];
                if premultiplied {
                    for v in &mut c {
                        *v = unpremultiply(*v, a);
                    }
                }
                rgba.extend_from_slice(&[c[0], c[1], c[2], a]);
            }
            rgb.samples = Vec::new();
            DynamicImage::ImageRgba8(RgbaImage::from_raw(w, h, rgba).ok_or_else(mismatch)?)
        }
        None if rgb.grey => DynamicImage::ImageLuma8(
            GrayImage::from_raw(w, h, std::mem::take(&mut rgb.samples)).ok_or_else(mismatch)?,
        ),
        None => DynamicImage::ImageRgb8(
            RgbImage::from_raw(w, h, std::mem::take(&mut rgb.samples)).ok_or_else(mismatch)?,
        ),
    };
    let image = transform(&file, id, image);

    // What the pixels are in: the ICC profile if there is one; else the nclx colour (of the
    // container, else of the AV1 sequence header), as a profile when it is not sRGB's.
    let icc_profile = colour
        .icc
        .or_else(|| colour.nclx.or(rgb.coded_colour).and_then(profile_for));
    // Metadata that cannot be read is treated as absent: the pixels are what matters.
    let exif = file.exif(id).ok().flatten();
    let xmp = file.xmp(id).ok().flatten();
    let (iw, ih) = (image.width(), image.height());
    Ok(Decoded {
        image: drop_opaque_alpha(image)?,
        orientation: Orientation::NoTransforms,
        icc_profile,
        exif,
        xmp,
        source_size_px: stored.unwrap_or((iw, ih)),
        warnings: Vec::new(),
        pixels_are_cmyk_converted: false,
    })
}

fn mismatch() -> ItemError {
    ItemError::Internal("AVIF pixels do not match their size".to_owned())
}

fn too_big(w: u32, h: u32) -> ItemError {
    ItemError::BadImage(format!(
        "exceeds decoding limits (AVIF: no memory for {w}x{h} pixels)"
    ))
}

fn unpremultiply(c: u8, a: u8) -> u8 {
    if a == 0 {
        0
    } else {
        ((u32::from(c) * 255 + u32::from(a) / 2) / u32::from(a)).min(255) as u8
    }
}

/// Which plane an item gives.
#[derive(Clone, Copy)]
enum Plane {
    /// Colour: RGB or grey, with the container's `nclx` (which wins over the sequence header).
    Colour(Option<Nclx>),
    /// Alpha: the luma plane, expanded to full range.
    Alpha,
}

/// 8-bit pixels of an item before its transforms.
struct Pixels {
    width: u32,
    height: u32,
    /// Grey (one sample a pixel) or RGB (three); alpha items are grey.
    grey: bool,
    samples: Vec<u8>,
    /// The colour description of the AV1 sequence header (of the first tile of a grid).
    coded_colour: Option<Nclx>,
}

/// Decodes an `av01` item, or a `grid` of them tile by tile into its canvas.
fn item_pixels(file: &HeifFile<'_>, id: ItemId, plane: Plane) -> Result<Pixels, ItemError> {
    let item = file.item(id).map_err(container_error)?;
    match &item.item_type.0 {
        b"av01" => {
            let obus = file.item_data(id).map_err(container_error)?;
            let ispe = file.image_size(id).map_err(container_error)?;
            // The frame may not be larger than the item says (a damaged frame header could
            // claim far more, and rav1d would allocate and decode it all).
            let limit = ispe.map_or(MAX_PIXELS, |(w, h)| {
                (u64::from(w) * u64::from(h)).clamp(1, MAX_PIXELS)
            });
            let planes = av1::decode(&obus, limit).map_err(av1_error)?;
            drop(obus);
            if let Some((w, h)) = ispe
                && (w, h) != (planes.width, planes.height)
            {
                // Writers agree on this; a file where they differ is damaged.
                return Err(ItemError::Damaged(format!(
                    "AVIF: the image is {}x{}, its header says {w}x{h}",
                    planes.width, planes.height
                )));
            }
            Ok(convert(&planes, plane))
        }
        b"grid" => {
            let grid = file.grid(id).map_err(container_error)?;
            grid_pixels(file, id, &grid, plane)
        }
        other => Err(ItemError::BadImage(format!(
            "AVIF: an image of type `{}`, which is not read",
            String::from_utf8_lossy(other)
        ))),
    }
}

fn grid_pixels(
    file: &HeifFile<'_>,
    id: ItemId,
    grid: &Grid,
    plane: Plane,
) -> Result<Pixels, ItemError> {
    let (w, h) = (grid.output_width, grid.output_height);
    check_size(u64::from(w), u64::from(h))?;
    let tiles = file.referenced_items(id, b"dimg");
    let expected = usize::from(grid.rows) * usize::from(grid.columns);
    if tiles.len() != expected {
        return Err(ItemError::Damaged(format!(
            "AVIF: a grid of {}x{} tiles lists {}",
            grid.columns,
            grid.rows,
            tiles.len()
        )));
    }
    let mut canvas: Option<Pixels> = None;
    let (mut tile_w, mut tile_h) = (0, 0);
    for (index, &tile_id) in tiles.iter().enumerate() {
        if tile_id == id || file.item(tile_id).map_err(container_error)?.item_type.0 != *b"av01" {
            return Err(ItemError::Damaged(
                "AVIF: a grid tile is not an AV1 image".to_owned(),
            ));
        }
        let tile = item_pixels(file, tile_id, plane)?;
        let canvas = match &mut canvas {
            Some(c) => c,
            None => {
                (tile_w, tile_h) = (tile.width, tile.height);
                // The tiles must cover the canvas (ISO/IEC 23008-12, 6.6.2.3.1).
                if u64::from(tile_w) * u64::from(grid.columns) < u64::from(w)
                    || u64::from(tile_h) * u64::from(grid.rows) < u64::from(h)
                {
                    return Err(ItemError::Damaged(
                        "AVIF: the grid's tiles do not cover its image".to_owned(),
                    ));
                }
                let channels = if tile.grey { 1 } else { 3 };
                let mut samples = Vec::new();
                samples
                    .try_reserve_exact(w as usize * h as usize * channels)
                    .map_err(|_| too_big(w, h))?;
                samples.resize(w as usize * h as usize * channels, 0);
                canvas.insert(Pixels {
                    width: w,
                    height: h,
                    grey: tile.grey,
                    samples,
                    coded_colour: tile.coded_colour,
                })
            }
        };
        if (tile.width, tile.height) != (tile_w, tile_h) || tile.grey != canvas.grey {
            return Err(ItemError::Damaged(
                "AVIF: the grid's tiles differ in size or colour".to_owned(),
            ));
        }
        let channels = if tile.grey { 1 } else { 3 };
        let x0 = (index % usize::from(grid.columns)) as u64 * u64::from(tile_w);
        let y0 = (index / usize::from(grid.columns)) as u64 * u64::from(tile_h);
        if x0 >= u64::from(w) || y0 >= u64::from(h) {
            continue;
        }
        let (x0, y0) = (x0 as usize, y0 as usize);
        let copy_w = (w as usize - x0).min(tile_w as usize) * channels;
        let rows = (h as usize - y0).min(tile_h as usize);
        for row in 0..rows {
            let from = row * tile_w as usize * channels;
            let to = ((y0 + row) * w as usize + x0) * channels;
            canvas.samples[to..to + copy_w].copy_from_slice(&tile.samples[from..from + copy_w]);
        }
    }
    canvas.ok_or_else(|| ItemError::Damaged("AVIF: a grid without tiles".to_owned()))
}

/// YUV (or Y) planes to 8-bit RGB, grey or alpha samples.
fn convert(planes: &Planes, plane: Plane) -> Pixels {
    let coded = Nclx {
        primaries: planes.primaries,
        transfer: planes.transfer,
        matrix: planes.matrix,
        full_range: planes.full_range,
    };
    let (w, h) = (planes.width as usize, planes.height as usize);
    let max = f32::from((1u16 << planes.bit_depth) - 1);
    let scale = f32::from(1u16 << (planes.bit_depth - 8));
    let nclx = match plane {
        Plane::Colour(Some(nclx)) => nclx,
        _ => coded,
    };
    // Luma (and, for identity, every channel) to 0..1.
    let (y_offset, y_range) = if nclx.full_range {
        (0.0, max)
    } else {
        (16.0 * scale, 219.0 * scale)
    };
    let to_8 = |v: f32| (v * 255.0 + 0.5).clamp(0.0, 255.0) as u8;
    let luma = |s: u16| (f32::from(s) - y_offset) / y_range;
    // In the colour loop below, multiplied by reciprocals, not divided: four divides a pixel
    // made its speed depend on whether the compiler packed them into one vector divide.
    let per_y_range = 1.0 / y_range;

    if matches!(plane, Plane::Alpha) || planes.layout == Layout::I400 {
        return Pixels {
            width: planes.width,
            height: planes.height,
            grey: true,
            samples: planes.y.iter().map(|&s| to_8(luma(s))).collect(),
            coded_colour: Some(coded),
        };
    }
    let (c_offset, c_range) = if nclx.full_range {
        ((max + 1.0) / 2.0, max)
    } else {
        (128.0 * scale, 224.0 * scale)
    };
    let identity_offset = if nclx.full_range { 0.0 } else { 16.0 * scale };
    let per_c_range = 1.0 / c_range;
    let chroma = |s: f32| (s - c_offset) * per_c_range;
    let (cw, ch) = planes.chroma_size();
    let (sx, sy) = planes.layout.shifts();
    // For each luma column/row: the two chroma samples around it and the weight of the second
    // (chroma samples centred between their luma samples).
    let taps = |n: usize, shift: u32, limit: u32| -> Vec<(usize, usize, f32)> {
        (0..n)
            .map(|i| {
                if shift == 0 {
                    return (i, i, 0.0);
                }
                let pos = ((i as f32 + 0.5) / (1 << shift) as f32 - 0.5).max(0.0);
                let a = (pos.floor() as usize).min(limit as usize - 1);
                let b = (a + 1).min(limit as usize - 1);
                (a, b, pos - a as f32)
            })
            .collect()
    };
    let xs = taps(w, sx, cw);
    let ys = taps(h, sy, ch);
    let (kr, kb) = match nclx.matrix {
        1 => (0.2126, 0.0722),
        4 => (0.30, 0.11),
        7 => (0.212, 0.087),
        9 | 10 => (0.2627, 0.0593),
        // BT.601 (5, 6), and what libavif also takes for unspecified or unsupported matrices.
        _ => (0.299, 0.114),
    };
    let per_kg = 1.0 / (1.0 - kr - kb);
    let mut samples = Vec::with_capacity(w * h * 3);
    // The matrix is chosen once, outside the loops over the pixels (one loop each).
    match nclx.matrix {
        // Identity: the planes are G, B, R.
        0 => {
            let n = |s: f32| (s - identity_offset) * per_y_range;
            to_rgb(planes, &xs, &ys, &mut samples, |yv, u, v| {
                [n(v), n(yv), n(u)]
            });
        }
        // YCgCo: Cg in the first chroma plane, Co in the second.
        8 => to_rgb(planes, &xs, &ys, &mut samples, |yv, u, v| {
            let (yy, cg, co) = ((yv - y_offset) * per_y_range, chroma(u), chroma(v));
            let t = yy - cg;
            [t + co, yy + cg, t - co]
        }),
        _ => to_rgb(planes, &xs, &ys, &mut samples, |yv, u, v| {
            let (yy, cb, cr) = ((yv - y_offset) * per_y_range, chroma(u), chroma(v));
            let r = yy + 2.0 * (1.0 - kr) * cr;
            let b = yy + 2.0 * (1.0 - kb) * cb;
            let g = (yy - kr * r - kb * b) * per_kg;
            [r, g, b]
        }),
    }
    Pixels {
        width: planes.width,
        height: planes.height,
        grey: false,
        samples,
        coded_colour: Some(coded),
    }
}

/// Fills `samples` with 8-bit RGB from `planes`: `matrix` turns a luma sample and the two
/// chroma samples (interpolated bilinearly at the pixel: `xs` and `ys` are the two chroma
/// columns/rows around each pixel and the weight of the second) into RGB from 0 to 1. The
/// chroma rows are interpolated vertically once per row of pixels, then horizontally per pixel.
fn to_rgb(
    planes: &Planes,
    xs: &[(usize, usize, f32)],
    ys: &[(usize, usize, f32)],
    samples: &mut Vec<u8>,
    matrix: impl Fn(f32, f32, f32) -> [f32; 3],
) {
    let w = planes.width as usize;
    let cw = planes.chroma_size().0 as usize;
    let to_8 = |v: f32| (v * 255.0 + 0.5).clamp(0.0, 255.0) as u8;
    let mut u_row = vec![0f32; cw];
    let mut v_row = vec![0f32; cw];
    // Written in place (one row of pixels at a time, a pixel a chunk): no capacity check per
    // pixel, which kept the loop's speed at the mercy of how the compiler inlined `extend`.
    let start = samples.len();
    samples.resize(start + w * ys.len() * 3, 0);
    let out_rows = samples[start..].chunks_exact_mut(w * 3);
    for ((y, &(y0, y1, fy)), out_row) in ys.iter().enumerate().zip(out_rows) {
        let rows = |plane: &[u16], out: &mut [f32]| {
            let (top, bottom) = (&plane[y0 * cw..][..cw], &plane[y1 * cw..][..cw]);
            for ((o, &a), &b) in out.iter_mut().zip(top).zip(bottom) {
                *o = f32::from(a) * (1.0 - fy) + f32::from(b) * fy;
            }
        };
        rows(&planes.u, &mut u_row);
        rows(&planes.v, &mut v_row);
        let luma = &planes.y[y * w..][..w];
        for ((&yv, &(x0, x1, fx)), px) in luma.iter().zip(xs).zip(out_row.chunks_exact_mut(3)) {
            let u = u_row[x0] * (1.0 - fx) + u_row[x1] * fx;
            let v = v_row[x0] * (1.0 - fx) + v_row[x1] * fx;
            let [r, g, b] = matrix(f32::from(yv), u, v);
            px.copy_from_slice(&[to_8(r), to_8(g), to_8(b)]);
        }
    }
}

/// The container's crop, rotation and mirroring of `id`, in the order of its properties.
fn transform(file: &HeifFile<'_>, id: ItemId, mut image: DynamicImage) -> DynamicImage {
    let Ok(props) = file.item_properties(id) else {
        return image;
    };
    for p in props {
        image = match *p {
            Property::CleanAperture {
                width,
                height,
                horiz_offset,
                vert_offset,
            } => match clean_aperture(
                (image.width(), image.height()),
                width,
                height,
                horiz_offset,
                vert_offset,
            ) {
                Some((x, y, cw, ch)) => image.crop_imm(x, y, cw, ch),
                None => image,
            },
            // Anti-clockwise quarter turns.
            Property::Rotation(1) => image.rotate270(),
            Property::Rotation(2) => image.rotate180(),
            Property::Rotation(3) => image.rotate90(),
            Property::Mirror(true) => image.flipv(),
            Property::Mirror(false) => image.fliph(),
            _ => image,
        };
    }
    image
}

/// The rectangle (left, top, width, height) of a `clap` box on an image of `(w, h)` pixels
/// (ISO/IEC 14496-12 12.1.4: the centre is offset from the image's centre), rounded as libheif
/// does; `None` when it is invalid or outside the image (the crop is then not applied).
fn clean_aperture(
    (w, h): (u32, u32),
    width: (u32, u32),
    height: (u32, u32),
    horiz: (i32, u32),
    vert: (i32, u32),
) -> Option<(u32, u32, u32, u32)> {
    let ratio = |n: f64, d: u32| (d != 0).then(|| n / f64::from(d));
    let cw = ratio(f64::from(width.0), width.1)?;
    let ch = ratio(f64::from(height.0), height.1)?;
    let cx = ratio(f64::from(horiz.0), horiz.1)? + (f64::from(w) - 1.0) / 2.0;
    let cy = ratio(f64::from(vert.0), vert.1)? + (f64::from(h) - 1.0) / 2.0;
    let left = (cx - (cw - 1.0) / 2.0).round();
    let top = (cy - (ch - 1.0) / 2.0).round();
    let (cw, ch) = (cw.round(), ch.round());
    let fits = left >= 0.0
        && top >= 0.0
        && cw >= 1.0
        && ch >= 1.0
        && left + cw <= f64::from(w)
        && top + ch <= f64::from(h);
    fits.then_some((left as u32, top as u32, cw as u32, ch as u32))
}

/// An ICC profile describing pixels in the given primaries and transfer, made by moxcms, for
/// the colour stage; `None` for sRGB (primaries BT.709 or unspecified, transfer sRGB, BT.709,
/// BT.601 or unspecified: what viewers take as sRGB), and for PQ and HLG (HDR: the coded values
/// are kept, as viewers without HDR support show them).
fn profile_for(nclx: Nclx) -> Option<Vec<u8>> {
    let srgb_primaries = matches!(nclx.primaries, 1 | 2);
    let srgb_transfer = matches!(nclx.transfer, 1 | 2 | 6 | 13 | 14 | 15);
    if srgb_primaries && srgb_transfer || matches!(nclx.transfer, 16 | 18) {
        return None;
    }
    let primaries = u8::try_from(if nclx.primaries == 2 {
        1
    } else {
        nclx.primaries
    })
    .ok()?;
    let transfer = u8::try_from(if nclx.transfer == 2 {
        13
    } else {
        nclx.transfer
    })
    .ok()?;
    let cicp = moxcms::CicpProfile {
        color_primaries: moxcms::CicpColorPrimaries::try_from(primaries).ok()?,
        transfer_characteristics: moxcms::TransferCharacteristics::try_from(transfer).ok()?,
        matrix_coefficients: moxcms::MatrixCoefficients::try_from(0u8).ok()?,
        full_range: true,
    };
    let trc = moxcms::ToneReprCurve::try_from(cicp.transfer_characteristics).ok()?;
    let mut profile = moxcms::ColorProfile::new_srgb();
    // moxcms 0.8 returns false from this even when it succeeds; it sets the CICP it was given
    // only once the primaries are known, and the curves are set here in any case.
    profile.cicp = None;
    profile.update_rgb_colorimetry_from_cicp(cicp);
    profile.cicp?;
    profile.red_trc = Some(trc.clone());
    profile.green_trc = Some(trc.clone());
    profile.blue_trc = Some(trc);
    // The profile describes the RGB pixels made here: it carries no CICP of its own, which
    // would make a colour-managed reader apply it in place of the curves.
    profile.cicp = None;
    profile.encode().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_aperture_is_centred_and_a_bad_one_ignored() {
        // 100 x 80, crop 50 x 40 around the centre.
        assert_eq!(
            clean_aperture((100, 80), (50, 1), (40, 1), (0, 1), (0, 1)),
            Some((25, 20, 50, 40))
        );
        // Offset right by 10 and up by 4.
        assert_eq!(
            clean_aperture((100, 80), (50, 1), (40, 1), (10, 1), (-8, 2)),
            Some((35, 16, 50, 40))
        );
        assert_eq!(
            clean_aperture((100, 80), (50, 0), (40, 1), (0, 1), (0, 1)),
            None
        );
        assert_eq!(
            clean_aperture((100, 80), (150, 1), (40, 1), (0, 1), (0, 1)),
            None
        );
    }

    #[test]
    fn premultiplied_colour_is_divided_by_alpha() {
        assert_eq!(unpremultiply(64, 128), 128);
        assert_eq!(unpremultiply(200, 255), 200);
        assert_eq!(unpremultiply(10, 0), 0);
        assert_eq!(unpremultiply(200, 100), 255);
    }

    fn planes(bit_depth: u8, layout: Layout, full_range: bool, matrix: u16) -> Planes {
        Planes {
            width: 4,
            height: 2,
            bit_depth,
            layout,
            y: Vec::new(),
            u: Vec::new(),
            v: Vec::new(),
            primaries: 1,
            transfer: 13,
            matrix,
            full_range,
        }
    }

    #[test]
    fn yuv_becomes_the_right_rgb_at_every_depth_and_range() {
        // Pure red in BT.709: Y' = 0.2126, Cb = -0.1146, Cr = 0.5.
        let (y, cb, cr) = (0.2126f32, -0.114_572f32, 0.5f32);
        for depth in [8u8, 10, 12] {
            let scale = f32::from(1u16 << (depth - 8));
            let max = f32::from((1u16 << depth) - 1);
            for full in [true, false] {
                let q = |v: f32| v.round().clamp(0.0, max) as u16;
                let (ys, us, vs) = if full {
                    (
                        q(y * max),
                        q(cb * max + (max + 1.0) / 2.0),
                        q(cr * max + (max + 1.0) / 2.0),
                    )
                } else {
                    (
                        q(16.0 * scale + y * 219.0 * scale),
                        q(128.0 * scale + cb * 224.0 * scale),
                        q(128.0 * scale + cr * 224.0 * scale),
                    )
                };
                let mut p = planes(depth, Layout::I420, full, 1);
                p.y = vec![ys; 8];
                p.u = vec![us; 2];
                p.v = vec![vs; 2];
                let px = convert(&p, Plane::Colour(None));
                assert!(!px.grey);
                for rgb in px.samples.chunks(3) {
                    assert!(
                        rgb[0] >= 253 && rgb[1] <= 2 && rgb[2] <= 2,
                        "{depth} {full}: {rgb:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn identity_matrix_planes_are_g_b_r_and_monochrome_is_grey() {
        let mut p = planes(8, Layout::I444, true, 0);
        p.y = vec![10; 8];
        p.u = vec![20; 8];
        p.v = vec![30; 8];
        let px = convert(&p, Plane::Colour(None));
        assert_eq!(&px.samples[..3], &[30, 10, 20]);

        let mut p = planes(10, Layout::I400, false, 2);
        p.y = vec![64, 940, 502, 64, 64, 64, 64, 64];
        let px = convert(&p, Plane::Colour(None));
        assert!(px.grey);
        assert_eq!(&px.samples[..3], &[0, 255, 128]);
    }

    #[test]
    fn chroma_is_upsampled_between_its_samples() {
        // 4:2:2, two chroma columns: blue-ish on the left, red-ish on the right.
        let mut p = planes(8, Layout::I422, true, 1);
        p.y = vec![128; 8];
        p.u = vec![200, 56, 200, 56];
        p.v = vec![56, 200, 56, 200];
        let px = convert(&p, Plane::Colour(None));
        let reds: Vec<u8> = px.samples.chunks(3).take(4).map(|c| c[0]).collect();
        // Red rises from left to right, the middle two between the outer two.
        assert!(
            reds[0] <= reds[1] && reds[1] < reds[2] && reds[2] <= reds[3],
            "{reds:?}"
        );
    }

    #[test]
    fn srgb_needs_no_profile_and_p3_gets_one() {
        let nclx = |primaries, transfer| Nclx {
            primaries,
            transfer,
            matrix: 1,
            full_range: true,
        };
        assert_eq!(profile_for(nclx(1, 13)), None);
        assert_eq!(profile_for(nclx(2, 2)), None);
        assert_eq!(profile_for(nclx(9, 16)), None);
        let p3 = profile_for(nclx(12, 13)).expect("a Display P3 profile");
        let parsed = moxcms::ColorProfile::new_from_slice(&p3).unwrap();
        assert_eq!(parsed.color_space, moxcms::DataColorSpace::Rgb);
    }
}
