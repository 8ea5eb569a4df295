//! The thumbnail kind's options by the names job files, presets and flags use: `size` (a number
//! for a square, `"WxH"` for a box, or a list of them), `fit`, `upscale`, `name_template` (the flag `--name`: in a job file `name` names the job), `format`,
//! `quality`, `lossless`, `metadata`, `keep_icc`, `on_conflict`.
//!
//! Owns: reading and setting them on a [`ThumbSpec`]. Must not touch: defaults and ranges (the
//! spec's, checked when the job is submitted), files.

use crate::engine::model::options::{OptionError, OptionValue};

use super::color::ColorMode;
use super::spec::{ThumbSize, ThumbSpec};

/// The option keys, in the order job files write them.
pub(crate) const OPTION_KEYS: &[&str] = &[
    "size",
    "fit",
    "upscale",
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
    let mut out = vec![
        ("size", sizes_value(&spec.sizes)),
        ("fit", OptionValue::of_enum(&spec.fit)),
        ("upscale", OptionValue::Bool(spec.upscale)),
    ];
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

/// Boxes as option values: a square as its side, a box as `"WxH"`.
fn sizes_value(sizes: &[ThumbSize]) -> OptionValue {
    OptionValue::Array(
        sizes
            .iter()
            .map(|s| {
                if s.is_square() {
                    OptionValue::Int(s.width_px.into())
                } else {
                    OptionValue::Str(s.to_string())
                }
            })
            .collect(),
    )
}

/// One size: a number (a square) or text (`"256"`, `"320x200"`).
fn size_of(key: &str, value: &OptionValue) -> Result<ThumbSize, OptionError> {
    match value {
        OptionValue::Str(text) => {
            text.parse()
                .map_err(|e: super::spec::BadThumbSize| OptionError::Value {
                    key: key.to_owned(),
                    why: e.to_string(),
                })
        }
        other => Ok(ThumbSize::square(other.as_int(key)?)),
    }
}

/// Sets option `key` (`size` takes one size or a list).
pub(crate) fn set_option(
    spec: &mut ThumbSpec,
    key: &str,
    value: &OptionValue,
) -> Result<(), OptionError> {
    match key {
        "size" => {
            spec.sizes = match value {
                OptionValue::Array(items) => items
                    .iter()
                    .map(|v| size_of(key, v))
                    .collect::<Result<_, _>>()?,
                one => vec![size_of(key, one)?],
            }
        }
        "fit" => spec.fit = value.as_enum(key)?,
        "upscale" => spec.upscale = value.as_bool(key)?,
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
    use super::spec::{Fit, ThumbFormat};
    use crate::engine::model::plan::ConflictPolicy;
    vec![
        (
            "web 1024 px WebP",
            vec![
                ("size", OptionValue::of_ints(&[1024u32])),
                ("fit", OptionValue::of_enum(&Fit::Contain)),
                ("upscale", OptionValue::Bool(false)),
                ("format", OptionValue::of_enum(&ThumbFormat::Webp)),
                ("quality", OptionValue::Int(80)),
                ("lossless", OptionValue::Bool(false)),
                // Photos on the web keep no location or camera serials.
                ("metadata", OptionValue::of_enum(&MetadataPolicy::Strip)),
                ("keep_icc", OptionValue::Bool(false)),
                ("on_conflict", OptionValue::of_enum(&ConflictPolicy::Update)),
            ],
        ),
        (
            "256 px square avatars",
            vec![
                ("size", OptionValue::of_ints(&[256u32])),
                // Filled and cropped to the square, around the subject when the photo names one.
                ("fit", OptionValue::of_enum(&Fit::Cover)),
                ("upscale", OptionValue::Bool(false)),
                ("format", OptionValue::of_enum(&ThumbFormat::Jpeg)),
                ("quality", OptionValue::Int(85)),
                ("lossless", OptionValue::Bool(false)),
                ("metadata", OptionValue::of_enum(&MetadataPolicy::Strip)),
                ("keep_icc", OptionValue::Bool(false)),
                ("on_conflict", OptionValue::of_enum(&ConflictPolicy::Update)),
            ],
        ),
    ]
}
