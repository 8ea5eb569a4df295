//! Decoding one AV1 still image (the coded data of an AVIF item) through rav1d, with a safe API:
//! bytes in, planes of samples and the sequence header's colour description out.
//!
//! Owns: every `unsafe` call of the AVIF path (rav1d exports dav1d's C API as `extern "C"` Rust
//! functions): the decoder's settings (one thread: `n_threads` 1 and `max_frame_delay` 1, so
//! rav1d starts no thread of its own and the calling worker decodes; a frame size limit; no
//! logging), feeding the data, taking the picture, copying its planes out and freeing it.
//! Must not touch: the container, colour conversion, files, threads, job state, any front end.
//!
//! A panic inside rav1d cannot be caught: it happens inside an `extern "C"` function, where Rust
//! aborts the process instead of unwinding. rav1d 1.1 did panic on the error path after any
//! damaged frame (one flipped bit of a test sample was enough); the release used here
//! (`re_rav1d`, renamed `rav1d` in Cargo.toml) has that path fixed, and the tests flip every bit
//! of a sample. Damaged input is reported by rav1d as an error code, which this module turns
//! into [`Av1Error`].

use std::ptr::NonNull;

use rav1d::include::dav1d::data::Dav1dData;
use rav1d::include::dav1d::dav1d::{
    DAV1D_DECODEFRAMETYPE_KEY, Dav1dContext, Dav1dLogger, Dav1dSettings,
};
use rav1d::include::dav1d::picture::Dav1dPicture;
use rav1d::src::lib::{
    dav1d_close, dav1d_data_create, dav1d_data_unref, dav1d_default_settings, dav1d_get_picture,
    dav1d_open, dav1d_picture_unref, dav1d_send_data,
};

/// `EAGAIN` as rav1d returns it (negated): data must be taken before more is sent, or the
/// other way round.
const AGAIN: i32 = -libc::EAGAIN;
/// `ERANGE`: the frame is over the size limit.
const RANGE: i32 = -libc::ERANGE;
/// `ENOMEM`: an allocation failed.
const NOMEM: i32 = -libc::ENOMEM;

/// Why an AV1 image could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Av1Error {
    /// The frame is larger than the limit given (told by rav1d from the frame header, before it
    /// allocates the frame).
    TooLarge,
    /// rav1d could not allocate what it needed.
    OutOfMemory,
    /// The data is damaged, cut short, or not a still image rav1d can decode.
    Invalid(String),
}

/// How chroma is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Monochrome (4:0:0): no chroma planes.
    I400,
    /// 4:2:0: chroma at half width and half height.
    I420,
    /// 4:2:2: chroma at half width.
    I422,
    /// 4:4:4: chroma at full size.
    I444,
}

impl Layout {
    /// Horizontal and vertical chroma subsampling shifts.
    pub fn shifts(self) -> (u32, u32) {
        match self {
            Layout::I400 | Layout::I444 => (0, 0),
            Layout::I420 => (1, 1),
            Layout::I422 => (1, 0),
        }
    }
}

/// A decoded AV1 picture: planes of samples (8-bit samples are widened to `u16`), rows packed
/// without padding.
#[derive(Debug, Clone)]
pub struct Planes {
    pub width: u32,
    pub height: u32,
    /// 8, 10 or 12.
    pub bit_depth: u8,
    pub layout: Layout,
    /// Luma, `width * height` samples.
    pub y: Vec<u16>,
    /// Cb and Cr, each `chroma_width * chroma_height` samples (empty for [`Layout::I400`]).
    pub u: Vec<u16>,
    pub v: Vec<u16>,
    /// The sequence header's colour description (ITU-T H.273 code points).
    pub primaries: u16,
    pub transfer: u16,
    pub matrix: u16,
    pub full_range: bool,
}

impl Planes {
    /// The width and height of each chroma plane.
    pub fn chroma_size(&self) -> (u32, u32) {
        let (sx, sy) = self.layout.shifts();
        (
            (self.width + (1 << sx) - 1) >> sx,
            (self.height + (1 << sy) - 1) >> sy,
        )
    }
}

/// An open decoder, closed when dropped.
struct Decoder(Option<Dav1dContext>);

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: `self.0` is the context `dav1d_open` wrote (or `None`, which `dav1d_close`
        // accepts); `dav1d_close` takes it out of the option, so it is closed once.
        unsafe { dav1d_close(Some(NonNull::from(&mut self.0))) };
    }
}

