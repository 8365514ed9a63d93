//! Reading one number out of the hub's `/metrics` (the Prometheus text exposition format): the
//! sum of a metric's samples over all their label sets. Only what the run needs: no types, no
//! histograms, no timestamps.

/// The sum of the samples of `name` (any labels) in Prometheus text; None when it has none.
pub fn sum(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter_map(sample)
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .reduce(|a, b| a + b)
}

/// One sample line, `name[{labels}] value [timestamp]`, as (name, value); None for comments,
/// blank and malformed lines.
fn sample(line: &str) -> Option<(&str, f64)> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let (name, rest) = line.split_at(name_end);
    let rest = if rest.starts_with('{') {
        after_labels(rest)?
    } else {
        rest
    };
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some((name, value))
}

/// What follows the label set that `s` starts with, minding quoted values (`"a}b"`, `"\""`).
fn after_labels(s: &str) -> Option<&str> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return Some(&s[i + 1..]),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP iochub_ingest_readings_total Readings committed\n\
        # TYPE iochub_ingest_readings_total counter\n\
        iochub_ingest_readings_total 12345\n\
        iochub_ingest_readings_total_extra 1\n\
        iochub_ingest_rejected_total{reason=\"a\"} 2\n\
        iochub_ingest_rejected_total{reason=\"b}\",topic=\"x \\\"y\\\"\"} 3 1700000000000\n\
        iochub_ingest_unacked_messages 0.5\n\
        \n\
        iochub_broken{reason=\"never closed\n\
        iochub_no_value \n";

    #[test]
    fn a_metric_is_the_sum_of_its_samples() {
        assert_eq!(sum(TEXT, "iochub_ingest_readings_total"), Some(12345.0));
        assert_eq!(
            sum(TEXT, "iochub_ingest_rejected_total"),
            Some(5.0),
            "label values with braces and quotes, and a timestamp"
        );
        assert_eq!(sum(TEXT, "iochub_ingest_unacked_messages"), Some(0.5));
    }

    #[test]
    fn names_match_whole_and_bad_lines_count_for_nothing() {
        assert_eq!(
            sum(TEXT, "iochub_ingest_readings"),
            None,
            "a prefix is not the name"
        );
        assert_eq!(sum(TEXT, "iochub_ingest_readings_total_extra"), Some(1.0));
        assert_eq!(sum(TEXT, "iochub_broken"), None);
        assert_eq!(sum(TEXT, "iochub_no_value"), None);
        assert_eq!(sum(TEXT, "iochub_missing"), None);
        assert_eq!(sum("", "x"), None);
    }

    #[test]
    fn special_values_parse() {
        assert_eq!(sum("x +Inf\n", "x"), Some(f64::INFINITY));
        assert!(sum("x NaN\n", "x").is_some_and(f64::is_nan));
    }
}
