//! The eframe window (being written).

use std::ffi::OsString;
use std::process::ExitCode;

/// Opens the window. `args` is the whole command line (program name first).
pub fn main(_args: Vec<OsString>) -> ExitCode {
    eprintln!("shrinkwrap: the window is not there yet; use `shrinkwrap zip` or `shrinkwrap thumbs`");
    ExitCode::from(2)
}
