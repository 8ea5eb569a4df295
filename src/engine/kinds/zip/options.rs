//! The zip kind's options by the names job files, presets and flags use: `level`, `overwrite`,
//! `keep_both`, `exclude` (a pattern or a list), `gitignore` (the flags `--level`,
//! `--overwrite`, `--keep-both`, `--exclude`, `--gitignore`).
//!
//! Owns: reading and setting them on a [`ZipSpec`]. Must not touch: defaults and ranges (the
//! spec's), files. A password is never an option: it is never written anywhere.

use crate::engine::model::options::{OptionError, OptionValue};

use super::spec::{ExistingArchive, MAX_ZIP_LEVEL, ZipSpec};

/// The option keys, in the order job files write them.
pub(crate) const OPTION_KEYS: &[&str] =
    &["level", "overwrite", "keep_both", "exclude", "gitignore"];

/// Every option of `spec`.
pub(crate) fn options(spec: &ZipSpec) -> Vec<(&'static str, OptionValue)> {
    vec![
        ("level", OptionValue::Int(spec.level.into())),
        (
            "overwrite",
            OptionValue::Bool(spec.on_exists == ExistingArchive::Replace),
        ),
        (
            "keep_both",
            OptionValue::Bool(spec.on_exists == ExistingArchive::KeepBoth),
        ),
        (
            "exclude",
            OptionValue::Array(
                spec.excludes
                    .iter()
                    .map(|p| OptionValue::Str(p.clone()))
                    .collect(),
            ),
        ),
        ("gitignore", OptionValue::Bool(spec.honour_gitignore)),
    ]
}

/// Sets option `key`. Choosing one way of treating an existing archive drops the other (the
/// later wins); turning a way off goes back to the default.
pub(crate) fn set_option(
    spec: &mut ZipSpec,
    key: &str,
    value: &OptionValue,
) -> Result<(), OptionError> {
    let way = |on: bool, this: ExistingArchive, now: ExistingArchive| match (on, now == this) {
        (true, _) => this,
        (false, true) => ExistingArchive::default(),
        (false, false) => now,
    };
    match key {
        "level" => {
            let level: u8 = value.as_int(key)?;
            if level > MAX_ZIP_LEVEL {
                return Err(OptionError::Value {
                    key: key.to_owned(),
                    why: format!("{level} is out of range (0 to {MAX_ZIP_LEVEL})"),
                });
            }
            spec.level = level;
        }
        "overwrite" => {
            spec.on_exists = way(
                value.as_bool(key)?,
                ExistingArchive::Replace,
                spec.on_exists,
            )
        }
        "keep_both" => {
            spec.on_exists = way(
                value.as_bool(key)?,
                ExistingArchive::KeepBoth,
                spec.on_exists,
            )
        }
        "exclude" => {
            spec.excludes = match value {
                OptionValue::Array(items) => items
                    .iter()
                    .map(|i| i.as_str(key).map(str::to_owned))
                    .collect::<Result<_, _>>()?,
                one => vec![one.as_str(key)?.to_owned()],
            }
        }
        "gitignore" => spec.honour_gitignore = value.as_bool(key)?,
        _ => {
            return Err(OptionError::Unknown {
                key: key.to_owned(),
                kind: super::KIND.id,
            });
        }
    }
    Ok(())
}

/// The presets the zip kind ships: (name, options).
pub(crate) fn builtin_presets() -> Vec<(&'static str, Vec<(&'static str, OptionValue)>)> {
    vec![(
        "archive for email",
        vec![
            // The smallest archive: an attachment's size is what counts.
            ("level", OptionValue::Int(MAX_ZIP_LEVEL.into())),
            ("overwrite", OptionValue::Bool(false)),
            ("keep_both", OptionValue::Bool(false)),
        ],
    )]
}
