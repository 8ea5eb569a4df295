//! The extract job kind: zip archives into a folder, or "Test": every entry read and checked,
//! nothing written.
//!
//! Owns: this kind's plan and run. The plan lists every entry of every archive, each with its
//! output and action through the runtime's [`Resolver`] (the conflict policy, never replacing an
//! input) or refused with its reason, decided from the central directory before any byte is
//! written:
//! - where it goes ("smart" placement): an archive whose entries all sit in one top-level folder,
//!   or that holds one file, goes straight into the output folder; any other into
//!   `<output>/<archive name without .zip>/`;
//! - names that would leave the output folder (`..`, absolute, drive letters, backslashes, empty
//!   or `.` parts: see `names`), entries under the name of a link entry (written "through" it),
//!   entries whose data overlaps another's (many entries inflating one run of data), methods the
//!   reader lacks, encrypted entries without a password: refused, as errors of that entry;
//! - symbolic links: not created unless asked, and then only those whose target stays inside;
//!   FIFOs, devices and sockets: never created (both listed as skipped);
//! - a folder in the way on disk that is a link, or a file where a folder goes: refused.
//!
//! The run checks free space against the plan's total before the first byte, then inflates
//! entries on the pool, in tasks of consecutive entries (by position in the archive), each task
//! with one reader of the archive (a `ZipArchive` per worker over the one open file). An entry is
//! written under a temporary name and put in place only when its bytes ended at its stated size
//! with the right CRC-32; one that inflates past its stated size is stopped there; nothing is
//! written through a link (see `write`). Progress counts uncompressed bytes. Folder entries get
//! their time and permissions at the end (writing into them changes their time), and only the
//! folders this job created. A test reads the same way into nothing and reports each entry.
//!
//! Must not touch: the archives (read-only), any front end, the runtime's duties (temporary files,
//! claims, journal).
//!
//! The spec's `KindSpec` (what the runtime and the job files read of it) is implemented here,
//! so that the spec (`spec.rs`) and its options by name (`options.rs`) do not import each other.

pub mod error;
pub mod names;
pub(crate) mod options;
pub mod source;
pub mod spec;
pub mod write;

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Write;
use std::ops::Range;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::engine::model::error::{ItemError, JobError, KindCause, SpecError};
use crate::engine::model::events::ProblemKind;
use crate::engine::model::kind::{Counts, JobKind, KindInfo, OutputShape};
use crate::engine::model::options::{OptionError, OptionValue};
use crate::engine::model::password::Password;
use crate::engine::model::paths::{folder_display_name, normalize_path};
use crate::engine::model::plan::{Action, Plan, PlanItem, SkipReason};
use crate::engine::model::shard::Shard;
use crate::engine::runtime::claims::comparable_path;
use crate::engine::runtime::input::CHUNK_BYTES;
use crate::engine::runtime::job::{Finished, JobKindImpl, KindPoll, KindSpec, Planned, Run};
use crate::engine::runtime::journal::{RecordedAction, RecordedItem, ResumeState};
use crate::engine::runtime::password_file::read_password_file;
use crate::engine::runtime::resolver::Resolver;
use crate::engine::runtime::scan::{ScanOptions, Scanned, SymlinkPolicy};

use error::ExtractError;
use names::{check_name, resolve_link};
use source::{ArchiveFile, ListedEntry, method_name, method_supported};
use spec::ExtractSpec;
use write::{
    EntryRead, Failed, Folders, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFSOCK,
    inflate, make_link, output_mode, read_link_target, set_mode,
};

/// The extract kind's description.
pub const KIND: JobKind = JobKind::new(&KindInfo {
    id: "extract",
    noun: "files",
    output_noun: ("file", "files"),
    item_noun: ("entry", "entries"),
    verb: "Extract",
    badge: "UNZIP",
    counts: Counts::Bytes,
    can_stop_early: true,
    can_retry_failed: false,
    output: OutputShape::FolderOfFiles,
    input_filter: Some(("Zip archives", &["zip"])),
});

/// The job for `spec`.
pub(crate) fn new_job(spec: ExtractSpec) -> Result<ExtractJob, SpecError> {
    KindSpec::validate(&spec)?;
    Ok(ExtractJob::new(spec))
}

/// Entries in one pool task, at most.
const TASK_MAX_ENTRIES: usize = 64;
/// Stated bytes of one task's entries, at most (a larger entry is a task alone).
const TASK_MAX_BYTES: u64 = CHUNK_BYTES as u64;
/// Bytes a file takes beyond its data, about (its last block, its inode): counted in the free
/// space a plan needs.
const FILE_OVERHEAD_BYTES: u64 = 4096;

