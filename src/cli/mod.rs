//! The headless front end on the same engine as the window: one subcommand per job kind
//! (`shrinkwrap zip ...`, `shrinkwrap thumbs ...`, `shrinkwrap extract ...`, and `shrinkwrap
//! test ...` for extract's "test"), `shrinkwrap run FILE.toml` (a job file) and `shrinkwrap
//! resume`.
//!
//! Owns: the top-level command line, built from the registry of [`kinds`] (each kind names its
//! subcommand by its id and adds its own arguments), and the one dispatch that sends a parsed
//! subcommand to its kind or to `resume`. The parts: [`kinds`] (each kind's arguments -> job
//! specs, its plan heading and failure hints), `run` (running jobs: the engine, Ctrl-C, the
//! event loop, `--json`, the exit status, the options every job subcommand shares), `progress`
//! (terminal bars), `plan` (the printed plan of `--dry-run`), `report` (the lines after the jobs
//! end), `resume`, `workflow` (`run FILE.toml`; file lists, shards, presets, watching).
//! Must not touch: job logic and shared policy (spec validation, naming, defaults, the exit
//! status: the engine's), the window.

mod kinds;
mod plan;
mod progress;
mod report;
mod resume;
mod run;
mod workflow;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{ArgMatches, Args, FromArgMatches};

use crate::engine::exit_status;
use kinds::{ArgsError, CliKind};
use run::RunArgs;

const ABOUT: &str = "Zip files, extract and test zip archives, and make image thumbnails on all cores, with progress and clean cancel";

const AFTER_HELP: &str = "Without a subcommand shrinkwrap opens its window:\n  shrinkwrap [PATH]...                      the window, with PATHs as inputs\n  shrinkwrap --compress|--thumbnails|--extract PATH...  ...and queue that job at once\n  options: --quit-when-done, --screenshot FILE.png\n\nExit codes: 0 all went well, 1 finished with per-file errors (listed on stderr),\n2 failed job or bad arguments, 130 cancelled with Ctrl-C.";

/// The exit status of a command line that queued nothing (bad arguments): the engine's status
/// for a run without any outcome, a failure.
fn bad_arguments() -> u8 {
    exit_status(std::iter::empty(), false)
}

/// The whole command line: one subcommand per registered kind, then `run` and `resume`; every
/// kind's subcommand takes the workflow options and the run options ([`RunArgs`]) after its
/// own.
fn command() -> clap::Command {
    let kinds = kinds::all().iter().map(|kind| {
        RunArgs::augment_args(workflow::augment(
            *kind,
            kind.subcommand(clap::Command::new(kind.name())),
        ))
    });
    clap::Command::new("shrinkwrap")
        .version(env!("CARGO_PKG_VERSION"))
        .about(ABOUT)
        .after_help(AFTER_HELP)
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommands(kinds)
        .subcommand(workflow::command())
        .subcommand(resume::command())
}

/// Whether the command line is for this front end (a subcommand, help or version).
pub fn is_cli_invocation(args: &[OsString]) -> bool {
    let Some(first) = args.get(1).and_then(|a| a.to_str()) else {
        return false;
    };
    kinds::by_name(first).is_some()
        || matches!(
            first,
            resume::NAME | workflow::NAME | "help" | "--help" | "-h" | "--version" | "-V"
        )
}

/// Runs the command line; returns the process exit code.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let matches = match command().try_get_matches_from(args) {
        Ok(matches) => matches,
        Err(e) => return ExitCode::from(clap_error(&e)),
    };
    let status = match matches.subcommand() {
        Some((resume::NAME, sub)) => resume::main(sub),
        Some((workflow::NAME, sub)) => workflow::main(sub),
        Some((name, sub)) => match kinds::by_name(name) {
            Some(kind) => run_kind(kind, sub),
            None => bad_arguments(),
        },
        // clap requires a subcommand.
        None => bad_arguments(),
    };
    ExitCode::from(status)
}

