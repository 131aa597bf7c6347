//! Config fuzzing: the TOML parser and the validator never panic, and every error they give names
//! where the problem is: a line for TOML syntax errors, a key (and its line) for the others.
//!
//! Inputs are the shipped configs (`configs/*.toml`) mutated line by line (lines deleted,
//! duplicated, swapped; values replaced by numbers, strings, arrays and tables of every kind; keys
//! renamed; keys, table headers and stray text, unicode included, inserted), and random bytes.
//! Valid results go on to what `lifsim validate` does with them (size and memory estimates).
//!
//! The number of cases is bounded for the normal test suite; `PROPTEST_CASES=100000` runs more,
//! and `PROPTEST_RNG_SEED=<n>` other inputs (the default seed is fixed, so a failure reproduces).

use std::path::{Path, PathBuf};

use lifsim::config::{load, parse, ConfigError, NetworkSpec};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{contextualize_config, Config, RngSeed, TestCaseError, TestRunner};

/// Cases per property in the normal suite: a few seconds on the 2-core CI machine.
const DEFAULT_CASES: u32 = 10_000;
/// The default seed of the generated inputs (`PROPTEST_RNG_SEED` overrides it).
const DEFAULT_SEED: u64 = 8;

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(contextualize_config(Config {
        cases,
        rng_seed: RngSeed::Fixed(DEFAULT_SEED),
        // A failure prints its minimal input; it becomes a test of its own, not a file.
        failure_persistence: None,
        ..Config::default()
    }))
}

/// The shipped configs: (path, text).
fn shipped_configs() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut configs: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect();
    configs.sort();
    assert!(configs.len() >= 2, "no configs in {}", dir.display());
    configs
}

// --- What is generated --------------------------------------------------------------------------

/// Keys of the config format, and near misses.
const KEYS: &[&str] = &[
    "dt",
    "t_stop",
    "seed",
    "backend",
    "threads",
    "name",
    "n",
    "model",
    "C_m",
    "g_L",
    "E_L",
    "V_th",
    "V_reset",
    "t_ref",
    "E_ex",
    "E_in",
    "tau_syn_ex",
    "tau_syn_in",
    "I_e",
    "V_m",
    "g_ex",
    "g_in",
    "source",
    "target",
    "receptor",
    "weight",
    "delay",
    "rule",
    "indegree",
    "outdegree",
    "N",
    "p",
    "allow_autapses",
    "allow_multapses",
    "storage",
    "neurons",
    "rate",
    "start",
    "stop",
    "spike_times",
    "amplitude",
    "amplitude_times",
    "amplitude_values",
    "populations",
    "population",
    "record_from",
    "interval",
    "uniform",
    "normal",
    "mean",
    "std",
    "simulation",
    "record",
    "stimulus",
    "projection",
    "v_th",
    "c_m",
    "\"V_m\"",
    "\"μ\"",
    "\"\"",
    "'\\'",
    "V_m.uniform",
    "a.b.c",
];

/// Table headers, valid and not.
const HEADERS: &[&str] = &[
    "[simulation]",
    "[[population]]",
    "[[projection]]",
    "[[stimulus]]",
    "[[record]]",
    "[population]",
    "[[simulation]]",
    "[simulation.dt]",
    "[[population.V_m]]",
    "[record]",
    "[]",
    "[[]]",
    "[\"μ\"]",
    "[ simulation ]",
];

/// Strings that mean something to the validator: units, slices, names, models.
const STRINGS: &[&str] = &[
    "",
    "E",
    "I",
    "output",
    "ex",
    "in",
    "auto",
    "cpu",
    "gpu",
    "iaf_cond_exp",
    "poisson_generator",
    "spike_generator",
    "dc_generator",
    "step_current_generator",
    "spike_recorder",
    "multimeter",
    "all_to_all",
    "one_to_one",
    "fixed_indegree",
    "fixed_outdegree",
    "fixed_total_number",
    "pairwise_bernoulli",
    "stored",
    "procedural",
    "V_m",
    "g_ex",
    "g_in",
    "0:400",
    "::",
    ":",
    "5:2",
    "-1:",
    "0:18446744073709551616",
    "1e9:",
    "0:4:2",
    "μ",
    "E/I",
    ".",
    "\u{0}",
];

