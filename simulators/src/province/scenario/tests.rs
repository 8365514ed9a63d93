//! Scenario schedule tests.

use super::*;
use crate::province::signal::Reading;
use crate::province::stations::stations;

/// Unix time at which the simulated run starts in these tests.
const T0: f64 = 1_732_270_000.0;

fn schedule(seed: u64) -> Schedule {
    Schedule::new(&stations(), seed, &ScenarioKind::ALL)
}

/// The readings station `i` publishes `elapsed_s` after start.
fn published(s: &Schedule, seed: u64, i: usize, elapsed_s: f64) -> Vec<Reading> {
    let effect = s.effect_over(i, elapsed_s, INTERVAL_S);
    observe(
        &s.stations()[i],
        T0 + elapsed_s,
        seed,
        INTERVAL_S,
        &effect,
        &mut None,
    )
}

/// The simulator's default interval between two messages of a station.
const INTERVAL_S: f64 = 5.0;

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
        "Bằng Giang at phường Thục Phán only {stage} m at 50 s"
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
    // Floods only: a forest fire elsewhere would be a heat wave of its own.
    let s = Schedule::new(&stations(), seed, &[ScenarioKind::Flood]);
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
            .filter(|b| b.kind.is_weather())
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
    assert_eq!(
        starts,
        [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0]
    );
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
    assert_eq!(names(&["outage"]), Ok(vec![ScenarioKind::Outage]));
    assert_eq!(
        names(&["Landslide", " fire", "clock-skew", "garbage"]),
        Ok(vec![
            ScenarioKind::Landslide,
            ScenarioKind::ForestFire,
            ScenarioKind::ClockSkew,
            ScenarioKind::Garbage
        ])
    );
    assert_eq!(names(&["tsunami"]), Err("tsunami".to_owned()));
    let triggers =
        |v: &[&str]| parse_triggers(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(triggers(&[]), Ok(vec![]));
    assert_eq!(triggers(&["outage"]), Ok(vec![ScenarioKind::Outage]));
    assert_eq!(triggers(&["flod"]), Err("flod".to_owned()));
    // `--list-scenarios`: one line per kind, in schedule order, each with its description.
    let list = catalogue();
    let lines: Vec<_> = list.lines().collect();
    assert_eq!(lines.len(), ScenarioKind::ALL.len());
    for (line, kind) in lines.iter().zip(ScenarioKind::ALL) {
        assert!(line.starts_with(kind.name()), "{line}");
        assert!(line.ends_with(kind.description()), "{line}");
    }
    assert!(known_names().ends_with("garbage, sensor-fault, all, none"));
    for kind in ScenarioKind::ALL {
        assert_eq!(ScenarioKind::from_name(kind.name()), Some(kind));
    }
}

/// A schedule running `kind` alone, so that other stories do not blur what a test measures.
fn only(kind: ScenarioKind, seed: u64) -> Schedule {
    Schedule::new(&stations(), seed, &[kind])
}

fn distance(s: &Schedule, a: usize, b: usize) -> f64 {
    s.stations()[a].distance_km(&s.stations()[b])
}

