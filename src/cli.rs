//! The headless front end: `shrinkwrap zip ...` and `shrinkwrap thumbs ...` on the same engine
//! as the window.
//!
//! Owns: argument parsing, the terminal progress bars (indicatif, only on a terminal), the
//! `--json` event stream, the printed plan of `--dry-run`, and Ctrl-C (cancels cleanly: no
//! partial file, exit 130).
//! Must not touch: job logic and shared policy (spec validation, naming, the exit status: the
//! engine's), the window.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::kinds::thumbs::color::ColorMode;
use crate::engine::kinds::thumbs::metadata::MetadataPolicy;
use crate::engine::{
    Action, ConflictPolicy, DEFAULT_JPEG_QUALITY, DEFAULT_THUMB_SIDE_PX, DEFAULT_ZIP_LEVEL, Engine,
    ExistingArchive, JobError, JobEvent, JobId, JobOutcome, JobReport, JobSpec, JobState,
    MAX_THUMB_SIDE_PX, Plan, ProblemKind, SubmitError, ThumbFormat, ThumbSpec, ZipSpec,
    default_state_dir, default_workers, exit_status, list_unfinished,
};

#[derive(Parser, Debug)]
#[command(
    name = "shrinkwrap",
    version,
    about = "Zip files and make image thumbnails on all cores, with progress and clean cancel",
    after_help = "Without a subcommand shrinkwrap opens its window:\n  shrinkwrap [PATH]...                      the window, with PATHs as inputs\n  shrinkwrap --compress|--thumbnails PATH...  ...and queue that job at once\n  options: --quit-when-done, --screenshot FILE.png\n\nExit codes: 0 all went well, 1 finished with per-file errors (listed on stderr),\n2 failed job or bad arguments, 130 cancelled with Ctrl-C."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compress inputs into one .zip archive (or, with --each, one archive per folder).
    Zip(ZipArgs),
    /// Make thumbnails of the images among the inputs.
    Thumbs(ThumbsArgs),
    /// Resume the jobs a crash, a kill or a power cut interrupted (or list them).
    Resume(ResumeArgs),
}

#[derive(Args, Debug)]
struct ResumeArgs {
    /// List the unfinished jobs and resume nothing.
    #[arg(long)]
    list: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
struct Common {
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    jobs: Option<u16>,
    /// Print one JSON object per event (progress, plan, final report) on stdout.
    #[arg(long)]
    json: bool,
    /// Print the plan (every output and what happens to it) and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Keep no journal: the job cannot be resumed after a crash.
    #[arg(long)]
    no_journal: bool,
}

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
    #[arg(short, long, default_value_t = DEFAULT_ZIP_LEVEL, value_parser = clap::value_parser!(u8).range(0..=9))]
    level: u8,
    /// Replace an existing archive (once the new one is complete).
    #[arg(long, conflicts_with = "keep_both")]
    overwrite: bool,
    /// Keep an existing archive and write "name (1).zip".
    #[arg(long)]
    keep_both: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    Jpeg,
    Png,
    Webp,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum MetadataArg {
    /// No EXIF and no XMP.
    Strip,
    /// Copyright, artist, date taken, camera and lens; no GPS, serial numbers or maker notes.
    KeepSafe,
    /// All EXIF and XMP.
    Keep,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ConflictArg {
    Update,
    Rename,
    Overwrite,
    Skip,
}

#[derive(Args, Debug)]
struct ThumbsArgs {
    /// Image files and folders.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// The folder to write thumbnails into (input folder structure is kept).
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// Thumbnails fit in a square of this many pixels (never upscaled). Repeat for several
    /// sizes from one decode: --size 256 --size 1024.
    #[arg(short, long, value_name = "PX", default_values_t = [DEFAULT_THUMB_SIDE_PX], value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_THUMB_SIDE_PX)))]
    size: Vec<u32>,
    /// Output file name (the format's extension is added): {stem}, {size}, {ext} (the source's
    /// extension), {parent} (the source's folder). Default {stem}, or {stem}_{size} with several
    /// sizes.
    #[arg(long, value_name = "TEMPLATE")]
    name: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "jpeg")]
    format: FormatArg,
    /// JPEG and WebP quality.
    #[arg(short, long, value_name = "1-100", default_value_t = DEFAULT_JPEG_QUALITY, value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: u8,
    /// WebP: lossless instead of lossy.
    #[arg(long)]
    lossless: bool,
    /// What EXIF/XMP metadata to keep. The orientation is always applied to the pixels.
    #[arg(long, value_enum, default_value = "strip")]
    metadata: MetadataArg,
    /// Keep the source's ICC colour profile embedded instead of converting to sRGB.
    #[arg(long)]
    keep_icc: bool,
    /// When a thumbnail exists: replace it only when its source is newer (update), pick
    /// "name (1).jpg" (rename), replace it (overwrite), or keep it (skip). Inputs are never
    /// replaced, whatever the choice.
    #[arg(long, value_enum, default_value = "update")]
    on_conflict: ConflictArg,
    #[command(flatten)]
    common: Common,
}