const UNITS: &[&str] = &[
    "", "ms", "s", "us", "mV", "V", "uV", "nS", "uS", "mS", "pF", "nF", "pA", "nA", "Hz", "kHz",
    "furlong", "μs", "ms ms",
];

/// A number as TOML writes it, of every kind the parser takes (and some it does not).
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(toml_float),
        any::<i64>().prop_map(|i| i.to_string()),
        (-1000i64..1000).prop_map(|i| i.to_string()),
        (-1000.0..1000.0f64).prop_map(toml_float),
        prop::sample::select(vec![
            "nan",
            "+inf",
            "-inf",
            "-0.0",
            "0",
            "1e308",
            "1e-308",
            "5e-324",
            "1e39",
            "1e-30",
            "0x7fffffff",
            "0o17",
            "0b101",
            "1_000",
            "1__0",
            "01",
            ".5",
            "5.",
            "1e",
            "++1",
        ])
        .prop_map(str::to_owned),
    ]
}

/// `x` as a TOML float (Rust's `inf`/`NaN` are not TOML's).
fn toml_float(x: f64) -> String {
    if x.is_nan() {
        "nan".to_owned()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{x:?}")
    }
}

/// A TOML basic string holding `s`, escaped.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(STRINGS).prop_map(toml_string),
        (number(), prop::sample::select(UNITS))
            .prop_map(|(n, unit)| toml_string(&format!("{n} {unit}"))),
        any::<String>().prop_map(|s| toml_string(&s)),
        "[a-zA-Z0-9_ :.-]{0,12}".prop_map(|s| toml_string(&s)),
    ]
}

/// Any TOML value, nesting arrays and inline tables a few levels deep.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        4 => number(),
        4 => string(),
        1 => Just("true".to_owned()),
        1 => Just("false".to_owned()),
        1 => Just("1979-05-27T07:32:00Z".to_owned()),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6)
                .prop_map(|items| { format!("[{}]", items.join(", ")) }),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..4).prop_map(|pairs| {
                let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", pairs.join(", "))
            }),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-zA-Z_][a-zA-Z0-9_-]{0,10}",
        1 => any::<String>().prop_map(|s| toml_string(&s)),
    ]
}

/// Text that may break the syntax: unicode, quotes, brackets, comment signs, line breaks.
fn stray_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<char>().prop_map(String::from),
        prop::sample::select(vec![
            "\"", "'", "[", "]", "{", "}", "=", "#", ",", ".", "\\", "\n", "\r", "\t", "\u{0}",
            "\u{feff}", "\u{202e}", "μ", "🧠", "\"\"\"", "'''", " = ",
        ])
        .prop_map(str::to_owned),
        "\\PC{1,8}",
    ]
}

