//! The thumbnail job kind: every image among the inputs becomes small copies (one per requested
//! size) in the output folder, keeping the input folder structure.
//!
//! Owns: this kind's plan (which inputs are images, each output's name from the name template,
//! collisions and the conflict policy through the plan's [`Resolver`], the "beside the originals"
//! warning), its units of work (one per image: read once, decode once, one output per size),
//! and putting each thumbnail in place through the lifecycle. The pixels are `thumbnail`'s
//! business; the lifecycle, temporary files and claims are `job`'s.
//! Must not touch: inputs (read-only), any front end.

pub mod color;
pub mod decode;
pub mod encode;
pub mod jpeg;
pub mod metadata;
pub mod render;
pub mod spec;
pub mod thumbnail;

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::engine::kinds::thumbs::color::ColorOutcome;
use crate::engine::kinds::thumbs::render::OutputRequest;
use crate::engine::kinds::thumbs::thumbnail::{
    DecodeWarning, MAX_FILE_BYTES, detect_format, has_image_extension,
    make_thumbnails_on_this_thread,
};
use crate::engine::model::error::{ItemError, JobError, SpecError};
use crate::engine::model::events::ProblemKind;
use crate::engine::model::kind::{Counts, JobKind, KindInfo, OutputShape};
use crate::engine::model::paths::{normalize_path, parent_dir};
use crate::engine::model::plan::{Action, Plan, PlanItem, PlanWarning, SkipReason};
use crate::engine::runtime::claims::comparable_path;
use crate::engine::runtime::input::{read_head, read_whole};
use crate::engine::runtime::job::{Finished, JobKindImpl, KindPoll, Planned, Run, panic_message};
use crate::engine::runtime::journal::{RecordedAction, ResumeState, mtime_ns};
use crate::engine::runtime::resolver::Resolver;
use crate::engine::runtime::scan::{Entry, ScanOptions, Scanned, SymlinkPolicy};
use spec::{NameTemplate, ThumbSpec};

/// The thumbnail kind's description.
pub const KIND: JobKind = JobKind::new(&KindInfo {
    id: "thumbs",
    noun: "thumbnails",
    output_noun: ("thumbnail", "thumbnails"),
    item_noun: ("image", "images"),
    verb: "Thumbnails",
    badge: "THUMBS",
    counts: Counts::Items,
    can_stop_early: true,
    can_retry_failed: true,
    output: OutputShape::FolderOfFiles,
});

/// The job for `spec`, once its options are checked (its name template parsed once, here).
pub(crate) fn new_job(spec: ThumbSpec) -> Result<ThumbJob, SpecError> {
    ThumbJob::new(spec)
}

/// How many images a dry run thumbnails to estimate the output size.
const ESTIMATE_SAMPLES: usize = 3;

/// One image to process: its entry and the plan items of its outputs.
struct Unit {
    entry: Entry,
    /// (plan item index, box side in pixels) of each output to make.
    outputs: Vec<(usize, u32)>,
}

#[derive(Default)]
struct State {
    units: Arc<Vec<Unit>>,
    /// Processing order: largest first (long decodes start early instead of leaving one worker
    /// busy at the end while the others idle).
    order: Vec<usize>,
    next: usize,
    /// (plan item index, path) of every thumbnail put in place.
    made: Vec<(usize, PathBuf)>,
    /// Units to do again first: they met a full disk (the job paused).
    again: Vec<usize>,
}

pub(crate) struct ThumbJob {
    spec: ThumbSpec,
    template: NameTemplate,
    state: Mutex<State>,
}

