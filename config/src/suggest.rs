//! "Did you mean ...?" for unknown keys.

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
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

/// Adds "did you mean `x`?" to serde's "unknown field `y`, expected one of
/// `a`, `b`" messages, picking the closest expected name.
pub(crate) fn with_suggestion(message: &str) -> String {
    let Some(start) = message.find("unknown field `") else {
        return message.to_string();
    };
    let rest = &message[start + "unknown field `".len()..];
    let Some(end) = rest.find('`') else {
        return message.to_string();
    };
    let unknown = &rest[..end];
    let Some(exp) = rest.find("expected one of ") else {
        return message.to_string();
    };
    let candidates: Vec<&str> = rest[exp..].split('`').skip(1).step_by(2).collect();
    let best = candidates.iter().min_by_key(|c| distance(unknown, c));
    match best {
        Some(best) if distance(unknown, best) <= unknown.len().max(3) / 2 + 1 => {
            format!("{}\ndid you mean `{best}`?", message.trim_end())
        }
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_name() {
        let m = with_suggestion("unknown field `batch_sise`, expected one of `batch_size`, `lr`");
        assert!(m.ends_with("did you mean `batch_size`?"), "{m}");
        let m = with_suggestion("unknown field `zzzzzzzz`, expected one of `batch_size`, `lr`");
        assert!(!m.contains("did you mean"), "{m}");
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
