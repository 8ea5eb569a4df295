//! The plan preview: a dry run of exactly what Start would submit, redone whenever the inputs or
//! the job settings change (once they have been still for [`PREVIEW_DEBOUNCE`]), and the plans it
//! returns, gathered into one [`PlanView`] the window draws row by row.
//!
//! Owns: [`Preview`] (which dry runs are current; a newer preview supersedes an older one, whose
//! dry runs are cancelled and whose late events are ignored by job id; a kind may follow a dry
//! run with a probe, [`Probe`]), [`PlanView`] (the plans of
//! one preview as one list, read by index without copying 100,000 items). What a preview
//! depends on is compared by the window's state (`super::state::PreviewSource`), which tells
//! the preview of a change ([`Preview::note_change`]).
//! Must not touch: drawing, the queue (preview jobs never become cards), anything blocking (the
//! engine calls made here only queue or cancel dry runs), what a kind's probe is.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::OutputShape;
use crate::engine::{
    Action, JobError, JobEvent, JobId, JobKind, JobOutcome, JobReport, JobSpec, Plan, PlanItem,
    PlanSummary, PlanWarning, PlannedFile, SkipReason, parent_dir,
};

use super::engine::WindowEngine;

/// How long the inputs and settings must stay unchanged before a preview is computed.
pub const PREVIEW_DEBOUNCE: Duration = Duration::from_millis(300);

/// One input and the names the plan gives its outputs (for a live preview of names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleNames {
    /// The source's file name.
    pub source: String,
    /// The outputs' file names (e.g. one per thumbnail size).
    pub outputs: Vec<String>,
}

/// What the preview shows.
#[derive(Debug, Clone)]
pub enum PreviewStatus {
    /// No inputs: nothing to preview.
    Empty,
    /// The first plan for these inputs is being made.
    Planning,
    Ready(Arc<PlanView>),
    /// Start would be refused: why, as a sentence.
    Invalid(String),
}

/// One dry run of the current preview.
struct PreviewRun {
    id: JobId,
    spec: JobSpec,
    /// A kind's probe (e.g. "keep both", to list the items of an archive that already exists):
    /// the destination the person asked for.
    probe_for: Option<PathBuf>,
    plan: Option<Arc<Plan>>,
    report: Option<JobReport>,
}

/// A kind's probe: the dry run to make after a preview's dry run of a spec ended with its report
/// (e.g. "keep both", to list the items of an archive that already exists), and the destination
/// the person asked for. The window's dispatch over kinds gives the preview one for every kind.
pub type Probe = fn(&JobSpec, &JobReport) -> Option<(JobSpec, PathBuf)>;

/// The preview's dry runs and their result.
pub struct Preview {
    probe: Probe,
    /// When the source last changed, while the dry runs for it are not submitted yet.
    dirty_since: Option<Instant>,
    /// Submit again even when the specs are unchanged (the disk may have changed).
    force: bool,
    specs: Vec<JobSpec>,
    runs: Vec<PreviewRun>,
    /// Dry runs of older previews, cancelled; their late events are dropped.
    superseded: HashSet<JobId>,
    status: PreviewStatus,
    /// Changes whenever `status` does.
    generation: u64,
}

impl Preview {
    /// An empty preview whose dry runs are followed by `probe`'s.
    pub fn new(probe: Probe) -> Self {
        Preview {
            probe,
            dirty_since: None,
            force: false,
            specs: Vec::new(),
            runs: Vec::new(),
            superseded: HashSet::new(),
            status: PreviewStatus::Empty,
            generation: 0,
        }
    }

    pub fn status(&self) -> &PreviewStatus {
        &self.status
    }

    /// The plan view, when the last preview produced one (it may be stale: see
    /// [`Preview::is_fresh`]).
    pub fn view(&self) -> Option<&Arc<PlanView>> {
        match &self.status {
            PreviewStatus::Ready(view) => Some(view),
            _ => None,
        }
    }

    /// A number that changes whenever the status does.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The specs the current preview was made for (what Start submitted would equal, when fresh).
    pub fn specs(&self) -> &[JobSpec] {
        &self.specs
    }

    /// Whether the status describes the current inputs and settings: no change is waiting and
    /// every dry run has answered.
    pub fn is_fresh(&self) -> bool {
        self.dirty_since.is_none() && self.runs.iter().all(|r| r.report.is_some())
    }