/// What a planned entry becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Make {
    File,
    Folder,
    Link(Vec<u8>),
    /// A test: read and checked, nothing written.
    Check,
}

/// One entry to extract or test, and its plan item.
#[derive(Debug, Clone)]
struct Work {
    archive: usize,
    entry: ListedEntry,
    item: usize,
    make: Make,
}

#[derive(Default)]
struct State {
    archives: Arc<Vec<ArchiveFile>>,
    works: Arc<Vec<Work>>,
    /// Tasks, as ranges of `works`.
    units: Vec<Range<usize>>,
    next: usize,
    /// Ranges to do again first (they met a full disk; the job paused).
    again: Vec<Range<usize>>,
    /// (plan item, output) of everything made (a test: of every entry found intact).
    made: Vec<(usize, PathBuf)>,
}

pub(crate) struct ExtractJob {
    spec: ExtractSpec,
    /// The password, read when the job starts (from the spec or its file).
    password: Mutex<Option<Vec<u8>>>,
    folders: Folders,
    state: Mutex<State>,
}

/// What the plan decided for one entry, before its output is chosen.
enum Decision {
    Refuse(ExtractError),
    Make(Make),
}

/// A resumed job's view of what the interrupted run planned and completed.
struct Recorded<'r> {
    /// Normalised entry label -> its recorded item.
    by_label: HashMap<PathBuf, usize>,
    items: &'r [RecordedItem],
    state: &'r ResumeState,
}

