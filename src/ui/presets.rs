//! The preset menu's data: the presets (built-in and the user's, from the engine's
//! [`PresetStore`] in the user's config folder) and what the menu's fields hold; reading and
//! changing the store runs on the `shrinkwrap-presets` helper thread (started at the first
//! request), which answers every change with the fresh list.
//!
//! Owns: [`PresetMenu`] (the list as last read, the menu's name fields), [`PresetThread`],
//! [`PresetRequest`], [`PresetNews`].
//! Must not touch: the frame code's thread with file I/O, what a preset holds or how it is
//! stored (the engine's), a kind's form (the window applies a preset through the form).

use std::path::PathBuf;

use crate::engine::JobKind;
use crate::engine::workflow::{KindOptions, Preset, PresetStore};

use super::helper::{Helper, Reply, Waker, Work};

/// Requests waiting for the thread.
const PRESET_CHANNEL_CAPACITY: usize = 8;

/// What the preset menu shows and holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PresetMenu {
    /// Every preset as last read (built-in first), `None` until read.
    pub presets: Option<Vec<Preset>>,
    /// Reading the list was asked for and has not come back.
    pub loading: bool,
    /// The "Save current options as" field.
    pub new_name: String,
    /// The preset being renamed and the name typed for it.
    pub renaming: Option<(String, String)>,
}

impl PresetMenu {
    /// The presets of `kind`, in the store's order.
    pub fn of_kind(&self, kind: JobKind) -> Vec<&Preset> {
        self.presets
            .iter()
            .flatten()
            .filter(|p| p.options.kind() == kind)
            .collect()
    }
}

/// What the thread is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum PresetRequest {
    List,
    Save { name: String, options: KindOptions },
    Rename { from: String, to: String },
    Delete { name: String },
}

/// What the thread did.
#[derive(Debug, Clone, PartialEq)]
pub enum PresetNews {
    /// The presets now (after a change too), or why they cannot be read.
    Listed(Result<Vec<Preset>, String>),
    /// A change was made (the notice), or why not.
    Changed(Result<String, String>),
}

struct PresetWork {
    config_dir: Option<PathBuf>,
}

impl PresetWork {
    fn store(&self) -> Result<PresetStore, String> {
        match &self.config_dir {
            Some(dir) => Ok(PresetStore::new(dir)),
            None => PresetStore::open_default().map_err(|e| capitalized(&e.to_string())),
        }
    }

    fn change(&self, request: &PresetRequest) -> Result<String, String> {
        let store = self.store()?;
        let failed = |e: crate::engine::workflow::PresetError| capitalized(&e.to_string()) + ".";
        match request {
            PresetRequest::List => Ok(String::new()),
            PresetRequest::Save { name, options } => store
                .save(name, options.clone())
                .map(|()| format!("Saved the preset \u{201c}{}\u{201d}.", name.trim()))
                .map_err(failed),
            PresetRequest::Rename { from, to } => store
                .rename(from, to)
                .map(|()| {
                    format!(
                        "Renamed the preset \u{201c}{from}\u{201d} to \u{201c}{}\u{201d}.",
                        to.trim()
                    )
                })
                .map_err(failed),
            PresetRequest::Delete { name } => store
                .delete(name)
                .map(|()| format!("Deleted the preset \u{201c}{name}\u{201d}."))
                .map_err(failed),
        }
    }

    fn list(&self) -> Result<Vec<Preset>, String> {
        self.store()?
            .list()
            .map_err(|e| capitalized(&e.to_string()) + ".")
    }
}

fn capitalized(text: &str) -> String {
    super::settings::capitalized(text)
}

impl Work for PresetWork {
    type Request = PresetRequest;
    type Result = PresetNews;

    fn run(&mut self, request: &PresetRequest, reply: &Reply<PresetNews>) {
        if *request != PresetRequest::List {
            reply.send(PresetNews::Changed(self.change(request)));
        }
        reply.send(PresetNews::Listed(self.list()));
    }

    fn panicked(&mut self, request: &PresetRequest, message: &str, reply: &Reply<PresetNews>) {
        let text = format!("The presets could not be read or saved: {message}.");
        reply.send(match request {
            PresetRequest::List => PresetNews::Listed(Err(text)),
            _ => PresetNews::Changed(Err(text)),
        });
    }
}

/// Reads and changes the presets off the frame code's thread.
pub struct PresetThread {
    helper: Option<Helper<PresetWork>>,
    config_dir: Option<PathBuf>,
    refused: Vec<PresetNews>,
    waker: Waker,
}

impl PresetThread {
    /// Presets in `config_dir` (`None`: the default config folder).
    pub fn new(config_dir: Option<PathBuf>, waker: Waker) -> PresetThread {
        PresetThread {
            helper: None,
            config_dir,
            refused: Vec::new(),
            waker,
        }
    }

    /// The config folder asked for (`None`: the default one).
    pub fn config_dir(&self) -> Option<&std::path::Path> {
        self.config_dir.as_deref()
    }

    /// Hands `request` to the thread; news comes back through [`PresetThread::try_recv`].
    pub fn request(&mut self, request: PresetRequest) {
        if self.helper.is_none() {
            let work = PresetWork {
                config_dir: self.config_dir.clone(),
            };
            match Helper::start(
                "shrinkwrap-presets",
                PRESET_CHANNEL_CAPACITY,
                self.waker.clone(),
                work,
            ) {
                Ok(helper) => self.helper = Some(helper),
                Err(err) => {
                    self.refused.push(PresetNews::Changed(Err(format!(
                        "The presets could not be read or saved (no helper thread: {err})."
                    ))));
                    return;
                }
            }
        }
        if let Some(helper) = &self.helper
            && helper.try_send(request).is_err()
        {
            self.refused.push(PresetNews::Changed(Err(
                "Not done: the presets are still being saved; try again.".to_owned(),
            )));
        }
    }

    /// News ready now (never blocks).
    pub fn try_recv(&mut self) -> Option<PresetNews> {
        if !self.refused.is_empty() {
            return Some(self.refused.remove(0));
        }
        self.helper.as_ref()?.try_recv()
    }
}
