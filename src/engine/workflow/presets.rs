//! Presets: named option sets ([`KindOptions`]: how a job works, never what it works on or
//! where it writes), saved in the user's config folder and applied to a job (`--preset NAME`,
//! the window's preset menu, a job file's `preset`), plus a few built in.
//!
//! The user's presets live in `presets.toml` in the config folder: `$SHRINKWRAP_CONFIG_DIR`
//! when set (tests use it), else the platform's config folder for `shrinkwrap` (`directories`:
//! `~/.config/shrinkwrap` on Linux). The file is a list of `[[preset]]` tables, each a `name`, a
//! `kind` and that kind's option keys (the job file's keys). Saving rewrites it under a
//! temporary name and renames it into place: a crash leaves the old file or the new one. Names
//! are compared without regard to case; a built-in name cannot be saved over, renamed or
//! deleted. Two programs saving at the same moment: the last one's file wins.
//!
//! Owns: [`PresetStore`], [`builtin_presets`], [`find_preset`]. Must not touch: the job's
//! inputs and outputs, any front end.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::options::KindOptions;
use super::toml_in::{
    KeyProblem, entries, job_file_kind, kind_of, known_kinds, line_of, read_as, read_table,
    split_keys,
};
use super::toml_out::{TomlValue, array_table};
use crate::engine::kinds::JobSpec;
use crate::engine::model::error::IoCause;

/// The variable that overrides the config folder.
pub const CONFIG_DIR_ENV: &str = "SHRINKWRAP_CONFIG_DIR";
/// The presets file in the config folder.
pub const PRESETS_FILE: &str = "presets.toml";

/// A named option set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    /// Its name (compared without regard to case).
    pub name: String,
    /// The options it sets.
    pub options: KindOptions,
    /// Shipped with the program: cannot be changed or deleted.
    pub builtin: bool,
}

/// Why a preset cannot be found, read or saved.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    /// No preset of that name.
    #[error("no preset named {0:?}")]
    NotFound(String),
    /// A built-in preset cannot be saved over, renamed or deleted.
    #[error(
        "{0:?} is a built-in preset: it cannot be changed or deleted (save under another name)"
    )]
    Builtin(String),
    /// Renaming onto a name that is taken.
    #[error("a preset named {0:?} exists already")]
    Exists(String),
    /// An empty name.
    #[error("a preset needs a name")]
    NoName,
    /// No config folder to keep presets in.
    #[error("no config folder (HOME is not set and {CONFIG_DIR_ENV} is not given)")]
    NoConfigFolder,
    /// The presets file cannot be read.
    #[error("cannot read {}: {cause}", path.display())]
    Read {
        /// The presets file.
        path: PathBuf,
        /// What the OS said, in the user's terms.
        cause: IoCause,
    },
    /// The presets file cannot be written.
    #[error("cannot save {}: {cause}", path.display())]
    Write {
        /// The presets file.
        path: PathBuf,
        /// What the OS said, in the user's terms.
        cause: IoCause,
    },
    /// The presets file is damaged (edited by hand, perhaps).
    #[error("{}, line {line}: {problem}", path.display())]
    File {
        /// The presets file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong there.
        problem: String,
    },
}

/// The presets that come with the program: each kind's own.
pub fn builtin_presets() -> Vec<Preset> {
    JobSpec::builtin_presets()
        .into_iter()
        .filter_map(|(name, kind, pairs)| {
            let pairs = pairs.into_iter().map(|(k, v)| (k.to_owned(), v));
            Some(Preset {
                name: name.to_owned(),
                options: KindOptions::new(kind, pairs).ok()?,
                builtin: true,
            })
        })
        .collect()
}

/// The config folder: `$SHRINKWRAP_CONFIG_DIR`, else the platform's for `shrinkwrap`.
pub fn default_config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "shrinkwrap").map(|d| d.config_dir().to_path_buf())
}

