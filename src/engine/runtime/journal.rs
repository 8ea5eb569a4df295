//! The job journal: what a job is doing, on disk, so that a crash, a `kill -9` or a power cut
//! does not throw a half-done batch away.
//!
//! Every job (from the window or the CLI, not dry runs) keeps one journal file in the state
//! folder ([`default_state_dir`]: `$SHRINKWRAP_STATE_DIR`, else the platform's state folder,
//! `$XDG_STATE_HOME/shrinkwrap/journal` on Linux). The file is append-only, one record per line:
//! `<CRC-32 of the JSON, 8 hex digits> <JSON>\n`. Records: the job (format version, spec with
//! absolute paths, start time, the tag of its temporary names), its plan (paths absolute), and
//! one record per output, written just before the output is renamed into place: its path and
//! identity (device, inode, size, modification time) and, for a thumbnail, its source's size and
//! time. A resumed job knows its own outputs by that identity and replaces nothing else. Paths
//! that are not UTF-8 are kept byte for byte ([`path_json`]).
//!
//! Records reach the file at once (a killed process loses none) and are synced at most every
//! [`SYNC_INTERVAL`] (a power cut loses at most that much: those outputs are then treated as
//! anyone's files, by the job's own rules). A torn last line (a crash in the middle of an append)
//! is ignored when reading and cut off before a resumed job appends, so a job stays resumable
//! after any number of crashes; a bad record followed by good ones makes the journal "damaged".
//! The file is removed when the job ends, whatever the outcome; a journal the job cannot keep
//! writing is removed at once (a stale journal would mislead a later resume).
//!
//! Locks: a live job holds an exclusive `flock` on its journal, so exactly one process runs a
//! journal's job; listing takes a shared lock only while it reads. Only journals nobody holds
//! are "unfinished". Listing never moves or changes anything: a journal that cannot be resumed
//! is set aside (into `set-aside/`) only by resuming or discarding, with its true reason.
//!
//! Owns: the file format, writing, taking a journal over, listing, setting aside, discarding.
//! Must not touch: job logic (what a resumed job does with a journal is the lifecycle's and the
//! kinds'), any front end.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::engine::model::kind::SpecInfo;
use crate::engine::model::paths::normalize_path_in;
use crate::engine::model::paths::path_json::{self, PathJson};
use crate::engine::model::plan::{Action, Plan, SkipReason};
use crate::engine::runtime::temp::{is_temp_of, temp_name_parts};

/// Version of the journal format this build writes. 2: outputs are recorded by path and
/// identity (`placed`), the job record carries the temporary names' tag. Version 1 journals are
/// still read.
pub const JOURNAL_VERSION: u32 = 2;
/// Records are synced to disk at most this often.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(250);
/// Room kept for the records written between two syncs.
const RECORD_BUFFER_BYTES: usize = 4 << 10;
/// Journal files end with this.
const EXTENSION: &str = "journal";
/// Where journals that cannot be resumed are moved.
const SET_ASIDE_DIR: &str = "set-aside";
/// Taking a journal over waits this long at most for a listing (which holds a shared lock for
/// the few milliseconds it reads) to let go; a job holds its lock for its whole run.
const LOCK_PATIENCE: Duration = Duration::from_millis(500);

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
            // Made before an interruption: still an output of the job (a later resume checks it
            // again, its source included).
            Action::Write | Action::Rename { .. } | Action::Skip(SkipReason::AlreadyDone) => {
                RecordedAction::Write
            }
            Action::Overwrite => RecordedAction::Overwrite,
            Action::Skip(_) => RecordedAction::Skip,
        }
    }
}

/// One planned output, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedItem {
    #[serde(with = "path_json")]
    pub input: PathBuf,
    #[serde(default, with = "path_json::option")]
    pub output: Option<PathBuf>,
    pub action: RecordedAction,
    /// Why it is skipped, in the user's terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An input as it was when an output was made from it: when it differs now, the output is
/// made again on resume (as the `update` rule and a plain re-run would).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceId {
    pub bytes: u64,
    pub mtime_ns: i64,
}

impl SourceId {
    /// The identity of a source of `bytes` last modified at `mtime`.
    pub fn new(bytes: u64, mtime: Option<SystemTime>) -> SourceId {
        let mtime_ns = match mtime.map(|t| t.duration_since(UNIX_EPOCH)) {
            Some(Ok(d)) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Some(Err(e)) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
            None => 0,
        };
        SourceId { bytes, mtime_ns }
    }
}

/// An output a job put in place, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placed {
    /// (device, inode); `None` in a version 1 journal (size and time only).
    pub dev_ino: Option<(u64, u64)>,
    pub bytes: u64,
    pub mtime_ns: i64,
    /// Its source as it was then (thumbnails).
    pub source: Option<SourceId>,
}

