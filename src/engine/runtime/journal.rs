//! The job journal: what a job is doing, on disk, so that a crash, a `kill -9` or a power cut
//! does not throw a half-done batch away.
//!
//! Every job (from the window or the CLI, not dry runs) keeps one journal file in the state
//! folder ([`default_state_dir`]: `$SHRINKWRAP_STATE_DIR`, else the platform's state folder,
//! `$XDG_STATE_HOME/shrinkwrap/journal` on Linux). The file is append-only, one record per line:
//! `<CRC-32 of the JSON, 8 hex digits> <JSON>\n`. Records: the job (format version, spec, start
//! time), its plan, and one record per output put in place (plan item, size, mtime). They are
//! written as work completes and synced at most every [`SYNC_INTERVAL`], so a crash loses at
//! most that much (those outputs are made again). A torn last line is ignored; a bad record
//! before the end makes the journal "damaged". The file is removed when the job ends, whatever
//! the outcome. A live job holds an exclusive `flock` on its journal: only journals nobody holds
//! are "unfinished".
//!
//! Owns: the file format, writing, listing unfinished journals, and setting aside the ones that
//! cannot be resumed (damaged, from a newer version, inputs gone) into `set-aside/`.
//! Must not touch: job logic (what a resumed job does with a journal is the lifecycle's and the
//! kinds'), any front end.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::engine::model::kind::SpecInfo;
use crate::engine::model::paths::normalize_path_in;
use crate::engine::model::plan::{Action, Plan};

/// Version of the journal format this build writes and reads.
pub const JOURNAL_VERSION: u32 = 1;
/// Records are synced to disk at most this often.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(250);
/// Room kept for the records written between two syncs.
const DONE_BUFFER_BYTES: usize = 16 << 10;
/// Journal files end with this.
const EXTENSION: &str = "journal";
/// Where journals that cannot be resumed are moved.
const SET_ASIDE_DIR: &str = "set-aside";

/// The folder journals live in: `$SHRINKWRAP_STATE_DIR` when set, else the platform's state
/// folder (`$XDG_STATE_HOME/shrinkwrap`, `~/.local/state/shrinkwrap`), else its local data
/// folder; with `journal` appended. `None` when there is no home to put it in.
pub fn default_state_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SHRINKWRAP_STATE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("journal"));
    }
    let dirs = directories::ProjectDirs::from("", "", "shrinkwrap")?;
    let base = dirs
        .state_dir()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dirs.data_local_dir().to_path_buf());
    Some(base.join("journal"))
}

/// What a planned output was to get, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordedAction {
    Write,
    Overwrite,
    Skip,
}

impl From<&Action> for RecordedAction {
    fn from(a: &Action) -> Self {
        match a {
            Action::Write | Action::Rename { .. } => RecordedAction::Write,
            Action::Overwrite => RecordedAction::Overwrite,
            Action::Skip(_) => RecordedAction::Skip,
        }
    }
}

/// One planned output, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedItem {
    pub input: PathBuf,
    pub output: Option<PathBuf>,
    pub action: RecordedAction,
    /// Why it is skipped, in the user's terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Record {
    Job {
        version: u32,
        /// The kind's spec, as [`SpecInfo::record`] gives it (paths absolute).
        spec: serde_json::Value,
        /// Start of the job, in nanoseconds since the Unix epoch.
        started_ns: u64,
    },
    Plan {
        archive: Option<(PathBuf, RecordedAction)>,
        /// The planned outputs; empty for a zip job (see [`PlanRecordRef`]).
        items: Vec<RecordedItem>,
        /// Outputs the plan counts, when `items` does not list them.
        #[serde(default)]
        outputs: Option<u64>,
    },
    /// Plan item `item` was put in place with this size and modification time.
    Done {
        item: usize,
        bytes: u64,
        mtime_ns: i64,
    },
}

