//! Scenario schedule tests.

use super::*;
use crate::province::signal::{Reading, sample};
use crate::province::stations::stations;

/// Unix time at which the simulated run starts in these tests.
const T0: f64 = 1_732_270_000.0;

fn schedule(seed: u64) -> Schedule {
    Schedule::new(&stations(), seed, &ScenarioKind::ALL)
}

/// The readings station `i` publishes `elapsed_s` after start.
fn published(s: &Schedule, seed: u64, i: usize, elapsed_s: f64) -> Vec<Reading> {
    let mut readings = sample(&s.stations()[i], T0 + elapsed_s, seed);
    s.effect(i, elapsed_s).apply(&mut readings);
    readings
}

fn value(readings: &[Reading], metric: &str) -> f64 {
    readings
        .iter()
        .find(|r| r.name == metric)
        .map_or(f64::NAN, |r| r.value)
}

fn episodes(s: &Schedule, kind: ScenarioKind, cycles: u64) -> Vec<Episode> {
    (0..cycles).filter_map(|c| s.episode(kind, c)).collect()
}

#[test]
fn floods_pass_level_three_somewhere_and_recede_below_level_one() {
    for seed in [0, 1, 42] {
        let s = schedule(seed);
        let floods = episodes(&s, ScenarioKind::Flood, 8);
        assert_eq!(floods.len(), 8);
        for e in floods {
            let gauges: Vec<_> = e
                .targets
                .iter()
                .filter_map(|t| match t.role {
                    Role::Gauge { .. } => Some(t.station),
                    _ => None,
                })
                .collect();
            assert!((2..=3).contains(&gauges.len()), "{e:?}");
            let mut reached_three = false;
            for &g in &gauges {
                let StationKind::WaterLevel { alarm, .. } = s.stations()[g].kind else {
                    panic!("gauge role on a non-gauge station");
                };
                let stage = |at: f64| value(&published(&s, seed, g, at), "water_level");
                let highest = (0..=e.duration_s as u32)
                    .map(|k| stage(e.start_s + f64::from(k)))
                    .fold(f64::MIN, f64::max);
                assert!(
                    highest >= alarm.level_1,
                    "{} peaked at {highest}",
                    s.stations()[g].key
                );
                reached_three |= highest >= alarm.level_3;
                let after = stage(e.end_s() + 1.0);
                assert!(
                    after < alarm.level_1 - 0.2,
                    "{} still at {after}",
                    s.stations()[g].key
                );
            }
            assert!(
                reached_three,
                "seed {seed} cycle {}: no gauge past level III",
                e.cycle
            );
        }
    }
}

#[test]
fn the_first_minute_already_has_alerts() {
    let seed = 7;
    let s = schedule(seed);
    let station = |key: &str| s.stations().iter().position(|st| st.key == key);
    let Some(city) = station(FIRST_FLOOD_PEAK) else {
        panic!("no {FIRST_FLOOD_PEAK}")
    };
    // Past level I (4.0 m) before 55 s, with a reading every 5 s.
    let stage = value(&published(&s, seed, city, 50.0), "water_level");
    assert!(
        stage >= 4.0,
        "Bằng Giang at TP Cao Bằng only {stage} m at 50 s"
    );
    // PM2.5 past 55.5 at 40 s, so a 15 s `for` fires before a minute.
    let Some(ward) = station(FIRST_SMOG) else {
        panic!("no {FIRST_SMOG}")
    };
    let pm = value(&published(&s, seed, ward, 40.0), "pm2_5");
    assert!(pm >= 55.5, "{pm}");
    // An outage is running at 25 s.
    let silent = (0..s.stations().len())
        .filter(|&i| s.effect(i, 25.0).silent)
        .count();
    assert_eq!(silent, 1);
}

#[test]
fn the_storm_trips_rain_and_wind_rules_near_the_flood() {
    let seed = 3;
    let s = schedule(seed);
    let peak_of = |metric: &str| {
        (0..s.stations().len())
            .flat_map(|i| (8..20).map(move |k| (i, f64::from(k) * 5.0)))
            .map(|(i, at)| value(&published(&s, seed, i, at), metric))
            .filter(|v| !v.is_nan())
            .fold(f64::MIN, f64::max)
    };
    assert!(peak_of("rain_1h") >= 50.0);
    assert!(peak_of("rain_24h") >= 150.0);
    assert!(peak_of("wind_speed") >= 17.2);
    assert!(peak_of("temperature") < 37.0, "no heat wave in a storm");
}

