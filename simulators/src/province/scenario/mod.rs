//! Scenarios (kịch bản) that make things happen on top of normal weather, so an operator sees
//! alerts within a minute of start: a flood on one river, a station that goes silent, air pollution
//! in one town. The schedule is a pure function of (seed, elapsed seconds): each kind starts at a
//! fixed offset and repeats with a fixed period, and every cycle picks its stations from a seeded
//! order. It only says what is happening; `Effect::apply` bends readings, the station client obeys
//! `silent`, and `milestones` feeds the log.

mod effect;
mod profile;

use super::rng::{self, SplitMix64};
use super::stations::{River, Station, StationKind};
pub use effect::Effect;
pub use profile::{FLOOD_DURATION_S, SMOG_DURATION_S};

/// The scenario kinds, named as on the command line (`--scenario NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScenarioKind {
    /// Lũ: rain over one river, 2–3 gauges pass alarm levels I/II/III, then recede.
    Flood,
    /// Mất kết nối: one station drops its MQTT connection (last will fires), then comes back.
    StationSilent,
    /// Ô nhiễm không khí: PM2.5 in one town passes 55.5 then 150.5 ug/m3.
    AirPollution,
}

impl ScenarioKind {
    /// The default schedule, in start order.
    pub const ALL: [ScenarioKind; 3] = [
        ScenarioKind::Flood,
        ScenarioKind::StationSilent,
        ScenarioKind::AirPollution,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ScenarioKind::Flood => "flood",
            ScenarioKind::StationSilent => "station-silent",
            ScenarioKind::AirPollution => "air-pollution",
        }
    }

    /// Accepts the names above plus the aliases `outage` and `pollution`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "flood" => Some(ScenarioKind::Flood),
            "station-silent" | "outage" => Some(ScenarioKind::StationSilent),
            "air-pollution" | "pollution" => Some(ScenarioKind::AirPollution),
            _ => None,
        }
    }

    /// Seconds between two starts of this kind.
    pub fn period_s(self) -> f64 {
        match self {
            ScenarioKind::Flood => 300.0,
            ScenarioKind::StationSilent => 180.0,
            ScenarioKind::AirPollution => 240.0,
        }
    }

    /// The longest an episode of this kind lasts; always shorter than the period.
    fn max_duration_s(self) -> f64 {
        match self {
            ScenarioKind::Flood => FLOOD_DURATION_S,
            ScenarioKind::StationSilent => OUTAGE_MAX_S,
            ScenarioKind::AirPollution => SMOG_DURATION_S,
        }
    }
}

/// Names from the command line -> kinds. Empty means the default schedule; `none` runs normal
/// weather only; `all` the default set. Err carries the first unknown name.
pub fn parse_scenarios(names: &[String]) -> Result<Vec<ScenarioKind>, String> {
    if names.is_empty() {
        return Ok(ScenarioKind::ALL.to_vec());
    }
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

/// The first scheduled kind starts this long after the simulator; each next kind 10 s later.
pub const FIRST_START_S: f64 = 10.0;
const START_STAGGER_S: f64 = 10.0;
/// An outage lasts 60–90 s.
const OUTAGE_MIN_S: f64 = 60.0;
const OUTAGE_MAX_S: f64 = 90.0;
/// The first flood peaks in the provincial capital, where an operator expects it; later ones roam.
const FIRST_FLOOD_PEAK: &str = "cb-wl-banggiang-03";
/// The first pollution episode is in the capital's central ward.
const FIRST_SMOG: &str = "cb-aq-tpcb-01";
/// Rain reaches stations this close to a flooding gauge (weight 1 at the gauge, 0.5 at the edge).
const STORM_RADIUS_KM: f64 = 25.0;
/// Smog spreads to monitors this close to the polluted one, at `SMOG_SPILL` of its strength.
const SMOG_RADIUS_KM: f64 = 4.0;
const SMOG_SPILL: f64 = 0.55;
/// A flood's gauges peak this far past alarm levels III, II and I respectively.
const PEAK_MARGINS_M: [(usize, f64); 3] = [(2, 0.4), (1, 0.3), (0, 0.3)];

/// What a station does in an episode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Role {
    /// The river at this gauge rises to `peak_m`.
    Gauge { peak_m: f64 },
    /// Rain (and storm wind at weather stations) over the flood area; weight 0.5–1.
    Storm { weight: f64 },
    /// The station drops off the network.
    Silent,
    /// PM2.5 follows the pollution profile times `weight`.
    Smog { weight: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// Index into the station list the schedule was built from.
    pub station: usize,
    pub role: Role,
}

/// One occurrence of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub kind: ScenarioKind,
    pub cycle: u64,
    /// Seconds after the simulator's start.
    pub start_s: f64,
    pub duration_s: f64,
    pub targets: Vec<Target>,
    /// For floods, the river.
    pub river: Option<River>,
}

