//! JPEG decoding through libjpeg-turbo (the copy vendored in `mozjpeg-sys`, compiled by the `cc`
//! crate from C only: no NASM, so no hand-written SIMD), behind a safe, reusable API.
//!
//! Owns: one libjpeg decompressor per worker (created once, reset between images), the
//! whole-image coefficient buffers of progressive and multi-scan files (libjpeg's virtual block
//! arrays, served from memory the decoder keeps between images: [`COEFFICIENTS_KEPT_MAX_BYTES`]), DCT-domain
//! scaling (`scale_num`/`scale_denom`, ITU T.81 A.3.3 IDCT evaluated on 1, 2 or 4 samples), the
//! arithmetic-coded processes (SOF9 sequential, SOF10 progressive; T.81 Annex D), CMYK/YCCK to
//! RGB, YCbCr handed over as coded when the caller can use it (no colour conversion), the
//! APP1/APP2 metadata (EXIF, XMP, ICC), and the rule that tells a JPEG that only lacks
//! its end-of-image marker from one cut short.
//! Must not touch: files, threads, `image` types or the engine's error enums (the caller maps
//! [`JpegError`]).
//!
//! Errors: libjpeg reports a fatal error by calling `error_exit`, which must not return. Ours
//! leaves by unwinding (`extern "C-unwind"`, `resume_unwind` with a [`LibjpegFailure`] payload,
//! so no panic hook runs and nothing is printed); `mozjpeg-sys`'s `unwinding` feature compiles the
//! C code with `-fexceptions` so the unwind crosses its frames soundly. Every call into libjpeg is
//! inside `catch_unwind`, after which the decompressor is reset with `jpeg_abort_decompress` (the
//! recovery that libjpeg.txt, "Error handling", documents). This needs `panic = "unwind"`,
//! which a compile-time check below enforces.

use std::ffi::{CStr, c_int, c_long};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use mozjpeg_sys as lj;

#[cfg(panic = "abort")]
compile_error!(
    "libjpeg's error_exit unwinds back to Rust: with panic = \"abort\" a damaged JPEG would abort \
     the process"
);

/// A progressive or multi-scan JPEG may have at most this many scans. Real encoders write about
/// ten; a hostile file can carry thousands of tiny scans, each re-walking the whole coefficient
/// buffer (CPU exhaustion, libjpeg-turbo's own `-maxscans` advice in its djpeg).
pub const MAX_SCANS: c_int = 1000;

/// What the caller wants from one decode.
#[derive(Debug, Clone, Copy)]
pub struct JpegRequest {
    /// The decoded long side is at least this (when the source is that large): the DCT scale is
    /// the smallest of 1/8, 1/4, 1/2, 1/1 that keeps `ceil(long side / denominator)` at or above it.
    pub min_long_side_px: u32,
    /// Frames with more pixels than this are refused before any pixel is decoded.
    pub max_pixels: u64,
    /// libjpeg's own working memory (coefficient buffers of progressive files) and the output
    /// buffer may each take at most this many bytes.
    pub max_alloc_bytes: u64,
}

/// The colour model of [`JpegImage::pixels`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpegPixels {
    /// One 8-bit sample per pixel.
    Luma8,
    /// Three 8-bit samples per pixel, R G B.
    Rgb8,
    /// Three 8-bit samples per pixel, Y Cb Cr as the file codes them (JFIF: ITU-R BT.601 with
    /// full-range luma and chroma centred on 128), without libjpeg's conversion to RGB.
    YCbCr8,
}

/// How the stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The EOI marker (T.81 B.2.1) was found.
    EndMarker,
    /// The data ran out without EOI, but every scan was complete and every component coded.
    MissingEndMarker,
}

/// A decoded JPEG.
#[derive(Debug)]
pub struct JpegImage {
    /// Decoded (possibly DCT-scaled) width and height, in pixels.
    pub width_px: u32,
    /// Decoded height, in pixels.
    pub height_px: u32,
    /// Width and height in the frame header (SOFn), in pixels.
    pub source_width_px: u32,
    /// Height in the frame header (before DCT scaling), in pixels.
    pub source_height_px: u32,
    /// Row-major pixels, no padding, in the model of `layout`.
    pub pixels: Vec<u8>,
    /// How the pixels are laid out (grey, RGB, or YCbCr when the caller allowed it).
    pub layout: JpegPixels,
    /// The source was CMYK or YCCK (4 components), converted to RGB without a colour profile
    /// (R = (255 - C)(255 - K) / 255 on the uninverted values). Adobe APP14 files store inverted
    /// CMYK (Photoshop's convention, followed by libvips and Pillow), which is undone first.
    pub converted_from_cmyk: bool,
    /// The first APP1 "Exif\0\0" block, from its TIFF header on (EXIF 2.3, 4.5.4).
    pub exif: Option<Vec<u8>>,
    /// The first APP1 XMP packet ("http://ns.adobe.com/xap/1.0/\0" namespace prefix removed;
    /// XMP part 3, 1.1.3).
    pub xmp: Option<Vec<u8>>,
    /// The ICC profile from the APP2 "ICC_PROFILE\0" chunks, joined in sequence-number order
    /// (ICC.1:2010 B.4). `None` when there is none, or a chunk is missing or repeated.
    pub icc_profile: Option<Vec<u8>>,
    /// How the stream ended (with or without its EOI marker).
    pub end: StreamEnd,
}

/// Why a JPEG could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JpegError {
    /// The data ends before the image does: cut inside a scan, before a scan, or in the header.
    #[error("JPEG data is truncated ({0})")]
    Truncated(&'static str),
    /// The frame is larger than [`JpegRequest::max_pixels`].
    #[error("{width_px}x{height_px} pixels")]
    TooManyPixels {
        /// The frame's width, in pixels.
        width_px: u32,
        /// The frame's height, in pixels.
        height_px: u32,
    },
    /// A buffer would exceed [`JpegRequest::max_alloc_bytes`].
    #[error("needs more than {limit_bytes} bytes of memory")]
    TooMuchMemory {
        /// The limit, in bytes.
        limit_bytes: u64,
    },
    /// A valid JPEG this build does not decode (12-bit samples, lossless process, unusual
    /// component counts).
    #[error("unsupported JPEG: {0}")]
    Unsupported(String),
    /// libjpeg refused the data (its message, and its `J_MESSAGE_CODE`).
    #[error("{message}")]
    Invalid {
        /// libjpeg's message code.
        code: c_int,
        /// libjpeg's message, filled in.
        message: String,
    },
}

/// The payload `error_exit` unwinds with: libjpeg's message code and text.
#[derive(Debug)]
struct LibjpegFailure {
    code: c_int,
    message: String,
}

/// libjpeg's error manager plus what our callbacks record. `mgr` must stay the first field:
/// libjpeg hands the callbacks a pointer to it, which they cast back to this struct.
#[repr(C)]
struct ErrorState {
    mgr: lj::jpeg_error_mgr,
    /// libjpeg asked for bytes past the end of the file (our source then supplies padding and
    /// a fake EOI).
    hit_end_of_data: bool,
    /// Warnings about the entropy-coded data ("Corrupt JPEG data: ...").
    data_warnings: u32,
}

/// Everything libjpeg points into; boxed so the addresses stay put.
#[repr(C)]
struct Inner {
    cinfo: lj::jpeg_decompress_struct,
    err: ErrorState,
    progress: lj::jpeg_progress_mgr,
    source: lj::jpeg_source_mgr,
}

/// What the source manager supplies once the file's bytes are used up: 32 stuffed 0xFF bytes
/// (256 one-bits, T.81 F.1.2.3 byte stuffing) and then EOI. A scan that needs bits beyond the
/// data reads ones, and a run of 16 one-bits is never a Huffman code (T.81 C: the all-ones code
/// word is reserved), so a cut Huffman scan gives libjpeg's "bad Huffman code" warning instead of
/// the silent zero fill of its memory source. A complete scan never uses the padding.
static PAST_THE_END: [u8; 66] = {
    let mut bytes = [0u8; 66];
    let mut i = 0;
    while i < 64 {
        bytes[i] = 0xFF;
        i += 2;
    }
    bytes[64] = 0xFF;
    bytes[65] = 0xD9;
    bytes
};

/// An EOI marker, supplied on every request after the padding (as libjpeg's memory source does).
static FAKE_EOI: [u8; 2] = [0xFF, 0xD9];

unsafe extern "C-unwind" fn init_source(_cinfo: &mut lj::jpeg_decompress_struct) {}

unsafe extern "C-unwind" fn term_source(_cinfo: &mut lj::jpeg_decompress_struct) {}

/// Called when the buffer is empty: the file has no more bytes.
unsafe extern "C-unwind" fn fill_input_buffer(cinfo: &mut lj::jpeg_decompress_struct) -> c_int {
    // SAFETY: `err` is the first field of our `#[repr(C)] ErrorState`; `src` is our source.
    let state = unsafe { &mut *cinfo.common.err.cast::<ErrorState>() };
    let src = unsafe { &mut *cinfo.src };
    let bytes: &'static [u8] = if state.hit_end_of_data {
        &FAKE_EOI
    } else {
        state.hit_end_of_data = true;
        &PAST_THE_END
    };
    src.next_input_byte = bytes.as_ptr();
    src.bytes_in_buffer = bytes.len();
    1
}