#[test]
fn pollution_passes_very_unhealthy_and_clears() {
    let seed = 11;
    let s = schedule(seed);
    for e in episodes(&s, ScenarioKind::AirPollution, 6) {
        let main = e.targets[0].station;
        let pm = |at: f64| value(&published(&s, seed, main, at), "pm2_5");
        assert!(pm(e.start_s + 60.0) >= 150.5);
        let aqi = value(&published(&s, seed, main, e.start_s + 60.0), "aqi");
        assert!(aqi > 200.0, "{aqi}");
        assert!(pm(e.end_s() + 1.0) < 50.0);
    }
}

#[test]
fn outages_last_a_minute_or_so_and_spare_the_flooding_gauges() {
    let s = schedule(5);
    let outages = episodes(&s, ScenarioKind::StationSilent, 10);
    assert_eq!(outages[0].start_s, 20.0);
    for e in &outages {
        assert!((60.0..=90.0).contains(&e.duration_s), "{}", e.duration_s);
        let Role::Silent = e.targets[0].role else {
            panic!("{e:?}")
        };
        let victim = e.targets[0].station;
        assert!(s.effect(victim, e.start_s + 1.0).silent);
        assert!(!s.effect(victim, e.end_s() + 0.5).silent);
        for busy in s
            .active(e.start_s + 1.0)
            .iter()
            .filter(|b| b.kind != e.kind)
        {
            assert!(busy.protagonists().all(|p| p != victim));
        }
    }
    let victims: std::collections::HashSet<_> =
        outages.iter().map(|e| e.targets[0].station).collect();
    assert!(victims.len() > 5, "outages should roam");
}

#[test]
fn same_seed_same_schedule() {
    let (a, b, c) = (schedule(99), schedule(99), schedule(100));
    let mut differs = false;
    for kind in ScenarioKind::ALL {
        assert_eq!(episodes(&a, kind, 20), episodes(&b, kind, 20));
        differs |= episodes(&a, kind, 20) != episodes(&c, kind, 20);
    }
    assert!(differs);
    for i in 0..a.stations().len() {
        for at in [0.0, 15.0, 47.5, 333.0] {
            assert_eq!(published(&a, 99, i, at), published(&b, 99, i, at));
        }
    }
}

#[test]
fn default_schedule_starts_at_10_20_30_seconds() {
    let s = schedule(0);
    let starts: Vec<_> = ScenarioKind::ALL
        .iter()
        .filter_map(|&k| s.episode(k, 0).map(|e| e.start_s))
        .collect();
    assert_eq!(starts, [10.0, 20.0, 30.0]);
    let log = s.milestones(0.0, 60.0);
    assert_eq!(log[0].scenario, "flood");
    assert_eq!(log[0].at_s, 10.0);
    assert!(
        log.iter().any(|m| m.what.contains("alarm level I ")),
        "{log:#?}"
    );
    assert!(log.iter().any(|m| m.scenario == "station-silent"));
    assert!(log.iter().any(|m| m.what.contains("PM2.5 past 55.5")));
    let later = s.milestones(60.0, 200.0);
    assert!(later.iter().any(|m| m.what.contains("alarm level III")));
    assert!(
        later
            .iter()
            .any(|m| m.what.contains("back below alarm level I"))
    );
    assert!(later.iter().all(|m| m.at_s > 60.0 && m.at_s <= 200.0));
}

#[test]
fn requested_scenarios_only() {
    let all = stations();
    let s = Schedule::new(&all, 0, &[ScenarioKind::AirPollution]);
    assert_eq!(
        s.episode(ScenarioKind::AirPollution, 0).map(|e| e.start_s),
        Some(10.0)
    );
    assert!(s.episode(ScenarioKind::Flood, 0).is_none());
    let quiet = Schedule::new(&all, 0, &[]);
    for at in [0.0, 10.0, 30.0, 500.0] {
        assert!((0..all.len()).all(|i| quiet.effect(i, at) == Effect::default()));
    }
}

#[test]
fn scenario_names_parse() {
    let names = |v: &[&str]| parse_scenarios(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(names(&[]), Ok(ScenarioKind::ALL.to_vec()));
    assert_eq!(names(&["none"]), Ok(vec![]));
    assert_eq!(
        names(&["pollution", "flood", "flood"]),
        Ok(vec![ScenarioKind::AirPollution, ScenarioKind::Flood])
    );
    assert_eq!(names(&["outage"]), Ok(vec![ScenarioKind::StationSilent]));
    assert_eq!(names(&["tsunami"]), Err("tsunami".to_owned()));
    for kind in ScenarioKind::ALL {
        assert_eq!(ScenarioKind::from_name(kind.name()), Some(kind));
    }
}
