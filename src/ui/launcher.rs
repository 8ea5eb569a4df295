//! Opening a folder or a file with the desktop's default application ("Open folder", a click on
//! a thumbnail), on the `shrinkwrap-open` helper thread, and reaping the opener so no zombie
//! process is left.
//!
//! The `opener` crate spawns `xdg-open` and drops the child without waiting for it: every "Open
//! folder" left a zombie until the window quit, and a failing `xdg-open` (no file manager, no
//! handler for the type) was never reported. Here the opener program runs with its output
//! discarded (nothing it or the viewer it starts writes can ever block on a full pipe, and its
//! jargon is not the user's); a failure within [`FAILURE_WINDOW`] comes back as a message in the
//! user's terms (what its exit status means), and every child is waited for: the helper thread watches the openers it started
//! (some handlers run the viewer in the foreground: it is then reaped whenever it closes, even
//! after the window has gone), while later requests are taken at once.
//!
//! Owns: [`Launcher`], its helper thread and the openers it watches.
//! Must not touch: the frame code's thread (nothing here runs there), app state (a failure comes
//! back as the text of a notice).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::helper::{Helper, Reply, Waker, Work};

/// An opener that exits with a failure within this time failed to open the path; later exits
/// are the viewer closing (whatever its status).
pub const FAILURE_WINDOW: Duration = Duration::from_secs(10);
/// How often the helper thread looks whether an opener has exited, during [`FAILURE_WINDOW`].
const POLL_INTERVAL: Duration = Duration::from_millis(25);
/// How often it looks whether a viewer still open after [`FAILURE_WINDOW`] has closed.
const REAP_INTERVAL: Duration = Duration::from_secs(1);
/// Open requests waiting for the helper thread.
const OPEN_CHANNEL_CAPACITY: usize = 16;
/// The desktop's opener on Linux and the BSDs.
pub const DEFAULT_OPENER: &str = "xdg-open";

/// What is being opened (for the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Folder,
    File,
}

/// One path to open.
pub struct OpenRequest {
    pub path: PathBuf,
    pub target: Target,
}

/// An opener started and not reaped yet.
struct Opening {
    child: Child,
    started: Instant,
    /// Whether it opened has been decided (and said).
    decided: bool,
    reaped: bool,
}

impl Opening {
    /// Starts `program path`. `Err` is why it could not be started, in the user's terms.
    fn start(program: &std::ffi::OsStr, path: &Path) -> Result<Opening, String> {
        let name = program.to_string_lossy().into_owned();
        let cannot_start = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("no file manager could be started ({name} is not installed)")
            }
            _ => format!(
                "no file manager could be started ({name}: {})",
                crate::engine::IoCause::of(e)
            ),
        };
        let child = Command::new(program)
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(cannot_start)?;
        Ok(Opening {
            child,
            started: Instant::now(),
            decided: false,
            reaped: false,
        })
    }

    fn in_failure_window(&self) -> bool {
        !self.decided && self.started.elapsed() < FAILURE_WINDOW
    }

    /// Looks whether it has exited (reaping it if so). Returns the verdict once it is known:
    /// `Ok` opened (or still running after [`FAILURE_WINDOW`]: the viewer itself), `Err` why
    /// it failed.
    fn poll(&mut self) -> Option<Result<(), String>> {
        if self.reaped {
            return None;
        }
        let status = match self.child.try_wait() {
            Ok(Some(status)) => Some(status),
            Ok(None) => None,
            // It cannot be asked about any more: reap it, it did start.
            Err(_) => {
                let _ = self.child.wait();
                self.reaped = true;
                return self.decide(Ok(()));
            }
        };
        match status {
            Some(status) => {
                self.reaped = true;
                let verdict = if status.success() {
                    Ok(())
                } else {
                    Err(self.failure(status))
                };
                self.decide(verdict)
            }
            None if self.started.elapsed() >= FAILURE_WINDOW => self.decide(Ok(())),
            None => None,
        }
    }

    /// The verdict, the first time only.
    fn decide(&mut self, verdict: Result<(), String>) -> Option<Result<(), String>> {
        if self.decided {
            return None;
        }
        self.decided = true;
        Some(verdict)
    }

    /// Why a failed opener failed, in the user's words: what its exit status means (xdg-open's
    /// documented codes). What it wrote to standard error is the desktop's jargon ("no method
    /// available for opening ...", "gio: ... Operation not supported") and is not quoted.
    fn failure(&self, status: ExitStatus) -> String {
        match status.code() {
            Some(2) => "it no longer exists".to_owned(),
            Some(3) => "no program is set up to open it on this computer".to_owned(),
            _ => "the program set up to open it failed".to_owned(),
        }
    }
}

