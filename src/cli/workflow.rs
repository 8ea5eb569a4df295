//! The command line's workflows: `shrinkwrap run FILE.toml` (a job file's jobs, chains
//! included), and what the workflow options ([`JobArgs`]) do to any kind's jobs: `--files-from`,
//! `--shard`, `--preset`/`--save-preset` and `--watch`.
//!
//! Owns: the `run` subcommand, applying [`JobArgs`] to the specs a kind's arguments made, and
//! the watch loop's feed. Must not touch: any kind's own arguments (`kinds`), what job files,
//! lists, shards, presets and watches mean (the engine's `workflow`), running and printing
//! (`run`).

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, FromArgMatches};

use super::kinds::{ArgsError, CliKind};
use super::run::{Feed, JobArgs, RunArgs, run_fed, run_with};
use crate::engine::workflow::watch::{FolderWatch, WatchJobs, WatchNews, WatchOptions};
use crate::engine::workflow::{
    InputSelection, KindOptions, OptionValue, PresetStore, Shard, Which, find_preset,
    read_file_list_at, read_job_file,
};
use crate::engine::{Engine, JobId, JobReport, JobSpec, OutputShape, SubmitError};

/// The subcommand's name.
pub(super) const NAME: &str = "run";

// `shrinkwrap run`'s own argument. (No `///` here: it would become the help line.)
#[derive(Args, Debug)]
struct RunFileArgs {
    /// The job file: [[job]] tables, each with a kind, inputs (or inputs_from, files_from),
    /// output and the kind's options (see README.md, "Job files").
    #[arg(value_name = "FILE.toml")]
    file: PathBuf,
}

/// `shrinkwrap run FILE.toml`, with the run options.
pub(super) fn command() -> clap::Command {
    RunArgs::augment_args(RunFileArgs::augment_args(
        clap::Command::new(NAME).about(
            "Run the jobs of a job file (a job with inputs_from starts when the job it takes from has ended)",
        ),
    ))
}

/// Adds the workflow options to a kind's subcommand: `--watch` only where the kind fills a
/// folder (one new output per new input; a kind that writes one file would rewrite it), and
/// the inputs become optional when `--files-from` gives them.
pub(super) fn augment(kind: &dyn CliKind, command: clap::Command) -> clap::Command {
    let command = JobArgs::augment_args(command);
    let command = if kind.kind().output == OutputShape::FolderOfFiles {
        command
    } else {
        command
            .mut_arg("watch", |a| a.hide(true))
            .mut_arg("poll", |a| a.hide(true))
    };
    let takes_inputs = command.get_arguments().any(|a| a.get_id() == "inputs");
    if takes_inputs {
        command.mut_arg("inputs", |a| {
            a.required(false).required_unless_present("files_from")
        })
    } else {
        command
    }
}

/// Runs a kind's subcommand with the workflow options: the kind's specs, narrowed by the file
/// list and the shard, with the preset's options under the flags given; saved as a preset when
/// asked; watched when asked.
pub(super) fn run_kind(
    kind: &'static dyn CliKind,
    matches: &ArgMatches,
    options: &RunArgs,
) -> Result<u8, ArgsError> {
    let job = JobArgs::from_arg_matches(matches)?;
    if job.watch && kind.kind().output != OutputShape::FolderOfFiles {
        return Err(ArgsError::Invalid(format!(
            "--watch: {} makes one file of all its inputs; watching is for kinds that fill a folder",
            kind.name()
        )));
    }
    let mut specs = kind.specs(matches)?;
    if let Some(list) = &job.files_from {
        let [spec] = specs.as_mut_slice() else {
            return Err(ArgsError::Invalid(format!(
                "--files-from: this command line makes {} jobs; a list goes with one",
                specs.len()
            )));
        };
        let base = crate::engine::normalize_path(std::path::Path::new("."));
        let listed = read_file_list_at(list, &base).map_err(invalid)?;
        InputSelection::from_list(spec.inputs().to_vec(), listed, list)
            .map_err(invalid)?
            .apply_to(spec);
    }
    if let Some(text) = &job.shard {
        let shard = Shard::parse(text).map_err(|e| ArgsError::Invalid(format!("--shard: {e}")))?;
        for spec in &mut specs {
            spec.set_shard(Some(shard));
        }
    }
    let store = PresetStore::open_default().ok();
    if let Some(name) = &job.preset {
        let preset = find_preset(store.as_ref(), name).map_err(invalid)?;
        for spec in &mut specs {
            let given = given_options(spec, matches);
            preset
                .options
                .apply(spec)
                .and_then(|()| given.apply(spec))
                .map_err(|e| ArgsError::Invalid(format!("--preset {name:?}: {e}")))?;
        }
    }
    for spec in &specs {
        spec.validate()
            .map_err(|e| ArgsError::Invalid(e.to_string()))?;
    }
    if let Some(name) = &job.save_preset {
        let store = PresetStore::open_default().map_err(invalid)?;
        let Some(spec) = specs.first() else {
            return Err(ArgsError::Invalid(
                "--save-preset: no job to take options from".into(),
            ));
        };
        store
            .save(name, KindOptions::of_spec(spec, Which::All))
            .map_err(invalid)?;
        eprintln!(
            "shrinkwrap: preset {name:?} saved in {}",
            store.path().display()
        );
    }
    if job.watch {
        let [spec] = specs.as_slice() else {
            return Err(ArgsError::Invalid(format!(
                "--watch: this command line makes {} jobs; a watch takes one",
                specs.len()
            )));
        };
        if options.dry_run {
            return Err(ArgsError::Invalid(
                "--watch cannot go with --dry-run".into(),
            ));
        }
        let watch_options = WatchOptions {
            polling: job.poll,
            ..WatchOptions::default()
        };
        let watch = FolderWatch::start(spec, watch_options).map_err(invalid)?;
        let mut feed = Watching {
            watch: Some(watch),
            jobs: WatchJobs::new(spec.clone()),
            first: Some(spec.clone()),
        };
        return Ok(run_fed(Some(kind), options, &mut feed));
    }
    Ok(super::run::run(kind, specs, options))
}

