//! The input list: the files and folders a job will be made of, each with its size or file count,
//! measured on a background thread.
//!
//! Owns: [`InputList`] (entries, selection, what still needs measuring) and [`Measurer`] (the
//! `shrinkwrap-measure` helper thread that walks folders and reads sizes).
//! Must not touch: the frame code's thread with any file I/O (the list itself never touches the
//! file system; only the measurer thread does), drawing.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::engine::IoCause;

use super::helper::{Helper, Reply, Waker, Work};

/// Capacity of the measure request and result channels.
const MEASURE_CHANNEL_CAPACITY: usize = 256;

/// What is known about an input's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSize {
    Measuring,
    File {
        bytes: u64,
    },
    Folder {
        files: u64,
        bytes: u64,
    },
    /// The path cannot be read (missing, no permission...): the cause, in the user's terms.
    Unreadable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputEntry {
    pub path: PathBuf,
    pub size: InputSize,
}

impl InputEntry {
    /// The last path component, for display.
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }
}

/// A measured input, sent back by the measurer.
#[derive(Debug, Clone)]
pub struct Measured {
    pub path: PathBuf,
    pub size: InputSize,
}

/// The inputs of the next job, in the order they were added, without duplicates.
#[derive(Debug, Default)]
pub struct InputList {
    entries: Vec<InputEntry>,
    selected: Option<usize>,
    /// Added but not yet handed to the measurer (its queue was full).
    unsent: VecDeque<PathBuf>,
    /// Changes whenever the list of paths changes (not when a size is measured): what the
    /// preview and the remembered answers compare to know the inputs are the same.
    generation: u64,
}

impl InputList {
    pub fn entries(&self) -> &[InputEntry] {
        &self.entries
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        self.entries.iter().map(|e| e.path.clone()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn selected(&self) -> Option<usize> {
        self.selected
    }

    /// A number that changes whenever paths are added or removed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The inputs that are plain files (measured as such; a symbolic link to a file counts).
    pub fn plain_files(&self) -> impl Iterator<Item = &InputEntry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.size, InputSize::File { .. }))
    }

    pub fn select(&mut self, index: Option<usize>) {
        self.selected = index.filter(|&i| i < self.entries.len());
    }

    /// Adds paths (made absolute; duplicates ignored) and returns how many were new.
    pub fn add(&mut self, paths: impl IntoIterator<Item = PathBuf>) -> usize {
        let mut added = 0;
        for path in paths {
            let path = std::path::absolute(&path).unwrap_or(path);
            if self.entries.iter().any(|e| e.path == path) {
                continue;
            }
            self.unsent.push_back(path.clone());
            self.entries.push(InputEntry {
                path,
                size: InputSize::Measuring,
            });
            added += 1;
        }
        if added > 0 {
            self.generation += 1;
        }
        added
    }

    pub fn remove(&mut self, index: usize) {
        if index >= self.entries.len() {
            return;
        }
        let removed = self.entries.remove(index);
        self.generation += 1;
        self.unsent.retain(|p| *p != removed.path);
        self.selected = match self.selected {
            Some(s) if s == index => {
                if self.entries.is_empty() {
                    None
                } else {
                    Some(index.min(self.entries.len() - 1))
                }
            }
            Some(s) if s > index => Some(s - 1),
            other => other,
        };
    }

    pub fn clear(&mut self) {
        if !self.entries.is_empty() {
            self.generation += 1;
        }
        self.entries.clear();
        self.unsent.clear();
        self.selected = None;
    }

    /// Records a measurement (ignored when the input was removed meanwhile).
    pub fn apply(&mut self, measured: Measured) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.path == measured.path) {
            entry.size = measured.size;
        }
    }

    /// Whether some input is still being measured.
    pub fn measuring(&self) -> bool {
        self.entries.iter().any(|e| e.size == InputSize::Measuring)
    }

    /// Total files and bytes of the measured inputs.
    pub fn totals(&self) -> (u64, u64) {
        self.entries
            .iter()
            .fold((0, 0), |(files, bytes), e| match e.size {
                InputSize::File { bytes: b } => (files + 1, bytes + b),
                InputSize::Folder { files: f, bytes: b } => (files + f, bytes + b),
                _ => (files, bytes),
            })
    }

    /// Hands waiting paths to the measurer without blocking; returns whether some are left.
    pub fn send_unmeasured(&mut self, measurer: &Measurer) -> bool {
        while let Some(path) = self.unsent.pop_front() {
            match measurer.try_send(path) {
                Ok(()) => {}
                Err(flume::TrySendError::Full(path)) => {
                    self.unsent.push_front(path);
                    return true;
                }
                Err(flume::TrySendError::Disconnected(path)) => {
                    if let Some(entry) = self.entries.iter_mut().find(|e| e.path == path) {
                        entry.size = InputSize::Unreadable("could not be measured".to_owned());
                    }
                }
            }
        }
        false
    }
}

