//! Scenarios (kịch bản) that make things happen on top of normal weather, so an operator sees
//! alerts within a minute of start: a flood on one river, days of rain on a road slope, a forest
//! fire, air pollution in one town, a station or a group of stations going silent, a station with
//! a wrong clock, loggers sending malformed payloads. The schedule is a pure function of (seed,
//! elapsed seconds): each kind starts at a fixed offset — or at once when triggered — and repeats
//! with a fixed period, and every cycle picks its stations from a seeded order. It only says what
//! is happening; `Effect::apply` bends readings, the station client obeys `silent` and the clock
//! and sends what `garbage` lists, and `milestones` feeds the log.

mod cast;
mod effect;
mod kind;
mod milestones;
mod profile;

use super::garbage::GarbageKind;
use super::rng::{self, SplitMix64};
use super::stations::{River, Station, StationKind};
pub use effect::{ClockFault, Effect, observe};
pub use kind::{ScenarioKind, catalogue, known_names, parse_scenarios, parse_triggers};
pub use profile::{
    FAULT_DURATION_S, FAULTY_METRIC, FIRE_DURATION_S, FLOOD_DURATION_S, LANDSLIDE_DURATION_S,
    SLOPE_LEVELS, SMOG_DURATION_S, SMOKE_CO_LEVEL,
};

/// The first scheduled kind starts this long after the simulator; each next kind 10 s later.
pub const FIRST_START_S: f64 = 10.0;
const START_STAGGER_S: f64 = 10.0;
/// A triggered scenario starts with the simulator.
pub const TRIGGER_START_S: f64 = 0.0;
/// Malformed messages per second, all garbage loggers together, unless told otherwise.
pub const DEFAULT_GARBAGE_RATE: f64 = 0.2;
/// A silence (one station or a group) lasts 60–90 s.
const OUTAGE_MIN_S: f64 = 60.0;
const OUTAGE_MAX_S: f64 = 90.0;
/// An outage takes down this many neighbouring stations: what one cell tower or feeder serves.
const OUTAGE_GROUP: (usize, usize) = (4, 6);
/// A wrong clock lasts 90–120 s.
const SKEW_MIN_S: f64 = 90.0;
const SKEW_MAX_S: f64 = 120.0;
/// Garbage episodes: this long, from this many loggers.
const GARBAGE_DURATION_S: f64 = 150.0;
const GARBAGE_LOGGERS: usize = 3;
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
/// Days of steady rain cover stations this close to the slope (weight 1 there, 0.4 at the edge).
const SOAK_RADIUS_KM: f64 = 15.0;
/// Stream tag of the garbage slots.
const GARBAGE_SLOTS: u64 = 0x6A2B_A6E0;

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
    /// A road slope under days of steady rain: its 72 h total and soil moisture rise; weight
    /// 0.4–1 (1 at the slope whose story it is).
    Slope { weight: f64 },
    /// The same steady rain at an ordinary station nearby; weight 0.4–1.
    SteadyRain { weight: f64 },
    /// Hot dry wind, then smoke, at a forest-fire watch.
    Fire,
    /// The station's clock is wrong.
    Skewed(ClockFault),
    /// The station sends malformed payloads besides its telemetry.
    Garbage,
    /// A sensor of the station jumps, then sticks.
    Faulty,
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
            .filter(|t| !matches!(t.role, Role::Storm { .. } | Role::SteadyRain { .. }))
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

/// A malformed message a station owes at `at_s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GarbageDue {
    /// Seconds after the simulator's start.
    pub at_s: f64,
    pub kind: GarbageKind,
    /// Varies the payload's details.
    pub salt: u64,
}

/// When one kind runs.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Plan {
    kind: ScenarioKind,
    /// Start of cycle 0, seconds after the simulator's start.
    first_s: f64,
    /// False for a kind that was only triggered: it runs once.
    repeats: bool,
}

/// Which scenario runs when, and on which stations.
#[derive(Debug, Clone)]
pub struct Schedule {
    seed: u64,
    stations: Vec<Station>,
    plan: Vec<Plan>,
    garbage_rate: f64,
    /// Rivers with two or more gauges (station indices upstream to downstream), in flood order.
    rivers: Vec<(River, Vec<usize>)>,
    /// Air-quality monitors in pollution order.
    smog_order: Vec<usize>,
    /// All stations in station-silent order.
    outage_order: Vec<usize>,
    /// Slope monitors in landslide order.
    slope_order: Vec<usize>,
    /// Forest-fire watches in fire order.
    fire_order: Vec<usize>,
    /// All stations in the order they centre a group outage.
    group_order: Vec<usize>,
    /// All stations in wrong-clock order.
    skew_order: Vec<usize>,
    /// All stations in garbage order.
    garbage_order: Vec<usize>,
    /// Weather stations in sensor-fault order.
    fault_order: Vec<usize>,
}

