//! `shrinkwrap zip`: its arguments (one archive, or one per folder with `--each`), and its hint
//! when the archive already exists.
//!
//! Must not touch: archive naming and defaults (the zip kind's spec: `ZipSpec::per_folder`,
//! the default level and existing-archive policy), running jobs.

use std::path::PathBuf;

use clap::{ArgMatches, Args, FromArgMatches};

use super::{ArgsError, CliKind};
use crate::engine::{
    DEFAULT_ZIP_LEVEL, ExistingArchive, JobError, JobKind, JobSpec, MAX_ZIP_LEVEL, ZipSpec,
};

#[derive(Args, Debug)]
struct ZipArgs {
    /// Files and folders to compress (with --each: folders, one archive each).
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// One archive per input folder, named <folder>.zip, in the --output folder.
    #[arg(long)]
    each: bool,
    /// The archive to write; a folder means <input name>.zip in it (with --each: the folder to
    /// write archives into).
    #[arg(short, long, value_name = "ARCHIVE.zip|DIR")]
    output: PathBuf,
    /// Deflate level: 0 stores, 9 is smallest.
    #[arg(short, long, default_value_t = DEFAULT_ZIP_LEVEL, value_parser = clap::value_parser!(u8).range(0..=i64::from(MAX_ZIP_LEVEL)))]
    level: u8,
    /// Replace an existing archive (once the new one is complete).
    #[arg(long, conflicts_with = "keep_both")]
    overwrite: bool,
    /// Keep an existing archive and write "name (1).zip".
    #[arg(long)]
    keep_both: bool,
}

/// The zip kind on the command line.
pub(super) struct ZipCli;

impl CliKind for ZipCli {
    fn kind(&self) -> JobKind {
        crate::engine::kinds::zip::KIND
    }

    fn subcommand(&self, command: clap::Command) -> clap::Command {
        ZipArgs::augment_args(command.about(
            "Compress inputs into one .zip archive (or, with --each, one archive per folder)",
        ))
    }

    fn specs(&self, matches: &ArgMatches) -> Result<Vec<JobSpec>, ArgsError> {
        let a = ZipArgs::from_arg_matches(matches)?;
        let on_exists = if a.overwrite {
            ExistingArchive::Replace
        } else if a.keep_both {
            ExistingArchive::KeepBoth
        } else {
            ExistingArchive::default()
        };
        if !a.each {
            return Ok(vec![JobSpec::Zip(ZipSpec {
                level: a.level,
                on_exists,
                ..ZipSpec::new(a.inputs, a.output)
            })]);
        }
        // The window asks before it makes archives of single files; a command line cannot ask,
        // so it takes folders only.
        if let Some(file) = a.inputs.iter().find(|input| !input.is_dir()) {
            return Err(ArgsError::Invalid(format!(
                "{}: not a folder (--each takes folders)",
                file.display()
            )));
        }
        if a.output.exists() && !a.output.is_dir() {
            return Err(ArgsError::Invalid(format!(
                "{}: not a folder (--each writes archives into a folder)",
                a.output.display()
            )));
        }
        Ok(ZipSpec::per_folder(&a.inputs, &a.output, a.level, on_exists)
            .into_iter()
            .map(JobSpec::Zip)
            .collect())
    }

    /// Measured: compression's buffers fragment glibc's arenas without it (see
    /// [`crate::tune_allocator`]).
    fn tunes_allocator(&self) -> bool {
        true
    }

    fn failure_hint(&self, error: &JobError) -> Option<&'static str> {
        matches!(error, JobError::DestinationExists { .. })
            .then_some(" (use --overwrite to replace it, or --keep-both)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(args: &[&str]) -> Result<Vec<JobSpec>, ArgsError> {
        let command = ZipCli.subcommand(clap::Command::new("zip").no_binary_name(true));
        let matches = command.try_get_matches_from(args)?;
        ZipCli.specs(&matches)
    }

    #[test]
    fn each_folder_is_its_own_job_and_files_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (one, two, file) = (
            tmp.path().join("a/photos"),
            tmp.path().join("b/photos"),
            tmp.path().join("notes.txt"),
        );
        std::fs::create_dir_all(&one).unwrap();
        std::fs::create_dir_all(&two).unwrap();
        std::fs::write(&file, b"n").unwrap();
        let out = tmp.path().join("zips");
        let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
        let Ok(made) = specs(&[
            "--each",
            &path(&one),
            &path(&two),
            "-o",
            &path(&out),
            "--keep-both",
        ]) else {
            panic!("two folders refused")
        };
        // The engine names the archives (two folders of one name get distinct archives).
        let folders = [one.clone(), two];
        let expected: Vec<JobSpec> =
            ZipSpec::per_folder(&folders, &out, DEFAULT_ZIP_LEVEL, ExistingArchive::KeepBoth)
                .into_iter()
                .map(JobSpec::Zip)
                .collect();
        assert_eq!(made, expected);
        assert_eq!(made.len(), 2);

        let Err(ArgsError::Invalid(message)) =
            specs(&["--each", &path(&one), &path(&file), "-o", &path(&out)])
        else {
            panic!("a file taken by --each")
        };
        assert!(message.contains(&path(&file)), "{message}");
        let Err(ArgsError::Invalid(message)) =
            specs(&["--each", &path(&one), "-o", &path(&file)])
        else {
            panic!("archives written into a file")
        };
        assert!(message.contains(&path(&file)), "{message}");
    }

    #[test]
    fn the_hint_names_this_commands_flags_only_for_an_existing_archive() {
        let exists = JobError::DestinationExists {
            path: PathBuf::from("x.zip"),
        };
        let hint = ZipCli.failure_hint(&exists).unwrap();
        assert!(hint.contains("--overwrite") && hint.contains("--keep-both"));
        assert_eq!(
            ZipCli.failure_hint(&JobError::NothingToDo("nothing to compress")),
            None
        );
    }
}
