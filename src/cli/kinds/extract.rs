//! `shrinkwrap extract` and `shrinkwrap test`: the extract kind's two subcommands. `extract`
//! takes archives, the output folder and the safety options; `test` takes archives only and
//! prints each entry checked, as `unzip -t` does. Both name the conflict policies and the
//! password file in their own flags.
//!
//! Must not touch: placement, safety decisions and defaults (the extract kind's spec and plan:
//! every default here is `ExtractSpec::new`'s), the password (the file is checked here as `zip`
//! checks it, but the engine reads it when the job starts: only its path is passed on), running
//! jobs.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{ArgMatches, Args, FromArgMatches, ValueEnum};

use super::{ArgsError, CliKind};
use crate::engine::kinds::extract::spec::ExtractSpec;
use crate::engine::{ConflictPolicy, JobError, JobKind, JobOutcome, JobReport, JobSpec, Plan};

/// The conflict policies an extract offers (an entry has no "source newer than" to update by).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ConflictArg {
    /// Keep the existing file and write "name (1).ext".
    Rename,
    /// Replace the existing file once the new one is complete.
    Overwrite,
    /// Keep the existing file and extract nothing for that entry.
    Skip,
}

impl From<ConflictArg> for ConflictPolicy {
    fn from(value: ConflictArg) -> ConflictPolicy {
        match value {
            ConflictArg::Rename => ConflictPolicy::Rename,
            ConflictArg::Overwrite => ConflictPolicy::Overwrite,
            ConflictArg::Skip => ConflictPolicy::Skip,
        }
    }
}

#[derive(Args, Debug)]
struct ExtractArgs {
    /// Zip archives, or folders holding them (every .zip inside, at any depth).
    #[arg(required = true, value_name = "ARCHIVE")]
    inputs: Vec<PathBuf>,
    /// The folder to extract into (created when missing). An archive whose entries sit in one
    /// top-level folder, or that holds one file, goes straight in; any other into a folder
    /// named after it.
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// When an entry's file exists: keep it and write "name (1).ext" (rename), replace it once
    /// the new one is complete (overwrite), or keep it and skip the entry (skip).
    #[arg(long, value_enum, default_value_t = ConflictArg::Rename)]
    on_conflict: ConflictArg,
    /// A file whose first line is the password of encrypted entries (the password itself is
    /// never an argument: other users can read a process's arguments).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Create symbolic-link entries whose target stays inside the output folder (without it no
    /// link is created; each is listed as skipped).
    #[arg(long)]
    links: bool,
    /// Restore setuid and setgid bits (without it only plain permission bits are restored).
    #[arg(long)]
    keep_setuid: bool,
}

#[derive(Args, Debug)]
struct TestArgs {
    /// Zip archives, or folders holding them (every .zip inside, at any depth).
    #[arg(required = true, value_name = "ARCHIVE")]
    inputs: Vec<PathBuf>,
    /// A file whose first line is the password of encrypted entries.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

/// A password file the job could not read (missing, not a regular file, empty), refused before
/// anything is queued, as `zip --password-file` refuses it. The job reads it again when it starts
/// (and a resumed job too): only the file's path goes into the spec and the journal.
fn check_password_file(file: Option<&Path>) -> Result<(), ArgsError> {
    match file {
        Some(f) => super::read_password_file(f).map(drop),
        None => Ok(()),
    }
}

/// The extract kind's `extract` subcommand.
pub(super) struct ExtractCli;

impl CliKind for ExtractCli {
    fn kind(&self) -> JobKind {
        crate::engine::kinds::extract::KIND
    }

    fn subcommand(&self, command: clap::Command) -> clap::Command {
        ExtractArgs::augment_args(
            command.about("Extract zip archives into a folder (nothing ever lands outside it)"),
        )
    }

    fn specs(&self, matches: &ArgMatches) -> Result<Vec<JobSpec>, ArgsError> {
        let a = ExtractArgs::from_arg_matches(matches)?;
        check_password_file(a.password_file.as_deref())?;
        if a.output.exists() && !a.output.is_dir() {
            return Err(ArgsError::Invalid(format!(
                "{}: not a folder (extract writes into a folder)",
                a.output.display()
            )));
        }
        Ok(vec![JobSpec::Extract(ExtractSpec {
            on_conflict: a.on_conflict.into(),
            password_file: a.password_file,
            create_symlinks: a.links,
            restore_setuid: a.keep_setuid,
            ..ExtractSpec::new(a.inputs, a.output)
        })])
    }

    fn plan_heading(&self, plan: &Plan) -> String {
        format!(
            "Plan: extract into {}; nothing is written yet",
            plan.destination.display()
        )
    }

    fn failure_hint(&self, error: &JobError) -> Option<&'static str> {
        matches!(error, JobError::DestinationExists { .. })
            .then_some(" (use --on-conflict overwrite to replace, or rename)")
    }
}

/// The extract kind's `test` subcommand.
pub(super) struct TestCli;

impl CliKind for TestCli {
    fn kind(&self) -> JobKind {
        crate::engine::kinds::extract::KIND
    }