/// Data handed to rav1d, released when dropped (rav1d empties it as it consumes it).
struct Data(Dav1dData);

impl Drop for Data {
    fn drop(&mut self) {
        // SAFETY: `self.0` is a `Dav1dData` made by `dav1d_data_create` (or emptied by
        // `dav1d_send_data`); `dav1d_data_unref` releases its buffer and leaves it empty.
        unsafe { dav1d_data_unref(Some(NonNull::from(&mut self.0))) };
    }
}

/// A picture rav1d returned, released when dropped.
struct Picture(Dav1dPicture);

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: `self.0` was written by `dav1d_get_picture` (or is the default, empty
        // picture); `dav1d_picture_unref` releases its references once and empties it.
        unsafe { dav1d_picture_unref(Some(NonNull::from(&mut self.0))) };
    }
}

/// Decodes the first frame of `obus` (an AV1 bitstream: sequence header and frame OBUs), on
/// this thread, refusing frames of more than `max_pixels` pixels before they are allocated.
pub fn decode(obus: &[u8], max_pixels: u64) -> Result<Planes, Av1Error> {
    if obus.is_empty() {
        return Err(Av1Error::Invalid("no coded data".to_owned()));
    }
    let mut settings = std::mem::MaybeUninit::<Dav1dSettings>::uninit();
    // SAFETY: the pointer is to a local, so not null; `dav1d_default_settings` writes a whole
    // `Dav1dSettings` to it (uninitialised memory is allowed), after which the value is
    // initialised.
    let mut settings = unsafe {
        dav1d_default_settings(NonNull::new_unchecked(settings.as_mut_ptr()));
        settings.assume_init()
    };
    settings.n_threads = 1;
    settings.max_frame_delay = 1;
    settings.frame_size_limit = u32::try_from(max_pixels).unwrap_or(u32::MAX);
    // Of a layered image, only the highest-quality layer is wanted.
    settings.all_layers = 0;
    // An AVIF image item is one key frame (AV1 Image File Format, 2.1); other frames would
    // need reference frames a still image does not have, and are skipped.
    settings.decode_frame_type = DAV1D_DECODEFRAMETYPE_KEY;
    // SAFETY: a logger with no callback is "no logging"; rav1d never calls it.
    settings.logger = unsafe { Dav1dLogger::new(None, None) };

    let mut decoder = Decoder(None);
    // SAFETY: both pointers are to live locals of the right types; `dav1d_open` reads the
    // settings and writes the context (or `None` on failure) to `decoder.0`.
    let opened = unsafe {
        dav1d_open(
            Some(NonNull::from(&mut decoder.0)),
            Some(NonNull::from(&mut settings)),
        )
    };
    if opened.0 < 0 {
        return Err(error_for(opened.0, "cannot start the AV1 decoder"));
    }
    // The handle is a copyable pointer; `decoder` keeps the context open and closes it.
    let context = decoder
        .0
        .ok_or_else(|| Av1Error::Invalid("cannot start the AV1 decoder".to_owned()))?;

    let mut data = Data(Dav1dData::default());
    // SAFETY: `data.0` is a live `Dav1dData`; `dav1d_data_create` writes a new one owning a
    // buffer of `obus.len()` bytes and returns that buffer (null on failure).
    let buffer = unsafe { dav1d_data_create(Some(NonNull::from(&mut data.0)), obus.len()) };
    if buffer.is_null() {
        return Err(Av1Error::OutOfMemory);
    }
    // SAFETY: `buffer` points to `obus.len()` writable bytes owned by `data`, which cannot
    // overlap `obus` (it was just allocated).
    unsafe { std::ptr::copy_nonoverlapping(obus.as_ptr(), buffer, obus.len()) };

    let mut picture = Picture(Dav1dPicture::default());
    loop {
        if data.0.sz > 0 {
            // SAFETY: `context` is open (owned by `decoder`, which outlives this call);
            // `data.0` is a live `Dav1dData`, which rav1d reads and updates as it consumes it.
            let sent = unsafe { dav1d_send_data(Some(context), Some(NonNull::from(&mut data.0))) };
            if sent.0 < 0 && sent.0 != AGAIN {
                return Err(error_for(sent.0, "damaged AV1 data"));
            }
        }
        // SAFETY: as above for `context`; `picture.0` is a live `Dav1dPicture` that rav1d
        // overwrites (it is empty: nothing is leaked).
        let got = unsafe { dav1d_get_picture(Some(context), Some(NonNull::from(&mut picture.0))) };
        if got.0 == 0 {
            break;
        }
        if got.0 != AGAIN {
            return Err(error_for(got.0, "damaged AV1 data"));
        }
        if data.0.sz == 0 {
            return Err(Av1Error::Invalid(
                "the AV1 data ends before a whole frame".to_owned(),
            ));
        }
    }
    copy_planes(&picture.0)
}

