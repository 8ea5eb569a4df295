//! Running jobs to their end for any subcommand: the engine, Ctrl-C, the event loop (progress
//! bars or the `--json` stream, the plan, warnings), then the reports and the exit status.
//!
//! Owns: the run options every job subcommand takes ([`RunArgs`]), the workflow options every
//! kind's subcommand takes ([`JobArgs`]: file lists, shards, presets, watching; what they do is
//! `workflow`'s), and the one loop over the engine's events, fed at once or as jobs end and
//! files arrive ([`Feed`]). Ctrl-C cancels cleanly: no partial file, exit 130.
//! Must not touch: any kind's arguments (`kinds`), the exit status's ranking (the engine's
//! `exit_status_with_refused`), what the lines say (`plan`, `report`, `progress`).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use std::collections::HashMap;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::kinds::CliKind;
use super::plan::print_plan;
use super::progress::{Bars, human_bytes};
use super::report::{print_reports, print_results};
use crate::engine::{
    Engine, JobEvent, JobId, JobReport, JobSpec, JobState, OnDiskFull, PauseReason, Progress,
    SubmitError, default_state_dir, default_workers, exit_status_with_refused,
};

// The options of every job subcommand (and `resume`), after the kind's own. (A `///` comment
// here would become every subcommand's help line: clap takes an `Args` struct's doc as the
// command's `about`.)
#[derive(Args, Debug)]
pub(super) struct RunArgs {
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub jobs: Option<u16>,
    /// Print one JSON object per event (progress, plan, final report) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Print the plan (every output and what happens to it) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep no journal: the job cannot be resumed after a crash.
    #[arg(long)]
    pub no_journal: bool,
    /// When the disk is full: wait (say so on stderr, and go on by itself once there is room)
    /// or fail at once (exit 2, nothing partial left).
    #[arg(long, value_enum, value_name = "wait|fail", default_value = "wait")]
    pub on_disk_full: DiskFullArg,
    /// Memory the image decodes may hold together, in MB (default: half of what the machine
    /// has available). Large images that do not fit beside each other are decoded one after
    /// the other; an image that needs more than this alone is refused with its figures.
    #[arg(long, value_name = "MB", value_parser = clap::value_parser!(u64).range(1..=(1 << 40)))]
    pub memory: Option<u64>,
}

// The workflow options of every kind's subcommand (not of `resume` or `run`): what the job works
// on and with which options. (No `///` here: it would become the subcommands' help line.)
#[derive(Args, Debug, Default)]
pub(super) struct JobArgs {
    /// Take the inputs from a list, one path per line ("-": standard input), as tar -T and
    /// rsync --files-from. Without INPUTs the listed paths are the inputs; with INPUTs, only
    /// the listed files among them are taken, named and placed as a whole run would.
    #[arg(long, value_name = "FILE|-")]
    pub files_from: Option<PathBuf>,
    /// Take only shard I of N (0 <= I < N) of the inputs, by a stable hash of each file's path
    /// in its input folder: run every shard, on as many machines as you like, for the whole job
    /// (a zip shard writes NAME.part-I-of-N.zip).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Apply the options of a saved (or built-in) preset; flags given here win over it.
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Save this job's options (not its inputs or output) as a preset in the config folder.
    #[arg(long, value_name = "NAME")]
    pub save_preset: Option<String>,
    /// Make what is missing, then keep watching the inputs: each new or changed file is taken
    /// once it has stayed the same for a moment. Ctrl-C ends it.
    #[arg(long)]
    pub watch: bool,
    /// With --watch: look at the folders every second instead of waiting for file-system events
    /// (network folders, whose events do not come).
    #[arg(long, requires = "watch")]
    pub poll: bool,
}

/// Where the jobs of a run come from: all at the start, or more as jobs end and time passes
/// (a watched folder).
pub(super) trait Feed {
    /// Jobs to queue now: called once at the start (`ended` None), after each job's end (with
    /// its report), and on each quiet tick (at most every 200 ms, `ended` None).
    fn more(
        &mut self,
        engine: &Engine,
        ended: Option<&JobReport>,
    ) -> Vec<Result<JobId, SubmitError>>;

    /// Whether more jobs may still come once none is pending (a watch: until Ctrl-C).
    fn open(&self) -> bool {
        false
    }

    /// Ctrl-C: no more jobs.
    fn close(&mut self) {}
}

/// Jobs queued all at once at the start.
struct AtStart<F>(Option<F>);

impl<F: FnOnce(&Engine) -> Vec<Result<JobId, SubmitError>>> Feed for AtStart<F> {
    fn more(
        &mut self,
        engine: &Engine,
        _ended: Option<&JobReport>,
    ) -> Vec<Result<JobId, SubmitError>> {
        self.0
            .take()
            .map(|submit| submit(engine))
            .unwrap_or_default()
    }
}

/// `--on-disk-full`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum DiskFullArg {
    /// Pause, say so, and go on by itself once there is room.
    Wait,
    /// Fail the job at once.
    Fail,
}

/// Runs new jobs of subcommand `kind` (or only plans them, with `--dry-run`); returns the exit
/// status.
pub(super) fn run(kind: &'static dyn CliKind, specs: Vec<JobSpec>, options: &RunArgs) -> u8 {
    run_with(Some(kind), options, |engine| {
        if options.dry_run {
            specs
                .into_iter()
                .map(|s| engine.submit_dry_run(s))
                .collect()
        } else {
            engine.submit_all(specs)
        }
    })
}

