//! JPEG XL input through jxl-oxide (pure Rust, MIT OR Apache-2.0), behind the cargo feature `jxl`.
//!
//! Owns: refusing oversized images from the header before any frame is parsed, decoding under
//! an allocation limit ([`MAX_DECODE_ALLOC_BYTES`]), rendering the first keyframe to 8-bit pixels with the header's
//! orientation applied, the colour space the pixels are in (as an ICC profile for the colour
//! stage), the EXIF and XMP boxes, and turning the decoder's errors and panics into per-file
//! errors. JPEG transcodes are rendered like native files: their JPEG bitstream is never
//! reconstructed (some transcodes cannot be, and the pixels are all a thumbnail needs).
//! Must not touch: files, threads (the decoder runs on the calling worker, without a pool),
//! resampling, colour conversion, encoding, job state, any front end.

use image::DynamicImage;
use image::metadata::Orientation;
use jxl_bitstream::{Bitstream, ContainerParser, ParseEvent};
use jxl_oxide::{
    AllocTracker, ImageHeader, InitializeResult, JxlImage, JxlThreadPool, PixelFormat,
};
use jxl_oxide_common::Bundle;

use crate::engine::kinds::thumbs::decoded::{
    Decoded, MAX_DECODE_ALLOC_BYTES, check_size, drop_opaque_alpha,
};
use crate::engine::kinds::thumbs::guard::quietly;
use crate::engine::model::error::ItemError;

/// The header is looked for in the first bytes, fed in steps of this many.
const HEADER_STEP_BYTES: usize = 4096;

/// CICP of sRGB (primaries BT.709, sRGB transfer, RGB, full range): pixels that need no profile.
const SRGB_CICP: [u8; 4] = [1, 13, 0, 1];

/// Decodes the first frame of a JPEG XL file. Panics of the decoder are caught and reported
/// as [`ItemError::Damaged`], without a message on stderr.
pub fn decode_jxl(data: &[u8]) -> Result<Decoded, ItemError> {
    quietly(|| decode_unguarded(data)).unwrap_or_else(|panic| {
        Err(ItemError::Damaged(format!(
            "the JPEG XL decoder stopped: {panic}"
        )))
    })
}

/// A decoder error: over the allocation limit (jxl-oxide says "out of memory" or "failed to
/// allocate N byte(s)" when its tracker refuses), else damaged data.
fn damaged(e: impl std::fmt::Display) -> ItemError {
    let message = e.to_string();
    let lower = message.to_ascii_lowercase();
    if lower.contains("out of memory") || lower.contains("failed to allocate") {
        ItemError::BadImage(format!("exceeds decoding limits (JPEG XL: {message})"))
    } else {
        ItemError::Damaged(format!("JPEG XL: {message}"))
    }
}

/// The width and height in the codestream's header, read with jxl-oxide's own container parser
/// and header reader from as few bytes as it takes (steps of [`HEADER_STEP_BYTES`]), so that a
/// bomb is refused before jxl-oxide parses a frame.
pub(crate) fn header_size(data: &[u8]) -> Result<(u32, u32), ItemError> {
    let mut parser = ContainerParser::new();
    let mut codestream = Vec::new();
    let (mut at, mut step) = (0, HEADER_STEP_BYTES);
    while at < data.len() {
        let end = (at + step).min(data.len());
        for event in parser.feed_bytes(&data[at..end]) {
            if let ParseEvent::Codestream(bytes) = event.map_err(damaged)? {
                codestream.extend_from_slice(bytes);
            }
        }
        let consumed = parser.previous_consumed_bytes();
        at += consumed;
        match ImageHeader::parse(&mut Bitstream::new(&codestream), ()) {
            Ok(header) => return Ok((header.size.width, header.size.height)),
            Err(e) if e.unexpected_eof() => {}
            Err(e) => return Err(damaged(e)),
        }
        if consumed == 0 {
            if end == data.len() {
                break;
            }
            // The parser wants a larger piece before it moves on.
            step = step.saturating_mul(2);
        } else {
            step = HEADER_STEP_BYTES;
        }
    }
    // The reader looks a few bytes ahead: a header that ends right at the end of a tiny file
    // is read with zeros after it (a header really cut short stays an error later).
    codestream.extend_from_slice(&[0; 64]);
    match ImageHeader::parse(&mut Bitstream::new(&codestream), ()) {
        Ok(header) => Ok((header.size.width, header.size.height)),
        Err(_) => Err(ItemError::Damaged(
            "JPEG XL: the file ends inside its header".to_owned(),
        )),
    }
}

