//! Writing the small TOML this module's files need: tables of strings, integers, booleans and
//! arrays of those, with keys in the order given (the `toml` crate is built here for parsing
//! only; its writer would be one more crate for these few lines).
//!
//! Must not touch: the file system (callers write the text), parsing.

use std::fmt::Write;

/// A value in a job file or a preset file: an option's value.
pub(crate) use crate::engine::model::options::OptionValue as TomlValue;

/// `text` as a TOML basic string: quoted, with `"`, `\` and control characters escaped.
pub(crate) fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn push_value(out: &mut String, value: &TomlValue) {
    match value {
        TomlValue::Str(s) => out.push_str(&quoted(s)),
        TomlValue::Int(n) => {
            let _ = write!(out, "{n}");
        }
        TomlValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        TomlValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_value(out, item);
            }
            out.push(']');
        }
    }
}

/// One `[[header]]` table with `entries`, keys in order (keys are bare: `[A-Za-z0-9_-]+`).
pub(crate) fn array_table(out: &mut String, header: &str, entries: &[(&str, TomlValue)]) {
    let _ = writeln!(out, "[[{header}]]");
    for (key, value) in entries {
        debug_assert!(
            key.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );
        out.push_str(key);
        out.push_str(" = ");
        push_value(out, value);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_tables_read_back_with_the_toml_parser() {
        let tricky = "a \"quoted\" \\ path\twith\ncontrol \u{7} and ünïcode";
        let mut out = String::new();
        array_table(
            &mut out,
            "job",
            &[
                ("name", TomlValue::Str(tricky.to_owned())),
                ("level", TomlValue::Int(9)),
                ("lossless", TomlValue::Bool(true)),
                (
                    "size",
                    TomlValue::Array(vec![TomlValue::Int(256), TomlValue::Int(1024)]),
                ),
            ],
        );
        #[derive(serde::Deserialize)]
        struct Doc {
            job: Vec<Job>,
        }
        #[derive(serde::Deserialize)]
        struct Job {
            name: String,
            level: u8,
            lossless: bool,
            size: Vec<u32>,
        }
        let doc: Doc = toml::from_str(&out).unwrap();
        assert_eq!(doc.job[0].name, tricky);
        assert_eq!(doc.job[0].level, 9);
        assert!(doc.job[0].lossless);
        assert_eq!(doc.job[0].size, [256, 1024]);
    }
}
