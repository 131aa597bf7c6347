//! Neuron selections in Python's slice syntax: `"start:stop"`, half-open, 0-based within a
//! population, either bound may be omitted (`"0:400"`, `":400"`, `"3200:"`, `":"`).

use std::ops::Range;

/// A parsed `"start:stop"`, not yet checked against a population.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    pub start: Option<u64>,
    pub stop: Option<u64>,
}

/// What is wrong with a slice string or with its bounds; the message is for a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SliceError {
    pub message: String,
    pub help: String,
}

const SYNTAX_HELP: &str =
    "write \"start:stop\" (0-based, stop excluded, as in Python), e.g. \"0:400\"; \
     \":400\" starts at 0 and \"400:\" ends at the last neuron";

impl Slice {
    /// Parses `text`, e.g. `"0:400"`.
    pub fn parse(text: &str) -> Result<Slice, SliceError> {
        let syntax = |message: String| SliceError {
            message,
            help: SYNTAX_HELP.to_string(),
        };
        let parts: Vec<&str> = text.split(':').collect();
        match parts.as_slice() {
            [start, stop] => Ok(Slice {
                start: parse_bound(start, "start").map_err(syntax)?,
                stop: parse_bound(stop, "stop").map_err(syntax)?,
            }),
            [_] => Err(syntax(format!(
                "\"{text}\" is not a slice: it has no `:` between start and stop"
            ))),
            [_, _, _] => Err(SliceError {
                message: format!("\"{text}\" has a step; slices here take no step"),
                help: "select a contiguous range \"start:stop\" (a multimeter also takes an \
                       explicit list of neurons, e.g. [0, 10, 20])"
                    .to_string(),
            }),
            _ => Err(syntax(format!("\"{text}\" is not a slice"))),
        }
    }

    /// The neurons selected in a population of `n`: `start` defaults to 0 and `stop` to `n`.
    /// An empty selection or one that reaches past the population is an error.
    pub fn resolve(&self, n: u32) -> Result<Range<u32>, SliceError> {
        let start = self.start.unwrap_or(0);
        let stop = self.stop.unwrap_or(u64::from(n));
        let last = u64::from(n).saturating_sub(1);
        if start >= stop {
            return Err(SliceError {
                message: format!("{start}:{stop} selects no neuron (start must be below stop)"),
                help: format!("choose start < stop <= {n}, e.g. \"0:{n}\" for all"),
            });
        }
        if stop > u64::from(n) {
            return Err(SliceError {
                message: format!(
                    "{start}:{stop} reaches past the population, which has {n} neurons \
                     (indices 0 to {last})"
                ),
                help: format!("stop can be at most {n}; omit it (\"{start}:\") to go to the end"),
            });
        }
        // Both bounds are now at most n, a u32.
        Ok(start as u32..stop as u32)
    }
}

fn parse_bound(text: &str, which: &str) -> Result<Option<u64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.starts_with('-') {
        return Err(format!(
            "{which} `{text}` is negative; indices here count from 0 at the first neuron"
        ));
    }
    match text.parse::<u64>() {
        Ok(v) => Ok(Some(v)),
        Err(_) => Err(format!("{which} `{text}` is not a whole number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str, n: u32) -> Result<Range<u32>, SliceError> {
        Slice::parse(text)?.resolve(n)
    }

    #[test]
    fn bounds_default_to_the_whole_population() {
        assert_eq!(resolve("0:400", 3200), Ok(0..400));
        assert_eq!(resolve(":400", 3200), Ok(0..400));
        assert_eq!(resolve("400:", 3200), Ok(400..3200));
        assert_eq!(resolve(":", 3200), Ok(0..3200));
        assert_eq!(resolve(" 3 : 5 ", 10), Ok(3..5));
        assert_eq!(resolve("0:1", 1), Ok(0..1));
    }

    #[test]
    fn syntax_errors_say_what_is_wrong() {
        let e = Slice::parse("5").unwrap_err();
        assert!(e.message.contains("no `:`"), "{}", e.message);
        assert!(e.help.contains("start:stop"));
        assert!(Slice::parse("0:10:2").unwrap_err().message.contains("step"));
        assert!(Slice::parse("-5:")
            .unwrap_err()
            .message
            .contains("negative"));
        assert!(Slice::parse("a:b")
            .unwrap_err()
            .message
            .contains("not a whole number"));
        assert!(Slice::parse("1.5:3")
            .unwrap_err()
            .message
            .contains("not a whole number"));
        assert!(Slice::parse("").unwrap_err().message.contains("no `:`"));
        assert!(Slice::parse("1:2:3:4")
            .unwrap_err()
            .message
            .contains("not a slice"));
        let huge = Slice::parse("99999999999999999999999:").unwrap_err();
        assert!(huge.message.contains("not a whole number"));
    }

    #[test]
    fn out_of_range_and_empty_slices_are_errors() {
        let e = resolve("0:4000", 3200).unwrap_err();
        assert!(e.message.contains("3200 neurons"), "{}", e.message);
        assert!(e.help.contains("at most 3200"));
        assert!(resolve("5:5", 10)
            .unwrap_err()
            .message
            .contains("selects no neuron"));
        assert!(resolve("6:5", 10)
            .unwrap_err()
            .message
            .contains("selects no neuron"));
        assert!(resolve("10:", 10)
            .unwrap_err()
            .message
            .contains("selects no neuron"));
        let far = resolve("18446744073709551615:", 10).unwrap_err();
        assert!(far.message.contains("selects no neuron"));
    }
}
