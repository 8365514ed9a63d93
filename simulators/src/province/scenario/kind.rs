//! The scenario kinds, their command-line names and how often each comes back.

use super::profile::{
    FAULT_DURATION_S, FIRE_DURATION_S, FLOOD_DURATION_S, LANDSLIDE_DURATION_S, SMOG_DURATION_S,
};
use super::{GARBAGE_DURATION_S, OUTAGE_MAX_S, SKEW_MAX_S};

/// The scenario kinds, named as on the command line (`--scenario NAME`, `--trigger NAME`). The
/// discriminants seed each kind's episodes: append new kinds, never reorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScenarioKind {
    /// Lũ: rain over one river, 2–3 gauges pass alarm levels I/II/III, then recede.
    Flood,
    /// Mất kết nối: one station drops its MQTT connection (last will fires), then comes back.
    StationSilent,
    /// Ô nhiễm không khí: PM2.5 in one town passes 55.5 then 150.5 ug/m3.
    AirPollution,
    /// Sạt lở đất: days of steady rain on a road slope; its 72 h total passes 100 then 200 mm.
    Landslide,
    /// Cháy rừng: hot dry wind over a forest, then smoke (PM2.5, CO).
    ForestFire,
    /// Mất điện / mất sóng: a group of neighbouring stations goes silent at once, then returns.
    Outage,
    /// Sai đồng hồ: one station stamps its readings with a wrong clock for a while.
    ClockSkew,
    /// Dữ liệu hỏng: a few flaky loggers send malformed payloads at a given rate.
    Garbage,
    /// Hỏng cảm biến: a weather station's barometer jumps, then sticks at one value.
    SensorFault,
}

impl ScenarioKind {
    /// The default schedule, in start order.
    pub const ALL: [ScenarioKind; 9] = [
        ScenarioKind::Flood,
        ScenarioKind::StationSilent,
        ScenarioKind::AirPollution,
        ScenarioKind::Landslide,
        ScenarioKind::ForestFire,
        ScenarioKind::Outage,
        ScenarioKind::ClockSkew,
        ScenarioKind::Garbage,
        ScenarioKind::SensorFault,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ScenarioKind::Flood => "flood",
            ScenarioKind::StationSilent => "station-silent",
            ScenarioKind::AirPollution => "air-pollution",
            ScenarioKind::Landslide => "landslide",
            ScenarioKind::ForestFire => "forest-fire",
            ScenarioKind::Outage => "outage",
            ScenarioKind::ClockSkew => "clock-skew",
            ScenarioKind::Garbage => "garbage",
            ScenarioKind::SensorFault => "sensor-fault",
        }
    }

    /// One line for `--list-scenarios`.
    pub fn description(self) -> &'static str {
        match self {
            ScenarioKind::Flood => {
                "rain over one river; 2-3 gauges pass alarm levels I/II/III, then recede"
            }
            ScenarioKind::StationSilent => {
                "one station drops its connection (last will `offline`), back after 60-90 s"
            }
            ScenarioKind::AirPollution => "PM2.5 in one town passes 55.5, then 150.5 ug/m3",
            ScenarioKind::Landslide => {
                "days of steady rain on a road slope: 72 h rain past 100, then 200 mm; soil saturates"
            }
            ScenarioKind::ForestFire => {
                "hot dry wind over a forest (> 37 Cel, < 30 %RH), then smoke: PM2.5 and CO rise"
            }
            ScenarioKind::Outage => {
                "4-6 neighbouring stations go silent at once (power or network cut), back after 60-90 s"
            }
            ScenarioKind::ClockSkew => {
                "one station's clock runs hours ahead, hours behind, or restarts at 2000-01-01"
            }
            ScenarioKind::Garbage => {
                "3 flaky loggers send malformed payloads (--garbage-rate per second in all)"
            }
            ScenarioKind::SensorFault => {
                "a weather station's barometer jumps 25 hPa, then sticks at one value for 120 s"
            }
        }
    }

    /// Accepts the names above plus the aliases `pollution` and `fire`.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "pollution" => Some(ScenarioKind::AirPollution),
            "fire" => Some(ScenarioKind::ForestFire),
            _ => Self::ALL.into_iter().find(|k| k.name() == name),
        }
    }

    /// Seconds between two starts of this kind. Chosen so that the kinds drift against each
    /// other instead of all piling up at once every few minutes.
    pub fn period_s(self) -> f64 {
        match self {
            ScenarioKind::Flood => 300.0,
            ScenarioKind::StationSilent => 180.0,
            ScenarioKind::AirPollution => 240.0,
            ScenarioKind::Landslide => 360.0,
            ScenarioKind::ForestFire => 420.0,
            ScenarioKind::Outage => 330.0,
            ScenarioKind::ClockSkew => 270.0,
            ScenarioKind::Garbage => 300.0,
            ScenarioKind::SensorFault => 390.0,
        }
    }

    /// The longest an episode of this kind lasts; always shorter than the period.
    pub(super) fn max_duration_s(self) -> f64 {
        match self {
            ScenarioKind::Flood => FLOOD_DURATION_S,
            ScenarioKind::StationSilent | ScenarioKind::Outage => OUTAGE_MAX_S,
            ScenarioKind::AirPollution => SMOG_DURATION_S,
            ScenarioKind::Landslide => LANDSLIDE_DURATION_S,
            ScenarioKind::ForestFire => FIRE_DURATION_S,
            ScenarioKind::ClockSkew => SKEW_MAX_S,
            ScenarioKind::Garbage => GARBAGE_DURATION_S,
            ScenarioKind::SensorFault => FAULT_DURATION_S,
        }
    }

    /// Kinds that change the weather at their stations; the others (silence, a wrong clock,
    /// garbage) must not pick a station in the middle of such a story, or would hide it.
    pub(super) fn is_weather(self) -> bool {
        matches!(
            self,
            ScenarioKind::Flood
                | ScenarioKind::AirPollution
                | ScenarioKind::Landslide
                | ScenarioKind::ForestFire
        )
    }
}

/// Every accepted name, for error messages: the kinds, then `all` and `none`.
pub fn known_names() -> String {
    let mut names: Vec<_> = ScenarioKind::ALL.iter().map(|k| k.name()).collect();
    names.extend(["all", "none"]);
    names.join(", ")
}

/// The `--list-scenarios` text: one line per kind, name then description.
pub fn catalogue() -> String {
    ScenarioKind::ALL
        .iter()
        .map(|k| format!("{:<16}{}\n", k.name(), k.description()))
        .collect()
}

/// `--scenario` names -> the scheduled kinds. Empty means the default schedule; `none` runs normal
/// weather only; `all` the default set. Err carries the first unknown name.
pub fn parse_scenarios(names: &[String]) -> Result<Vec<ScenarioKind>, String> {
    if names.is_empty() {
        return Ok(ScenarioKind::ALL.to_vec());
    }
    parse_names(names)
}

/// `--trigger` names -> the kinds to start at once; empty means none.
pub fn parse_triggers(names: &[String]) -> Result<Vec<ScenarioKind>, String> {
    parse_names(names)
}

fn parse_names(names: &[String]) -> Result<Vec<ScenarioKind>, String> {
    let mut kinds = Vec::new();
    for name in names {
        let found = match name.trim() {
            "none" => Vec::new(),
            "all" | "default" => ScenarioKind::ALL.to_vec(),
            other => vec![ScenarioKind::from_name(other).ok_or_else(|| name.clone())?],
        };
        for kind in found {
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
    }
    Ok(kinds)
}