/// A path in a record: see [`path_json`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RecordPath(#[serde(with = "path_json")] PathBuf);

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Record {
    Job {
        version: u32,
        /// The kind's spec, as [`SpecInfo::record`] gives it (paths absolute).
        spec: serde_json::Value,
        /// Start of the job, in nanoseconds since the Unix epoch.
        started_ns: u64,
        /// The tag in the job's temporary names (none before version 2).
        #[serde(default)]
        tag: String,
    },
    Plan {
        archive: Option<(RecordPath, RecordedAction)>,
        /// The planned outputs; empty for a zip job (see [`PlanRecordRef`]).
        items: Vec<RecordedItem>,
        /// Outputs the plan counts, when `items` does not list them.
        #[serde(default)]
        outputs: Option<u64>,
    },
    /// Version 1: plan item `item` was put in place with this size and modification time.
    Done {
        item: usize,
        bytes: u64,
        mtime_ns: i64,
    },
    /// This output is being put in place (written just before the rename): its identity.
    Placed {
        path: RecordPath,
        dev: u64,
        ino: u64,
        bytes: u64,
        mtime_ns: i64,
        #[serde(default)]
        source: Option<SourceId>,
    },
}

/// [`Record::Job`] as written.
#[derive(Serialize)]
struct JobRecordRef<'a> {
    t: &'static str,
    version: u32,
    spec: &'a serde_json::Value,
    started_ns: u64,
    tag: &'a str,
}

/// [`Record::Placed`] as written.
#[derive(Serialize)]
struct PlacedRecordRef<'a> {
    t: &'static str,
    path: PathJson<'a>,
    dev: u64,
    ino: u64,
    bytes: u64,
    mtime_ns: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<SourceId>,
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
    archive: Option<(PathJson<'a>, RecordedAction)>,
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
        struct ItemOut {
            #[serde(with = "path_json")]
            input: PathBuf,
            #[serde(with = "path_json::option")]
            output: Option<PathBuf>,
            action: RecordedAction,
            reason: Option<String>,
        }
        let cwd = self.1;
        serializer.collect_seq(self.0.items.iter().map(|i| {
            let action = RecordedAction::from(&i.action);
            ItemOut {
                input: normalize_path_in(cwd, &i.input),
                output: i.output.as_deref().map(|o| normalize_path_in(cwd, o)),
                reason: match &i.action {
                    Action::Skip(r) if action == RecordedAction::Skip => Some(r.to_string()),
                    _ => None,
                },
                action,
            }
        }))
    }
}

fn parse_line(line: &[u8]) -> Option<Record> {
    let text = std::str::from_utf8(line).ok()?;
    let (crc, json) = text.split_once(' ')?;
    if crc.len() != 8 {
        return None;
    }
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

fn flock(file: &File, how: libc::c_int) -> bool {
    // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
    unsafe { libc::flock(file.as_raw_fd(), how | libc::LOCK_NB) == 0 }
}

/// Takes the exclusive lock of a journal, waiting up to [`LOCK_PATIENCE`] for listings to let
/// go. False when a job (of this process or another) holds it.
fn lock_exclusive(file: &File) -> bool {
    let deadline = Instant::now() + LOCK_PATIENCE;
    loop {
        if flock(file, libc::LOCK_EX) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Why a journal could not be taken over (to resume or discard its job).
pub use crate::engine::model::error::ResumeError as ClaimError;

/// Opens a journal for writing and takes its exclusive lock; checks that the path still names
/// the file locked (a journal removed and made again meanwhile is not taken).
fn claim(path: &Path) -> Result<File, ClaimError> {
    let file = match OpenOptions::new().read(true).append(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ClaimError::Gone),
        Err(e) => return Err(e.into()),
    };
    if !lock_exclusive(&file) {
        return Err(ClaimError::InUse);
    }
    still_there(path, &file)?;
    Ok(file)
}

/// Whether `path` still names `file` (not removed, nor replaced).
fn still_there(path: &Path, file: &File) -> Result<(), ClaimError> {
    let held = file.metadata()?;
    match fs::metadata(path) {
        Ok(m) if m.dev() == held.dev() && m.ino() == held.ino() => Ok(()),
        _ => Err(ClaimError::Gone),
    }
}

/// A journal's exclusive lock, held from [`Unfinished::claim`] until the job that resumes it
/// ends. Compared equal whatever it holds (it is not part of what a listing says).
#[derive(Clone, Default)]
pub struct HeldLock(pub(crate) Option<Arc<File>>);

impl PartialEq for HeldLock {
    fn eq(&self, _: &HeldLock) -> bool {
        true
    }
}

impl std::fmt::Debug for HeldLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "held" } else { "not held" })
    }
}

/// A job's journal being written. Dropping it without [`JournalWriter::finish`] leaves the file
/// (that is what a crash does).
pub(crate) struct JournalWriter {
    file: Arc<File>,
    path: PathBuf,
    buffer: Vec<u8>,
    last_sync: Instant,
}