unsafe extern "C-unwind" fn skip_input_data(
    cinfo: &mut lj::jpeg_decompress_struct,
    num_bytes: c_long,
) {
    let Ok(mut skip) = usize::try_from(num_bytes) else {
        return;
    };
    loop {
        // SAFETY: `src` is our source manager, set up in `JpegDecoder::new`.
        let src = unsafe { &mut *cinfo.src };
        if skip <= src.bytes_in_buffer {
            // SAFETY: stays within the current buffer.
            src.next_input_byte = unsafe { src.next_input_byte.add(skip) };
            src.bytes_in_buffer -= skip;
            return;
        }
        skip -= src.bytes_in_buffer;
        src.bytes_in_buffer = 0;
        // SAFETY: as libjpeg itself would call it.
        unsafe { fill_input_buffer(cinfo) };
    }
}

/// The largest whole-image coefficient buffer a worker's decoder keeps for the next progressive
/// file (a 12-megapixel 4:2:0 photo needs 37 MB, a 24-megapixel one 73 MB); a larger one is freed
/// once its image is decoded. Like the other buffers a worker keeps between images, it sits
/// outside the memory budget, which counts a decode's coefficients while it runs.
pub const COEFFICIENTS_KEPT_MAX_BYTES: usize = 64 << 20;

/// libjpeg's virtual block arrays (jmemmgr.c), the whole-image DCT coefficient buffers of a
/// progressive or multi-scan frame, served from memory the worker's decoder keeps between images
/// ([`BlockMemory`]) instead of from libjpeg's per-image pool. libjpeg's buffer cost a page fault
/// and a page clear per 4 KiB, then its own zeroing of the whole buffer, for every image; a kept
/// one is only zeroed, and a new one is zeroed once, by the kernel, in 2 MiB pages where it can.
///
/// libjpeg reaches it through its memory manager's `request_virt_barray`, `realize_virt_arrays`
/// and `access_virt_barray` methods (replaced in [`JpegDecoder::new`]; `client_data` points here).
/// Every array lives in memory (there is no backing store: arrays over `max_memory_to_use` are
/// `JERR_NO_BACKING_STORE`, as with libjpeg's `jmemnobs.c`) and is zeroed whether or not its
/// requester asked for `pre_zero`. The limit counts the arrays alone, where libjpeg also counts
/// its other allocations (some kilobytes) and lets any array of one access window pass; the
/// decoder's caller sets the limit with room for those.
#[derive(Default)]
struct CoefficientStore {
    /// The arrays requested for the current image; boxed, since libjpeg holds their addresses.
    #[expect(
        clippy::vec_box,
        reason = "libjpeg holds each array's address, and a Vec moves its elements as it grows"
    )]
    arrays: Vec<Box<CoefficientArray>>,
    /// Every block of every array of the current image, array after array.
    blocks: BlockMemory,
    /// One pointer per block row of every array, into `blocks`, array after array.
    rows: Vec<lj::JBLOCKROW>,
    /// libjpeg's own `realize_virt_arrays`, which still realizes its sample arrays.
    realize_sample_arrays: Option<unsafe extern "C-unwind" fn(&mut lj::jpeg_common_struct)>,
}

/// Zeroed memory for coefficient blocks, mapped from the kernel and kept for reuse. A new mapping
/// is zero already, so only reused memory is cleared; on Linux it asks for transparent huge pages
/// (`MADV_HUGEPAGE`: one fault per 2 MiB instead of one per 4 KiB, where the system's setting
/// allows them) and is aligned to 2 MiB so that every page of it can be one.
struct BlockMemory {
    /// The mapping (null when there is none) and its length in bytes.
    mapping: *mut libc::c_void,
    mapping_bytes: usize,
    /// The first block, 2 MiB-aligned within the mapping.
    first: *mut lj::JBLOCK,
    capacity_blocks: usize,
    /// Whether the blocks may hold an earlier image's coefficients.
    used: bool,
}

impl Default for BlockMemory {
    fn default() -> BlockMemory {
        BlockMemory {
            mapping: std::ptr::null_mut(),
            mapping_bytes: 0,
            first: std::ptr::null_mut(),
            capacity_blocks: 0,
            used: false,
        }
    }
}

/// A transparent huge page on x86-64 and most arm64 systems.
const HUGE_PAGE_BYTES: usize = 2 << 20;

impl BlockMemory {
    /// `n` zeroed blocks: the kept mapping, cleared, when it is large enough, else a new one
    /// (the old one unmapped first, so the two are never both held). `None` when the system
    /// refuses the memory.
    fn zeroed(&mut self, n: usize) -> Option<*mut lj::JBLOCK> {
        let block_bytes = std::mem::size_of::<lj::JBLOCK>();
        if n > self.capacity_blocks {
            *self = BlockMemory::default();
            let bytes = n
                .checked_mul(block_bytes)?
                .checked_next_multiple_of(HUGE_PAGE_BYTES)?;
            let mapping_bytes = bytes.checked_add(HUGE_PAGE_BYTES)?;
            // SAFETY: a new private anonymous mapping; no existing memory is touched.
            let mapping = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    mapping_bytes,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if mapping == libc::MAP_FAILED {
                return None;
            }
            let skip = (mapping as usize).next_multiple_of(HUGE_PAGE_BYTES) - mapping as usize;
            // SAFETY: `skip < HUGE_PAGE_BYTES`, so `bytes` from there stay inside the mapping.
            let first = unsafe { mapping.cast::<u8>().add(skip) };
            #[cfg(target_os = "linux")]
            // SAFETY: advice on our own mapping; refusal (no THP support) changes nothing.
            unsafe {
                libc::madvise(first.cast(), bytes, libc::MADV_HUGEPAGE);
            }
            *self = BlockMemory {
                mapping,
                mapping_bytes,
                first: first.cast(),
                capacity_blocks: bytes / block_bytes,
                used: false,
            };
        } else if self.used {
            // SAFETY: `n` blocks fit in the mapping.
            unsafe { std::ptr::write_bytes(self.first, 0, n) };
        }
        self.used = true;
        Some(self.first)
    }
}

impl Drop for BlockMemory {
    fn drop(&mut self) {
        if !self.mapping.is_null() {
            // SAFETY: the mapping made in `zeroed`, unmapped once; libjpeg holds no pointer into
            // it between images.
            unsafe { libc::munmap(self.mapping, self.mapping_bytes) };
        }
    }
}

/// One requested coefficient array: `num_rows` rows of `blocks_per_row` 8 x 8 blocks.
struct CoefficientArray {
    blocks_per_row: usize,
    num_rows: usize,
    /// Its first row's index in [`CoefficientStore::rows`], once realized.
    first_row: Option<usize>,
}

impl CoefficientStore {
    /// Forgets the arrays of the image just decoded (libjpeg has let go of them by now) and
    /// frees the blocks when they are more than a worker keeps.
    fn end_image(&mut self) {
        self.arrays.clear();
        self.rows.clear();
        if self.blocks.capacity_blocks * std::mem::size_of::<lj::JBLOCK>()
            > COEFFICIENTS_KEPT_MAX_BYTES
        {
            self.blocks = BlockMemory::default();
        }
    }

    /// Lays out and zeroes every array requested since the last image. Errors are libjpeg
    /// message codes.
    fn realize(&mut self, max_bytes: Option<usize>) -> Result<(), c_int> {
        if self.arrays.iter().all(|a| a.first_row.is_some()) {
            return Ok(());
        }
        if self.arrays.iter().any(|a| a.first_row.is_some()) {
            // libjpeg realizes all arrays at once, after every request.
            return Err(lj::JERR_VIRTUAL_BUG);
        }
        let mut total_blocks = 0usize;
        let mut total_rows = 0usize;
        for array in &self.arrays {
            total_blocks = array
                .blocks_per_row
                .checked_mul(array.num_rows)
                .and_then(|n| n.checked_add(total_blocks))
                .ok_or(lj::JERR_OUT_OF_MEMORY)?;
            total_rows += array.num_rows;
        }
        let bytes = total_blocks
            .checked_mul(std::mem::size_of::<lj::JBLOCK>())
            .ok_or(lj::JERR_OUT_OF_MEMORY)?;
        if max_bytes.is_some_and(|max| bytes > max) {
            return Err(lj::JERR_NO_BACKING_STORE);
        }
        let base = self
            .blocks
            .zeroed(total_blocks)
            .ok_or(lj::JERR_OUT_OF_MEMORY)?;
        self.rows
            .try_reserve_exact(total_rows)
            .map_err(|_| lj::JERR_OUT_OF_MEMORY)?;
        let mut offset = 0;
        for array in &mut self.arrays {
            array.first_row = Some(self.rows.len());
            for row in 0..array.num_rows {
                // SAFETY: `offset + row * blocks_per_row` stays within the `total_blocks` blocks.
                self.rows
                    .push(unsafe { base.add(offset + row * array.blocks_per_row) });
            }
            offset += array.blocks_per_row * array.num_rows;
        }
        Ok(())
    }

    /// The row pointers of `num_rows` rows of `array` from `start_row`.
    fn access(
        &mut self,
        array: *const CoefficientArray,
        start_row: usize,
        num_rows: usize,
    ) -> Result<lj::JBLOCKARRAY, c_int> {
        let found = self
            .arrays
            .iter()
            .find(|a| std::ptr::eq(&***a, array))
            .ok_or(lj::JERR_BAD_VIRTUAL_ACCESS)?;
        let first_row = found.first_row.ok_or(lj::JERR_BAD_VIRTUAL_ACCESS)?;
        if start_row
            .checked_add(num_rows)
            .is_none_or(|end| end > found.num_rows)
        {
            return Err(lj::JERR_BAD_VIRTUAL_ACCESS);
        }
        // SAFETY: `first_row + start_row` is within `rows` (checked against `num_rows` above).
        Ok(unsafe { self.rows.as_mut_ptr().add(first_row + start_row) })
    }
}

