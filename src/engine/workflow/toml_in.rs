//! Reading the tables of job files and preset files with the line of every problem: a table is
//! split into its kind's keys, each key checked before any value is, and values read with
//! `serde` through the `toml` crate's spanned tables.
//!
//! Must not touch: the file system, what the keys mean (the callers').

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::options::KindOptions;
use crate::engine::kinds::KINDS;

/// A problem in a TOML file, at a byte offset.
#[derive(Debug)]
pub(crate) struct Located<P> {
    pub at: Option<usize>,
    pub problem: P,
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Why a key of a table is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    /// A key no job of this kind has.
    #[error("`{key}` is not a key of a {kind} job (its keys: {known})")]
    Unknown {
        /// The key.
        key: String,
        /// The job's kind.
        kind: &'static str,
        /// The keys it has.
        known: String,
    },
    /// A key of another kind's jobs.
    #[error("`{key}` is a key of {other} jobs, not of {kind} jobs")]
    OtherKind {
        /// The key.
        key: String,
        /// The job's kind.
        kind: &'static str,
        /// The kind whose key it is.
        other: &'static str,
    },
    /// A command-line flag of the whole run (`jobs`, `json`, `dry_run`, `no_journal`).
    #[error("`{0}` is an option of the run, not of a job: give it on the command line")]
    RunOption(String),
    /// A key written with `-` for `_`.
    #[error("`{key}`: write `{suggestion}`, with `_` for `-`")]
    Dash {
        /// The key as written.
        key: String,
        /// The key.
        suggestion: String,
    },
    /// A value of the wrong type or out of range: the parser's words.
    #[error("`{key}`: {message}")]
    BadValue {
        /// The key.
        key: String,
        /// What is wrong with its value.
        message: String,
    },
    /// Anything else, in the parser's words.
    #[error("{0}")]
    Other(String),
}

/// Command-line flags that concern the whole run, not one job.
const RUN_OPTIONS: &[&str] = &["jobs", "json", "dry_run", "no_journal"];

/// A table's entries in file order: (key, key's span, value).
pub(crate) fn entries<'a, 'i>(
    table: &'a DeTable<'i>,
) -> Vec<(&'a str, Range<usize>, &'a Spanned<DeValue<'i>>)> {
    let mut out: Vec<_> = table
        .iter()
        .map(|(k, v)| (k.get_ref().as_ref(), k.span(), v))
        .collect();
    out.sort_by_key(|(_, span, _)| span.start);
    out
}

/// Splits `table` (a table of a job of kind `kind`) into the keys in `common` and the kind's
/// option keys; any other key is refused with the reason and its place.
pub(crate) fn split_keys<'i>(
    table: &DeTable<'i>,
    kind: &'static str,
    common: &[&str],
) -> Result<(DeTable<'i>, DeTable<'i>), Located<KeyProblem>> {
    let own = KindOptions::keys(kind).unwrap_or(&[]);
    let mut common_table = DeTable::new();
    let mut options_table = DeTable::new();
    for (key, span, _) in entries(table) {
        let (k, v) = table
            .get_key_value(key)
            .map(|(k, v)| (k.clone(), v.clone()))
            .ok_or_else(|| Located {
                at: Some(span.start),
                problem: KeyProblem::Other(format!("`{key}` vanished")),
            })?;
        if common.contains(&key) {
            common_table.insert(k, v);
        } else if own.contains(&key) {
            options_table.insert(k, v);
        } else {
            return Err(Located {
                at: Some(span.start),
                problem: refuse_key(key, kind, common),
            });
        }
    }
    Ok((common_table, options_table))
}

/// Why `key` is not a key of a `kind` job.
fn refuse_key(key: &str, kind: &'static str, common: &[&str]) -> KeyProblem {
    let own = KindOptions::keys(kind).unwrap_or(&[]);
    let underscored = key.replace('-', "_");
    if underscored != key
        && (common.contains(&underscored.as_str()) || own.contains(&&*underscored))
    {
        return KeyProblem::Dash {
            key: key.to_owned(),
            suggestion: underscored,
        };
    }
    if RUN_OPTIONS.contains(&underscored.as_str()) {
        return KeyProblem::RunOption(key.to_owned());
    }
    if let Some(other) = KINDS
        .iter()
        .map(|k| k.id)
        .find(|&k| k != kind && KindOptions::keys(k).is_some_and(|keys| keys.contains(&key)))
    {
        return KeyProblem::OtherKind {
            key: key.to_owned(),
            kind,
            other,
        };
    }
    let known: Vec<&str> = common.iter().chain(own.iter()).copied().collect();
    KeyProblem::Unknown {
        key: key.to_owned(),
        kind,
        known: known.join(", "),
    }
}

/// Reads `T` from `table` (whose place in the file is `span`); a bad value is reported at the
/// key it belongs to.
pub(crate) fn read_table<'i, T>(
    table: DeTable<'i>,
    span: Range<usize>,
    read: impl FnOnce(ValueDeserializer<'i>) -> Result<T, toml::de::Error>,
) -> Result<T, Located<KeyProblem>> {
    let keys: Vec<(String, Range<usize>, Range<usize>)> = entries(&table)
        .into_iter()
        .map(|(k, ks, v)| (k.to_owned(), ks, v.span()))
        .collect();
    let value = Spanned::new(span.clone(), DeValue::Table(table));
    read(ValueDeserializer::from(value)).map_err(|e| {
        let at = e.span().map(|s| s.start);
        let key = at.and_then(|at| {
            keys.iter()
                .find(|(_, ks, vs)| ks.contains(&at) || vs.contains(&at) || vs.end == at)
                .map(|(k, ..)| k.clone())
        });
        // A kind's own check says which key it refused (`level`: ...), without a place.
        if key.is_none()
            && let Some((k, ks, _)) = keys
                .iter()
                .find(|(k, ..)| e.message().starts_with(&format!("`{k}`: ")))
        {
            let message = e.message()[k.len() + 4..].to_owned();
            return Located {
                at: Some(ks.start),
                problem: KeyProblem::BadValue {
                    key: k.clone(),
                    message,
                },
            };
        }
        Located {
            at: at.or(Some(span.start)),
            problem: match key {
                Some(key) => KeyProblem::BadValue {
                    key,
                    message: e.message().to_owned(),
                },
                None => KeyProblem::Other(e.message().to_owned()),
            },
        }
    })
}

/// Reads `T` from a whole table with serde (`T`'s own checks).
pub(crate) fn read_as<'i, T: Deserialize<'i>>(
    table: DeTable<'i>,
    span: Range<usize>,
) -> Result<T, Located<KeyProblem>> {
    read_table(table, span, T::deserialize)
}

/// The `kind` string of a table, with its place.
pub(crate) fn kind_of<'a>(table: &'a DeTable<'_>) -> Option<(&'a str, usize)> {
    let v = table.get("kind")?;
    Some((v.get_ref().as_str()?, v.span().start))
}

/// The kinds job files know, for messages: `zip, thumbs`.
pub(crate) fn known_kinds() -> String {
    KINDS
        .iter()
        .map(|k| k.id)
        .filter(|k| KindOptions::keys(k).is_some())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The kind with this id, if job files know it.
pub(crate) fn job_file_kind(id: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .map(|k| k.id)
        .find(|k| *k == id && KindOptions::keys(k).is_some())
}