impl Schedule {
    /// `kinds` on the default schedule, nothing triggered.
    pub fn new(stations: &[Station], seed: u64, kinds: &[ScenarioKind]) -> Self {
        Self::with_triggers(stations, seed, kinds, &[])
    }

    /// `scheduled` kinds start 10 s apart from `FIRST_START_S` and repeat; `triggered` ones start
    /// at once instead — and then repeat only if they are scheduled too.
    pub fn with_triggers(
        stations: &[Station],
        seed: u64,
        scheduled: &[ScenarioKind],
        triggered: &[ScenarioKind],
    ) -> Self {
        let mut plan: Vec<Plan> = scheduled
            .iter()
            .enumerate()
            .map(|(i, &kind)| Plan {
                kind,
                first_s: if triggered.contains(&kind) {
                    TRIGGER_START_S
                } else {
                    FIRST_START_S + START_STAGGER_S * i as f64
                },
                repeats: true,
            })
            .collect();
        plan.extend(
            triggered
                .iter()
                .filter(|k| !scheduled.contains(k))
                .map(|&kind| Plan {
                    kind,
                    first_s: TRIGGER_START_S,
                    repeats: false,
                }),
        );
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
        let mut order = |keep: fn(&StationKind) -> bool| {
            let mut v: Vec<usize> = (0..stations.len())
                .filter(|&i| keep(&stations[i].kind))
                .collect();
            rng.shuffle(&mut v);
            v
        };
        let mut smog_order = order(|k| matches!(k, StationKind::AirQuality { .. }));
        let outage_order = order(|_| true);
        let slope_order = order(|k| *k == StationKind::Slope);
        let fire_order = order(|k| *k == StationKind::Forest);
        let group_order = order(|_| true);
        let skew_order = order(|_| true);
        let garbage_order = order(|_| true);
        let fault_order = order(|k| *k == StationKind::Weather);
        if let Some(pos) = smog_order
            .iter()
            .position(|&i| stations[i].key == FIRST_SMOG)
        {
            smog_order[..=pos].rotate_right(1);
        }
        Schedule {
            seed,
            stations: stations.to_vec(),
            plan,
            garbage_rate: DEFAULT_GARBAGE_RATE,
            rivers,
            smog_order,
            outage_order,
            slope_order,
            fire_order,
            group_order,
            skew_order,
            garbage_order,
            fault_order,
        }
    }

    /// Malformed messages per second during a garbage episode, all its loggers together.
    pub fn with_garbage_rate(mut self, per_s: f64) -> Self {
        self.garbage_rate = per_s;
        self
    }

