//! Normal weather: each station's readings as a pure function of (station, unix time, seed). Diurnal
//! temperature and humidity, sea-level pressure, afternoon wind, short showers shared by nearby
//! stations, traffic-peaked PM2.5 with its US EPA AQI, river stages that answer rain hours later,
//! soil that stays wet after rain, and on a seeded fifth of the sensors a slow calibration drift.
//! Normal weather is built to stay below every threshold in the sample rules; only scenarios cross
//! them.

use std::f64::consts::TAU;

use super::rng;
use super::stations::{Station, StationKind};

/// One value of one metric, unit as in the metric catalog.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub name: &'static str,
    pub unit: &'static str,
    pub value: f64,
}

/// The readings `station` publishes at `unix_s` in normal weather, rounded as a real logger would;
/// `interval_s` is the time since its previous message (what a tipping bucket counted).
pub fn sample(station: &Station, unix_s: f64, seed: u64, interval_s: f64) -> Vec<Reading> {
    let w = Weather::new(station, unix_s, seed);
    let values = match station.kind {
        StationKind::WaterLevel { base_m, .. } => vec![w.stage(base_m), w.rain_1h],
        StationKind::Rain => vec![w.rain_1h, w.rain_24h()],
        StationKind::AirQuality { pm25_base } => {
            let pm25 = w.pm25(pm25_base);
            vec![
                pm25,
                w.pm10(pm25),
                aqi_from_pm25(pm25),
                w.temperature(),
                w.humidity(),
            ]
        }
        StationKind::Weather => vec![
            w.temperature(),
            w.humidity(),
            w.wind_speed(),
            w.pressure(),
            w.rain_1h,
        ],
        StationKind::Slope => {
            let rain_72h = w.rain_72h();
            vec![
                w.rain_1h,
                rain_72h,
                w.soil_moisture(rain_72h),
                w.rain_between(unix_s - interval_s, unix_s),
            ]
        }
        StationKind::Forest => vec![
            w.temperature(),
            w.humidity(),
            w.wind_speed(),
            w.forest_pm25(),
            w.co(),
        ],
    };
    station
        .kind
        .metrics()
        .iter()
        .zip(values)
        .map(|(m, v)| Reading {
            name: m.name,
            unit: m.unit,
            value: round_for(m.name, w.drifted(m.name, v)),
        })
        .collect()
}

/// The calibration bias of `station`'s `metric` sensor at `unix_s`: zero for most sensors; on a
/// seeded few it grows linearly from the last calibration visit (every `CALIBRATION_S`), so that
/// over a demo it reads as a small constant offset and over weeks as a sawtooth.
pub fn drift(station: &Station, metric: &str, unix_s: f64, seed: u64) -> f64 {
    let Some(&(_, max)) = DRIFT_MAX.iter().find(|(m, _)| *m == metric) else {
        return 0.0;
    };
    let stream = rng::hash(&[
        seed,
        rng::hash_str(station.key),
        DRIFT,
        rng::hash_str(metric),
    ]);
    if rng::unit(&[stream]) >= DRIFTING_SHARE {
        return 0.0;
    }
    let sign = if rng::unit(&[stream, 1]) < 0.5 {
        -1.0
    } else {
        1.0
    };
    let since_calibration = (unix_s / CALIBRATION_S + rng::unit(&[stream, 2])).rem_euclid(1.0);
    sign * max * since_calibration
}

/// US EPA AQI (2012 breakpoints, which the sample rules' 55.5 / 150.5 thresholds follow) from a
/// PM2.5 concentration in ug/m3.
pub fn aqi_from_pm25(pm25: f64) -> f64 {
    const BREAKPOINTS: [(f64, f64, f64, f64); 7] = [
        (0.0, 12.0, 0.0, 50.0),
        (12.1, 35.4, 51.0, 100.0),
        (35.5, 55.4, 101.0, 150.0),
        (55.5, 150.4, 151.0, 200.0),
        (150.5, 250.4, 201.0, 300.0),
        (250.5, 350.4, 301.0, 400.0),
        (350.5, 500.4, 401.0, 500.0),
    ];
    // EPA truncates the concentration to 0.1 before looking it up.
    let c = (pm25.max(0.0) * 10.0).floor() / 10.0;
    BREAKPOINTS
        .iter()
        .find(|(_, hi, _, _)| c <= *hi)
        .map_or(500.0, |&(c_lo, c_hi, i_lo, i_hi)| {
            ((i_hi - i_lo) / (c_hi - c_lo) * (c - c_lo) + i_lo).round()
        })
}