#[test]
fn landslide_rain_accumulates_past_warning_then_critical_and_drains() {
    for seed in [0, 1, 42] {
        let s = only(ScenarioKind::Landslide, seed);
        let slides = episodes(&s, ScenarioKind::Landslide, 6);
        assert_eq!(slides.len(), 6);
        let mut slopes = std::collections::HashSet::new();
        for e in slides {
            let Target {
                station: main,
                role: Role::Slope { weight },
            } = e.targets[0]
            else {
                panic!("{e:?}")
            };
            assert_eq!(weight, 1.0);
            assert_eq!(s.stations()[main].kind, StationKind::Slope);
            slopes.insert(main);
            let at = |rel: f64| published(&s, seed, main, e.start_s + rel);
            let series: Vec<_> = (0..=e.duration_s as u32)
                .map(|k| value(&at(f64::from(k)), "rain_72h"))
                .collect();
            // Accumulating: never falls while it rains (normal weather may wander a few tenths).
            assert!(
                series[..100].windows(2).all(|w| w[1] >= w[0] - 0.5),
                "{series:?}"
            );
            let crossed = |mm: f64| series.iter().position(|&v| v >= mm);
            let (Some(warn), Some(critical)) = (crossed(100.0), crossed(200.0)) else {
                panic!("seed {seed} cycle {}: peaked at {series:?}", e.cycle)
            };
            assert!(
                warn < critical && warn <= 50 && critical <= 80,
                "{warn} {critical}"
            );
            // The bucket counts the storm: the hub's sums of `rain` pass the landslide levels
            // as early as the logger's own 72 h total, and keep it once the episode is over.
            let mut counted = 0.0;
            let mut passed = Vec::new();
            for k in 1..=(e.duration_s / INTERVAL_S) as u32 {
                let rel = f64::from(k) * INTERVAL_S;
                let before = counted;
                counted += value(&at(rel), "rain");
                for level in [100.0, 200.0] {
                    if before < level && counted >= level {
                        passed.push(rel);
                    }
                }
            }
            assert!(counted >= 250.0, "seed {seed}: {counted} mm counted");
            assert!(
                passed.len() == 2 && passed[0] <= 50.0 && passed[1] <= 85.0,
                "{passed:?}"
            );
            // The soil saturates; the hourly rain stays below `rain-heavy`.
            let soil = |rel| value(&at(rel), "soil_moisture");
            assert!(soil(100.0) >= 45.0 && soil(100.0) > soil(0.0) + 5.0);
            let wettest = (0..e.duration_s as u32)
                .map(|k| value(&at(f64::from(k)), "rain_1h"))
                .fold(0.0, f64::max);
            assert!((10.0..50.0).contains(&wettest), "{wettest}");
            assert!(value(&at(e.duration_s + 1.0), "rain_72h") < 100.0);
            // Nearby stations get the rain but no landslide story of their own.
            for t in &e.targets[1..] {
                assert!(distance(&s, main, t.station) <= SOAK_RADIUS_KM);
            }
        }
        assert!(slopes.len() > 3, "landslides should roam: {slopes:?}");
    }
}

#[test]
fn forest_fire_heats_and_dries_then_smokes_the_forest() {
    let seed = 13;
    let s = only(ScenarioKind::ForestFire, seed);
    for e in episodes(&s, ScenarioKind::ForestFire, 6) {
        let [
            Target {
                station,
                role: Role::Fire,
            },
        ] = e.targets[..]
        else {
            panic!("{e:?}")
        };
        assert_eq!(s.stations()[station].kind, StationKind::Forest);
        let at =
            |rel: f64, metric: &str| value(&published(&s, seed, station, e.start_s + rel), metric);
        // Dry wind first, no smoke yet.
        assert!(at(10.0, "humidity") < at(0.0, "humidity") - 10.0);
        assert!(at(10.0, "co") < 1.0);
        // Then everything the sample rules watch: heat, dry air, smoke.
        for rel in [45.0, 60.0, 100.0] {
            assert!(at(rel, "temperature") >= 37.0, "{}", at(rel, "temperature"));
            assert!(at(rel, "humidity") <= 30.0, "{}", at(rel, "humidity"));
            assert!(at(rel, "co") >= SMOKE_CO_LEVEL, "{}", at(rel, "co"));
            // Unhealthy, but one PM2.5 alert per fire is enough for the demo.
            let pm = at(rel, "pm2_5");
            assert!((55.5..150.5).contains(&pm), "{pm}");
            assert!(at(rel, "wind_speed") > at(0.0, "wind_speed"));
        }
        let after = |metric| at(e.duration_s + 1.0, metric);
        assert!(after("temperature") < 37.0 && after("humidity") > 35.0);
        assert!(after("co") < 1.0 && after("pm2_5") < 30.0);
    }
}

#[test]
fn outage_silences_a_group_of_neighbours_and_restores_them() {
    let seed = 5;
    let s = only(ScenarioKind::Outage, seed);
    let n = s.stations().len();
    for e in episodes(&s, ScenarioKind::Outage, 8) {
        let group: Vec<_> = e.targets.iter().map(|t| t.station).collect();
        assert!(e.targets.iter().all(|t| t.role == Role::Silent));
        assert!((4..=6).contains(&group.len()), "{group:?}");
        assert!((60.0..=90.0).contains(&e.duration_s));
        let silent_at =
            |at: f64| -> Vec<usize> { (0..n).filter(|&i| s.effect(i, at).silent).collect() };
        let mut sorted = group.clone();
        sorted.sort_unstable();
        assert_eq!(silent_at(e.start_s - 0.5), Vec::<usize>::new());
        assert_eq!(silent_at(e.start_s + 1.0), sorted);
        assert_eq!(silent_at(e.end_s() - 0.5), sorted);
        assert_eq!(silent_at(e.end_s() + 0.5), Vec::<usize>::new());
        // Neighbours: nobody outside the group is closer to its centre than its farthest member.
        let centre = group[0];
        let farthest = group
            .iter()
            .map(|&g| distance(&s, centre, g))
            .fold(0.0, f64::max);
        for i in (0..n).filter(|i| !group.contains(i)) {
            assert!(
                distance(&s, centre, i) >= farthest,
                "{i} closer than the group"
            );
        }
        let log = s.milestones(e.start_s - 0.5, e.end_s());
        assert!(
            log.iter()
                .any(|m| m.what.contains(&format!("{} stations", group.len()))),
            "{log:?}"
        );
    }
    // In the full schedule the group never takes a station whose flood or fire is on.
    let full = schedule(seed);
    for e in episodes(&full, ScenarioKind::Outage, 8) {
        for busy in full
            .active(e.start_s + 1.0)
            .iter()
            .filter(|b| b.kind.is_weather())
        {
            assert!(
                busy.protagonists()
                    .all(|p| e.targets.iter().all(|t| t.station != p))
            );
        }
    }
}

