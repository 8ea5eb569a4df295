//! Each job kind's command-line parts, one module per kind, and the one list of them.
//!
//! A kind's module implements [`CliKind`]: its subcommand's help line and arguments, turning
//! them into job specs, and where the generic wording does not fit, its plan heading and the
//! hint after a failure (in its own flags' terms). Everything else the command line says about
//! a job comes from the kind's [`KindInfo`](crate::engine::KindInfo) (its id is the
//! subcommand's name, its nouns the plan's words), never from matching on kinds.
//!
//! A kind may offer more than one subcommand (extract also offers `test`): each is its own
//! [`CliKind`] named by [`CliKind::name`], listed on its module's one line.
//!
//! Adding a kind: its module here and one line in `register_cli_kinds!`.
//! Must not touch: running jobs and printing events (`run`, `plan`, `report`), job logic and
//! shared policy (validation, naming, defaults: the engine kinds' spec modules).

use std::io::Write;

use clap::ArgMatches;

use crate::engine::{Action, JobError, JobKind, JobReport, JobSpec, OutputShape, Plan};

/// Why a kind's arguments make no job.
pub(crate) enum ArgsError {
    /// clap could not read them (printed as clap prints its errors).
    Parse(clap::Error),
    /// They are readable but ask for something impossible: one sentence naming the user's path
    /// or argument.
    Invalid(String),
}

impl From<clap::Error> for ArgsError {
    fn from(e: clap::Error) -> ArgsError {
        ArgsError::Parse(e)
    }
}

/// One job kind on the command line.
pub(crate) trait CliKind: Sync {
    /// The engine's kind: its id names the subcommand.
    fn kind(&self) -> JobKind;

    /// The subcommand's name: the kind's id, unless this is a second subcommand of the kind
    /// (`test` for extract).
    fn name(&self) -> &'static str {
        self.kind().id
    }

    /// Adds the help line and the kind's own arguments to its subcommand (already named
    /// [`name`](CliKind::name); the run options, `--jobs`, `--json`, `--dry-run`, `--no-journal`, are
    /// added after them by the dispatch).
    fn subcommand(&self, command: clap::Command) -> clap::Command;

    /// The jobs the parsed arguments ask for, in the order they are queued.
    fn specs(&self, matches: &ArgMatches) -> Result<Vec<JobSpec>, ArgsError>;

    /// Whether the process keeps glibc from holding on to freed buffers
    /// ([`crate::tune_allocator`]): what measured faster for this kind.
    fn tunes_allocator(&self) -> bool {
        false
    }

    /// The first line of a dry run's printed plan.
    fn plan_heading(&self, plan: &Plan) -> String {
        plan_heading(plan)
    }

    /// What to add after a failure's message to say how this subcommand gets past it (e.g.
    /// which flag replaces an existing output), starting with a space.
    fn failure_hint(&self, error: &JobError) -> Option<&'static str> {
        let _ = error;
        None
    }

    /// Lines for stdout once a job of this subcommand has ended (not with `--json`, whose final
    /// report carries the same): what the subcommand's user reads as its result, beyond the
    /// problems every job reports on stderr. None by default.
    fn write_results(&self, report: &JobReport, out: &mut dyn Write) -> std::io::Result<()> {
        let _ = (report, out);
        Ok(())
    }
}

/// Declares the modules of the kinds and [`all`]'s list, from one line each.
macro_rules! register_cli_kinds {
    ($($module:ident => $($kind:ident)|+),* $(,)?) => {
        $(mod $module;)*

        /// Every kind's command-line parts, in the order `--help` lists the subcommands.
        const CLI_KINDS: &[&dyn CliKind] = &[$($(&$module::$kind,)+)*];
    };
}

register_cli_kinds! {
    zip => ZipCli,
    thumbs => ThumbsCli,
    extract => ExtractCli | TestCli,
}

/// Every kind the command line offers, in `--help`'s order.
pub(crate) fn all() -> &'static [&'static dyn CliKind] {
    CLI_KINDS
}

/// The subcommand named `name`.
pub(crate) fn by_name(name: &str) -> Option<&'static dyn CliKind> {
    CLI_KINDS.iter().copied().find(|k| k.name() == name)
}

/// The command-line parts of `kind`: its main subcommand, the one named by its id (a journal
/// may name a kind this build has no subcommand for: the generic wording then applies).
pub(crate) fn of(kind: JobKind) -> Option<&'static dyn CliKind> {
    CLI_KINDS
        .iter()
        .copied()
        .find(|k| k.kind() == kind && k.name() == kind.id)
}

/// The parts that speak for a job of `kind`: the subcommand that was run (`invoked`) when it is
/// of that kind, else the kind's main subcommand.
pub(crate) fn speaking_for(
    invoked: Option<&'static dyn CliKind>,
    kind: JobKind,
) -> Option<&'static dyn CliKind> {
    invoked.filter(|k| k.kind() == kind).or_else(|| of(kind))
}

/// The generic plan heading, from the kind's description: "Plan: archive x.zip (a new file);
/// nothing is written yet" for a kind that makes one file, "Plan: thumbnails into out; nothing
/// is written yet" for one that fills a folder.
pub(crate) fn plan_heading(plan: &Plan) -> String {
    let noun = plan.kind.noun;
    match (&plan.archive, plan.kind.output) {
        (Some(file), _) => format!(
            "Plan: {noun} {} ({}); nothing is written yet",
            file.path.display(),
            file_action(&file.action)
        ),
        (None, OutputShape::OneFile) => format!(
            "Plan: {noun} {}; nothing is written yet",
            plan.destination.display()
        ),
        (None, OutputShape::FolderOfFiles) => format!(
            "Plan: {noun} into {}; nothing is written yet",
            plan.destination.display()
        ),
    }
}