/// Whether the command line is for this front end (a subcommand, help or version).
pub fn is_cli_invocation(args: &[OsString]) -> bool {
    matches!(
        args.get(1).and_then(|a| a.to_str()),
        Some("zip" | "thumbs" | "resume" | "help" | "--help" | "-h" | "--version" | "-V")
    )
}

/// Runs the command line; returns the process exit code.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if matches!(cli.command, Command::Zip(_) | Command::Resume(_)) {
        crate::tune_allocator();
    }
    if let Command::Resume(args) = cli.command {
        return ExitCode::from(resume(&args));
    }
    let (specs, common) = match build_specs(cli.command) {
        Ok(x) => x,
        Err(msg) => {
            eprintln!("shrinkwrap: {msg}");
            return ExitCode::from(2);
        }
    };
    ExitCode::from(run(specs, &common))
}

fn build_specs(command: Command) -> Result<(Vec<JobSpec>, Common), String> {
    match command {
        Command::Zip(a) => {
            let on_exists = if a.overwrite {
                ExistingArchive::Replace
            } else if a.keep_both {
                ExistingArchive::KeepBoth
            } else {
                ExistingArchive::Fail
            };
            let specs = if a.each {
                for folder in &a.inputs {
                    if !folder.is_dir() {
                        return Err(format!(
                            "{}: not a folder (--each takes folders)",
                            folder.display()
                        ));
                    }
                }
                if a.output.exists() && !a.output.is_dir() {
                    return Err(format!(
                        "{}: not a folder (--each writes archives into a folder)",
                        a.output.display()
                    ));
                }
                ZipSpec::per_folder(&a.inputs, &a.output, a.level, on_exists)
                    .into_iter()
                    .map(JobSpec::Zip)
                    .collect()
            } else {
                vec![JobSpec::Zip(ZipSpec {
                    inputs: a.inputs,
                    destination: a.output,
                    level: a.level,
                    on_exists,
                    only: Vec::new(),
                    shard: None,
                })]
            };
            Ok((specs, a.common))
        }
        Command::Resume(_) => Err("resume takes no job arguments".to_owned()),
        Command::Thumbs(a) => {
            let spec = ThumbSpec {
                inputs: a.inputs,
                output_dir: a.output,
                sizes_px: a.size,
                name_template: a.name,
                format: match a.format {
                    FormatArg::Jpeg => ThumbFormat::Jpeg,
                    FormatArg::Png => ThumbFormat::Png,
                    FormatArg::Webp => ThumbFormat::Webp,
                },
                quality: a.quality,
                lossless: a.lossless,
                metadata: match a.metadata {
                    MetadataArg::Strip => MetadataPolicy::Strip,
                    MetadataArg::KeepSafe => MetadataPolicy::KeepSafe,
                    MetadataArg::Keep => MetadataPolicy::Keep,
                },
                color: if a.keep_icc {
                    ColorMode::KeepProfile
                } else {
                    ColorMode::ConvertToSrgb
                },
                on_conflict: match a.on_conflict {
                    ConflictArg::Update => ConflictPolicy::Update,
                    ConflictArg::Rename => ConflictPolicy::Rename,
                    ConflictArg::Overwrite => ConflictPolicy::Overwrite,
                    ConflictArg::Skip => ConflictPolicy::Skip,
                },
                only: Vec::new(),
                shard: None,
            };
            Ok((vec![JobSpec::Thumbs(spec)], a.common))
        }
    }
}

