//! The warm-up at start: window, rate, anomaly and `all` rules get back the readings their
//! memory covers, read from the store, so that a 72-hour rain rule does not start blind after a
//! restart. (A rule added by a reload starts empty: it fills as readings come.)
//!
//! What each rule needs: a window rule its `window` (plus a bucket), a rate rule its `over`
//! (plus a bucket), an anomaly rule five half-lives (older readings weigh under 3 %), an `all`
//! rule its `within`; never more than [`MAX_LOOKBACK_MS`]. Nothing is decided from these
//! readings: an alert that was open is open again from the store, and a condition that holds
//! opens its alert at the next live reading.

use crate::engine::rules::{Kind, Places, Rule, RuleSet};

/// The most a warm-up reads back.
pub const MAX_LOOKBACK_MS: i64 = 7 * 24 * 3_600_000;

/// How far back `rule` needs readings; `None` for rules without memory.
pub fn lookback_ms(rule: &Rule) -> Option<i64> {
    use crate::engine::evaluator::memory::BUCKETS;
    let ms = match &rule.kind {
        Kind::Window { window_ms, .. } => window_ms.saturating_add(window_ms / BUCKETS as i64),
        Kind::Rate { over_ms, .. } => over_ms.saturating_add(over_ms / BUCKETS as i64),
        Kind::Anomaly { half_life_ms, .. } => half_life_ms.saturating_mul(5),
        Kind::All { within_ms, .. } => *within_ms,
        Kind::Threshold { .. } | Kind::NoData { .. } => return None,
    };
    Some(ms.min(MAX_LOOKBACK_MS))
}

/// Of a device's stored metrics, those to read again and from when (sorted by metric); empty
/// when no rule with memory covers the device.
pub fn plan<'m>(
    rules: &RuleSet,
    device: &str,
    stored: &[&'m str],
    places: &Places,
    now_ms: i64,
) -> Vec<(&'m str, i64)> {
    let mut plan: Vec<(&str, i64)> = Vec::new();
    for rule in rules.rules.iter().filter(|r| r.covers(device, places)) {
        let Some(back) = lookback_ms(rule) else {
            continue;
        };
        let metrics = rule.kind.metrics();
        for &metric in stored.iter().filter(|m| metrics.contains(m)) {
            let since = now_ms - back;
            match plan.iter_mut().find(|(m, _)| *m == metric) {
                Some((_, s)) => *s = (*s).min(since),
                None => plan.push((metric, since)),
            }
        }
    }
    plan.sort_unstable();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_reads_back_what_its_memory_covers() {
        let rules = RuleSet::parse(
            r#"
[[rules]]
id = "w"
kind = "window"
metric = "rain_1h"
agg = "sum"
window = "48h"
op = ">="
value = 1
severity = "info"

[[rules]]
id = "r"
kind = "rate"
metric = "water_level"
change = 1
over = "48m"
severity = "info"

[[rules]]
id = "a"
kind = "anomaly"
metric = "water_level"
half_life = "2h"
k = 3
severity = "info"

[[rules]]
id = "t"
metric = "pm25"
op = ">"
value = 1
severity = "info"

[[rules]]
id = "long"
kind = "window"
metric = "pm25"
agg = "avg"
window = "30d"
op = ">"
value = 1
severity = "info"
devices = ["other"]
"#,
        )
        .expect("rules");
        let hour = 3_600_000;
        let by_id = |id: &str| lookback_ms(rules.get(id).expect("rule"));
        assert_eq!(by_id("w"), Some(49 * hour));
        assert_eq!(by_id("r"), Some(49 * 60_000));
        assert_eq!(by_id("a"), Some(10 * hour));
        assert_eq!(by_id("t"), None);
        assert_eq!(by_id("long"), Some(MAX_LOOKBACK_MS));
        let stored = ["battery", "pm25", "rain_1h", "water_level"];
        let now = 100 * hour;
        assert_eq!(
            plan(&rules, "st-1", &stored, &Places::default(), now),
            // water_level: the longer of rate (49 min) and anomaly (10 h); pm25: only a
            // threshold covers st-1; battery: no rule
            [
                ("rain_1h", now - 49 * hour),
                ("water_level", now - 10 * hour)
            ]
        );
    }
}
