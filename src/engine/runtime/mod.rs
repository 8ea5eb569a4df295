//! The runtime: the one job lifecycle and everything it owns for every kind.
//!
//! - [`job`]: the lifecycle (scan, plan, run, finish; pause, stop, cancel) and the small trait a
//!   kind implements ([`job::JobKindImpl`]);
//! - [`scheduler`]: the worker pool and the queue (oldest job with work first, dry runs ahead);
//! - [`status`] and [`reporter`]: a job's figures, and the thread that sends coalesced progress;
//! - [`resolver`]: the one place an output's name and action are chosen;
//! - [`claims`]: the engine-wide claims on inputs and outputs;
//! - [`journal`]: what a job is doing, on disk, so a crash can be resumed;
//! - [`temp`]: temporary outputs, renamed into place when complete;
//! - [`disk`]: free space, for the full-disk pause that goes on by itself;
//! - [`memory`]: the engine-wide memory budget large allocations (image decodes) reserve from;
//! - [`scan`] and [`input`]: walking the inputs, reading them with cancel in mind; [`exclude`]:
//!   the exclude patterns and `.gitignore` files the scan applies.
//!
//! Must not touch: any particular job kind (a kind plugs in through [`job::JobKindImpl`] and
//! [`job::KindSpec`]; nothing here names one), any front end.

pub mod claims;
pub mod disk;
pub mod exclude;
pub mod input;
pub mod job;
pub mod journal;
pub mod memory;
pub mod password_file;
pub mod reporter;
pub mod resolver;
pub mod scan;
pub mod scheduler;
pub mod status;
pub mod temp;

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, carrying on after a panic elsewhere poisoned it: every engine mutex guards data
/// that stays consistent between statements, so the poison carries no information here.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