    /// Whether a change is waiting or a dry run is out.
    pub fn is_busy(&self) -> bool {
        !self.is_fresh()
    }

    /// What the window would submit changed: the debounce starts again.
    pub fn note_change(&mut self, now: Instant) {
        self.dirty_since = Some(now);
    }

    /// Computes the preview again after the debounce even when nothing changed in the window
    /// (a job ended: the disk may hold new files).
    pub fn invalidate(&mut self, now: Instant) {
        self.force = true;
        self.dirty_since.get_or_insert(now);
    }

    /// Time left before the preview is due: `None` when nothing is waiting, zero when due now.
    pub fn due_in(&self, now: Instant) -> Option<Duration> {
        self.dirty_since
            .map(|since| PREVIEW_DEBOUNCE.saturating_sub(now.saturating_duration_since(since)))
    }

    /// Starts the preview of `specs` (what Start would submit now), or shows why there is none.
    /// `None`: there are no inputs. Cancels the dry runs of the preview it supersedes. Never
    /// blocks.
    pub fn submit(
        &mut self,
        engine: &dyn WindowEngine,
        specs: Option<Result<Vec<JobSpec>, String>>,
    ) {
        self.dirty_since = None;
        let force = std::mem::take(&mut self.force);
        let specs = match specs {
            None => {
                self.supersede(engine);
                self.specs.clear();
                return self.set_status(PreviewStatus::Empty);
            }
            Some(Err(message)) => {
                self.supersede(engine);
                self.specs.clear();
                return self.set_status(PreviewStatus::Invalid(message));
            }
            Some(Ok(specs)) => specs,
        };
        let same = specs == self.specs && !self.runs.is_empty();
        if same && !force {
            return;
        }
        self.supersede(engine);
        for spec in &specs {
            if let Err(message) = self.start_run(engine, spec.clone(), None) {
                self.supersede(engine);
                self.specs.clear();
                return self.set_status(PreviewStatus::Invalid(message));
            }
        }
        self.specs = specs;
        if !matches!(self.status, PreviewStatus::Ready(_)) {
            self.set_status(PreviewStatus::Planning);
        }
    }

    fn start_run(
        &mut self,
        engine: &dyn WindowEngine,
        spec: JobSpec,
        probe_for: Option<PathBuf>,
    ) -> Result<(), String> {
        let id = engine
            .submit_dry_run(spec.clone())
            .map_err(|e| sentence(&e.to_string()))?;
        self.runs.push(PreviewRun {
            id,
            spec,
            probe_for,
            plan: None,
            report: None,
        });
        Ok(())
    }

    /// Cancels the current dry runs; their late events will be dropped.
    fn supersede(&mut self, engine: &dyn WindowEngine) {
        for run in self.runs.drain(..) {
            if run.report.is_none() {
                engine.cancel(run.id);
                self.superseded.insert(run.id);
            }
        }
    }

    fn set_status(&mut self, status: PreviewStatus) {
        self.status = status;
        self.generation += 1;
    }

    /// Takes an engine event if it belongs to a preview (current or superseded): returns
    /// whether it did. A current dry run may be followed by its kind's probe (a zip dry run that
    /// finds its archive existing, by a "keep both" one that lists the entries).
    pub fn apply(&mut self, engine: &dyn WindowEngine, event: &JobEvent) -> bool {
        let id = event.job();
        if self.superseded.contains(&id) {
            if matches!(event, JobEvent::Finished(_)) {
                self.superseded.remove(&id);
            }
            return true;
        }
        let Some(index) = self.runs.iter().position(|r| r.id == id) else {
            return false;
        };
        match event {
            JobEvent::Progress(_) => return true,
            JobEvent::Plan(plan) => {
                self.runs[index].plan = Some(Arc::clone(plan));
                return true;
            }
            JobEvent::Finished(report) => self.runs[index].report = Some(report.clone()),
        }
        let run = &self.runs[index];
        let probe = run
            .report
            .as_ref()
            .and_then(|report| (self.probe)(&run.spec, report));
        if run.probe_for.is_none()
            && let Some((spec, wanted)) = probe
        {
            // Without the probe the preview still shows the failure; it only lacks the items.
            let _ = self.start_run(engine, spec, Some(wanted));
        }
        if self.runs.iter().all(|r| r.report.is_some()) {
            let view = self.gather(self.runs[index].spec.kind());
            self.set_status(PreviewStatus::Ready(Arc::new(view)));
        }
        true
    }

