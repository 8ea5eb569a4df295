//! "Copy as command": a spec as the `shrinkwrap` command line that does the same job.
//!
//! The line names the subcommand (the kind's id), the inputs, `--output`, `--shard` when the
//! job is one, and the options that differ from a new job's ([`Which::Changed`]); the flags are
//! the option keys ([`options`](super::options)). It is quoted for a POSIX shell. A line never
//! holds a password: a job with a password file names that file, and one whose password was
//! typed names [`PASSWORD_FILE_PLACEHOLDER`] in its place ([`password_on_line`] says which).
//!
//! Owns: [`command_args`], [`command_line`], [`shell_quote`], [`password_on_line`]. Must not
//! touch: parsing command lines (the CLI's), the file system.

use std::path::PathBuf;

use super::options::{KindOptions, Which};
use super::{ExportError, InputSelection, path_text};
use crate::engine::kinds::JobSpec;

/// The program's name on a command line.
pub const PROGRAM: &str = "shrinkwrap";

/// What a line says in place of the password file of a job whose password was typed (a line
/// never holds a password): the person puts the password in a file and names it there.
pub const PASSWORD_FILE_PLACEHOLDER: &str = "PASSWORD-FILE";

/// How a job's password shows on its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordOnLine {
    /// The job has no password.
    None,
    /// `--password-file` with the job's own password file.
    File(PathBuf),
    /// `--password-file` [`PASSWORD_FILE_PLACEHOLDER`]: the password was typed (or not kept).
    Placeholder,
}

/// How `spec`'s password shows on its command line.
pub fn password_on_line(spec: &JobSpec) -> PasswordOnLine {
    if spec.holds_password() {
        PasswordOnLine::Placeholder
    } else if let Some(file) = spec.password_file() {
        PasswordOnLine::File(file.to_path_buf())
    } else {
        PasswordOnLine::None
    }
}

/// The command line (program first) that does `spec`'s job. A job that picks single files
/// among its inputs (a retry, a chained job) has none: [`ExportError::OnlySomeFiles`].
pub fn command_args(spec: &JobSpec) -> Result<Vec<String>, ExportError> {
    if !InputSelection::of(spec).only.is_empty() {
        return Err(ExportError::OnlySomeFiles);
    }
    let mut args = vec![PROGRAM.to_owned(), spec.kind().id.to_owned()];
    for input in spec.inputs() {
        let text = path_text(input)?;
        // A name that starts with '-' would read as a flag.
        args.push(if text.starts_with('-') {
            format!("./{text}")
        } else {
            text
        });
    }
    args.push("--output".to_owned());
    args.push(path_text(spec.output_path())?);
    if let Some(shard) = spec.shard() {
        args.push("--shard".to_owned());
        args.push(shard.to_string());
    }
    args.extend(KindOptions::of_spec(spec, Which::Changed).to_args());
    match password_on_line(spec) {
        PasswordOnLine::None => {}
        PasswordOnLine::File(file) => {
            args.push("--password-file".to_owned());
            args.push(path_text(&file)?);
        }
        PasswordOnLine::Placeholder => {
            args.push("--password-file".to_owned());
            args.push(PASSWORD_FILE_PLACEHOLDER.to_owned());
        }
    }
    Ok(args)
}

/// [`command_args`] as one line for a POSIX shell.
pub fn command_line(spec: &JobSpec) -> Result<String, ExportError> {
    Ok(command_args(spec)?
        .iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" "))
}

/// `arg` as one word of a POSIX shell: as it is when it holds only safe characters, else in
/// single quotes (a `'` inside written `'\''`).
pub fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(&b));
    if safe {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::engine::kinds::thumbs::spec::{ThumbFormat, ThumbSpec};
    use crate::engine::kinds::zip::spec::ZipSpec;
    use crate::engine::model::shard::Shard;

    #[test]
    fn lines_name_the_kind_inputs_output_shard_and_changed_options() {
        let mut t = ThumbSpec::new(
            vec![PathBuf::from("/p/my photos"), PathBuf::from("-odd")],
            PathBuf::from("/o"),
        );
        t.format = ThumbFormat::Webp;
        t.name_template = Some("{stem}'s".into());
        t.shard = Some(Shard { index: 0, count: 4 });
        assert_eq!(
            command_line(&JobSpec::Thumbs(t)).unwrap(),
            r"shrinkwrap thumbs '/p/my photos' ./-odd --output /o --shard 0/4 --name '{stem}'\''s' --format webp"
        );
        let z = ZipSpec::new(vec![PathBuf::from("a")], PathBuf::from("a.zip"));
        assert_eq!(
            command_line(&JobSpec::Zip(z)).unwrap(),
            "shrinkwrap zip a --output a.zip"
        );
        // Exclude patterns and .gitignore files.
        let mut z = ZipSpec::new(vec![PathBuf::from("a")], PathBuf::from("a.zip"));
        z.excludes = vec!["*.tmp".into(), ".git/".into()];
        z.honour_gitignore = true;
        assert_eq!(
            command_line(&JobSpec::Zip(z)).unwrap(),
            "shrinkwrap zip a --output a.zip --exclude '*.tmp' --exclude .git/ --gitignore"
        );
        // Boxes, fill and crop, enlarging.
        let mut t = ThumbSpec::new(vec![PathBuf::from("/p")], PathBuf::from("/o"));
        t.sizes = vec![256.into(), crate::engine::ThumbSize::new(320, 200)];
        t.fit = crate::engine::Fit::Cover;
        t.upscale = true;
        assert_eq!(
            command_line(&JobSpec::Thumbs(t)).unwrap(),
            "shrinkwrap thumbs /p --output /o --size 256 --size 320x200 --fit cover --upscale"
        );
    }

    #[test]
    fn a_password_is_never_on_the_line() {
        let mut z = ZipSpec::new(vec![PathBuf::from("/a")], PathBuf::from("/a.zip"));
        z.password = Some(crate::engine::model::password::Password::Given(
            "s3cret".into(),
        ));
        let spec = JobSpec::Zip(z);
        let line = command_line(&spec).unwrap();
        assert!(!line.contains("s3cret"), "{line}");
        assert!(
            line.ends_with(&format!("--password-file {PASSWORD_FILE_PLACEHOLDER}")),
            "{line}"
        );
        assert_eq!(password_on_line(&spec), PasswordOnLine::Placeholder);
    }

    #[test]
    fn a_job_that_picks_files_has_no_command() {
        let mut z = ZipSpec::new(vec![PathBuf::from("/t")], PathBuf::from("t.zip"));
        z.only = vec![PathBuf::from("/t/a.jpg")];
        assert_eq!(
            command_args(&JobSpec::Zip(z)),
            Err(ExportError::OnlySomeFiles)
        );
    }

    #[test]
    fn quoting_survives_a_shell() {
        let tricky = "it's a \"test\" $HOME `x` \\ *";
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", shell_quote(tricky)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), tricky);
        assert_eq!(shell_quote(""), "''");
    }
}
