//! Time profiles of the scenarios, in seconds from an episode's start. Chosen so that alerts from
//! the sample rules fire within a minute of the simulator's start and clear before the episode ends:
//! rain first, then the river rises over ~50 s, holds, and recedes; smog passes 55.5 ug/m3 within
//! ~6 s and 150.5 within ~35 s.

/// Flood: rain ramps up, holds, stops; the river follows a little later and recedes after.
pub const FLOOD_DURATION_S: f64 = 165.0;
const RAIN_UP_S: f64 = 15.0;
const RAIN_HOLD_END_S: f64 = 60.0;
const RAIN_END_S: f64 = 90.0;
const RISE_START_S: f64 = 8.0;
const RISE_END_S: f64 = 60.0;
const HOLD_END_S: f64 = 95.0;
const RECEDE_END_S: f64 = 155.0;

/// At full weight: past `rain-heavy` (50 mm/h), `rain-24h-extreme` (150 mm) and, at weather
/// stations, `wind-storm` (17.2 m/s, Beaufort 8) near the flooding gauges.
pub const STORM_RAIN_1H_MM: f64 = 68.0;
pub const STORM_RAIN_24H_MM: f64 = 200.0;
pub const STORM_GUST_MS: f64 = 17.0;

/// Air pollution: PM2.5 (ug/m3) through these points, linearly.
pub const SMOG_DURATION_S: f64 = 145.0;
const SMOG_POINTS: [(f64, f64); 5] = [
    (0.0, 0.0),
    (8.0, 70.0),
    (40.0, 185.0),
    (105.0, 185.0),
    (SMOG_DURATION_S, 0.0),
];
/// The sample rules' PM2.5 thresholds: unhealthy and very unhealthy.
const SMOG_LEVELS: [(f64, &str); 2] = [(55.5, "unhealthy"), (150.5, "very unhealthy")];

/// 0 → 1 as `t` goes from `a` to `b`.
fn ramp(t: f64, a: f64, b: f64) -> f64 {
    ((t - a) / (b - a)).clamp(0.0, 1.0)
}

fn smoothstep(x: f64) -> f64 {
    x * x * (3.0 - 2.0 * x)
}

/// Share of a gauge's surge reached at `rel_s`: 0 → 1 → 0.
pub fn surge(rel_s: f64) -> f64 {
    smoothstep(ramp(rel_s, RISE_START_S, RISE_END_S))
        - smoothstep(ramp(rel_s, HOLD_END_S, RECEDE_END_S))
}

/// Rain intensity share at `rel_s`.
pub fn rain(rel_s: f64) -> f64 {
    ramp(rel_s, 0.0, RAIN_UP_S) - ramp(rel_s, RAIN_HOLD_END_S, RAIN_END_S)
}

/// Share of the storm's 24 h total shown at `rel_s`; falls with the river so the episode ends in
/// normal weather.
pub fn soaked(rel_s: f64) -> f64 {
    smoothstep(ramp(rel_s, 0.0, RAIN_HOLD_END_S))
        - smoothstep(ramp(rel_s, HOLD_END_S, RECEDE_END_S))
}

/// PM2.5 floor at `rel_s`, ug/m3.
pub fn smog(rel_s: f64) -> f64 {
    SMOG_POINTS
        .windows(2)
        .find(|w| rel_s < w[1].0)
        .map_or(0.0, |w| {
            let (t0, v0) = w[0];
            let (t1, v1) = w[1];
            v0 + (v1 - v0) * ramp(rel_s, t0, t1)
        })
}

/// When a gauge's stage (without noise) crosses its alarm levels during a flood.
pub fn gauge_crossings(stage: impl Fn(f64) -> f64, levels: [f64; 3]) -> Vec<(f64, String)> {
    const NAMES: [&str; 3] = ["I", "II", "III"];
    crossings(FLOOD_DURATION_S, stage, |prev, now, out, rel| {
        for (level, name) in levels.iter().zip(NAMES) {
            if prev < *level && now >= *level {
                out.push((
                    rel,
                    format!("water rising past alarm level {name} ({level:.1} m)"),
                ));
            }
        }
        if prev >= levels[0] && now < levels[0] {
            out.push((
                rel,
                format!("water back below alarm level I ({:.1} m)", levels[0]),
            ));
        }
    })
}

/// When the polluted town's PM2.5 crosses the sample rules' thresholds.
pub fn smog_crossings() -> Vec<(f64, String)> {
    crossings(SMOG_DURATION_S, smog, |prev, now, out, rel| {
        for (level, name) in SMOG_LEVELS {
            if prev < level && now >= level {
                out.push((rel, format!("PM2.5 past {level} ug/m3 ({name})")));
            }
        }
        let (first, _) = SMOG_LEVELS[0];
        if prev >= first && now < first {
            out.push((rel, format!("PM2.5 back below {first} ug/m3")));
        }
    })
}

/// Scans `value` every half second over `[0, duration_s]`, letting `check` note crossings.
fn crossings(
    duration_s: f64,
    value: impl Fn(f64) -> f64,
    check: impl Fn(f64, f64, &mut Vec<(f64, String)>, f64),
) -> Vec<(f64, String)> {
    let mut out = Vec::new();
    let mut prev = value(0.0);
    let steps = (duration_s * 2.0) as u32;
    for step in 1..=steps {
        let rel = f64::from(step) / 2.0;
        let now = value(rel);
        check(prev, now, &mut out, rel);
        prev = now;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_start_and_end_at_zero() {
        for f in [surge, rain, soaked] {
            assert_eq!(f(0.0), 0.0);
            assert_eq!(f(FLOOD_DURATION_S), 0.0);
            assert!(f(70.0) > 0.5);
        }
        assert_eq!(smog(0.0), 0.0);
        assert_eq!(smog(SMOG_DURATION_S), 0.0);
        assert_eq!(smog(60.0), 185.0);
    }

    #[test]
    fn smog_crosses_both_thresholds_early_and_comes_back() {
        let c = smog_crossings();
        assert_eq!(c.len(), 3, "{c:?}");
        assert!(c[0].0 < 10.0 && c[1].0 < 40.0, "{c:?}");
        assert!(c[2].1.contains("back below"));
    }
}