impl Episode {
    pub fn end_s(&self) -> f64 {
        self.start_s + self.duration_s
    }

    fn is_active(&self, elapsed_s: f64) -> bool {
        (self.start_s..self.end_s()).contains(&elapsed_s)
    }

    /// Stations whose story this episode is (not the ones merely rained on).
    fn protagonists(&self) -> impl Iterator<Item = usize> + '_ {
        self.targets
            .iter()
            .filter(|t| {
                matches!(
                    t.role,
                    Role::Gauge { .. } | Role::Smog { .. } | Role::Silent
                )
            })
            .map(|t| t.station)
    }
}

/// Something worth a log line: a scenario starting, a gauge passing a level, a station returning.
#[derive(Debug, Clone, PartialEq)]
pub struct Milestone {
    /// Seconds after the simulator's start.
    pub at_s: f64,
    pub scenario: &'static str,
    pub station: &'static str,
    pub station_name: String,
    pub what: String,
}

/// Which scenario runs when, and on which stations.
#[derive(Debug, Clone)]
pub struct Schedule {
    seed: u64,
    stations: Vec<Station>,
    /// Kind and the start of its first cycle.
    plan: Vec<(ScenarioKind, f64)>,
    /// Rivers with two or more gauges (station indices upstream to downstream), in flood order.
    rivers: Vec<(River, Vec<usize>)>,
    /// Air-quality monitors in pollution order.
    smog_order: Vec<usize>,
    /// All stations in outage order.
    outage_order: Vec<usize>,
}

impl Schedule {
    pub fn new(stations: &[Station], seed: u64, kinds: &[ScenarioKind]) -> Self {
        let plan = kinds
            .iter()
            .enumerate()
            .map(|(i, &k)| (k, FIRST_START_S + START_STAGGER_S * i as f64))
            .collect();
        let mut rng = SplitMix64::new(rng::hash(&[seed, 0x5CE4_A210]));
        let mut rivers: Vec<(River, Vec<usize>)> = Vec::new();
        for (i, s) in stations.iter().enumerate() {
            if let StationKind::WaterLevel { river, .. } = s.kind {
                match rivers.iter_mut().find(|(r, _)| *r == river) {
                    Some((_, gauges)) => gauges.push(i),
                    None => rivers.push((river, vec![i])),
                }
            }
        }
        rivers.retain(|(_, gauges)| gauges.len() >= 2);
        rng.shuffle(&mut rivers);
        let first_peak =
            |gauges: &Vec<usize>| gauges.iter().any(|&i| stations[i].key == FIRST_FLOOD_PEAK);
        if let Some(pos) = rivers.iter().position(|(_, g)| first_peak(g)) {
            rivers[..=pos].rotate_right(1);
        }
        let mut smog_order: Vec<usize> = (0..stations.len())
            .filter(|&i| matches!(stations[i].kind, StationKind::AirQuality { .. }))
            .collect();
        rng.shuffle(&mut smog_order);
        if let Some(pos) = smog_order
            .iter()
            .position(|&i| stations[i].key == FIRST_SMOG)
        {
            smog_order[..=pos].rotate_right(1);
        }
        let mut outage_order: Vec<usize> = (0..stations.len()).collect();
        rng.shuffle(&mut outage_order);
        Schedule {
            seed,
            stations: stations.to_vec(),
            plan,
            rivers,
            smog_order,
            outage_order,
        }
    }