/// Leaves through libjpeg's `error_exit` with message `code` and its first number `parameter`,
/// as its `ERREXIT1` does (messages without a number ignore it).
fn raise(cinfo: &mut lj::jpeg_common_struct, code: c_int, parameter: c_int) -> ! {
    // SAFETY: `err` is our error manager, set up in `JpegDecoder::new`; `i()` points into its
    // parameter union.
    unsafe {
        let err = &mut *cinfo.err;
        err.msg_code = code;
        (*err.msg_parm.i())[0] = parameter;
    }
    // SAFETY: as libjpeg itself calls it; ours never returns.
    unsafe { error_exit(cinfo) };
    resume_unwind(Box::new(LibjpegFailure {
        code,
        message: "libjpeg memory manager".to_owned(),
    }))
}

/// The number in "Insufficient memory (case %d)" when the coefficient arrays cannot be had
/// (libjpeg's own cases are 0 to 11).
const OUT_OF_MEMORY_CASE: c_int = 100;

/// The [`CoefficientStore`] a [`JpegDecoder`] owns, through the one raw pointer that libjpeg's
/// `client_data` also holds: every access derives from it, so neither invalidates the other.
struct OwnedStore(std::ptr::NonNull<CoefficientStore>);

impl OwnedStore {
    fn new() -> OwnedStore {
        OwnedStore(std::ptr::NonNull::from(Box::leak(
            Box::<CoefficientStore>::default(),
        )))
    }

    fn as_ptr(&self) -> *mut CoefficientStore {
        self.0.as_ptr()
    }

    /// The store, between libjpeg calls.
    ///
    /// # Safety
    /// No libjpeg call may be running on its decompressor (its callbacks make their own
    /// references).
    unsafe fn get(&mut self) -> &mut CoefficientStore {
        // SAFETY: allocated in `new`, freed only in `drop`; per the contract nothing else
        // refers to it now.
        unsafe { &mut *self.0.as_ptr() }
    }
}

impl Drop for OwnedStore {
    fn drop(&mut self) {
        // SAFETY: leaked from a Box in `new`; the decompressor is destroyed before (a field
        // drops after its `JpegDecoder::drop`).
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// The [`CoefficientStore`] of a decompressor (its `client_data`).
///
/// # Safety
/// `cinfo` must belong to a [`JpegDecoder`] (whose `new` sets `client_data`).
unsafe fn coefficient_store(cinfo: &mut lj::jpeg_common_struct) -> &mut CoefficientStore {
    // SAFETY: per the contract, `client_data` points at the decoder's boxed store.
    unsafe { &mut *cinfo.client_data.cast::<CoefficientStore>() }
}

unsafe extern "C-unwind" fn request_coefficient_array(
    cinfo: &mut lj::jpeg_common_struct,
    pool_id: c_int,
    _pre_zero: lj::boolean,
    blocks_per_row: lj::JDIMENSION,
    num_rows: lj::JDIMENSION,
    _max_access: lj::JDIMENSION,
) -> *mut lj::jvirt_barray_control {
    if pool_id != lj::JPOOL_IMAGE {
        raise(cinfo, lj::JERR_BAD_POOL_ID, pool_id);
    }
    // SAFETY: only installed on a `JpegDecoder`'s decompressor.
    let store = unsafe { coefficient_store(cinfo) };
    let mut array = Box::new(CoefficientArray {
        blocks_per_row: blocks_per_row as usize,
        num_rows: num_rows as usize,
        first_row: None,
    });
    let handle = (&mut *array as *mut CoefficientArray).cast::<lj::jvirt_barray_control>();
    store.arrays.push(array);
    handle
}

unsafe extern "C-unwind" fn realize_coefficient_arrays(cinfo: &mut lj::jpeg_common_struct) {
    // SAFETY: only installed on a `JpegDecoder`'s decompressor.
    if let Some(realize_samples) = unsafe { coefficient_store(cinfo) }.realize_sample_arrays {
        // SAFETY: libjpeg's own method, called as libjpeg would.
        unsafe { realize_samples(cinfo) };
    }
    // SAFETY: `mem` was made by `jpeg_create_decompress`.
    let limit = unsafe { (*cinfo.mem).max_memory_to_use };
    let max_bytes = usize::try_from(limit).ok().filter(|&max| max > 0);
    // SAFETY: as above.
    if let Err(code) = unsafe { coefficient_store(cinfo) }.realize(max_bytes) {
        raise(cinfo, code, OUT_OF_MEMORY_CASE);
    }
}

unsafe extern "C-unwind" fn access_coefficient_array(
    cinfo: &mut lj::jpeg_common_struct,
    array: *mut lj::jvirt_barray_control,
    start_row: lj::JDIMENSION,
    num_rows: lj::JDIMENSION,
    _writable: lj::boolean,
) -> lj::JBLOCKARRAY {
    // SAFETY: only installed on a `JpegDecoder`'s decompressor.
    let store = unsafe { coefficient_store(cinfo) };
    match store.access(array.cast(), start_row as usize, num_rows as usize) {
        Ok(rows) => rows,
        Err(code) => raise(cinfo, code, 0),
    }
}

/// A reusable libjpeg decompressor (one per worker thread; keeps its memory pools and marker
/// settings between images).
pub struct JpegDecoder {
    inner: Box<Inner>,
    /// Row pointers into the output buffer, reused between images.
    rows: Vec<*mut u8>,
    /// A progressive file without the scans a 1/8 decode does not read, reused between images.
    filtered: Vec<u8>,
    /// Whether to drop those scans ([`drop_unused_ac_scans`]); off only to test that it
    /// changes no pixel.
    skip_unused_scans: bool,
    /// The pixel buffer the caller gave back ([`JpegDecoder::recycle`]): the next image is
    /// written into it when it is large enough, instead of into a fresh allocation.
    spare: Vec<u8>,
    /// The coefficient buffers of progressive and multi-scan files, kept between images
    /// (libjpeg's `client_data` points at it).
    coefficients: OwnedStore,
}

/// Pixel buffers up to this capacity are kept for the next image by [`JpegDecoder::recycle`]
/// (a 1,000 x 1,000 RGB decode is 3 MB); larger ones are freed, so a worker never holds more.
pub const RECYCLE_MAX_BYTES: usize = 4 * 1024 * 1024;

// SAFETY: libjpeg's decompressor has no thread affinity (no thread-local state in the C-only
// build), nor has the coefficient store (memory and pointers into it); both are only ever used
// through `&mut self`, so they are never shared between threads.
unsafe impl Send for JpegDecoder {}

const APP1: c_int = 0xE1;
const APP2: c_int = 0xE2;
const APP14: c_int = 0xEE;
const EXIF_PREFIX: &[u8] = b"Exif\0\0";
const XMP_PREFIX: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const ICC_PREFIX: &[u8] = b"ICC_PROFILE\0";
const ADOBE_PREFIX: &[u8] = b"Adobe";

unsafe extern "C-unwind" fn error_exit(cinfo: &mut lj::jpeg_common_struct) {
    // SAFETY: `err` points at the `mgr` field of our `ErrorState`, set up in `JpegDecoder::new`.
    let (code, message) = unsafe { describe(&mut *cinfo.err) };
    resume_unwind(Box::new(LibjpegFailure { code, message }));
}

unsafe extern "C-unwind" fn emit_message(cinfo: &mut lj::jpeg_common_struct, msg_level: c_int) {
    if msg_level >= 0 {
        return; // trace messages
    }
    // SAFETY: `err` is the first field of our `#[repr(C)] ErrorState`.
    let state = unsafe { &mut *cinfo.err.cast::<ErrorState>() };
    state.mgr.num_warnings += 1;
    let code = state.mgr.msg_code;
    if code == lj::JWRN_JPEG_EOF {
        state.hit_end_of_data = true;
    } else if code != lj::JWRN_EXTRANEOUS_DATA
        && message_template(&state.mgr)
            .is_some_and(|t| t.to_bytes().starts_with(CORRUPT_DATA_PREFIX))
    {
        // (Bytes between segments that are not a marker, JWRN_EXTRANEOUS_DATA, are how our
        // padding past the end of a file without EOI reads: harmless in itself.)
        state.data_warnings += 1;
    }
    // Other warnings (unknown JFIF version, Adobe transform...) say nothing about integrity.
}

/// libjpeg's warnings about the entropy-coded data (premature end of a segment, bad Huffman or
/// arithmetic code, lost restart marker) all start with this. Matching the text
/// rather than the codes: `mozjpeg-sys`'s code constants above 123 do not count the two that
/// arithmetic decoding inserts into the C enum.
const CORRUPT_DATA_PREFIX: &[u8] = b"Corrupt JPEG data";

/// The message template for the current `msg_code`, from libjpeg's own table.
fn message_template(err: &lj::jpeg_error_mgr) -> Option<&'static CStr> {
    let code = err.msg_code;
    if code <= 0 || code > err.last_jpeg_message || err.jpeg_message_table.is_null() {
        return None;
    }
    // SAFETY: libjpeg's table has `last_jpeg_message + 1` entries, each null or a static
    // NUL-terminated string.
    unsafe {
        let entry = *err.jpeg_message_table.add(code as usize);
        (!entry.is_null()).then(|| CStr::from_ptr(entry))
    }
}

unsafe extern "C-unwind" fn output_message(_cinfo: &mut lj::jpeg_common_struct) {
    // Nothing is printed: warnings are recorded by `emit_message`, errors unwind.
}

unsafe extern "C-unwind" fn progress_monitor(cinfo: &mut lj::jpeg_common_struct) {
    if cinfo.is_decompressor == 0 {
        return;
    }
    // SAFETY: a decompressor's common fields are the first member of `jpeg_decompress_struct`
    // (`#[repr(C)]`), and ours is the only decompressor this callback is installed on.
    let scans = unsafe {
        (*(cinfo as *mut lj::jpeg_common_struct).cast::<lj::jpeg_decompress_struct>())
            .input_scan_number
    };
    if scans > MAX_SCANS {
        resume_unwind(Box::new(LibjpegFailure {
            code: lj::JMSG_NOMESSAGE,
            message: format!("more than {MAX_SCANS} scans"),
        }));
    }
}

/// libjpeg's message for the current `msg_code`, formatted with its parameters (the `%d`, `%u`,
/// `%x` and `%s` conversions its message table uses).
///
/// # Safety
/// `err` must be an initialised libjpeg error manager.
pub(crate) unsafe fn describe(err: &mut lj::jpeg_error_mgr) -> (c_int, String) {
    let code = err.msg_code;
    let Some(template) = message_template(err) else {
        return (code, format!("libjpeg error {code}"));
    };
    let template = template.to_string_lossy();
    // SAFETY: the union holds either 8 ints or an 80-byte string, as the message needs.
    let ints = unsafe { *err.msg_parm.i() };
    // SAFETY: as above.
    let text = unsafe { *err.msg_parm.s() };
    let text_len = text.iter().position(|&c| c == 0).unwrap_or(text.len());
    let text: String = text[..text_len]
        .iter()
        .map(|&c| char::from(c as u8))
        .collect();
    (code, format_message(&template, &ints, &text))
}

/// printf-style formatting of one libjpeg message template.
fn format_message(template: &str, ints: &[c_int; 8], text: &str) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut next_int = ints.iter();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || d == '-' || d == 'l' {
                spec.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let width: usize = spec
            .trim_start_matches(['-', '0'])
            .trim_end_matches('l')
            .parse()
            .unwrap_or(0);
        match chars.next() {
            Some('d') => out.push_str(&format!("{:width$}", next_int.next().unwrap_or(&0))),
            Some('u') => out.push_str(&format!(
                "{:width$}",
                next_int.next().map_or(0, |&v| v as u32)
            )),
            Some('x') | Some('X') => out.push_str(&format!(
                "{:0width$x}",
                next_int.next().map_or(0, |&v| v as u32)
            )),
            Some('s') => out.push_str(text),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

impl JpegDecoder {
    /// A decompressor ready for any number of images.
    ///
    /// Errors: [`JpegError::Invalid`] when libjpeg cannot allocate its permanent structures.
    pub fn new() -> Result<JpegDecoder, JpegError> {
        // SAFETY: all-zero is a valid (inert) bit pattern for these C structs: null pointers,
        // `None` callbacks and zero integers. libjpeg fills them in below.
        let mut inner: Box<Inner> = Box::new(unsafe { std::mem::zeroed() });
        let coefficients = OwnedStore::new();
        let result = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: standard libjpeg set-up on structs that stay at one address (boxed).
            unsafe {
                let inner = &mut *inner;
                lj::jpeg_std_error(&mut inner.err.mgr);
                inner.err.mgr.error_exit = Some(error_exit);
                inner.err.mgr.emit_message = Some(emit_message);
                inner.err.mgr.output_message = Some(output_message);
                inner.cinfo.common.err = &mut inner.err.mgr;
                lj::jpeg_create_decompress(&mut inner.cinfo);
                // jpeg_CreateDecompress zeroes everything but `err` and `client_data`.
                inner.cinfo.common.client_data = coefficients.as_ptr().cast();
                let mem = &mut *inner.cinfo.common.mem;
                (*coefficients.as_ptr()).realize_sample_arrays = mem.realize_virt_arrays;
                mem.request_virt_barray = Some(request_coefficient_array);
                mem.realize_virt_arrays = Some(realize_coefficient_arrays);
                mem.access_virt_barray = Some(access_coefficient_array);
                inner.progress.progress_monitor = Some(progress_monitor);
                inner.cinfo.common.progress = &mut inner.progress;
                inner.source.init_source = Some(init_source);
                inner.source.fill_input_buffer = Some(fill_input_buffer);
                inner.source.skip_input_data = Some(skip_input_data);
                inner.source.resync_to_restart = Some(lj::jpeg_resync_to_restart);
                inner.source.term_source = Some(term_source);
                inner.cinfo.src = &mut inner.source;
                for marker in [APP1, APP2, APP14] {
                    lj::jpeg_save_markers(&mut inner.cinfo, marker, 0xFFFF);
                }
            }
        }));
        match result {
            Ok(()) => Ok(JpegDecoder {
                inner,
                rows: Vec::new(),
                filtered: Vec::new(),
                spare: Vec::new(),
                skip_unused_scans: true,
                coefficients,
            }),
            Err(payload) => {
                let failure: LibjpegFailure = into_failure(payload);
                // `jpeg_destroy` is safe on a half-created object (it checks for a null `mem`).
                // SAFETY: the struct was set up by `jpeg_std_error` at least.
                unsafe { lj::jpeg_destroy_decompress(&mut inner.cinfo) };
                Err(JpegError::Invalid {
                    code: failure.code,
                    message: failure.message,
                })
            }
        }
    }