#[test]
fn clock_skew_moves_one_stations_clock_for_a_while() {
    use iochub_devices::{Catalog, Limits, RejectReason, decode};
    let seed = 9;
    let s = only(ScenarioKind::ClockSkew, seed);
    let now_ms = T0 as u64 * 1000;
    let hour_ms = 3_600_000;
    let mut faults = std::collections::HashSet::new();
    for e in episodes(&s, ScenarioKind::ClockSkew, 12) {
        let [
            Target {
                station,
                role: Role::Skewed(fault),
            },
        ] = e.targets[..]
        else {
            panic!("{e:?}")
        };
        assert!((90.0..=120.0).contains(&e.duration_s));
        let during = s.effect(station, e.start_s + 30.0);
        let shown = during.device_ms(now_ms);
        // What the hub makes of a message stamped by this clock.
        let key = s.stations()[station].key;
        let readings = published(&s, seed, station, e.start_s + 30.0);
        let payload = crate::province::senml::telemetry(key, shown, &readings, None);
        let hub = decode(
            key,
            payload.as_bytes(),
            now_ms as i64,
            &Limits::default(),
            &Catalog::builtin(),
        );
        let refused = |reason| {
            hub.readings.is_empty()
                && hub.rejects.len() == readings.len()
                && hub.rejects.iter().all(|r| r.reason == reason)
        };
        match fault {
            ClockFault::Ahead { hours } => {
                faults.insert("ahead");
                assert!((2.0..=9.0).contains(&hours));
                assert_eq!(shown, now_ms + (hours as u64) * hour_ms);
                assert!(refused(RejectReason::TimestampFuture), "{hub:?}");
            }
            ClockFault::Behind { hours } => {
                faults.insert("behind");
                assert!((1.0..=6.0).contains(&hours));
                assert_eq!(shown, now_ms - (hours as u64) * hour_ms);
                // Accepted, at the wrong time.
                assert_eq!(hub.readings.len(), readings.len(), "{hub:?}");
                assert!(hub.readings.iter().all(|r| r.ts_ms == shown as i64));
            }
            ClockFault::Reset => {
                faults.insert("reset");
                // 2000-01-01 plus the 30 s since the clock restarted.
                assert_eq!(shown, 946_684_800_000 + 30_000);
                assert!(refused(RejectReason::TimestampPast), "{hub:?}");
            }
        }
        if e.cycle == 0 {
            assert!(matches!(fault, ClockFault::Ahead { .. }), "{fault:?}");
        }
        // Only that station, only for a while.
        assert_eq!(s.effect(station, e.end_s() + 0.5).device_ms(now_ms), now_ms);
        for other in (0..s.stations().len()).filter(|&i| i != station) {
            assert_eq!(s.effect(other, e.start_s + 30.0).clock, None);
        }
    }
    assert_eq!(faults.len(), 3, "{faults:?}");
}