impl<'r> Recorded<'r> {
    fn new(state: &'r ResumeState) -> Option<Recorded<'r>> {
        let items = state.items.as_deref()?;
        let by_label = items
            .iter()
            .enumerate()
            .map(|(i, item)| (normalize_path(&item.input), i))
            .collect();
        Some(Recorded {
            by_label,
            items,
            state,
        })
    }

    /// What becomes of an entry to make whose label is `label`: the output and action the
    /// interrupted run planned, or skipped when that run completed it (the file there is the
    /// very one it put there, by the identity the journal recorded).
    fn resume(&self, label: &Path, is_file: bool) -> (Option<PathBuf>, Action) {
        let Some(&index) = self.by_label.get(&normalize_path(label)) else {
            return (
                None,
                Action::Skip(SkipReason::AsPlanned(
                    "not in the interrupted job's plan".to_owned(),
                )),
            );
        };
        let rec = &self.items[index];
        let Some(output) = rec
            .output
            .clone()
            .filter(|_| rec.action != RecordedAction::Skip)
        else {
            return (
                rec.output.clone(),
                Action::Skip(SkipReason::AsPlanned(
                    rec.reason.clone().unwrap_or_else(|| "skipped".to_owned()),
                )),
            );
        };
        // Only the very file the job put there (its recorded identity) counts as done; anything
        // else there now is not the job's, and placing will not replace it unless the plan said
        // overwrite.
        let action = match fs::symlink_metadata(&output) {
            Ok(m) if self.state.own(&output, &m).is_some() => Action::Skip(SkipReason::AlreadyDone),
            Ok(m) if !is_file && m.is_dir() => Action::Skip(SkipReason::AlreadyDone),
            _ if rec.action == RecordedAction::Overwrite => Action::Overwrite,
            _ => Action::Write,
        };
        (Some(output), action)
    }
}

impl ExtractJob {
    fn new(spec: ExtractSpec) -> ExtractJob {
        let folders = Folders::new(spec.output_dir.clone());
        ExtractJob {
            spec,
            password: Mutex::new(None),
            folders,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        crate::engine::runtime::lock(&self.state)
    }

    fn password(&self) -> Option<Vec<u8>> {
        crate::engine::runtime::lock(&self.password).clone()
    }

    /// The password of the spec, or the first line of its password file.
    fn read_password(&self) -> Result<Option<Vec<u8>>, ExtractError> {
        if let Some(Password::Given(text)) = &self.spec.password {
            return Ok(Some(text.as_bytes().to_vec()));
        }
        let Some(path) = &self.spec.password_file else {
            return Ok(None);
        };
        let password = read_password_file(path).map_err(|why| ExtractError::PasswordFile {
            path: path.clone(),
            why,
        })?;
        Ok(password.bytes().map(<[u8]>::to_vec))
    }

    /// The label of an entry in problems and the plan: the archive's path, `/`, the entry's name
    /// as the archive spells it (never joined as a path: an absolute name stays visible).
    fn label(archive: &Path, name: &[u8]) -> PathBuf {
        let mut label = archive.as_os_str().to_os_string().into_vec();
        label.push(b'/');
        label.extend_from_slice(name);
        PathBuf::from(OsString::from_vec(label))
    }

    /// Decides what becomes of one entry (before its output path), from the central directory.
    fn decide(
        &self,
        entry: &ListedEntry,
        pos: usize,
        overlapping: &HashSet<usize>,
        out_of_bounds: &HashSet<usize>,
        link_names: &HashSet<Vec<u8>>,
        has_password: bool,
    ) -> Decision {
        use Decision::Refuse;
        if out_of_bounds.contains(&pos) {
            return Refuse(ExtractError::DataOutOfBounds);
        }
        if overlapping.contains(&pos) {
            return Refuse(ExtractError::Overlapping);
        }
        let file_type = entry.unix_mode.map_or(0, |m| m & S_IFMT);
        let is_dir = entry.is_dir_name || file_type == S_IFDIR;
        if !is_dir && !method_supported(entry.method) {
            return Refuse(ExtractError::UnsupportedMethod(method_name(entry.method)));
        }
        if entry.encrypted && !has_password {
            return Refuse(ExtractError::NeedsPassword);
        }
        if self.spec.test_only {
            return if is_dir {
                Decision::Make(Make::Folder)
            } else {
                Decision::Make(Make::Check)
            };
        }
        let name = match check_name(&entry.name) {
            Ok(name) => name,
            Err(why) => return Refuse(ExtractError::UnsafeName(why)),
        };
        // Under the name of a link entry: written "through" it.
        let mut prefix: Vec<u8> = Vec::new();
        for part in &name.parts[..name.parts.len().saturating_sub(1)] {
            if !prefix.is_empty() {
                prefix.push(b'/');
            }
            prefix.extend_from_slice(part);
            if link_names.contains(&prefix) {
                return Refuse(ExtractError::ThroughLink {
                    link: String::from_utf8_lossy(&prefix).into_owned(),
                });
            }
        }
        match file_type {
            S_IFLNK if !self.spec.create_symlinks => Refuse(ExtractError::LinkNotCreated),
            // The target is read and checked by the caller.
            S_IFLNK => Decision::Make(Make::Link(Vec::new())),
            S_IFIFO => Refuse(ExtractError::Special("a FIFO")),
            S_IFCHR => Refuse(ExtractError::Special("a character device")),
            S_IFBLK => Refuse(ExtractError::Special("a block device")),
            S_IFSOCK => Refuse(ExtractError::Special("a socket")),
            _ if is_dir => Decision::Make(Make::Folder),
            _ => Decision::Make(Make::File),
        }
    }

    /// Plans one archive: its entries' items (appended to `items`) and works.
    #[allow(clippy::too_many_arguments)]
    fn plan_archive(
        &self,
        run: &Run,
        archive_path: &Path,
        archive_index: usize,
        file: &ArchiveFile,
        resolver: &mut Resolver<'_>,
        recorded: Option<&Recorded<'_>>,
        on_disk: &mut HashMap<PathBuf, OnDisk>,
        items: &mut Vec<PlanItem>,
        works: &mut Vec<Work>,
    ) -> Result<(), ExtractError> {
        let listing = file.list()?;
        let password = self.password();
        if listing.hidden_duplicates {
            items.push(PlanItem {
                input: archive_path.to_path_buf(),
                output: None,
                action: Action::Skip(SkipReason::Kind(KindCause::new(
                    ExtractError::DuplicateNames,
                ))),
                input_bytes: 0,
            });
        }
        let overlapping: HashSet<usize> = listing.overlapping.iter().copied().collect();
        let out_of_bounds: HashSet<usize> = listing.out_of_bounds.iter().copied().collect();
        // Names of the link entries (as '/'-joined parts).
        let link_names: HashSet<Vec<u8>> = listing
            .entries
            .iter()
            .filter(|e| e.unix_mode.is_some_and(|m| m & S_IFMT == S_IFLNK))
            .filter_map(|e| check_name(&e.name).ok().map(|n| n.parts.join(&b'/')))
            .collect();
        let mut order: Vec<usize> = (0..listing.entries.len()).collect();
        order.sort_by(|&a, &b| listing.entries[a].name.cmp(&listing.entries[b].name));
        let mut decided: Vec<(usize, Decision)> = Vec::with_capacity(order.len());
        let mut reader = file.reader();
        for pos in order {
            if run.stopping() {
                break;
            }
            let entry = &listing.entries[pos];
            let mut decision = self.decide(
                entry,
                pos,
                &overlapping,
                &out_of_bounds,
                &link_names,
                password.is_some(),
            );
            if let Decision::Make(Make::Link(_)) = decision {
                // The target must stay inside the folder the archive goes into.
                decision = match read_link_target(
                    &mut reader,
                    entry.index,
                    password.as_deref(),
                    entry.encrypted,
                ) {
                    Err(e) => Decision::Refuse(e),
                    Ok(t) => {
                        let parts = check_name(&entry.name).map(|n| n.parts).unwrap_or_default();
                        match resolve_link(&parts, &t) {
                            Some(resolved)
                                if !(1..=resolved.len())
                                    .any(|n| link_names.contains(&resolved[..n].join(&b'/'))) =>
                            {
                                Decision::Make(Make::Link(t))
                            }
                            _ => Decision::Refuse(ExtractError::LinkOutside {
                                target: String::from_utf8_lossy(&t).into_owned(),
                            }),
                        }
                    }
                };
            }
            decided.push((pos, decision));
        }
        file.give_back(reader);
        let root = self.placement(archive_path, &listing.entries, &decided);
        // Paths of files planned so far in this archive: a folder cannot go there.
        let mut planned_files: HashMap<PathBuf, Vec<u8>> = HashMap::new();
        for (pos, decision) in decided {
            let entry = &listing.entries[pos];
            let input = Self::label(archive_path, &entry.name);
            let refuse = |items: &mut Vec<PlanItem>, e: ExtractError| {
                items.push(PlanItem {
                    input: input.clone(),
                    output: None,
                    action: Action::Skip(SkipReason::Kind(KindCause::new(e))),
                    input_bytes: entry.compressed_size,
                });
            };
            let make = match decision {
                Decision::Refuse(e) => {
                    refuse(items, e);
                    continue;
                }
                Decision::Make(make) => make,
            };
            if make == Make::Check || (self.spec.test_only && make == Make::Folder) {
                if make == Make::Check {
                    works.push(Work {
                        archive: archive_index,
                        entry: entry.clone(),
                        item: items.len(),
                        make,
                    });
                    items.push(PlanItem {
                        input,
                        output: None,
                        action: Action::Write,
                        input_bytes: entry.compressed_size,
                    });
                }
                continue;
            }
            let parts = match check_name(&entry.name) {
                Ok(n) => n.parts,
                Err(why) => {
                    refuse(items, ExtractError::UnsafeName(why));
                    continue;
                }
            };
            let mut wanted = root.clone();
            for part in &parts {
                wanted.push(OsStr::from_bytes(part));
            }
            // Every folder on the way: not a file of this archive, not a link or file on disk.
            let mut blocked = None;
            let mut at = wanted.clone();
            while at.pop() && at.starts_with(&self.spec.output_dir) && at != self.spec.output_dir {
                if let Some(file) = planned_files.get(&at) {
                    blocked = Some(ExtractError::FileFolderClash {
                        file: String::from_utf8_lossy(file).into_owned(),
                    });
                    break;
                }
                if let Some(e) = on_disk_problem(on_disk, &at) {
                    blocked = Some(e);
                    break;
                }
            }
            if let Some(e) = blocked {
                refuse(items, e);
                continue;
            }
            let (output, action) = match (&make, recorded) {
                (Make::Folder, _) => {
                    if let Some(file) = planned_files.get(&wanted) {
                        refuse(
                            items,
                            ExtractError::FileFolderClash {
                                file: String::from_utf8_lossy(file).into_owned(),
                            },
                        );
                        continue;
                    }
                    if let Some(e) = on_disk_problem(on_disk, &wanted) {
                        refuse(items, e);
                        continue;
                    }
                    (wanted, Action::Write)
                }
                (_, Some(recorded)) => {
                    let (output, action) = recorded.resume(&input, make == Make::File);
                    let Some(output) = output else {
                        items.push(PlanItem {
                            input,
                            output: None,
                            action,
                            input_bytes: entry.compressed_size,
                        });
                        continue;
                    };
                    (output, action)
                }
                _ => resolver.resolve(&wanted, entry.mtime),
            };
            if !action.is_skip() {
                if make != Make::Folder {
                    planned_files.insert(output.clone(), entry.name.clone());
                }
                works.push(Work {
                    archive: archive_index,
                    entry: entry.clone(),
                    item: items.len(),
                    make,
                });
            }
            items.push(PlanItem {
                input,
                output: Some(output),
                action,
                input_bytes: entry.compressed_size,
            });
        }
        Ok(())
    }

    /// Where an archive's entries go: straight into the output folder when all its (well-named)
    /// entries sit in one top-level folder or are one file, else into a folder named after the
    /// archive.
    fn placement(
        &self,
        archive_path: &Path,
        entries: &[ListedEntry],
        decided: &[(usize, Decision)],
    ) -> PathBuf {
        // From the archive's names as a whole (what a listing of it shows), not from what the
        // plan refused: a refusal never moves the other entries.
        let made: Vec<(&[u8], bool)> = decided
            .iter()
            .filter_map(|(pos, _)| {
                let name = check_name(&entries[*pos].name).ok()?;
                let more = name.parts.len() > 1 || name.is_dir;
                Some((name.parts[0], more))
            })
            .collect();
        let one_folder = made
            .first()
            .is_some_and(|(top, _)| made.iter().all(|(t, more)| t == top && *more));
        let one_file = made.len() == 1 && !made[0].1;
        if one_folder || one_file {
            return self.spec.output_dir.clone();
        }
        let name = archive_path
            .file_name()
            .map(|n| n.as_bytes().to_vec())
            .unwrap_or_else(|| b"archive".to_vec());
        let stem = if name.len() > 4 && name[name.len() - 4..].eq_ignore_ascii_case(b".zip") {
            &name[..name.len() - 4]
        } else {
            &name[..]
        };
        self.spec.output_dir.join(OsStr::from_bytes(stem))
    }

    /// Cuts the works into tasks: consecutive works, up to [`TASK_MAX_ENTRIES`] and
    /// [`TASK_MAX_BYTES`] of stated size; a larger entry alone.
    fn units(works: &[Work]) -> Vec<Range<usize>> {
        let mut units = Vec::new();
        let mut start = 0;
        let mut bytes = 0u64;
        for (i, w) in works.iter().enumerate() {
            let size = w.entry.size;
            let full = i - start >= TASK_MAX_ENTRIES
                || bytes + size > TASK_MAX_BYTES
                || (i > start && w.archive != works[i - 1].archive);
            if i > start && full {
                units.push(start..i);
                start = i;
                bytes = 0;
            }
            bytes += size;
        }
        if start < works.len() {
            units.push(start..works.len());
        }
        units
    }

    /// A pool task: extracts (or tests) works `range`, in order.
    fn run_unit(&self, run: &Run, plan: &Plan, range: Range<usize>) {
        let (archives, works) = {
            let st = self.state();
            (Arc::clone(&st.archives), Arc::clone(&st.works))
        };
        let Some(first) = works.get(range.start) else {
            return;
        };
        let archive = &archives[first.archive];
        let mut reader = archive.reader();
        let password = self.password();
        let mut made = Vec::new();
        for at in range.clone() {
            if run.stopping() || (run.is_paused() && !run.wait_while_paused()) {
                break;
            }
            let work = &works[at];
            let item = &plan.items[work.item];
            // Named once per task, and for every entry large enough to be watched.
            if at == range.start || work.entry.size >= CHUNK_BYTES as u64 {
                run.core.set_current(item.input.to_string_lossy());
            }
            let entry = EntryRead {
                index: work.entry.index,
                stated_bytes: work.entry.size,
                crc32: work.entry.crc32,
                encrypted: work.entry.encrypted,
                password: password.as_deref(),
            };
            // Bytes of this entry already counted as done (as it was read).
            let mut counted = 0u64;
            let outcome = match &work.make {
                Make::Check => inflate(run, &mut reader, &entry, &mut counted, |_| Ok(()))
                    .map(|_| item.input.clone()),
                Make::File => self.extract_file(run, &mut reader, work, item, &entry, &mut counted),
                Make::Folder => self.extract_folder(run, item),
                Make::Link(target) => self.extract_link(run, item, target),
            };
            match outcome {
                Ok(output) => {
                    // Placing the output recorded it in the journal.
                    made.push((work.item, output));
                    run.core.item_done(work.entry.size.saturating_sub(counted));
                }
                Err(Failed::Stopped) => break,
                Err(Failed::DiskFull(folder)) => {
                    // Done again after Resume, from its first byte: its bytes are taken back
                    // (the counter wraps, so adding the complement subtracts).
                    run.core.add_bytes_done(0u64.wrapping_sub(counted));
                    let mut st = self.state();
                    st.made.extend(made);
                    st.again.push(at..range.end);
                    drop(st);
                    archive.give_back(reader);
                    run.disk_full(&folder);
                    return;
                }
                Err(Failed::Error(e)) => {
                    run.core.problem(&item.input, ProblemKind::Error, e);
                    run.core.item_done(work.entry.size.saturating_sub(counted));
                }
            }
        }
        archive.give_back(reader);
        self.state().made.extend(made);
    }

    /// One file: inflated under a temporary name beside its output, its time set, put in place
    /// as planned, its permission bits set on the open file.
    fn extract_file(
        &self,
        run: &Run,
        reader: &mut source::Reader,
        work: &Work,
        item: &PlanItem,
        entry: &EntryRead<'_>,
        counted: &mut u64,
    ) -> Result<PathBuf, Failed> {
        let dest = item
            .output
            .as_deref()
            .ok_or_else(|| ItemError::Internal("a planned file has no output".into()))?;
        self.folders
            .ensure(run, crate::engine::model::paths::parent_dir(dest))?;
        let mut temp = run.create_temp(dest).map_err(|e| match e {
            ItemError::Write { path, cause } if cause.is_disk_full() => Failed::DiskFull(path),
            other => Failed::Error(other),
        })?;
        inflate(run, reader, entry, counted, |piece| {
            temp.write_all(piece)
                .map_err(|e| write::write_failed(dest, e))
        })?;
        if run.stopping() {
            return Err(Failed::Stopped);
        }
        let handle = temp
            .file()
            .map(|f| f.try_clone())
            .transpose()
            .map_err(|e| write::write_failed(dest, e))?;
        if let (Some(file), Some(mtime)) = (&handle, work.entry.mtime) {
            let _ = file.set_modified(mtime);
        }
        run.place(temp, dest, &item.action)?;
        if let (Some(file), Some(mode)) = (&handle, work.entry.unix_mode) {
            let _ = set_mode(file, output_mode(mode, self.spec.restore_setuid));
        }
        run.core.add_output(dest.to_path_buf(), work.entry.size);
        Ok(dest.to_path_buf())
    }

    /// A folder entry: made (its time and permissions come at the end).
    fn extract_folder(&self, run: &Run, item: &PlanItem) -> Result<PathBuf, Failed> {
        let dest = item
            .output
            .as_deref()
            .ok_or_else(|| ItemError::Internal("a planned folder has no output".into()))?;
        self.folders.ensure(run, dest)?;
        Ok(dest.to_path_buf())
    }

    /// A link entry the plan allowed (its target stays inside).
    fn extract_link(&self, run: &Run, item: &PlanItem, target: &[u8]) -> Result<PathBuf, Failed> {
        let dest = item
            .output
            .as_deref()
            .ok_or_else(|| ItemError::Internal("a planned link has no output".into()))?;
        self.folders
            .ensure(run, crate::engine::model::paths::parent_dir(dest))?;
        // A resumed job finds the links its interrupted run made (links are not journaled: they
        // are made whole in one call): the same link there is done.
        let made_before = run.resumed().is_some()
            && fs::read_link(dest).is_ok_and(|t| t.as_os_str().as_bytes() == target);
        if !made_before {
            make_link(
                &run.temps,
                target,
                dest,
                matches!(item.action, Action::Overwrite),
            )?;
        }
        run.core.add_output(dest.to_path_buf(), 0);
        Ok(dest.to_path_buf())
    }

    /// The free space where the output folder is (its nearest existing folder).
    fn free_bytes(&self) -> Option<(PathBuf, u64)> {
        let at = self.spec.output_dir.ancestors().find(|a| a.is_dir())?;
        Some((
            at.to_path_buf(),
            crate::engine::runtime::disk::free_bytes(at)?,
        ))
    }
}

/// What is on disk at a folder the plan wants.
#[derive(Clone, Copy)]
enum OnDisk {
    Missing,
    Folder,
    Link,
    File,
}

/// The problem with making (or using) folder `at`, from what is on disk (looked up once).
fn on_disk_problem(cache: &mut HashMap<PathBuf, OnDisk>, at: &Path) -> Option<ExtractError> {
    let state = *cache
        .entry(at.to_path_buf())
        .or_insert_with(|| match fs::symlink_metadata(at) {
            Ok(m) if m.is_dir() => OnDisk::Folder,
            Ok(m) if m.file_type().is_symlink() => OnDisk::Link,
            Ok(_) => OnDisk::File,
            Err(_) => OnDisk::Missing,
        });
    match state {
        OnDisk::Missing | OnDisk::Folder => None,
        OnDisk::Link => Some(ExtractError::LinkInTheWay {
            path: at.to_path_buf(),
        }),
        OnDisk::File => Some(ExtractError::NotAFolder {
            path: at.to_path_buf(),
        }),
    }
}

/// Whether a file found inside a folder input is an archive to extract (`*.zip`).
fn is_zip_name(name: &str) -> bool {
    name.len() > 4 && name[name.len() - 4..].eq_ignore_ascii_case(".zip")
}

impl JobKindImpl for ExtractJob {
    fn inputs(&self) -> &[PathBuf] {
        &self.spec.inputs
    }