/// One edit of a config, line-based. Indices are taken modulo the number of lines when applied,
/// so that any sequence of edits applies to any text (and shrinks well).
#[derive(Clone, Debug)]
enum Edit {
    DeleteLine(usize),
    DuplicateLine {
        from: usize,
        to: usize,
    },
    SwapLines(usize, usize),
    ReplaceValue {
        line: usize,
        value: String,
    },
    RenameKey {
        line: usize,
        key: String,
    },
    InsertKey {
        at: usize,
        key: String,
        value: String,
    },
    InsertHeader {
        at: usize,
        header: String,
    },
    InsertText {
        line: usize,
        column: usize,
        text: String,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    let index = any::<usize>();
    prop_oneof![
        2 => index.prop_map(Edit::DeleteLine),
        1 => (index, index).prop_map(|(from, to)| Edit::DuplicateLine { from, to }),
        1 => (index, index).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        6 => (index, value()).prop_map(|(line, value)| Edit::ReplaceValue { line, value }),
        2 => (index, key()).prop_map(|(line, key)| Edit::RenameKey { line, key }),
        2 => (index, key(), value()).prop_map(|(at, key, value)| Edit::InsertKey { at, key, value }),
        1 => (index, prop::sample::select(HEADERS))
            .prop_map(|(at, header)| Edit::InsertHeader { at, header: header.to_owned() }),
        2 => (index, index, stray_text())
            .prop_map(|(line, column, text)| Edit::InsertText { line, column, text }),
    ]
}

/// The `key = value` lines of `lines`, by index; edits of keys and values pick among these.
fn assignments(lines: &[String]) -> Vec<usize> {
    (0..lines.len())
        .filter(|&i| {
            let line = lines[i].trim_start();
            !line.starts_with('#') && !line.starts_with('[') && line.contains('=')
        })
        .collect()
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for edit in edits {
        let n = lines.len();
        let pick = |i: usize| i % n.max(1);
        let assigned = assignments(&lines);
        let pick_assigned = |i: usize| (!assigned.is_empty()).then(|| assigned[i % assigned.len()]);
        match edit {
            Edit::DeleteLine(i) if n > 0 => {
                lines.remove(pick(*i));
            }
            Edit::DuplicateLine { from, to } if n > 0 => {
                let line = lines[pick(*from)].clone();
                lines.insert(to % (n + 1), line);
            }
            Edit::SwapLines(a, b) if n > 0 => lines.swap(pick(*a), pick(*b)),
            Edit::ReplaceValue { line, value } => {
                if let Some(i) = pick_assigned(*line) {
                    let (key, _) = lines[i].split_once('=').unwrap();
                    lines[i] = format!("{key}= {value}");
                }
            }
            Edit::RenameKey { line, key } => {
                if let Some(i) = pick_assigned(*line) {
                    let (_, value) = lines[i].split_once('=').unwrap();
                    lines[i] = format!("{key} ={value}");
                }
            }
            Edit::InsertKey { at, key, value } => {
                lines.insert(at % (n + 1), format!("{key} = {value}"));
            }
            Edit::InsertHeader { at, header } => lines.insert(at % (n + 1), header.clone()),
            Edit::InsertText { line, column, text } if n > 0 => {
                let line = &mut lines[pick(*line)];
                let boundaries: Vec<usize> = line
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain([line.len()])
                    .collect();
                line.insert_str(boundaries[column % boundaries.len()], text);
            }
            _ => {}
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

// --- What is checked ----------------------------------------------------------------------------

/// How a problem is shown after its position: `key: message`, or the message alone.
fn join_key(key: &str, message: &str) -> String {
    if key.is_empty() {
        message.to_owned()
    } else {
        format!("{key}: {message}")
    }
}

/// Checks one result of `parse` or `load` of `text` (as the file at `path`): an error must say
/// where the problem is, and a valid spec must go through what `lifsim validate` does with it.
fn check(
    result: Result<NetworkSpec, ConfigError>,
    text: &str,
    path: &Path,
) -> Result<(), TestCaseError> {
    let error = match result {
        Ok(spec) => {
            let size = lifsim::network::estimate_size(&spec);
            lifsim::backend::gpu::footprint::of_size(&size, &spec, u64::MAX);
            return Ok(());
        }
        Err(error) => error,
    };
    let rendered = error.to_string();
    let shown = || format!("error:\n{rendered}\nfor the input:\n{text}");
    let ConfigError::Invalid { diagnostics, .. } = &error else {
        return Err(TestCaseError::fail(format!(
            "a file that was read gave {error:?}, not a list of problems; {}",
            shown()
        )));
    };
    prop_assert!(!diagnostics.is_empty(), "no problem listed; {}", shown());
    let lines = text.split('\n').count();
    for d in diagnostics {
        let Some(location) = d.location else {
            return Err(TestCaseError::fail(format!(
                "a problem without a line ({d:?}); {}",
                shown()
            )));
        };
        prop_assert!(
            (1..=lines).contains(&location.line) && location.column >= 1,
            "line {}:{} is outside the file ({lines} lines); {}",
            location.line,
            location.column,
            shown()
        );
        let at = format!("{}:{}:{}: ", path.display(), location.line, location.column);
        prop_assert!(rendered.contains(&at), "{at:?} not shown; {}", shown());
        if d.message.starts_with("TOML syntax error") {
            continue;
        }
        // The table and key; an unknown key at the top level is named by the message alone
        // (even the empty key `""`, as ``).
        let unknown_top_level_key = d.key.is_empty() && d.message.starts_with("unknown key `");
        prop_assert!(
            !d.key.trim().is_empty() || unknown_top_level_key,
            "a problem that is not a syntax error names no key ({d:?}); {}",
            shown()
        );
        prop_assert!(
            rendered.contains(&format!("{at}{}", join_key(&d.key, &d.message))),
            "the key {:?} is not shown; {}",
            d.key,
            shown()
        );
    }
    Ok(())
}

#[test]
fn mutated_configs_never_panic_and_every_error_says_where() {
    let configs = shipped_configs();
    let input = (
        prop::sample::select(configs),
        prop::collection::vec(edit(), 1..6),
    );
    runner(DEFAULT_CASES)
        .run(&input, |((path, text), edits)| {
            let mutated = apply(&text, &edits);
            check(parse(&mutated, &path), &mutated, &path)
        })
        .unwrap();
}

/// Random bytes, and random bytes spliced into a config, read from a file as `lifsim` reads it.
#[test]
fn random_bytes_never_panic() {
    let configs = shipped_configs();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.toml");
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        (
            prop::sample::select(configs),
            any::<usize>(),
            prop::collection::vec(any::<u8>(), 1..16),
        )
            .prop_map(|((_, text), at, noise)| {
                let mut bytes = text.into_bytes();
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, noise);
                bytes
            }),
    ];
    runner(DEFAULT_CASES / 3)
        .run(&bytes, |bytes| {
            std::fs::write(&path, &bytes).unwrap();
            let result = load(&path);
            match std::str::from_utf8(&bytes) {
                Ok(text) => check(result, text, &path),
                Err(_) => {
                    let error = result.expect_err("bytes that are not UTF-8 cannot be a config");
                    let message = format!("{error:#}");
                    prop_assert!(message.contains(&path.display().to_string()), "{message}");
                    Ok(())
                }
            }
        })
        .unwrap();
}

/// The mutations produce what they should, so the fuzzing reaches past the TOML parser: edited
/// configs that still parse, and all three kinds of outcome.
#[test]
fn mutations_reach_every_stage() {
    let configs = shipped_configs();
    let input = (
        prop::sample::select(configs),
        prop::collection::vec(edit(), 1..3),
    );
    let (mut valid, mut syntax, mut invalid) = (0, 0, 0);
    let mut runner = runner(500);
    for _ in 0..500 {
        let tree = input.new_tree(&mut runner).unwrap();
        let ((path, text), edits) = tree.current();
        match parse(&apply(&text, &edits), &path) {
            Ok(_) => valid += 1,
            Err(e) if e.diagnostics()[0].message.starts_with("TOML syntax error") => syntax += 1,
            Err(_) => invalid += 1,
        }
    }
    eprintln!("500 edited configs: {valid} valid, {syntax} TOML syntax errors, {invalid} invalid");
    assert!(valid >= 25, "{valid} valid of 500");
    assert!(syntax >= 25, "{syntax} TOML syntax errors of 500");
    assert!(invalid >= 100, "{invalid} rejected by validation of 500");
}

#[test]
fn edits_apply_as_described() {
    let text = "[simulation]\ndt = 0.1  # ms\nt_stop = 5\n";
    assert_eq!(
        apply(
            text,
            &[Edit::ReplaceValue {
                line: 1,
                value: "\"x\"".into()
            }]
        ),
        "[simulation]\ndt = 0.1  # ms\nt_stop = \"x\"\n"
    );
    assert_eq!(
        apply(
            text,
            &[Edit::RenameKey {
                line: 0,
                key: "μ".into()
            }]
        ),
        "[simulation]\nμ = 0.1  # ms\nt_stop = 5\n"
    );
    assert_eq!(
        apply(text, &[Edit::DeleteLine(3), Edit::DeleteLine(3)]),
        "dt = 0.1  # ms\n"
    );
    assert_eq!(
        apply(
            text,
            &[Edit::InsertText {
                line: 2,
                column: 1,
                text: "[".into()
            }]
        ),
        "[simulation]\ndt = 0.1  # ms\nt[_stop = 5\n"
    );
}