fn decode_unguarded(data: &[u8]) -> Result<Decoded, ItemError> {
    let stored_size_px = header_size(data)?;
    check_size(u64::from(stored_size_px.0), u64::from(stored_size_px.1))?;

    let tracker =
        AllocTracker::with_limit(usize::try_from(MAX_DECODE_ALLOC_BYTES).unwrap_or(usize::MAX));
    let mut uninit = JxlImage::builder()
        .pool(JxlThreadPool::none())
        .alloc_tracker(tracker)
        .build_uninit();
    // Fed as `read` does: the bytes a call does not take are given again with the next ones.
    let mut at = 0;
    let mut image = loop {
        let consumed = uninit.feed_bytes(&data[at..]).map_err(damaged)?;
        at += consumed;
        match uninit.try_init().map_err(damaged)? {
            InitializeResult::Initialized(image) => break image,
            InitializeResult::NeedMoreData(more) if consumed > 0 && at < data.len() => {
                uninit = more
            }
            InitializeResult::NeedMoreData(_) => {
                return Err(ItemError::Damaged(
                    "JPEG XL: the file ends inside its header".to_owned(),
                ));
            }
        }
    };
    while at < data.len() && !image.is_loading_done() {
        let consumed = image.feed_bytes(&data[at..]).map_err(damaged)?;
        if consumed == 0 {
            break;
        }
        at += consumed;
    }
    image.finalize().map_err(damaged)?;
    if image.num_loaded_keyframes() == 0 {
        return Err(ItemError::Damaged(
            "JPEG XL: the file ends before its first frame is complete".to_owned(),
        ));
    }
    let format = image.pixel_format();
    if format.has_black() {
        return Err(ItemError::BadImage(
            "CMYK JPEG XL images are not supported".to_owned(),
        ));
    }
    // What the rendered pixels are in: nothing to say for sRGB; otherwise the profile jxl-oxide
    // describes them with (the file's own ICC profile, or one made from its colour encoding).
    let icc_profile = match image.rendered_cicp() {
        Some(SRGB_CICP) => None,
        _ => Some(image.rendered_icc()),
    };
    let exif = match image.aux_boxes().first_exif() {
        Ok(jxl_oxide::AuxBoxData::Data(exif)) => {
            let payload = exif.payload();
            payload
                .get(exif.tiff_header_offset() as usize..)
                .map(<[u8]>::to_vec)
        }
        _ => None,
    };
    let xmp = match image.aux_boxes().first_xml() {
        jxl_oxide::AuxBoxData::Data(xmp) => Some(xmp.to_vec()),
        _ => None,
    };

    let render = image.render_frame(0).map_err(damaged)?;
    let mut stream = render.stream();
    let (w, h, channels) = (stream.width(), stream.height(), stream.channels());
    let mut pixels = vec![0u8; w as usize * h as usize * channels as usize];
    stream.write_to_buffer(&mut pixels);
    drop(render);
    let built = match (format, channels) {
        (PixelFormat::Gray, 1) => image::GrayImage::from_raw(w, h, pixels).map(DynamicImage::from),
        (PixelFormat::Graya, 2) => {
            image::GrayAlphaImage::from_raw(w, h, pixels).map(DynamicImage::from)
        }
        (PixelFormat::Rgb, 3) => image::RgbImage::from_raw(w, h, pixels).map(DynamicImage::from),
        (PixelFormat::Rgba, 4) => image::RgbaImage::from_raw(w, h, pixels).map(DynamicImage::from),
        _ => None,
    }
    .ok_or_else(|| {
        ItemError::Internal(format!(
            "JPEG XL pixels ({format:?}, {channels} channels) do not match their size"
        ))
    })?;
    Ok(Decoded {
        image: drop_opaque_alpha(built)?,
        // The renderer already turned the pixels upright by the codestream's orientation, which
        // JPEG XL says wins over any EXIF orientation.
        orientation: Orientation::NoTransforms,
        icc_profile,
        exif,
        xmp,
        source_size_px: stored_size_px,
        warnings: Vec::new(),
        pixels_are_cmyk_converted: false,
    })
}
