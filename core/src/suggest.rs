//! "Did you mean ...?" for misspelt names: the closest candidate by
//! Levenshtein distance, when it is close enough to be a typo.

/// Levenshtein edit distance between `a` and `b` (characters).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `name` (case-insensitive), if it is within
/// about a third of `name`'s length in edits: a likely typo, not a
/// different word.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= lower.chars().count().max(3) / 3 + 1)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_only_near_names() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        let names = ["DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "FAST_CNN", "MLP"];
        assert_eq!(
            closest("DEEP_CONVOLUTIONAL_NETWORK_SHALOW", names),
            Some("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW")
        );
        assert_eq!(closest("fast_cnm", names), Some("FAST_CNN"));
        assert_eq!(closest("resnet50", names), None);
    }
}
