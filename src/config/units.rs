//! Quantities with units: every dimensional value in a config may be a bare number in lifsim's
//! unit for its dimension (ms, mV, nS, pA, pF, Hz) or a string with a unit, such as `"1 s"`,
//! `"-50 mV"` or `"0.006 uS"`.

/// The physical dimensions of config values, each with the unit lifsim computes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    /// [ms]
    Time,
    /// [mV]
    Voltage,
    /// [nS]
    Conductance,
    /// [pA]
    Current,
    /// [pF]
    Capacitance,
    /// [Hz]
    Rate,
}

impl Dimension {
    /// lifsim's unit for this dimension: what a bare number means.
    pub fn unit(self) -> &'static str {
        match self {
            Dimension::Time => "ms",
            Dimension::Voltage => "mV",
            Dimension::Conductance => "nS",
            Dimension::Current => "pA",
            Dimension::Capacitance => "pF",
            Dimension::Rate => "Hz",
        }
    }

    /// "a time", "a voltage", ...: for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Dimension::Time => "a time",
            Dimension::Voltage => "a voltage",
            Dimension::Conductance => "a conductance",
            Dimension::Current => "a current",
            Dimension::Capacitance => "a capacitance",
            Dimension::Rate => "a rate",
        }
    }

    /// The unit symbols accepted for this dimension, comma separated.
    pub fn accepted_units(self) -> String {
        UNITS
            .iter()
            .filter(|u| u.dimension == self)
            .map(|u| u.symbol)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

struct Unit {
    symbol: &'static str,
    dimension: Dimension,
    /// The unit is 10^power times lifsim's unit of its dimension.
    power: i32,
}

const fn unit(symbol: &'static str, dimension: Dimension, power: i32) -> Unit {
    Unit {
        symbol,
        dimension,
        power,
    }
}

/// Every unit a quantity string may use. Case matters: `mS` is a conductance, `ms` a time.
const UNITS: &[Unit] = &[
    unit("ms", Dimension::Time, 0),
    unit("s", Dimension::Time, 3),
    unit("us", Dimension::Time, -3),
    unit("mV", Dimension::Voltage, 0),
    unit("V", Dimension::Voltage, 3),
    unit("uV", Dimension::Voltage, -3),
    unit("nS", Dimension::Conductance, 0),
    unit("uS", Dimension::Conductance, 3),
    unit("pS", Dimension::Conductance, -3),
    unit("mS", Dimension::Conductance, 6),
    unit("pA", Dimension::Current, 0),
    unit("nA", Dimension::Current, 3),
    unit("uA", Dimension::Current, 6),
    unit("pF", Dimension::Capacitance, 0),
    unit("nF", Dimension::Capacitance, 3),
    unit("Hz", Dimension::Rate, 0),
    unit("kHz", Dimension::Rate, 3),
];

/// Why a quantity could not be read.
#[derive(Clone, Debug, PartialEq)]
pub enum QuantityError {
    /// NaN or infinite, as a bare number or in a string.
    NotFinite,
    /// The string has no number in front of its unit.
    BadNumber,
    /// A string with a number but no unit.
    MissingUnit { number: f64 },
    /// A unit that is not in the table.
    UnknownUnit { unit: String },
    /// A known unit of another dimension.
    WrongDimension { found: Dimension },
}

impl QuantityError {
    /// What is wrong with `text`, the value as written, for a key expecting `expected`.
    pub fn describe(&self, text: &str, expected: Dimension) -> String {
        let wanted = format!("{} [{}]", expected.noun(), expected.unit());
        match self {
            QuantityError::NotFinite => {
                format!("expects {wanted}, a finite number; got {text}")
            }
            QuantityError::BadNumber => {
                format!("expects {wanted}; {text} does not start with a number")
            }
            QuantityError::MissingUnit { .. } => {
                format!("expects {wanted}; the string {text} has no unit")
            }
            QuantityError::UnknownUnit { unit } => {
                format!("expects {wanted}; {text} has the unknown unit `{unit}`")
            }
            QuantityError::WrongDimension { found } => {
                format!("expects {wanted}; {text} is {}", found.noun())
            }
        }
    }

    /// How to write a valid value instead.
    pub fn help(&self, expected: Dimension) -> String {
        let unit = expected.unit();
        let units = expected.accepted_units();
        match self {
            QuantityError::MissingUnit { number } => format!(
                "write a bare number in {unit} ({}) or add a unit: \"{} {unit}\" (units: {units})",
                format_number(*number),
                format_number(*number)
            ),
            _ => format!(
                "write a bare number in {unit}, or a string such as \"10 {unit}\" (units of {}: \
                 {units})",
                expected.noun()
            ),
        }
    }
}

/// Parses a quantity string such as `"-50 mV"`, `"0.3kHz"` or `"20 μs"` and returns its value in
/// lifsim's unit for `expected` ([`Dimension::unit`]).
pub fn parse_quantity(text: &str, expected: Dimension) -> Result<f64, QuantityError> {
    let text = text.trim();
    // The unit is the trailing run of letters (and micro signs); the number is what precedes it.
    let unit_start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphabetic())
        .last()
        .map_or(text.len(), |(i, _)| i);
    let (number, symbol) = text.split_at(unit_start);
    let number = number.trim_end();
    let value: f64 = match number.parse() {
        Ok(v) => v,
        // "inf ms" and "nan mV" end in letters that are taken for the unit.
        Err(_) if is_non_finite_word(text.split_whitespace().next().unwrap_or("")) => {
            return Err(QuantityError::NotFinite)
        }
        Err(_) => return Err(QuantityError::BadNumber),
    };
    if !value.is_finite() {
        return Err(QuantityError::NotFinite);
    }
    if symbol.is_empty() {
        return Err(QuantityError::MissingUnit { number: value });
    }
    let normalized = normalize_micro(symbol);
    let unit = UNITS
        .iter()
        .find(|u| u.symbol == normalized)
        .ok_or_else(|| QuantityError::UnknownUnit {
            unit: symbol.to_string(),
        })?;
    if unit.dimension != expected {
        return Err(QuantityError::WrongDimension {
            found: unit.dimension,
        });
    }
    // Divide for sub-units so that "100 us" gives exactly 0.1, not 100 * 0.001.
    let scale = 10f64.powi(unit.power.abs());
    let scaled = if unit.power >= 0 {
        value * scale
    } else {
        value / scale
    };
    if scaled.is_finite() {
        Ok(scaled)
    } else {
        Err(QuantityError::NotFinite)
    }
}