/// Runs `program path` and waits for it. `Err` is why it failed, in the user's terms: it could
/// not be started, or it exited with a failure within [`FAILURE_WINDOW`] (with the first line
/// it wrote to standard error). The child is always reaped before this returns.
pub fn open_and_reap(program: &std::ffi::OsStr, path: &Path) -> Result<(), String> {
    let mut opening = Opening::start(program, path)?;
    let mut verdict = Ok(());
    loop {
        if let Some(decided) = opening.poll() {
            verdict = decided;
        }
        if opening.reaped {
            return verdict;
        }
        let interval = if opening.in_failure_window() {
            POLL_INTERVAL
        } else {
            REAP_INTERVAL.min(Duration::from_millis(100))
        };
        std::thread::sleep(interval);
    }
}

/// The notice for a path that could not be opened.
fn notice(target: Target, path: &Path, why: &str) -> String {
    match target {
        Target::Folder => format!("Cannot open {} in the file manager: {why}.", path.display()),
        Target::File => format!("Cannot open {}: {why}.", path.display()),
    }
}

/// Starts openers and watches them on the helper thread.
struct OpenWork {
    program: OsString,
    /// Openers started, each with what it opens.
    watching: Vec<(Opening, OpenRequest)>,
}

impl Work for OpenWork {
    type Request = OpenRequest;
    /// The text of a notice.
    type Result = String;

    fn run(&mut self, request: &OpenRequest, reply: &Reply<String>) {
        match Opening::start(&self.program, &request.path) {
            Ok(opening) => self.watching.push((
                opening,
                OpenRequest {
                    path: request.path.clone(),
                    target: request.target,
                },
            )),
            Err(why) => {
                reply.send(notice(request.target, &request.path, &why));
            }
        }
    }

    fn panicked(&mut self, request: &OpenRequest, message: &str, reply: &Reply<String>) {
        reply.send(notice(request.target, &request.path, message));
    }

    fn tick_interval(&self) -> Option<Duration> {
        if self.watching.iter().any(|(o, _)| o.in_failure_window()) {
            Some(POLL_INTERVAL)
        } else if self.watching.is_empty() {
            None
        } else {
            Some(REAP_INTERVAL)
        }
    }

    fn tick(&mut self, reply: &Reply<String>) {
        for (opening, request) in &mut self.watching {
            if let Some(Err(why)) = opening.poll() {
                reply.send(notice(request.target, &request.path, &why));
            }
        }
        self.watching.retain(|(o, _)| !o.reaped);
    }

    fn busy(&self) -> bool {
        !self.watching.is_empty()
    }
}

/// Opens paths with a program (`xdg-open` unless a test gives another).
pub struct Launcher {
    program: OsString,
    helper: Option<Helper<OpenWork>>,
    /// Notices made here (the thread could not be started, or is busy).
    refused: Vec<String>,
    waker: Waker,
}

impl Launcher {
    /// A launcher that runs `program PATH`; a failure comes back through
    /// [`Launcher::try_recv`], after a call of `waker`.
    pub fn new(program: OsString, waker: Waker) -> Launcher {
        Launcher {
            program,
            helper: None,
            refused: Vec::new(),
            waker,
        }
    }

