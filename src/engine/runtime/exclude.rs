//! Exclude patterns for the scan: the user's globs and, when asked, the `.gitignore` files met in
//! the inputs' folders, both with git's syntax and meaning, matched by ripgrep's `ignore` crate.
//!
//! Owns: [`ExcludeRules`] (the user's patterns, compiled once per job) and [`GitignoreStack`]
//! (the `.gitignore` files that apply at the walk's current folder). A `.gitignore` is read only
//! when it is a regular file (never through a link, never a FIFO), up to 1 MiB.
//! Must not touch: what becomes of an excluded entry (the scan lists it, the kind's plan shows
//! it), any job kind, any front end.

use std::io::Read;
use std::path::Path;

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::engine::runtime::input::open_regular;

/// Largest `.gitignore` read; a larger one is ignored whole (it is not a real one).
const GITIGNORE_MAX_BYTES: u64 = 1 << 20;

/// Whether `pattern` is a valid exclude pattern; the error says why not.
pub(crate) fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.trim().is_empty() {
        return Err("empty pattern".to_owned());
    }
    let mut builder = GitignoreBuilder::new("");
    builder
        .add_line(None, pattern)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The user's exclude patterns, and whether `.gitignore` files count.
#[derive(Clone, Default)]
pub(crate) struct ExcludeRules {
    patterns: Option<Gitignore>,
    pub honour_gitignore: bool,
}

impl ExcludeRules {
    /// Compiles `patterns` (checked by the spec already: a bad one is left out here).
    pub fn new(patterns: &[String], honour_gitignore: bool) -> ExcludeRules {
        let compiled = if patterns.is_empty() {
            None
        } else {
            let mut builder = GitignoreBuilder::new("");
            for p in patterns {
                let _ = builder.add_line(None, p);
            }
            builder.build().ok()
        };
        ExcludeRules {
            patterns: compiled,
            honour_gitignore,
        }
    }

    /// Whether there is nothing to exclude.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_none() && !self.honour_gitignore
    }

    /// The user's pattern that excludes `name` (the entry's name as the archive spells it,
    /// '/'-separated), if one does; a later `!pattern` takes it back.
    pub fn user_match(&self, name: &str, is_dir: bool) -> Option<String> {
        match self.patterns.as_ref()?.matched(name, is_dir) {
            Match::Ignore(glob) => Some(glob.original().to_owned()),
            _ => None,
        }
    }
}

/// The `.gitignore` files that apply where the walk is: one per folder on the way down from the
/// input, deepest last.
#[derive(Default)]
pub(crate) struct GitignoreStack {
    /// (walk depth of the folder, its `.gitignore`).
    levels: Vec<(usize, Gitignore)>,
}

impl GitignoreStack {
    /// The walk is at an entry of `depth`: folders at that depth or deeper are behind it.
    pub fn enter(&mut self, depth: usize) {
        while self.levels.last().is_some_and(|(d, _)| *d >= depth) {
            self.levels.pop();
        }
    }

    /// The `.gitignore` line that excludes `path` (deepest file first, as git), with where it
    /// is written, if one does.
    pub fn matched(&self, path: &Path, is_dir: bool) -> Option<String> {
        for (_, gitignore) in self.levels.iter().rev() {
            match gitignore.matched(path, is_dir) {
                Match::Ignore(glob) => {
                    let from = glob
                        .from()
                        .map(|p| format!(" (in {})", p.display()))
                        .unwrap_or_default();
                    return Some(format!("{}{from}", glob.original()));
                }
                Match::Whitelist(_) => return None,
                Match::None => {}
            }
        }
        None
    }

    /// The walk goes into folder `dir` at `depth`: its `.gitignore`, if it has one, applies below.
    pub fn push_folder(&mut self, dir: &Path, depth: usize) {
        let file = dir.join(".gitignore");
        let Some(text) = read_small(&file) else {
            return;
        };
        let mut builder = GitignoreBuilder::new(dir);
        for line in text.lines() {
            let _ = builder.add_line(Some(file.clone()), line);
        }
        if let Ok(gitignore) = builder.build()
            && !gitignore.is_empty()
        {
            self.levels.push((depth, gitignore));
        }
    }
}

/// A small regular file's text (lossy UTF-8), or `None`.
fn read_small(path: &Path) -> Option<String> {
    let (file, meta) = open_regular(path).ok()?;
    if meta.len() > GITIGNORE_MAX_BYTES {
        return None;
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(GITIGNORE_MAX_BYTES)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_have_gits_meaning() {
        let rules = ExcludeRules::new(
            &[
                "*.tmp".to_owned(),
                ".git/".to_owned(),
                "node_modules/".to_owned(),
                "!keep.tmp".to_owned(),
            ],
            false,
        );
        assert_eq!(rules.user_match("p/a.tmp", false), Some("*.tmp".into()));
        assert_eq!(rules.user_match("p/keep.tmp", false), None);
        assert_eq!(rules.user_match("p/.git", true), Some(".git/".into()));
        // `.git/` names folders only.
        assert_eq!(rules.user_match("p/.git", false), None);
        assert_eq!(
            rules.user_match("p/x/node_modules", true),
            Some("node_modules/".into())
        );
        assert_eq!(rules.user_match("p/a.txt", false), None);
        assert!(check_pattern("").is_err());
        assert!(check_pattern("{a").is_err());
        assert!(check_pattern("[z-a]").is_err());
        assert!(check_pattern("*.tmp").is_ok());
    }

    #[test]
    fn gitignores_apply_below_their_folder_deepest_first() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join(".gitignore"), "*.log\nbuild/\n").unwrap();
        std::fs::write(root.join("sub/.gitignore"), "!keep.log\n").unwrap();
        let mut stack = GitignoreStack::default();
        stack.push_folder(root, 0);
        stack.enter(1);
        assert!(stack.matched(&root.join("a.log"), false).is_some());
        assert!(stack.matched(&root.join("build"), true).is_some());
        assert!(stack.matched(&root.join("a.txt"), false).is_none());
        stack.push_folder(&root.join("sub"), 1);
        stack.enter(2);
        assert!(stack.matched(&root.join("sub/keep.log"), false).is_none());
        assert!(stack.matched(&root.join("sub/other.log"), false).is_some());
        // Back up: the sub folder's file no longer applies.
        stack.enter(1);
        assert!(stack.matched(&root.join("keep.log"), false).is_some());
    }
}
