//! The lines printed on stderr once the jobs have ended: each problem and warning naming the
//! user's path, a failed job's cause (with its kind's hint, in its subcommand's flags, added
//! once here), and a summary line per job on a terminal or for a cancelled job. On stdout, only
//! the result lines a subcommand gives of its own (`test`'s entries checked; never with
//! `--json`, whose final report carries them).
//!
//! Must not touch: the exit status (`run`, from the engine's ranking), the plan and the `--json`
//! stream on stdout, the error messages themselves (the engine's, free of any front end's
//! wording).

use std::io::Write;

use super::kinds::{self, CliKind};
use super::progress::human_bytes;
use crate::engine::{JobOutcome, JobReport, ProblemKind};
use crate::format;

/// Prints the reports on stderr; `on_terminal`: the summary line of every job, not only of a
/// cancelled one.
pub(super) fn print_reports(
    reports: &[JobReport],
    on_terminal: bool,
    invoked: Option<&'static dyn CliKind>,
) {
    let stderr = std::io::stderr();
    let _ = write_reports(&mut stderr.lock(), reports, on_terminal, invoked);
}

/// Prints on stdout what each job's subcommand gives as its result (a test's entries checked).
pub(super) fn print_results(reports: &[JobReport], invoked: Option<&'static dyn CliKind>) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for r in reports {
        if let Some(kind) = kinds::speaking_for(invoked, r.progress.kind) {
            let _ = kind.write_results(r, &mut out);
        }
    }
    let _ = out.flush();
}

fn write_reports(
    err: &mut impl Write,
    reports: &[JobReport],
    on_terminal: bool,
    invoked: Option<&'static dyn CliKind>,
) -> std::io::Result<()> {
    for r in reports {
        for problem in &r.problems {
            let tag = match problem.kind {
                ProblemKind::Error => "error",
                ProblemKind::Skipped => "skipped",
            };
            writeln!(
                err,
                "shrinkwrap: {tag}: {}: {}",
                problem.path.display(),
                problem.cause
            )?;
        }
        for warning in &r.warnings {
            writeln!(
                err,
                "shrinkwrap: warning: {}: {}",
                warning.path.display(),
                warning.cause
            )?;
        }
        if let Some(failure) = &r.failure {
            let hint = kinds::speaking_for(invoked, r.progress.kind)
                .and_then(|kind| kind.failure_hint(failure.error()))
                .unwrap_or("");
            writeln!(err, "shrinkwrap: {}: {failure}{hint}", r.progress.name)?;
        }
        let p = &r.progress;
        if r.outcome != JobOutcome::Failed && (on_terminal || r.outcome == JobOutcome::Cancelled) {
            writeln!(
                err,
                "{}: {} — {} items, {} in, {} out, {}",
                p.name,
                r.summary(),
                format::count(p.items_done),
                human_bytes(p.bytes_done as f64),
                human_bytes(r.output_bytes as f64),
                format::duration(p.elapsed)
            )?;
        }
    }
    Ok(())
}