    /// The same decoder reading every scan (see [`drop_unused_ac_scans`]), for tests.
    #[cfg(test)]
    pub(crate) fn reading_every_scan() -> Result<JpegDecoder, JpegError> {
        let mut decoder = JpegDecoder::new()?;
        decoder.skip_unused_scans = false;
        Ok(decoder)
    }

    /// Takes back a pixel buffer (of an earlier [`JpegImage`] once it is used) for the next
    /// decode to write into, so that a worker allocates no pixel buffer per image. Buffers
    /// larger than [`RECYCLE_MAX_BYTES`], or smaller than the one already kept, are freed.
    pub fn recycle(&mut self, pixels: Vec<u8>) {
        if pixels.capacity() <= RECYCLE_MAX_BYTES && pixels.capacity() > self.spare.capacity() {
            self.spare = pixels;
        }
    }

    /// Decodes one whole JPEG file held in `data`.
    ///
    /// Errors: [`JpegError::Truncated`] when the data ends inside the image (the header, a scan,
    /// or before a progressive refinement or a component's scan), [`JpegError::TooManyPixels`],
    /// [`JpegError::TooMuchMemory`], [`JpegError::Unsupported`], and [`JpegError::Invalid`] for
    /// anything else libjpeg refuses. The decoder is ready for the next image either way.
    pub fn decode(&mut self, data: &[u8], request: &JpegRequest) -> Result<JpegImage, JpegError> {
        self.decode_keeping_ycc(data, request, &mut |_| false)
    }

    /// [`JpegDecoder::decode`], but a YCbCr-coded colour file comes out as YCbCr
    /// ([`JpegPixels::YCbCr8`]: libjpeg skips its colour conversion) when `keep_ycc`, asked with
    /// the file's ICC profile once the header is read, says yes.
    pub fn decode_keeping_ycc(
        &mut self,
        data: &[u8],
        request: &JpegRequest,
        keep_ycc: &mut dyn FnMut(Option<&[u8]>) -> bool,
    ) -> Result<JpegImage, JpegError> {
        let err = &mut self.inner.err;
        err.hit_end_of_data = false;
        err.data_warnings = 0;
        err.mgr.num_warnings = 0;
        let result = catch_unwind(AssertUnwindSafe(|| {
            self.decode_unwinding(data, request, keep_ycc)
        }));
        // After success libjpeg is already back at its start state; after an error this frees
        // the image's memory and resets it (libjpeg.txt: jpeg_abort after an error).
        // SAFETY: the decompressor was created in `new`; abort never raises an error.
        unsafe { lj::jpeg_abort_decompress(&mut self.inner.cinfo) };
        // SAFETY: libjpeg is back at its start state; no call of it is running.
        unsafe { self.coefficients.get() }.end_image();
        match result {
            Ok(done) => done,
            Err(payload) => {
                let failure: LibjpegFailure = into_failure(payload);
                Err(self.classify_failure(failure, request))
            }
        }
    }

    fn classify_failure(&self, failure: LibjpegFailure, request: &JpegRequest) -> JpegError {
        if self.inner.err.hit_end_of_data {
            // Whatever went wrong, it went wrong at a fake EOI libjpeg put after the real data.
            return JpegError::Truncated("ends before the image does");
        }
        match failure.code {
            lj::JERR_OUT_OF_MEMORY | lj::JERR_NO_BACKING_STORE => JpegError::TooMuchMemory {
                limit_bytes: request.max_alloc_bytes,
            },
            lj::JERR_BAD_PRECISION
            | lj::JERR_NOT_COMPILED
            | lj::JERR_SOF_UNSUPPORTED
            | lj::JERR_ARITH_NOTIMPL => JpegError::Unsupported(failure.message),
            _ => JpegError::Invalid {
                code: failure.code,
                message: failure.message,
            },
        }
    }

