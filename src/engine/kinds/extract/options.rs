//! The extract kind's options by the names job files, presets and flags use: `on_conflict`,
//! `links`, `keep_setuid` (the flags `--on-conflict`, `--links`, `--keep-setuid`).
//!
//! Owns: reading and setting them on an [`ExtractSpec`]. Must not touch: defaults (the spec's),
//! files. Passwords are never options (a password file is given on the command line).

use crate::engine::model::options::{OptionError, OptionValue};
use crate::engine::model::plan::ConflictPolicy;

use super::spec::ExtractSpec;

/// The option keys, in the order job files write them.
pub(crate) const OPTION_KEYS: &[&str] = &["on_conflict", "links", "keep_setuid"];

/// Every option of `spec`.
pub(crate) fn options(spec: &ExtractSpec) -> Vec<(&'static str, OptionValue)> {
    vec![
        ("on_conflict", OptionValue::of_enum(&spec.on_conflict)),
        ("links", OptionValue::Bool(spec.create_symlinks)),
        ("keep_setuid", OptionValue::Bool(spec.restore_setuid)),
    ]
}

/// Sets option `key` (an extract has no `update`: an entry has no source to be newer).
pub(crate) fn set_option(
    spec: &mut ExtractSpec,
    key: &str,
    value: &OptionValue,
) -> Result<(), OptionError> {
    match key {
        "on_conflict" => {
            let policy: ConflictPolicy = value.as_enum(key)?;
            if policy == ConflictPolicy::Update {
                return Err(OptionError::Value {
                    key: key.to_owned(),
                    why: "an extract takes rename, overwrite or skip".to_owned(),
                });
            }
            spec.on_conflict = policy;
        }
        "links" => spec.create_symlinks = value.as_bool(key)?,
        "keep_setuid" => spec.restore_setuid = value.as_bool(key)?,
        _ => {
            return Err(OptionError::Unknown {
                key: key.to_owned(),
                kind: super::KIND.id,
            });
        }
    }
    Ok(())
}

/// The presets the extract kind ships: none yet (its defaults are the safe choices).
pub(crate) fn builtin_presets() -> Vec<(&'static str, Vec<(&'static str, OptionValue)>)> {
    Vec::new()
}
