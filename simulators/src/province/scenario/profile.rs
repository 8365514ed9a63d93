//! Time profiles of the scenarios, in seconds from an episode's start. Chosen so that alerts from
//! the sample rules fire within a minute of the simulator's start and clear before the episode ends
//! (but the landslide sums, which keep the rain for a day and three days):
//! rain first, then the river rises over ~50 s, holds, and recedes; smog passes 55.5 ug/m3 within
//! ~6 s and 150.5 within ~35 s; three days of steady rain on a slope pass 100 mm within ~45 s and
//! 200 mm within ~75 s; a forest fire's hot dry air comes first, its smoke from ~15 s.

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

/// Landslide: 72 hours of steady rain compressed into ~2 minutes. The slope's tipping bucket counts
/// `SLOPE_RAIN_72H_MM` (at full weight) within `SOAK_UP_S`, which the hub's 24 h and 72 h sums of
/// `rain` keep for a day and three days; the logger's own 72 h figure (`rain_72h`) climbs as
/// much, holds, then slides back in compressed time as if the days had passed; hourly rain stays
/// moderate, below the `rain-heavy` rule, as in real slope failures after days of soaking rather
/// than one cloudburst.
pub const LANDSLIDE_DURATION_S: f64 = 170.0;
const SOAK_UP_S: f64 = 100.0;
const SOAK_HOLD_END_S: f64 = 125.0;
const SOAK_END_S: f64 = 165.0;
const STEADY_RAIN_END_S: f64 = 120.0;
pub const SLOPE_RAIN_72H_MM: f64 = 250.0;
pub const STEADY_RAIN_1H_MM: f64 = 22.0;
/// What the same rain adds to the 24 h totals of ordinary rain gauges under it.
pub const STEADY_RAIN_24H_MM: f64 = 60.0;
/// The sample rules' landslide thresholds on the sums of `rain` (see `rules.rs`).
pub const SLOPE_LEVELS: [(f64, &str); 2] = [(100.0, "warning"), (200.0, "critical")];

/// Sensor fault at a weather station: the barometer jumps by `GLITCH_HPA` for a few readings,
/// then sticks at the value it read when it stuck. The jump comes first: a series stuck for two
/// minutes has almost no spread left, and its mere recovery would be the anomaly.
pub const FAULT_DURATION_S: f64 = 250.0;
const GLITCH_START_S: f64 = 100.0;
const GLITCH_END_S: f64 = 112.0;
pub const STUCK_START_S: f64 = 120.0;
pub const STUCK_END_S: f64 = 240.0;
pub const GLITCH_HPA: f64 = -25.0;
/// The metric the faulty sensor measures.
pub const FAULTY_METRIC: &str = "pressure";

/// Forest fire: hot dry wind first (temperature and humidity pulled towards `FIRE_TEMP_C` and
/// `FIRE_RH`), then smoke at the watch station.
pub const FIRE_DURATION_S: f64 = 150.0;
const DRY_UP_S: f64 = 20.0;
const FIRE_OUT_S: f64 = 110.0;
/// Smoke reaches the watch this long after the dry wind.
pub const FIRE_SMOKE_START_S: f64 = 15.0;
const SMOKE_POINTS: [(f64, f64); 5] = [
    (0.0, 0.0),
    (FIRE_SMOKE_START_S, 0.0),
    (45.0, 1.0),
    (FIRE_OUT_S, 1.0),
    (FIRE_DURATION_S - 5.0, 0.0),
];
pub const FIRE_TEMP_C: f64 = 38.5;
pub const FIRE_RH: f64 = 22.0;
pub const FIRE_WIND_MS: f64 = 5.0;
/// Thick enough for `pm25-unhealthy`, not for `pm25-very-unhealthy`: the fire's own CO rule is
/// its critical alert, one PM2.5 alert beside it is enough.
pub const SMOKE_PM25: f64 = 120.0;
pub const SMOKE_CO_PPM: f64 = 25.0;
/// The sample rules' CO threshold for smoke at a forest station, ppm.
pub const SMOKE_CO_LEVEL: f64 = 9.0;

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
    through(&SMOG_POINTS, rel_s)
}

/// Linear through `points` (time, value); 0 after the last.
fn through(points: &[(f64, f64)], rel_s: f64) -> f64 {
    points.windows(2).find(|w| rel_s < w[1].0).map_or(0.0, |w| {
        let (t0, v0) = w[0];
        let (t1, v1) = w[1];
        v0 + (v1 - v0) * ramp(rel_s, t0, t1)
    })
}

/// Share of a storm's rain fallen by `rel_s`: 0 → 1, as its 24 h total rises.
pub fn storm_fallen(rel_s: f64) -> f64 {
    smoothstep(ramp(rel_s, 0.0, RAIN_HOLD_END_S))
}

/// Share of a landslide episode's rain fallen by `rel_s`: 0 → 1, as its 72 h total rises.
pub fn soak_fallen(rel_s: f64) -> f64 {
    smoothstep(ramp(rel_s, 0.0, SOAK_UP_S))
}

/// Whether the faulty sensor is stuck at `rel_s`.
pub fn stuck(rel_s: f64) -> bool {
    (STUCK_START_S..STUCK_END_S).contains(&rel_s)
}

/// The faulty sensor's error at `rel_s` once it works again, hPa.
pub fn glitch(rel_s: f64) -> f64 {
    if (GLITCH_START_S..GLITCH_END_S).contains(&rel_s) {
        GLITCH_HPA
    } else {
        0.0
    }
}

/// Share of a landslide episode's 72 h rain shown at `rel_s`: 0 → 1 → 0.
pub fn soak(rel_s: f64) -> f64 {
    smoothstep(ramp(rel_s, 0.0, SOAK_UP_S)) - smoothstep(ramp(rel_s, SOAK_HOLD_END_S, SOAK_END_S))
}

