//! Shrinkwrap: zips files and makes image thumbnails on a background worker pool.
//!
//! - [`engine`]: jobs, the worker pool, progress and cancel; no front end in it.
//! - [`cli`]: the headless front end.
//! - [`ui`]: the eframe window.

pub mod cli;
pub mod engine;
pub mod ui;