impl JournalWriter {
    /// Starts a new journal in `dir` for `spec`, its temporary names tagged `tag`, written and
    /// synced before returning. It is made under a name listing ignores, locked, written, then
    /// renamed into place: nobody ever sees an empty or unlocked journal, and nothing is left
    /// behind when any step fails.
    pub fn create(dir: &Path, spec: &dyn SpecInfo, tag: &str) -> io::Result<JournalWriter> {
        static MADE: AtomicU64 = AtomicU64::new(0);
        let started_ns = now_ns();
        // The record first: a journal that cannot be written is never begun.
        let mut buffer = Vec::new();
        append_line(
            &mut buffer,
            &JobRecordRef {
                t: "job",
                version: JOURNAL_VERSION,
                spec: &spec.record(),
                started_ns,
                tag,
            },
        )?;
        fs::create_dir_all(dir)?;
        let stem = format!(
            "{started_ns}-{}-{}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir.join(format!("{stem}.{EXTENSION}"));
        let making = dir.join(format!(".{stem}.new"));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .read(true)
            .open(&making)?;
        let written = if flock(&file, libc::LOCK_EX) {
            (&file)
                .write_all(&buffer)
                .and_then(|()| file.sync_data())
                .and_then(|()| fs::rename(&making, &path))
        } else {
            Err(io::Error::other("journal is locked"))
        };
        if let Err(e) = written {
            let _ = fs::remove_file(&making);
            return Err(e);
        }
        // The new name must survive a power cut too.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        buffer.clear();
        Ok(JournalWriter {
            file: Arc::new(file),
            path,
            buffer,
            last_sync: Instant::now(),
        })
    }

    /// Takes over an unfinished journal to resume its job: its exclusive lock (`held` when the
    /// front end claimed it already), what it recorded (read again now that nobody else can
    /// write it), and its torn tail cut off so that what follows is appended after whole
    /// records.
    pub fn take_over(
        path: &Path,
        held: Option<Arc<File>>,
    ) -> Result<(JournalWriter, ResumeState), ClaimError> {
        let file = match held {
            Some(file) => {
                still_there(path, &file)?;
                file
            }
            None => Arc::new(claim(path)?),
        };
        let mut bytes = Vec::new();
        (&*file).seek(io::SeekFrom::Start(0))?;
        (&*file).read_to_end(&mut bytes)?;
        let (_, state) = parse_journal(&bytes).map_err(ClaimError::CannotResume)?;
        if state.valid_len < bytes.len() as u64 {
            file.set_len(state.valid_len)?;
            file.sync_data()?;
        }
        Ok((
            JournalWriter {
                file,
                path: path.to_path_buf(),
                buffer: Vec::with_capacity(RECORD_BUFFER_BYTES),
                last_sync: Instant::now(),
            },
            state,
        ))
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records the plan (synced at once: resuming needs it).
    pub fn plan(&mut self, plan: &Plan) -> io::Result<()> {
        let cwd = std::env::current_dir().unwrap_or_default();
        let archive = plan.archive.as_ref().map(|a| {
            (
                normalize_path_in(&cwd, &a.path),
                RecordedAction::from(&a.action),
            )
        });
        append_line(
            &mut self.buffer,
            &PlanRecordRef {
                t: "plan",
                archive: archive.as_ref().map(|(p, a)| (PathJson(p), a.clone())),
                items: PlanItemsRef(plan, &cwd),
                outputs: plan.archive.as_ref().map(|_| plan.summary.outputs),
            },
        )?;
        let written = self.write_buffer().and_then(|()| self.sync());
        // The plan's line may have been megabytes; the records after it are tens of bytes.
        self.buffer = Vec::with_capacity(RECORD_BUFFER_BYTES);
        written
    }

    /// Records that the output at `path` (absolute), whose file has `meta`, is being put in
    /// place: written at once (a killed process loses nothing), synced within
    /// [`SYNC_INTERVAL`]. Called just before the rename.
    pub fn placed(
        &mut self,
        path: &Path,
        meta: &fs::Metadata,
        source: Option<SourceId>,
    ) -> io::Result<()> {
        append_line(
            &mut self.buffer,
            &PlacedRecordRef {
                t: "placed",
                path: PathJson(path),
                dev: meta.dev(),
                ino: meta.ino(),
                bytes: meta.len(),
                mtime_ns: mtime_ns(meta),
                source,
            },
        )?;
        self.write_buffer()?;
        if self.last_sync.elapsed() >= SYNC_INTERVAL {
            self.sync()?;
        }
        Ok(())
    }

    fn write_buffer(&mut self) -> io::Result<()> {
        let written = (&*self.file).write_all(&self.buffer);
        self.buffer.clear();
        written
    }

    /// Syncs what was written.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()?;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// The job has ended (or its journal cannot be kept): the journal goes.
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
    /// The journal's lock, once [`Unfinished::claim`]ed.
    pub(crate) lock: HeldLock,
}

impl<S> Unfinished<S> {
    /// Takes the journal's exclusive lock now, so that no other process resumes (or discards)
    /// this job; the job that resumes it keeps the lock. Does file I/O: not on a UI thread (the
    /// engine takes the lock itself, on a worker, for a job not claimed).
    pub fn claim(&mut self) -> Result<(), ClaimError> {
        if self.lock.0.is_none() {
            self.lock = HeldLock(Some(Arc::new(claim(&self.journal)?)));
        }
        Ok(())
    }

    /// The tag of the job's temporary names.
    pub(crate) fn tag(&self) -> &str {
        &self.resume.tag
    }
}

/// What a resumed job takes from its journal.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ResumeState {
    pub started_ns: u64,
    /// The tag of the job's temporary names (empty in a version 1 journal).
    pub tag: String,
    pub archive: Option<(PathBuf, RecordedAction)>,
    /// The recorded plan, when the job got that far (a zip job's lists no entries).
    pub items: Option<Vec<RecordedItem>>,
    /// Outputs the plan counts, when its items are not listed (zip).
    pub outputs: Option<u64>,
    /// What the job put in place, by absolute path.
    pub placed: HashMap<PathBuf, Placed>,
    /// Bytes of whole records at the start of the file (the rest is a torn tail).
    pub valid_len: u64,
}

impl ResumeState {
    /// What the job recorded of the file at `path` (absolute; `meta` not followed through a
    /// link) when that file is the very one it put there: same device, inode, size and time.
    /// `None`: no such record, or someone else's file is there now.
    pub fn own(&self, path: &Path, meta: &fs::Metadata) -> Option<&Placed> {
        let placed = self.placed.get(path)?;
        let same = meta.is_file()
            && placed
                .dev_ino
                .is_none_or(|id| id == (meta.dev(), meta.ino()))
            && placed.bytes == meta.len()
            && placed.mtime_ns == mtime_ns(meta);
        same.then_some(placed)
    }
}

/// A journal that cannot be resumed, with why (one line). Listing reports it where it is;
/// resuming or discarding moves it to `set-aside/` ([`set_aside`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    pub journal: PathBuf,
    pub reason: String,
    /// Moved to `set-aside/` (else still among the journals).
    pub moved: bool,
}