    /// One view of every run's plan and failure (the runs are all of `kind`: one form's).
    fn gather(&self, kind: JobKind) -> PlanView {
        let mut parts = Vec::new();
        let mut existing = Vec::new();
        let mut failures = Vec::new();
        for run in &self.runs {
            let Some(report) = &run.report else { continue };
            if let Some(path) = existing_destination(report) {
                existing.push(path.to_path_buf());
                continue;
            }
            if let Some(failure) = &report.failure {
                failures.push(sentence(&failure.to_string()));
                continue;
            }
            if report.outcome == JobOutcome::Cancelled {
                continue;
            }
            if let Some(plan) = &run.plan {
                parts.push(PlanPart::new(
                    Arc::clone(plan),
                    &run.spec,
                    run.probe_for.clone(),
                ));
            }
        }
        PlanView::new(kind, parts, existing, failures)
    }
}

/// The destination a job found in its way, when that is why it failed.
fn existing_destination(report: &JobReport) -> Option<&Path> {
    match report.failure.as_ref()?.error() {
        JobError::DestinationExists { path } => Some(path),
        _ => None,
    }
}

/// A skip reason as a short phrase for the summary line ("3 skipped: 2 up to date, 1 not an
/// image"); the item list shows the full reason.
fn skip_phrase(reason: &SkipReason) -> &'static str {
    match reason {
        SkipReason::Exists => "already there",
        SkipReason::UpToDate => "up to date",
        SkipReason::WouldReplaceInput { .. } => "would replace an input",
        SkipReason::ClaimedByJob(_) => "written by another job",
        SkipReason::FolderInTheWay => "a folder in the way",
        SkipReason::NotAnImage => "not an image",
        SkipReason::DuplicateName => "a name taken twice",
        SkipReason::AlreadyDone => "made before the interruption",
        SkipReason::AsPlanned(_) => "skipped as planned",
        SkipReason::InputGone => "input gone",
        SkipReason::Excluded { .. } => "excluded",
        SkipReason::Kind(_) => "refused",
    }
}

/// "the same job is ..." -> "The same job is ...".
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// One job's plan in a preview, with what its rows are shown relative to.
#[derive(Debug, Clone)]
pub struct PlanPart {
    pub plan: Arc<Plan>,
    /// Inputs are shown relative to this folder (the first input's folder).
    input_base: PathBuf,
    /// Outputs in a folder are shown relative to this folder (the output folder's parent).
    output_base: PathBuf,
    /// This plan is a kind's probe, made only to list the items of a destination that exists:
    /// the destination the person asked for.
    pub existing: Option<PathBuf>,
}

impl PlanPart {
    pub fn new(plan: Arc<Plan>, spec: &JobSpec, existing: Option<PathBuf>) -> PlanPart {
        let input_base = spec
            .inputs()
            .first()
            .map(|p| parent_dir(p).to_path_buf())
            .unwrap_or_default();
        let output_base = parent_dir(&plan.destination).to_path_buf();
        PlanPart {
            plan,
            input_base,
            output_base,
            existing,
        }
    }

    /// The one output file of the plan (an archive) and what happens to it, unless the plan is
    /// a probe's.
    pub fn archive(&self) -> Option<&PlannedFile> {
        self.plan
            .archive
            .as_ref()
            .filter(|_| self.existing.is_none())
    }
}

/// One row of the item list.
#[derive(Debug, Clone, Copy)]
pub struct PlanRow<'a> {
    pub part: &'a PlanPart,
    pub item: &'a PlanItem,
}

impl PlanRow<'_> {
    /// The input, relative to the folder of the job's first input ("photos/2024/a.jpg").
    pub fn input_text(&self) -> String {
        let input = &self.item.input;
        input
            .strip_prefix(&self.part.input_base)
            .unwrap_or(input)
            .display()
            .to_string()
    }

    /// The output: the entry's name in the one output file, or the output relative to the
    /// output folder's parent ("thumbnails/a.jpg"); empty when there is none.
    pub fn output_text(&self) -> String {
        let Some(output) = &self.item.output else {
            return String::new();
        };
        match self.part.plan.kind.output {
            OutputShape::OneFile => output.display().to_string(),
            OutputShape::FolderOfFiles => output
                .strip_prefix(&self.part.output_base)
                .unwrap_or(output)
                .display()
                .to_string(),
        }
    }
}

