//! A job's options by the names users write them: the keys of a job file and of a preset, and
//! the command line's flags (a key with `-` for `_`, `--name` for `name_template`). Inputs,
//! output, shard and file lists are not options: they say what a job works on, not how.
//!
//! Owns: each kind's option set ([`ZipOptions`], [`ThumbsOptions`]; every field optional, so a
//! set can be partial and laid over another: [`KindOptions::overlay`], later wins), reading a
//! set from a spec, applying one to a spec, and the `(key, value)` list that job files, preset
//! files and command lines are written from.
//! Must not touch: the file system, the job's inputs and outputs, running anything.
//!
//! A kind added to the engine needs its options here (the matches on [`JobSpec`] below are
//! exhaustive on purpose: a new kind does not compile until it has them).

use std::path::PathBuf;

use serde::Deserialize;

use crate::engine::kinds::thumbs::color::ColorMode;
use crate::engine::kinds::thumbs::metadata::MetadataPolicy;
use crate::engine::kinds::thumbs::spec::{ThumbFormat, ThumbSpec};
use crate::engine::kinds::zip::spec::{ExistingArchive, ZipSpec};
use crate::engine::kinds::{JobSpec, kind_by_id};
use crate::engine::model::kind::JobKind;
use crate::engine::model::plan::ConflictPolicy;

use super::toml_out::TomlValue;

/// The option keys of a zip job.
pub const ZIP_OPTION_KEYS: &[&str] = &["level", "overwrite", "keep_both"];
/// The option keys of a thumbnail job.
pub const THUMBS_OPTION_KEYS: &[&str] = &[
    "size",
    "name_template",
    "format",
    "quality",
    "lossless",
    "metadata",
    "keep_icc",
    "on_conflict",
];

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
    /// Both ways of treating an existing archive at once.
    #[error("`overwrite` and `keep_both` cannot both be true")]
    OverwriteAndKeepBoth,
}

/// A zip job's options (`None`: not part of this set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZipOptions {
    /// Deflate level, 0 (store) to 9 (smallest). Flag `--level`.
    pub level: Option<u8>,
    /// Replace an existing archive once the new one is complete. Flag `--overwrite`.
    pub overwrite: Option<bool>,
    /// Keep an existing archive and write `name (1).zip`. Flag `--keep-both`.
    pub keep_both: Option<bool>,
}

/// A thumbnail job's options (`None`: not part of this set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThumbsOptions {
    /// Box sides in pixels, one thumbnail each (`size = 256` or `size = [256, 1024]`). Flag
    /// `--size`, repeated.
    #[serde(default, deserialize_with = "one_or_many")]
    pub size: Option<Vec<u32>>,
    /// The output file name template. Flag `--name` (in a job file `name` names the job).
    pub name_template: Option<String>,
    /// `jpeg`, `png` or `webp`. Flag `--format`.
    pub format: Option<ThumbFormat>,
    /// JPEG and lossy WebP quality, 1-100. Flag `--quality`.
    pub quality: Option<u8>,
    /// WebP: lossless. Flag `--lossless`.
    pub lossless: Option<bool>,
    /// `strip`, `keep-safe` or `keep`. Flag `--metadata`.
    pub metadata: Option<MetadataPolicy>,
    /// Keep the source's ICC profile instead of converting to sRGB. Flag `--keep-icc`.
    pub keep_icc: Option<bool>,
    /// `update`, `rename`, `overwrite` or `skip`. Flag `--on-conflict`.
    pub on_conflict: Option<ConflictPolicy>,
}

/// `size = 256` or `size = [256, 1024]`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<u32>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(u32),
        Many(Vec<u32>),
    }
    Ok(Some(match OneOrMany::deserialize(d)? {
        OneOrMany::One(n) => vec![n],
        OneOrMany::Many(v) => v,
    }))
}

/// One kind's option set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindOptions {
    /// A zip job's.
    Zip(ZipOptions),
    /// A thumbnail job's.
    Thumbs(ThumbsOptions),
}

/// Which options of a spec to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Every option (a preset: applying it gives exactly these options).
    All,
    /// Those that differ from a new job's (a job file or a command line: short, and what the
    /// user chose).
    Changed,
}

