//! The window's command line: `shrinkwrap [--compress|--thumbnails] [--paused]
//! [--quit-when-done] [--screenshot FILE.png] [PATH...]`.
//!
//! Owns: parsing those arguments into [`LaunchArgs`] (pure, no file system access).
//! Must not touch: the headless `zip`/`thumbs` subcommands (that is `src/cli.rs`), the window.

use std::ffi::OsString;
use std::path::PathBuf;

use super::settings::Operation;

/// What the window was asked to do at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchArgs {
    /// Paths to put in the input list ("Open with" from a file manager).
    pub paths: Vec<PathBuf>,
    /// Queue this job at once with the remembered settings (`--compress`, `--thumbnails`).
    pub queue_at_start: Option<Operation>,
    /// Queue that job paused: it starts when resumed in the window (`--paused`).
    pub paused: bool,
    /// Close the window once the queue is empty (`--quit-when-done`).
    pub quit_when_done: bool,
    /// Save a PNG of the window once it has rendered, then exit (`--screenshot FILE.png`).
    pub screenshot: Option<PathBuf>,
}

/// One line per flag, for `--help`-less error messages.
pub const WINDOW_USAGE: &str = "usage: shrinkwrap [--compress | --thumbnails] [--paused] \
[--quit-when-done] [--screenshot FILE.png] [PATH...]";

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
            match text.unwrap_or_default() {
                "--" => flags_done = true,
                "--compress" => launch.set_operation(Operation::Compress)?,
                "--thumbnails" => launch.set_operation(Operation::Thumbnails)?,
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
            return Err("--compress and --thumbnails need at least one PATH".to_owned());
        }
        if launch.quit_when_done && launch.queue_at_start.is_none() {
            return Err("--quit-when-done needs --compress or --thumbnails".to_owned());
        }
        if launch.paused && launch.queue_at_start.is_none() {
            return Err("--paused needs --compress or --thumbnails".to_owned());
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

    fn set_operation(&mut self, operation: Operation) -> Result<(), String> {
        match self.queue_at_start {
            Some(existing) if existing != operation => {
                Err("choose either --compress or --thumbnails".to_owned())
            }
            _ => {
                self.queue_at_start = Some(operation);
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
        assert_eq!(launch.queue_at_start, Some(Operation::Compress));
        assert!(launch.quit_when_done);
    }

    #[test]
    fn screenshot_takes_a_file() {
        let launch = parse(&["--screenshot", "out.png", "--thumbnails", "x"]).unwrap();
        assert_eq!(launch.screenshot, Some(PathBuf::from("out.png")));
        assert_eq!(launch.queue_at_start, Some(Operation::Thumbnails));
        assert!(parse(&["--screenshot"]).is_err());
        assert_eq!(
            parse(&["--screenshot=s.png"]).unwrap().screenshot,
            Some(PathBuf::from("s.png"))
        );
    }

    #[test]
    fn bad_combinations_are_refused() {
        assert!(parse(&["--compress"]).is_err());
        assert!(parse(&["--compress", "--thumbnails", "a"]).is_err());
        assert!(parse(&["--quit-when-done", "a"]).is_err());
        assert!(parse(&["--frobnicate"]).is_err());
        assert!(parse(&["--paused", "a"]).is_err());
        assert!(parse(&["--paused", "--compress", "--quit-when-done", "a"]).is_err());
        assert!(parse(&["--paused", "--thumbnails", "a"]).unwrap().paused);
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
