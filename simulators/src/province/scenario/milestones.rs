//! Log lines for an episode: when it starts, when its readings pass the sample rules' thresholds
//! (from the noiseless profiles), when it ends.

use super::{Episode, Milestone, Role, ScenarioKind, Schedule, profile};
use crate::province::stations::{River, StationKind};

impl Schedule {
    pub(super) fn episode_milestones(&self, e: &Episode) -> Vec<Milestone> {
        let scenario = e.kind.name();
        let at = |rel_s: f64, station: usize, what: String| Milestone {
            at_s: e.start_s + rel_s,
            scenario,
            station: self.stations[station].key,
            station_name: self.stations[station].name.clone(),
            what,
        };
        let Some(lead) = e.protagonists().next() else {
            return Vec::new();
        };
        // The lead station's story: how it starts, the thresholds it passes, how it ends.
        let story = |start: &str, crossings: Vec<(f64, String)>, end: &str| {
            let mut told = vec![at(0.0, lead, start.to_owned())];
            told.extend(crossings.into_iter().map(|(rel, what)| at(rel, lead, what)));
            told.push(at(e.duration_s, lead, end.to_owned()));
            told
        };
        let mut out = Vec::new();
        match e.kind {
            ScenarioKind::Flood => {
                let river = e.river.map_or("river", River::name);
                out.push(at(
                    0.0,
                    lead,
                    format!("flood starting: heavy rain over {river}"),
                ));
                for t in &e.targets {
                    if let (Role::Gauge { peak_m }, StationKind::WaterLevel { base_m, alarm, .. }) =
                        (t.role, self.stations[t.station].kind)
                    {
                        let stage = |rel: f64| base_m + (peak_m - base_m) * profile::surge(rel);
                        for (rel, what) in profile::gauge_crossings(stage, alarm.all()) {
                            out.push(at(rel, t.station, what));
                        }
                    }
                }
                out.push(at(
                    e.duration_s,
                    lead,
                    format!("flood over: {river} back to normal"),
                ));
            }
            ScenarioKind::StationSilent => {
                let secs = e.duration_s;
                out.push(at(
                    0.0,
                    lead,
                    format!(
                        "station silent for {secs} s: connection dropped, last will `offline` fires"
                    ),
                ));
                out.push(at(
                    e.duration_s,
                    lead,
                    "station back: reconnecting, `online`".to_owned(),
                ));
            }
            ScenarioKind::AirPollution => {
                out = story(
                    "air pollution starting: PM2.5 rising",
                    profile::smog_crossings(),
                    "air pollution over",
                )
            }
            // The scenario's own rain only: wet normal weather crosses a little earlier.
            ScenarioKind::Landslide => {
                out = story(
                    "landslide risk: days of steady rain over the slope",
                    profile::slope_crossings(0.0),
                    "landslide risk over: the slope is draining",
                )
            }
            ScenarioKind::ForestFire => {
                let mut smoke = profile::smoke_crossings();
                smoke.push((
                    profile::FIRE_SMOKE_START_S,
                    "forest fire: smoke rising".into(),
                ));
                out = story(
                    "fire weather: hot dry wind, humidity falling",
                    smoke,
                    "forest fire over",
                );
            }
            ScenarioKind::Outage => {
                let keys: Vec<_> = e.protagonists().map(|i| self.stations[i].key).collect();
                let (n, secs) = (keys.len(), e.duration_s);
                out.push(at(
                    0.0,
                    lead,
                    format!(
                        "outage: {n} stations around here silent for {secs} s, last wills fire: {}",
                        keys.join(", ")
                    ),
                ));
                out.push(at(
                    e.duration_s,
                    lead,
                    format!("outage over: {n} stations reconnecting"),
                ));
            }
            ScenarioKind::ClockSkew => {
                if let Some(Role::Skewed(fault)) = e.targets.first().map(|t| t.role) {
                    let secs = e.duration_s;
                    out.push(at(0.0, lead, format!("for {secs} s, {}", fault.describe())));
                    out.push(at(e.duration_s, lead, "clock right again".to_owned()));
                }
            }
            ScenarioKind::Garbage => {
                let keys: Vec<_> = e.protagonists().map(|i| self.stations[i].key).collect();
                let (rate, secs) = (self.garbage_rate, e.duration_s);
                out.push(at(
                    0.0,
                    lead,
                    format!(
                        "garbage: malformed payloads at {rate}/s for {secs} s from {}",
                        keys.join(", ")
                    ),
                ));
                out.push(at(e.duration_s, lead, "garbage over".to_owned()));
            }
            ScenarioKind::SensorFault => {
                out = story(
                    &format!(
                        "sensor fault: the {} sensor is failing",
                        profile::FAULTY_METRIC
                    ),
                    profile::fault_milestones(),
                    "sensor fault over",
                )
            }
        }
        out
    }
}