impl ZipOptions {
    fn of(spec: &ZipSpec) -> ZipOptions {
        ZipOptions {
            level: Some(spec.level),
            overwrite: Some(spec.on_exists == ExistingArchive::Replace),
            keep_both: Some(spec.on_exists == ExistingArchive::KeepBoth),
        }
    }

    fn apply(&self, spec: &mut ZipSpec) -> Result<(), OptionsError> {
        if let Some(level) = self.level {
            spec.level = level;
        }
        spec.on_exists = match (self.overwrite, self.keep_both) {
            (Some(true), Some(true)) => return Err(OptionsError::OverwriteAndKeepBoth),
            (Some(true), _) => ExistingArchive::Replace,
            (_, Some(true)) => ExistingArchive::KeepBoth,
            (Some(false), _) if spec.on_exists == ExistingArchive::Replace => ExistingArchive::Fail,
            (_, Some(false)) if spec.on_exists == ExistingArchive::KeepBoth => {
                ExistingArchive::Fail
            }
            _ => spec.on_exists,
        };
        Ok(())
    }

    fn overlay(&self, later: &ZipOptions) -> ZipOptions {
        // Choosing one way to treat an existing archive drops the other.
        let (overwrite, keep_both) = match (later.overwrite, later.keep_both) {
            (Some(true), None) => (Some(true), Some(false)),
            (None, Some(true)) => (Some(false), Some(true)),
            (o, k) => (o.or(self.overwrite), k.or(self.keep_both)),
        };
        ZipOptions {
            level: later.level.or(self.level),
            overwrite,
            keep_both,
        }
    }

    fn entries(&self) -> Vec<(&'static str, TomlValue)> {
        let mut out = Vec::new();
        if let Some(level) = self.level {
            out.push(("level", TomlValue::Int(level.into())));
        }
        if let Some(b) = self.overwrite {
            out.push(("overwrite", TomlValue::Bool(b)));
        }
        if let Some(b) = self.keep_both {
            out.push(("keep_both", TomlValue::Bool(b)));
        }
        out
    }
}

impl ThumbsOptions {
    fn of(spec: &ThumbSpec) -> ThumbsOptions {
        ThumbsOptions {
            size: Some(spec.sizes_px.clone()),
            name_template: spec.name_template.clone(),
            format: Some(spec.format),
            quality: Some(spec.quality),
            lossless: Some(spec.lossless),
            metadata: Some(spec.metadata),
            keep_icc: Some(spec.color == ColorMode::KeepProfile),
            on_conflict: Some(spec.on_conflict),
        }
    }

    fn apply(&self, spec: &mut ThumbSpec) {
        if let Some(size) = &self.size {
            spec.sizes_px = size.clone();
        }
        if let Some(t) = &self.name_template {
            spec.name_template = Some(t.clone());
        }
        if let Some(f) = self.format {
            spec.format = f;
        }
        if let Some(q) = self.quality {
            spec.quality = q;
        }
        if let Some(b) = self.lossless {
            spec.lossless = b;
        }
        if let Some(m) = self.metadata {
            spec.metadata = m;
        }
        if let Some(keep) = self.keep_icc {
            spec.color = if keep {
                ColorMode::KeepProfile
            } else {
                ColorMode::ConvertToSrgb
            };
        }
        if let Some(c) = self.on_conflict {
            spec.on_conflict = c;
        }
    }

    fn overlay(&self, later: &ThumbsOptions) -> ThumbsOptions {
        ThumbsOptions {
            size: later.size.clone().or_else(|| self.size.clone()),
            name_template: later
                .name_template
                .clone()
                .or_else(|| self.name_template.clone()),
            format: later.format.or(self.format),
            quality: later.quality.or(self.quality),
            lossless: later.lossless.or(self.lossless),
            metadata: later.metadata.or(self.metadata),
            keep_icc: later.keep_icc.or(self.keep_icc),
            on_conflict: later.on_conflict.or(self.on_conflict),
        }
    }

