//! "Did you mean ...?" for misspelt keys, names and choices.

/// The candidate closest to `given`, if one is close enough to be a plausible misspelling: the
/// same word in another case, or within an edit distance of about a third of its length.
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = given.to_lowercase();
    let limit = (given.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter_map(|c| {
            let distance = if c.to_lowercase() == lower {
                0
            } else {
                edit_distance(given, c)
            };
            // A distance as long as the word itself would suggest any word for a short one.
            (distance <= limit && distance < given.chars().count()).then_some((distance, c))
        })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, c)| c)
}

/// `did you mean `x`? ` (with a trailing space) or nothing.
pub fn did_you_mean<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(given, candidates).map_or_else(String::new, |c| format!("did you mean `{c}`? "))
}

/// `a`, `b`, `c`: for lists of valid choices.
pub fn backticked<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items
        .into_iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Levenshtein distance between `a` and `b`, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("V_th", "V_th"), 0);
        assert_eq!(edit_distance("V_t", "V_th"), 1);
        assert_eq!(edit_distance("Vth", "V_th"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("μs", "us"), 1);
    }

    #[test]
    fn suggestions_are_close_or_absent() {
        let keys = ["V_th", "V_reset", "t_ref", "tau_syn_ex", "tau_syn_in"];
        assert_eq!(closest("V_t", keys), Some("V_th"));
        assert_eq!(closest("v_th", keys), Some("V_th"));
        assert_eq!(closest("tau_syn_exc", keys), Some("tau_syn_ex"));
        assert_eq!(closest("threshold", keys), None);
        assert_eq!(closest("J", ["E", "I"]), None);
        assert_eq!(closest("e", ["E", "I"]), Some("E"));
        assert_eq!(did_you_mean("V_rest", keys), "did you mean `V_reset`? ");
        assert_eq!(did_you_mean("zzz", keys), "");
        assert_eq!(backticked(["a", "b"]), "`a`, `b`");
    }
}
