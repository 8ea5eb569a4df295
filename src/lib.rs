//! Shrinkwrap: zips files and makes image thumbnails on a background worker pool.
//!
//! - [`engine`]: jobs, the worker pool, progress and cancel; no front end in it.
//! - [`cli`]: the headless front end.
//! - [`ui`]: the eframe window.
//! - [`format`]: figures for people (sizes, counts, durations), one convention for both front
//!   ends.

pub mod cli;
pub mod engine;
pub mod format;
pub mod ui;

/// Keeps glibc from holding on to freed buffers; call before any thread starts.
///
/// glibc raises its mmap threshold dynamically after large frees, after which the buffers of
/// compression come from arenas that fragment and are not returned: measured on the zip
/// benchmark, 205 MB peak RSS with the default, 32 MB with a fixed 128 KiB threshold (for about
/// 5 % more time in page faults). Thumbnailing is the other way round: its big decode buffers
/// are reused well by the default policy, and a fixed threshold costs it 15 % in page faults
/// (4.30 s against 5.01 s on the benchmark images, 406 MB against 241 MB peak). So the window
/// and `shrinkwrap zip` call this; `shrinkwrap thumbs` does not.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called once at start-up, before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 * 1024);
    }
}