    /// Opens `path` on the helper thread (started now if needed); returns at once.
    pub fn open(&mut self, path: PathBuf, target: Target) {
        if self.helper.is_none() {
            let work = OpenWork {
                program: self.program.clone(),
                watching: Vec::new(),
            };
            match Helper::start(
                "shrinkwrap-open",
                OPEN_CHANNEL_CAPACITY,
                self.waker.clone(),
                work,
            ) {
                Ok(helper) => self.helper = Some(helper),
                Err(err) => {
                    self.refused
                        .push(notice(target, &path, &format!("no helper thread ({err})")));
                    return;
                }
            }
        }
        if let Some(helper) = &self.helper
            && let Err(refused) = helper.try_send(OpenRequest { path, target })
        {
            let request = refused.into_inner();
            self.refused.push(notice(
                request.target,
                &request.path,
                "too many paths are being opened at once",
            ));
        }
    }

    /// A notice ready now (never blocks).
    pub fn try_recv(&mut self) -> Option<String> {
        self.refused
            .pop()
            .or_else(|| self.helper.as_ref()?.try_recv())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Children of this process that have exited but were not waited for.
    fn zombie_children() -> Vec<String> {
        let me = std::process::id().to_string();
        let mut zombies = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid ...
            let Some(after) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
                continue;
            };
            let fields: Vec<&str> = after.split_whitespace().collect();
            // Only the fake openers these tests start (other tests may run children too).
            if stat.contains("(fake-opener)")
                && fields.first() == Some(&"Z")
                && fields.get(1) == Some(&me.as_str())
            {
                zombies.push(stat);
            }
        }
        zombies
    }

    fn script(dir: &std::path::Path, name: &str, body: &str) -> PathBuf {
        let folder = dir.join(name);
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("fake-opener");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn the_launcher_reports_failures_from_its_thread_and_reaps_every_opener() {
        let dir = tempfile::tempdir().unwrap();
        let failing = script(
            dir.path(),
            "failing",
            "if [ -d \"$1\" ]; then echo 'no file manager here' >&2; exit 4; fi",
        );
        let mut launcher = Launcher::new(failing.into_os_string(), std::sync::Arc::new(|| {}));
        let file = dir.path().join("a.txt");
        std::fs::write(&file, b"a").unwrap();
        launcher.open(file, Target::File);
        launcher.open(dir.path().to_path_buf(), Target::Folder);
        let deadline = Instant::now() + Duration::from_secs(120);
        let notice = loop {
            if let Some(notice) = launcher.try_recv() {
                break notice;
            }
            assert!(Instant::now() < deadline, "no notice");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(
            notice,
            format!(
                "Cannot open {} in the file manager: the program set up to open it failed.",
                dir.path().display()
            )
        );
        assert_eq!(launcher.try_recv(), None, "the file opened: no notice");
        // Whoever ends first, the window or the openers, every opener is reaped.
        drop(launcher);
        while !zombie_children().is_empty() {
            assert!(Instant::now() < deadline, "{:?}", zombie_children());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn failures_are_reported_success_is_quiet_and_every_opener_is_reaped() {
        let dir = tempfile::tempdir().unwrap();
        // Every script is written before any runs (a script still open for writing in another
        // thread's fork cannot be executed).
        let chatty = script(
            dir.path(),
            "chatty",
            "echo 'no method available for opening it' >&2; exit 3",
        );
        let silent = script(dir.path(), "silent", "exit 3");
        let fine = script(dir.path(), "fine", "test -d \"$1\"");

        let err = open_and_reap(chatty.as_os_str(), dir.path()).unwrap_err();
        assert_eq!(err, "no program is set up to open it on this computer");
        let err = open_and_reap(silent.as_os_str(), dir.path()).unwrap_err();
        assert!(err.contains("no program is set up to open it"), "{err}");
        let err = open_and_reap(
            std::ffi::OsStr::new("/nonexistent/shrinkwrap-opener"),
            dir.path(),
        )
        .unwrap_err();
        assert!(err.contains("is not installed"), "{err}");
        assert_eq!(open_and_reap(fine.as_os_str(), dir.path()), Ok(()));
        assert!(zombie_children().is_empty(), "{:?}", zombie_children());
    }
}