/// Rounds a value to the resolution a field logger reports for that metric.
pub fn round_for(metric: &str, value: f64) -> f64 {
    let decimals = match metric {
        "water_level" => 2,
        "aqi" => 0,
        _ => 1,
    };
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// Stream tags, so that each quantity wanders independently.
const TEMPERATURE: u64 = 1;
const TEMPERATURE_FAST: u64 = 2;
const HUMIDITY: u64 = 3;
const PRESSURE: u64 = 4;
const WIND: u64 = 5;
const GUST: u64 = 6;
const PM: u64 = 7;
const PM_FAST: u64 = 8;
const PM_COARSE: u64 = 9;
const STAGE: u64 = 10;
const STAGE_FAST: u64 = 11;
const RAIN_LOCAL: u64 = 12;
const SOIL: u64 = 13;
const SMOKE: u64 = 14;
const DRIFT: u64 = 15;
const PRESSURE_JITTER: u64 = 16;

/// A tipping bucket's step, mm: the rain a station counts comes in whole tips.
pub const TIP_MM: f64 = 0.2;
/// A barometer's reading noise, hPa either way: without it a smooth pressure rounds to the same
/// value for minutes, which no real sensor does (and an anomaly rule would see no spread at all).
const PRESSURE_JITTER_HPA: f64 = 0.25;

/// Share of hours with a shower over a given ~25 km cell.
const SHOWER_P: f64 = 0.07;
/// Normal weather never reaches the 150 mm `rain-24h-extreme` rule.
const RAIN_24H_CAP: f64 = 120.0;
/// Nor the 100 mm `landslide-rain-72h` warning.
const RAIN_72H_CAP: f64 = 90.0;
/// A river answers rain with a lag: the unit hydrograph peaks this many hours after the rain and
/// has passed after `RIVER_MEMORY_H`. Catchments of the province's rivers are small and steep.
const RIVER_PEAK_H: f64 = 5.0;
const RIVER_MEMORY_H: i64 = 36;
/// Metres of stage per mm/h of lagged catchment rain, and the most normal weather adds.
const RIVER_GAIN_M_PER_MM: f64 = 0.1;
const RIVER_RISE_CAP_M: f64 = 0.5;
/// Volumetric soil moisture (%) of a drained slope, and how much 72 h of rain adds at the cap.
const SOIL_DRY: f64 = 27.0;
const SOIL_WETTING: f64 = 12.0;
/// Share of sensors that drift, how often a technician recalibrates them, and the largest bias
/// each kind of sensor reaches before that visit. Rain is left alone: a tipping bucket clogs
/// rather than drifts, and AQI and PM10 follow PM2.5.
const DRIFTING_SHARE: f64 = 0.2;
const CALIBRATION_S: f64 = 30.0 * 24.0 * 3600.0;
const DRIFT_MAX: [(&str, f64); 7] = [
    ("water_level", 0.04),
    ("temperature", 0.6),
    ("humidity", 4.0),
    ("pressure", 1.5),
    ("pm2_5", 3.0),
    ("soil_moisture", 2.0),
    ("co", 0.1),
];

/// The weather at one station and instant; fields hold what several metrics share.
struct Weather<'a> {
    station: &'a Station,
    seed: u64,
    t: f64,
    /// Per-station noise stream.
    own: u64,
    /// Shower cell: stations within the same quarter degree get the same showers.
    cell: u64,
    /// Local solar-ish hour, UTC+7.
    hour: f64,
    rain_1h: f64,
}

impl<'a> Weather<'a> {
    fn new(station: &'a Station, t: f64, seed: u64) -> Self {
        let own = rng::hash(&[seed, rng::hash_str(station.key)]);
        let cell = rng::hash(&[
            seed,
            (station.lat * 4.0).floor() as i64 as u64,
            (station.lon * 4.0).floor() as i64 as u64,
        ]);
        let mut w = Weather {
            station,
            seed,
            t,
            own,
            cell,
            hour: (t / 3600.0 + 7.0).rem_euclid(24.0),
            rain_1h: 0.0,
        };
        let (hour, frac) = w.hour_index();
        w.rain_1h = w.hour_rain(hour) * frac + w.hour_rain(hour - 1) * (1.0 - frac);
        w
    }

