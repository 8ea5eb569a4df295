//! File lists: `--files-from FILE` (`-`: standard input) and a job file's `files_from`, as
//! `tar -T` and `rsync --files-from` take them, so a head node can plan once and hand each
//! worker its list.
//!
//! The format: one path per line (`\n`; a `\r` before it is dropped), empty lines ignored,
//! nothing else interpreted (no comments, no quoting, no trimming: a name may start with `#` or
//! end with a space). A relative path is relative to a base folder the caller gives: the
//! current folder on the command line (as `tar -T`, and as the command line's own arguments, so
//! `find photos -name '*.jpg' > list` works from where it was run), the job file's folder in a
//! job file (as every path in it).
//!
//! What a list selects ([`InputSelection::from_list`]):
//! - without inputs, the listed paths are the inputs, exactly as if given on the command line;
//! - with inputs, the listed paths are the only files among those inputs the job takes, and
//!   each keeps the name the whole inputs give it (`photos/2024/a.jpg` -> the thumbnail
//!   `out/2024/a.jpg`, the entry `photos/2024/a.jpg`), as `rsync --files-from SRC`. A listed path
//!   outside every input is refused with its line; one that is not there is an error of the job
//!   (the scan reports it under the listed path), and the job carries on.
//!
//! Owns: reading a list ([`read_file_list`]), what it selects ([`InputSelection`]) and setting
//! a selection on a spec. Must not touch: the scan (it applies `only`), anything but the list
//! file itself on disk.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::engine::kinds::JobSpec;
use crate::engine::model::error::IoCause;
use crate::engine::model::paths::normalize_path_in;

/// The longest line read from a list: far above any path, so a file that is not a list (or an
/// endless stream) is refused instead of filling memory.
pub const MAX_LIST_LINE_BYTES: usize = 64 * 1024;

/// Why a file list cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FileListError {
    /// The list cannot be read.
    #[error("cannot read the file list {}: {cause}", list.display())]
    Read {
        /// The list (`standard input` for `-`).
        list: PathBuf,
        /// What the OS said, in the user's terms.
        cause: IoCause,
    },
    /// The list has no path in it.
    #[error("the file list {} names no file", list.display())]
    Empty {
        /// The list.
        list: PathBuf,
    },
    /// A line longer than [`MAX_LIST_LINE_BYTES`]: not a list of paths.
    #[error("the file list {}, line {line}: longer than {MAX_LIST_LINE_BYTES} bytes (not a list of paths?)", list.display())]
    LineTooLong {
        /// The list.
        list: PathBuf,
        /// The line, from 1.
        line: usize,
    },
    /// A line with a NUL byte, which no path holds.
    #[error("the file list {}, line {line}: a path cannot contain a NUL byte", list.display())]
    Nul {
        /// The list.
        list: PathBuf,
        /// The line, from 1.
        line: usize,
    },
    /// A listed path outside every input of the job.
    #[error("the file list {}, line {line}: {} is not inside any of the inputs", list.display(), path.display())]
    OutsideInputs {
        /// The list.
        list: PathBuf,
        /// The line, from 1.
        line: usize,
        /// The path as listed, made absolute.
        path: PathBuf,
    },
}

/// One path of a list, with its line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The line, from 1.
    pub line: usize,
    /// Absolute (a relative line joined to the base folder) and lexically normalised.
    pub path: PathBuf,
}

/// The name a list is called by in messages: its path, or "standard input" for `-`.
pub fn list_display_name(list: &Path) -> PathBuf {
    if list == Path::new("-") {
        PathBuf::from("standard input")
    } else {
        list.to_path_buf()
    }
}

/// Reads a list from `reader` (`list` names it in errors); relative lines are joined to `base`.
pub fn read_file_list(
    reader: impl Read,
    list: &Path,
    base: &Path,
) -> Result<Vec<Listed>, FileListError> {
    let list = list_display_name(list);
    let base = normalize_path_in(&crate::engine::normalize_path(Path::new(".")), base);
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    let mut out = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let ended = read_line_capped(&mut reader, &mut line).map_err(|e| match e {
            LineError::Io(e) => FileListError::Read {
                list: list.clone(),
                cause: IoCause::of(e),
            },
            LineError::TooLong => FileListError::LineTooLong {
                list: list.clone(),
                line: number + 1,
            },
        })?;
        if ended && line.is_empty() {
            break;
        }
        number += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.is_empty() {
            continue;
        }
        if line.contains(&0) {
            return Err(FileListError::Nul { list, line: number });
        }
        let path = Path::new(std::ffi::OsStr::from_bytes(&line));
        out.push(Listed {
            line: number,
            path: normalize_path_in(&base, path),
        });
        if ended {
            break;
        }
    }
    Ok(out)
}

/// Reads the list at `list` (`-`: standard input).
pub fn read_file_list_at(list: &Path, base: &Path) -> Result<Vec<Listed>, FileListError> {
    if list == Path::new("-") {
        return read_file_list(std::io::stdin().lock(), list, base);
    }
    let file = std::fs::File::open(list).map_err(|e| FileListError::Read {
        list: list.to_path_buf(),
        cause: IoCause::of(e),
    })?;
    read_file_list(file, list, base)
}

enum LineError {
    Io(std::io::Error),
    TooLong,
}