impl std::fmt::Display for SetAside {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.moved {
            write!(
                f,
                "an unfinished job cannot be resumed ({}); its journal was set aside as {}",
                self.reason,
                self.journal.display()
            )
        } else {
            write!(
                f,
                "an unfinished job cannot be resumed ({}); its journal is {}",
                self.reason,
                self.journal.display()
            )
        }
    }
}

/// A journal a live job holds (in this process or another): its job is running, or being
/// resumed, and is left to it.
#[derive(Debug, Clone, PartialEq)]
pub struct InUse<S> {
    pub journal: PathBuf,
    /// The job, when its journal could be read.
    pub spec: Option<S>,
}

/// Everything in the journal folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<S> {
    /// Journals nobody holds whose job can be resumed, oldest first.
    pub unfinished: Vec<Unfinished<S>>,
    /// Journals that cannot be resumed, with why (not moved).
    pub cannot_resume: Vec<SetAside>,
    /// Journals a live job holds.
    pub in_use: Vec<InUse<S>>,
}

/// Reads a journal's bytes: its spec record and what it says. `Err(reason)` when it cannot be
/// resumed.
fn parse_journal(bytes: &[u8]) -> Result<(serde_json::Value, ResumeState), String> {
    let mut spec = None;
    let mut state = ResumeState::default();
    let mut done_v1: Vec<(usize, u64, i64)> = Vec::new();
    // Where the first bad line begins (when it is followed only by more bad lines, it and they
    // are a torn tail of a crash, cut off; a good record after it means damage).
    let mut first_bad: Option<u64> = None;
    let mut at = 0usize;
    while let Some(len) = bytes[at..].iter().position(|&b| b == b'\n') {
        let line = &bytes[at..at + len];
        let start = at as u64;
        at += len + 1;
        let Some(record) = parse_line(line) else {
            if spec.is_none() {
                // A first record this build cannot read: newer, or damaged.
                let version = std::str::from_utf8(line)
                    .ok()
                    .and_then(|t| t.split_once(' '))
                    .and_then(|(_, json)| serde_json::from_str::<serde_json::Value>(json).ok())
                    .and_then(|v| v["version"].as_u64());
                return Err(match version {
                    Some(v) if v > u64::from(JOURNAL_VERSION) => {
                        "it was written by a newer version of Shrinkwrap".to_owned()
                    }
                    _ => "it is damaged".to_owned(),
                });
            }
            first_bad.get_or_insert(start);
            continue;
        };
        if first_bad.is_some() {
            return Err("it is damaged".to_owned());
        }
        match record {
            Record::Job {
                version,
                spec: s,
                started_ns,
                tag,
            } => {
                if version > JOURNAL_VERSION {
                    return Err("it was written by a newer version of Shrinkwrap".to_owned());
                }
                if spec.is_some() {
                    return Err("it is damaged".to_owned());
                }
                spec = Some(s);
                state.started_ns = started_ns;
                state.tag = tag;
            }
            _ if spec.is_none() => return Err("it is damaged".to_owned()),
            Record::Plan {
                archive,
                items,
                outputs,
            } => {
                state.archive = archive.map(|(p, a)| (p.0, a));
                state.outputs = outputs;
                state.items = Some(items);
            }
            Record::Done {
                item,
                bytes,
                mtime_ns,
            } => done_v1.push((item, bytes, mtime_ns)),
            Record::Placed {
                path,
                dev,
                ino,
                bytes,
                mtime_ns,
                source,
            } => {
                state.placed.insert(
                    path.0,
                    Placed {
                        dev_ino: Some((dev, ino)),
                        bytes,
                        mtime_ns,
                        source,
                    },
                );
            }
        }
        state.valid_len = at as u64;
    }
    let spec = spec.ok_or_else(|| "it is damaged".to_owned())?;
    // Version 1 recorded outputs by plan item, without their inode.
    if let Some(items) = &state.items {
        for (item, bytes, mtime_ns) in done_v1 {
            if let Some(output) = items.get(item).and_then(|i| i.output.clone()) {
                state.placed.insert(
                    output,
                    Placed {
                        dev_ino: None,
                        bytes,
                        mtime_ns,
                        source: None,
                    },
                );
            }
        }
    }
    Ok((spec, state))
}