    fn prepare(&self, _run: &Run) -> Result<(), JobError> {
        let password = self
            .read_password()
            .map_err(|e| JobError::Kind(KindCause::new(e)))?;
        *crate::engine::runtime::lock(&self.password) = password;
        Ok(())
    }

    fn scan_options(&self, _run: &Run) -> ScanOptions {
        ScanOptions {
            symlinks: SymlinkPolicy::FollowFiles,
            include_dirs: false,
            exclude_files: Vec::new(),
            // Below an input, the output folder holds what was extracted: never an input.
            exclude_dirs: fs::canonicalize(&self.spec.output_dir)
                .map(|p| vec![p])
                .unwrap_or_default(),
            only: self.spec.only.iter().map(|p| normalize_path(p)).collect(),
            shard: self.spec.shard,
            // An archive with a Latin-1 name is still a file to open.
            keep_non_utf8_names: true,
            excludes: Default::default(),
        }
    }

    fn plan(&self, run: &Run, scanned: Scanned) -> Result<Planned, JobError> {
        let mut resolver = Resolver::new(
            &run.claims,
            run.core.id,
            self.spec.on_conflict,
            &scanned.input_files,
        );
        let mut items = Vec::new();
        let mut works = Vec::new();
        let mut archives = Vec::new();
        let mut on_disk = HashMap::new();
        let recorded = run.resumed().and_then(Recorded::new);
        for entry in &scanned.entries {
            if run.stopping() {
                break;
            }
            // A file given by name is tried whatever its name; in folders, `*.zip` only.
            let name = entry.name.to_string_lossy();
            if name.contains('/') && !is_zip_name(&name) {
                continue;
            }
            let planned = ArchiveFile::open(&entry.source).and_then(|file| {
                self.plan_archive(
                    run,
                    &entry.source,
                    archives.len(),
                    &file,
                    &mut resolver,
                    recorded.as_ref(),
                    &mut on_disk,
                    &mut items,
                    &mut works,
                )
                .map(|()| file)
            });
            match planned {
                Ok(file) => archives.push(file),
                Err(e) => items.push(PlanItem {
                    input: entry.source.clone(),
                    output: None,
                    action: Action::Skip(SkipReason::Kind(KindCause::new(e))),
                    input_bytes: entry.size,
                }),
            }
        }
        // Nothing that even looked like an archive (an archive of no entries is fine).
        if items.is_empty() && archives.is_empty() && !run.stopping() {
            return Err(JobError::Kind(KindCause::new(ExtractError::NoArchives)));
        }
        run.claims
            .add_outputs(run.core.id, resolver.taken().cloned());
        if recorded.is_some() {
            run.claims.add_outputs(
                run.core.id,
                items
                    .iter()
                    .filter(|i| !i.action.is_skip())
                    .filter_map(|i| i.output.as_deref())
                    .map(comparable_path),
            );
        }
        // Sequential reading: each archive's entries in the order their data lies.
        works.sort_by_key(|w| (w.archive, w.entry.header_start));
        let bytes_total: u64 = works.iter().map(|w| w.entry.size).sum();
        let items_total = works.len() as u64;
        let (name, destination) = if self.spec.test_only {
            let first = self.spec.inputs.first().cloned().unwrap_or_default();
            (
                crate::engine::runtime::job::KindSpec::display_name(&self.spec),
                first,
            )
        } else {
            (
                folder_display_name(&self.spec.output_dir),
                self.spec.output_dir.clone(),
            )
        };
        {
            let mut st = self.state();
            st.units = Self::units(&works);
            st.works = Arc::new(works);
            st.archives = Arc::new(archives);
            st.next = 0;
        }
        Ok(Planned {
            plan: Plan::new(
                run.core.id,
                KIND,
                name,
                destination,
                None,
                items,
                Vec::new(),
            ),
            items_total,
            bytes_total,
        })
    }

