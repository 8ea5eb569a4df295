//! The thumbnail job kind: every image among the inputs becomes small copies (one per requested
//! size) in the output folder, keeping the input folder structure.
//!
//! Owns: this kind's plan (which inputs are images, each output's name from the name template,
//! collisions and the conflict policy through the plan's [`Resolver`], names kept byte for byte,
//! the "beside the originals" and "the output folder is the input folder" warnings, the
//! thumbnail folders its scan never walks into, and a resumed job's plan: its own outputs known
//! by their recorded identity, made again when their source changed), its units of work (one
//! per image: read once, decode once, one output per size), and putting each thumbnail in place
//! through the lifecycle. The pixels are `thumbnail`'s
//! business; the lifecycle, temporary files and claims are `job`'s.
//! Must not touch: inputs (read-only), any front end.
//!
//! The spec's `KindSpec` (what the runtime and the job files read of it) is implemented here,
//! so that the spec (`spec.rs`) and its options by name (`options.rs`) do not import each other.

#[cfg(feature = "avif")]
mod av1;
#[cfg(feature = "avif")]
pub mod avif;
pub mod color;
pub mod cost;
pub mod decode;
pub mod decoded;
pub mod encode;
#[cfg(any(feature = "jxl", feature = "heic", feature = "avif", test))]
mod guard;
#[cfg(feature = "heic")]
pub mod heif;
pub mod jpeg;
#[cfg(feature = "jxl")]
pub mod jxl;
pub mod metadata;
pub(crate) mod options;
pub mod png;
pub mod render;
pub mod sniff;
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
    DecodeWarning, ImageHeader, MAX_FILE_BYTES, Thumbnails, detect_format, has_image_extension,
    make_thumbnails_with_header_on_this_thread, read_header,
};
use crate::engine::model::error::{ItemError, JobError, SpecError};
use crate::engine::model::events::ProblemKind;
use crate::engine::model::kind::{Counts, JobKind, KindInfo, OutputShape};
use crate::engine::model::options::{OptionError, OptionValue};
use crate::engine::model::paths::{normalize_path, parent_dir};
use crate::engine::model::plan::{Action, Plan, PlanItem, PlanWarning, SkipReason};
use crate::engine::model::shard::Shard;
use crate::engine::runtime::claims::comparable_path;
use crate::engine::runtime::input::{read_head, read_whole};
use crate::engine::runtime::job::KindSpec;
use crate::engine::runtime::job::{Finished, JobKindImpl, KindPoll, Planned, Run, panic_message};
use crate::engine::runtime::journal::{RecordedAction, ResumeState, SourceId};
use crate::engine::runtime::memory::{NotReserved, Reservation};
use crate::engine::runtime::resolver::Resolver;
use crate::engine::runtime::scan::{Entry, ScanOptions, Scanned, SymlinkPolicy};
use spec::{NameTemplate, ThumbSize, ThumbSpec};

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
    input_filter: Some(("Images", thumbnail::IMAGE_EXTENSIONS)),
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
    /// (plan item index, box) of each output to make.
    outputs: Vec<(usize, ThumbSize)>,
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
        crate::engine::runtime::lock(&self.state)
    }

    /// Whether an entry is an image: by name when it says so, else by its first bytes.
    fn is_image(entry: &Entry) -> bool {
        if has_image_extension(&entry.name.to_string_lossy()) {
            return true;
        }
        let mut head = [0u8; 32];
        match read_head(&entry.source, &mut head) {
            Ok(n) => detect_format(&head[..n]).is_some(),
            // Unreadable: planned, so that the run reports why.
            Err(_) => true,
        }
    }

    /// The path an output would have before collisions are resolved: the entry's relative
    /// path (its bytes kept) below the output folder, its file name from the template. The
    /// `{parent}` of a file given on its own is its real folder's name, however the path was
    /// typed (`dirs` caches the real folders).
    fn wanted_path(
        &self,
        entry: &Entry,
        size: ThumbSize,
        dirs: &mut HashMap<PathBuf, Option<PathBuf>>,
    ) -> PathBuf {
        let rel = Path::new(&entry.name);
        let in_folder = rel.parent().is_some_and(|p| !p.as_os_str().is_empty());
        let naming = if in_folder {
            rel.to_path_buf()
        } else {
            let dir = real_dir(dirs, parent_dir(&entry.source));
            dir.unwrap_or_else(|| normalize_path(parent_dir(&entry.source)))
                .join(rel)
        };
        let file = self
            .template
            .render_os(&naming, size, self.spec.format.extension());
        match rel.parent() {
            Some(p) if in_folder => self.spec.output_dir.join(p).join(file),
            _ => self.spec.output_dir.join(file),
        }
    }

    /// The folders that hold this job's thumbnails (of earlier runs too), canonical, which its
    /// scan never walks into: the output folder, and the subfolder of it each folder input's
    /// thumbnails go to (`<output>/<input's name>`: inside the input itself when the output
    /// folder is the input folder). A job's outputs are never its inputs, whatever the folders.
    fn thumbnail_folders(&self) -> Vec<PathBuf> {
        let out = &self.spec.output_dir;
        let mut dirs: Vec<PathBuf> = fs::canonicalize(out).into_iter().collect();
        for input in &self.spec.inputs {
            if !input.is_dir() {
                continue;
            }
            let name = input
                .file_name()
                .map(std::ffi::OsStr::to_os_string)
                .or_else(|| {
                    fs::canonicalize(input)
                        .ok()
                        .and_then(|p| p.file_name().map(std::ffi::OsStr::to_os_string))
                });
            if let Some(name) = name
                && let Ok(dir) = fs::canonicalize(out.join(name))
                && !dirs.contains(&dir)
            {
                dirs.push(dir);
            }
        }
        dirs
    }

    /// What to render for one output in box `size`.
    fn request(&self, size: ThumbSize) -> OutputRequest {
        OutputRequest {
            size,
            fit: self.spec.fit,
            upscale: self.spec.upscale,
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
        core.set_current(entry.name.to_string_lossy());
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
        let todo: Vec<(usize, ThumbSize)> = unit
            .outputs
            .iter()
            .copied()
            .filter(|(index, _)| !done_before.contains(index))
            .collect();
        let requests: Vec<OutputRequest> = todo.iter().map(|&(_, px)| self.request(px)).collect();
        let rendered = render_within_budget(run, &data, &requests);
        drop(data);
        let thumbs = match rendered {
            Ok(t) => t,
            // Cancelled while waiting for memory.
            Err(None) => return,
            Err(Some(e @ (ItemError::NotAnImage | ItemError::Empty))) => {
                // A file that only claims to be an image by its name is an error; anything else
                // that is not an image is passed over.
                let kind = if has_image_extension(&entry.name.to_string_lossy()) {
                    ProblemKind::Error
                } else {
                    ProblemKind::Skipped
                };
                core.problem(&entry.source, kind, e);
                core.item_done(entry.size);
                return;
            }
            Err(Some(e)) => {
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
            let source = SourceId::new(entry.size, entry.mtime);
            match Self::put_in_place(run, &thumb.encoded, dest, &item.action, source) {
                Ok(()) => {
                    core.add_output(dest.to_path_buf(), thumb.encoded.len() as u64);
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
                        crate::engine::model::paths::parent_dir(dest).to_path_buf()
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
            for &size in &self.spec.sizes {
                let wanted = self.wanted_path(entry, size, &mut canonical_dirs);
                let (output, action) = resolver.resolve(&wanted, entry.mtime);
                let source_dir = real_dir(&mut canonical_dirs, parent_dir(&entry.source));
                let output_dir = comparable_path(&output).parent().map(Path::to_path_buf);
                if let (Some(s), Some(o)) = (source_dir, output_dir)
                    && s == o
                    && !beside.contains(&s)
                {
                    beside.push(s);
                }
                if !action.is_skip() {
                    outputs.push((items.len(), size));
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
        let mut warnings = Vec::new();
        if !beside.is_empty() {
            warnings.push(PlanWarning::OutputBesideInputs { folders: beside });
        }
        // The output folder is an input folder itself: its thumbnails go into a subfolder of
        // it (named after it), which the scan never takes as input.
        let output_dir = fs::canonicalize(&self.spec.output_dir).ok();
        for input in &self.spec.inputs {
            if output_dir.is_some() && fs::canonicalize(input).ok() == output_dir {
                warnings.push(PlanWarning::OutputIsInputFolder {
                    folder: input.clone(),
                });
                break;
            }
        }
        (items, units, warnings)
    }

    /// A resumed job's plan: the interrupted run's own plan, item for item. An output the job
    /// put in place itself (the same file, by its recorded identity) is kept when its source is
    /// unchanged, and made again (replacing only that file) when its source changed since, as
    /// `update` and a plain re-run would. Anything else at an output's place (a file someone
    /// saved there meanwhile) is treated by the job's conflict policy, exactly as the original
    /// run treats an existing file.
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
        let mut resolver = Resolver::new(
            &run.claims,
            run.core.id,
            self.spec.on_conflict,
            &scanned.input_files,
        );
        for rec in recorded {
            if rec.action != RecordedAction::Skip
                && let Some(out) = &rec.output
            {
                resolver.reserve(out);
            }
        }
        let mut items = Vec::with_capacity(recorded.len());
        let mut units: Vec<Unit> = Vec::new();
        let mut unit_of: HashMap<&Path, usize> = HashMap::new();
        let mut nth_output: HashMap<&Path, usize> = HashMap::new();
        for (index, rec) in recorded.iter().enumerate() {
            let entry = entries.get(rec.input.as_path()).copied();
            let size = rec.output.as_ref().map(|_| {
                let n = nth_output.entry(rec.input.as_path()).or_default();
                *n += 1;
                self.spec
                    .sizes
                    .get(*n - 1)
                    .copied()
                    .unwrap_or_else(|| ThumbSize::square(self.spec.max_side_px()))
            });
            let (output, action) = match (&rec.action, &rec.output, entry) {
                (RecordedAction::Skip, _, _) | (_, None, _) => (
                    rec.output.clone(),
                    Action::Skip(SkipReason::AsPlanned(
                        rec.reason.clone().unwrap_or_else(|| "skipped".to_owned()),
                    )),
                ),
                (_, Some(out), None) => (Some(out.clone()), Action::Skip(SkipReason::InputGone)),
                (_, Some(out), Some(entry)) => {
                    let source = SourceId::new(entry.size, entry.mtime);
                    match fs::symlink_metadata(out) {
                        Err(_) => (Some(out.clone()), Action::Write),
                        Ok(m) => match resume.own(out, &m) {
                            Some(placed) if placed.source.is_none_or(|s| s == source) => {
                                (Some(out.clone()), Action::Skip(SkipReason::AlreadyDone))
                            }
                            // Its own thumbnail, of a source that changed since.
                            Some(_) => (Some(out.clone()), Action::Overwrite),
                            None => {
                                let (path, action) = resolver.resolve_again(out, entry.mtime);
                                (Some(path), action)
                            }
                        },
                    }
                }
            };
            if !action.is_skip()
                && let (Some(entry), Some(size)) = (entry, size)
            {
                let u = *unit_of.entry(rec.input.as_path()).or_insert_with(|| {
                    units.push(Unit {
                        entry: entry.clone(),
                        outputs: Vec::new(),
                    });
                    units.len() - 1
                });
                units[u].outputs.push((index, size));
            }
            items.push(PlanItem {
                input: rec.input.clone(),
                output,
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

    /// Writes one encoded thumbnail under a temporary name and puts it in place as planned
    /// (recorded with its `source` as read). `Err(None)`: cancelled.
    fn put_in_place(
        run: &Run,
        encoded: &[u8],
        dest: &Path,
        action: &Action,
        source: SourceId,
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
        run.place_from(temp, dest, action, Some(source))
            .map_err(Some)
    }
}

/// The real folder of `dir` (symlinks resolved), looked up once per folder.
fn real_dir(cache: &mut HashMap<PathBuf, Option<PathBuf>>, dir: &Path) -> Option<PathBuf> {
    cache
        .entry(dir.to_path_buf())
        .or_insert_with(|| fs::canonicalize(dir).ok())
        .clone()
}

/// Reserves what decoding an image with `header` ([`read_header`]) for `requests` will
/// allocate from the engine's memory budget, waiting while the decodes running hold too much
/// for it to fit. `Err(None)`: the job was cancelled while waiting; `Err(Some(_))`: the image
/// could never fit, with its figures. An image whose header cannot be read (`None`) reserves
/// nothing (its decoder says what is wrong).
fn reserve_decode(
    run: &Run,
    header: Option<&ImageHeader>,
    requests: &[OutputRequest],
) -> Result<Option<Reservation>, Option<ItemError>> {
    let Some(cost) = header.map(|h| h.cost(requests)) else {
        return Ok(None);
    };
    let (width, height) = (u64::from(cost.source_px.0), u64::from(cost.source_px.1));
    if width.saturating_mul(height) > thumbnail::MAX_PIXELS {
        // A bomb: refused from its header, in the decoder's own words.
        return Err(Some(ItemError::TooLarge {
            width,
            height,
            limit_mpx: thumbnail::MAX_PIXELS / 1_000_000,
        }));
    }
    match run.memory.reserve(cost.bytes, || run.stopping()) {
        Ok(reservation) => Ok(Some(reservation)),
        Err(NotReserved::Stopped) => Err(None),
        Err(NotReserved::OverBudget {
            need_bytes,
            budget_bytes,
        }) => Err(Some(ItemError::OverMemoryBudget {
            width,
            height,
            need_bytes,
            budget_bytes,
        })),
    }
}

/// Decodes `data` and renders `requests` on this worker within the memory budget: the header
/// is read once, what the decode will hold is reserved (waiting while it does not fit) and
/// released when the thumbnails are made, and a decoder's panic becomes an error.
/// `Err(None)`: the job was cancelled while waiting for memory.
fn render_within_budget(
    run: &Run,
    data: &[u8],
    requests: &[OutputRequest],
) -> Result<Thumbnails, Option<ItemError>> {
    let header = read_header(data);
    let _reservation = reserve_decode(run, header.as_ref(), requests)?;
    catch_unwind(AssertUnwindSafe(|| {
        make_thumbnails_with_header_on_this_thread(data, header.as_ref(), requests)
    }))
    .unwrap_or_else(|panic| {
        Err(ItemError::Internal(format!(
            "the decoder stopped: {}",
            panic_message(&*panic)
        )))
    })
    .map_err(Some)
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
            exclude_dirs: self.thumbnail_folders(),
            only: self.spec.only.iter().map(|p| normalize_path(p)).collect(),
            shard: self.spec.shard,
            excludes: Default::default(),
            // A thumbnail keeps its source's name bytes (a Latin-1 name stays Latin-1).
            keep_non_utf8_names: true,
        }
    }

    fn plan(&self, run: &Run, scanned: Scanned) -> Result<Planned, JobError> {
        let (items, units, warnings) = match run.resumed() {
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
            if let Ok(t) = render_within_budget(run, &data, &requests) {
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

impl KindSpec for ThumbSpec {
    fn kind(&self) -> JobKind {
        KIND
    }
    fn output_path(&self) -> &Path {
        &self.output_dir
    }
    fn validate(&self) -> Result<(), SpecError> {
        self.checked_template().map(|_| ())
    }
    crate::engine::runtime::job::spec_selection_and_options!();
}
