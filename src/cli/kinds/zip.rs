//! `shrinkwrap zip`: its arguments (one archive, or one per folder with `--each`; exclude
//! patterns, `.gitignore` files, the password file), and its hint when the archive already
//! exists. Also owns reading a `--password-file` for every subcommand that takes one
//! ([`read_password_file`]): the password is never an argument, and its text goes only into the
//! spec (whose serialization, in the journal and `--json`, records only that there was one).
//!
//! Must not touch: archive naming and defaults (the zip kind's spec: `ZipSpec::per_folder`,
//! the default level and existing-archive policy), what the patterns mean (the engine's
//! `exclude`), running jobs.

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
    /// Leave out files and folders matching GLOB, with .gitignore syntax: `*.tmp`, `.git/`,
    /// `node_modules/`, `/build` (top level only), `!keep.tmp` (take one back). Repeatable;
    /// matched against names inside each input. The dry run lists what is left out.
    #[arg(long = "exclude", id = "exclude", value_name = "GLOB", action = clap::ArgAction::Append)]
    excludes: Vec<String>,
    /// Leave out what the .gitignore files in the inputs' folders say (each applies to its
    /// folder and below, as in git).
    #[arg(long)]
    gitignore: bool,
    /// Encrypt every entry with AES-256 (WinZip AE-2, as 7-Zip writes it) under the password on
    /// this file's first line. The password itself is never an argument (other users can read a
    /// process's arguments) and is never kept: resuming the job asks for it again.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
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
        let password = a
            .password_file
            .as_deref()
            .map(super::read_password_file)
            .transpose()?;
        // What every job of this command line leaves out and encrypts with.
        let with_options = |spec: ZipSpec| ZipSpec {
            excludes: a.excludes.clone(),
            honour_gitignore: a.gitignore,
            password: password.clone(),
            ..spec
        };
        let on_exists = if a.overwrite {
            ExistingArchive::Replace
        } else if a.keep_both {
            ExistingArchive::KeepBoth
        } else {
            ExistingArchive::default()
        };
        if !a.each {
            return Ok(vec![JobSpec::Zip(with_options(ZipSpec {
                level: a.level,
                on_exists,
                ..ZipSpec::new(a.inputs.clone(), a.output.clone())
            }))]);
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
            .map(|spec| JobSpec::Zip(with_options(spec)))
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
    use crate::cli::kinds::read_password_file;
    use crate::engine::model::password::Password;

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
    fn excludes_gitignore_and_the_password_reach_every_job() {
        let tmp = tempfile::tempdir().unwrap();
        let (one, two) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir_all(&one).unwrap();
        std::fs::create_dir_all(&two).unwrap();
        let pass = tmp.path().join("pass.txt");
        std::fs::write(&pass, b"s3cret pass\r\nsecond line\n").unwrap();
        let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
        for each in [false, true] {
            let mut args = vec![
                path(&one),
                path(&two),
                "-o".to_owned(),
                path(tmp.path()),
                "--exclude".to_owned(),
                "*.tmp".to_owned(),
                "--exclude=.git/".to_owned(),
                "--gitignore".to_owned(),
                "--password-file".to_owned(),
                path(&pass),
            ];
            if each {
                args.push("--each".to_owned());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let Ok(made) = specs(&args) else {
                panic!("arguments refused")
            };
            assert_eq!(made.len(), if each { 2 } else { 1 });
            for spec in &made {
                let JobSpec::Zip(zip) = spec else {
                    panic!("a zip job: {spec:?}")
                };
                assert_eq!(zip.excludes, ["*.tmp", ".git/"]);
                assert!(zip.honour_gitignore);
                // The first line, its CR/LF stripped.
                assert_eq!(zip.password, Some(Password::new("s3cret pass")));
                // Neither printed nor serialized.
                assert!(!format!("{spec:?}").contains("s3cret"));
                assert!(!serde_json::to_string(zip).unwrap().contains("s3cret"));
            }
        }
        let Ok(plain) = specs(&[&path(&one), "-o", "x.zip"]) else {
            panic!("arguments refused")
        };
        assert_eq!(
            plain,
            vec![JobSpec::Zip(ZipSpec::new(vec![one.clone()], "x.zip".into()))],
            "nothing excluded and no password unless asked"
        );
    }

    #[test]
    fn an_empty_missing_or_odd_password_file_is_a_usage_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let empty = tmp.path().join("empty.txt");
        std::fs::write(&empty, b"").unwrap();
        let blank = tmp.path().join("blank.txt");
        std::fs::write(&blank, b"\r\nsecond\n").unwrap();
        let binary = tmp.path().join("binary.txt");
        std::fs::write(&binary, b"\xff\xfe\n").unwrap();
        let missing = tmp.path().join("missing.txt");
        let folder = tmp.path().to_path_buf();
        for (file, says) in [
            (&empty, "empty"),
            (&blank, "empty"),
            (&binary, "UTF-8"),
            (&missing, "no such"),
            (&folder, "not a regular file"),
        ] {
            let Err(ArgsError::Invalid(message)) = read_password_file(file) else {
                panic!("{}: taken", file.display())
            };
            assert!(message.contains(file.to_str().unwrap()), "{message}");
            assert!(message.contains(says), "{message}");
            let Err(ArgsError::Invalid(_)) =
                specs(&["in", "-o", "x.zip", "--password-file", file.to_str().unwrap()])
            else {
                panic!("{}: a job made", file.display())
            };
        }
        let lf = tmp.path().join("lf.txt");
        std::fs::write(&lf, "pässwort\n").unwrap();
        assert_eq!(read_password_file(&lf).ok(), Some(Password::new("pässwort")));
        let no_newline = tmp.path().join("nonl.txt");
        std::fs::write(&no_newline, "pw").unwrap();
        assert_eq!(read_password_file(&no_newline).ok(), Some(Password::new("pw")));
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