    fn noise(&self, tag: u64, period_s: f64) -> f64 {
        rng::smooth(rng::hash(&[self.own, tag]), self.t, period_s)
    }

    fn hour_index(&self) -> (i64, f64) {
        let h = self.t / 3600.0;
        (h.floor() as i64, h - h.floor())
    }

    /// Rain (mm) that fell at this station during clock hour `hour` since the epoch.
    fn hour_rain(&self, hour: i64) -> f64 {
        let u = rng::unit(&[self.cell, hour as u64]);
        if u >= SHOWER_P {
            return 0.0;
        }
        let strength = u / SHOWER_P;
        let local = 0.7 + 0.6 * rng::unit(&[self.own, RAIN_LOCAL, hour as u64]);
        (0.3 + 11.0 * strength * strength) * local
    }

    /// Rain counted by the tipping bucket in `(from_s, to_s]`: each hour's rain, rounded to whole
    /// tips, comes in tips spread evenly over that hour, so the counts of consecutive messages
    /// add up to the hours' rain whatever the interval.
    fn rain_between(&self, from_s: f64, to_s: f64) -> f64 {
        if to_s <= from_s {
            return 0.0;
        }
        let tips_until = |t: f64| -> f64 {
            let hour = (t / 3600.0).floor();
            let tips = (self.hour_rain(hour as i64) / TIP_MM).round();
            // tips of this hour fall at (i + 0.5) / tips of the hour
            let frac = t / 3600.0 - hour;
            (frac * tips + 0.5).floor().min(tips)
        };
        let (first, last) = (
            (from_s / 3600.0).floor() as i64,
            (to_s / 3600.0).floor() as i64,
        );
        let mut tips = 0.0;
        for hour in first..=last {
            let whole = (self.hour_rain(hour) / TIP_MM).round();
            let start = if hour == first {
                tips_until(from_s)
            } else {
                0.0
            };
            let end = if hour == last {
                tips_until(to_s)
            } else {
                whole
            };
            tips += end - start;
        }
        tips * TIP_MM
    }

    /// Rain of the last `hours` hours, sliding smoothly through the current hour.
    fn rain_total(&self, hours: i64) -> f64 {
        let (hour, frac) = self.hour_index();
        let whole: f64 = (1..hours).map(|k| self.hour_rain(hour - k)).sum();
        whole + self.hour_rain(hour) * frac + self.hour_rain(hour - hours) * (1.0 - frac)
    }

    fn rain_24h(&self) -> f64 {
        self.rain_total(24).min(RAIN_24H_CAP)
    }

    fn rain_72h(&self) -> f64 {
        self.rain_total(72).min(RAIN_72H_CAP)
    }

    /// Wetter after a wet few days, drying slowly.
    fn soil_moisture(&self, rain_72h: f64) -> f64 {
        SOIL_DRY + SOIL_WETTING * rain_72h / RAIN_72H_CAP + 1.5 * self.noise(SOIL, 4.0 * 3600.0)
    }

    /// Catchment rain as the river feels it now, mm/h: past hours weighted by the unit hydrograph.
    fn river_inflow(&self) -> f64 {
        let now_h = self.t / 3600.0;
        let (hour, _) = self.hour_index();
        (0..RIVER_MEMORY_H)
            .map(|k| {
                let rain = self.hour_rain(hour - k);
                // Rain of hour h falls, on average, at h + 0.5.
                let lag = now_h - (hour - k) as f64 - 0.5;
                if rain == 0.0 {
                    0.0
                } else {
                    rain * hydrograph(lag)
                }
            })
            .sum()
    }

    /// 1 at 14:30 local, -1 at 02:30.
    fn diurnal(&self) -> f64 {
        (TAU * (self.hour - 14.5) / 24.0).cos()
    }

    fn temperature(&self) -> f64 {
        26.0 + 6.0 * self.diurnal() - 0.0065 * (self.station.elevation_m - 250.0)
            + 0.8 * self.noise(TEMPERATURE, 5400.0)
            + 0.3 * self.noise(TEMPERATURE_FAST, 600.0)
            - 0.15 * self.rain_1h.min(20.0)
    }

    fn humidity(&self) -> f64 {
        let rh = 76.0 - 16.0 * self.diurnal()
            + 4.0 * self.noise(HUMIDITY, 3600.0)
            + (4.0 * self.rain_1h).min(20.0);
        rh.clamp(20.0, 100.0)
    }

