//! What can go wrong with a config, in words a user can act on: each problem names the file, the
//! line and column, the table and key, what is wrong and (in a `help:` line) what would be valid.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A position in a config file, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    /// In characters, not bytes.
    pub column: usize,
}

impl Location {
    /// The position of byte `offset` of `text` (clamped to the text).
    pub fn of_offset(text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// One problem found in a config file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Where the offending key or value is; `None` when the file gives no position.
    pub location: Option<Location>,
    /// The table and key, such as `population "E": V_th`; empty for TOML syntax errors.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// What would be valid.
    pub help: Option<String>,
}

impl Diagnostic {
    fn render(&self, path: &Path, out: &mut String) {
        let _ = write!(out, "{}", path.display());
        if let Some(Location { line, column }) = self.location {
            let _ = write!(out, ":{line}:{column}");
        }
        out.push_str(": ");
        if !self.key.is_empty() {
            let _ = write!(out, "{}: ", self.key);
        }
        out.push_str(&self.message);
        if let Some(help) = &self.help {
            let _ = write!(out, "\n  help: {help}");
        }
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (missing, unreadable).
    #[error("cannot read config file `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid config: the problems found, in file order. A TOML
    /// syntax error (bytes that are not UTF-8 included) or a key of the wrong type or name stops
    /// the reading, so it comes alone.
    #[error("{}", render_all(path, diagnostics, *omitted))]
    Invalid {
        path: PathBuf,
        diagnostics: Vec<Diagnostic>,
        /// Problems found beyond those listed.
        omitted: usize,
    },
    /// A command-line override is invalid for this config.
    #[error("{flag}: {message}\n  help: {help}")]
    Override {
        /// The command-line flag, e.g. `--t-stop`.
        flag: &'static str,
        message: String,
        help: String,
    },
}

impl ConfigError {
    /// The problems found in the file (empty for the other kinds of error).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ConfigError::Invalid { diagnostics, .. } => diagnostics,
            _ => &[],
        }
    }
}

fn render_all(path: &Path, diagnostics: &[Diagnostic], omitted: usize) -> String {
    let mut out = String::new();
    match diagnostics {
        [] => {
            let _ = write!(out, "{}: invalid config", path.display());
        }
        [one] if omitted == 0 => one.render(path, &mut out),
        many => {
            let total = many.len() + omitted;
            let _ = write!(out, "{}: {total} errors", path.display());
            for d in many {
                out.push('\n');
                d.render(path, &mut out);
            }
            if omitted > 0 {
                let _ = write!(
                    out,
                    "\n{}: {omitted} more errors not listed",
                    path.display()
                );
            }
        }
    }
    out
}

/// How tables are named in messages: by their `name` when they have one, else by their position
/// in the file (0-based, among tables of the same kind) and what identifies them.
/// `field` returns the string value of a key of the table, if it has one.
pub(crate) fn table_label(
    section: &str,
    index: usize,
    field: impl Fn(&str) -> Option<String>,
) -> String {
    let named = || field("name").map(|name| format!("{section} \"{name}\""));
    let indexed = |what: Option<String>| match what {
        Some(what) => format!("{section}[{index}] ({what})"),
        None => format!("{section}[{index}]"),
    };
    match section {
        "population" => named().unwrap_or_else(|| indexed(None)),
        "projection" => named().unwrap_or_else(|| {
            indexed(
                field("source")
                    .zip(field("target"))
                    .map(|(s, t)| format!("{s}->{t}")),
            )
        }),
        "stimulus" => named().unwrap_or_else(|| {
            indexed(
                field("model")
                    .zip(field("target"))
                    .map(|(m, t)| format!("{m}->{t}")),
            )
        }),
        "record" => indexed(field("model")),
        _ => indexed(None),
    }
}

/// `label: key`, or either alone when the other is empty.
pub(crate) fn join_key(label: &str, key: &str) -> String {
    match (label.is_empty(), key.is_empty()) {
        (true, _) => key.to_string(),
        (_, true) => label.to_string(),
        _ => format!("{label}: {key}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_characters() {
        let text = "a = 1\nμ = \"x\"\n";
        assert_eq!(
            Location::of_offset(text, 0),
            Location { line: 1, column: 1 }
        );
        assert_eq!(
            Location::of_offset(text, 4),
            Location { line: 1, column: 5 }
        );
        assert_eq!(
            Location::of_offset(text, 6),
            Location { line: 2, column: 1 }
        );
        // After the two-byte μ and " = ": column 5.
        assert_eq!(
            Location::of_offset(text, 11),
            Location { line: 2, column: 5 }
        );
        // Inside the μ, and past the end: clamped, no panic.
        assert_eq!(
            Location::of_offset(text, 7),
            Location { line: 2, column: 1 }
        );
        assert_eq!(
            Location::of_offset(text, 999),
            Location { line: 3, column: 1 }
        );
    }

    #[test]
    fn several_problems_are_listed_one_per_line() {
        let d = |line, key: &str, message: &str| Diagnostic {
            location: Some(Location { line, column: 3 }),
            key: key.into(),
            message: message.into(),
            help: Some("do this".into()),
        };
        let e = ConfigError::Invalid {
            path: "c.toml".into(),
            diagnostics: vec![d(2, "simulation: dt", "bad"), d(9, "", "worse")],
            omitted: 0,
        };
        assert_eq!(
            e.to_string(),
            "c.toml: 2 errors\nc.toml:2:3: simulation: dt: bad\n  help: do this\n\
             c.toml:9:3: worse\n  help: do this"
        );
        let e = ConfigError::Invalid {
            path: "c.toml".into(),
            diagnostics: vec![d(2, "simulation: dt", "bad")],
            omitted: 60,
        };
        assert_eq!(
            e.to_string(),
            "c.toml: 61 errors\nc.toml:2:3: simulation: dt: bad\n  help: do this\n\
             c.toml: 60 more errors not listed"
        );
    }

    #[test]
    fn tables_are_labelled_by_name_or_position() {
        let fields = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            table_label("population", 2, fields(&[("name", "E")])),
            "population \"E\""
        );
        assert_eq!(table_label("population", 2, fields(&[])), "population[2]");
        assert_eq!(
            table_label("projection", 0, fields(&[("source", "E"), ("target", "I")])),
            "projection[0] (E->I)"
        );
        assert_eq!(
            table_label("record", 1, fields(&[("model", "multimeter")])),
            "record[1] (multimeter)"
        );
    }
}