/// Terminal progress: one bar per job.
struct Bars {
    multi: MultiProgress,
    bars: HashMap<JobId, ProgressBar>,
}

impl Bars {
    fn new() -> Self {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(15)),
            bars: HashMap::new(),
        }
    }

    fn bar(&mut self, id: JobId, name: &str) -> &ProgressBar {
        self.bars.entry(id).or_insert_with(|| {
            let style = ProgressStyle::with_template(
                "{prefix:.bold} {bar:30.cyan/blue} {percent:>3}% {bytes}/{total_bytes} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("█▉▊▋▌▍▎▏ ");
            let bar = self.multi.add(ProgressBar::new(0).with_style(style));
            bar.set_prefix(name.to_owned());
            bar
        })
    }
}

fn human_bytes(bytes: f64) -> String {
    indicatif::HumanBytes(bytes.max(0.0) as u64).to_string()
}

fn run(specs: Vec<JobSpec>, common: &Common) -> u8 {
    run_with(common, |engine| {
        if common.dry_run {
            specs
                .into_iter()
                .map(|s| engine.submit_dry_run(s))
                .collect()
        } else {
            engine.submit_all(specs)
        }
    })
}

/// `shrinkwrap resume [--list]`: the unfinished jobs of the state folder.
fn resume(args: &ResumeArgs) -> u8 {
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
    run_with(&args.common, |engine| {
        jobs.into_iter()
            .map(|job| engine.resume_unfinished(job))
            .collect()
    })
}