/// Appends one record to `out` as `<CRC-32, 8 hex digits> <JSON>\n`, serialized in place (no
/// copy of the record, no allocation once `out` has room).
fn append_line(out: &mut Vec<u8>, record: &impl Serialize) -> io::Result<()> {
    let start = out.len();
    out.extend_from_slice(b"00000000 ");
    if let Err(e) = serde_json::to_writer(&mut *out, record) {
        out.truncate(start);
        return Err(io::Error::other(e));
    }
    let crc = crc32fast::hash(&out[start + 9..]);
    let mut hex = [0u8; 8];
    for (i, digit) in hex.iter_mut().enumerate() {
        *digit = b"0123456789abcdef"[((crc >> (28 - 4 * i)) & 0xF) as usize];
    }
    out[start..start + 8].copy_from_slice(&hex);
    out.push(b'\n');
    Ok(())
}

/// [`Record::Plan`] as written: borrowed from the plan, items serialized one by one, so recording
/// a plan of 100,000 items copies none of them. A zip job (a plan with an archive) records its
/// archive and how many entries it plans, not the entries: resuming rebuilds the archive from
/// the spec, and listing 100,000 entries made journaling cost a third of a run of tiny files.
#[derive(Serialize)]
struct PlanRecordRef<'a> {
    t: &'static str,
    archive: Option<(PathBuf, RecordedAction)>,
    items: PlanItemsRef<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outputs: Option<u64>,
}

/// The plan's items, with every path made absolute against `cwd` (journals hold absolute
/// paths, so a job resumes the same from any folder).
struct PlanItemsRef<'a>(&'a Plan, &'a Path);

impl Serialize for PlanItemsRef<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.archive.is_some() {
            return serializer.collect_seq(std::iter::empty::<RecordedItem>());
        }
        #[derive(Serialize)]
        struct ItemRef {
            input: PathBuf,
            output: Option<PathBuf>,
            action: RecordedAction,
            reason: Option<String>,
        }
        let cwd = self.1;
        serializer.collect_seq(self.0.items.iter().map(|i| ItemRef {
            input: normalize_path_in(cwd, &i.input),
            output: i.output.as_deref().map(|o| normalize_path_in(cwd, o)),
            action: RecordedAction::from(&i.action),
            reason: match &i.action {
                Action::Skip(r) => Some(r.to_string()),
                _ => None,
            },
        }))
    }
}

