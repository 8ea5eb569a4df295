//! Opening a folder or a file with the desktop's default application ("Open folder", a click on
//! a thumbnail), on a helper thread, and reaping the opener so no zombie process is left.
//!
//! The `opener` crate spawns `xdg-open` and drops the child without waiting for it: every "Open
//! folder" left a zombie until the window quit, and a failing `xdg-open` (no file manager, no
//! handler for the type) was never reported. Here the opener program runs with its standard
//! error captured; a failure within [`FAILURE_WINDOW`] comes back as a message in the user's
//! terms, and the child is always waited for (some handlers run the viewer in the foreground:
//! the helper thread then waits until it closes, which costs nothing but a sleeping thread).
//!
//! Owns: [`Launcher`] and the `shrinkwrap-open` threads.
//! Must not touch: the frame code's thread (nothing here runs there), app state (a failure goes
//! back as text through the channel the window gives).

use std::ffi::OsString;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An opener that exits with a failure within this time failed to open the path; later exits
/// are the viewer closing (whatever its status).
pub const FAILURE_WINDOW: Duration = Duration::from_secs(10);
/// How often the helper thread looks whether the opener has exited, during [`FAILURE_WINDOW`].
const POLL_INTERVAL: Duration = Duration::from_millis(25);
/// The desktop's opener on Linux and the BSDs.
pub const DEFAULT_OPENER: &str = "xdg-open";

/// What a thread reports back: the text of a notice.
type Notices = flume::Sender<String>;

/// Opens paths with a program (`xdg-open` unless a test gives another).
#[derive(Clone)]
pub struct Launcher {
    program: OsString,
    notices: Notices,
    waker: Arc<dyn Fn() + Send + Sync>,
}

/// What is being opened (for the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Folder,
    File,
}

impl Launcher {
    /// A launcher that runs `program PATH`; failures are sent to `notices`, then `waker` is
    /// called.
    pub fn new(
        program: OsString,
        notices: Notices,
        waker: Arc<dyn Fn() + Send + Sync>,
    ) -> Launcher {
        Launcher {
            program,
            notices,
            waker,
        }
    }

    /// Opens `path` on a new `shrinkwrap-open` thread; returns at once.
    pub fn open(&self, path: PathBuf, target: Target) {
        let program = self.program.clone();
        let notices = self.notices.clone();
        let waker = Arc::clone(&self.waker);
        let shown = path.display().to_string();
        let spawned = std::thread::Builder::new()
            .name("shrinkwrap-open".to_owned())
            .spawn(move || {
                if let Err(why) = open_and_reap(&program, &path) {
                    let text = match target {
                        Target::Folder => {
                            format!("Cannot open {} in the file manager: {why}.", path.display())
                        }
                        Target::File => format!("Cannot open {}: {why}.", path.display()),
                    };
                    let _ = notices.try_send(text);
                    waker();
                }
            });
        if let Err(err) = spawned {
            let _ = self
                .notices
                .try_send(format!("Cannot open {shown}: {err}."));
        }
    }
}

/// Runs `program path` and waits for it. `Err` is why it failed, in the user's terms: it could
/// not be started, or it exited with a failure within [`FAILURE_WINDOW`] (with the first line
/// it wrote to standard error). The child is always reaped before this returns.
pub fn open_and_reap(program: &std::ffi::OsStr, path: &std::path::Path) -> Result<(), String> {
    let name = program.to_string_lossy().into_owned();
    let mut child = Command::new(program)
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("no file manager could be started ({name} is not installed)")
            }
            _ => format!(
                "no file manager could be started ({name}: {})",
                crate::engine::IoCause::of(e)
            ),
        })?;
    let started = Instant::now();
    // Standard error is read to its end on its own thread, so that a chatty opener never blocks
    // on a full pipe while this one waits.
    let stderr_reader = child.stderr.take().map(|mut pipe| {
        std::thread::Builder::new()
            .name("shrinkwrap-open-stderr".to_owned())
            .spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                text
            })
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < FAILURE_WINDOW => std::thread::sleep(POLL_INTERVAL),
            // Still running: the viewer itself. Reap it whenever it closes; it did open.
            Ok(None) => {
                let _ = child.wait();
                break None;
            }
            Err(_) => {
                let _ = child.wait();
                break None;
            }
        }
    };
    let stderr = match stderr_reader {
        Some(Ok(handle)) => handle.join().unwrap_or_default(),
        _ => String::new(),
    };
    match status {
        Some(status) if !status.success() => {
            let first_line = stderr.lines().map(str::trim).find(|l| !l.is_empty());
            Err(match first_line {
                Some(line) => format!("{name} reported: {line}"),
                None => match status.code() {
                    // xdg-open's documented exit codes.
                    Some(2) => format!("{name}: the path does not exist"),
                    Some(3) => format!("{name}: no program is set up to open it"),
                    Some(4) => format!("{name}: the program that opens it failed"),
                    _ => format!("{name} reported a failure ({status})"),
                },
            })
        }
        _ => Ok(()),
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
        assert!(
            err.ends_with("reported: no method available for opening it"),
            "{err}"
        );
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
