//! "Did you mean ...?": the closest known name to a misspelt one.
//!
//! A name is suggested when it is at most two edits away (insertions, deletions,
//! substitutions or swaps of neighbours) and closer than a third of its length, so `wieght`
//! suggests `weight` but `x` suggests nothing.

/// The known name closest to `unknown`, when it is close enough to be an obvious typo.
pub(super) fn closest<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|&name| (edit_distance(unknown, name), name))
        .filter(|&(distance, name)| distance <= 2 && distance * 3 <= name.chars().count())
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, name)| name)
}

/// The message for a key that is not one of `known`: the suggestion when one is obvious, the
/// whole list otherwise.
pub(super) fn unknown_key(unknown: &str, known: &[&str]) -> String {
    match closest(unknown, known) {
        Some(name) => format!("unknown key `{unknown}` (did you mean `{name}`?)"),
        None => format!(
            "unknown key `{unknown}` (expected one of: {})",
            known.join(", ")
        ),
    }
}

/// The message for a value that is not one of `known`: always the list, and the suggestion
/// when one is obvious.
pub(super) fn unknown_value(what: &str, unknown: &str, known: &[&str]) -> String {
    let list = known.join(", ");
    match closest(unknown, known) {
        Some(name) => {
            format!("unknown {what} `{unknown}`; did you mean `{name}`? (one of: {list})")
        }
        None => format!("unknown {what} `{unknown}` (expected one of: {list})"),
    }
}

/// Optimal string alignment distance: Levenshtein plus swaps of adjacent characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [&str; 4] = ["weight", "backup", "name", "address"];

    #[test]
    fn suggests_only_obvious_typos() {
        assert_eq!(closest("wieght", &KEYS), Some("weight"));
        assert_eq!(closest("adress", &KEYS), Some("address"));
        assert_eq!(closest("nmae", &KEYS), Some("name"));
        assert_eq!(closest("x", &KEYS), None);
        assert_eq!(closest("priority", &KEYS), None);
    }

    #[test]
    fn keys_get_a_suggestion_or_the_list_and_values_always_the_list() {
        assert_eq!(
            unknown_key("wieght", &KEYS),
            "unknown key `wieght` (did you mean `weight`?)"
        );
        assert_eq!(
            unknown_key("priority", &KEYS),
            "unknown key `priority` (expected one of: weight, backup, name, address)"
        );
        assert_eq!(
            unknown_value("mode", "htp", &["tcp", "http"]),
            "unknown mode `htp`; did you mean `http`? (one of: tcp, http)"
        );
        assert_eq!(
            unknown_value("mode", "udp", &["tcp", "http"]),
            "unknown mode `udp` (expected one of: tcp, http)"
        );
    }
}