    /// Reduced to mean sea level, as weather services report it: a semi-diurnal tide plus a
    /// province-wide synoptic drift.
    fn pressure(&self) -> f64 {
        let tide = 1.5 * (TAU * (self.hour - 10.0) / 12.0).cos();
        let synoptic = 3.0 * rng::smooth(rng::hash(&[self.seed, PRESSURE]), self.t, 6.0 * 3600.0);
        let jitter = rng::unit(&[self.own, PRESSURE_JITTER, self.t.to_bits()]) * 2.0 - 1.0;
        1006.5 + tide + synoptic + 0.3 * self.noise(PRESSURE, 900.0) + PRESSURE_JITTER_HPA * jitter
    }

    fn wind_speed(&self) -> f64 {
        let afternoon = (TAU * (self.hour - 15.0) / 24.0).cos().max(0.0);
        let exposed = if self.station.elevation_m > 1000.0 {
            1.5
        } else {
            0.0
        };
        let v = 0.8
            + 2.5 * afternoon
            + exposed
            + 0.6 * (self.noise(WIND, 1200.0) + 1.0)
            + 0.4 * (self.noise(GUST, 20.0) + 1.0);
        v.clamp(0.0, 8.0)
    }

    fn pm25(&self, base: f64) -> f64 {
        let traffic = 1.0 + 0.55 * peak(self.hour, 7.5, 1.3) + 0.75 * peak(self.hour, 18.75, 1.6);
        let wander = 1.0 + 0.12 * self.noise(PM, 900.0) + 0.05 * self.noise(PM_FAST, 60.0);
        let washout = 1.0 - (self.rain_1h / 20.0).min(0.4);
        (base * traffic * wander * washout).clamp(8.0, 45.0)
    }

    /// Clean forest air: no traffic, a little haze.
    fn forest_pm25(&self) -> f64 {
        (10.0 + 3.0 * self.noise(PM, 1800.0) + 0.6 * self.noise(PM_FAST, 60.0)).max(5.0)
    }

    /// Background carbon monoxide, ppm.
    fn co(&self) -> f64 {
        0.25 + 0.08 * self.noise(SMOKE, 1800.0)
    }

    /// `value` as a drifting sensor reports it; physical bounds still hold.
    fn drifted(&self, metric: &str, value: f64) -> f64 {
        let v = value + drift(self.station, metric, self.t, self.seed);
        match metric {
            "humidity" | "soil_moisture" => v.clamp(0.0, 100.0),
            _ => v.max(0.0),
        }
    }

    fn pm10(&self, pm25: f64) -> f64 {
        pm25 * (1.55 + 0.2 * self.noise(PM_COARSE, 1800.0)) + 3.0
    }

    fn stage(&self, base_m: f64) -> f64 {
        base_m
            + 0.08 * self.noise(STAGE, 7200.0)
            + 0.02 * self.noise(STAGE_FAST, 120.0)
            + (RIVER_GAIN_M_PER_MM * self.river_inflow()).min(RIVER_RISE_CAP_M)
    }
}

/// Unit hydrograph: share of an hour's rain reaching the gauge per hour, `lag_h` hours later. A
/// gamma shape (k = 2) peaking at `RIVER_PEAK_H`; it sums to about 1 over `RIVER_MEMORY_H`.
fn hydrograph(lag_h: f64) -> f64 {
    if lag_h <= 0.0 {
        return 0.0;
    }
    let x = lag_h / RIVER_PEAK_H;
    x * (-x).exp() / RIVER_PEAK_H
}