#[test]
fn garbage_comes_at_the_given_rate_from_a_few_loggers_and_the_hub_refuses_it() {
    use crate::province::garbage;
    use iochub_devices::{Catalog, Limits, decode};
    let seed = 17;
    let n = stations().len();
    for (rate, expected) in [(2.0, 300), (0.2, 30), (0.0, 0)] {
        let s = only(ScenarioKind::Garbage, seed).with_garbage_rate(rate);
        let Some(e) = s.episode(ScenarioKind::Garbage, 0) else {
            panic!("no garbage episode")
        };
        let loggers: Vec<_> = e.targets.iter().map(|t| t.station).collect();
        assert_eq!(loggers.len(), 3);
        // Episode 0 only: the next starts a period later.
        let all: Vec<(usize, GarbageDue)> = (0..n)
            .flat_map(|i| {
                s.garbage(i, 0.0, e.end_s() + 1.0)
                    .into_iter()
                    .map(move |g| (i, g))
            })
            .collect();
        assert_eq!(all.len(), expected, "rate {rate}");
        assert!(all.iter().all(|(i, _)| loggers.contains(i)));
        assert!(
            all.iter()
                .all(|(_, g)| e.start_s < g.at_s && g.at_s < e.end_s())
        );
        // Asking in small steps, as a station does, finds the same messages.
        for &logger in &loggers {
            let whole = s.garbage(logger, 0.0, 1000.0);
            let stepped: Vec<_> = (0..400)
                .flat_map(|k| s.garbage(logger, f64::from(k) * 2.5, f64::from(k + 1) * 2.5))
                .collect();
            assert_eq!(whole, stepped);
        }
        if expected == 0 {
            continue;
        }
        // Every first half-minute has some, so the dead letters show up early.
        assert!(all.iter().any(|(_, g)| g.at_s < e.start_s + 30.0));
        let kinds: std::collections::HashSet<_> = all.iter().map(|(_, g)| g.kind).collect();
        assert!(kinds.len() >= 5.min(expected), "{kinds:?}");
        // Each is refused by the hub's decoder, for the reason its kind stands for.
        let catalog = Catalog::builtin();
        for (i, g) in &all {
            let station = &s.stations()[*i];
            let readings = published(&s, seed, *i, g.at_s);
            let now_ms = (T0 + g.at_s) as u64 * 1000;
            let bytes = garbage::payload(g.kind, station.key, now_ms, &readings[0], g.salt);
            let hub = decode(
                station.key,
                &bytes,
                now_ms as i64,
                &Limits::default(),
                &catalog,
            );
            assert!(hub.readings.is_empty(), "{:?}: {hub:?}", g.kind);
            assert!(
                hub.rejects.iter().all(|r| r.reason == g.kind.reason()),
                "{:?}: {hub:?}",
                g.kind
            );
            assert!(!hub.rejects.is_empty());
        }
    }
}

#[test]
fn a_trigger_starts_its_scenario_at_once() {
    let all = stations();
    let seed = 2;
    // Triggered only: at 0 s, once.
    let s = Schedule::with_triggers(&all, seed, &[], &[ScenarioKind::Landslide]);
    let Some(e) = s.episode(ScenarioKind::Landslide, 0) else {
        panic!("no landslide")
    };
    assert_eq!(e.start_s, 0.0);
    assert!(s.episode(ScenarioKind::Landslide, 1).is_none());
    assert!(s.active(400.0).is_empty());
    let main = e.targets[0].station;
    assert!(value(&published(&s, seed, main, 50.0), "rain_72h") >= 100.0);
    let log = s.milestones(-1.0, 1.0);
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!((log[0].at_s, log[0].scenario), (0.0, "landslide"));
    // Triggered and scheduled: at 0 s, then every period; the rest keep their slots.
    let both = Schedule::with_triggers(&all, seed, &ScenarioKind::ALL, &[ScenarioKind::Flood]);
    let starts = |kind| {
        (0..3)
            .filter_map(|c| both.episode(kind, c).map(|e| e.start_s))
            .collect::<Vec<_>>()
    };
    assert_eq!(starts(ScenarioKind::Flood), [0.0, 300.0, 600.0]);
    assert_eq!(starts(ScenarioKind::StationSilent), [20.0, 200.0, 380.0]);
    assert_eq!(both.kinds().collect::<Vec<_>>(), ScenarioKind::ALL.to_vec());
}

/// Everything station `i` sends over `[0, until_s)` with a message every `step_s`: telemetry
/// stamped by its clock, then the garbage it owes, as the client would publish them.
fn sent(s: &Schedule, seed: u64, i: usize, until_s: f64, step_s: f64) -> Vec<Vec<u8>> {
    use crate::province::{garbage, senml};
    let key = s.stations()[i].key;
    let mut out = Vec::new();
    let mut at = 0.0;
    while at < until_s {
        let effect = s.effect(i, at);
        if !effect.silent {
            let readings = published(s, seed, i, at);
            let stamp = effect.device_ms(((T0 + at) * 1000.0) as u64);
            out.push(senml::telemetry(key, stamp, &readings, None).into_bytes());
            for g in s.garbage(i, at, at + step_s) {
                out.push(garbage::payload(g.kind, key, stamp, &readings[0], g.salt));
            }
        }
        at += step_s;
    }
    out
}