    fn entries(&self) -> Vec<(&'static str, TomlValue)> {
        let mut out = Vec::new();
        if let Some(size) = &self.size {
            let sizes = size.iter().map(|&px| TomlValue::Int(px.into())).collect();
            out.push(("size", TomlValue::Array(sizes)));
        }
        if let Some(t) = &self.name_template {
            out.push(("name_template", TomlValue::Str(t.clone())));
        }
        if let Some(f) = self.format {
            out.push(("format", TomlValue::Str(enum_name(&f))));
        }
        if let Some(q) = self.quality {
            out.push(("quality", TomlValue::Int(q.into())));
        }
        if let Some(b) = self.lossless {
            out.push(("lossless", TomlValue::Bool(b)));
        }
        if let Some(m) = self.metadata {
            out.push(("metadata", TomlValue::Str(enum_name(&m))));
        }
        if let Some(b) = self.keep_icc {
            out.push(("keep_icc", TomlValue::Bool(b)));
        }
        if let Some(c) = self.on_conflict {
            out.push(("on_conflict", TomlValue::Str(enum_name(&c))));
        }
        out
    }
}

/// A unit enum variant's serde name (`keep-safe`, `webp`): the same word job files read.
fn enum_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

impl KindOptions {
    /// The option keys of the kind with id `kind` (`None`: a kind without options here).
    pub fn keys(kind: &str) -> Option<&'static [&'static str]> {
        match kind {
            "zip" => Some(ZIP_OPTION_KEYS),
            "thumbs" => Some(THUMBS_OPTION_KEYS),
            _ => None,
        }
    }

    /// Reads the option set of kind `kind` (its keys only, each checked for type).
    pub(crate) fn deserialize_for<'de, D: serde::Deserializer<'de>>(
        kind: &str,
        d: D,
    ) -> Result<KindOptions, D::Error> {
        match kind {
            "zip" => ZipOptions::deserialize(d).map(KindOptions::Zip),
            "thumbs" => ThumbsOptions::deserialize(d).map(KindOptions::Thumbs),
            other => Err(serde::de::Error::custom(format!("unknown kind {other}"))),
        }
    }

    /// The kind these options are for.
    pub fn kind(&self) -> JobKind {
        match self {
            KindOptions::Zip(_) => crate::engine::kinds::zip::KIND,
            KindOptions::Thumbs(_) => crate::engine::kinds::thumbs::KIND,
        }
    }

    /// An empty set for the kind with id `kind`.
    pub fn empty(kind: &str) -> Option<KindOptions> {
        match kind_by_id(kind)?.id {
            "zip" => Some(KindOptions::Zip(ZipOptions::default())),
            "thumbs" => Some(KindOptions::Thumbs(ThumbsOptions::default())),
            _ => None,
        }
    }

    /// The options of `spec`: all of them, or those a new job of its kind would not have.
    pub fn of_spec(spec: &JobSpec, which: Which) -> KindOptions {
        let all = match spec {
            JobSpec::Zip(z) => KindOptions::Zip(ZipOptions::of(z)),
            JobSpec::Thumbs(t) => KindOptions::Thumbs(ThumbsOptions::of(t)),
        };
        match which {
            Which::All => all,
            Which::Changed => {
                let fresh = KindOptions::of_spec(&new_spec_like(spec), Which::All);
                all.without_equal(&fresh)
            }
        }
    }

    /// This set minus the options equal in `other` (same kind).
    fn without_equal(self, other: &KindOptions) -> KindOptions {
        fn keep<T: PartialEq>(mine: Option<T>, theirs: &Option<T>) -> Option<T> {
            mine.filter(|m| Some(m) != theirs.as_ref())
        }
        match (self, other) {
            (KindOptions::Zip(a), KindOptions::Zip(b)) => KindOptions::Zip(ZipOptions {
                level: keep(a.level, &b.level),
                overwrite: keep(a.overwrite, &b.overwrite),
                keep_both: keep(a.keep_both, &b.keep_both),
            }),
            (KindOptions::Thumbs(a), KindOptions::Thumbs(b)) => {
                KindOptions::Thumbs(ThumbsOptions {
                    size: keep(a.size, &b.size),
                    name_template: keep(a.name_template, &b.name_template),
                    format: keep(a.format, &b.format),
                    quality: keep(a.quality, &b.quality),
                    lossless: keep(a.lossless, &b.lossless),
                    metadata: keep(a.metadata, &b.metadata),
                    keep_icc: keep(a.keep_icc, &b.keep_icc),
                    on_conflict: keep(a.on_conflict, &b.on_conflict),
                })
            }
            (mine, _) => mine,
        }
    }

    /// Sets these options on `spec` (the others stay as they are).
    pub fn apply(&self, spec: &mut JobSpec) -> Result<(), OptionsError> {
        match (self, spec) {
            (KindOptions::Zip(o), JobSpec::Zip(s)) => o.apply(s),
            (KindOptions::Thumbs(o), JobSpec::Thumbs(s)) => {
                o.apply(s);
                Ok(())
            }
            (options, spec) => Err(OptionsError::KindMismatch {
                options: options.kind().id,
                job: spec.kind().id,
            }),
        }
    }

    /// These options with `later`'s laid over them (later wins); a set of another kind
    /// replaces this one.
    pub fn overlay(&self, later: &KindOptions) -> KindOptions {
        match (self, later) {
            (KindOptions::Zip(a), KindOptions::Zip(b)) => KindOptions::Zip(a.overlay(b)),
            (KindOptions::Thumbs(a), KindOptions::Thumbs(b)) => KindOptions::Thumbs(a.overlay(b)),
            (_, later) => later.clone(),
        }
    }

    /// The options in the order job files write them, as `(key, value)`.
    pub(crate) fn entries(&self) -> Vec<(&'static str, TomlValue)> {
        match self {
            KindOptions::Zip(o) => o.entries(),
            KindOptions::Thumbs(o) => o.entries(),
        }
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

/// A new job of `spec`'s kind (for what "changed" is measured against).
fn new_spec_like(spec: &JobSpec) -> JobSpec {
    match spec {
        JobSpec::Zip(_) => JobSpec::Zip(ZipSpec::new(Vec::new(), PathBuf::new())),
        JobSpec::Thumbs(_) => JobSpec::Thumbs(ThumbSpec::new(Vec::new(), PathBuf::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thumbs() -> ThumbSpec {
        ThumbSpec::new(vec![PathBuf::from("/p")], PathBuf::from("/o"))
    }

    #[test]
    fn a_full_set_applied_to_a_new_spec_gives_the_same_spec() {
        let mut spec = thumbs();
        spec.sizes_px = vec![128, 1024];
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
    fn changed_options_leave_out_the_defaults() {
        let mut zip = ZipSpec::new(vec![PathBuf::from("/p")], PathBuf::from("/a.zip"));
        zip.level = 9;
        let changed = KindOptions::of_spec(&JobSpec::Zip(zip), Which::Changed);
        assert_eq!(changed.entries(), vec![("level", TomlValue::Int(9))]);
        assert_eq!(changed.to_args(), ["--level", "9"]);
    }

    #[test]
    fn later_options_win_and_existing_archive_choices_exclude_each_other() {
        let preset = KindOptions::Zip(ZipOptions {
            level: Some(9),
            overwrite: Some(true),
            keep_both: Some(false),
        });
        let flags = KindOptions::Zip(ZipOptions {
            keep_both: Some(true),
            ..ZipOptions::default()
        });
        let mut spec = JobSpec::Zip(ZipSpec::new(vec![PathBuf::from("/p")], "/a.zip".into()));
        preset.overlay(&flags).apply(&mut spec).unwrap();
        let JobSpec::Zip(z) = &spec else { panic!() };
        assert_eq!((z.level, z.on_exists), (9, ExistingArchive::KeepBoth));
        let both = KindOptions::Zip(ZipOptions {
            overwrite: Some(true),
            keep_both: Some(true),
            ..ZipOptions::default()
        });
        assert_eq!(
            both.apply(&mut spec),
            Err(OptionsError::OverwriteAndKeepBoth)
        );
        let thumbs_options = KindOptions::empty("thumbs").unwrap();
        assert!(matches!(
            thumbs_options.apply(&mut spec),
            Err(OptionsError::KindMismatch { .. })
        ));
    }

    #[test]
    fn flags_follow_the_keys() {
        let o = KindOptions::Thumbs(ThumbsOptions {
            size: Some(vec![256, 1024]),
            name_template: Some("{stem}_{size}".into()),
            metadata: Some(MetadataPolicy::KeepSafe),
            keep_icc: Some(true),
            lossless: Some(false),
            on_conflict: Some(ConflictPolicy::Rename),
            ..ThumbsOptions::default()
        });
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