/// The plans of one preview as one list (several for "one archive per folder"), with their
/// summed summary, merged warnings, and the destinations found in the way.
#[derive(Debug, Clone)]
pub struct PlanView {
    pub kind: JobKind,
    parts: Vec<PlanPart>,
    /// Index of the first row of each part.
    starts: Vec<usize>,
    rows: usize,
    pub summary: PlanSummary,
    /// How many items are skipped for each reason, most frequent first, as short phrases
    /// ("up to date", "not an image").
    pub skip_reasons: Vec<(&'static str, u64)>,
    pub warnings: Vec<PlanWarning>,
    /// Destinations that already exist (the jobs would fail at once without an answer).
    pub existing: Vec<PathBuf>,
    /// Other reasons some of the jobs would fail, as sentences.
    pub failures: Vec<String>,
    /// The rows skipped and the rows renamed, in plan order (for the list's filter).
    skipped_rows: Vec<usize>,
    renamed_rows: Vec<usize>,
}

/// Which rows of the item list show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RowFilter {
    #[default]
    All,
    Skipped,
    Renamed,
}

impl PlanView {
    pub fn new(
        kind: JobKind,
        parts: Vec<PlanPart>,
        mut existing: Vec<PathBuf>,
        failures: Vec<String>,
    ) -> PlanView {
        let mut starts = Vec::with_capacity(parts.len());
        let mut rows = 0;
        let mut summary = PlanSummary {
            estimated_output_bytes: Some(0),
            ..PlanSummary::default()
        };
        let mut warnings: Vec<PlanWarning> = Vec::new();
        let mut skip_reasons: Vec<(&'static str, u64)> = Vec::new();
        let mut skipped_rows = Vec::new();
        let mut renamed_rows = Vec::new();
        for part in &parts {
            if part.plan.summary.skips > 0 || part.plan.summary.renames > 0 {
                for (index, item) in part.plan.items.iter().enumerate() {
                    match &item.action {
                        Action::Skip(_) => skipped_rows.push(rows + index),
                        Action::Rename { .. } => renamed_rows.push(rows + index),
                        _ => {}
                    }
                }
            }
            if part.plan.summary.skips > 0 {
                for item in &part.plan.items {
                    if let Action::Skip(reason) = &item.action {
                        let phrase = skip_phrase(reason);
                        match skip_reasons.iter_mut().find(|(p, _)| *p == phrase) {
                            Some((_, n)) => *n += 1,
                            None => skip_reasons.push((phrase, 1)),
                        }
                    }
                }
            }
            starts.push(rows);
            rows += part.plan.items.len();
            let s = &part.plan.summary;
            summary.outputs += s.outputs;
            summary.writes += s.writes;
            summary.overwrites += s.overwrites;
            summary.renames += s.renames;
            summary.skips += s.skips;
            summary.input_bytes += s.input_bytes;
            summary.estimated_output_bytes = summary
                .estimated_output_bytes
                .zip(s.estimated_output_bytes)
                .map(|(a, b)| a + b);
            for warning in &part.plan.warnings {
                if !warnings.contains(warning) {
                    warnings.push(warning.clone());
                }
            }
            if let Some(path) = &part.existing
                && !existing.contains(path)
            {
                existing.push(path.clone());
            }
        }
        if parts.is_empty() {
            summary.estimated_output_bytes = None;
        }
        skip_reasons.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        PlanView {
            kind,
            parts,
            starts,
            rows,
            summary,
            skip_reasons,
            warnings,
            existing,
            failures,
            skipped_rows,
            renamed_rows,
        }
    }

    /// How many rows `filter` lets through.
    pub fn rows_of(&self, filter: RowFilter) -> usize {
        match filter {
            RowFilter::All => self.rows,
            RowFilter::Skipped => self.skipped_rows.len(),
            RowFilter::Renamed => self.renamed_rows.len(),
        }
    }

    /// The `index`th row that `filter` lets through.
    pub fn filtered_row(&self, filter: RowFilter, index: usize) -> Option<PlanRow<'_>> {
        match filter {
            RowFilter::All => self.row(index),
            RowFilter::Skipped => self.row(*self.skipped_rows.get(index)?),
            RowFilter::Renamed => self.row(*self.renamed_rows.get(index)?),
        }
    }