fn parse_line(text: &str) -> Option<Record> {
    let (crc, json) = text.split_once(' ')?;
    let crc = u32::from_str_radix(crc, 16).ok()?;
    (crc32fast::hash(json.as_bytes()) == crc)
        .then(|| serde_json::from_str(json).ok())
        .flatten()
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Modification time of a file in nanoseconds since the epoch.
pub(crate) fn mtime_ns(meta: &fs::Metadata) -> i64 {
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}

/// Takes the exclusive lock of a journal without waiting. False when another process (or
/// another job of this one) holds it.
fn try_lock(file: &File) -> bool {
    // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// A job's journal being written. Dropping it without [`JournalWriter::finish`] leaves the file
/// (that is what a crash does).
pub(crate) struct JournalWriter {
    file: File,
    path: PathBuf,
    buffer: Vec<u8>,
    last_sync: Instant,
}

impl JournalWriter {
    /// Starts a new journal in `dir` for `spec`, written and synced before returning. It is
    /// made under a name listing ignores, locked, written, then renamed into place: nobody ever
    /// sees an empty or unlocked journal.
    pub fn create(dir: &Path, spec: &dyn SpecInfo) -> io::Result<JournalWriter> {
        fs::create_dir_all(dir)?;
        let started_ns = now_ns();
        let stem = format!("{started_ns}-{}", std::process::id());
        let path = dir.join(format!("{stem}.{EXTENSION}"));
        let making = dir.join(format!(".{stem}.new"));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .read(true)
            .open(&making)?;
        if !try_lock(&file) {
            let _ = fs::remove_file(&making);
            return Err(io::Error::other("journal is locked"));
        }
        let mut buffer = Vec::new();
        append_line(
            &mut buffer,
            &Record::Job {
                version: JOURNAL_VERSION,
                spec: spec.record(),
                started_ns,
            },
        )?;
        let mut journal = JournalWriter {
            file,
            path,
            buffer,
            last_sync: Instant::now(),
        };
        if let Err(e) = journal
            .sync()
            .and_then(|()| fs::rename(&making, &journal.path))
        {
            let _ = fs::remove_file(&making);
            return Err(e);
        }
        // The new name must survive a power cut too.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(journal)
    }

    /// Takes over an unfinished journal (a resumed job goes on writing the same file).
    pub fn reopen(path: &Path) -> io::Result<JournalWriter> {
        let file = OpenOptions::new().append(true).read(true).open(path)?;
        if !try_lock(&file) {
            return Err(io::Error::other("another process is running this job"));
        }
        Ok(JournalWriter {
            file,
            path: path.to_path_buf(),
            buffer: Vec::new(),
            last_sync: Instant::now(),
        })
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records the plan (synced at once: resuming needs it).
    pub fn plan(&mut self, plan: &Plan) -> io::Result<()> {
        let cwd = std::env::current_dir().unwrap_or_default();
        append_line(
            &mut self.buffer,
            &PlanRecordRef {
                t: "plan",
                archive: plan.archive.as_ref().map(|a| {
                    (
                        normalize_path_in(&cwd, &a.path),
                        RecordedAction::from(&a.action),
                    )
                }),
                items: PlanItemsRef(plan, &cwd),
                outputs: plan.archive.as_ref().map(|_| plan.summary.outputs),
            },
        )?;
        let synced = self.sync();
        // The plan's line may have been megabytes; the records after it are tens of bytes.
        self.buffer = Vec::with_capacity(DONE_BUFFER_BYTES);
        synced
    }

    /// Records that plan item `item` is in place; synced within [`SYNC_INTERVAL`].
    pub fn done(&mut self, item: usize, meta: &fs::Metadata) -> io::Result<()> {
        append_line(
            &mut self.buffer,
            &Record::Done {
                item,
                bytes: meta.len(),
                mtime_ns: mtime_ns(meta),
            },
        )?;
        if self.last_sync.elapsed() >= SYNC_INTERVAL {
            self.sync()?;
        }
        Ok(())
    }

    /// Writes and syncs what is buffered.
    pub fn sync(&mut self) -> io::Result<()> {
        if !self.buffer.is_empty() {
            self.file.write_all(&self.buffer)?;
            self.buffer.clear();
            self.file.sync_data()?;
        }
        self.last_sync = Instant::now();
        Ok(())
    }

    /// The job has ended: the journal goes.
    pub fn finish(self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// An unfinished job found in the state folder, with its spec read as an `S` (the engine's
/// `JobSpec`).
#[derive(Debug, Clone, PartialEq)]
pub struct Unfinished<S> {
    /// The journal file.
    pub journal: PathBuf,
    pub spec: S,
    /// When the job started.
    pub started: SystemTime,
    /// Outputs the plan counts (0 when it crashed before planning).
    pub outputs_total: u64,
    /// Outputs recorded as in place.
    pub outputs_done: u64,
    pub(crate) resume: ResumeState,
}

/// What a resumed job takes from its journal.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ResumeState {
    pub started_ns: u64,
    pub archive: Option<(PathBuf, RecordedAction)>,
    /// The recorded plan, when the job got that far (a zip job's lists no entries).
    pub items: Option<Vec<RecordedItem>>,
    /// Outputs the plan counts, when its items are not listed (zip).
    pub outputs: Option<u64>,
    /// Plan item -> (bytes, mtime in ns) of outputs recorded in place.
    pub done: HashMap<usize, (u64, i64)>,
}

/// A journal that cannot be resumed, moved to `set-aside/`, with why (one line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    pub journal: PathBuf,
    pub reason: String,
}

impl std::fmt::Display for SetAside {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "an unfinished job cannot be resumed ({}); its journal was set aside as {}",
            self.reason,
            self.journal.display()
        )
    }
}

/// Reads one journal. `Err(reason)` when it cannot be resumed.
fn read_journal<S: SpecInfo + serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<Unfinished<S>, String> {
    let file = File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut lines = BufReader::new(file).lines().peekable();
    let mut spec = None;
    let mut state = ResumeState::default();
    while let Some(text) = lines.next() {
        let text = text.map_err(|e| format!("cannot read it: {e}"))?;
        let last = lines.peek().is_none();
        let record = match parse_line(&text) {
            Some(r) => r,
            // A torn last line: the crash cut the final write short.
            None if last && spec.is_some() => break,
            // A first record this build cannot read: newer, or damaged.
            None if spec.is_none() => {
                let version = text
                    .split_once(' ')
                    .and_then(|(_, json)| serde_json::from_str::<serde_json::Value>(json).ok())
                    .and_then(|v| v["version"].as_u64());
                return Err(match version {
                    Some(v) if v > u64::from(JOURNAL_VERSION) => {
                        "it was written by a newer version of Shrinkwrap".to_owned()
                    }
                    _ => "it is damaged".to_owned(),
                });
            }
            None => return Err("it is damaged".to_owned()),
        };
        match record {
            Record::Job {
                version,
                spec: s,
                started_ns,
            } => {
                if version > JOURNAL_VERSION {
                    return Err("it was written by a newer version of Shrinkwrap".to_owned());
                }
                spec = Some(s);
                state.started_ns = started_ns;
            }
            Record::Plan {
                archive,
                items,
                outputs,
            } => {
                state.archive = archive;
                state.outputs = outputs;
                state.items = Some(items);
            }
            Record::Done {
                item,
                bytes,
                mtime_ns,
            } => {
                state.done.insert(item, (bytes, mtime_ns));
            }
        }
    }
    let spec = spec.ok_or_else(|| "it is damaged".to_owned())?;
    let spec: S = serde_json::from_value(spec)
        .map_err(|_| "it is damaged or of a job kind this version does not know".to_owned())?;
    if !spec
        .inputs()
        .iter()
        .any(|p| fs::symlink_metadata(p).is_ok())
    {
        return Err("its inputs are gone".to_owned());
    }
    let outputs_total = state.outputs.unwrap_or_else(|| {
        state.items.as_ref().map_or(0, |items| {
            items
                .iter()
                .filter(|i| i.action != RecordedAction::Skip)
                .count() as u64
        })
    });
    Ok(Unfinished {
        journal: path.to_path_buf(),
        spec,
        started: UNIX_EPOCH + Duration::from_nanos(state.started_ns),
        outputs_total,
        outputs_done: state.done.len() as u64,
        resume: state,
    })
}

/// Lists the unfinished jobs in `dir` (journals no live job holds), oldest first. Journals that
/// cannot be resumed are moved to `dir/set-aside/` and listed with why. Does file I/O: call it
/// off the UI thread.
pub fn list_unfinished<S: SpecInfo + serde::de::DeserializeOwned>(
    dir: &Path,
) -> (Vec<Unfinished<S>>, Vec<SetAside>) {
    let mut found = Vec::new();
    let mut set_aside = Vec::new();
    let Ok(read) = fs::read_dir(dir) else {
        return (found, set_aside);
    };
    let mut paths: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == EXTENSION))
        .collect();
    paths.sort();
    for path in paths {
        // A journal some running job holds is not unfinished.
        let Ok(file) = OpenOptions::new().read(true).open(&path) else {
            continue;
        };
        if !try_lock(&file) {
            continue;
        }
        match read_journal(&path) {
            Ok(job) => found.push(job),
            Err(reason) => {
                let aside_dir = dir.join(SET_ASIDE_DIR);
                let moved = path.file_name().map(|n| aside_dir.join(n)).filter(|to| {
                    fs::create_dir_all(&aside_dir).is_ok() && fs::rename(&path, to).is_ok()
                });
                set_aside.push(SetAside {
                    journal: moved.unwrap_or(path),
                    reason,
                });
            }
        }
        drop(file);
    }
    (found, set_aside)
}

