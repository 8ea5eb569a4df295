//! JPEG encoding through libjpeg-turbo (the copy vendored in `mozjpeg-sys`, C only), with one
//! compressor per worker thread, created once and reused for every thumbnail.
//!
//! Owns: the libjpeg compressor, its destination manager (a growable buffer kept between
//! images) and the settings: libjpeg-turbo's own defaults, as Pillow and `cjpeg -baseline` use
//! them (mozjpeg's `JCP_FASTEST` profile: baseline sequential, Annex K quantisation tables
//! scaled by `jpeg_set_quality`, standard Huffman tables without an optimisation pass, no
//! trellis quantisation, 4:2:0 chroma subsampling for colour (ITU T.81 A.1.1, JFIF 1.02), the
//! accurate integer DCT, a JFIF APP0 header).
//! Must not touch: metadata (the caller adds it), pixels (it gets them ready), files.
//!
//! Errors: as the decoder in `jpeg`, libjpeg's `error_exit` unwinds (`extern "C-unwind"`,
//! `mozjpeg-sys` built with `-fexceptions`) with a [`CompressFailure`] payload; every call into
//! libjpeg is inside `catch_unwind`, after which the compressor is reset with
//! `jpeg_abort_compress` (libjpeg.txt, "Error handling").

use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use mozjpeg_sys as lj;

use super::super::jpeg::{describe, into_failure};

/// Bytes of the destination buffer the first image starts with; it doubles when full and keeps
/// its size for the next images.
const INITIAL_DEST_BYTES: usize = 64 * 1024;

/// Largest side libjpeg accepts, in pixels (JPEG_MAX_DIMENSION).
const MAX_SIDE_PX: u32 = 65_500;

/// The payload `error_exit` unwinds with: libjpeg's formatted message.
#[derive(Debug)]
struct CompressFailure(String);

/// Everything libjpeg points into; boxed so the addresses stay put.
#[repr(C)]
struct Inner {
    cinfo: lj::jpeg_compress_struct,
    err: lj::jpeg_error_mgr,
    dest: lj::jpeg_destination_mgr,
    /// The destination's bytes: `len()` is the usable size (zero-filled once, then reused).
    buf: Vec<u8>,
    /// Bytes of `buf` holding the finished file (set by `term_destination`).
    written: usize,
}

/// The pixel model handed to [`LibjpegEncoder::encode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Samples {
    /// One 8-bit sample per pixel; written as a one-component greyscale JPEG.
    Gray,
    /// R, G, B 8-bit samples; written as YCbCr 4:2:0.
    Rgb,
    /// Y, Cb, Cr 8-bit samples (JFIF's full-range BT.601); written as YCbCr 4:2:0 without a
    /// colour conversion.
    YCbCr,
}

/// A reusable libjpeg compressor (one per worker thread).
pub struct LibjpegEncoder {
    inner: Box<Inner>,
    /// Row pointers into the caller's pixels, reused between images.
    rows: Vec<*const u8>,
}

// SAFETY: the compressor has no thread affinity (no thread-local state in the C-only build);
// it is only ever used through `&mut self`, so it is never shared between threads. The row
// pointers are only valid during one `encode` call and never read outside it.
unsafe impl Send for LibjpegEncoder {}

unsafe extern "C-unwind" fn error_exit(cinfo: &mut lj::jpeg_common_struct) {
    // SAFETY: `err` is the error manager set up in `LibjpegEncoder::new`.
    let (code, message) = unsafe { describe(&mut *cinfo.err) };
    resume_unwind(Box::new(CompressFailure(format!(
        "{message} (libjpeg {code})"
    ))));
}

unsafe extern "C-unwind" fn output_message(_cinfo: &mut lj::jpeg_common_struct) {
    // Nothing is printed; the compressor's warnings (none for 8-bit baseline) are ignored.
}

/// The `Inner` a callback's `cinfo` belongs to (`client_data` points at it).
///
/// # Safety
/// `cinfo` must be the compressor of an `Inner` set up by [`LibjpegEncoder::new`].
unsafe fn inner_of(cinfo: &mut lj::jpeg_compress_struct) -> &mut Inner {
    // SAFETY: set in `new` to the boxed `Inner` that holds this `cinfo`.
    unsafe { &mut *cinfo.common.client_data.cast::<Inner>() }
}

unsafe extern "C-unwind" fn init_destination(cinfo: &mut lj::jpeg_compress_struct) {
    // SAFETY: our compressor.
    let inner = unsafe { inner_of(cinfo) };
    if inner.buf.len() < INITIAL_DEST_BYTES {
        inner.buf.resize(INITIAL_DEST_BYTES, 0);
    }
    inner.written = 0;
    inner.dest.next_output_byte = inner.buf.as_mut_ptr();
    inner.dest.free_in_buffer = inner.buf.len();
}

/// Called when the buffer is full: it doubles, keeping what is written.
unsafe extern "C-unwind" fn empty_output_buffer(
    cinfo: &mut lj::jpeg_compress_struct,
) -> lj::boolean {
    // SAFETY: our compressor.
    let inner = unsafe { inner_of(cinfo) };
    let used = inner.buf.len();
    inner.buf.resize(used * 2, 0);
    // SAFETY: `used` is within the resized buffer.
    inner.dest.next_output_byte = unsafe { inner.buf.as_mut_ptr().add(used) };
    inner.dest.free_in_buffer = inner.buf.len() - used;
    1
}

unsafe extern "C-unwind" fn term_destination(cinfo: &mut lj::jpeg_compress_struct) {
    // SAFETY: our compressor.
    let inner = unsafe { inner_of(cinfo) };
    inner.written = inner.buf.len() - inner.dest.free_in_buffer;
}

