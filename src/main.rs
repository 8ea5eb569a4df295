//! Entry point: a job kind's subcommand (`shrinkwrap zip|thumbs ...`), `resume`, help or version
//! runs the command line; anything else opens the window.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if shrinkwrap::cli::is_cli_invocation(&args) {
        shrinkwrap::cli::main(args)
    } else {
        shrinkwrap::tune_allocator();
        shrinkwrap::ui::main(args)
    }
}