/// Measures on the helper thread.
struct MeasureWork;

impl Work for MeasureWork {
    type Request = PathBuf;
    type Result = Measured;

    fn run(&mut self, path: &PathBuf, reply: &Reply<Measured>) {
        let size = measure_until(path, reply.stop_flag());
        reply.send(Measured {
            path: path.clone(),
            size,
        });
    }

    fn panicked(&mut self, path: &PathBuf, message: &str, reply: &Reply<Measured>) {
        reply.send(Measured {
            path: path.clone(),
            size: InputSize::Unreadable(format!("could not be measured ({message})")),
        });
    }
}

/// The background thread that measures inputs: files by their size, folders by walking them.
pub struct Measurer {
    helper: Option<Helper<MeasureWork>>,
}

impl Measurer {
    /// Starts the `shrinkwrap-measure` thread; `waker` is called after each result.
    pub fn start(waker: Waker) -> Measurer {
        let helper = Helper::start(
            "shrinkwrap-measure",
            MEASURE_CHANNEL_CAPACITY,
            waker,
            MeasureWork,
        )
        .map_err(|err| eprintln!("shrinkwrap: could not start the measuring thread: {err}"))
        .ok();
        Measurer { helper }
    }

    fn try_send(&self, path: PathBuf) -> Result<(), flume::TrySendError<PathBuf>> {
        match &self.helper {
            Some(helper) => helper.try_send(path),
            None => Err(flume::TrySendError::Disconnected(path)),
        }
    }

    /// Results ready now (never blocks).
    pub fn try_recv(&self) -> Option<Measured> {
        self.helper.as_ref()?.try_recv()
    }
}

/// Size of a file, or file count and total size of a folder tree (symbolic links not followed).
pub fn measure(path: &Path) -> InputSize {
    measure_until(path, &AtomicBool::new(false))
}

/// [`measure`], giving up (with what was counted) once `stop` is set.
fn measure_until(path: &Path, stop: &AtomicBool) -> InputSize {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return InputSize::Unreadable("not found".to_owned());
        }
        Err(err) => return InputSize::Unreadable(IoCause::of(err).to_string()),
    };
    if !metadata.is_dir() {
        let bytes = if metadata.is_symlink() {
            std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
        } else {
            metadata.len()
        };
        return InputSize::File { bytes };
    }
    let (mut files, mut bytes) = (0u64, 0u64);
    for entry in walkdir::WalkDir::new(path)
        .follow_links(false)
        .into_iter()
        .flatten()
    {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if entry.file_type().is_file() {
            files += 1;
            bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    InputSize::Folder { files, bytes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_dedupes_and_remove_keeps_selection_sane() {
        let mut list = InputList::default();
        assert_eq!(
            list.add([
                PathBuf::from("/a"),
                PathBuf::from("/b"),
                PathBuf::from("/a")
            ]),
            2
        );
        assert_eq!(list.add([PathBuf::from("/c")]), 1);
        list.select(Some(2));
        list.remove(2);
        assert_eq!(list.selected(), Some(1));
        list.remove(0);
        assert_eq!(list.selected(), Some(0));
        assert_eq!(list.paths(), vec![PathBuf::from("/b")]);
        list.clear();
        assert!(list.is_empty());
        assert_eq!(list.selected(), None);
    }

    #[test]
    fn measures_files_and_folders() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a"), b"12345").unwrap();
        std::fs::write(dir.path().join("sub/b"), b"123").unwrap();
        assert_eq!(measure(&dir.path().join("a")), InputSize::File { bytes: 5 });
        assert_eq!(
            measure(dir.path()),
            InputSize::Folder { files: 2, bytes: 8 }
        );
        assert!(matches!(
            measure(&dir.path().join("missing")),
            InputSize::Unreadable(_)
        ));
    }

    #[test]
    fn measurer_thread_reports_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"12345").unwrap();
        let measurer = Measurer::start(std::sync::Arc::new(|| {}));
        let mut list = InputList::default();
        list.add([dir.path().join("a")]);
        assert!(!list.send_unmeasured(&measurer));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let measured = loop {
            if let Some(measured) = measurer.try_recv() {
                break measured;
            }
            assert!(std::time::Instant::now() < deadline, "no measurement");
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        list.apply(measured);
        assert_eq!(list.totals(), (1, 5));
        assert!(!list.measuring());
    }
}