/// Hourly intensity share of the steady rain at `rel_s`.
pub fn steady_rain(rel_s: f64) -> f64 {
    ramp(rel_s, 0.0, 10.0) - ramp(rel_s, STEADY_RAIN_END_S - 20.0, STEADY_RAIN_END_S)
}

/// How far a forest fire's hot dry air has come at `rel_s`: 0 → 1 → 0.
pub fn dry(rel_s: f64) -> f64 {
    smoothstep(ramp(rel_s, 0.0, DRY_UP_S))
        - smoothstep(ramp(rel_s, FIRE_OUT_S, FIRE_DURATION_S - 5.0))
}

/// Smoke share at `rel_s`: 0 → 1 → 0.
pub fn smoke(rel_s: f64) -> f64 {
    through(&SMOKE_POINTS, rel_s)
}

/// When the rain counted at the main slope (above normal) crosses the sample rules' thresholds.
/// It stays in the hub's 24 h and 72 h sums after the episode, so it never falls back here.
pub fn slope_crossings(normal_mm: f64) -> Vec<(f64, String)> {
    level_crossings(
        LANDSLIDE_DURATION_S,
        |rel| normal_mm + SLOPE_RAIN_72H_MM * soak_fallen(rel),
        &SLOPE_LEVELS,
        |level, name| format!("rain since the storm began past {level} mm (landslide {name})"),
        |level| format!("rain back below {level} mm"),
    )
}

/// When the faulty sensor jumps, sticks and works again.
pub fn fault_milestones() -> Vec<(f64, String)> {
    vec![
        (
            GLITCH_START_S,
            format!("{FAULTY_METRIC} sensor glitch: {GLITCH_HPA} hPa"),
        ),
        (GLITCH_END_S, format!("{FAULTY_METRIC} glitch over")),
        (
            STUCK_START_S,
            format!("{FAULTY_METRIC} sensor stuck at one value"),
        ),
        (STUCK_END_S, format!("{FAULTY_METRIC} sensor working again")),
    ]
}

/// When a forest fire's CO passes the smoke threshold and falls back.
pub fn smoke_crossings() -> Vec<(f64, String)> {
    level_crossings(
        FIRE_DURATION_S,
        |rel| SMOKE_CO_PPM * smoke(rel),
        &[(SMOKE_CO_LEVEL, "smoke")],
        |level, _| format!("smoke: CO past {level} ppm"),
        |level| format!("smoke thinning: CO below {level} ppm"),
    )
}

/// When a gauge's stage (without noise) crosses its alarm levels during a flood.
pub fn gauge_crossings(stage: impl Fn(f64) -> f64, levels: [f64; 3]) -> Vec<(f64, String)> {
    let named = [(levels[0], "I"), (levels[1], "II"), (levels[2], "III")];
    level_crossings(
        FLOOD_DURATION_S,
        stage,
        &named,
        |level, name| format!("water rising past alarm level {name} ({level:.1} m)"),
        |level| format!("water back below alarm level I ({level:.1} m)"),
    )
}

/// When the polluted town's PM2.5 crosses the sample rules' thresholds.
pub fn smog_crossings() -> Vec<(f64, String)> {
    level_crossings(
        SMOG_DURATION_S,
        smog,
        &SMOG_LEVELS,
        |level, name| format!("PM2.5 past {level} ug/m3 ({name})"),
        |level| format!("PM2.5 back below {level} ug/m3"),
    )
}

/// Rising through each of `levels` (ascending, named), and falling back below the first.
fn level_crossings(
    duration_s: f64,
    value: impl Fn(f64) -> f64,
    levels: &[(f64, &str)],
    past: impl Fn(f64, &str) -> String,
    below: impl Fn(f64) -> String,
) -> Vec<(f64, String)> {
    crossings(duration_s, value, |prev, now, out, rel| {
        for &(level, name) in levels {
            if prev < level && now >= level {
                out.push((rel, past(level, name)));
            }
        }
        if let Some(&(first, _)) = levels.first()
            && prev >= first
            && now < first
        {
            out.push((rel, below(first)));
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
    fn landslide_and_fire_profiles_start_and_end_at_zero() {
        for f in [soak, steady_rain] {
            assert_eq!(f(0.0), 0.0);
            assert_eq!(f(LANDSLIDE_DURATION_S), 0.0);
            assert!(f(100.0) > 0.5);
        }
        for f in [dry, smoke] {
            assert_eq!(f(0.0), 0.0);
            assert_eq!(f(FIRE_DURATION_S), 0.0);
            assert_eq!(f(60.0), 1.0);
        }
        // Smoke follows the dry air: none in the first 15 s.
        assert!(dry(10.0) > 0.3 && smoke(10.0) == 0.0);
    }

    #[test]
    fn slope_and_smoke_cross_their_thresholds_in_order() {
        let c = slope_crossings(20.0);
        assert_eq!(c.len(), 2, "{c:?}");
        assert!(c[0].0 < 50.0 && c[1].0 < 80.0 && c[0].0 < c[1].0, "{c:?}");
        assert_eq!(soak_fallen(LANDSLIDE_DURATION_S), 1.0);
        assert_eq!(storm_fallen(FLOOD_DURATION_S), 1.0);
        let s = smoke_crossings();
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[0].0 < 30.0 && s[1].0 > FIRE_OUT_S, "{s:?}");
    }

    #[test]
    fn smog_crosses_both_thresholds_early_and_comes_back() {
        let c = smog_crossings();
        assert_eq!(c.len(), 3, "{c:?}");
        assert!(c[0].0 < 10.0 && c[1].0 < 40.0, "{c:?}");
        assert!(c[2].1.contains("back below"));
    }
}