impl LibjpegEncoder {
    /// A compressor ready for any number of images.
    ///
    /// Errors: libjpeg's message when it cannot allocate its permanent structures.
    pub fn new() -> Result<LibjpegEncoder, String> {
        // SAFETY: all-zero is a valid (inert) bit pattern for these C structs: null pointers,
        // `None` callbacks and zero integers; the Vec is written over before use.
        let mut inner: Box<Inner> = Box::new(Inner {
            cinfo: unsafe { std::mem::zeroed() },
            err: unsafe { std::mem::zeroed() },
            dest: unsafe { std::mem::zeroed() },
            buf: Vec::new(),
            written: 0,
        });
        let result = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: standard libjpeg set-up on structs that stay at one address (boxed).
            unsafe {
                let inner_ptr: *mut Inner = &mut *inner;
                let inner = &mut *inner_ptr;
                lj::jpeg_std_error(&mut inner.err);
                inner.err.error_exit = Some(error_exit);
                inner.err.output_message = Some(output_message);
                inner.cinfo.common.err = &mut inner.err;
                lj::jpeg_create_compress(&mut inner.cinfo);
                inner.cinfo.common.client_data = inner_ptr.cast();
                inner.dest.init_destination = Some(init_destination);
                inner.dest.empty_output_buffer = Some(empty_output_buffer);
                inner.dest.term_destination = Some(term_destination);
                inner.cinfo.dest = &mut inner.dest;
            }
        }));
        match result {
            Ok(()) => Ok(LibjpegEncoder {
                inner,
                rows: Vec::new(),
            }),
            Err(payload) => {
                let failure: CompressFailure = into_failure(payload);
                // SAFETY: `jpeg_destroy` checks for a null `mem`; the error manager is set.
                unsafe { lj::jpeg_destroy_compress(&mut inner.cinfo) };
                Err(failure.0)
            }
        }
    }

    /// Encodes `pixels` (`samples`, `width_px` x `height_px`, rows unpadded) at `quality`
    /// (1-100, `jpeg_set_quality` with baseline-compatible tables) and appends the whole file
    /// to `out` (cleared first).
    ///
    /// Errors: libjpeg's message for sizes it refuses (0 or more than 65,500 px a side) or a
    /// `pixels` length that does not match.
    pub fn encode(
        &mut self,
        pixels: &[u8],
        samples: Samples,
        (width_px, height_px): (u32, u32),
        quality: u8,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let channels = match samples {
            Samples::Gray => 1,
            Samples::Rgb | Samples::YCbCr => 3,
        };
        let row_bytes = width_px as usize * channels;
        if width_px == 0
            || height_px == 0
            || width_px > MAX_SIDE_PX
            || height_px > MAX_SIDE_PX
            || pixels.len() != row_bytes * height_px as usize
        {
            return Err(format!(
                "cannot encode {} bytes as a {width_px}x{height_px} JPEG",
                pixels.len()
            ));
        }
        self.rows.clear();
        self.rows
            .extend(pixels.chunks_exact(row_bytes).map(<[u8]>::as_ptr));
        let rows = &self.rows;
        let inner = &mut *self.inner;
        let result = catch_unwind(AssertUnwindSafe(|| {
            let cinfo = &mut inner.cinfo;
            // SAFETY (whole block): `cinfo` was created in `new`; the row pointers point at
            // `height_px` rows of `row_bytes` bytes in `pixels`, which outlives the call;
            // libjpeg only reads through them (JSAMPARRAY is `*mut` in C for history).
            unsafe {
                cinfo.image_width = width_px;
                cinfo.image_height = height_px;
                cinfo.input_components = channels as c_int;
                cinfo.in_color_space = match samples {
                    Samples::Gray => lj::J_COLOR_SPACE::JCS_GRAYSCALE,
                    Samples::Rgb => lj::J_COLOR_SPACE::JCS_RGB,
                    Samples::YCbCr => lj::J_COLOR_SPACE::JCS_YCbCr,
                };
                lj::jpeg_c_set_int_param(
                    cinfo,
                    lj::J_INT_PARAM::JINT_COMPRESS_PROFILE,
                    lj::JCP_FASTEST as c_int,
                );
                lj::jpeg_set_defaults(cinfo);
                lj::jpeg_set_quality(cinfo, c_int::from(quality.clamp(1, 100)), 1);
                lj::jpeg_start_compress(cinfo, 1);
                while cinfo.next_scanline < height_px {
                    let at = cinfo.next_scanline as usize;
                    let written = lj::jpeg_write_scanlines(
                        cinfo,
                        rows.as_ptr().add(at).cast_mut().cast(),
                        height_px - cinfo.next_scanline,
                    );
                    if written == 0 {
                        break;
                    }
                }
                lj::jpeg_finish_compress(cinfo);
            }
        }));
        self.rows.clear();
        match result {
            Ok(()) => {
                let inner = &*self.inner;
                out.clear();
                out.extend_from_slice(&inner.buf[..inner.written]);
                Ok(())
            }
            Err(payload) => {
                let failure: CompressFailure = into_failure(payload);
                // SAFETY: created in `new`; abort only frees the image's memory.
                unsafe { lj::jpeg_abort_compress(&mut self.inner.cinfo) };
                Err(failure.0)
            }
        }
    }
}

impl Drop for LibjpegEncoder {
    fn drop(&mut self) {
        // SAFETY: created in `new`; destroy only frees memory and never raises an error.
        unsafe { lj::jpeg_destroy_compress(&mut self.inner.cinfo) };
    }
}