/// The preset `name` (case ignored): a built-in one, or one of `store` when there is one.
pub fn find_preset(store: Option<&PresetStore>, name: &str) -> Result<Preset, PresetError> {
    if let Some(p) = builtin_presets()
        .into_iter()
        .find(|p| same_name(&p.name, name))
    {
        return Ok(p);
    }
    match store {
        Some(store) => store.get(name),
        None => Err(PresetError::NotFound(name.to_owned())),
    }
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// The user's presets, in a config folder. Every call reads (or writes) the file: call it off
/// the UI thread.
#[derive(Debug, Clone)]
pub struct PresetStore {
    dir: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetKeys {
    name: String,
    /// Read before the table is split (it chooses the keys).
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
}

impl PresetStore {
    /// The presets in config folder `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> PresetStore {
        PresetStore { dir: dir.into() }
    }

    /// The presets in the default config folder ([`default_config_dir`]).
    pub fn open_default() -> Result<PresetStore, PresetError> {
        default_config_dir()
            .map(PresetStore::new)
            .ok_or(PresetError::NoConfigFolder)
    }

    /// The presets file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(PRESETS_FILE)
    }

    /// Every preset: the built-in ones, then the user's in the order they were saved.
    pub fn list(&self) -> Result<Vec<Preset>, PresetError> {
        let mut all = builtin_presets();
        all.extend(self.user_presets()?);
        Ok(all)
    }

    /// The preset `name` (case ignored), built-in or the user's.
    pub fn get(&self, name: &str) -> Result<Preset, PresetError> {
        self.list()?
            .into_iter()
            .find(|p| same_name(&p.name, name))
            .ok_or_else(|| PresetError::NotFound(name.to_owned()))
    }

    /// Saves `options` as preset `name`, replacing the user's preset of that name.
    pub fn save(&self, name: &str, options: KindOptions) -> Result<(), PresetError> {
        let name = checked_name(name)?;
        let mut presets = self.user_presets()?;
        let preset = Preset {
            name: name.clone(),
            options,
            builtin: false,
        };
        match presets.iter_mut().find(|p| same_name(&p.name, &name)) {
            Some(old) => *old = preset,
            None => presets.push(preset),
        }
        self.write(&presets)
    }

    /// Renames the user's preset `from` to `to`.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), PresetError> {
        let to = checked_name(to)?;
        if builtin_presets().iter().any(|p| same_name(&p.name, from)) {
            return Err(PresetError::Builtin(from.to_owned()));
        }
        let mut presets = self.user_presets()?;
        if !same_name(from, &to) && presets.iter().any(|p| same_name(&p.name, &to)) {
            return Err(PresetError::Exists(to));
        }
        let preset = presets
            .iter_mut()
            .find(|p| same_name(&p.name, from))
            .ok_or_else(|| PresetError::NotFound(from.to_owned()))?;
        preset.name = to;
        self.write(&presets)
    }

    /// Deletes the user's preset `name`.
    pub fn delete(&self, name: &str) -> Result<(), PresetError> {
        if builtin_presets().iter().any(|p| same_name(&p.name, name)) {
            return Err(PresetError::Builtin(name.to_owned()));
        }
        let mut presets = self.user_presets()?;
        let before = presets.len();
        presets.retain(|p| !same_name(&p.name, name));
        if presets.len() == before {
            return Err(PresetError::NotFound(name.to_owned()));
        }
        self.write(&presets)
    }

    /// The user's presets (none when the file does not exist yet).
    fn user_presets(&self) -> Result<Vec<Preset>, PresetError> {
        let path = self.path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(PresetError::Read {
                    path,
                    cause: IoCause::of(e),
                });
            }
        };
        parse_presets(&text, &path)
    }

    fn write(&self, presets: &[Preset]) -> Result<(), PresetError> {
        let path = self.path();
        let failed = |e: std::io::Error| PresetError::Write {
            path: path.clone(),
            cause: IoCause::of(e),
        };
        let mut text = String::from(
            "# Shrinkwrap presets: job options by name (never inputs or outputs).\n\
             # Keys as in a job file's [[job]] table.\n",
        );
        for p in presets {
            let mut entries = vec![
                ("name", TomlValue::Str(p.name.clone())),
                ("kind", TomlValue::Str(p.options.kind().id.to_owned())),
            ];
            entries.extend(p.options.entries());
            text.push('\n');
            array_table(&mut text, "preset", &entries);
        }
        std::fs::create_dir_all(&self.dir).map_err(failed)?;
        let mut temp = tempfile::Builder::new()
            .prefix(".presets.")
            .suffix(".part")
            .tempfile_in(&self.dir)
            .map_err(failed)?;
        use std::io::Write;
        temp.write_all(text.as_bytes()).map_err(failed)?;
        temp.as_file().sync_all().map_err(failed)?;
        temp.persist(&path).map_err(|e| failed(e.error))?;
        Ok(())
    }
}

/// A preset's name, trimmed; an empty one is refused, a built-in one cannot be saved over.
fn checked_name(name: &str) -> Result<String, PresetError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(PresetError::NoName);
    }
    if builtin_presets().iter().any(|p| same_name(&p.name, name)) {
        return Err(PresetError::Builtin(name.to_owned()));
    }
    Ok(name.to_owned())
}