    fn name(&self) -> &'static str {
        "test"
    }

    fn subcommand(&self, command: clap::Command) -> clap::Command {
        TestArgs::augment_args(
            command.about("Test zip archives: read every entry and check it, writing nothing"),
        )
    }

    fn specs(&self, matches: &ArgMatches) -> Result<Vec<JobSpec>, ArgsError> {
        let a = TestArgs::from_arg_matches(matches)?;
        check_password_file(a.password_file.as_deref())?;
        Ok(vec![JobSpec::Extract(ExtractSpec {
            password_file: a.password_file,
            ..ExtractSpec::test(a.inputs)
        })])
    }

    fn plan_heading(&self, plan: &Plan) -> String {
        format!("Plan: test {}; nothing is written", plan.name)
    }

    /// One line per entry found intact, as `unzip -t` prints them, then a verdict per job (the
    /// entries that failed are on stderr, each with its reason).
    fn write_results(&self, report: &JobReport, out: &mut dyn Write) -> std::io::Result<()> {
        if report.dry_run {
            return Ok(());
        }
        for entry in &report.outputs {
            writeln!(out, "    testing: {}  OK", entry.display())?;
        }
        let errors = report.problems.len();
        let name = &report.progress.name;
        match report.outcome {
            JobOutcome::Done if errors == 0 => writeln!(
                out,
                "No errors detected in {name} ({} entries checked).",
                report.outputs.len()
            ),
            JobOutcome::Failed => writeln!(out, "{name}: could not be tested."),
            JobOutcome::Cancelled | JobOutcome::Stopped => {
                writeln!(out, "{name}: test stopped before its end.")
            }
            _ => writeln!(
                out,
                "{name}: {errors} of {} entries with errors ({} intact).",
                errors + report.outputs.len(),
                report.outputs.len()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(cli: &dyn CliKind, args: &[&str]) -> Result<Vec<JobSpec>, ArgsError> {
        let command = cli.subcommand(clap::Command::new(cli.name()).no_binary_name(true));
        let matches = command.try_get_matches_from(args)?;
        cli.specs(&matches)
    }

    #[test]
    fn every_option_reaches_the_spec_and_defaults_are_the_engines() {
        let tmp = tempfile::tempdir().unwrap();
        let pass = tmp.path().join("pass.txt");
        std::fs::write(&pass, b"secret\n").unwrap();
        let pass_arg = pass.to_str().unwrap();
        let Ok(made) = specs(&ExtractCli, &["a.zip", "b", "-o", "out"]) else {
            panic!("arguments refused")
        };
        assert_eq!(
            made,
            vec![JobSpec::Extract(ExtractSpec::new(
                vec!["a.zip".into(), "b".into()],
                "out".into()
            ))],
            "the engine's defaults, untouched"
        );
        let Ok(made) = specs(
            &ExtractCli,
            &[
                "a.zip",
                "-o",
                "out",
                "--on-conflict",
                "skip",
                "--password-file",
                pass_arg,
                "--links",
                "--keep-setuid",
            ],
        ) else {
            panic!("arguments refused")
        };
        assert_eq!(
            made,
            vec![JobSpec::Extract(ExtractSpec {
                on_conflict: ConflictPolicy::Skip,
                password_file: Some(pass.clone()),
                create_symlinks: true,
                restore_setuid: true,
                ..ExtractSpec::new(vec!["a.zip".into()], "out".into())
            })]
        );
        let Ok(made) = specs(&TestCli, &["a.zip", "--password-file", pass_arg]) else {
            panic!("arguments refused")
        };
        assert_eq!(
            made,
            vec![JobSpec::Extract(ExtractSpec {
                password_file: Some(pass),
                ..ExtractSpec::test(vec!["a.zip".into()])
            })]
        );
        // The engine's own names for the policies offered.
        for (arg, policy) in [
            (ConflictArg::Rename, ConflictPolicy::Rename),
            (ConflictArg::Overwrite, ConflictPolicy::Overwrite),
            (ConflictArg::Skip, ConflictPolicy::Skip),
        ] {
            assert_eq!(ConflictPolicy::from(arg), policy);
        }
        assert_eq!(
            ExtractSpec::new(Vec::new(), PathBuf::new()).on_conflict,
            ConflictArg::Rename.into(),
            "the default is the engine's"
        );
    }

    #[test]
    fn a_missing_password_file_or_a_file_as_output_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope.txt");
        let empty = tmp.path().join("empty.txt");
        std::fs::write(&empty, b"\n").unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        for bad in [&missing, &empty] {
            let m = bad.to_str().unwrap();
            for cli in [&ExtractCli as &dyn CliKind, &TestCli] {
                let mut args = vec!["a.zip", "--password-file", m];
                if cli.name() == "extract" {
                    args.extend(["-o", "out"]);
                }
                let Err(ArgsError::Invalid(message)) = specs(cli, &args) else {
                    panic!("{}: a bad password file taken: {m}", cli.name())
                };
                assert!(message.contains(m), "{message}");
            }
        }
        let Err(ArgsError::Invalid(message)) =
            specs(&ExtractCli, &["a.zip", "-o", file.to_str().unwrap()])
        else {
            panic!("extracting into a file taken")
        };
        assert!(message.contains(file.to_str().unwrap()), "{message}");
        assert!(matches!(specs(&TestCli, &["a.zip", "-o", "x"]), Err(ArgsError::Parse(_))));
    }
}