fn error_for(code: i32, what: &str) -> Av1Error {
    match code {
        RANGE => Av1Error::TooLarge,
        NOMEM => Av1Error::OutOfMemory,
        _ => Av1Error::Invalid(format!("{what} (AV1 decoder error {})", -code)),
    }
}

/// The planes of a picture rav1d returned, copied into packed `u16` rows.
fn copy_planes(picture: &Dav1dPicture) -> Result<Planes, Av1Error> {
    let bad = |why: &str| Av1Error::Invalid(format!("the AV1 decoder returned {why}"));
    let width = u32::try_from(picture.p.w).map_err(|_| bad("a negative width"))?;
    let height = u32::try_from(picture.p.h).map_err(|_| bad("a negative height"))?;
    if width == 0 || height == 0 {
        return Err(bad("an empty picture"));
    }
    let bit_depth = match picture.p.bpc {
        8 => 8,
        10 => 10,
        12 => 12,
        _ => return Err(bad("an unknown bit depth")),
    };
    let layout = match picture.p.layout {
        0 => Layout::I400,
        1 => Layout::I420,
        2 => Layout::I422,
        3 => Layout::I444,
        _ => return Err(bad("an unknown chroma layout")),
    };
    let seq = picture.seq_hdr.ok_or_else(|| bad("no sequence header"))?;
    // SAFETY: `seq_hdr` of a picture from `dav1d_get_picture` points to the sequence header
    // that the picture holds a reference to (`seq_hdr_ref`): valid while `picture` is.
    let seq = unsafe { seq.as_ref() };
    let (sx, sy) = layout.shifts();
    let chroma = (
        (width + (1 << sx) - 1) >> sx,
        (height + (1 << sy) - 1) >> sy,
    );
    let plane = |index: usize, (w, h): (u32, u32)| -> Result<Vec<u16>, Av1Error> {
        let stride = picture.stride[usize::from(index > 0)];
        let base = picture.data[index].ok_or_else(|| bad("a missing plane"))?;
        let stride = usize::try_from(stride).map_err(|_| bad("a negative stride"))?;
        let bytes_per_sample = if bit_depth == 8 { 1 } else { 2 };
        let row_bytes = w as usize * bytes_per_sample;
        if stride < row_bytes {
            return Err(bad("a stride shorter than a row"));
        }
        let mut out = Vec::new();
        out.try_reserve_exact(w as usize * h as usize)
            .map_err(|_| Av1Error::OutOfMemory)?;
        for row in 0..h as usize {
            // SAFETY: rav1d allocates each plane as `stride` bytes for each of its rows
            // (`h` rows of luma, `h >> sy` of chroma, rounded up), aligned to 64 bytes, and
            // keeps it while `picture` holds its reference; `row_bytes <= stride` was checked,
            // so the row lies inside the plane. 16-bit samples are native-endian `u16`s, and
            // the 64-byte-aligned base plus an even stride keeps them aligned.
            unsafe {
                let start = base.as_ptr().cast::<u8>().add(row * stride);
                if bytes_per_sample == 1 {
                    let samples = std::slice::from_raw_parts(start, w as usize);
                    out.extend(samples.iter().map(|&s| u16::from(s)));
                } else {
                    let samples = std::slice::from_raw_parts(start.cast::<u16>(), w as usize);
                    out.extend_from_slice(samples);
                }
            }
        }
        Ok(out)
    };
    let y = plane(0, (width, height))?;
    let (u, v) = if layout == Layout::I400 {
        (Vec::new(), Vec::new())
    } else {
        (plane(1, chroma)?, plane(2, chroma)?)
    };
    Ok(Planes {
        width,
        height,
        bit_depth,
        layout,
        y,
        u,
        v,
        primaries: u16::try_from(seq.pri).unwrap_or(2),
        transfer: u16::try_from(seq.trc).unwrap_or(2),
        matrix: u16::try_from(seq.mtrx).unwrap_or(2),
        full_range: seq.color_range != 0,
    })
}