    /// The decode proper; libjpeg errors leave it by unwinding.
    fn decode_unwinding(
        &mut self,
        data: &[u8],
        request: &JpegRequest,
        keep_ycc: &mut dyn FnMut(Option<&[u8]>) -> bool,
    ) -> Result<JpegImage, JpegError> {
        let skipped_scans = self.skip_unused_scans
            && drop_unused_ac_scans(data, request.min_long_side_px, &mut self.filtered);
        let input: &[u8] = if skipped_scans { &self.filtered } else { data };
        let cinfo = &mut self.inner.cinfo;
        // SAFETY (whole block): `cinfo` was created in `new`; `input` outlives every call that
        // reads it (the source manager's pointer is reset before the next image); the
        // output rows point into `pixels`, which is large enough for every row written.
        unsafe {
            (*cinfo.common.mem).max_memory_to_use =
                c_long::try_from(request.max_alloc_bytes).unwrap_or(c_long::MAX);
            let src = &mut *cinfo.src;
            src.next_input_byte = input.as_ptr();
            src.bytes_in_buffer = input.len();
            if lj::jpeg_read_header(cinfo, 1) != 1 {
                return Err(JpegError::Invalid {
                    code: lj::JERR_NO_IMAGE,
                    message: "no image in the JPEG stream (tables only)".to_owned(),
                });
            }
            let (source_w, source_h) = (cinfo.image_width, cinfo.image_height);
            if u64::from(source_w) * u64::from(source_h) > request.max_pixels {
                return Err(JpegError::TooManyPixels {
                    width_px: source_w,
                    height_px: source_h,
                });
            }
            let markers = read_markers(cinfo.marker_list);
            let (out_space, cmyk) = match (cinfo.jpeg_color_space, cinfo.num_components) {
                (lj::JCS_GRAYSCALE, 1) => (lj::JCS_GRAYSCALE, false),
                (lj::JCS_YCbCr, 3) if keep_ycc(markers.icc_profile.as_deref()) => {
                    (lj::JCS_YCbCr, false)
                }
                (lj::JCS_YCbCr | lj::JCS_RGB, 3) => (lj::JCS_RGB, false),
                (lj::JCS_CMYK | lj::JCS_YCCK, 4) => (lj::JCS_CMYK, true),
                (space, n) => {
                    return Err(JpegError::Unsupported(format!(
                        "{n} components in colour space {}",
                        space as i32
                    )));
                }
            };
            cinfo.out_color_space = out_space;
            let denom = scale_denominator(source_w, source_h, request.min_long_side_px);
            cinfo.scale_num = 1;
            cinfo.scale_denom = denom;
            cinfo.dct_method = lj::J_DCT_METHOD::JDCT_ISLOW;
            cinfo.do_fancy_upsampling = 1;
            // Interblock smoothing estimates AC coefficients that have not arrived; after
            // dropped scans they are not missing, just unused.
            cinfo.do_block_smoothing = c_int::from(!skipped_scans);
            lj::jpeg_calc_output_dimensions(cinfo);
            let (w, h) = (cinfo.output_width, cinfo.output_height);
            let channels = cinfo.output_components as usize;
            let row_bytes = w as usize * channels;
            let total = row_bytes as u64 * u64::from(h);
            if total > request.max_alloc_bytes {
                return Err(JpegError::TooMuchMemory {
                    limit_bytes: request.max_alloc_bytes,
                });
            }
            if lj::jpeg_start_decompress(cinfo) == 0 {
                return Err(JpegError::Truncated("suspended"));
            }
            // The buffer of an earlier image when large enough. Not zeroed: every row is
            // written by jpeg_read_scanlines before the length is set.
            let mut pixels = std::mem::take(&mut self.spare);
            pixels.clear();
            if pixels.capacity() < total as usize {
                pixels = Vec::with_capacity(total as usize);
            }
            let rows = &mut self.rows;
            rows.clear();
            let base = pixels.spare_capacity_mut().as_mut_ptr().cast::<u8>();
            rows.extend((0..h as usize).map(|y| base.add(y * row_bytes)));
            while cinfo.output_scanline < h {
                let at = cinfo.output_scanline as usize;
                let got = lj::jpeg_read_scanlines(
                    cinfo,
                    rows.as_mut_ptr().add(at),
                    h - cinfo.output_scanline,
                );
                if got == 0 {
                    return Err(JpegError::Truncated("no more scanlines"));
                }
            }
            // Every one of the `h` rows of `row_bytes` bytes has been written.
            pixels.set_len(total as usize);
            let progression_complete = coefficients_complete(cinfo);
            lj::jpeg_finish_decompress(cinfo);
            let err = &self.inner.err;
            let end = if err.hit_end_of_data {
                if err.data_warnings > 0 {
                    return Err(JpegError::Truncated("cut inside a scan"));
                }
                if progression_complete == Some(false) {
                    return Err(JpegError::Truncated("scans of the progression are missing"));
                }
                let frame = walk_frame(data);
                if frame.arithmetic {
                    // Running into a marker or the end is legal inside an arithmetic-coded
                    // segment (the decoder then reads zeros, T.81 D.2.6; libjpeg's jdarith.c):
                    // without EOI a complete file cannot be told from a cut one.
                    return Err(JpegError::Truncated(
                        "arithmetic-coded data without end marker",
                    ));
                }
                if !frame.every_component_scanned {
                    return Err(JpegError::Truncated("a component's scan is missing"));
                }
                StreamEnd::MissingEndMarker
            } else {
                StreamEnd::EndMarker
            };
            let layout = if cmyk {
                cmyk_to_rgb_in_place(&mut pixels, markers.adobe_inverted);
                JpegPixels::Rgb8
            } else if channels == 1 {
                JpegPixels::Luma8
            } else if out_space == lj::JCS_YCbCr {
                JpegPixels::YCbCr8
            } else {
                JpegPixels::Rgb8
            };
            Ok(JpegImage {
                width_px: w,
                height_px: h,
                source_width_px: source_w,
                source_height_px: source_h,
                pixels,
                layout,
                converted_from_cmyk: cmyk,
                exif: markers.exif,
                xmp: markers.xmp,
                icc_profile: markers.icc_profile,
                end,
            })
        }
    }
}

impl Drop for JpegDecoder {
    fn drop(&mut self) {
        // SAFETY: created in `new`; destroy only frees memory and never raises an error.
        unsafe { lj::jpeg_destroy_decompress(&mut self.inner.cinfo) };
    }
}

/// The error libjpeg's error handler unwound with (`F`, boxed by our `error_exit`), out of a
/// `catch_unwind` payload. Shared by the decoder and the encoder (`encode/libjpeg.rs`).
pub(crate) fn into_failure<F: 'static>(payload: Box<dyn std::any::Any + Send>) -> F {
    match payload.downcast::<F>() {
        Ok(failure) => *failure,
        // A panic of our own code (a bug): let it go on as the panic it is.
        Err(other) => resume_unwind(other),
    }
}

/// The DCT scale denominator (8, 4, 2 or 1) for a `w` x `h` frame so that the decoded long side,
/// `ceil(long / denom)` as libjpeg computes it, is at least `min_long_side_px`.
pub fn scale_denominator(w: u32, h: u32, min_long_side_px: u32) -> u32 {
    let long = w.max(h);
    [8, 4, 2]
        .into_iter()
        .find(|&d| long.div_ceil(d) >= min_long_side_px)
        .unwrap_or(1)
}

/// For a progressive file: whether every coefficient of every component reached full precision
/// (`coef_bits` all 0, libjpeg.txt "Progressive JPEG support"). `None` for sequential files.
///
/// # Safety
/// `cinfo` must be a decompressor between `jpeg_start_decompress` and `jpeg_finish_decompress`.
unsafe fn coefficients_complete(cinfo: &lj::jpeg_decompress_struct) -> Option<bool> {
    if cinfo.coef_bits.is_null() {
        return None;
    }
    let n = usize::try_from(cinfo.num_components).unwrap_or(0) * lj::DCTSIZE2;
    // SAFETY: `coef_bits` is `int (*)[DCTSIZE2]` with one row per component.
    let bits = unsafe { std::slice::from_raw_parts(cinfo.coef_bits.cast::<c_int>(), n) };
    Some(bits.iter().all(|&b| b == 0))
}

/// Metadata from the saved APPn markers.
#[derive(Default)]
struct Markers {
    exif: Option<Vec<u8>>,
    xmp: Option<Vec<u8>>,
    icc_profile: Option<Vec<u8>>,
    adobe_inverted: bool,
}

/// Reads libjpeg's list of saved markers (in file order).
///
/// # Safety
/// `list` must be libjpeg's `marker_list` of a decompressor after `jpeg_read_header`.
unsafe fn read_markers(mut list: *mut lj::jpeg_marker_struct) -> Markers {
    let mut markers = Markers::default();
    let mut icc_chunks: Vec<(u8, u8, &[u8])> = Vec::new();
    while !list.is_null() {
        // SAFETY: a node of libjpeg's list, valid until the image pool is freed.
        let node = unsafe { &*list };
        list = node.next;
        if node.data.is_null() || node.data_length != node.original_length {
            continue; // cut by the save limit: not trustworthy
        }
        // SAFETY: `data` holds `data_length` bytes.
        let data = unsafe { std::slice::from_raw_parts(node.data, node.data_length as usize) };
        match c_int::from(node.marker) {
            APP1 => {
                if let Some(tiff) = data.strip_prefix(EXIF_PREFIX) {
                    markers.exif.get_or_insert_with(|| tiff.to_vec());
                } else if let Some(xmp) = data.strip_prefix(XMP_PREFIX) {
                    markers.xmp.get_or_insert_with(|| xmp.to_vec());
                }
            }
            APP2 => {
                if let Some(rest) = data.strip_prefix(ICC_PREFIX)
                    && rest.len() >= 2
                {
                    icc_chunks.push((rest[0], rest[1], &rest[2..]));
                }
            }
            // "Adobe", version (2), flags0 (2), flags1 (2), transform (1): Adobe TN 5116.
            APP14 if data.starts_with(ADOBE_PREFIX) && data.len() >= 12 => {
                markers.adobe_inverted = true;
            }
            _ => {}
        }
    }
    markers.icc_profile = assemble_icc(&mut icc_chunks);
    markers
}

