//! `shrinkwrap resume [--list] [--password-file FILE] [--json]`: the unfinished jobs of the state
//! folder (a crash, a kill or a power cut interrupted them), listed or resumed, whatever their
//! kind. Listing moves nothing; resuming sets aside the journals that cannot be resumed (saying
//! why), leaves alone the jobs another Shrinkwrap runs (saying so), and claims each job's journal
//! before running it, so that two resumes started together never run one job twice. Passwords are
//! never kept in a journal: an encrypted job is resumed with `--password-file`, and without it is
//! left for later, saying so.
//!
//! Must not touch: what resuming keeps and redoes (the engine's journal), running jobs (`run`).

use clap::{ArgMatches, Args, FromArgMatches};

use super::kinds::read_password_file;
use super::run::{RunArgs, run_with};
use crate::engine::{
    JSON_SCHEMA_VERSION, JobSpec, JournalInUse, JournalListing, ResumeError, default_state_dir,
    list_journals, set_aside,
};

/// The subcommand's name.
pub(super) const NAME: &str = "resume";

#[derive(Args, Debug)]
struct ResumeArgs {
    /// List the unfinished jobs and resume nothing (with --json: one JSON object).
    #[arg(long)]
    list: bool,
    /// The password of the jobs that encrypt or read encrypted archives (its first line):
    /// passwords are never kept, so such a job resumes only when it is given again.
    #[arg(long, value_name = "FILE")]
    password_file: Option<std::path::PathBuf>,
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
    let listing = list_journals(&dir);
    if args.list {
        if options.json {
            print_listing_json(&listing);
        } else {
            print_listing(&listing);
        }
        return 0;
    }
    for entry in &listing.cannot_resume {
        match set_aside(entry) {
            Ok(moved) => eprintln!("shrinkwrap: warning: {moved}"),
            Err(e) => eprintln!(
                "shrinkwrap: warning: {entry} (it could not be set aside: {})",
                crate::engine::IoCause::of(e)
            ),
        }
    }
    for held in &listing.in_use {
        eprintln!("shrinkwrap: {}: {}", in_use_name(held), ResumeError::InUse);
    }
    let password = match args.password_file.as_deref().map(read_password_file) {
        None => None,
        Some(Ok(password)) => password
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned()),
        Some(Err(e)) => return super::args_error(&e),
    };
    let mut jobs = Vec::new();
    let mut left_for_password = 0;
    for mut job in listing.unfinished {
        if job.spec.waits_for_password() {
            match &password {
                Some(text) => {
                    job.spec.give_password(text);
                }
                None => {
                    eprintln!(
                        "shrinkwrap: {}: its password is never kept; resume it with \
                         `shrinkwrap resume --password-file FILE` (left for later)",
                        job.spec.display_name()
                    );
                    left_for_password += 1;
                    continue;
                }
            }
        }
        match job.claim() {
            Ok(()) => jobs.push(job),
            Err(e) => eprintln!("shrinkwrap: {}: {e}", job.spec.display_name()),
        }
    }
    // A job left for want of its password is a usage error: the script must give it.
    let left_status = if left_for_password > 0 {
        super::bad_arguments()
    } else {
        0
    };
    if jobs.is_empty() {
        if left_for_password == 0 {
            println!("Nothing to resume.");
        }
        return left_status;
    }
    let status = run_with(None, &options, |engine| {
        jobs.into_iter()
            .map(|job| engine.resume_unfinished(job))
            .collect()
    });
    status.max(left_status)
}

/// A journal in use, named by its job when it could be read.
fn in_use_name(held: &JournalInUse) -> String {
    held.spec
        .as_ref()
        .map(|s| s.display_name())
        .unwrap_or_else(|| held.journal.display().to_string())
}

/// `resume --list`: one line per unfinished job on stdout; the others on stderr.
fn print_listing(listing: &JournalListing) {
    for entry in &listing.cannot_resume {
        eprintln!("shrinkwrap: warning: {entry}; `shrinkwrap resume` sets it aside");
    }
    for held in &listing.in_use {
        eprintln!("shrinkwrap: {}: {}", in_use_name(held), ResumeError::InUse);
    }
    if listing.unfinished.is_empty() {
        println!("Nothing to resume.");
    }
    for (n, job) in listing.unfinished.iter().enumerate() {
        let when = chrono::DateTime::<chrono::Local>::from(job.started).format("%Y-%m-%d %H:%M");
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
}

/// `resume --list --json`: one object (see README, "`--json` events").
fn print_listing_json(listing: &JournalListing) {
    use crate::engine::path_json::PathJson;
    let path = |p: &std::path::Path| serde_json::to_value(PathJson(p)).unwrap_or_default();
    let job = |spec: &JobSpec| {
        serde_json::json!({
            "kind": spec.kind().id,
            "name": spec.display_name(),
            "inputs": spec.inputs().iter().map(|p| path(p)).collect::<Vec<_>>(),
            "output": path(spec.output_path()),
        })
    };
    let merge = |mut a: serde_json::Value, b: serde_json::Value| {
        if let (Some(a), serde_json::Value::Object(b)) = (a.as_object_mut(), b) {
            a.extend(b);
        }
        a
    };
    let jobs: Vec<serde_json::Value> = listing
        .unfinished
        .iter()
        .map(|u| {
            let started = u
                .started
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            merge(
                serde_json::json!({
                    "journal": path(&u.journal),
                    "started_unix_s": started.as_secs_f64(),
                    "outputs_done": u.outputs_done,
                    "outputs_total": u.outputs_total,
                    "spec": crate::engine::model::kind::SpecInfo::record(&u.spec),
                }),
                job(&u.spec),
            )
        })
        .collect();
    let cannot: Vec<serde_json::Value> = listing
        .cannot_resume
        .iter()
        .map(|a| serde_json::json!({"journal": path(&a.journal), "reason": a.reason}))
        .collect();
    let in_use: Vec<serde_json::Value> = listing
        .in_use
        .iter()
        .map(|h| {
            let named = serde_json::json!({"journal": path(&h.journal)});
            match &h.spec {
                Some(spec) => merge(named, job(spec)),
                None => named,
            }
        })
        .collect();
    let object = serde_json::json!({
        "schema": JSON_SCHEMA_VERSION,
        "event": "unfinished",
        "jobs": jobs,
        "cannot_resume": cannot,
        "in_use": in_use,
    });
    println!("{object}");
}
