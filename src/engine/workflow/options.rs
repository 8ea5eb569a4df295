//! A job's options by the names users write them: the keys of a job file and of a preset, and
//! the command line's flags (a key with `-` for `_`, `--name` for `name_template`). Inputs,
//! output, shard and file lists are not options: they say what a job works on, not how.
//!
//! Each kind names, reads and sets its own options (its spec's `option_keys`, `options` and
//! `set_option`, in the kind's folder); this module only handles sets of them for any kind.
//!
//! Owns: [`KindOptions`] (a kind's options as `(key, value)`, possibly partial, so a set can be
//! laid over another: [`KindOptions::overlay`], later wins), reading a set from a spec, applying
//! one to a spec, reading one from a TOML table, and the command line's flags for a set.
//! Must not touch: the file system, the job's inputs and outputs, running anything, what any
//! option means (the kinds').

use std::path::PathBuf;

use serde::Deserialize;

use crate::engine::kinds::{JobSpec, kind_by_id};
use crate::engine::model::kind::JobKind;
pub use crate::engine::model::options::{OptionError, OptionValue};

use super::toml_out::TomlValue;

/// Why an option set cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// Options of one kind applied to a job of another.
    #[error("these are options of a {options} job, not of a {job} job")]
    KindMismatch {
        /// The options' kind.
        options: &'static str,
        /// The job's kind.
        job: &'static str,
    },
    /// An option the kind refuses (an unknown key, a value of the wrong type).
    #[error("{0}")]
    Option(#[from] OptionError),
}

/// One kind's option set: `(key, value)` in the order they are applied (a later value of a key
/// wins over an earlier one). Two sets are equal when they set the same values, in any order.
#[derive(Debug, Clone)]
pub struct KindOptions {
    kind: JobKind,
    entries: Vec<(&'static str, OptionValue)>,
}

impl PartialEq for KindOptions {
    fn eq(&self, other: &KindOptions) -> bool {
        let sorted = |o: &KindOptions| {
            let mut e = o.entries.clone();
            e.sort_by_key(|(k, _)| *k);
            e
        };
        self.kind == other.kind && sorted(self) == sorted(other)
    }
}

impl Eq for KindOptions {}

/// Which options of a spec to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Every option (a preset: applying it gives exactly these options).
    All,
    /// Those that differ from a new job's (a job file or a command line: short, and what the
    /// user chose).
    Changed,
}

/// A new job of `kind` (for its keys, and for what "changed" is measured against).
fn new_spec(kind: JobKind) -> Option<JobSpec> {
    JobSpec::new_of_kind(kind.id, Vec::new(), PathBuf::new())
}