    fn estimate_output_bytes(&self, _run: &Run, _plan: &Plan) -> Option<u64> {
        if self.spec.test_only {
            return Some(0);
        }
        let works = Arc::clone(&self.state().works);
        Some(
            works
                .iter()
                .filter(|w| w.make == Make::File)
                .map(|w| w.entry.size)
                .sum(),
        )
    }

    fn start(self: Arc<Self>, run: &Arc<Run>) -> Result<(), JobError> {
        if self.spec.test_only {
            return Ok(());
        }
        let works = Arc::clone(&self.state().works);
        let needed_bytes: u64 = works
            .iter()
            .filter(|w| w.make == Make::File)
            .map(|w| w.entry.size.saturating_add(FILE_OVERHEAD_BYTES))
            .sum();
        if let Some((folder, free_bytes)) = self.free_bytes()
            && needed_bytes > free_bytes
        {
            return Err(JobError::Kind(KindCause::new(
                ExtractError::NotEnoughSpace {
                    folder,
                    needed_bytes,
                    free_bytes,
                },
            )));
        }
        run.create_dirs(&self.spec.output_dir)
            .map_err(|cause| JobError::CreateOutput {
                path: self.spec.output_dir.clone(),
                cause,
            })?;
        Ok(())
    }

    fn next_task(self: Arc<Self>, run: &Arc<Run>) -> KindPoll {
        let mut st = self.state();
        let range = match st.again.pop() {
            Some(range) => range,
            None if st.next < st.units.len() => {
                st.next += 1;
                st.units[st.next - 1].clone()
            }
            None => return KindPoll::Complete,
        };
        drop(st);
        let run = Arc::clone(run);
        KindPoll::Task(Box::new(move || {
            if let Some(plan) = run.plan() {
                self.run_unit(&run, plan, range);
            }
        }))
    }