impl ThumbJob {
    pub fn new(spec: ThumbSpec) -> Result<ThumbJob, SpecError> {
        let template = spec.checked_template()?;
        Ok(ThumbJob {
            spec,
            template,
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        crate::engine::lock(&self.state)
    }

    /// Whether an entry is an image: by name when it says so, else by its first bytes.
    fn is_image(entry: &Entry) -> bool {
        if has_image_extension(&entry.name) {
            return true;
        }
        let mut head = [0u8; 32];
        match read_head(&entry.source, &mut head) {
            Ok(n) => detect_format(&head[..n]).is_some(),
            // Unreadable: planned, so that the run reports why.
            Err(_) => true,
        }
    }

    /// The path an output would have before collisions are resolved.
    fn wanted_path(&self, entry: &Entry, size_px: u32) -> PathBuf {
        let rel = Path::new(&entry.name);
        // `{parent}` of a file given on its own is its real folder's name.
        let naming = match rel.parent() {
            Some(p) if !p.as_os_str().is_empty() => rel.to_path_buf(),
            _ => parent_dir(&entry.source).join(rel),
        };
        let file = self
            .template
            .render(&naming, size_px, self.spec.format.extension());
        match rel.parent() {
            Some(p) if !p.as_os_str().is_empty() => self.spec.output_dir.join(p).join(file),
            _ => self.spec.output_dir.join(file),
        }
    }

    /// What to render for one output of `size_px`.
    fn request(&self, size_px: u32) -> OutputRequest {
        OutputRequest {
            max_side_px: size_px,
            format: self.spec.format,
            quality: self.spec.quality,
            lossless: self.spec.lossless,
            metadata: self.spec.metadata,
            color: self.spec.color,
        }
    }

    /// One image: read once, decoded once, then each of its outputs.
    fn process(&self, run: &Run, plan: &Plan, unit_index: usize, unit: &Unit) {
        let core = &run.core;
        let entry = &unit.entry;
        core.set_current(entry.name.clone());
        let mut data = Vec::new();
        let read = read_whole(
            &entry.source,
            MAX_FILE_BYTES,
            &core.cancel,
            &mut data,
            |n| ItemError::FileTooLarge { bytes: n },
        );
        match read {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                core.problem(&entry.source, ProblemKind::Error, e);
                core.item_done(entry.size);
                return;
            }
        }
        let done_before: Vec<usize> = {
            let st = self.state();
            st.made
                .iter()
                .filter(|(i, _)| unit.outputs.iter().any(|(o, _)| o == i))
                .map(|(i, _)| *i)
                .collect()
        };
        // Every size still to make, from one decode.
        let todo: Vec<(usize, u32)> = unit
            .outputs
            .iter()
            .copied()
            .filter(|(index, _)| !done_before.contains(index))
            .collect();
        let requests: Vec<OutputRequest> = todo.iter().map(|&(_, px)| self.request(px)).collect();
        let rendered = catch_unwind(AssertUnwindSafe(|| {
            make_thumbnails_on_this_thread(&data, &requests)
        }))
        .unwrap_or_else(|panic| {
            Err(ItemError::Internal(format!(
                "the decoder stopped: {}",
                panic_message(&*panic)
            )))
        });
        drop(data);
        let thumbs = match rendered {
            Ok(t) => t,
            Err(e @ (ItemError::NotAnImage | ItemError::Empty)) => {
                // A file that only claims to be an image by its name is an error; anything else
                // that is not an image is passed over.
                let kind = if has_image_extension(&entry.name) {
                    ProblemKind::Error
                } else {
                    ProblemKind::Skipped
                };
                core.problem(&entry.source, kind, e);
                core.item_done(entry.size);
                return;
            }
            Err(e) => {
                core.problem(&entry.source, ProblemKind::Error, e);
                core.item_done(entry.size);
                return;
            }
        };
        for warning in &thumbs.warnings {
            core.warning(&entry.source, decode_warning_text(warning));
        }
        for out in &thumbs.outputs {
            if let ColorOutcome::Ignored(why) = &out.color {
                core.warning(
                    &entry.source,
                    format!("colour profile not applied ({why}): colours read as sRGB"),
                );
                break;
            }
        }
        let mut made = Vec::new();
        for (&(index, _), thumb) in todo.iter().zip(&thumbs.outputs) {
            if run.stopping() {
                self.state().made.extend(made);
                return;
            }
            let item = &plan.items[index];
            let Some(dest) = item.output.as_deref() else {
                continue;
            };
            match Self::put_in_place(run, &thumb.encoded, dest, &item.action) {
                Ok(()) => {
                    core.add_output(dest.to_path_buf(), thumb.encoded.len() as u64);
                    run.journal_done(index, dest);
                    made.push((index, dest.to_path_buf()));
                }
                Err(None) => {
                    self.state().made.extend(made);
                    return;
                }
                Err(Some(ItemError::Write { path, cause })) if cause.is_disk_full() => {
                    // One clear pause instead of an error for every item that follows; this
                    // image's missing sizes are made after Resume.
                    let folder = if path == dest {
                        crate::engine::parent_dir(dest).to_path_buf()
                    } else {
                        path
                    };
                    let mut st = self.state();
                    st.made.extend(made);
                    st.again.push(unit_index);
                    drop(st);
                    run.disk_full(&folder);
                    return;
                }
                Err(Some(err)) => core.problem(&entry.source, ProblemKind::Error, err),
            }
        }
        self.state().made.extend(made);
        core.item_done(entry.size);
    }

    /// A new plan: names from the template, collisions and the conflict policy through the
    /// plan's resolver, in sorted input order.
    fn plan_fresh(
        &self,
        run: &Run,
        scanned: &Scanned,
    ) -> (Vec<PlanItem>, Vec<Unit>, Vec<PlanWarning>) {
        let mut resolver = Resolver::new(
            &run.claims,
            run.core.id,
            self.spec.on_conflict,
            &scanned.input_files,
        );
        let mut items = Vec::new();
        let mut units: Vec<Unit> = Vec::new();
        let mut beside: Vec<PathBuf> = Vec::new();
        let mut canonical_dirs: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
        for entry in &scanned.entries {
            if run.stopping() {
                break;
            }
            if !Self::is_image(entry) {
                items.push(PlanItem {
                    input: entry.source.clone(),
                    output: None,
                    action: Action::Skip(SkipReason::NotAnImage),
                    input_bytes: entry.size,
                });
                continue;
            }
            let mut outputs = Vec::new();
            for &size_px in &self.spec.sizes_px {
                let wanted = self.wanted_path(entry, size_px);
                let (output, action) = resolver.resolve(&wanted, entry.mtime);
                let source_dir = parent_dir(&entry.source).to_path_buf();
                let source_dir = canonical_dirs
                    .entry(source_dir.clone())
                    .or_insert_with(|| fs::canonicalize(&source_dir).ok())
                    .clone();
                let output_dir = comparable_path(&output).parent().map(Path::to_path_buf);
                if let (Some(s), Some(o)) = (source_dir, output_dir)
                    && s == o
                    && !beside.contains(&s)
                {
                    beside.push(s);
                }
                if !action.is_skip() {
                    outputs.push((items.len(), size_px));
                }
                items.push(PlanItem {
                    input: entry.source.clone(),
                    output: Some(output),
                    action,
                    input_bytes: entry.size,
                });
            }
            if !outputs.is_empty() {
                units.push(Unit {
                    entry: entry.clone(),
                    outputs,
                });
            }
        }
        run.claims
            .add_outputs(run.core.id, resolver.taken().cloned());
        let warnings = if beside.is_empty() {
            Vec::new()
        } else {
            vec![PlanWarning::OutputBesideInputs { folders: beside }]
        };
        (items, units, warnings)
    }

    /// A resumed job's plan: the interrupted run's own plan, with what it completed (and is
    /// still there, unchanged) skipped and the rest to do again. Outputs it put in place but had
    /// not recorded yet (newer than the job's start, not empty) are complete: kept too.
    fn plan_from_journal(
        &self,
        run: &Run,
        scanned: &Scanned,
        resume: &ResumeState,
    ) -> (Vec<PlanItem>, Vec<Unit>) {
        let recorded = resume.items.as_deref().unwrap_or_default();
        let entries: HashMap<&Path, &Entry> = scanned
            .entries
            .iter()
            .map(|e| (e.source.as_path(), e))
            .collect();
        let started_ns = i64::try_from(resume.started_ns).unwrap_or(i64::MAX);
        let mut items = Vec::with_capacity(recorded.len());
        let mut units: Vec<Unit> = Vec::new();
        let mut unit_of: HashMap<&Path, usize> = HashMap::new();
        let mut nth_output: HashMap<&Path, usize> = HashMap::new();
        for (index, rec) in recorded.iter().enumerate() {
            let entry = entries.get(rec.input.as_path()).copied();
            let size_px = rec.output.as_ref().map(|_| {
                let n = nth_output.entry(rec.input.as_path()).or_default();
                *n += 1;
                self.spec
                    .sizes_px
                    .get(*n - 1)
                    .copied()
                    .unwrap_or_else(|| self.spec.max_side_px())
            });
            let action = match (&rec.action, &rec.output, entry) {
                (RecordedAction::Skip, _, _) | (_, None, _) => Action::Skip(SkipReason::AsPlanned(
                    rec.reason.clone().unwrap_or_else(|| "skipped".to_owned()),
                )),
                (_, Some(_), None) => Action::Skip(SkipReason::InputGone),
                (recorded_action, Some(out), Some(_)) => match fs::symlink_metadata(out) {
                    Ok(m) if resume.done.get(&index) == Some(&(m.len(), mtime_ns(&m))) => {
                        Action::Skip(SkipReason::AlreadyDone)
                    }
                    // Put in place by the interrupted run in its last moments (after the
                    // journal's last sync): outputs are only ever renamed into place complete,
                    // so it is done. An empty one is what a power cut can leave of a file whose
                    // data never reached the disk: made again.
                    Ok(m) if mtime_ns(&m) >= started_ns && m.is_file() && m.len() > 0 => {
                        Action::Skip(SkipReason::AlreadyDone)
                    }
                    Ok(m) if mtime_ns(&m) >= started_ns => Action::Overwrite,
                    Ok(_) if *recorded_action == RecordedAction::Overwrite => Action::Overwrite,
                    _ => Action::Write,
                },
            };
            if !action.is_skip()
                && let (Some(entry), Some(size_px)) = (entry, size_px)
            {
                let u = *unit_of.entry(rec.input.as_path()).or_insert_with(|| {
                    units.push(Unit {
                        entry: entry.clone(),
                        outputs: Vec::new(),
                    });
                    units.len() - 1
                });
                units[u].outputs.push((index, size_px));
            }
            items.push(PlanItem {
                input: rec.input.clone(),
                output: rec.output.clone(),
                action,
                input_bytes: entry.map_or(0, |e| e.size),
            });
        }
        run.claims.add_outputs(
            run.core.id,
            items
                .iter()
                .filter(|i| !i.action.is_skip())
                .filter_map(|i| i.output.as_deref())
                .map(comparable_path),
        );
        (items, units)
    }

    /// Writes one encoded thumbnail under a temporary name and puts it in place as planned.
    /// `Err(None)`: cancelled.
    fn put_in_place(
        run: &Run,
        encoded: &[u8],
        dest: &Path,
        action: &Action,
    ) -> Result<(), Option<ItemError>> {
        if let Some(dir) = dest.parent() {
            run.create_dirs(dir).map_err(|cause| {
                Some(ItemError::Write {
                    path: dir.to_path_buf(),
                    cause,
                })
            })?;
        }
        let mut temp = run.create_temp(dest).map_err(Some)?;
        temp.write_all(encoded).map_err(|e| {
            Some(ItemError::Write {
                path: dest.to_path_buf(),
                cause: crate::engine::model::error::IoCause::of(e),
            })
        })?;
        if run.stopping() {
            return Err(None);
        }
        run.place(temp, dest, action).map_err(Some)
    }
}

/// A decoder's note in the user's terms.
fn decode_warning_text(warning: &DecodeWarning) -> &'static str {
    match warning {
        DecodeWarning::MissingEndMarker => {
            "the JPEG has no end marker; every scan was complete, so it was decoded"
        }
        DecodeWarning::DataAfterImage => {
            "the image was complete; data after it (no end marker) could not be read and was ignored"
        }
    }
}

