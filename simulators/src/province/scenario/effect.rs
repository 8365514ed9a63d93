//! How the active scenarios bend one station's readings: a rising river, storm rain and wind, days
//! of rain soaking a slope, a fire's hot dry air and smoke, a PM2.5 floor, silence, a wrong
//! clock, or a sensor stuck or jumping. Applied on top of normal weather, keeping derived values
//! (PM10, AQI, humidity) consistent.

use super::{Role, profile};
use crate::province::rng::{self, SplitMix64};
use crate::province::signal::{self, Reading, TIP_MM, aqi_from_pm25, round_for};
use crate::province::stations::{Station, StationKind};

/// Volumetric soil moisture (%) of a saturated slope, and the extra 72 h rain (mm) that gets a
/// drained one there.
const SOIL_SATURATED: f64 = 48.0;
const SOIL_WETTING_MM: f64 = 200.0;
/// 2000-01-01 00:00 UTC, where a logger's real-time clock restarts after losing its battery.
const Y2K_MS: u64 = 946_684_800_000;

/// How active scenarios bend one station's readings right now.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Effect {
    pub silent: bool,
    pub stage_rise_m: f64,
    pub rain_1h_mm: f64,
    pub rain_24h_mm: f64,
    pub rain_72h_mm: f64,
    pub wind_gust_ms: f64,
    /// PM2.5 is at least this, ug/m3.
    pub pm25_floor: f64,
    /// CO is at least this, ppm.
    pub co_floor: f64,
    /// 0–1: how far temperature and humidity are pulled towards a forest fire's hot dry air.
    pub dry: f64,
    /// The station's clock, when wrong, and for how many seconds it has been.
    pub clock: Option<(ClockFault, f64)>,
    /// Rain (mm, whole tips) the tipping bucket counts over the message's interval besides normal
    /// weather's.
    pub rain_mm: f64,
    /// The faulty sensor (`profile::FAULTY_METRIC`) is stuck.
    pub stuck: bool,
    /// The faulty sensor's error, hPa.
    pub glitch_hpa: f64,
}

/// What `station` publishes at `unix_s`, `interval_s` after its previous message, under `effect`:
/// normal weather bent by the scenarios. `held` is the station's memory of a stuck sensor: the
/// value it read when it stuck, which it repeats until it works again.
pub fn observe(
    station: &Station,
    unix_s: f64,
    seed: u64,
    interval_s: f64,
    effect: &Effect,
    held: &mut Option<f64>,
) -> Vec<Reading> {
    let mut readings = signal::sample(station, unix_s, seed, interval_s);
    for r in readings
        .iter_mut()
        .filter(|r| r.name == profile::FAULTY_METRIC)
    {
        if effect.stuck {
            r.value = *held.get_or_insert(r.value);
        } else {
            *held = None;
        }
    }
    effect.apply(&mut readings);
    readings
}

/// How a station's clock is wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockFault {
    /// Runs hours ahead (a time zone applied twice, a bad NTP answer): past the hub's tolerance,
    /// so the hub refuses the readings as `timestamp_future`.
    Ahead { hours: f64 },
    /// Runs hours behind: within the hub's window for late data, so the readings are stored — at
    /// the wrong time. What an operator has to notice on the charts.
    Behind { hours: f64 },
    /// The clock lost power and restarted at 2000-01-01 00:00 UTC when the fault began: refused as
    /// `timestamp_past`.
    Reset,
}

impl ClockFault {
    /// The fault of cycle `cycle`: the first is always a clock ahead, the clearest case.
    pub(super) fn pick(cycle: u64, rng: &mut SplitMix64) -> Self {
        let u = if cycle == 0 { 0.0 } else { rng.next_f64() };
        if u < 0.5 {
            ClockFault::Ahead {
                hours: (2 + rng.below(8)) as f64,
            }
        } else if u < 0.75 {
            ClockFault::Behind {
                hours: (1 + rng.below(6)) as f64,
            }
        } else {
            ClockFault::Reset
        }
    }

    /// The time the station's clock shows at true time `unix_ms`, `rel_s` into the fault.
    pub fn shows(self, unix_ms: u64, rel_s: f64) -> u64 {
        let hour_ms = |hours: f64| (hours * 3_600_000.0) as u64;
        match self {
            ClockFault::Ahead { hours } => unix_ms.saturating_add(hour_ms(hours)),
            ClockFault::Behind { hours } => unix_ms.saturating_sub(hour_ms(hours)),
            ClockFault::Reset => Y2K_MS + (rel_s.max(0.0) * 1000.0) as u64,
        }
    }

    /// For the log.
    pub fn describe(self) -> String {
        match self {
            ClockFault::Ahead { hours } => {
                format!("clock {hours} h ahead: the hub should refuse it as timestamp_future")
            }
            ClockFault::Behind { hours } => {
                format!("clock {hours} h behind: the hub stores it as late data at the wrong time")
            }
            ClockFault::Reset => {
                "clock restarted at 2000-01-01: the hub should refuse it as timestamp_past".into()
            }
        }
    }
}