impl KindOptions {
    /// The option keys of the kind with id `kind` (`None`: a kind this build does not know).
    pub fn keys(kind: &str) -> Option<&'static [&'static str]> {
        Some(new_spec(kind_by_id(kind)?)?.option_keys())
    }

    /// A set of `kind`'s options from `(key, value)` pairs, each checked on a new job of the
    /// kind (an unknown key, a value of the wrong type or out of range is refused).
    pub fn new(
        kind: JobKind,
        pairs: impl IntoIterator<Item = (String, OptionValue)>,
    ) -> Result<KindOptions, OptionsError> {
        let mut check = new_spec(kind).ok_or(OptionError::Unknown {
            key: String::new(),
            kind: kind.id,
        })?;
        let keys = check.option_keys();
        let mut set = KindOptions {
            kind,
            entries: Vec::new(),
        };
        for (key, value) in pairs {
            let Some(&known) = keys.iter().find(|k| **k == key) else {
                return Err(OptionError::Unknown { key, kind: kind.id }.into());
            };
            check.set_option(known, &value)?;
            set.push(known, value);
        }
        Ok(set)
    }

    /// Adds `key = value`, replacing an earlier value of the key.
    fn push(&mut self, key: &'static str, value: OptionValue) {
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, value));
    }

    /// Reads the option set of kind `kind` from a table (its keys only, each checked).
    pub(crate) fn deserialize_for<'de, D: serde::Deserializer<'de>>(
        kind: &str,
        d: D,
    ) -> Result<KindOptions, D::Error> {
        use serde::de::Error;
        let kind =
            kind_by_id(kind).ok_or_else(|| D::Error::custom(format!("unknown kind {kind}")))?;
        let pairs = Pairs::deserialize(d)?;
        KindOptions::new(kind, pairs.0).map_err(D::Error::custom)
    }

    /// The kind these options are for.
    pub fn kind(&self) -> JobKind {
        self.kind
    }

    /// An empty set for the kind with id `kind`.
    pub fn empty(kind: &str) -> Option<KindOptions> {
        let kind = kind_by_id(kind)?;
        new_spec(kind)?;
        Some(KindOptions {
            kind,
            entries: Vec::new(),
        })
    }

    /// Whether the set has no option.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The options of `spec`: all of them, or those a new job of its kind would not have.
    pub fn of_spec(spec: &JobSpec, which: Which) -> KindOptions {
        let all = spec.options();
        let entries = match (which, new_spec(spec.kind())) {
            (Which::Changed, Some(fresh)) => {
                let defaults = fresh.options();
                all.into_iter()
                    .filter(|entry| !defaults.contains(entry))
                    .collect()
            }
            _ => all,
        };
        KindOptions {
            kind: spec.kind(),
            entries,
        }
    }

    /// Sets these options on `spec`, in order (the others stay as they are).
    pub fn apply(&self, spec: &mut JobSpec) -> Result<(), OptionsError> {
        if spec.kind() != self.kind {
            return Err(OptionsError::KindMismatch {
                options: self.kind.id,
                job: spec.kind().id,
            });
        }
        for (key, value) in &self.entries {
            spec.set_option(key, value)?;
        }
        Ok(())
    }

    /// These options with `later`'s laid over them (later wins); a set of another kind
    /// replaces this one.
    pub fn overlay(&self, later: &KindOptions) -> KindOptions {
        if later.kind != self.kind {
            return later.clone();
        }
        let mut out = self.clone();
        for (key, value) in &later.entries {
            out.push(key, value.clone());
        }
        out
    }

    /// The options in the order they are applied, as `(key, value)`.
    pub(crate) fn entries(&self) -> Vec<(&'static str, TomlValue)> {
        self.entries.clone()
    }

    /// The command line's flags for these options (a `false` switch is left out: every switch
    /// is off unless given).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (key, value) in self.entries() {
            let flag = flag_of(key);
            match value {
                TomlValue::Bool(true) => args.push(flag),
                TomlValue::Bool(false) => {}
                TomlValue::Array(items) => {
                    for item in items {
                        args.push(flag.clone());
                        args.push(scalar_text(&item));
                    }
                }
                scalar => {
                    args.push(flag);
                    args.push(scalar_text(&scalar));
                }
            }
        }
        args
    }
}