impl JobKindImpl for ThumbJob {
    fn inputs(&self) -> &[PathBuf] {
        &self.spec.inputs
    }

    fn prepare(&self, _run: &Run) -> Result<(), JobError> {
        Ok(())
    }

    fn scan_options(&self, _run: &Run) -> ScanOptions {
        ScanOptions {
            symlinks: SymlinkPolicy::FollowFiles,
            include_dirs: false,
            exclude_files: Vec::new(),
            // Below an input, the output folder holds earlier thumbnails: never thumbnailed.
            exclude_dirs: fs::canonicalize(&self.spec.output_dir)
                .map(|p| vec![p])
                .unwrap_or_default(),
            only: self.spec.only.iter().map(|p| normalize_path(p)).collect(),
            shard: self.spec.shard,
        }
    }

    fn plan(&self, run: &Run, scanned: Scanned) -> Result<Planned, JobError> {
        let (items, units, warnings) = match run.resume.as_ref() {
            Some(resume) if resume.items.is_some() => {
                let (items, units) = self.plan_from_journal(run, &scanned, resume);
                (items, units, Vec::new())
            }
            _ => self.plan_fresh(run, &scanned),
        };
        let mut order: Vec<usize> = (0..units.len()).collect();
        order.sort_by(|&a, &b| {
            units[b]
                .entry
                .size
                .cmp(&units[a].entry.size)
                .then_with(|| a.cmp(&b))
        });
        let bytes_total: u64 = units.iter().map(|u| u.entry.size).sum();
        let items_total = units.len() as u64;
        {
            let mut st = self.state();
            st.units = Arc::new(units);
            st.order = order;
            st.next = 0;
        }
        Ok(Planned {
            plan: Plan::new(
                run.core.id,
                KIND,
                crate::engine::model::paths::folder_display_name(&self.spec.output_dir),
                self.spec.output_dir.clone(),
                None,
                items,
                warnings,
            ),
            items_total,
            bytes_total,
        })
    }