fn is_non_finite_word(word: &str) -> bool {
    let word = word.trim_start_matches(['+', '-']).to_ascii_lowercase();
    matches!(word.as_str(), "inf" | "infinity" | "nan")
}

/// Accepts the micro sign (U+00B5) and the Greek mu (U+03BC) for `u`.
fn normalize_micro(symbol: &str) -> String {
    symbol.replace(['\u{00B5}', '\u{03BC}'], "u")
}

/// A number as a user would write it: rounded to 9 decimals, so that 101 * 0.1 prints as 10.1.
pub fn format_number(value: f64) -> String {
    let rounded = (value * 1e9).round() / 1e9;
    if rounded.is_finite() && rounded != 0.0 {
        format!("{rounded}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_units_are_lifsims_units() {
        assert_eq!(parse_quantity("100 ms", Dimension::Time), Ok(100.0));
        assert_eq!(parse_quantity("-50 mV", Dimension::Voltage), Ok(-50.0));
        assert_eq!(parse_quantity("6 nS", Dimension::Conductance), Ok(6.0));
        assert_eq!(parse_quantity("10 pA", Dimension::Current), Ok(10.0));
        assert_eq!(parse_quantity("200 pF", Dimension::Capacitance), Ok(200.0));
        assert_eq!(parse_quantity("300 Hz", Dimension::Rate), Ok(300.0));
    }

    #[test]
    fn prefixes_scale_to_lifsims_units() {
        assert_eq!(parse_quantity("1 s", Dimension::Time), Ok(1000.0));
        assert_eq!(parse_quantity("100 us", Dimension::Time), Ok(0.1));
        assert_eq!(parse_quantity("-0.05 V", Dimension::Voltage), Ok(-50.0));
        assert_eq!(parse_quantity("500 uV", Dimension::Voltage), Ok(0.5));
        assert_eq!(parse_quantity("0.006 uS", Dimension::Conductance), Ok(6.0));
        assert_eq!(parse_quantity("6000 pS", Dimension::Conductance), Ok(6.0));
        assert_eq!(
            parse_quantity("0.001 mS", Dimension::Conductance),
            Ok(1000.0)
        );
        assert_eq!(parse_quantity("0.3 nA", Dimension::Current), Ok(300.0));
        assert_eq!(parse_quantity("1 uA", Dimension::Current), Ok(1e6));
        assert_eq!(parse_quantity("0.2 nF", Dimension::Capacitance), Ok(200.0));
        assert_eq!(parse_quantity("0.3 kHz", Dimension::Rate), Ok(300.0));
    }

    #[test]
    fn micro_signs_spacing_and_exponents() {
        assert_eq!(parse_quantity("100 μs", Dimension::Time), Ok(0.1));
        assert_eq!(parse_quantity("100 µs", Dimension::Time), Ok(0.1));
        assert_eq!(parse_quantity("0.006 μS", Dimension::Conductance), Ok(6.0));
        assert_eq!(parse_quantity("100ms", Dimension::Time), Ok(100.0));
        assert_eq!(parse_quantity("  1e3 ms ", Dimension::Time), Ok(1000.0));
        assert_eq!(parse_quantity("2.5e-1s", Dimension::Time), Ok(250.0));
        assert_eq!(parse_quantity("+5 mV", Dimension::Voltage), Ok(5.0));
    }

    #[test]
    fn case_matters() {
        assert_eq!(
            parse_quantity("1 mS", Dimension::Time),
            Err(QuantityError::WrongDimension {
                found: Dimension::Conductance
            })
        );
        assert_eq!(
            parse_quantity("1 MS", Dimension::Time),
            Err(QuantityError::UnknownUnit { unit: "MS".into() })
        );
    }

    #[test]
    fn bad_strings_are_classified() {
        assert_eq!(
            parse_quantity("-50 nS", Dimension::Voltage),
            Err(QuantityError::WrongDimension {
                found: Dimension::Conductance
            })
        );
        assert_eq!(
            parse_quantity("-50", Dimension::Voltage),
            Err(QuantityError::MissingUnit { number: -50.0 })
        );
        assert_eq!(
            parse_quantity("5 furlongs", Dimension::Time),
            Err(QuantityError::UnknownUnit {
                unit: "furlongs".into()
            })
        );
        assert_eq!(
            parse_quantity("ms", Dimension::Time),
            Err(QuantityError::BadNumber)
        );
        assert_eq!(
            parse_quantity("", Dimension::Time),
            Err(QuantityError::BadNumber)
        );
        assert_eq!(
            parse_quantity("1 2 ms", Dimension::Time),
            Err(QuantityError::BadNumber)
        );
        assert_eq!(
            parse_quantity("inf ms", Dimension::Time),
            Err(QuantityError::NotFinite)
        );
        assert_eq!(
            parse_quantity("-inf mV", Dimension::Voltage),
            Err(QuantityError::NotFinite)
        );
        assert_eq!(
            parse_quantity("NaN mV", Dimension::Voltage),
            Err(QuantityError::NotFinite)
        );
        assert_eq!(
            parse_quantity("1e308 s", Dimension::Time),
            Err(QuantityError::NotFinite)
        );
    }

    #[test]
    fn messages_name_both_dimensions() {
        let e = parse_quantity("-50 nS", Dimension::Voltage).unwrap_err();
        assert_eq!(
            e.describe("\"-50 nS\"", Dimension::Voltage),
            "expects a voltage [mV]; \"-50 nS\" is a conductance"
        );
        assert!(e.help(Dimension::Voltage).contains("mV, V, uV"));
    }

    #[test]
    fn numbers_print_as_written() {
        assert_eq!(format_number(101.0 * 0.1), "10.1");
        assert_eq!(format_number(1000.0), "1000");
        assert_eq!(format_number(-0.5), "-0.5");
        assert_eq!(format_number(1e-12), "0.000000000001");
    }
}
