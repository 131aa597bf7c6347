//! TOML syntax errors and serde errors (unknown key, wrong type) as [`Diagnostic`]s: the position
//! from the error's span, the key path looked up in the parsed document, and serde's wording
//! ("invalid type: floating point `3.5`, expected i64") turned into the config's words.

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::error::{join_key, table_label, Diagnostic, Location};
use super::suggest::{backticked, did_you_mean};

/// Tables that are arrays of tables (`[[population]]`).
const ARRAY_SECTIONS: &[&str] = &["population", "projection", "stimulus", "record"];

/// The keys of `[simulation]`: found at the top level, the `[simulation]` line is missing or
/// below them.
const SIMULATION_KEYS: &[&str] = &["dt", "t_stop", "seed", "backend", "threads"];

/// A TOML syntax error (the document could not be parsed at all).
pub fn syntax_diagnostic(error: &toml::de::Error, text: &str) -> Diagnostic {
    let offset = error.span().map_or(0, |s| s.start);
    let location = Location::of_offset(text, offset);
    let line = text.lines().nth(location.line - 1).unwrap_or("").trim();
    let help = if error.message().contains("duplicate key") {
        format!(
            "line {} reads `{line}`: a key may appear once per table and a [table] once per file; \
             [[table]] (double brackets) adds one more element to an array of tables",
            location.line
        )
    } else if line.is_empty() {
        "see https://toml.io for the syntax: key = value, strings in quotes, [table], \
         [[array of tables]]"
            .to_string()
    } else {
        format!("line {} reads `{line}`", location.line)
    };
    Diagnostic {
        location: Some(location),
        key: String::new(),
        message: format!("TOML syntax error: {}", error.message()),
        help: Some(help),
    }
}

/// Bytes that are not UTF-8 (which TOML requires), at the first invalid byte.
pub fn utf8_diagnostic(bytes: &[u8], error: std::str::Utf8Error) -> Diagnostic {
    let at = error.valid_up_to();
    let before = std::str::from_utf8(&bytes[..at]).expect("valid up to here");
    let location = Location::of_offset(before, at);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Diagnostic {
        location: Some(location),
        key: String::new(),
        message: format!(
            "TOML syntax error: the file is not UTF-8 text (byte 0x{:02X})",
            bytes[at]
        ),
        help: Some(format!(
            "save the config as UTF-8; line {} reads `{}` up to that byte",
            location.line,
            before[line_start..].trim_start()
        )),
    }
}

/// An error raised while reading the parsed document into the raw structs.
pub fn data_diagnostic(error: &toml::de::Error, text: &str) -> Diagnostic {
    let offset = error.span().map_or(0, |s| s.start);
    let document = DeTable::parse(text).ok();
    let mut path = Vec::new();
    if let Some(document) = &document {
        find_in_table(document.get_ref(), offset, &mut path);
    }
    let (message, help) = reword(error.message(), &path);
    // The message names an unknown key itself: the path ends at its table.
    if error.message().starts_with("unknown field") {
        path.pop();
    }
    Diagnostic {
        location: error.span().map(|s| Location::of_offset(text, s.start)),
        key: render_path(&path),
        message,
        help,
    }
}

/// A step of the way from the document root to a value.
enum Step<'d, 'i> {
    Key(String),
    /// An element of an array, with the element itself when it is a table.
    Index(usize, Option<&'d DeTable<'i>>),
}

fn contains(span: std::ops::Range<usize>, offset: usize) -> bool {
    span.contains(&offset) || span.start == offset
}

/// Finds the deepest key or value whose span holds `offset`. Every subtree is searched, because
/// the span of a `[[population]]` element covers its header only, not its keys.
fn find_in_table<'d, 'i>(
    table: &'d DeTable<'i>,
    offset: usize,
    path: &mut Vec<Step<'d, 'i>>,
) -> bool {
    for (key, value) in table.iter() {
        path.push(Step::Key(key.get_ref().to_string()));
        if find_in_value(value, offset, path)
            || contains(key.span(), offset)
            || contains(value.span(), offset)
        {
            return true;
        }
        path.pop();
    }
    false
}