/// Runs jobs to their end: the engine, Ctrl-C, progress bars or JSON, the reports and the exit
/// status. `submit` queues the jobs.
fn run_with(
    common: &Common,
    submit: impl FnOnce(&Engine) -> Vec<Result<JobId, SubmitError>>,
) -> u8 {
    let workers = common.jobs.map(usize::from).unwrap_or_else(default_workers);
    let state_dir = if common.no_journal {
        None
    } else {
        default_state_dir()
    };
    let engine = Arc::new(Engine::with_state_dir(workers, state_dir));
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
    let mut refused = false;
    for submitted in submit(&engine) {
        match submitted {
            Ok(id) => pending.push(id),
            Err(e) => {
                eprintln!("shrinkwrap: {e}");
                refused = true;
            }
        }
    }
    let show_bars = !common.json && !common.dry_run && std::io::stderr().is_terminal();
    let mut bars = show_bars.then(Bars::new);
    let mut reports: Vec<JobReport> = Vec::new();
    let stdout = std::io::stdout();
    while !pending.is_empty() {
        let event = match engine.events().recv_timeout(Duration::from_millis(200)) {
            Ok(e) => e,
            Err(flume::RecvTimeoutError::Timeout) => continue,
            Err(flume::RecvTimeoutError::Disconnected) => break,
        };
        if common.json
            && let Ok(line) = event.to_json_line()
        {
            let mut out = stdout.lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        match event {
            JobEvent::Progress(p) => {
                if let Some(bars) = bars.as_mut() {
                    let bar = bars.bar(p.job, &p.name);
                    bar.set_length(p.bytes_total);
                    bar.set_position(p.bytes_done);
                    let eta = p
                        .eta
                        .map(|d| format!(" ETA {}", indicatif::HumanDuration(d)))
                        .unwrap_or_default();
                    let what = match p.state {
                        JobState::Scanning => format!("scanning… {} items", p.items_total),
                        JobState::Planning => format!("planning {} items…", p.items_total),
                        _ => format!(
                            "{}/{} items {}/s{eta} {}",
                            p.items_done,
                            p.items_total,
                            human_bytes(p.bytes_per_sec),
                            p.current_item.as_deref().unwrap_or("")
                        ),
                    };
                    bar.set_message(what);
                }
            }
            JobEvent::Plan(plan) => {
                if !common.json && common.dry_run {
                    print_plan(&plan);
                }
                if !common.dry_run {
                    // Warnings are worth reading before the work: printed at once.
                    for warning in &plan.warnings {
                        let line = format!("shrinkwrap: warning: {warning}");
                        match bars.as_ref() {
                            Some(b) => {
                                let _ = b.multi.println(line);
                            }
                            None => eprintln!("{line}"),
                        }
                    }
                }
            }
            JobEvent::Finished(report) => {
                let id = report.progress.job;
                if let Some(bars) = bars.as_mut()
                    && let Some(bar) = bars.bars.remove(&id)
                {
                    bar.finish_and_clear();
                }
                pending.retain(|j| *j != id);
                reports.push(report);
            }
        }
    }
    if let Some(bars) = bars {
        let _ = bars.multi.clear();
    }
    print_reports(&reports, show_bars);
    let status = exit_status(
        reports.iter().map(|r| r.outcome),
        interrupted.load(Ordering::SeqCst),
    );
    if refused { status.max(2) } else { status }
}

/// The plan of a dry run, for people: a summary, warnings, then one line per item.
fn print_plan(plan: &Plan) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let s = &plan.summary;
    let _ = match &plan.archive {
        Some(archive) => {
            let how = match &archive.action {
                Action::Write => "a new file".to_owned(),
                Action::Overwrite => "replaces the existing file once complete".to_owned(),
                Action::Rename { wanted } => {
                    format!("{} exists and is kept", wanted.display())
                }
                Action::Skip(r) => r.to_string(),
            };
            writeln!(
                out,
                "Plan: archive {} ({how}); nothing is written yet",
                archive.path.display()
            )
        }
        None => writeln!(
            out,
            "Plan: thumbnails into {}; nothing is written yet",
            plan.destination.display()
        ),
    };
    let noun = if plan.archive.is_some() {
        ("entry", "entries")
    } else {
        ("thumbnail", "thumbnails")
    };
    let mut counts = vec![format!(
        "{} {}",
        s.outputs,
        if s.outputs == 1 { noun.0 } else { noun.1 }
    )];
    let mut how: Vec<String> = Vec::new();
    for (n, what) in [
        (s.writes, "new"),
        (s.overwrites, "replaced"),
        (s.renames, "renamed"),
    ] {
        if n > 0 {
            how.push(format!("{n} {what}"));
        }
    }
    if !how.is_empty() {
        counts[0].push_str(&format!(" ({})", how.join(", ")));
    }
    if s.skips > 0 {
        counts.push(format!("{} skipped", s.skips));
    }
    counts.push(format!("{} in", human_bytes(s.input_bytes as f64)));
    if let Some(b) = s.estimated_output_bytes {
        counts.push(format!("about {} out", human_bytes(b as f64)));
    }
    let _ = writeln!(out, "  {}", counts.join(" · "));
    for warning in &plan.warnings {
        let _ = writeln!(out, "  warning: {warning}");
    }
    for item in &plan.items {
        let output = item
            .output
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let line = match &item.action {
            Action::Skip(reason) => format!("  skip       {}: {reason}", item.input.display()),
            Action::Rename { wanted } => format!(
                "  rename     {} -> {output} ({} is taken)",
                item.input.display(),
                wanted.display()
            ),
            other => format!(
                "  {:<10} {} -> {output}",
                other.label(),
                item.input.display()
            ),
        };
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
}

fn print_reports(reports: &[JobReport], on_terminal: bool) {
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for r in reports {
        for problem in &r.problems {
            let tag = match problem.kind {
                ProblemKind::Error => "error",
                ProblemKind::Skipped => "skipped",
            };
            let _ = writeln!(
                err,
                "shrinkwrap: {tag}: {}: {}",
                problem.path.display(),
                problem.cause
            );
        }
        for warning in &r.warnings {
            let _ = writeln!(
                err,
                "shrinkwrap: warning: {}: {}",
                warning.path.display(),
                warning.cause
            );
        }
        if let Some(failure) = &r.failure {
            let hint = match failure.error() {
                JobError::DestinationExists { .. } => {
                    " (use --overwrite to replace it, or --keep-both)"
                }
                _ => "",
            };
            let _ = writeln!(err, "shrinkwrap: {}: {failure}{hint}", r.progress.name);
        }
        let p = &r.progress;
        if r.outcome != JobOutcome::Failed && (on_terminal || r.outcome == JobOutcome::Cancelled) {
            let _ = writeln!(
                err,
                "{}: {} — {} items, {} in, {} out, {:.1} s",
                p.name,
                r.summary(),
                p.items_done,
                human_bytes(p.bytes_done as f64),
                human_bytes(r.output_bytes as f64),
                p.elapsed.as_secs_f64()
            );
        }
    }
}
