//! How the active scenarios bend one station's readings: a rising river, storm rain and wind, a
//! PM2.5 floor, or silence. Applied on top of normal weather, keeping derived values (PM10, AQI,
//! humidity) consistent.

use super::{Role, profile};
use crate::province::rng;
use crate::province::signal::{Reading, aqi_from_pm25, round_for};
use crate::province::stations::{Station, StationKind};

/// How active scenarios bend one station's readings right now.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Effect {
    pub silent: bool,
    pub stage_rise_m: f64,
    pub rain_1h_mm: f64,
    pub rain_24h_mm: f64,
    pub wind_gust_ms: f64,
    /// PM2.5 is at least this, ug/m3.
    pub pm25_floor: f64,
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
                ("wind_speed", _) => v + self.wind_gust_ms,
                ("humidity", _) if self.rain_1h_mm > 2.0 => {
                    v.max(90.0 + self.rain_1h_mm / 10.0).min(100.0)
                }
                ("temperature", _) => v - (self.rain_1h_mm * 0.04).min(3.0),
                ("pm2_5", Some(pm)) => pm,
                ("pm10", Some(pm)) => v.max(pm * 1.35 + 3.0),
                ("aqi", Some(pm)) => aqi_from_pm25(pm),
                _ => v,
            };
            r.value = round_for(r.name, r.value);
        }
    }

    pub(super) fn add(&mut self, station: &Station, role: Role, rel_s: f64) {
        match role {
            Role::Gauge { peak_m } => {
                if let StationKind::WaterLevel { base_m, .. } = station.kind {
                    self.stage_rise_m += (peak_m - base_m).max(0.0) * profile::surge(rel_s);
                }
            }
            Role::Storm { weight } => {
                self.rain_1h_mm += profile::STORM_RAIN_1H_MM * weight * profile::rain(rel_s);
                self.rain_24h_mm += profile::STORM_RAIN_24H_MM * weight * profile::soaked(rel_s);
                if station.kind == StationKind::Weather {
                    self.wind_gust_ms += profile::STORM_GUST_MS * weight * profile::rain(rel_s);
                }
            }
            Role::Silent => self.silent = true,
            Role::Smog { weight } => {
                // Neighbouring monitors must not read identical values.
                let jitter = 1.0 + 0.05 * rng::smooth(rng::hash_str(station.key), rel_s, 12.0);
                self.pm25_floor = self.pm25_floor.max(profile::smog(rel_s) * weight * jitter);
            }
        }
    }
}
