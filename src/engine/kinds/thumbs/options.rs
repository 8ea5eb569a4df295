//! The thumbnail kind's options by the names job files, presets and flags use: `size`,
//! `name_template` (the flag `--name`: in a job file `name` names the job), `format`,
//! `quality`, `lossless`, `metadata`, `keep_icc`, `on_conflict`.
//!
//! Owns: reading and setting them on a [`ThumbSpec`]. Must not touch: defaults and ranges (the
//! spec's, checked when the job is submitted), files.

use crate::engine::model::options::{OptionError, OptionValue};

use super::color::ColorMode;
use super::spec::ThumbSpec;

/// The option keys, in the order job files write them.
pub(crate) const OPTION_KEYS: &[&str] = &[
    "size",
    "name_template",
    "format",
    "quality",
    "lossless",
    "metadata",
    "keep_icc",
    "on_conflict",
];

/// Every option of `spec` (no `name_template` when the default one applies).
pub(crate) fn options(spec: &ThumbSpec) -> Vec<(&'static str, OptionValue)> {
    let mut out = vec![("size", OptionValue::of_ints(&spec.sizes_px))];
    if let Some(t) = &spec.name_template {
        out.push(("name_template", OptionValue::Str(t.clone())));
    }
    out.extend([
        ("format", OptionValue::of_enum(&spec.format)),
        ("quality", OptionValue::Int(spec.quality.into())),
        ("lossless", OptionValue::Bool(spec.lossless)),
        ("metadata", OptionValue::of_enum(&spec.metadata)),
        (
            "keep_icc",
            OptionValue::Bool(spec.color == ColorMode::KeepProfile),
        ),
        ("on_conflict", OptionValue::of_enum(&spec.on_conflict)),
    ]);
    out
}

/// Sets option `key` (`size` takes one number or a list).
pub(crate) fn set_option(
    spec: &mut ThumbSpec,
    key: &str,
    value: &OptionValue,
) -> Result<(), OptionError> {
    match key {
        "size" => spec.sizes_px = value.as_int_list(key)?,
        "name_template" => spec.name_template = Some(value.as_str(key)?.to_owned()),
        "format" => spec.format = value.as_enum(key)?,
        "quality" => spec.quality = value.as_int(key)?,
        "lossless" => spec.lossless = value.as_bool(key)?,
        "metadata" => spec.metadata = value.as_enum(key)?,
        "keep_icc" => {
            spec.color = if value.as_bool(key)? {
                ColorMode::KeepProfile
            } else {
                ColorMode::ConvertToSrgb
            }
        }
        "on_conflict" => spec.on_conflict = value.as_enum(key)?,
        _ => {
            return Err(OptionError::Unknown {
                key: key.to_owned(),
                kind: super::KIND.id,
            });
        }
    }
    Ok(())
}

/// The presets the thumbnail kind ships: (name, options).
pub(crate) fn builtin_presets() -> Vec<(&'static str, Vec<(&'static str, OptionValue)>)> {
    use super::metadata::MetadataPolicy;
    use super::spec::ThumbFormat;
    use crate::engine::model::plan::ConflictPolicy;
    vec![(
        "web 1024 px WebP",
        vec![
            ("size", OptionValue::of_ints(&[1024u32])),
            ("format", OptionValue::of_enum(&ThumbFormat::Webp)),
            ("quality", OptionValue::Int(80)),
            ("lossless", OptionValue::Bool(false)),
            // Photos on the web keep no location or camera serials.
            ("metadata", OptionValue::of_enum(&MetadataPolicy::Strip)),
            ("keep_icc", OptionValue::Bool(false)),
            ("on_conflict", OptionValue::of_enum(&ConflictPolicy::Update)),
        ],
    )]
}
