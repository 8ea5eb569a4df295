//! The plan of a dry run, for people, on stdout: the kind's heading, a summary in the kind's
//! nouns, warnings, then one line per item.
//!
//! Must not touch: the plan's decisions (the engine's), the `--json` form of the plan (the
//! engine's serialization), any particular kind (the heading is the kind's `CliKind`'s, the
//! nouns its description's).

use std::io::Write;

use super::kinds::{self, CliKind};
use super::progress::human_bytes;
use crate::engine::{Action, Plan};
use crate::format;

/// Prints a dry run's plan on stdout, in the words of the subcommand that was run (`invoked`).
pub(super) fn print_plan(plan: &Plan, invoked: Option<&'static dyn CliKind>) {
    let stdout = std::io::stdout();
    let _ = write_plan(&mut stdout.lock(), plan, invoked);
}

/// Writes the plan for people: the heading, the counts, warnings, one line per item.
fn write_plan(
    out: &mut impl Write,
    plan: &Plan,
    invoked: Option<&'static dyn CliKind>,
) -> std::io::Result<()> {
    let heading = match kinds::speaking_for(invoked, plan.kind) {
        Some(kind) => kind.plan_heading(plan),
        None => kinds::plan_heading(plan),
    };
    writeln!(out, "{heading}")?;
    let s = &plan.summary;
    let (one, many) = plan.kind.output_noun;
    let mut counts = vec![format!(
        "{} {}",
        format::count(s.outputs),
        if s.outputs == 1 { one } else { many }
    )];
    let mut how: Vec<String> = Vec::new();
    for (n, what) in [
        (s.writes, "new"),
        (s.overwrites, "replaced"),
        (s.renames, "renamed"),
    ] {
        if n > 0 {
            how.push(format!("{} {what}", format::count(n)));
        }
    }
    if !how.is_empty() {
        counts[0].push_str(&format!(" ({})", how.join(", ")));
    }
    if s.skips > 0 {
        counts.push(format!("{} skipped", format::count(s.skips)));
    }
    counts.push(format!("{} in", human_bytes(s.input_bytes as f64)));
    if let Some(b) = s.estimated_output_bytes {
        counts.push(format!("about {} out", human_bytes(b as f64)));
    }
    writeln!(out, "  {}", counts.join(" · "))?;
    for warning in &plan.warnings {
        writeln!(out, "  warning: {warning}")?;
    }
    for item in &plan.items {
        let output = item
            .output
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        match &item.action {
            Action::Skip(reason) => {
                writeln!(out, "  skip       {}: {reason}", item.input.display())?
            }
            Action::Rename { wanted } => writeln!(
                out,
                "  rename     {} -> {output} ({} is taken)",
                item.input.display(),
                wanted.display()
            )?,
            other => writeln!(
                out,
                "  {:<10} {} -> {output}",
                other.label(),
                item.input.display()
            )?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::engine::{JobId, PlanItem, PlannedFile, SkipReason};

    fn item(input: &str, output: Option<&str>, action: Action) -> PlanItem {
        PlanItem {
            input: PathBuf::from(input),
            output: output.map(PathBuf::from),
            action,
            input_bytes: 1,
        }
    }

    #[test]
    fn the_plan_speaks_in_the_kinds_nouns() {
        let plan = Plan::new(
            JobId(1),
            crate::engine::kinds::zip::KIND,
            "d.zip".to_owned(),
            PathBuf::from("d.zip"),
            Some(PlannedFile {
                path: PathBuf::from("d.zip"),
                action: Action::Overwrite,
            }),
            vec![
                item("d", Some("d/"), Action::Write),
                item("d/a", Some("d/a"), Action::Write),
                item("d/p", None, Action::Skip(SkipReason::Exists)),
            ],
            Vec::new(),
        );
        let mut out = Vec::new();
        write_plan(&mut out, &plan, None).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "Plan: archive d.zip (replaces the existing file once complete); nothing is written yet"
        );
        assert!(
            lines[1].starts_with("  2 entries (2 new) · 1 skipped · "),
            "{}",
            lines[1]
        );
        assert_eq!(lines[2], "  write      d -> d/");
        assert!(lines[4].starts_with("  skip       d/p: "), "{}", lines[4]);
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn counts_have_thousands_separators_and_sizes_the_windows_units() {
        let items: Vec<PlanItem> = (0..1_234)
            .map(|i| PlanItem {
                input_bytes: 1_000_000,
                ..item(&format!("d/{i}"), Some(&format!("d/{i}")), Action::Write)
            })
            .collect();
        let plan = Plan::new(
            JobId(1),
            crate::engine::kinds::zip::KIND,
            "d.zip".to_owned(),
            PathBuf::from("d.zip"),
            None,
            items,
            Vec::new(),
        );
        let mut out = Vec::new();
        write_plan(&mut out, &plan, None).unwrap();
        let text = String::from_utf8(out).unwrap();
        let counts = text.lines().nth(1).unwrap();
        assert!(
            counts.starts_with("  1,234 entries (1,234 new) · 1.23 GB in"),
            "{counts}"
        );
    }
}