    fn finish(&self, run: &Run) -> Result<Finished, JobError> {
        let mut made = std::mem::take(&mut self.state().made);
        made.sort_by_key(|(index, _)| *index);
        // Folder entries this job created: their time and permissions, deepest first (setting
        // them on a parent first would be undone by, or block, the child's).
        let works = Arc::clone(&self.state().works);
        let mut folders: Vec<(&Path, &Work)> = works
            .iter()
            .filter(|w| w.make == Make::Folder)
            .filter_map(|w| {
                let plan = run.plan()?;
                Some((plan.items[w.item].output.as_deref()?, w))
            })
            .filter(|(path, _)| self.folders.created(path))
            .collect();
        folders.sort_by_key(|(path, _)| std::cmp::Reverse(path.components().count()));
        for (path, work) in folders {
            let Ok(dir) = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
                .open(path)
            else {
                continue;
            };
            if let Some(mtime) = work.entry.mtime {
                let _ = dir.set_modified(mtime);
            }
            if let Some(mode) = work.entry.unix_mode {
                // A folder its owner cannot enter or write is not restored as such.
                let _ = set_mode(&dir, output_mode(mode, self.spec.restore_setuid) | 0o700);
            }
        }
        Ok(Finished {
            outputs: made.into_iter().map(|(_, path)| path).collect(),
            ..Finished::default()
        })
    }
}

impl KindSpec for ExtractSpec {
    fn kind(&self) -> JobKind {
        KIND
    }
    fn output_path(&self) -> &Path {
        match (self.test_only, self.inputs.first()) {
            (true, Some(first)) => first,
            _ => &self.output_dir,
        }
    }
    fn display_name(&self) -> String {
        match (self.test_only, self.inputs.as_slice()) {
            (true, [only]) => only
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| folder_display_name(only)),
            (true, _) => format!("{} archives", self.inputs.len()),
            (false, _) => folder_display_name(&self.output_dir),
        }
    }
    fn validate(&self) -> Result<(), SpecError> {
        let refuse = |e: ExtractError| Err(SpecError::Kind(KindCause::new(e)));
        if !self.test_only && self.output_dir.as_os_str().is_empty() {
            return refuse(ExtractError::NoOutputFolder);
        }
        match &self.password {
            Some(Password::NotKept) if self.password_file.is_none() => {
                refuse(ExtractError::PasswordNotKept)
            }
            Some(Password::Given(text)) if text.is_empty() => refuse(ExtractError::EmptyPassword),
            _ => Ok(()),
        }
    }
    crate::engine::runtime::job::spec_selection_and_options!();

    fn password(&self) -> Option<&Option<Password>> {
        Some(&self.password)
    }

    fn password_mut(&mut self) -> Option<&mut Option<Password>> {
        Some(&mut self.password)
    }

    fn password_file(&self) -> Option<&std::path::Path> {
        self.password_file.as_deref()
    }

    /// An extract keeps the file (read as the job starts, and again when it is resumed).
    fn set_password_file(
        &mut self,
        path: &std::path::Path,
    ) -> Result<(), crate::engine::model::error::PasswordFileError> {
        self.password_file = Some(path.to_path_buf());
        Ok(())
    }
}