    fn estimate_output_bytes(&self, run: &Run, plan: &Plan) -> Option<u64> {
        let units = Arc::clone(&self.state().units);
        if units.is_empty() {
            return Some(0);
        }
        let step = (units.len() / ESTIMATE_SAMPLES).max(1);
        let (mut made, mut bytes) = (0u64, 0u64);
        let mut data = Vec::new();
        for unit in units.iter().step_by(step).take(ESTIMATE_SAMPLES) {
            if !matches!(
                read_whole(
                    &unit.entry.source,
                    MAX_FILE_BYTES,
                    &run.core.cancel,
                    &mut data,
                    |n| { ItemError::FileTooLarge { bytes: n } }
                ),
                Ok(true)
            ) {
                continue;
            }
            let requests: Vec<OutputRequest> = unit
                .outputs
                .iter()
                .map(|&(_, px)| self.request(px))
                .collect();
            if let Ok(Ok(t)) = catch_unwind(AssertUnwindSafe(|| {
                make_thumbnails_on_this_thread(&data, &requests)
            })) {
                made += t.outputs.len() as u64;
                bytes += t
                    .outputs
                    .iter()
                    .map(|o| o.encoded.len() as u64)
                    .sum::<u64>();
            }
        }
        (made > 0).then(|| bytes * plan.summary.outputs / made)
    }

    fn start(self: Arc<Self>, _run: &Arc<Run>) -> Result<(), JobError> {
        Ok(())
    }

    fn next_task(self: Arc<Self>, run: &Arc<Run>) -> KindPoll {
        let mut st = self.state();
        let unit = match st.again.pop() {
            Some(unit) => unit,
            None if st.next < st.order.len() => {
                st.next += 1;
                st.order[st.next - 1]
            }
            None => return KindPoll::Complete,
        };
        let units = Arc::clone(&st.units);
        drop(st);
        let run = Arc::clone(run);
        let me = Arc::clone(&self);
        KindPoll::Task(Box::new(move || {
            if let Some(plan) = run.plan() {
                me.process(&run, plan, unit, &units[unit]);
            }
        }))
    }

    fn finish(&self, _run: &Run) -> Result<Finished, JobError> {
        let mut made = std::mem::take(&mut self.state().made);
        made.sort_by_key(|(index, _)| *index);
        Ok(Finished {
            outputs: made.into_iter().map(|(_, path)| path).collect(),
            ..Finished::default()
        })
    }
}