impl Effect {
    /// Applies the effect to normal-weather readings, keeping derived values (PM10, AQI, humidity)
    /// consistent and everything rounded like `signal::sample`.
    pub fn apply(&self, readings: &mut [Reading]) {
        let pm25 = readings
            .iter()
            .find(|r| r.name == "pm2_5")
            .map(|r| r.value.max(self.pm25_floor));
        for r in readings.iter_mut() {
            let v = r.value;
            r.value = match (r.name, pm25) {
                ("water_level", _) => v + self.stage_rise_m,
                ("rain_1h", _) => v + self.rain_1h_mm,
                ("rain_24h", _) => v + self.rain_24h_mm,
                ("rain_72h", _) => v + self.rain_72h_mm,
                ("rain", _) => v + self.rain_mm,
                (profile::FAULTY_METRIC, _) => v + self.glitch_hpa,
                ("soil_moisture", _) => {
                    v + (SOIL_SATURATED - v).max(0.0)
                        * (self.rain_72h_mm / SOIL_WETTING_MM).min(1.0)
                }
                ("wind_speed", _) => v + self.wind_gust_ms + profile::FIRE_WIND_MS * self.dry,
                ("humidity", _) => self.humidity(v),
                ("temperature", _) => {
                    let cooled = v - (self.rain_1h_mm * 0.04).min(3.0);
                    cooled + (profile::FIRE_TEMP_C - cooled).max(0.0) * self.dry
                }
                ("co", _) => v.max(self.co_floor),
                ("pm2_5", Some(pm)) => pm,
                ("pm10", Some(pm)) => v.max(pm * 1.35 + 3.0),
                ("aqi", Some(pm)) => aqi_from_pm25(pm),
                _ => v,
            };
            r.value = round_for(r.name, r.value);
        }
    }

    /// The time the station's clock shows at true time `unix_ms`.
    pub fn device_ms(&self, unix_ms: u64) -> u64 {
        self.clock
            .map_or(unix_ms, |(fault, rel_s)| fault.shows(unix_ms, rel_s))
    }

    /// Rain saturates the air; a fire's dry wind empties it.
    fn humidity(&self, v: f64) -> f64 {
        let wet = if self.rain_1h_mm > 2.0 {
            v.max(90.0 + self.rain_1h_mm / 10.0).min(100.0)
        } else {
            v
        };
        wet - (wet - profile::FIRE_RH).max(0.0) * self.dry
    }

    /// Adds what `role` does `rel_s` into its episode; `span_s` is the message's interval, over
    /// which the rain that fell is counted.
    pub(super) fn add(&mut self, station: &Station, role: Role, rel_s: f64, span_s: f64) {
        // whole tips of `total_mm * fallen(t)` counted in (rel_s - span_s, rel_s]
        let tips = |total_mm: f64, fallen: fn(f64) -> f64| {
            let count = |t: f64| (total_mm * fallen(t) / TIP_MM).floor();
            (count(rel_s) - count(rel_s - span_s)) * TIP_MM
        };
        // Neighbouring stations must not read identical values.
        let jitter = || 1.0 + 0.05 * rng::smooth(rng::hash_str(station.key), rel_s, 12.0);
        match role {
            Role::Gauge { peak_m } => {
                if let StationKind::WaterLevel { base_m, .. } = station.kind {
                    self.stage_rise_m += (peak_m - base_m).max(0.0) * profile::surge(rel_s);
                }
            }
            Role::Storm { weight } => {
                let soaked = profile::soaked(rel_s);
                self.rain_1h_mm += profile::STORM_RAIN_1H_MM * weight * profile::rain(rel_s);
                self.rain_24h_mm += profile::STORM_RAIN_24H_MM * weight * soaked;
                // A storm's day of rain is also part of the last three days'.
                self.rain_72h_mm += profile::STORM_RAIN_24H_MM * weight * soaked;
                self.rain_mm += tips(profile::STORM_RAIN_24H_MM * weight, profile::storm_fallen);
                if station.kind == StationKind::Weather {
                    self.wind_gust_ms += profile::STORM_GUST_MS * weight * profile::rain(rel_s);
                }
            }
            Role::Slope { weight } | Role::SteadyRain { weight } => {
                let soak = profile::soak(rel_s);
                self.rain_1h_mm +=
                    profile::STEADY_RAIN_1H_MM * weight * profile::steady_rain(rel_s);
                self.rain_24h_mm += profile::STEADY_RAIN_24H_MM * weight * soak;
                self.rain_72h_mm += profile::SLOPE_RAIN_72H_MM * weight * soak;
                self.rain_mm += tips(profile::SLOPE_RAIN_72H_MM * weight, profile::soak_fallen);
            }
            Role::Silent => self.silent = true,
            Role::Smog { weight } => {
                self.pm25_floor = self
                    .pm25_floor
                    .max(profile::smog(rel_s) * weight * jitter());
            }
            Role::Fire => {
                let smoke = profile::smoke(rel_s) * jitter();
                self.dry = self.dry.max(profile::dry(rel_s));
                self.pm25_floor = self.pm25_floor.max(profile::SMOKE_PM25 * smoke);
                self.co_floor = self.co_floor.max(profile::SMOKE_CO_PPM * smoke);
            }
            Role::Skewed(fault) => self.clock = Some((fault, rel_s)),
            Role::Faulty => {
                self.stuck |= profile::stuck(rel_s);
                self.glitch_hpa += profile::glitch(rel_s);
            }
            // Garbage comes on top of the telemetry, which stays as it is.
            Role::Garbage => {}
        }
    }
}