/// Joins ICC chunks `(sequence number from 1, chunk count, bytes)` in sequence order; `None`
/// when the counts disagree or a number is missing or repeated.
fn assemble_icc(chunks: &mut [(u8, u8, &[u8])]) -> Option<Vec<u8>> {
    let count = chunks.first()?.1;
    if count == 0 || chunks.len() != usize::from(count) || chunks.iter().any(|c| c.1 != count) {
        return None;
    }
    chunks.sort_by_key(|c| c.0);
    if chunks
        .iter()
        .enumerate()
        .any(|(i, c)| usize::from(c.0) != i + 1)
    {
        return None;
    }
    Some(chunks.iter().flat_map(|c| c.2.iter().copied()).collect())
}

/// CMYK (4 bytes a pixel) to RGB (3 bytes a pixel) in the same buffer, which is shortened.
fn cmyk_to_rgb_in_place(pixels: &mut Vec<u8>, inverted: bool) {
    let n = pixels.len() / 4;
    for i in 0..n {
        let s = i * 4;
        let (mut c, mut m, mut y, mut k) = (pixels[s], pixels[s + 1], pixels[s + 2], pixels[s + 3]);
        if !inverted {
            (c, m, y, k) = (255 - c, 255 - m, 255 - y, 255 - k);
        }
        // Here each value is 255 - ink: R = (255 - C)(255 - K) / 255, rounded.
        let k = u32::from(k);
        let d = i * 3;
        pixels[d] = ((u32::from(c) * k + 127) / 255) as u8;
        pixels[d + 1] = ((u32::from(m) * k + 127) / 255) as u8;
        pixels[d + 2] = ((u32::from(y) * k + 127) / 255) as u8;
    }
    pixels.truncate(n * 3);
}

/// One marker segment of a JPEG stream (T.81 B.1.1.4).
struct Segment<'a> {
    /// The marker code (the byte after 0xFF).
    marker: u8,
    /// The segment's parameters, after the length field (cut short if the file is).
    body: &'a [u8],
    /// Byte range from the marker's 0xFF to the next marker's 0xFF; for SOS this includes the
    /// entropy-coded data that follows the header.
    span: std::ops::Range<usize>,
}

/// Where a JPEG's own data ends when a scan is followed by bytes that are not a JPEG marker
/// (phone panoramas and motion photos append their own data, without an EOI): the offset of
/// the first such marker after a scan, or `None` when every marker is a JPEG one.
pub(crate) fn end_before_foreign_data(d: &[u8]) -> Option<usize> {
    let mut scanned = false;
    let mut end = None;
    walk_segments(d, |seg| {
        let jpeg_marker = matches!(seg.marker, 0xC0..=0xCF | 0xDA..=0xDF | 0xE0..=0xEF | 0xFE);
        if scanned && !jpeg_marker {
            end = Some(seg.span.start);
            return false;
        }
        scanned |= seg.marker == 0xDA;
        true
    });
    end
}

/// Calls `visit` for each marker segment after SOI, skipping entropy-coded data (which runs
/// until a 0xFF that is neither stuffing, 0xFF00, nor a restart marker, RSTn). Stops at EOI or
/// when `visit` returns false. Returns whether EOI was reached.
fn walk_segments<'a>(d: &'a [u8], mut visit: impl FnMut(Segment<'a>) -> bool) -> bool {
    let len = d.len();
    let mut i = 2;
    loop {
        // Expect a marker: 0xFF (possibly repeated as fill) then the code.
        while i < len && d[i] != 0xFF {
            i += 1;
        }
        while i + 1 < len && d[i + 1] == 0xFF {
            i += 1;
        }
        if i + 1 >= len {
            return false;
        }
        let start = i;
        let marker = d[i + 1];
        i += 2;
        match marker {
            0xD9 => return true,
            0xD0..=0xD7 | 0x01 | 0x00 | 0xD8 => continue,
            _ => {}
        }
        if i + 2 > len {
            return false;
        }
        let seg = usize::from(u16::from_be_bytes([d[i], d[i + 1]]));
        if seg < 2 {
            return false;
        }
        let body = &d[(i + 2).min(len)..(i + seg).min(len)];
        i += seg;
        if marker == 0xDA {
            loop {
                let Some(p) = memchr::memchr(0xFF, &d[i.min(len)..]) else {
                    i = len;
                    break;
                };
                let at = i + p;
                match d.get(at + 1) {
                    Some(0x00 | 0xD0..=0xD7) => i = at + 2,
                    Some(0xFF) => i = at + 1,
                    _ => {
                        i = at;
                        break;
                    }
                }
            }
        }
        let span = start..i.min(len);
        if !visit(Segment { marker, body, span }) {
            return false;
        }
    }
}

/// What a JPEG's frame header (SOFn, T.81 B.2.2) says, read without decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameHeader {
    /// Width and height as stored, in pixels.
    pub size_px: (u32, u32),
    /// Per component: horizontal and vertical sampling factors.
    pub sampling: Vec<(u8, u8)>,
    /// A multi-scan frame (progressive, SOF2/6/10/14): libjpeg keeps every DCT coefficient of
    /// the whole image while it decodes.
    pub progressive: bool,
}