/// A daily bump centred on `centre_h` (local hours), wrapping around midnight.
fn peak(hour: f64, centre_h: f64, width_h: f64) -> f64 {
    let d = (hour - centre_h + 12.0).rem_euclid(24.0) - 12.0;
    (-(d * d) / (2.0 * width_h * width_h)).exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::province::stations::stations;

    /// 2024-11-22 00:00 +07:00.
    const DAY_START: f64 = 1_732_208_400.0;

    fn range(metric: &str) -> (f64, f64) {
        match metric {
            "water_level" => (0.5, 4.0),
            "rain_1h" => (0.0, 20.0),
            "rain_24h" => (0.0, RAIN_24H_CAP),
            "pm2_5" => (5.0, 50.0),
            "pm10" => (5.0, 120.0),
            "aqi" => (0.0, 150.0),
            "temperature" => (5.0, 36.0),
            "humidity" => (0.0, 100.0),
            "wind_speed" => (0.0, 8.0),
            "pressure" => (995.0, 1015.0),
            "rain_72h" => (0.0, RAIN_72H_CAP),
            "soil_moisture" => (15.0, 45.0),
            // five minutes of the heaviest normal shower
            "rain" => (0.0, 2.0),
            "co" => (0.0, 1.0),
            other => panic!("unexpected metric {other}"),
        }
    }

    #[test]
    fn a_simulated_day_stays_in_physical_ranges_for_every_station() {
        for seed in [0, 1, 0xC0FFEE] {
            for station in stations() {
                for step in 0..(24 * 12) {
                    let t = DAY_START + f64::from(step) * 300.0;
                    let readings = sample(&station, t, seed, 300.0);
                    assert_eq!(readings.len(), station.kind.metrics().len());
                    for r in readings {
                        let (lo, hi) = range(r.name);
                        assert!(
                            r.value.is_finite() && (lo..=hi).contains(&r.value),
                            "{} {} = {} at {t}",
                            station.key,
                            r.name,
                            r.value
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn temperature_follows_the_sun() {
        let all = stations();
        let city = all.iter().find(|s| s.key == "cb-wx-tpcb-01");
        let Some(city) = city else {
            panic!("no city weather station")
        };
        let at = |hour: f64| {
            let r = sample(city, DAY_START + hour * 3600.0, 5, 5.0);
            (r[0].value, r[1].value)
        };
        let (t_dawn, rh_dawn) = at(3.0);
        let (t_noon, rh_noon) = at(14.5);
        assert!(t_noon > t_dawn + 6.0, "{t_dawn} -> {t_noon}");
        assert!(rh_noon < rh_dawn, "{rh_dawn} -> {rh_noon}");
    }

    #[test]
    fn same_seed_same_values_other_seed_other_values() {
        let all = stations();
        let t = DAY_START + 12_345.6;
        let a: Vec<_> = all.iter().map(|s| sample(s, t, 9, 5.0)).collect();
        let b: Vec<_> = all.iter().map(|s| sample(s, t, 9, 5.0)).collect();
        let c: Vec<_> = all.iter().map(|s| sample(s, t, 10, 5.0)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn it_rains_sometimes_but_not_always() {
        let all = stations();
        let gauges: Vec<_> = all.iter().filter(|s| s.kind == StationKind::Rain).collect();
        let (mut wet, mut total) = (0, 0);
        for g in &gauges {
            for step in 0..(7 * 24) {
                let r = sample(g, DAY_START + f64::from(step) * 3600.0, 3, 5.0);
                total += 1;
                wet += usize::from(r[0].value > 0.0);
            }
        }
        assert!(wet > 0 && wet * 4 < total, "{wet} wet of {total}");
    }

    #[test]
    fn rivers_answer_rain_hours_later() {
        let peak = (1..RIVER_MEMORY_H)
            .max_by(|&a, &b| hydrograph(a as f64).total_cmp(&hydrograph(b as f64)))
            .map(|h| h as f64);
        assert_eq!(peak, Some(RIVER_PEAK_H));
        let total: f64 = (0..RIVER_MEMORY_H * 10)
            .map(|k| hydrograph(k as f64 / 10.0) / 10.0)
            .sum();
        assert!((0.95..1.01).contains(&total), "{total}");
        // A lone shower over a gauge: the river is highest ~5 h later, not while it rains.
        let all = stations();
        let Some(gauge) = all.iter().find(|s| s.key == "cb-wl-banggiang-03") else {
            panic!("no gauge")
        };
        let w = |t: f64| Weather::new(gauge, t, 4);
        let lone = (0..24 * 365 * 2).map(|k| 480_000 + k).find(|&h| {
            let probe = w(h as f64 * 3600.0);
            probe.hour_rain(h) >= 4.0
                && (1..=RIVER_MEMORY_H).all(|k| probe.hour_rain(h - k) == 0.0)
                && (1..=8).all(|k| probe.hour_rain(h + k) == 0.0)
        });
        let Some(h) = lone else {
            panic!("no lone shower in two years")
        };
        let inflow = |hours_after: f64| w((h as f64 + hours_after) * 3600.0).river_inflow();
        assert!(
            inflow(5.5) > 2.0 * inflow(1.0),
            "{} {}",
            inflow(1.0),
            inflow(5.5)
        );
        assert!(inflow(5.5) > inflow(9.0));
    }

    #[test]
    fn a_few_sensors_drift_slowly() {
        let all = stations();
        let t = DAY_START;
        let mut sensors = 0;
        let mut drifting = Vec::new();
        for s in &all {
            for m in s.kind.metrics() {
                sensors += 1;
                let d = drift(s, m.name, t, 21);
                if d != 0.0 {
                    drifting.push((s.key, m.name));
                    let max = DRIFT_MAX
                        .iter()
                        .find(|(n, _)| *n == m.name)
                        .map(|(_, x)| *x);
                    assert!(
                        max.is_some_and(|max| d.abs() <= max),
                        "{} {} {d}",
                        s.key,
                        m.name
                    );
                    // Slow: an hour later the bias has moved by a thirtieth of a percent at most.
                    let later = drift(s, m.name, t + 3600.0, 21);
                    assert!(
                        (later - d).abs() < max.unwrap_or(0.0) / 500.0,
                        "{d} -> {later}"
                    );
                    assert_eq!(drift(s, m.name, t, 21), d, "deterministic");
                }
            }
        }
        assert!(
            drifting.len() * 10 > sensors && drifting.len() * 3 < sensors,
            "{} of {sensors} drift",
            drifting.len()
        );
        assert!(drifting.iter().all(|(_, m)| !m.starts_with("rain")));
        // Another seed, other sensors.
        let other: Vec<_> = all
            .iter()
            .flat_map(|s| s.kind.metrics().iter().map(move |m| (s, m.name)))
            .filter(|(s, m)| drift(s, m, t, 22) != 0.0)
            .map(|(s, m)| (s.key, m))
            .collect();
        assert_ne!(drifting, other);
    }

    #[test]
    fn aqi_follows_epa_breakpoints() {
        assert_eq!(aqi_from_pm25(0.0), 0.0);
        assert_eq!(aqi_from_pm25(12.0), 50.0);
        assert_eq!(aqi_from_pm25(35.4), 100.0);
        assert_eq!(aqi_from_pm25(55.5), 151.0);
        assert_eq!(aqi_from_pm25(150.5), 201.0);
        assert_eq!(aqi_from_pm25(900.0), 500.0);
    }

    #[test]
    fn the_tips_of_consecutive_messages_add_up_to_the_hours_rain() {
        let slope = stations()
            .into_iter()
            .find(|s| s.kind == StationKind::Slope)
            .expect("a slope station");
        for seed in [0, 7] {
            let w = Weather::new(&slope, DAY_START, seed);
            let hours = 24 * 20;
            let expected: f64 = (0..hours)
                .map(|h| (w.hour_rain(DAY_START as i64 / 3600 + h) / TIP_MM).round() * TIP_MM)
                .sum();
            assert!(expected > 0.0, "no rain in 20 days (seed {seed})");
            for step in [5.0, 7.0, 300.0] {
                let n = (f64::from(hours as u32) * 3600.0 / step) as u32;
                let counted: f64 = (1..=n)
                    .map(|i| {
                        let t = DAY_START + f64::from(i) * step;
                        w.rain_between(t - step, t)
                    })
                    .sum();
                assert!(
                    (counted - expected).abs() < 1e-6,
                    "seed {seed} step {step}: {counted} != {expected}"
                );
            }
        }
    }

    /// The scenario pack's landslide rules (24 h and 72 h sums of `rain`, from 100 mm) stay quiet
    /// in a year of normal weather at every slope.
    #[test]
    fn a_year_of_normal_rain_never_reaches_the_landslide_sums() {
        for seed in [0, 1, 0xC0FFEE] {
            for slope in stations().iter().filter(|s| s.kind == StationKind::Slope) {
                let w = Weather::new(slope, DAY_START, seed);
                let first = DAY_START as i64 / 3600;
                let hourly: Vec<f64> = (0..24 * 365)
                    .map(|h| (w.hour_rain(first + h) / TIP_MM).round() * TIP_MM)
                    .collect();
                for (hours, limit) in [(24, 100.0), (72, 100.0)] {
                    let most = hourly
                        .windows(hours)
                        .map(|win| win.iter().sum::<f64>())
                        .fold(0.0, f64::max);
                    assert!(
                        most < limit,
                        "{} seed {seed}: {most} mm in {hours} h",
                        slope.key
                    );
                }
            }
        }
    }
}
