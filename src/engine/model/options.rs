//! A kind's options by the names users write them (`level`, `size`, `on_conflict`): the keys of
//! job files and presets, and the long command-line flags (`-` written `_`). Each kind reads
//! and sets its own through its spec ([`KindSpec`](crate::engine::runtime::job::KindSpec)'s
//! `options` and `set_option`); this module holds the values and the helpers kinds read them
//! with.
//!
//! Owns: [`OptionValue`], [`OptionError`], turning values into a kind's field types and back.
//! Must not touch: any particular kind, files, front ends.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// One option's value: a string, an integer, a switch or a list of those.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum OptionValue {
    /// A switch.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Text (an enum's name: `webp`, `keep-safe`).
    Str(String),
    /// Several values (thumbnail sizes).
    Array(Vec<OptionValue>),
}

/// Why an option cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    /// A key the kind has no option of.
    #[error("`{key}` is not an option of {kind} jobs")]
    Unknown {
        /// The key.
        key: String,
        /// The kind's id.
        kind: &'static str,
    },
    /// A value of the wrong type or out of range.
    #[error("`{key}`: {why}")]
    Value {
        /// The key.
        key: String,
        /// What is wrong with the value.
        why: String,
    },
}

impl OptionValue {
    /// The value as a switch.
    pub fn as_bool(&self, key: &str) -> Result<bool, OptionError> {
        match self {
            OptionValue::Bool(b) => Ok(*b),
            _ => Err(wrong(key, "expected true or false")),
        }
    }

    /// The value as a whole number in `T`'s range (`u8`, `u32`...).
    pub fn as_int<T: TryFrom<i64>>(&self, key: &str) -> Result<T, OptionError> {
        match self {
            OptionValue::Int(n) => {
                T::try_from(*n).map_err(|_| wrong(key, &format!("{n} is out of range")))
            }
            _ => Err(wrong(key, "expected a whole number")),
        }
    }

    /// The value as text.
    pub fn as_str(&self, key: &str) -> Result<&str, OptionError> {
        match self {
            OptionValue::Str(s) => Ok(s),
            _ => Err(wrong(key, "expected a string")),
        }
    }

    /// One number or a list of numbers.
    pub fn as_int_list<T: TryFrom<i64>>(&self, key: &str) -> Result<Vec<T>, OptionError> {
        match self {
            OptionValue::Array(items) => items.iter().map(|i| i.as_int(key)).collect(),
            one => Ok(vec![one.as_int(key)?]),
        }
    }

    /// The value as one of an enum's variants, by its serde name (`webp`, `keep-safe`).
    pub fn as_enum<T: DeserializeOwned>(&self, key: &str) -> Result<T, OptionError> {
        let name = self.as_str(key)?;
        serde_json::from_value(serde_json::Value::String(name.to_owned()))
            .map_err(|_| wrong(key, &format!("unknown value {name:?}")))
    }

    /// An enum's variant as its serde name.
    pub fn of_enum<T: Serialize>(value: &T) -> OptionValue {
        match serde_json::to_value(value) {
            Ok(serde_json::Value::String(s)) => OptionValue::Str(s),
            _ => OptionValue::Str(String::new()),
        }
    }

    /// A list of numbers.
    pub fn of_ints<T: Copy + Into<i64>>(values: &[T]) -> OptionValue {
        OptionValue::Array(values.iter().map(|&v| OptionValue::Int(v.into())).collect())
    }
}

fn wrong(key: &str, why: &str) -> OptionError {
    OptionError::Value {
        key: key.to_owned(),
        why: why.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::plan::ConflictPolicy;

    #[test]
    fn values_convert_both_ways_and_say_what_is_wrong() {
        assert_eq!(OptionValue::Int(9).as_int::<u8>("level"), Ok(9));
        assert!(OptionValue::Int(300).as_int::<u8>("level").is_err());
        assert!(OptionValue::Str("9".into()).as_int::<u8>("level").is_err());
        assert_eq!(
            OptionValue::Int(256).as_int_list::<u32>("size"),
            Ok(vec![256])
        );
        let policy = OptionValue::of_enum(&ConflictPolicy::Skip);
        assert_eq!(policy, OptionValue::Str("skip".into()));
        assert_eq!(
            policy.as_enum::<ConflictPolicy>("on_conflict"),
            Ok(ConflictPolicy::Skip)
        );
        let err = OptionValue::Str("never".into())
            .as_enum::<ConflictPolicy>("on_conflict")
            .unwrap_err();
        assert_eq!(err.to_string(), "`on_conflict`: unknown value \"never\"");
    }
}