/// The options given as flags on this command line (not left at their defaults), with the
/// values they gave `spec`: what wins over a preset.
fn given_options(spec: &JobSpec, matches: &ArgMatches) -> KindOptions {
    let given = |key: &str| {
        let flag = crate::engine::workflow::options::flag_of(key);
        let id = flag.trim_start_matches('-').replace('-', "_");
        matches!(
            matches
                .try_contains_id(&id)
                .ok()
                .and(matches.value_source(&id)),
            Some(ValueSource::CommandLine)
        )
    };
    let pairs: Vec<(String, OptionValue)> = spec
        .options()
        .into_iter()
        .filter(|(key, _)| given(key))
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
    KindOptions::new(spec.kind(), pairs)
        .unwrap_or_else(|_| KindOptions::of_spec(spec, Which::Changed))
}

fn invalid(e: impl std::fmt::Display) -> ArgsError {
    ArgsError::Invalid(e.to_string())
}

/// A watched job: the job itself once the watch has taken stock, then one job at a time for
/// the files that arrive, until Ctrl-C.
struct Watching {
    watch: Option<FolderWatch>,
    jobs: WatchJobs,
    /// The job itself, until the watch is ready for it.
    first: Option<JobSpec>,
}

impl Watching {
    fn submit(&mut self, engine: &Engine, spec: JobSpec) -> Vec<Result<JobId, SubmitError>> {
        let submitted = engine.submit(spec);
        if let Ok(id) = &submitted {
            self.jobs.started(*id);
        }
        vec![submitted]
    }
}

impl Feed for Watching {
    fn more(
        &mut self,
        engine: &Engine,
        ended: Option<&JobReport>,
    ) -> Vec<Result<JobId, SubmitError>> {
        let mut next = ended.and_then(|r| self.jobs.finished(r.progress.job));
        let news: Vec<WatchNews> = match &self.watch {
            Some(w) => w.news().try_iter().collect(),
            None => Vec::new(),
        };
        for item in news {
            match item {
                WatchNews::Watching { events } => {
                    if !events {
                        eprintln!(
                            "shrinkwrap: no file-system events here: looking at the folders every second"
                        );
                    }
                    if let Some(first) = self.first.take() {
                        eprintln!("shrinkwrap: watching; Ctrl-C ends it");
                        return self.submit(engine, first);
                    }
                }
                WatchNews::Ready(files) => {
                    if let Some(spec) = self.jobs.ready(files) {
                        next = Some(spec);
                    }
                }
                WatchNews::Stopped(why) => {
                    eprintln!("shrinkwrap: the watch stopped: {why}");
                    self.close();
                }
            }
        }
        match next {
            // The job itself goes first: what arrives before it runs waits for it.
            Some(spec) if self.first.is_none() => self.submit(engine, spec),
            _ => Vec::new(),
        }
    }

    fn open(&self) -> bool {
        self.watch.is_some()
    }

    fn close(&mut self) {
        if let Some(watch) = self.watch.take() {
            watch.stop();
        }
    }
}

/// `shrinkwrap run FILE.toml`: reads the file (with the presets it names) and runs its jobs;
/// with `--dry-run`, plans the jobs that take no other job's outputs (the others are planned
/// when that job has run).
pub(super) fn main(matches: &ArgMatches) -> u8 {
    let (args, options) = match (
        RunFileArgs::from_arg_matches(matches),
        RunArgs::from_arg_matches(matches),
    ) {
        (Ok(a), Ok(o)) => (a, o),
        (Err(e), _) | (_, Err(e)) => {
            let _ = e.print();
            return super::bad_arguments();
        }
    };
    let store = PresetStore::open_default().ok();
    let file = match read_job_file(&args.file, store.as_ref()) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("shrinkwrap: {e}");
            return super::bad_arguments();
        }
    };
    if file
        .jobs
        .iter()
        .any(|j| super::kinds::of(j.spec.kind()).is_some_and(|k| k.tunes_allocator()))
    {
        crate::tune_allocator();
    }
    run_with(None, &options, |engine| {
        if options.dry_run {
            file.jobs
                .iter()
                .filter(|job| {
                    if job.inputs_from.is_some() {
                        eprintln!(
                            "shrinkwrap: {}: takes another job's outputs; planned once that job has run",
                            job.name.as_deref().unwrap_or("a chained job")
                        );
                    }
                    job.inputs_from.is_none()
                })
                .map(|job| engine.submit_dry_run(job.spec.clone()))
                .collect()
        } else {
            engine.submit_job_file(&file)
        }
    })
}