/// Runs jobs to their end: the engine, Ctrl-C, progress bars or JSON, the reports and the exit
/// status. `submit` queues the jobs; `invoked`, the subcommand that asked for them (its words
/// for its jobs' plans and results), when there is one.
pub(super) fn run_with(
    invoked: Option<&'static dyn CliKind>,
    options: &RunArgs,
    submit: impl FnOnce(&Engine) -> Vec<Result<JobId, SubmitError>>,
) -> u8 {
    run_fed(invoked, options, &mut AtStart(Some(submit)))
}

/// Runs the jobs `feed` gives until none is pending and it gives no more (see [`run_with`]).
pub(super) fn run_fed(
    invoked: Option<&'static dyn CliKind>,
    options: &RunArgs,
    feed: &mut dyn Feed,
) -> u8 {
    let workers = options
        .jobs
        .map(usize::from)
        .unwrap_or_else(default_workers);
    let state_dir = if options.no_journal {
        None
    } else {
        default_state_dir()
    };
    let engine = Arc::new(Engine::with_state_dir(workers, state_dir));
    engine.set_on_disk_full(match options.on_disk_full {
        DiskFullArg::Wait => OnDiskFull::Wait,
        DiskFullArg::Fail => OnDiskFull::Fail,
    });
    engine.set_memory_budget(options.memory.map(|mb| mb.saturating_mul(1_000_000)));
    let mut waiting_for_room: HashMap<JobId, PathBuf> = HashMap::new();
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let engine: Weak<Engine> = Arc::downgrade(&engine);
        let interrupted = Arc::clone(&interrupted);
        // Only one handler per process; the CLI runs once per process.
        let _ = ctrlc::set_handler(move || {
            interrupted.store(true, Ordering::SeqCst);
            if let Some(engine) = engine.upgrade() {
                engine.cancel_all();
            }
        });
    }
    let mut pending: Vec<JobId> = Vec::new();
    let mut refused = 0;
    let mut take = |submitted: Vec<Result<JobId, SubmitError>>, pending: &mut Vec<JobId>| {
        for one in submitted {
            match one {
                Ok(id) => pending.push(id),
                Err(e) => {
                    eprintln!("shrinkwrap: {e}");
                    refused += 1;
                }
            }
        }
    };
    take(feed.more(&engine, None), &mut pending);
    let show_bars = !options.json && !options.dry_run && std::io::stderr().is_terminal();
    let mut bars = show_bars.then(Bars::new);
    let mut reports: Vec<JobReport> = Vec::new();
    let stdout = std::io::stdout();
    let mut closed = false;
    while !pending.is_empty() || (feed.open() && !closed) {
        if !closed && interrupted.load(Ordering::SeqCst) {
            feed.close();
            closed = true;
        }
        let event = match engine.events().recv_timeout(Duration::from_millis(200)) {
            Ok(e) => e,
            Err(flume::RecvTimeoutError::Timeout) => {
                if !closed {
                    take(feed.more(&engine, None), &mut pending);
                }
                continue;
            }
            Err(flume::RecvTimeoutError::Disconnected) => break,
        };
        if options.json
            && let Ok(line) = event.to_json_line()
        {
            let mut out = stdout.lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        match event {
            JobEvent::Progress(p) => {
                // A full disk is said at once on stderr, bars or not, JSON or not.
                if let Some(note) = disk_full_note(&mut waiting_for_room, &p) {
                    match bars.as_ref() {
                        Some(b) => b.println(note),
                        None => eprintln!("{note}"),
                    }
                }
                if let Some(bars) = bars.as_mut() {
                    bars.show(&p);
                }
            }
            JobEvent::Plan(plan) => {
                if !options.json && options.dry_run {
                    print_plan(&plan, invoked);
                }
                if !options.dry_run {
                    // Warnings are worth reading before the work: printed at once.
                    for warning in &plan.warnings {
                        let line = format!("shrinkwrap: warning: {warning}");
                        match bars.as_ref() {
                            Some(b) => b.println(line),
                            None => eprintln!("{line}"),
                        }
                    }
                }
            }
            JobEvent::Finished(report) => {
                let id = report.progress.job;
                if let Some(bars) = bars.as_mut() {
                    bars.finish(id);
                }
                pending.retain(|j| *j != id);
                if !closed {
                    take(feed.more(&engine, Some(&report)), &mut pending);
                }
                reports.push(report);
            }
        }
    }
    if let Some(bars) = bars {
        bars.clear();
    }
    print_reports(&reports, show_bars, invoked);
    if !options.json {
        print_results(&reports, invoked);
    }
    exit_status_with_refused(
        reports.iter().map(|r| r.outcome),
        refused,
        interrupted.load(Ordering::SeqCst),
    )
}

/// What to say on stderr, at once, when a job pauses on a full disk (which folder, how much room
/// is left, that it goes on by itself) and when it goes on again. `waiting` holds the jobs
/// waiting for room.
fn disk_full_note(waiting: &mut HashMap<JobId, PathBuf>, p: &Progress) -> Option<String> {
    match &p.paused {
        Some(PauseReason::DiskFull { folder, free_bytes }) => {
            if waiting.get(&p.job) == Some(folder) {
                return None;
            }
            waiting.insert(p.job, folder.clone());
            Some(format!(
                "shrinkwrap: {}: the disk is full in {} ({} left); waiting for room: the job goes \
                 on by itself once there is more (Ctrl-C cancels it; --on-disk-full fail stops \
                 at once instead)",
                p.name,
                folder.display(),
                human_bytes(*free_bytes as f64)
            ))
        }
        _ if p.state == JobState::Paused => None,
        _ => {
            let folder = waiting.remove(&p.job)?;
            Some(format!(
                "shrinkwrap: {}: there is room again in {}; going on",
                p.name,
                folder.display()
            ))
        }
    }
}