/// A table's `(key, value)` pairs in the order met.
struct Pairs(Vec<(String, OptionValue)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Pairs, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of options")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs, A::Error> {
                let mut out = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, OptionValue>()? {
                    out.push((key, value));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// The command line's flag for option `key`.
pub fn flag_of(key: &str) -> String {
    match key {
        "name_template" => "--name".to_owned(),
        key => format!("--{}", key.replace('_', "-")),
    }
}

fn scalar_text(value: &TomlValue) -> String {
    match value {
        TomlValue::Str(s) => s.clone(),
        TomlValue::Int(n) => n.to_string(),
        TomlValue::Bool(b) => b.to_string(),
        TomlValue::Array(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kinds::thumbs::color::ColorMode;
    use crate::engine::kinds::thumbs::metadata::MetadataPolicy;
    use crate::engine::kinds::thumbs::spec::{ThumbFormat, ThumbSpec};
    use crate::engine::kinds::zip::spec::{ExistingArchive, ZipSpec};
    use crate::engine::model::plan::ConflictPolicy;

    fn thumbs() -> ThumbSpec {
        ThumbSpec::new(vec![PathBuf::from("/p")], PathBuf::from("/o"))
    }

    fn set(kind: &str, pairs: &[(&str, OptionValue)]) -> KindOptions {
        KindOptions::new(
            kind_by_id(kind).unwrap(),
            pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())),
        )
        .unwrap()
    }

    #[test]
    fn a_full_set_applied_to_a_new_spec_gives_the_same_spec() {
        let mut spec = thumbs();
        spec.sizes = [128, 1024].map(Into::into).to_vec();
        spec.format = ThumbFormat::Webp;
        spec.lossless = true;
        spec.metadata = MetadataPolicy::KeepSafe;
        spec.color = ColorMode::KeepProfile;
        spec.on_conflict = ConflictPolicy::Skip;
        spec.name_template = Some("{stem}-{size}".into());
        spec.quality = 70;
        let spec = JobSpec::Thumbs(spec);
        let mut fresh = JobSpec::Thumbs(thumbs());
        KindOptions::of_spec(&spec, Which::All)
            .apply(&mut fresh)
            .unwrap();
        assert_eq!(fresh, spec);
        let mut fresh = JobSpec::Thumbs(thumbs());
        KindOptions::of_spec(&spec, Which::Changed)
            .apply(&mut fresh)
            .unwrap();
        assert_eq!(fresh, spec);
    }

    #[test]
    fn every_kind_round_trips_its_options() {
        for kind in crate::engine::KINDS {
            let spec = new_spec(*kind).unwrap();
            let all = KindOptions::of_spec(&spec, Which::All);
            assert!(!all.is_empty(), "{}: options", kind.id);
            let mut fresh = new_spec(*kind).unwrap();
            all.apply(&mut fresh).unwrap();
            assert_eq!(fresh, spec, "{}", kind.id);
            assert!(KindOptions::of_spec(&spec, Which::Changed).is_empty());
        }
    }

    #[test]
    fn changed_options_leave_out_the_defaults() {
        let mut zip = ZipSpec::new(vec![PathBuf::from("/p")], PathBuf::from("/a.zip"));
        zip.level = 9;
        let changed = KindOptions::of_spec(&JobSpec::Zip(zip), Which::Changed);
        assert_eq!(changed.entries(), vec![("level", TomlValue::Int(9))]);
        assert_eq!(changed.to_args(), ["--level", "9"]);
    }

    #[test]
    fn later_options_win_and_existing_archive_choices_exclude_each_other() {
        let preset = set(
            "zip",
            &[
                ("level", OptionValue::Int(9)),
                ("overwrite", OptionValue::Bool(true)),
                ("keep_both", OptionValue::Bool(false)),
            ],
        );
        let flags = set("zip", &[("keep_both", OptionValue::Bool(true))]);
        let mut spec = JobSpec::Zip(ZipSpec::new(vec![PathBuf::from("/p")], "/a.zip".into()));
        preset.overlay(&flags).apply(&mut spec).unwrap();
        let JobSpec::Zip(z) = &spec else {
            panic!("a zip spec")
        };
        assert_eq!((z.level, z.on_exists), (9, ExistingArchive::KeepBoth));
        let thumbs_options = KindOptions::empty("thumbs").unwrap();
        assert!(matches!(
            thumbs_options.apply(&mut spec),
            Err(OptionsError::KindMismatch { .. })
        ));
        let refused = KindOptions::new(
            kind_by_id("zip").unwrap(),
            [("level".to_owned(), OptionValue::Int(12))],
        );
        assert!(matches!(refused, Err(OptionsError::Option(_))));
        let unknown = KindOptions::new(
            kind_by_id("extract").unwrap(),
            [("level".to_owned(), OptionValue::Int(1))],
        );
        assert!(matches!(
            unknown,
            Err(OptionsError::Option(OptionError::Unknown { .. }))
        ));
    }

    #[test]
    fn flags_follow_the_keys() {
        let o = set(
            "thumbs",
            &[
                ("size", OptionValue::of_ints(&[256u32, 1024])),
                ("name_template", OptionValue::Str("{stem}_{size}".into())),
                ("metadata", OptionValue::Str("keep-safe".into())),
                ("keep_icc", OptionValue::Bool(true)),
                ("lossless", OptionValue::Bool(false)),
                ("on_conflict", OptionValue::Str("rename".into())),
            ],
        );
        assert_eq!(
            o.to_args(),
            [
                "--size",
                "256",
                "--size",
                "1024",
                "--name",
                "{stem}_{size}",
                "--metadata",
                "keep-safe",
                "--keep-icc",
                "--on-conflict",
                "rename"
            ]
        );
    }
}
