//! The window's command line: `shrinkwrap [--compress|--thumbnails|--extract] [--paused]
//! [--quit-when-done] [--screenshot FILE.png] [PATH...]` (one flag per kind: each kind's module
//! declares its own).
//!
//! Owns: parsing those arguments into [`LaunchArgs`] (pure, no file system access).
//! Must not touch: the headless subcommands (that is `src/cli/`), the window, a kind's flag
//! (its module's).

use std::ffi::OsString;
use std::path::PathBuf;

use crate::engine::JobKind;

use super::kinds::{self, launch_flags_text};

/// What the window was asked to do at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchArgs {
    /// Paths to put in the input list ("Open with" from a file manager). Without a kind's flag,
    /// the window opens a `.toml` path as a job file (its jobs are queued) instead.
    pub paths: Vec<PathBuf>,
    /// Queue a job of this kind at once with the remembered settings (`--compress`,
    /// `--thumbnails`).
    pub queue_at_start: Option<JobKind>,
    /// Queue that job paused: it starts when resumed in the window (`--paused`).
    pub paused: bool,
    /// Close the window once the queue is empty (`--quit-when-done`).
    pub quit_when_done: bool,
    /// Save a PNG of the window once it has rendered, then exit (`--screenshot FILE.png`).
    pub screenshot: Option<PathBuf>,
}

/// The usage line, for `--help`-less error messages.
pub fn window_usage() -> String {
    let flags: Vec<&str> = kinds::ENTRIES.iter().map(|e| e.launch_flag).collect();
    format!(
        "usage: shrinkwrap [{}] [--paused] [--quit-when-done] [--screenshot FILE.png] [PATH...]",
        flags.join(" | ")
    )
}

impl LaunchArgs {
    /// Parses the arguments after the program name. Anything that does not start with `--` is a
    /// path; `--` ends the flags (so a file named `--compress` can still be opened).
    pub fn parse(args: &[OsString]) -> Result<LaunchArgs, String> {
        let mut launch = LaunchArgs::default();
        let mut iter = args.iter();
        let mut flags_done = false;
        while let Some(arg) = iter.next() {
            let text = arg.to_str();
            if flags_done || !text.is_some_and(|t| t.starts_with('-') && t.len() > 1) {
                launch.paths.push(PathBuf::from(arg));
                continue;
            }
            let flag = text.unwrap_or_default();
            if let Some(entry) = kinds::ENTRIES.iter().find(|e| e.launch_flag == flag) {
                launch.set_kind(entry.kind)?;
                continue;
            }
            match flag {
                "--" => flags_done = true,
                "--quit-when-done" => launch.quit_when_done = true,
                "--paused" => launch.paused = true,
                "--screenshot" => {
                    let file = iter
                        .next()
                        .ok_or("--screenshot needs a file name (FILE.png)")?;
                    launch.screenshot = Some(PathBuf::from(file));
                }
                other => {
                    if let Some(file) = other.strip_prefix("--screenshot=") {
                        launch.screenshot = Some(PathBuf::from(file));
                    } else {
                        return Err(format!("unknown option {other}"));
                    }
                }
            }
        }
        if launch.queue_at_start.is_some() && launch.paths.is_empty() {
            return Err(format!(
                "{} need at least one PATH",
                launch_flags_text("and")
            ));
        }
        if launch.quit_when_done && launch.queue_at_start.is_none() {
            return Err(format!(
                "--quit-when-done needs {}",
                launch_flags_text("or")
            ));
        }
        if launch.paused && launch.queue_at_start.is_none() {
            return Err(format!("--paused needs {}", launch_flags_text("or")));
        }
        if launch.paused && launch.quit_when_done {
            return Err(
                "--paused and --quit-when-done cannot go together: a paused job waits \
                        for Resume in the window"
                    .to_owned(),
            );
        }
        Ok(launch)
    }

    fn set_kind(&mut self, kind: JobKind) -> Result<(), String> {
        match self.queue_at_start {
            Some(existing) if existing != kind => {
                Err(format!("choose either {}", launch_flags_text("or")))
            }
            _ => {
                self.queue_at_start = Some(kind);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<LaunchArgs, String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        LaunchArgs::parse(&args)
    }

    #[test]
    fn no_arguments_is_an_empty_window() {
        assert_eq!(parse(&[]), Ok(LaunchArgs::default()));
    }

    #[test]
    fn paths_and_flags() {
        let launch = parse(&["--compress", "a", "b/", "--quit-when-done"]).unwrap();
        assert_eq!(launch.paths, vec![PathBuf::from("a"), PathBuf::from("b/")]);
        assert_eq!(launch.queue_at_start, Some(crate::engine::kinds::zip::KIND));
        assert!(launch.quit_when_done);
    }

    #[test]
    fn screenshot_takes_a_file() {
        let launch = parse(&["--screenshot", "out.png", "--thumbnails", "x"]).unwrap();
        assert_eq!(launch.screenshot, Some(PathBuf::from("out.png")));
        assert_eq!(
            launch.queue_at_start,
            Some(crate::engine::kinds::thumbs::KIND)
        );
        assert!(parse(&["--screenshot"]).is_err());
        assert_eq!(
            parse(&["--screenshot=s.png"]).unwrap().screenshot,
            Some(PathBuf::from("s.png"))
        );
    }

    #[test]
    fn bad_combinations_are_refused() {
        assert_eq!(
            parse(&["--compress"]),
            Err("--compress, --thumbnails and --extract need at least one PATH".to_owned())
        );
        assert_eq!(
            parse(&["--compress", "--thumbnails", "a"]),
            Err("choose either --compress, --thumbnails or --extract".to_owned())
        );
        assert!(parse(&["--quit-when-done", "a"]).is_err());
        assert!(parse(&["--frobnicate"]).is_err());
        assert!(parse(&["--paused", "a"]).is_err());
        assert!(parse(&["--paused", "--compress", "--quit-when-done", "a"]).is_err());
        assert!(parse(&["--paused", "--thumbnails", "a"]).unwrap().paused);
        assert_eq!(
            window_usage(),
            "usage: shrinkwrap [--compress | --thumbnails | --extract] [--paused] [--quit-when-done] \
             [--screenshot FILE.png] [PATH...]"
        );
    }

    #[test]
    fn double_dash_ends_flags() {
        let launch = parse(&["--", "--compress", "-"]).unwrap();
        assert_eq!(
            launch.paths,
            vec![PathBuf::from("--compress"), PathBuf::from("-")]
        );
        assert_eq!(launch.queue_at_start, None);
    }
}