/// Reads one journal's bytes as an unfinished job. `Err(reason)` when it cannot be resumed.
fn read_unfinished<S: SpecInfo + serde::de::DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
) -> Result<Unfinished<S>, String> {
    let (spec, state) = parse_journal(bytes)?;
    let spec: S = serde_json::from_value(spec)
        .map_err(|_| "it is damaged or of a job kind this version does not know".to_owned())?;
    if spec.inputs().iter().any(|p| p.is_relative()) {
        // Journals before paths were recorded absolute.
        return Err(
            "its paths are relative to a folder it does not name (an older version wrote it)"
                .to_owned(),
        );
    }
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
    let outputs_done = state.items.as_ref().map_or(0, |items| {
        items
            .iter()
            .filter(|i| {
                i.action != RecordedAction::Skip
                    && i.output
                        .as_ref()
                        .is_some_and(|o| state.placed.contains_key(o))
            })
            .count() as u64
    });
    Ok(Unfinished {
        journal: path.to_path_buf(),
        spec,
        started: UNIX_EPOCH + Duration::from_nanos(state.started_ns),
        outputs_total,
        outputs_done,
        resume: state,
        lock: HeldLock::default(),
    })
}

/// Lists the journal folder `dir`: the unfinished jobs (journals nobody holds), oldest first;
/// the journals that cannot be resumed, with why; and the journals live jobs hold. Moves and
/// changes nothing. Does file I/O: call it off the UI thread.
pub fn list_journals<S: SpecInfo + serde::de::DeserializeOwned>(dir: &Path) -> Listing<S> {
    let mut listing = Listing {
        unfinished: Vec::new(),
        cannot_resume: Vec::new(),
        in_use: Vec::new(),
    };
    let Ok(read) = fs::read_dir(dir) else {
        return listing;
    };
    let mut paths: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == EXTENSION))
        .collect();
    paths.sort();
    for path in paths {
        let file = match File::open(&path) {
            Ok(f) => f,
            // Gone meanwhile: its job ended.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                listing.cannot_resume.push(SetAside {
                    journal: path,
                    reason: format!(
                        "cannot read it: {}",
                        crate::engine::model::error::IoCause::of(e)
                    ),
                    moved: false,
                });
                continue;
            }
        };
        let locked = flock(&file, libc::LOCK_SH);
        let mut bytes = Vec::new();
        if let Err(e) = (&file).read_to_end(&mut bytes) {
            if locked {
                listing.cannot_resume.push(SetAside {
                    journal: path,
                    reason: format!(
                        "cannot read it: {}",
                        crate::engine::model::error::IoCause::of(e)
                    ),
                    moved: false,
                });
            }
            continue;
        }
        drop(file);
        if !locked {
            let spec = parse_journal(&bytes)
                .ok()
                .and_then(|(spec, _)| serde_json::from_value(spec).ok());
            listing.in_use.push(InUse {
                journal: path,
                spec,
            });
            continue;
        }
        match read_unfinished(&path, &bytes) {
            Ok(job) => listing.unfinished.push(job),
            Err(reason) => listing.cannot_resume.push(SetAside {
                journal: path,
                reason,
                moved: false,
            }),
        }
    }
    listing
}

/// [`list_journals`] without the journals in use: the unfinished jobs and the journals that
/// cannot be resumed (not moved).
pub fn list_unfinished<S: SpecInfo + serde::de::DeserializeOwned>(
    dir: &Path,
) -> (Vec<Unfinished<S>>, Vec<SetAside>) {
    let listing = list_journals(dir);
    (listing.unfinished, listing.cannot_resume)
}

/// Moves a journal that cannot be resumed into `set-aside/` beside it (unless a live job holds
/// it meanwhile), and says where it went.
pub fn set_aside(entry: &SetAside) -> io::Result<SetAside> {
    if entry.moved {
        return Ok(entry.clone());
    }
    let file = claim(&entry.journal).map_err(|e| io::Error::other(e.to_string()))?;
    let dir = entry.journal.parent().unwrap_or(Path::new("."));
    let aside = dir.join(SET_ASIDE_DIR);
    let name = entry
        .journal
        .file_name()
        .ok_or_else(|| io::Error::other("not a journal"))?;
    fs::create_dir_all(&aside)?;
    let to = aside.join(name);
    fs::rename(&entry.journal, &to)?;
    drop(file);
    Ok(SetAside {
        journal: to,
        reason: entry.reason.clone(),
        moved: true,
    })
}

