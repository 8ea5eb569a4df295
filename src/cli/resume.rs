//! `shrinkwrap resume [--list]`: the unfinished jobs of the state folder (a crash, a kill or a
//! power cut interrupted them), listed or resumed, whatever their kind.
//!
//! Must not touch: what resuming keeps and redoes (the engine's journal), running jobs (`run`).

use clap::{ArgMatches, Args, FromArgMatches};

use super::run::{RunArgs, run_with};
use crate::engine::{default_state_dir, list_unfinished};

/// The subcommand's name.
pub(super) const NAME: &str = "resume";

#[derive(Args, Debug)]
struct ResumeArgs {
    /// List the unfinished jobs and resume nothing.
    #[arg(long)]
    list: bool,
}

/// The subcommand: `--list`, then the run options.
pub(super) fn command() -> clap::Command {
    RunArgs::augment_args(ResumeArgs::augment_args(clap::Command::new(NAME).about(
        "Resume the jobs a crash, a kill or a power cut interrupted (or list them)",
    )))
}

/// Lists or resumes the unfinished jobs; returns the exit status.
pub(super) fn main(matches: &ArgMatches) -> u8 {
    // Resumed zip jobs profit; thumbnail jobs lose a little (see `tune_allocator`).
    crate::tune_allocator();
    let (args, options) = match (
        ResumeArgs::from_arg_matches(matches),
        RunArgs::from_arg_matches(matches),
    ) {
        (Ok(args), Ok(options)) => (args, options),
        (Err(e), _) | (_, Err(e)) => return super::clap_error(&e),
    };
    let Some(dir) = default_state_dir() else {
        eprintln!("shrinkwrap: no state folder (HOME is not set): nothing to resume");
        return 0;
    };
    let (jobs, set_aside) = list_unfinished(&dir);
    for aside in &set_aside {
        eprintln!("shrinkwrap: warning: {aside}");
    }
    if jobs.is_empty() {
        println!("Nothing to resume.");
        return 0;
    }
    if args.list {
        for (n, job) in jobs.iter().enumerate() {
            let when =
                chrono::DateTime::<chrono::Local>::from(job.started).format("%Y-%m-%d %H:%M");
            println!(
                "{}. {} {} -> {}: {} of {} outputs done, started {when}",
                n + 1,
                job.spec.kind().label(),
                job.spec
                    .inputs()
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                job.spec.output_path().display(),
                job.outputs_done,
                job.outputs_total,
            );
        }
        return 0;
    }
    run_with(&options, |engine| {
        jobs.into_iter()
            .map(|job| engine.resume_unfinished(job))
            .collect()
    })
}