/// Reads a presets file.
fn parse_presets(text: &str, path: &Path) -> Result<Vec<Preset>, PresetError> {
    let err = |at: usize, problem: String| PresetError::File {
        path: path.to_path_buf(),
        line: line_of(text, at),
        problem,
    };
    let doc = toml::de::DeTable::parse(text)
        .map_err(|e| err(e.span().map_or(0, |s| s.start), e.message().to_owned()))?;
    for (key, span, _) in entries(doc.get_ref()) {
        if key != "preset" {
            return Err(err(
                span.start,
                format!("`{key}` is not a key of a presets file"),
            ));
        }
    }
    let Some(list) = doc.get_ref().get("preset") else {
        return Ok(Vec::new());
    };
    let Some(array) = list.get_ref().as_array() else {
        return Err(err(
            list.span().start,
            "`preset` must be [[preset]] tables".into(),
        ));
    };
    let mut out = Vec::new();
    for item in array {
        let at = item.span().start;
        let Some(table) = item.get_ref().as_table() else {
            return Err(err(at, "`preset` must be [[preset]] tables".into()));
        };
        let (kind, kind_at) = kind_of(table)
            .ok_or_else(|| err(at, format!("no `kind` (one of: {})", known_kinds())))?;
        let kind = job_file_kind(kind).ok_or_else(|| {
            err(
                kind_at,
                format!(
                    "unknown kind `{kind}` (this build knows: {})",
                    known_kinds()
                ),
            )
        })?;
        let located =
            |l: super::toml_in::Located<KeyProblem>| err(l.at.unwrap_or(at), l.problem.to_string());
        let (common, options) = split_keys(table, kind, &["name", "kind"]).map_err(located)?;
        let keys: PresetKeys = read_as(common, item.span()).map_err(located)?;
        let options = read_table(options, item.span(), |d| {
            KindOptions::deserialize_for(kind, d)
        })
        .map_err(located)?;
        out.push(Preset {
            name: keys.name,
            options,
            builtin: false,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kinds::thumbs::spec::{ThumbFormat, ThumbSpec};
    use crate::engine::workflow::options::Which;

    #[test]
    fn presets_are_saved_listed_applied_renamed_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let store = PresetStore::new(dir.path().join("config"));
        assert_eq!(store.list().unwrap().len(), builtin_presets().len());
        let mut spec = ThumbSpec::new(vec!["/p".into()], "/o".into());
        spec.sizes = [64, 128].map(Into::into).to_vec();
        spec.format = ThumbFormat::Png;
        spec.name_template = Some("{stem} \"{size}\"".into());
        let options = KindOptions::of_spec(&JobSpec::Thumbs(spec.clone()), Which::All);
        store.save("Tiny PNGs", options.clone()).unwrap();
        // Read back from the file, applied to a new job: the same options.
        let found = find_preset(Some(&store), "tiny pngs").unwrap();
        assert_eq!(found.options, options);
        let mut fresh = JobSpec::Thumbs(ThumbSpec::new(vec!["/p".into()], "/o".into()));
        found.options.apply(&mut fresh).unwrap();
        assert_eq!(fresh, JobSpec::Thumbs(spec));
        store.rename("tiny pngs", "Small").unwrap();
        assert!(matches!(
            store.get("Tiny PNGs"),
            Err(PresetError::NotFound(_))
        ));
        assert_eq!(store.get("small").unwrap().name, "Small");
        store.delete("Small").unwrap();
        assert_eq!(store.list().unwrap().len(), builtin_presets().len());
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("config"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [PRESETS_FILE]);
    }

    #[test]
    fn built_in_presets_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = PresetStore::new(dir.path());
        let web = KindOptions::empty("thumbs").unwrap();
        assert!(matches!(
            store.save("Web 1024 px WebP", web),
            Err(PresetError::Builtin(_))
        ));
        assert!(matches!(
            store.delete("archive for email"),
            Err(PresetError::Builtin(_))
        ));
        assert!(matches!(
            store.rename("archive for email", "x"),
            Err(PresetError::Builtin(_))
        ));
        assert!(matches!(
            store.save("  ", KindOptions::empty("zip").unwrap()),
            Err(PresetError::NoName)
        ));
    }

    #[test]
    fn a_damaged_presets_file_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(PRESETS_FILE),
            "[[preset]]\nname = \"a\"\nkind = \"zip\"\nlevel = \"high\"\n",
        )
        .unwrap();
        let e = PresetStore::new(dir.path()).list().unwrap_err().to_string();
        assert!(e.contains("presets.toml, line 4: `level`"), "{e}");
    }
}