/// Forgets an unfinished job: removes the temporary files its outputs left and its journal.
pub fn discard_unfinished<S>(job: &Unfinished<S>) -> io::Result<()> {
    remove_leftover_temps(&job.resume);
    fs::remove_file(&job.journal)
}

/// Removes the temporary files (`.<name>.XXXXXX.part`) left beside a journal's planned outputs.
pub(crate) fn remove_leftover_temps(state: &ResumeState) {
    let mut names_by_dir: HashMap<PathBuf, Vec<std::ffi::OsString>> = HashMap::new();
    let outputs = state
        .items
        .iter()
        .flatten()
        .filter_map(|i| i.output.as_ref())
        .chain(state.archive.iter().map(|(p, _)| p));
    for out in outputs {
        if let (Some(dir), Some(name)) = (out.parent(), out.file_name()) {
            names_by_dir
                .entry(dir.to_path_buf())
                .or_default()
                .push(name.to_os_string());
        }
    }
    for (dir, names) in names_by_dir {
        let Ok(read) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.filter_map(Result::ok) {
            let name = entry.file_name();
            if let Some(target) = crate::engine::runtime::claims::temp_target(&name)
                && names.contains(&target)
            {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{JobSpec, ThumbSpec, ZipSpec};

    #[test]
    fn a_journal_round_trips_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        fs::create_dir_all(&input).unwrap();
        let spec = JobSpec::Thumbs(ThumbSpec::new(vec![input.clone()], dir.path().join("o")));
        let out = dir.path().join("o.jpg");
        fs::write(&out, b"thumb").unwrap();
        let mut j = JournalWriter::create(&dir.path().join("journal"), &spec).unwrap();
        let path = j.path().to_path_buf();
        j.done(3, &fs::metadata(&out).unwrap()).unwrap();
        j.sync().unwrap();
        // Held by a live job: not listed.
        assert!(
            list_unfinished::<JobSpec>(&dir.path().join("journal"))
                .0
                .is_empty()
        );
        drop(j);
        // A crash cut the last write short.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"0000abcd {\"t\":\"done\",\"ite").unwrap();
        drop(f);
        let (found, aside) = list_unfinished::<JobSpec>(&dir.path().join("journal"));
        assert!(aside.is_empty(), "{aside:?}");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].spec, spec);
        assert_eq!(found[0].outputs_done, 1);
        assert!(found[0].resume.done.contains_key(&3));
    }

    #[test]
    fn a_recorded_plan_reads_back_item_by_item() {
        use crate::engine::model::plan::{PlanItem, PlanSummary, PlannedFile, SkipReason};
        let dir = tempfile::tempdir().unwrap();
        let item = |input: PathBuf, output: Option<PathBuf>, action| PlanItem {
            input,
            output,
            action,
            input_bytes: 7,
        };
        let mut plan = Plan {
            job: crate::engine::JobId(4),
            kind: crate::engine::kinds::thumbs::KIND,
            name: "o".into(),
            destination: dir.path().join("o"),
            archive: None,
            items: vec![
                item(
                    dir.path().join("d/x \"quoted\"\n.jpg"),
                    Some(dir.path().join("o/x.jpg")),
                    Action::Write,
                ),
                item(
                    dir.path().join("d/y.txt"),
                    None,
                    Action::Skip(SkipReason::Exists),
                ),
            ],
            warnings: Vec::new(),
            summary: PlanSummary {
                outputs: 1,
                ..Default::default()
            },
        };
        let spec = JobSpec::Thumbs(ThumbSpec::new(
            vec![dir.path().to_path_buf()],
            dir.path().join("o"),
        ));
        let mut j = JournalWriter::create(&dir.path().join("journal"), &spec).unwrap();
        j.plan(&plan).unwrap();
        drop(j);
        // A zip job records its archive and how many entries, not the entries.
        plan.archive = Some(PlannedFile {
            path: dir.path().join("a.zip"),
            action: Action::Overwrite,
        });
        let zip = JobSpec::Zip(ZipSpec::new(
            vec![dir.path().to_path_buf()],
            dir.path().join("a.zip"),
        ));
        let mut j = JournalWriter::create(&dir.path().join("journal"), &zip).unwrap();
        j.plan(&plan).unwrap();
        drop(j);

        let (found, aside) = list_unfinished::<JobSpec>(&dir.path().join("journal"));
        assert!(aside.is_empty(), "{aside:?}");
        assert_eq!(found.len(), 2);
        let thumbs = found.iter().find(|f| f.spec == spec).unwrap();
        let items = thumbs.resume.items.as_ref().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].input, dir.path().join("d/x \"quoted\"\n.jpg"));
        assert_eq!(items[0].output, Some(dir.path().join("o/x.jpg")));
        assert_eq!(items[0].action, RecordedAction::Write);
        assert_eq!(items[1].action, RecordedAction::Skip);
        assert_eq!(
            items[1].reason.as_deref(),
            Some(SkipReason::Exists.to_string().as_str())
        );
        assert_eq!(thumbs.outputs_total, 1);
        let archive = found.iter().find(|f| f.spec == zip).unwrap();
        assert_eq!(
            archive.resume.archive,
            Some((dir.path().join("a.zip"), RecordedAction::Overwrite))
        );
        assert_eq!(archive.resume.items.as_deref(), Some(&[][..]));
        assert_eq!(archive.outputs_total, 1);
    }

    #[test]
    fn damaged_newer_and_orphaned_journals_are_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let jdir = dir.path().join("journal");
        let input = dir.path().join("in");
        fs::create_dir_all(&input).unwrap();
        let spec = JobSpec::Zip(ZipSpec::new(vec![input.clone()], dir.path().join("a.zip")));
        // Damaged in the middle.
        let j = JournalWriter::create(&jdir, &spec).unwrap();
        let damaged = j.path().to_path_buf();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&damaged).unwrap();
        f.write_all(b"zzzz not a record\n").unwrap();
        let mut record = Vec::new();
        append_line(
            &mut record,
            &Record::Done {
                item: 1,
                bytes: 1,
                mtime_ns: 1,
            },
        )
        .unwrap();
        f.write_all(&record).unwrap();
        drop(f);
        // From a newer version.
        let newer = jdir.join("9-newer.journal");
        let json = serde_json::json!({"t": "job", "version": 99, "spec": spec, "started_ns": 1});
        let text = json.to_string();
        fs::write(
            &newer,
            format!("{:08x} {text}\n", crc32fast::hash(text.as_bytes())),
        )
        .unwrap();
        // Inputs gone.
        let gone_spec = JobSpec::Zip(ZipSpec::new(
            vec![dir.path().join("nothing-here")],
            dir.path().join("b.zip"),
        ));
        drop(JournalWriter::create(&jdir, &gone_spec).unwrap());
        let (found, aside) = list_unfinished::<JobSpec>(&jdir);
        assert!(found.is_empty(), "{found:?}");
        let mut reasons: Vec<&str> = aside.iter().map(|a| a.reason.as_str()).collect();
        reasons.sort();
        assert_eq!(
            reasons,
            [
                "it is damaged",
                "it was written by a newer version of Shrinkwrap",
                "its inputs are gone"
            ]
        );
        for a in &aside {
            assert!(a.journal.starts_with(jdir.join(SET_ASIDE_DIR)), "{a:?}");
            assert!(a.to_string().contains(&a.reason));
        }
        assert!(
            list_unfinished::<JobSpec>(&jdir).1.is_empty(),
            "set aside once"
        );
    }
}