#[test]
fn same_seed_same_payloads() {
    let (a, b, c) = (
        schedule(31).with_garbage_rate(1.0),
        schedule(31).with_garbage_rate(1.0),
        schedule(32).with_garbage_rate(1.0),
    );
    let mut differs = false;
    let mut total = 0;
    for i in 0..a.stations().len() {
        let (pa, pb, pc) = (
            sent(&a, 31, i, 400.0, 5.0),
            sent(&b, 31, i, 400.0, 5.0),
            sent(&c, 32, i, 400.0, 5.0),
        );
        total += pa.len();
        assert!(
            pa == pb,
            "{} differs under the same seed",
            a.stations()[i].key
        );
        differs |= pa != pc;
    }
    assert!(total > a.stations().len() * 60);
    assert!(differs);
}

#[test]
fn a_faulty_barometer_jumps_then_repeats_one_value() {
    for seed in [0, 3] {
        let s = only(ScenarioKind::SensorFault, seed);
        let faults = episodes(&s, ScenarioKind::SensorFault, 4);
        assert_eq!(faults.len(), 4);
        for e in faults {
            let [
                Target {
                    station,
                    role: Role::Faulty,
                },
            ] = e.targets[..]
            else {
                panic!("{e:?}")
            };
            assert_eq!(s.stations()[station].kind, StationKind::Weather);
            // the station's messages every 5 s from the episode's start, in order
            let mut held = None;
            let series: Vec<f64> = (0..52)
                .map(|k| {
                    let elapsed = e.start_s + f64::from(k) * INTERVAL_S;
                    let effect = s.effect_over(station, elapsed, INTERVAL_S);
                    let r = observe(
                        &s.stations()[station],
                        T0 + elapsed,
                        seed,
                        INTERVAL_S,
                        &effect,
                        &mut held,
                    );
                    value(&r, FAULTY_METRIC)
                })
                .collect();
            let at = |rel: f64| series[(rel / INTERVAL_S) as usize];
            let jump = at(105.0) - at(95.0);
            assert!((-27.0..=-23.0).contains(&jump), "{jump}");
            assert!((at(115.0) - at(95.0)).abs() < 2.0);
            let stuck = &series[24..48];
            assert!(stuck.iter().all(|&v| v == stuck[0]), "{stuck:?}");
            // the value it read when it stuck: what a working sensor reads then
            let quiet = Schedule::new(&stations(), seed, &[]);
            let normal = value(
                &published(&quiet, seed, station, e.start_s + 120.0),
                FAULTY_METRIC,
            );
            assert_eq!(stuck[0], normal);
            let working = &series[48..];
            assert!(working.iter().any(|&v| v != working[0]), "{working:?}");
            // the others' barometers are left alone
            let other = (station + 1) % s.stations().len();
            assert_eq!(s.effect(other, e.start_s + 50.0), Effect::default());
        }
    }
}

/// The scenario pack's `equipment-stuck` rule (a barometer's readings over one minute all equal)
/// stays quiet in a day of normal weather at every weather station, read every 5 s.
#[test]
fn a_working_barometer_never_reads_one_value_for_a_minute() {
    let all = stations();
    let s = Schedule::new(&all, 0, &[]);
    for (i, station) in all.iter().enumerate() {
        if station.kind != StationKind::Weather {
            continue;
        }
        let series: Vec<f64> = (0..(24 * 720))
            .map(|k| value(&published(&s, 0, i, f64::from(k) * 5.0), FAULTY_METRIC))
            .collect();
        for w in series.windows(13) {
            assert!(w.iter().any(|&v| v != w[0]), "{}: {w:?}", station.key);
        }
    }
}

/// A silence, a group outage or a wrong clock never falls on a barometer in the middle of its
/// fault: the fault's alerts would not show.
#[test]
fn silences_and_wrong_clocks_spare_a_faulty_sensor() {
    for seed in [0, 5, 11] {
        let s = schedule(seed);
        let faults = episodes(&s, ScenarioKind::SensorFault, 12);
        for kind in [
            ScenarioKind::StationSilent,
            ScenarioKind::Outage,
            ScenarioKind::ClockSkew,
        ] {
            for e in episodes(&s, kind, 12) {
                for f in faults
                    .iter()
                    .filter(|f| f.start_s < e.end_s() && e.start_s < f.end_s())
                {
                    let faulty = f.targets[0].station;
                    assert!(
                        e.targets.iter().all(|t| t.station != faulty),
                        "seed {seed}: {kind:?} at {} takes the faulty {faulty}",
                        e.start_s
                    );
                }
            }
        }
    }
}