    pub fn parts(&self) -> &[PlanPart] {
        &self.parts
    }

    /// Number of item rows over all plans.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Row `index` (plan order, plan after plan), found without walking the items.
    pub fn row(&self, index: usize) -> Option<PlanRow<'_>> {
        if index >= self.rows {
            return None;
        }
        let part_index = self.starts.partition_point(|&start| start <= index) - 1;
        let part = self.parts.get(part_index)?;
        let item = part.plan.items.get(index - self.starts[part_index])?;
        Some(PlanRow { part, item })
    }

    /// The folders outputs would share with their originals.
    pub fn beside_inputs(&self) -> Option<&[PathBuf]> {
        self.warnings.iter().find_map(|w| match w {
            PlanWarning::OutputBesideInputs { folders } => Some(folders.as_slice()),
            PlanWarning::OutputIsInputFolder { folder } => Some(std::slice::from_ref(folder)),
            _ => None,
        })
    }

    /// The output folder, or the first output file, the plan writes into.
    pub fn destination(&self) -> Option<&Path> {
        self.parts.first().map(|p| p.plan.destination.as_path())
    }

    /// The first `count` inputs and the output names the plan gives them (renames included),
    /// for a live preview of names.
    pub fn first_names(&self, count: usize) -> Vec<SampleNames> {
        let mut out: Vec<SampleNames> = Vec::new();
        let mut last_input: Option<&Path> = None;
        for index in 0..self.rows {
            let Some(row) = self.row(index) else { break };
            let Some(output) = &row.item.output else {
                continue;
            };
            let name = output
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if last_input == Some(row.item.input.as_path())
                && let Some(last) = out.last_mut()
            {
                last.outputs.push(name);
                continue;
            }
            if out.len() == count {
                break;
            }
            last_input = Some(row.item.input.as_path());
            out.push(SampleNames {
                source: row
                    .item
                    .input
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                outputs: vec![name],
            });
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::ThumbSpec;

    /// A thumbnail plan of `images` images at two sizes, every fifth skipped as up to date.
    pub(crate) fn big_thumb_view(images: usize) -> PlanView {
        let spec = JobSpec::Thumbs(ThumbSpec::new(
            vec![PathBuf::from("/p/photos")],
            PathBuf::from("/p/thumbnails"),
        ));
        let mut items = Vec::with_capacity(images * 2);
        for i in 0..images {
            for size in [256, 512] {
                items.push(PlanItem {
                    input: PathBuf::from(format!("/p/photos/img-{i:06}.jpg")),
                    output: Some(PathBuf::from(format!(
                        "/p/thumbnails/photos/img-{i:06}_{size}.jpg"
                    ))),
                    action: if i % 5 == 0 {
                        Action::Skip(SkipReason::UpToDate)
                    } else {
                        Action::Write
                    },
                    input_bytes: 1000,
                });
            }
        }
        let plan = Plan::new(
            JobId(1),
            crate::engine::kinds::thumbs::KIND,
            "thumbnails".to_owned(),
            PathBuf::from("/p/thumbnails"),
            None,
            items,
            Vec::new(),
        );
        PlanView::new(
            crate::engine::kinds::thumbs::KIND,
            vec![PlanPart::new(Arc::new(plan), &spec, None)],
            Vec::new(),
            Vec::new(),
        )
    }

    #[test]
    fn rows_are_found_across_plans_and_shown_relative() {
        let view = big_thumb_view(10);
        assert_eq!(view.len(), 20);
        assert_eq!(view.summary.outputs, 16);
        assert_eq!(view.summary.skips, 4);
        let row = view.row(3).unwrap();
        assert_eq!(row.input_text(), "photos/img-000001.jpg");
        assert_eq!(row.output_text(), "thumbnails/photos/img-000001_512.jpg");
        assert!(view.row(20).is_none());

        let two = PlanView::new(
            crate::engine::kinds::thumbs::KIND,
            vec![view.parts[0].clone(), view.parts[0].clone()],
            Vec::new(),
            Vec::new(),
        );
        assert_eq!(two.len(), 40);
        assert_eq!(two.summary.outputs, 32);
        assert_eq!(
            two.row(21).unwrap().item.input,
            view.row(1).unwrap().item.input
        );
        assert_eq!(
            two.row(39).unwrap().item.output,
            view.row(19).unwrap().item.output
        );
    }

    #[test]
    fn first_names_group_the_sizes_of_one_image() {
        let view = big_thumb_view(10);
        let names = view.first_names(2);
        assert_eq!(
            names,
            vec![
                SampleNames {
                    source: "img-000000.jpg".to_owned(),
                    outputs: vec![
                        "img-000000_256.jpg".to_owned(),
                        "img-000000_512.jpg".to_owned()
                    ],
                },
                SampleNames {
                    source: "img-000001.jpg".to_owned(),
                    outputs: vec![
                        "img-000001_256.jpg".to_owned(),
                        "img-000001_512.jpg".to_owned()
                    ],
                },
            ]
        );
    }

    /// Feeds the engine's events to the preview until it is fresh; returns the ids of the events
    /// it took.
    fn run_preview(engine: &dyn WindowEngine, preview: &mut Preview) -> Vec<JobId> {
        let mut taken = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !preview.is_fresh() {
            assert!(Instant::now() < deadline, "the preview did not finish");
            if let Ok(event) = engine.events().recv_timeout(Duration::from_millis(50)) {
                assert!(preview.apply(engine, &event), "a preview event: {event:?}");
                taken.push(event.job());
            }
        }
        taken
    }

    #[test]
    fn a_newer_preview_supersedes_the_older_one() {
        use crate::engine::{Engine, ZipSpec};
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for (folder, files) in [(&a, 50), (&b, 2)] {
            std::fs::create_dir(folder).unwrap();
            for i in 0..files {
                std::fs::write(folder.join(format!("{i}.txt")), b"x").unwrap();
            }
        }
        let engine = Engine::new(1);
        let mut preview = Preview::new(crate::ui::kinds::probe);
        let spec = |input: &Path| {
            JobSpec::Zip(ZipSpec::new(
                vec![input.to_path_buf()],
                dir.path().join("out.zip"),
            ))
        };
        preview.submit(&engine, Some(Ok(vec![spec(&a)])));
        let first = preview.runs[0].id;
        preview.submit(&engine, Some(Ok(vec![spec(&b)])));
        let second = preview.runs[0].id;
        assert_ne!(first, second);
        let taken = run_preview(&engine, &mut preview);
        assert!(taken.contains(&second));
        let view = preview.view().unwrap();
        assert_eq!(view.len(), 3, "b/ and its two files, not a's 51 rows");
        assert_eq!(view.row(0).unwrap().input_text(), "b");
        // The same specs again: nothing is submitted.
        let generation = preview.generation();
        preview.submit(&engine, Some(Ok(vec![spec(&b)])));
        assert!(preview.is_fresh());
        assert_eq!(preview.generation(), generation);
        // Late events of the superseded dry run, if any, are still taken (and dropped).
        while let Ok(event) = engine.events().recv_timeout(Duration::from_millis(200)) {
            assert!(preview.apply(&engine, &event));
            assert_eq!(event.job(), first);
        }
        assert!(!std::fs::exists(dir.path().join("out.zip")).unwrap());
    }

    #[test]
    fn the_debounce_waits_for_the_settings_to_settle() {
        let mut preview = Preview::new(crate::ui::kinds::probe);
        let t0 = Instant::now();
        assert_eq!(preview.due_in(t0), None);
        preview.note_change(t0);
        assert_eq!(preview.due_in(t0), Some(PREVIEW_DEBOUNCE));
        assert_eq!(
            preview.due_in(t0 + Duration::from_millis(200)),
            Some(Duration::from_millis(100))
        );
        preview.note_change(t0 + Duration::from_millis(250));
        assert_eq!(
            preview.due_in(t0 + Duration::from_millis(300)),
            Some(Duration::from_millis(250)),
            "a change restarts it"
        );
        assert!(!preview.is_fresh());
    }
}