/// Reads up to and including the next `\n` into `line`. Returns whether the input ended.
fn read_line_capped(reader: &mut impl BufRead, line: &mut Vec<u8>) -> Result<bool, LineError> {
    loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(LineError::Io(e)),
        };
        if buf.is_empty() {
            return Ok(true);
        }
        let (take, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + take > MAX_LIST_LINE_BYTES + 2 {
            return Err(LineError::TooLong);
        }
        line.extend_from_slice(&buf[..take]);
        reader.consume(take);
        if done {
            return Ok(false);
        }
    }
}

/// What a job works on: its inputs, and when not empty, the only files among them it takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputSelection {
    /// The job's inputs.
    pub inputs: Vec<PathBuf>,
    /// When not empty, the only files among the inputs the job takes.
    pub only: Vec<PathBuf>,
}

impl InputSelection {
    /// What `listed` selects with `inputs` (see the module's doc): the list as inputs when
    /// there are none, else only the listed files among the inputs. `list` names the list.
    pub fn from_list(
        inputs: Vec<PathBuf>,
        listed: Vec<Listed>,
        list: &Path,
    ) -> Result<InputSelection, FileListError> {
        let list = list_display_name(list);
        if listed.is_empty() {
            return Err(FileListError::Empty { list });
        }
        if inputs.is_empty() {
            return Ok(InputSelection {
                inputs: dedup(listed.into_iter().map(|l| l.path)),
                only: Vec::new(),
            });
        }
        let cwd = crate::engine::normalize_path(Path::new("."));
        let roots: Vec<PathBuf> = inputs.iter().map(|i| normalize_path_in(&cwd, i)).collect();
        let mut only = Vec::with_capacity(listed.len());
        for l in listed {
            if !roots.iter().any(|r| l.path.starts_with(r)) {
                return Err(FileListError::OutsideInputs {
                    list,
                    line: l.line,
                    path: l.path,
                });
            }
            only.push(l.path);
        }
        Ok(InputSelection {
            inputs,
            only: dedup(only.into_iter()),
        })
    }

    /// Sets this selection on `spec` (its inputs and its `only` list).
    pub fn apply_to(self, spec: &mut JobSpec) {
        spec.set_inputs(self.inputs);
        spec.set_only(self.only);
    }

    /// The selection of `spec`.
    pub fn of(spec: &JobSpec) -> InputSelection {
        InputSelection {
            inputs: spec.inputs().to_vec(),
            only: spec.only().to_vec(),
        }
    }
}

/// Each path once, in first-seen order.
fn dedup(paths: impl Iterator<Item = PathBuf>) -> Vec<PathBuf> {
    let mut seen = std::collections::HashSet::new();
    paths.filter(|p| seen.insert(p.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(text: &[u8], base: &str) -> Result<Vec<Listed>, FileListError> {
        read_file_list(text, Path::new("list.txt"), Path::new(base))
    }

    #[test]
    fn lines_are_paths_relative_to_the_base() {
        let got = listed(b"a.jpg\r\n\n/abs/b.png\nsub/../c d.jpg \n#e.jpg", "/base").unwrap();
        let paths: Vec<_> = got.iter().map(|l| (l.line, l.path.clone())).collect();
        assert_eq!(
            paths,
            [
                (1, PathBuf::from("/base/a.jpg")),
                (3, PathBuf::from("/abs/b.png")),
                (4, PathBuf::from("/base/c d.jpg ")),
                (5, PathBuf::from("/base/#e.jpg")),
            ]
        );
    }

    #[test]
    fn bad_lists_are_refused_with_their_line() {
        assert!(matches!(
            listed(b"a\nb\0c\n", "/"),
            Err(FileListError::Nul { line: 2, .. })
        ));
        let long = vec![b'x'; MAX_LIST_LINE_BYTES + 10];
        assert!(matches!(
            listed(&long, "/"),
            Err(FileListError::LineTooLong { line: 1, .. })
        ));
        let none = listed(b"\n\n", "/").unwrap();
        assert!(matches!(
            InputSelection::from_list(vec![], none, Path::new("-")),
            Err(FileListError::Empty { list }) if list == Path::new("standard input")
        ));
    }

    #[test]
    fn a_list_is_the_inputs_or_picks_files_among_them() {
        let l = listed(b"/p/a.jpg\n/p/sub/b.jpg\n/p/a.jpg\n", "/").unwrap();
        let as_inputs = InputSelection::from_list(vec![], l.clone(), Path::new("l")).unwrap();
        assert_eq!(
            as_inputs.inputs,
            [Path::new("/p/a.jpg"), Path::new("/p/sub/b.jpg")]
        );
        assert!(as_inputs.only.is_empty());
        let picked = InputSelection::from_list(vec!["/p".into()], l, Path::new("l")).unwrap();
        assert_eq!(picked.inputs, [Path::new("/p")]);
        assert_eq!(picked.only.len(), 2);
        let outside = listed(b"/p/a.jpg\n/q/c.jpg\n", "/").unwrap();
        let err = InputSelection::from_list(vec!["/p".into()], outside, Path::new("l"));
        assert!(matches!(
            err,
            Err(FileListError::OutsideInputs { line: 2, .. })
        ));
    }
}
