//! Helpers shared by the integration tests: running a job to its end, building fixture trees,
//! and reading archives back with independent readers.
#![allow(dead_code)]

pub mod fake_engine;
pub mod images;
pub mod ui;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use shrinkwrap::engine::{Engine, JobEvent, JobId, JobReport, JobSpec, Progress};

/// The built `shrinkwrap` binary, run in `cwd` with stdin closed and the job journals kept in
/// `cwd/.state` (so tests never touch the user's state folder, nor each other's).
pub fn cli(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shrinkwrap"));
    cmd.current_dir(cwd)
        .env("SHRINKWRAP_STATE_DIR", cwd.join(".state"))
        .stdin(std::process::Stdio::null());
    cmd
}

/// Runs the CLI to its end (see [`cli`]).
pub fn shrinkwrap(args: &[&str], cwd: &Path) -> std::process::Output {
    cli(cwd).args(args).output().unwrap()
}

/// A process's stderr as text.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Generous upper bound for a job in a test; reaching it is a hang, not slowness.
pub const JOB_DEADLINE: Duration = Duration::from_secs(300);

/// Runs `spec` on `engine` and returns its final report plus the progress events seen.
pub fn run_job(engine: &Engine, spec: JobSpec) -> (JobReport, Vec<Progress>) {
    let id = engine.submit(spec).unwrap();
    wait_job(engine, id)
}

pub fn wait_job(engine: &Engine, id: JobId) -> (JobReport, Vec<Progress>) {
    let deadline = Instant::now() + JOB_DEADLINE;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "job {id} did not finish in {JOB_DEADLINE:?}"
        );
        match engine.events().recv_timeout(left) {
            Ok(JobEvent::Progress(p)) if p.job == id => seen.push(p),
            Ok(JobEvent::Finished(r)) if r.progress.job == id => return (r, seen),
            Ok(_) => {}
            Err(e) => panic!("event channel: {e:?}"),
        }
    }
}

/// Waits for several jobs; their final reports in the order of `ids`.
pub fn wait_jobs(engine: &Engine, ids: &[JobId]) -> Vec<JobReport> {
    let deadline = Instant::now() + JOB_DEADLINE;
    let mut reports: Vec<Option<JobReport>> = vec![None; ids.len()];
    while reports.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "jobs {ids:?} did not finish in {JOB_DEADLINE:?}"
        );
        if let Ok(JobEvent::Finished(r)) = engine.events().recv_timeout(left)
            && let Some(i) = ids.iter().position(|id| *id == r.progress.job)
        {
            reports[i] = Some(r);
        }
    }
    reports.into_iter().flatten().collect()
}

/// Waits until job `id` is processing items (`None`), or has finished first (its report: a job
/// small enough for a fast machine can end before a progress event says it runs).
pub fn wait_running_or_finished(engine: &Engine, id: JobId) -> Option<JobReport> {
    loop {
        match engine.events().recv_timeout(JOB_DEADLINE).unwrap() {
            JobEvent::Progress(p)
                if p.job == id && p.state == shrinkwrap::engine::JobState::Running =>
            {
                return None;
            }
            JobEvent::Finished(r) if r.progress.job == id => return Some(r),
            _ => {}
        }
    }
}

/// Waits until job `id` has finished its scan and is processing items.
pub fn wait_until_running(engine: &Engine, id: JobId) {
    loop {
        match engine.events().recv_timeout(JOB_DEADLINE).unwrap() {
            JobEvent::Progress(p)
                if p.job == id && p.state == shrinkwrap::engine::JobState::Running =>
            {
                return;
            }
            JobEvent::Finished(r) if r.progress.job == id => {
                panic!("finished before running was seen: {r:?}")
            }
            _ => {}
        }
    }
}

/// Deterministic pseudo-random bytes (xorshift), fast enough for hundreds of MiB.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Text-like bytes that compress well but not trivially.
pub fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut i: u64 = 0;
    while out.len() < len {
        out.extend_from_slice(
            format!("line {i}: the quick brown fox {} jumps\n", i * 7919 % 1013).as_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}

pub fn write(path: &Path, bytes: &[u8]) {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).unwrap();
    }
    fs::write(path, bytes).unwrap();
}

/// Every file below `dir` (recursively), relative names.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.file_type().is_dir())
        .map(|e| e.path().strip_prefix(dir).unwrap().to_path_buf())
        .collect();
    out.sort();
    out
}