/// The first frame header of `d`, when there is one before the first scan.
pub fn frame_header(d: &[u8]) -> Option<FrameHeader> {
    if !d.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut header = None;
    walk_segments(d, |seg| {
        if is_sof(seg.marker) {
            let b = seg.body;
            if b.len() >= 6 {
                header = Some(FrameHeader {
                    size_px: (
                        u32::from(u16::from_be_bytes([b[3], b[4]])),
                        u32::from(u16::from_be_bytes([b[1], b[2]])),
                    ),
                    sampling: frame_components(b).iter().map(|c| (c.1, c.2)).collect(),
                    progressive: matches!(seg.marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
                });
            }
            return false;
        }
        seg.marker != 0xDA
    });
    header
}

/// Whether `marker` starts a frame (SOF0..SOF15 but DHT, JPG and DAC; T.81 Table B.1).
fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// Components of a frame header: (identifier, horizontal, vertical sampling factor).
fn frame_components(sof_body: &[u8]) -> Vec<(u8, u8, u8)> {
    let n = sof_body.get(5).copied().map_or(0, usize::from);
    sof_body
        .get(6..)
        .unwrap_or(&[])
        .chunks_exact(3)
        .take(n)
        .map(|c| (c[0], c[1] >> 4, c[1] & 0x0F))
        .collect()
}

/// What a walk over the marker structure says about the frame and its scans.
#[derive(Debug, Default)]
struct FrameWalk {
    /// The frame is SOF9..SOF11 or SOF13..SOF15 (arithmetic coding, T.81 Table B.1).
    arithmetic: bool,
    /// Every component of the frame header appears in at least one SOS header.
    every_component_scanned: bool,
}

/// Walks the whole stream for [`FrameWalk`].
fn walk_frame(d: &[u8]) -> FrameWalk {
    let mut walk = FrameWalk::default();
    let mut frame_ids: Vec<u8> = Vec::new();
    let mut scanned: Vec<u8> = Vec::new();
    walk_segments(d, |seg| {
        if is_sof(seg.marker) {
            walk.arithmetic = seg.marker >= 0xC9;
            frame_ids = frame_components(seg.body).iter().map(|c| c.0).collect();
        } else if seg.marker == 0xDA
            && let Some(&n) = seg.body.first()
        {
            scanned.extend(seg.body[1..].chunks(2).take(usize::from(n)).map(|c| c[0]));
        }
        true
    });
    walk.every_component_scanned =
        !frame_ids.is_empty() && frame_ids.iter().all(|id| scanned.contains(id));
    walk
}

/// For a progressive Huffman JPEG (SOF2) decoded at 1/8 scale: copies `d` into `out` without
/// the AC scans (spectral selection start Ss > 0, T.81 G.1.1.1.1) of the components that
/// libjpeg reconstructs with its 1x1 IDCT, which reads the DC coefficient only. Those scans
/// are most of a progressive file and the slowest part of decoding it (successive-approximation
/// refinement); without them the decoded pixels are bit-identical. A component gets the 1x1
/// IDCT when it is not subsampled relative to the largest sampling factors in both directions
/// (libjpeg's `jdmaster.c` rule: chroma of 4:2:0 is decoded 2x2 instead of being upsampled, and
/// keeps its AC scans).
///
/// Returns false (and leaves `out` alone) when the file is not progressive Huffman, is not
/// scaled to 1/8, has no EOI (then every scan must be read to tell a cut file), or has nothing
/// to drop.
fn drop_unused_ac_scans(d: &[u8], min_long_side_px: u32, out: &mut Vec<u8>) -> bool {
    // Pass 1: the frame header, and whether there is anything to drop.
    let mut dc_only: Vec<u8> = Vec::new();
    let mut applicable = false;
    let mut droppable_bytes = 0usize;
    let reached_eoi = walk_segments(d, |seg| {
        if is_sof(seg.marker) {
            if seg.marker != 0xC2 || seg.body.len() < 6 {
                return false;
            }
            let h = u32::from(u16::from_be_bytes([seg.body[1], seg.body[2]]));
            let w = u32::from(u16::from_be_bytes([seg.body[3], seg.body[4]]));
            if scale_denominator(w, h, min_long_side_px) != 8 {
                return false;
            }
            let comps = frame_components(seg.body);
            let max_h = comps.iter().map(|c| c.1).max().unwrap_or(1).max(1);
            let max_v = comps.iter().map(|c| c.2).max().unwrap_or(1).max(1);
            for &(id, h, v) in &comps {
                // libjpeg doubles a component's IDCT size from 1 while the sampling ratio
                // allows; it stays 1 when the component is at full resolution both ways.
                let doubles = h > 0 && v > 0 && max_h % (h * 2) == 0 && max_v % (v * 2) == 0;
                if !doubles {
                    dc_only.push(id);
                }
            }
            applicable = !dc_only.is_empty();
            return applicable;
        }
        if seg.marker == 0xDA && is_droppable_scan(seg.body, &dc_only) {
            droppable_bytes += seg.span.len();
        }
        true
    });
    if !(applicable && reached_eoi && droppable_bytes > 0) {
        return false;
    }
    // Pass 2: copy everything but the dropped scans.
    out.clear();
    out.reserve(d.len() - droppable_bytes);
    out.extend_from_slice(&d[..2]);
    let mut copied_to = 2;
    walk_segments(d, |seg| {
        if seg.marker == 0xDA && is_droppable_scan(seg.body, &dc_only) {
            out.extend_from_slice(&d[copied_to..seg.span.start]);
            copied_to = seg.span.end;
        }
        true
    });
    out.extend_from_slice(&d[copied_to..]);
    true
}

/// An AC scan (Ns = 1, Ss > 0) of one of `dc_only`'s components.
fn is_droppable_scan(sos_body: &[u8], dc_only: &[u8]) -> bool {
    // Ns, (Cs, Td/Ta) * Ns, Ss, Se, Ah/Al  (T.81 B.2.3)
    match sos_body {
        [1, cs, _, ss, ..] => *ss > 0 && dc_only.contains(cs),
        _ => false,
    }
}

/// A libjpeg encoder for tests: makes the JPEG variants the decoder must read (progressive,
/// arithmetic-coded, CMYK/YCCK with the Adobe marker) from pixels the test chooses.
#[cfg(test)]
pub(crate) mod test_support {
    use std::ffi::{c_int, c_ulong};

    use mozjpeg_sys as lj;

    /// Entropy coding and process (T.81 Table B.1).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Coding {
        /// SOF0
        Baseline,
        /// SOF2
        Progressive,
        /// SOF9
        ArithmeticSequential,
        /// SOF10
        ArithmeticProgressive,
    }

    /// The pixels to encode, row-major.
    #[derive(Debug, Clone, Copy)]
    pub enum Source<'a> {
        Gray(&'a [u8]),
        Rgb(&'a [u8]),
        /// Four samples a pixel as stored (Adobe files store 255 - ink); `ycck` transforms the
        /// C, M, Y part to YCC as Adobe transform 2 does.
        Cmyk {
            samples: &'a [u8],
            ycck: bool,
        },
    }

    /// Encodes `source` (`width` x `height`) at `quality` with 4:2:0 chroma for colour.
    pub fn encode(
        width: u32,
        height: u32,
        source: Source<'_>,
        coding: Coding,
        quality: u8,
    ) -> Vec<u8> {
        encode_sampled(width, height, source, coding, quality, (2, 2))
    }

    /// As [`encode`], with the first component's sampling factors (h, v); the others are 1x1.
    pub fn encode_sampled(
        width: u32,
        height: u32,
        source: Source<'_>,
        coding: Coding,
        quality: u8,
        first_sampling: (c_int, c_int),
    ) -> Vec<u8> {
        let (samples, components, space) = match source {
            Source::Gray(s) => (s, 1, lj::JCS_GRAYSCALE),
            Source::Rgb(s) => (s, 3, lj::JCS_RGB),
            Source::Cmyk { samples, .. } => (samples, 4, lj::JCS_CMYK),
        };
        assert_eq!(samples.len(), (width * height) as usize * components);
        let row_bytes = width as usize * components;
        // SAFETY: the standard libjpeg compression sequence on structs that do not move while
        // libjpeg holds pointers to them; errors unwind through `super::error_exit`.
        unsafe {
            let mut err: lj::jpeg_error_mgr = std::mem::zeroed();
            lj::jpeg_std_error(&mut err);
            err.error_exit = Some(super::error_exit);
            let mut cinfo: lj::jpeg_compress_struct = std::mem::zeroed();
            cinfo.common.err = &mut err;
            lj::jpeg_create_compress(&mut cinfo);
            let mut buffer: *mut u8 = std::ptr::null_mut();
            let mut size: c_ulong = 0;
            lj::jpeg_mem_dest(&mut cinfo, &mut buffer, &mut size);
            cinfo.image_width = width;
            cinfo.image_height = height;
            cinfo.input_components = components as c_int;
            cinfo.in_color_space = space;
            // libjpeg-turbo's defaults, not mozjpeg's (which would make every file progressive).
            lj::jpeg_c_set_int_param(
                &mut cinfo,
                lj::JINT_COMPRESS_PROFILE,
                lj::JCP_FASTEST as c_int,
            );
            lj::jpeg_set_defaults(&mut cinfo);
            if let Source::Cmyk { ycck: true, .. } = source {
                lj::jpeg_set_colorspace(&mut cinfo, lj::JCS_YCCK);
            }
            lj::jpeg_set_quality(&mut cinfo, c_int::from(quality), 1);
            let first = &mut *cinfo.comp_info;
            first.h_samp_factor = first_sampling.0;
            first.v_samp_factor = first_sampling.1;
            cinfo.arith_code = c_int::from(matches!(
                coding,
                Coding::ArithmeticSequential | Coding::ArithmeticProgressive
            ));
            if matches!(coding, Coding::Progressive | Coding::ArithmeticProgressive) {
                lj::jpeg_simple_progression(&mut cinfo);
            }
            lj::jpeg_start_compress(&mut cinfo, 1);
            for y in 0..height as usize {
                let row = samples[y * row_bytes..].as_ptr();
                lj::jpeg_write_scanlines(&mut cinfo, &row, 1);
            }
            lj::jpeg_finish_compress(&mut cinfo);
            let out = std::slice::from_raw_parts(buffer, size as usize).to_vec();
            libc::free(buffer.cast());
            lj::jpeg_destroy_compress(&mut cinfo);
            out
        }
    }

    /// `jpeg` with marker segments `(marker code, payload)` inserted after SOI and any APP0.
    pub fn with_segments(jpeg: &[u8], segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut at = 2;
        if jpeg[2..4] == [0xFF, 0xE0] {
            at = 4 + usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]]));
        }
        let mut out = jpeg[..at].to_vec();
        for (marker, payload) in segments {
            out.extend_from_slice(&[0xFF, *marker]);
            let len = u16::try_from(payload.len() + 2).expect("segment fits");
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(payload);
        }
        out.extend_from_slice(&jpeg[at..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_is_chosen_on_the_long_side() {
        assert_eq!(scale_denominator(6000, 4000, 512), 8);
        assert_eq!(scale_denominator(600, 1, 512), 1);
        assert_eq!(scale_denominator(1, 600, 256), 2);
        assert_eq!(scale_denominator(1200, 2, 256), 4);
        assert_eq!(scale_denominator(1999, 3, 256), 4);
        assert_eq!(scale_denominator(2048, 3, 256), 8);
        assert_eq!(scale_denominator(2041, 3, 256), 8);
        assert_eq!(scale_denominator(2040, 3, 256), 4);
        assert_eq!(scale_denominator(100, 100, 0), 8);
    }

    fn textured_rgb(w: u32, h: u32) -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [
                    (x * y % 251) as u8,
                    ((x ^ y) % 253) as u8,
                    ((x + 3 * y) % 256) as u8,
                ]
            })
            .collect()
    }

    #[test]
    fn dropping_unused_ac_scans_changes_no_pixel() {
        use test_support::{Coding, Source, encode_sampled};
        let (w, h) = (1024, 512);
        let rgb = textured_rgb(w, h);
        let grey: Vec<u8> = rgb.iter().step_by(3).copied().collect();
        let request = |min_long_side_px| JpegRequest {
            min_long_side_px,
            max_pixels: 1 << 30,
            max_alloc_bytes: 1 << 30,
        };
        let mut skipping = JpegDecoder::new().unwrap();
        let mut reading_all = JpegDecoder::reading_every_scan().unwrap();
        let mut filtered = Vec::new();
        for (name, source, sampling) in [
            ("4:4:4", Source::Rgb(&rgb), (1, 1)),
            ("4:2:2", Source::Rgb(&rgb), (2, 1)),
            ("4:2:0", Source::Rgb(&rgb), (2, 2)),
            ("4:4:0", Source::Rgb(&rgb), (1, 2)),
            ("grey", Source::Gray(&grey), (1, 1)),
        ] {
            let data = encode_sampled(w, h, source, Coding::Progressive, 90, sampling);
            // At 1/8 (128 px on the long side) the luma AC scans go.
            assert!(drop_unused_ac_scans(&data, 128, &mut filtered), "{name}");
            assert!(
                filtered.len() < data.len() * 3 / 4,
                "{name}: {} of {}",
                filtered.len(),
                data.len()
            );
            let a = skipping.decode(&data, &request(128)).unwrap();
            let b = reading_all.decode(&data, &request(128)).unwrap();
            assert_eq!((a.width_px, a.height_px), (128, 64), "{name}");
            assert!(a.pixels == b.pixels, "{name}: pixels differ");
            assert_eq!(a.end, StreamEnd::EndMarker);
            // Not at 1/4, not without EOI, not for baseline files.
            assert!(!drop_unused_ac_scans(&data, 129, &mut filtered), "{name}");
            assert!(!drop_unused_ac_scans(
                &data[..data.len() - 2],
                128,
                &mut filtered
            ));
            let baseline = encode_sampled(w, h, source, Coding::Baseline, 90, sampling);
            assert!(!drop_unused_ac_scans(&baseline, 128, &mut filtered));
        }
    }

    #[test]
    fn memory_limits_are_errors_and_the_decoder_carries_on() {
        use test_support::{Coding, Source, encode};
        let (w, h) = (512, 512);
        let rgb = textured_rgb(w, h);
        let data = encode(w, h, Source::Rgb(&rgb), Coding::Progressive, 90);
        let mut decoder = JpegDecoder::new().unwrap();
        let tight = JpegRequest {
            min_long_side_px: u32::MAX,
            max_pixels: 1 << 30,
            max_alloc_bytes: 100_000,
        };
        // The coefficient buffer of a progressive file (about 1 MB here) is libjpeg's.
        assert_eq!(
            decoder.decode(&data, &tight).err(),
            Some(JpegError::TooMuchMemory {
                limit_bytes: 100_000
            })
        );
        // A baseline file needs no such buffer; its output (768 KB) is refused by us.
        let baseline = encode(w, h, Source::Rgb(&rgb), Coding::Baseline, 90);
        assert_eq!(
            decoder.decode(&baseline, &tight).err(),
            Some(JpegError::TooMuchMemory {
                limit_bytes: 100_000
            })
        );
        let roomy = JpegRequest {
            max_alloc_bytes: 1 << 30,
            ..tight
        };
        let image = decoder.decode(&data, &roomy).unwrap();
        assert_eq!((image.width_px, image.height_px), (w, h));
    }

    #[test]
    fn coefficient_buffers_kept_between_images_change_no_pixel() {
        use test_support::{Coding, Source, encode};
        // Large, small, arithmetic-coded, large again: each later image reuses (and must clear) the
        // blocks an earlier, different image left behind; baseline files in between use none.
        let images: Vec<(u32, u32, Coding)> = vec![
            (640, 480, Coding::Progressive),
            (200, 120, Coding::Progressive),
            (320, 240, Coding::Baseline),
            (480, 640, Coding::ArithmeticProgressive),
            (640, 480, Coding::Progressive),
        ];
        let request = JpegRequest {
            min_long_side_px: u32::MAX,
            max_pixels: 1 << 30,
            max_alloc_bytes: 1 << 30,
        };
        let mut kept = JpegDecoder::new().unwrap();
        for (i, &(w, h, coding)) in images.iter().enumerate() {
            let rgb = textured_rgb(w, h);
            let rgb: Vec<u8> = rgb.iter().map(|&v| v.wrapping_add(i as u8 * 37)).collect();
            let data = encode(w, h, Source::Rgb(&rgb), coding, 85);
            let reused = kept.decode(&data, &request).unwrap();
            let fresh = JpegDecoder::new().unwrap().decode(&data, &request).unwrap();
            assert_eq!(
                reused.pixels, fresh.pixels,
                "image {i} ({w}x{h}, {coding:?})"
            );
            if coding != Coding::Baseline {
                // At most 640 x 480 blocks' worth, well under what a worker keeps.
                // SAFETY (test): between decodes.
                let kept_blocks = unsafe { kept.coefficients.get() }.blocks.capacity_blocks;
                assert!(kept_blocks >= (w * h / 64) as usize);
            }
        }
    }

    #[test]
    fn block_memory_is_zero_when_new_and_when_reused() {
        let mut memory = BlockMemory::default();
        let first = memory.zeroed(5000).unwrap();
        // SAFETY (test): 5000 blocks were handed out.
        let blocks = unsafe { std::slice::from_raw_parts_mut(first, 5000) };
        assert!(blocks.iter().all(|b| b.iter().all(|&c| c == 0)));
        blocks.iter_mut().for_each(|b| b.fill(-7));
        let again = memory.zeroed(3000).unwrap();
        assert_eq!(again, first, "a smaller request reuses the mapping");
        // SAFETY (test): 3000 blocks were handed out.
        let blocks = unsafe { std::slice::from_raw_parts(again, 3000) };
        assert!(blocks.iter().all(|b| b.iter().all(|&c| c == 0)));
        assert_eq!(first as usize % HUGE_PAGE_BYTES, 0, "2 MiB-aligned");
        let capacity = memory.capacity_blocks;
        let larger = memory.zeroed(capacity + 1).unwrap();
        // SAFETY (test): `capacity + 1` blocks were handed out.
        let blocks = unsafe { std::slice::from_raw_parts(larger, capacity + 1) };
        assert!(blocks.iter().all(|b| b.iter().all(|&c| c == 0)));
        assert!(memory.capacity_blocks > capacity);
    }

    #[test]
    fn coefficient_store_checks_limits_and_accesses() {
        let array = |blocks_per_row, num_rows| {
            Box::new(CoefficientArray {
                blocks_per_row,
                num_rows,
                first_row: None,
            })
        };
        let mut store = CoefficientStore::default();
        store.arrays.push(array(10, 4));
        store.arrays.push(array(5, 2));
        // 50 blocks of 128 bytes: over a 6,000-byte limit, as libjpeg's jmemnobs.c says it.
        assert_eq!(store.realize(Some(6000)), Err(lj::JERR_NO_BACKING_STORE));
        store.realize(Some(6400)).unwrap();
        let (a, b) = (
            &*store.arrays[0] as *const CoefficientArray,
            &*store.arrays[1] as *const CoefficientArray,
        );
        let a_rows = store.access(a, 1, 3).unwrap();
        let b_rows = store.access(b, 0, 2).unwrap();
        // SAFETY (test): the row pointers handed out above.
        unsafe {
            assert_eq!(
                (*a_rows.add(1)).offset_from(*a_rows),
                10,
                "rows of one array are consecutive"
            );
            assert_eq!(
                (*b_rows).offset_from(*a_rows.sub(1)),
                40,
                "arrays follow each other"
            );
        }
        assert_eq!(store.access(a, 2, 3), Err(lj::JERR_BAD_VIRTUAL_ACCESS));
        assert_eq!(
            store.access(b, u32::MAX as usize, 1),
            Err(lj::JERR_BAD_VIRTUAL_ACCESS)
        );
        let stranger = array(1, 1);
        assert_eq!(
            store.access(&*stranger, 0, 1),
            Err(lj::JERR_BAD_VIRTUAL_ACCESS)
        );
        // An array requested after the others were realized is libjpeg's bug, not a silent move.
        store.arrays.push(array(1, 1));
        assert_eq!(store.realize(None), Err(lj::JERR_VIRTUAL_BUG));
        store.end_image();
        assert!(store.arrays.is_empty() && store.rows.is_empty());
        assert!(
            store.blocks.capacity_blocks >= 50,
            "small blocks are kept for the next image"
        );
        store.arrays.push(array(usize::MAX / 2, 3));
        assert_eq!(store.realize(None), Err(lj::JERR_OUT_OF_MEMORY));
    }

    #[test]
    fn messages_are_formatted_like_printf() {
        let ints = [0xc9, 7, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            format_message("Unsupported JPEG process: SOF type 0x%02x", &ints, ""),
            "Unsupported JPEG process: SOF type 0xc9"
        );
        assert_eq!(
            format_message("%u extraneous %d", &ints, ""),
            "201 extraneous 7"
        );
        assert_eq!(format_message("file %s", &ints, "x.jpg"), "file x.jpg");
    }

    #[test]
    fn icc_chunks_join_in_sequence_order() {
        let mut chunks = [(2, 2, &b"world"[..]), (1, 2, &b"hello "[..])];
        assert_eq!(assemble_icc(&mut chunks).unwrap(), b"hello world");
        let mut missing = [(1, 3, &b"a"[..]), (3, 3, &b"c"[..])];
        assert_eq!(assemble_icc(&mut missing), None);
        let mut repeated = [(1, 2, &b"a"[..]), (1, 2, &b"b"[..])];
        assert_eq!(assemble_icc(&mut repeated), None);
    }

    #[test]
    fn cmyk_converts_with_and_without_adobe_inversion() {
        // Plain CMYK: pure cyan, pure red (M+Y), 50 % black.
        let mut plain = vec![255, 0, 0, 0, 0, 255, 255, 0, 0, 0, 0, 128];
        cmyk_to_rgb_in_place(&mut plain, false);
        assert_eq!(plain, vec![0, 255, 255, 255, 0, 0, 127, 127, 127]);
        let mut inverted = vec![0, 255, 255, 255, 255, 0, 0, 255, 255, 255, 255, 127];
        cmyk_to_rgb_in_place(&mut inverted, true);
        assert_eq!(inverted, vec![0, 255, 255, 255, 0, 0, 127, 127, 127]);
    }
}