    /// The planned kinds: scheduled ones in start order, then those only triggered.
    pub fn kinds(&self) -> impl Iterator<Item = ScenarioKind> + '_ {
        self.plan.iter().map(|p| p.kind)
    }

    pub fn stations(&self) -> &[Station] {
        &self.stations
    }

    /// Cycle `cycle` of `kind`; None when the kind is not planned (or, triggered only, not again)
    /// or has nothing to act on.
    pub fn episode(&self, kind: ScenarioKind, cycle: u64) -> Option<Episode> {
        let plan = self.plan.iter().find(|p| p.kind == kind)?;
        if !plan.repeats && cycle > 0 {
            return None;
        }
        let start_s = plan.first_s + kind.period_s() * cycle as f64;
        let mut rng = SplitMix64::new(rng::hash(&[self.seed, kind as u64, cycle]));
        let (duration_s, targets, river) = match kind {
            ScenarioKind::Flood => return self.flood(cycle, start_s, &mut rng),
            ScenarioKind::AirPollution => return self.smog(cycle, start_s),
            ScenarioKind::StationSilent => {
                let duration_s = between(OUTAGE_MIN_S, OUTAGE_MAX_S, &mut rng);
                let busy = self.busy(start_s, start_s + duration_s);
                let station = self.pick(&self.outage_order, cycle, &busy)?;
                (duration_s, vec![target(station, Role::Silent)], None)
            }
            ScenarioKind::Landslide => (LANDSLIDE_DURATION_S, self.landslide(cycle)?, None),
            ScenarioKind::ForestFire => {
                let station = *self
                    .fire_order
                    .get(cycle as usize % self.fire_order.len().max(1))?;
                (FIRE_DURATION_S, vec![target(station, Role::Fire)], None)
            }
            ScenarioKind::Outage => {
                let duration_s = between(OUTAGE_MIN_S, OUTAGE_MAX_S, &mut rng);
                let group = self.group(cycle, start_s, duration_s, &mut rng)?;
                (duration_s, group, None)
            }
            ScenarioKind::ClockSkew => {
                let duration_s = between(SKEW_MIN_S, SKEW_MAX_S, &mut rng);
                let busy = self.busy(start_s, start_s + duration_s);
                let station = self.pick(&self.skew_order, cycle, &busy)?;
                let fault = ClockFault::pick(cycle, &mut rng);
                (duration_s, vec![target(station, Role::Skewed(fault))], None)
            }
            ScenarioKind::Garbage => {
                let n = self.garbage_order.len();
                let loggers = (0..GARBAGE_LOGGERS.min(n))
                    .map(|j| {
                        let station =
                            self.garbage_order[(cycle as usize * GARBAGE_LOGGERS + j) % n];
                        target(station, Role::Garbage)
                    })
                    .collect::<Vec<_>>();
                if loggers.is_empty() {
                    return None;
                }
                (GARBAGE_DURATION_S, loggers, None)
            }
            ScenarioKind::SensorFault => {
                let busy = self.weather_busy(start_s, start_s + FAULT_DURATION_S);
                let station = self.pick(&self.fault_order, cycle, &busy)?;
                (FAULT_DURATION_S, vec![target(station, Role::Faulty)], None)
            }
        };
        Some(Episode {
            kind,
            cycle,
            start_s,
            duration_s,
            targets,
            river,
        })
    }

    /// Episodes running at `elapsed_s`.
    pub fn active(&self, elapsed_s: f64) -> Vec<Episode> {
        self.episodes_between(elapsed_s, elapsed_s)
            .into_iter()
            .filter(|e| e.is_active(elapsed_s))
            .collect()
    }

    /// How the active episodes bend station `station`'s readings at `elapsed_s` (no rain counted).
    pub fn effect(&self, station: usize, elapsed_s: f64) -> Effect {
        self.effect_over(station, elapsed_s, 0.0)
    }

    /// How the active episodes bend the message station `station` sends at `elapsed_s`,
    /// `span_s` after its previous one (the rain its bucket counted in between).
    pub fn effect_over(&self, station: usize, elapsed_s: f64, span_s: f64) -> Effect {
        let mut effect = Effect::default();
        for episode in self.active(elapsed_s) {
            for target in episode.targets.iter().filter(|t| t.station == station) {
                effect.add(
                    &self.stations[station],
                    target.role,
                    elapsed_s - episode.start_s,
                    span_s,
                );
            }
        }
        effect
    }

    /// Malformed messages station `station` owes with `from_s < at_s <= to_s`, in time order. Over
    /// a garbage episode they come at `garbage_rate` per second in all, each slot's time, logger
    /// and kind drawn from (seed, cycle, slot).
    pub fn garbage(&self, station: usize, from_s: f64, to_s: f64) -> Vec<GarbageDue> {
        let rate = self.garbage_rate;
        if !(rate > 0.0 && rate.is_finite()) {
            return Vec::new();
        }
        let mut due = Vec::new();
        for e in self.episodes_between(from_s, to_s) {
            if e.kind != ScenarioKind::Garbage || e.protagonists().all(|s| s != station) {
                continue;
            }
            let slots = (e.duration_s * rate).floor() as u64;
            let first = ((from_s - e.start_s) * rate).floor().max(0.0) as u64;
            let last = ((((to_s - e.start_s) * rate).floor() + 1.0).max(0.0) as u64).min(slots);
            for slot in first..last {
                let salt = rng::hash(&[self.seed, GARBAGE_SLOTS, e.cycle, slot]);
                let at_s = e.start_s + (slot as f64 + rng::unit(&[salt, 0])) / rate;
                let logger = e.targets[rng::hash(&[salt, 1]) as usize % e.targets.len()];
                if logger.station == station && from_s < at_s && at_s <= to_s {
                    due.push(GarbageDue {
                        at_s,
                        kind: GarbageKind::pick(rng::unit(&[salt, 2])),
                        salt,
                    });
                }
            }
        }
        due.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        due
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
            .flat_map(|plan| self.episodes_of(plan, from_s, to_s))
            .collect()
    }

    /// Episodes of one plan that overlap `[from_s, to_s]`.
    fn episodes_of(&self, plan: &Plan, from_s: f64, to_s: f64) -> Vec<Episode> {
        if to_s < plan.first_s {
            return Vec::new();
        }
        let period = plan.kind.period_s();
        let lo = ((from_s - plan.first_s - plan.kind.max_duration_s()) / period)
            .floor()
            .max(0.0) as u64;
        let hi = if plan.repeats {
            ((to_s - plan.first_s) / period).floor() as u64
        } else {
            0
        };
        (lo..=hi)
            .filter_map(|cycle| self.episode(plan.kind, cycle))
            .filter(|e| e.start_s <= to_s && from_s < e.end_s())
            .collect()
    }
}

fn target(station: usize, role: Role) -> Target {
    Target { station, role }
}

/// Uniform in `[lo, hi]`, rounded to whole seconds.
fn between(lo: f64, hi: f64, rng: &mut SplitMix64) -> f64 {
    (lo + (hi - lo) * rng.next_f64()).round()
}

#[cfg(test)]
mod tests;