/// Prints a clap error (or the help or version it carries); returns the exit status.
fn clap_error(e: &clap::Error) -> u8 {
    let _ = e.print();
    if e.use_stderr() { bad_arguments() } else { 0 }
}

/// Runs a kind's subcommand: its jobs, with the run options.
fn run_kind(kind: &'static dyn CliKind, matches: &ArgMatches) -> u8 {
    if kind.tunes_allocator() {
        crate::tune_allocator();
    }
    let options = match RunArgs::from_arg_matches(matches) {
        Ok(options) => options,
        Err(e) => return clap_error(&e),
    };
    match workflow::run_kind(kind, matches, &options) {
        Ok(status) => status,
        Err(e) => args_error(&e),
    }
}

/// Prints why the arguments cannot run; returns the exit status.
fn args_error(e: &ArgsError) -> u8 {
    match e {
        ArgsError::Parse(e) => clap_error(e),
        ArgsError::Invalid(message) => {
            eprintln!("shrinkwrap: {message}");
            bad_arguments()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn every_subcommand_keeps_its_own_help_line() {
        let command = command();
        let abouts: Vec<String> = command
            .get_subcommands()
            .map(|s| s.get_about().map(|a| a.to_string()).unwrap_or_default())
            .collect();
        assert_eq!(abouts.len(), kinds::all().len() + 2);
        for (n, about) in abouts.iter().enumerate() {
            assert!(!about.is_empty(), "subcommand {n} has no help line");
            assert_eq!(
                abouts.iter().filter(|a| *a == about).count(),
                1,
                "{about:?} is not one subcommand's own"
            );
        }
    }

    #[test]
    fn every_kind_and_resume_is_a_cli_invocation() {
        let line = |first: &str| vec![OsString::from("shrinkwrap"), OsString::from(first)];
        for kind in crate::engine::KINDS {
            assert!(is_cli_invocation(&line(kind.id)), "{}", kind.id);
        }
        for kind in kinds::all() {
            assert!(is_cli_invocation(&line(kind.name())), "{}", kind.name());
        }
        for first in ["resume", "run", "help", "--help", "-h", "--version", "-V"] {
            assert!(is_cli_invocation(&line(first)), "{first}");
        }
        for first in ["photos", "--compress", "--thumbnails", "Zip"] {
            assert!(!is_cli_invocation(&line(first)), "{first}");
        }
        assert!(!is_cli_invocation(&[OsString::from("shrinkwrap")]));
    }

    #[test]
    fn each_kind_parses_into_its_own_jobs() {
        let parse = |args: &[&str]| {
            let matches = command().try_get_matches_from(args).unwrap();
            let (name, sub) = matches.subcommand().unwrap();
            let kind = kinds::by_name(name).unwrap();
            let options = RunArgs::from_arg_matches(sub).unwrap();
            (kind.specs(sub), options)
        };
        let (specs, options) = parse(&[
            "shrinkwrap",
            "zip",
            "a.txt",
            "-o",
            "a.zip",
            "--dry-run",
            "-j",
            "3",
        ]);
        let Ok(specs) = specs else {
            panic!("zip arguments refused")
        };
        assert_eq!(
            specs,
            vec![crate::engine::JobSpec::Zip(crate::engine::ZipSpec::new(
                vec!["a.txt".into()],
                "a.zip".into()
            ))],
            "the engine's defaults, untouched"
        );
        assert!(options.dry_run && options.jobs == Some(3) && !options.json);

        let (specs, options) = parse(&["shrinkwrap", "thumbs", "p", "-o", "t", "--json"]);
        let Ok(specs) = specs else {
            panic!("thumbs arguments refused")
        };
        assert_eq!(
            specs,
            vec![crate::engine::JobSpec::Thumbs(
                crate::engine::ThumbSpec::new(vec!["p".into()], "t".into())
            )],
            "the engine's defaults, untouched"
        );
        assert!(options.json && !options.dry_run);
    }
}
