//! The lines printed on stderr once the jobs have ended: each problem and warning naming the
//! user's path, a failed job's cause (with its kind's hint, in its subcommand's flags, added
//! once here), and a summary line per job on a terminal or for a cancelled job.
//!
//! Must not touch: the exit status (`run`, from the engine's ranking), stdout (the plan and
//! `--json` go there), the error messages themselves (the engine's, free of any front end's
//! wording).

use std::io::Write;

use super::kinds;
use super::progress::human_bytes;
use crate::engine::{JobOutcome, JobReport, ProblemKind};

/// Prints the reports on stderr; `on_terminal`: the summary line of every job, not only of a
/// cancelled one.
pub(super) fn print_reports(reports: &[JobReport], on_terminal: bool) {
    let stderr = std::io::stderr();
    let _ = write_reports(&mut stderr.lock(), reports, on_terminal);
}

fn write_reports(
    err: &mut impl Write,
    reports: &[JobReport],
    on_terminal: bool,
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
            let hint = kinds::of(r.progress.kind)
                .and_then(|kind| kind.failure_hint(failure.error()))
                .unwrap_or("");
            writeln!(err, "shrinkwrap: {}: {failure}{hint}", r.progress.name)?;
        }
        let p = &r.progress;
        if r.outcome != JobOutcome::Failed && (on_terminal || r.outcome == JobOutcome::Cancelled) {
            writeln!(
                err,
                "{}: {} — {} items, {} in, {} out, {:.1} s",
                p.name,
                r.summary(),
                p.items_done,
                human_bytes(p.bytes_done as f64),
                human_bytes(r.output_bytes as f64),
                p.elapsed.as_secs_f64()
            )?;
        }
    }
    Ok(())
}