/// Asserts no temporary or spill file is left below `dir`.
pub fn assert_no_partial_files(dir: &Path) {
    for f in files_below(dir) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.ends_with(".part") && !name.starts_with(".shrinkwrap"),
            "partial file left: {}",
            f.display()
        );
    }
}

/// What an archive should hold: name -> Some(bytes) for files, None for folders.
pub type Expected = BTreeMap<String, Option<Vec<u8>>>;

/// Builds the expected archive content of `root` (kept under its own name), like `zip -r`.
pub fn expected_tree(root: &Path) -> Expected {
    let base = root.parent().unwrap();
    let mut out = Expected::new();
    for e in walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
    {
        let rel = e
            .path()
            .strip_prefix(base)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        if e.file_type().is_dir() {
            out.insert(format!("{rel}/"), None);
        } else if e.file_type().is_file() {
            out.insert(rel, Some(fs::read(e.path()).unwrap()));
        }
    }
    out
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Readers that must be present (CI sets SHRINKWRAP_REQUIRE_READERS=1 and installs them).
fn reader_available(tool: &str) -> bool {
    if have(tool) {
        return true;
    }
    assert!(
        std::env::var_os("SHRINKWRAP_REQUIRE_READERS").is_none(),
        "{tool} is required but not installed"
    );
    eprintln!("note: {tool} not installed, skipping that reader");
    false
}

/// Tests an archive with `unzip -t`, `python3 -m zipfile -t` and `7z t`.
pub fn external_readers_accept(archive: &Path) {
    if reader_available("unzip") {
        let out = Command::new("unzip")
            .arg("-tq")
            .arg(archive)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "unzip -t failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if reader_available("python3") {
        let out = Command::new("python3")
            .args(["-m", "zipfile", "-t"])
            .arg(archive)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python3 -m zipfile -t failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if reader_available("7z") {
        let out = Command::new("7z").arg("t").arg(archive).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("Everything is Ok"),
            "7z t failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Reads an archive with the zip crate: name -> content (None for folders), in archive order.
pub fn read_archive(archive: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    let mut zip = zip::ZipArchive::new(fs::File::open(archive).unwrap()).unwrap();
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        if f.is_dir() {
            out.push((name, None));
        } else {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut data).unwrap();
            out.push((name, Some(data)));
        }
    }
    out
}

/// Checks an archive against what it should hold, with every reader, and by extracting it with
/// `unzip` and comparing bytes.
pub fn assert_archive_matches(archive: &Path, expected: &Expected) {
    let got = read_archive(archive);
    let names: Vec<&String> = got.iter().map(|(n, _)| n).collect();
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| {
        a.trim_end_matches('/')
            .as_bytes()
            .cmp(b.trim_end_matches('/').as_bytes())
    });
    assert_eq!(names, sorted, "entries are not in sorted order");
    let got_map: Expected = got.into_iter().collect();
    assert_eq!(
        got_map.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "entry names differ"
    );
    for (name, content) in expected {
        assert!(got_map[name] == *content, "content of {name} differs");
    }
    external_readers_accept(archive);
    if have("unzip") {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("unzip")
            .arg("-q")
            .arg(archive)
            .arg("-d")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "unzip failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for (name, content) in expected {
            let path = dir.path().join(name.trim_end_matches('/'));
            match content {
                None => assert!(path.is_dir(), "{name} not extracted as a folder"),
                Some(bytes) => assert!(
                    fs::read(&path).unwrap() == *bytes,
                    "extracted {name} differs"
                ),
            }
        }
    }
}

/// A temporary folder for a test that writes an archive of several GiB: inside
/// `SHRINKWRAP_BIG_TMPDIR` when set (`.ci/run` mounts a tmpfs there, since a CI machine's disk may
/// have less free space than the archive needs), else in the system temporary folder.
///
/// Fails with a clear message when the folder has less than `need_bytes` free, rather than
/// letting the test die half-way on "No space left on device".
#[allow(dead_code)]
pub fn big_tempdir(need_bytes: u64) -> tempfile::TempDir {
    let tmp = match std::env::var_os("SHRINKWRAP_BIG_TMPDIR") {
        Some(dir) => tempfile::tempdir_in(dir).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let out = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(tmp.path())
        .output()
        .unwrap();
    let avail: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(u64::MAX);
    assert!(
        avail >= need_bytes,
        "{} has {avail} bytes free, this test needs {need_bytes}; set SHRINKWRAP_BIG_TMPDIR to a \
         folder with room (a tmpfs will do)",
        tmp.path().display()
    );
    tmp
}