/// What happens to a planned file, as a phrase: "a new file", "replaces the existing file once
/// complete", "x.zip exists and is kept", or why it is skipped.
fn file_action(action: &Action) -> String {
    match action {
        Action::Write => "a new file".to_owned(),
        Action::Overwrite => "replaces the existing file once complete".to_owned(),
        Action::Rename { wanted } => format!("{} exists and is kept", wanted.display()),
        Action::Skip(r) => r.to_string(),
    }
}

/// The password on the first line of `file` (the engine's one reader); a file that gives none
/// is a usage error naming it (nothing is queued).
pub(crate) fn read_password_file(
    file: &std::path::Path,
) -> Result<crate::engine::model::password::Password, ArgsError> {
    crate::engine::read_password_file(file)
        .map_err(|why| ArgsError::Invalid(format!("{}: {why}", file.display())))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::engine::{Action, Counts, JobId, KINDS, KindInfo, PlannedFile};

    #[test]
    fn every_engine_kind_has_one_subcommand_named_by_its_id() {
        for kind in KINDS {
            let found: Vec<_> = CLI_KINDS
                .iter()
                .filter(|c| c.kind() == *kind && c.name() == kind.id)
                .collect();
            assert_eq!(
                found.len(),
                1,
                "{}: one subcommand named by its id",
                kind.id
            );
            assert_eq!(by_name(kind.id).map(|c| c.kind()), Some(*kind));
            assert_eq!(of(*kind).map(|c| c.name()), Some(kind.id));
        }
        for cli in CLI_KINDS {
            assert!(
                KINDS.contains(&cli.kind()),
                "{}: an unknown kind",
                cli.name()
            );
            assert_eq!(
                CLI_KINDS.iter().filter(|c| c.name() == cli.name()).count(),
                1,
                "{}: one subcommand of that name",
                cli.name()
            );
        }
        assert!(by_name("resume").is_none(), "resume is no kind");
        // A second subcommand of a kind speaks for its own jobs; the kind's main one for others.
        let test = by_name("test").unwrap();
        let extract = crate::engine::kinds::extract::KIND;
        assert_eq!(
            speaking_for(Some(test), extract).map(|c| c.name()),
            Some("test")
        );
        assert_eq!(
            speaking_for(None, extract).map(|c| c.name()),
            Some("extract")
        );
        let zip = crate::engine::kinds::zip::KIND;
        assert_eq!(speaking_for(Some(test), zip).map(|c| c.name()), Some("zip"));
    }

    static FOLDER_KIND: KindInfo = KindInfo {
        id: "unpack",
        noun: "files",
        output_noun: ("file", "files"),
        item_noun: ("file", "files"),
        verb: "Unpack",
        badge: "UNPACK",
        counts: Counts::Bytes,
        can_stop_early: false,
        can_retry_failed: false,
        output: OutputShape::FolderOfFiles,
        input_filter: None,
    };

    static FILE_KIND: KindInfo = KindInfo {
        id: "pack",
        noun: "bundle",
        output_noun: ("member", "members"),
        item_noun: ("member", "members"),
        verb: "Pack",
        badge: "PACK",
        counts: Counts::Bytes,
        can_stop_early: false,
        can_retry_failed: false,
        output: OutputShape::OneFile,
        input_filter: None,
    };

    fn plan(info: &'static KindInfo, archive: Option<PlannedFile>) -> Plan {
        Plan::new(
            JobId(1),
            JobKind::new(info),
            "out".to_owned(),
            PathBuf::from("/x/out"),
            archive,
            Vec::new(),
            Vec::new(),
        )
    }

    #[test]
    fn a_kind_without_its_own_heading_is_named_by_its_description() {
        assert_eq!(
            plan_heading(&plan(&FOLDER_KIND, None)),
            "Plan: files into /x/out; nothing is written yet"
        );
        assert_eq!(
            plan_heading(&plan(&FILE_KIND, None)),
            "Plan: bundle /x/out; nothing is written yet"
        );
        let kept = PlannedFile {
            path: PathBuf::from("/x/out (1).b"),
            action: Action::Rename {
                wanted: PathBuf::from("/x/out.b"),
            },
        };
        assert_eq!(
            plan_heading(&plan(&FILE_KIND, Some(kept))),
            "Plan: bundle /x/out (1).b (/x/out.b exists and is kept); nothing is written yet"
        );
        // The registered kinds keep their words.
        let zip = crate::engine::kinds::zip::KIND;
        let thumbs = crate::engine::kinds::thumbs::KIND;
        let new = PlannedFile {
            path: PathBuf::from("/x/a.zip"),
            action: Action::Write,
        };
        assert_eq!(
            of(zip).unwrap().plan_heading(&plan(zip.info(), Some(new))),
            "Plan: archive /x/a.zip (a new file); nothing is written yet"
        );
        assert_eq!(
            of(thumbs).unwrap().plan_heading(&plan(thumbs.info(), None)),
            "Plan: thumbnails into /x/out; nothing is written yet"
        );
    }
}