/// Forgets an unfinished job: takes its journal's lock (refused while another process runs the
/// job), removes the temporary files the job left and then its journal.
pub fn discard_unfinished<S>(job: &Unfinished<S>) -> io::Result<()> {
    let (writer, state) =
        JournalWriter::take_over(&job.journal, job.lock.0.clone()).map_err(|e| match e {
            ClaimError::Gone => io::Error::from(io::ErrorKind::NotFound),
            other => io::Error::other(other.to_string()),
        })?;
    remove_leftover_temps(&state);
    fs::remove_file(&writer.path)
}

/// Removes the temporary files the job left beside its planned outputs: those whose names carry
/// its tag (a version 1 journal, without a tag: those named after a planned output).
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
            let ours = if state.tag.is_empty() {
                use std::os::unix::ffi::OsStrExt;
                temp_name_parts(&name)
                    .is_some_and(|(target, _)| names.iter().any(|n| n.as_bytes() == target))
            } else {
                is_temp_of(&name, &state.tag)
            };
            if ours {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::plan::{PlanItem, PlanSummary, PlannedFile};
    use crate::engine::{JobSpec, ThumbSpec, ZipSpec};

    fn thumbs_plan(dir: &Path, n: usize) -> Plan {
        let items = (0..n)
            .map(|i| PlanItem {
                input: dir.join(format!("in/p{i}.jpg")),
                output: Some(dir.join(format!("o/p{i}.jpg"))),
                action: Action::Write,
                input_bytes: 7,
            })
            .collect();
        Plan::new(
            crate::engine::model::events::JobId(4),
            crate::engine::kinds::thumbs::KIND,
            "o".into(),
            dir.join("o"),
            None,
            items,
            Vec::new(),
        )
    }

    fn output(dir: &Path, i: usize) -> PathBuf {
        let out = dir.join(format!("o/p{i}.jpg"));
        fs::create_dir_all(out.parent().unwrap()).unwrap();
        fs::write(&out, format!("thumbnail {i}")).unwrap();
        out
    }

    #[test]
    fn a_journal_round_trips_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        fs::create_dir_all(&input).unwrap();
        let spec = JobSpec::Thumbs(ThumbSpec::new(vec![input.clone()], dir.path().join("o")));
        let jdir = dir.path().join("journal");
        let mut j = JournalWriter::create(&jdir, &spec, "abc123").unwrap();
        let path = j.path().to_path_buf();
        j.plan(&thumbs_plan(dir.path(), 4)).unwrap();
        let out = output(dir.path(), 3);
        let source = SourceId::new(7, Some(UNIX_EPOCH + Duration::from_secs(5)));
        j.placed(&out, &fs::metadata(&out).unwrap(), Some(source))
            .unwrap();
        // Held by a live job: in use, not unfinished.
        let listing = list_journals::<JobSpec>(&jdir);
        assert!(listing.unfinished.is_empty());
        assert_eq!(listing.in_use.len(), 1);
        assert_eq!(listing.in_use[0].spec.as_ref(), Some(&spec));
        drop(j);
        // A crash cut the last write short.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"0000abcd {\"t\":\"placed\",\"pa").unwrap();
        drop(f);
        let (found, aside) = list_unfinished::<JobSpec>(&jdir);
        assert!(aside.is_empty(), "{aside:?}");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].spec, spec);
        assert_eq!((found[0].outputs_done, found[0].outputs_total), (1, 4));
        assert_eq!(found[0].tag(), "abc123");
        let placed = found[0]
            .resume
            .own(&out, &fs::symlink_metadata(&out).unwrap())
            .unwrap();
        assert_eq!(placed.source, Some(source));
        // Someone else's file at the same path is not the job's.
        fs::remove_file(&out).unwrap();
        fs::write(&out, "thumbnail 3").unwrap();
        assert!(
            found[0]
                .resume
                .own(&out, &fs::symlink_metadata(&out).unwrap())
                .is_none()
        );
    }

    #[test]
    fn a_recorded_plan_reads_back_item_by_item() {
        let dir = tempfile::tempdir().unwrap();
        let item = |input: PathBuf, output: Option<PathBuf>, action| PlanItem {
            input,
            output,
            action,
            input_bytes: 7,
        };
        let latin1 = {
            use std::os::unix::ffi::OsStringExt;
            dir.path()
                .join(std::ffi::OsString::from_vec(b"d/caf\xe9.jpg".to_vec()))
        };
        let mut plan = Plan {
            job: crate::engine::model::events::JobId(4),
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
                item(
                    latin1.clone(),
                    Some(dir.path().join("o").join(latin1.file_name().unwrap())),
                    Action::Skip(SkipReason::AlreadyDone),
                ),
            ],
            warnings: Vec::new(),
            summary: PlanSummary {
                outputs: 1,
                ..Default::default()
            },
        };
        let spec = JobSpec::Thumbs(ThumbSpec::new(
            vec![dir.path().to_path_buf(), latin1.clone()],
            dir.path().join("o"),
        ));
        let mut j = JournalWriter::create(&dir.path().join("journal"), &spec, "t").unwrap();
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
        let mut j = JournalWriter::create(&dir.path().join("journal"), &zip, "t").unwrap();
        j.plan(&plan).unwrap();
        drop(j);

        let (found, aside) = list_unfinished::<JobSpec>(&dir.path().join("journal"));
        assert!(aside.is_empty(), "{aside:?}");
        assert_eq!(found.len(), 2);
        let thumbs = found.iter().find(|f| f.spec == spec).unwrap();
        let items = thumbs.resume.items.as_ref().unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].input, dir.path().join("d/x \"quoted\"\n.jpg"));
        assert_eq!(items[0].output, Some(dir.path().join("o/x.jpg")));
        assert_eq!(items[0].action, RecordedAction::Write);
        assert_eq!(items[1].action, RecordedAction::Skip);
        assert_eq!(
            items[1].reason.as_deref(),
            Some(SkipReason::Exists.to_string().as_str())
        );
        // A name that is not UTF-8 comes back byte for byte; made before an interruption is
        // still an output of the job.
        assert_eq!(items[2].input, latin1);
        assert_eq!(items[2].action, RecordedAction::Write);
        assert_eq!(thumbs.outputs_total, 2);
        let archive = found.iter().find(|f| f.spec == zip).unwrap();
        assert_eq!(
            archive.resume.archive,
            Some((dir.path().join("a.zip"), RecordedAction::Overwrite))
        );
        assert_eq!(archive.resume.items.as_deref(), Some(&[][..]));
        assert_eq!(archive.outputs_total, 1);
    }

    #[test]
    fn a_job_stays_resumable_after_a_crash_at_every_byte_of_its_last_record_and_again() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("in")).unwrap();
        let spec = JobSpec::Thumbs(ThumbSpec::new(
            vec![dir.path().join("in")],
            dir.path().join("o"),
        ));
        let jdir = dir.path().join("journal");
        let mut j = JournalWriter::create(&jdir, &spec, "abc123").unwrap();
        j.plan(&thumbs_plan(dir.path(), 4)).unwrap();
        let outs: Vec<PathBuf> = (0..4).map(|i| output(dir.path(), i)).collect();
        let meta = |p: &Path| fs::metadata(p).unwrap();
        j.placed(&outs[0], &meta(&outs[0]), None).unwrap();
        let before_last = fs::metadata(j.path()).unwrap().len() as usize;
        j.placed(&outs[1], &meta(&outs[1]), None).unwrap();
        let whole = fs::read(j.path()).unwrap();
        let path = j.path().to_path_buf();
        drop(j);
        let mut offsets = 0;
        for cut in before_last..=whole.len() {
            offsets += 1;
            fs::write(&path, &whole[..cut]).unwrap();
            let listing = list_journals::<JobSpec>(&jdir);
            assert!(
                listing.cannot_resume.is_empty(),
                "cut at {cut}: {listing:?}"
            );
            assert_eq!(listing.unfinished.len(), 1, "cut at {cut}");
            let last_kept = cut == whole.len();
            assert_eq!(
                listing.unfinished[0].outputs_done,
                1 + u64::from(last_kept),
                "cut at {cut}"
            );
            // The resumed job takes the journal over: the torn tail goes before it appends.
            let (mut j, state) = JournalWriter::take_over(&path, None).unwrap();
            assert_eq!(
                state.valid_len as usize,
                if last_kept { cut } else { before_last }
            );
            assert_eq!(fs::metadata(&path).unwrap().len(), state.valid_len);
            j.placed(&outs[2], &meta(&outs[2]), None).unwrap();
            drop(j);
            // A second crash, in the middle of its next append.
            let mut torn = Vec::new();
            append_line(
                &mut torn,
                &PlacedRecordRef {
                    t: "placed",
                    path: PathJson(&outs[3]),
                    dev: 1,
                    ino: 2,
                    bytes: 3,
                    mtime_ns: 4,
                    source: None,
                },
            )
            .unwrap();
            let mut f = OpenOptions::new().append(true).open(&path).unwrap();
            f.write_all(&torn[..torn.len() / 2]).unwrap();
            drop(f);
            let listing = list_journals::<JobSpec>(&jdir);
            assert!(
                listing.cannot_resume.is_empty(),
                "cut at {cut}: {listing:?}"
            );
            let job = &listing.unfinished[0];
            assert_eq!(job.outputs_done, 2 + u64::from(last_kept), "cut at {cut}");
            assert!(job.resume.own(&outs[2], &meta(&outs[2])).is_some());
            // And again: still whole.
            let (j, state) = JournalWriter::take_over(&path, None).unwrap();
            assert_eq!(fs::metadata(&path).unwrap().len(), state.valid_len);
            drop(j);
        }
        assert!(offsets > 100, "{offsets} offsets");
    }

    #[test]
    fn a_bad_record_before_good_ones_is_damage() {
        let dir = tempfile::tempdir().unwrap();
        let jdir = dir.path().join("journal");
        let input = dir.path().join("in");
        fs::create_dir_all(&input).unwrap();
        let spec = JobSpec::Zip(ZipSpec::new(vec![input.clone()], dir.path().join("a.zip")));
        let j = JournalWriter::create(&jdir, &spec, "t").unwrap();
        let damaged = j.path().to_path_buf();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&damaged).unwrap();
        f.write_all(b"zzzz not a record\n").unwrap();
        let mut record = Vec::new();
        append_line(
            &mut record,
            &PlacedRecordRef {
                t: "placed",
                path: PathJson(Path::new("/x")),
                dev: 1,
                ino: 1,
                bytes: 1,
                mtime_ns: 1,
                source: None,
            },
        )
        .unwrap();
        f.write_all(&record).unwrap();
        drop(f);
        let (found, aside) = list_unfinished::<JobSpec>(&jdir);
        assert!(found.is_empty());
        assert_eq!(aside.len(), 1);
        assert_eq!(aside[0].reason, "it is damaged");
    }

    #[test]
    fn listing_moves_nothing_and_setting_aside_gives_the_true_reason() {
        let dir = tempfile::tempdir().unwrap();
        let jdir = dir.path().join("journal");
        fs::create_dir_all(&jdir).unwrap();
        let input = dir.path().join("in");
        fs::create_dir_all(&input).unwrap();
        let spec = JobSpec::Zip(ZipSpec::new(vec![input.clone()], dir.path().join("a.zip")));
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
        drop(JournalWriter::create(&jdir, &gone_spec, "t").unwrap());
        // Resumable, listed from another folder (the paths are absolute).
        drop(JournalWriter::create(&jdir, &spec, "t").unwrap());
        for _ in 0..2 {
            let listing = list_journals::<JobSpec>(&jdir);
            assert_eq!(listing.unfinished.len(), 1);
            assert_eq!(listing.unfinished[0].spec, spec);
            let mut reasons: Vec<&str> = listing
                .cannot_resume
                .iter()
                .map(|a| a.reason.as_str())
                .collect();
            reasons.sort();
            assert_eq!(
                reasons,
                [
                    "it was written by a newer version of Shrinkwrap",
                    "its inputs are gone"
                ]
            );
            assert!(listing.cannot_resume.iter().all(|a| !a.moved));
            assert!(!jdir.join(SET_ASIDE_DIR).exists(), "listing moved nothing");
        }
        let (_, aside) = list_unfinished::<JobSpec>(&jdir);
        for a in &aside {
            let moved = set_aside(a).unwrap();
            assert!(moved.moved && moved.journal.starts_with(jdir.join(SET_ASIDE_DIR)));
            assert!(moved.to_string().contains(&a.reason), "{moved}");
            assert!(moved.journal.is_file());
        }
        assert!(list_unfinished::<JobSpec>(&jdir).1.is_empty());
    }

    #[test]
    fn one_process_at_a_time_takes_a_journal_over() {
        let dir = tempfile::tempdir().unwrap();
        let jdir = dir.path().join("journal");
        fs::create_dir_all(dir.path().join("in")).unwrap();
        let spec = JobSpec::Thumbs(ThumbSpec::new(
            vec![dir.path().join("in")],
            dir.path().join("o"),
        ));
        drop(JournalWriter::create(&jdir, &spec, "t").unwrap());
        let (mut found, _) = list_unfinished::<JobSpec>(&jdir);
        let mut first = found.pop().unwrap();
        let mut second = first.clone();
        first.claim().unwrap();
        assert!(matches!(second.claim(), Err(ClaimError::InUse)));
        assert!(matches!(
            JournalWriter::take_over(&second.journal, None),
            Err(ClaimError::InUse)
        ));
        assert!(
            discard_unfinished(&second).is_err(),
            "not discarded under a live job"
        );
        let listing = list_journals::<JobSpec>(&jdir);
        assert_eq!((listing.unfinished.len(), listing.in_use.len()), (0, 1));
        // The claimed lock goes to the job that resumes it; when that job ends, the journal goes.
        let (j, _) = JournalWriter::take_over(&first.journal, first.lock.0.take()).unwrap();
        j.finish();
        assert!(matches!(second.claim(), Err(ClaimError::Gone)));
        assert_eq!(fs::read_dir(&jdir).unwrap().count(), 0, "nothing left");
    }

    #[test]
    fn leftover_temporaries_are_removed_only_when_they_are_the_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let plan = thumbs_plan(dir.path(), 2);
        let o = dir.path().join("o");
        fs::create_dir_all(&o).unwrap();
        let ours = crate::engine::runtime::temp::TempFiles::with_tag("abc123");
        let theirs = crate::engine::runtime::temp::TempFiles::with_tag("zzz999");
        let mine = ours.create(&o.join("p0.jpg")).unwrap();
        let other = theirs.create(&o.join("p1.jpg")).unwrap();
        std::mem::forget(mine);
        let state = ResumeState {
            tag: "abc123".into(),
            items: Some(
                plan.items
                    .iter()
                    .map(|i| RecordedItem {
                        input: i.input.clone(),
                        output: i.output.clone(),
                        action: RecordedAction::Write,
                        reason: None,
                    })
                    .collect(),
            ),
            ..ResumeState::default()
        };
        assert_eq!(fs::read_dir(&o).unwrap().count(), 2);
        remove_leftover_temps(&state);
        let left: Vec<_> = fs::read_dir(&o)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(is_temp_of(&left[0], "zzz999"));
        drop(other);
    }
}