fn find_in_value<'d, 'i>(
    value: &'d Spanned<DeValue<'i>>,
    offset: usize,
    path: &mut Vec<Step<'d, 'i>>,
) -> bool {
    match value.get_ref() {
        DeValue::Table(table) => find_in_table(table, offset, path),
        DeValue::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(Step::Index(index, item.get_ref().as_table()));
                if find_in_value(item, offset, path) || contains(item.span(), offset) {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}

/// `population "E": V_m.uniform[0]`, labelling array-of-tables elements as validation does.
fn render_path(path: &[Step<'_, '_>]) -> String {
    let (label, rest) = match path {
        [Step::Key(section), Step::Index(index, Some(table)), rest @ ..] => {
            let field = |k: &str| {
                table
                    .get(k)
                    .and_then(|v| v.get_ref().as_str())
                    .map(str::to_string)
            };
            (table_label(section, *index, field), rest)
        }
        [Step::Key(section), rest @ ..] if !rest.is_empty() => (section.clone(), rest),
        _ => (String::new(), path),
    };
    let mut key = String::new();
    for step in rest {
        match step {
            Step::Key(k) if key.is_empty() => key.push_str(k),
            Step::Key(k) => {
                key.push('.');
                key.push_str(k);
            }
            Step::Index(i, _) => key.push_str(&format!("[{i}]")),
        }
    }
    join_key(&label, &key)
}

/// The words inside backticks in a serde message: the field and the expected ones.
fn backticked_words(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

/// Serde's message in the config's words, and a help line.
fn reword(message: &str, path: &[Step<'_, '_>]) -> (String, Option<String>) {
    if message.starts_with("unknown field") {
        let words = backticked_words(message);
        let (field, valid) = words.split_first().map_or(("", &[][..]), |(f, v)| (*f, v));
        // The top level is the table whose valid keys are the sections.
        let top_level = valid.contains(&"simulation");
        let help = if top_level && SIMULATION_KEYS.contains(&field) {
            format!("`{field}` belongs in [simulation]: put it below a line [simulation]")
        } else if valid.is_empty() {
            "this table takes no keys".to_string()
        } else {
            format!(
                "{}valid keys here: {}",
                did_you_mean(field, valid.iter().copied()),
                backticked(valid.iter().copied())
            )
        };
        return (format!("unknown key `{field}`"), Some(help));
    }
    if message.starts_with("missing field") {
        let field = backticked_words(message).first().copied().unwrap_or("");
        return (
            format!("missing required key `{field}`"),
            Some("see docs/config.md for the keys of each table".to_string()),
        );
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "another type"));
        let message = format!(
            "wrong type: found {}, expected {}",
            found_words(found),
            expected_words(expected)
        );
        let help = match path {
            [Step::Key(section)] if ARRAY_SECTIONS.contains(&section.as_str()) => format!(
                "each {section} is a table of its own: write [[{section}]] (double brackets) \
                 above its keys, once per {section}"
            ),
            [Step::Key(section)] if section == "simulation" => {
                "write [simulation] followed by its keys, one per line".to_string()
            }
            _ => "see docs/config.md for the type of each key".to_string(),
        };
        return (message, Some(help));
    }
    (message.to_string(), None)
}

/// Serde's description of the value found (`floating point `3.5``) in TOML's terms.
fn found_words(found: &str) -> String {
    let value = backticked_words(found).first().map(|v| v.to_string());
    match (found.split([' ', '`']).next().unwrap_or(""), value) {
        ("floating", Some(v)) => format!("the float {v}"),
        ("integer", Some(v)) => format!("the integer {v}"),
        ("boolean", Some(v)) => format!("the boolean {v}"),
        ("string", _) => format!("the {found}"),
        ("map", _) => "a table".to_string(),
        ("sequence", _) => "an array".to_string(),
        _ => found.to_string(),
    }
}

/// Serde's description of the expected type (`i64`, `a sequence`, `struct RawPopulation`); the
/// raw structs read integers as i64 and plain numbers (`p`) as f64.
fn expected_words(expected: &str) -> String {
    match expected {
        "i64" => "an integer".to_string(),
        "f64" => "a number".to_string(),
        "a sequence" => "an array".to_string(),
        "a map" => "a table".to_string(),
        e if e.starts_with("struct ") => "a table".to_string(),
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_wording_becomes_toml_wording() {
        assert_eq!(found_words("floating point `3.5`"), "the float 3.5");
        assert_eq!(found_words("integer `3`"), "the integer 3");
        assert_eq!(found_words("string \"abc\""), "the string \"abc\"");
        assert_eq!(found_words("boolean `true`"), "the boolean true");
        assert_eq!(found_words("map"), "a table");
        assert_eq!(found_words("sequence"), "an array");
        assert_eq!(expected_words("i64"), "an integer");
        assert_eq!(expected_words("struct RawSimulation"), "a table");
        assert_eq!(expected_words("a boolean"), "a boolean");
    }

    #[test]
    fn unknown_fields_get_suggestions() {
        let (message, help) = reword(
            "unknown field `V_t`, expected one of `n`, `V_th`, `V_m`",
            &[],
        );
        assert_eq!(message, "unknown key `V_t`");
        assert_eq!(
            help.unwrap(),
            "did you mean `V_th`? valid keys here: `n`, `V_th`, `V_m`"
        );
        let (_, help) = reword("unknown field `x`, expected `uniform` or `normal`", &[]);
        assert_eq!(help.unwrap(), "valid keys here: `uniform`, `normal`");
        let (_, help) = reword(
            "unknown field `t_stop`, expected one of `simulation`, `population`",
            &[],
        );
        assert_eq!(
            help.unwrap(),
            "`t_stop` belongs in [simulation]: put it below a line [simulation]"
        );
    }
}