    /// The scheduled kinds, in start order.
    pub fn kinds(&self) -> impl Iterator<Item = ScenarioKind> + '_ {
        self.plan.iter().map(|&(k, _)| k)
    }

    pub fn stations(&self) -> &[Station] {
        &self.stations
    }

    /// Cycle `cycle` of `kind`; None when the kind is not scheduled or has nothing to act on.
    pub fn episode(&self, kind: ScenarioKind, cycle: u64) -> Option<Episode> {
        let &(_, first) = self.plan.iter().find(|(k, _)| *k == kind)?;
        let start_s = first + kind.period_s() * cycle as f64;
        let mut rng = SplitMix64::new(rng::hash(&[self.seed, kind as u64, cycle]));
        match kind {
            ScenarioKind::Flood => self.flood(cycle, start_s, &mut rng),
            ScenarioKind::StationSilent => self.outage(cycle, start_s, &mut rng),
            ScenarioKind::AirPollution => self.smog(cycle, start_s),
        }
    }

    /// Episodes running at `elapsed_s`.
    pub fn active(&self, elapsed_s: f64) -> Vec<Episode> {
        self.episodes_between(elapsed_s, elapsed_s)
            .into_iter()
            .filter(|e| e.is_active(elapsed_s))
            .collect()
    }

    /// How the active episodes bend station `station`'s readings at `elapsed_s`.
    pub fn effect(&self, station: usize, elapsed_s: f64) -> Effect {
        let mut effect = Effect::default();
        for episode in self.active(elapsed_s) {
            for target in episode.targets.iter().filter(|t| t.station == station) {
                effect.add(
                    &self.stations[station],
                    target.role,
                    elapsed_s - episode.start_s,
                );
            }
        }
        effect
    }

    /// Milestones with `from_s < at_s <= to_s`, in time order.
    pub fn milestones(&self, from_s: f64, to_s: f64) -> Vec<Milestone> {
        let mut out: Vec<Milestone> = self
            .episodes_between(from_s, to_s)
            .iter()
            .flat_map(|e| self.episode_milestones(e))
            .filter(|m| from_s < m.at_s && m.at_s <= to_s)
            .collect();
        out.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        out
    }

    /// Every episode that overlaps `[from_s, to_s]`.
    fn episodes_between(&self, from_s: f64, to_s: f64) -> Vec<Episode> {
        self.plan
            .iter()
            .flat_map(|&(kind, first)| self.episodes_of(kind, first, from_s, to_s))
            .collect()
    }

    /// Episodes of `kind` (first starting at `first_s`) that overlap `[from_s, to_s]`.
    fn episodes_of(
        &self,
        kind: ScenarioKind,
        first_s: f64,
        from_s: f64,
        to_s: f64,
    ) -> Vec<Episode> {
        if to_s < first_s {
            return Vec::new();
        }
        let period = kind.period_s();
        let lo = ((from_s - first_s - kind.max_duration_s()) / period)
            .floor()
            .max(0.0) as u64;
        let hi = ((to_s - first_s) / period).floor() as u64;
        (lo..=hi)
            .filter_map(|cycle| self.episode(kind, cycle))
            .filter(|e| e.start_s <= to_s && from_s < e.end_s())
            .collect()
    }

    fn flood(&self, cycle: u64, start_s: f64, rng: &mut SplitMix64) -> Option<Episode> {
        let (river, gauges) = self.rivers.get(cycle as usize % self.rivers.len().max(1))?;
        let n = gauges.len();
        let first = gauges
            .iter()
            .position(|&i| self.stations[i].key == FIRST_FLOOD_PEAK);
        let (lo, peak) = match first {
            Some(p) if cycle == 0 => (p.saturating_sub(1).min(n.saturating_sub(3)), p),
            _ => {
                let lo = rng.below(n.saturating_sub(2).max(1));
                (lo, lo + rng.below(n.min(3)))
            }
        };
        let window: Vec<usize> = (lo..(lo + 3).min(n)).collect();
        // Nearest to the peak first: it gets level III, the next level II, the last level I.
        let mut by_rank = window.clone();
        by_rank.sort_by_key(|&p| (p.abs_diff(peak), p));
        let mut targets = Vec::new();
        for (&pos, &(level, margin)) in by_rank.iter().zip(PEAK_MARGINS_M.iter()) {
            let station = gauges[pos];
            if let StationKind::WaterLevel { alarm, .. } = self.stations[station].kind {
                let peak_m = alarm.all()[level] + margin;
                targets.push(Target {
                    station,
                    role: Role::Gauge { peak_m },
                });
            }
        }
        let flooding: Vec<usize> = window.iter().map(|&p| gauges[p]).collect();
        for (i, s) in self.stations.iter().enumerate() {
            if matches!(s.kind, StationKind::AirQuality { .. }) {
                continue;
            }
            let d = flooding
                .iter()
                .map(|&g| s.distance_km(&self.stations[g]))
                .fold(f64::INFINITY, f64::min);
            if d <= STORM_RADIUS_KM {
                let weight = 1.0 - 0.5 * d / STORM_RADIUS_KM;
                targets.push(Target {
                    station: i,
                    role: Role::Storm { weight },
                });
            }
        }
        Some(Episode {
            kind: ScenarioKind::Flood,
            cycle,
            start_s,
            duration_s: FLOOD_DURATION_S,
            targets,
            river: Some(*river),
        })
    }

    fn smog(&self, cycle: u64, start_s: f64) -> Option<Episode> {
        let main = *self
            .smog_order
            .get(cycle as usize % self.smog_order.len().max(1))?;
        let centre = &self.stations[main];
        let mut targets = vec![Target {
            station: main,
            role: Role::Smog { weight: 1.0 },
        }];
        targets.extend(
            self.smog_order
                .iter()
                .filter(|&&i| i != main && self.stations[i].distance_km(centre) <= SMOG_RADIUS_KM)
                .map(|&i| Target {
                    station: i,
                    role: Role::Smog { weight: SMOG_SPILL },
                }),
        );
        Some(Episode {
            kind: ScenarioKind::AirPollution,
            cycle,
            start_s,
            duration_s: SMOG_DURATION_S,
            targets,
            river: None,
        })
    }

    fn outage(&self, cycle: u64, start_s: f64, rng: &mut SplitMix64) -> Option<Episode> {
        let duration_s = (OUTAGE_MIN_S + (OUTAGE_MAX_S - OUTAGE_MIN_S) * rng.next_f64()).round();
        // Silencing a gauge in the middle of its own flood would hide the flood: skip busy ones.
        let busy: Vec<usize> = self
            .plan
            .iter()
            .filter(|(k, _)| *k != ScenarioKind::StationSilent)
            .flat_map(|&(k, first)| self.episodes_of(k, first, start_s, start_s + duration_s))
            .flat_map(|e| e.protagonists().collect::<Vec<_>>())
            .collect();
        let n = self.outage_order.len();
        let station = (0..n)
            .map(|k| self.outage_order[(cycle as usize + k) % n])
            .find(|i| !busy.contains(i))?;
        Some(Episode {
            kind: ScenarioKind::StationSilent,
            cycle,
            start_s,
            duration_s,
            targets: vec![Target {
                station,
                role: Role::Silent,
            }],
            river: None,
        })
    }

    fn episode_milestones(&self, e: &Episode) -> Vec<Milestone> {
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
                out.push(at(
                    0.0,
                    lead,
                    "air pollution starting: PM2.5 rising".to_owned(),
                ));
                out.extend(
                    profile::smog_crossings()
                        .into_iter()
                        .map(|(rel, what)| at(rel, lead, what)),
                );
                out.push(at(e.duration_s, lead, "air pollution over".to_owned()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
