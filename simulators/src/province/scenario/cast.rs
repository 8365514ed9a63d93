//! Who plays which role in an episode: the gauges of a flood and the stations under its storm,
//! the monitors under smog, the slopes and stations under days of rain, the neighbours that go
//! dark together, and which stations are busy with a weather story or a sensor fault and must not
//! be picked for a silence, a wrong clock or garbage.

use super::profile::{FLOOD_DURATION_S, SMOG_DURATION_S};
use super::{
    Episode, FIRST_FLOOD_PEAK, OUTAGE_GROUP, PEAK_MARGINS_M, Role, SMOG_RADIUS_KM, SMOG_SPILL,
    SOAK_RADIUS_KM, STORM_RADIUS_KM, ScenarioKind, Schedule, Target, target,
};
use crate::province::rng::SplitMix64;
use crate::province::stations::StationKind;

impl Schedule {
    /// Stations at the heart of a weather scenario or a sensor fault some time in
    /// `[from_s, to_s]`: a silence, a wrong clock or garbage there would hide the story.
    pub(super) fn busy(&self, from_s: f64, to_s: f64) -> Vec<usize> {
        self.busy_with(from_s, to_s, |k| {
            k.is_weather() || k == ScenarioKind::SensorFault
        })
    }

    /// Stations at the heart of a weather scenario some time in `[from_s, to_s]` (where a sensor
    /// fault picks from: a fault looking at its own episodes would never end).
    pub(super) fn weather_busy(&self, from_s: f64, to_s: f64) -> Vec<usize> {
        self.busy_with(from_s, to_s, ScenarioKind::is_weather)
    }

    fn busy_with(&self, from_s: f64, to_s: f64, story: fn(ScenarioKind) -> bool) -> Vec<usize> {
        self.plan
            .iter()
            .filter(|p| story(p.kind))
            .flat_map(|p| self.episodes_of(p, from_s, to_s))
            .flat_map(|e| e.protagonists().collect::<Vec<_>>())
            .collect()
    }

    /// The first station of `order`, from position `cycle` on, that is not busy.
    pub(super) fn pick(&self, order: &[usize], cycle: u64, busy: &[usize]) -> Option<usize> {
        let n = order.len();
        (0..n)
            .map(|k| order[(cycle as usize + k) % n])
            .find(|i| !busy.contains(i))
    }

    pub(super) fn flood(&self, cycle: u64, start_s: f64, rng: &mut SplitMix64) -> Option<Episode> {
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

    pub(super) fn smog(&self, cycle: u64, start_s: f64) -> Option<Episode> {
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

    /// The slope of this cycle first, then every station under the same rain.
    pub(super) fn landslide(&self, cycle: u64) -> Option<Vec<Target>> {
        let main = *self
            .slope_order
            .get(cycle as usize % self.slope_order.len().max(1))?;
        let centre = &self.stations[main];
        let mut targets = vec![target(main, Role::Slope { weight: 1.0 })];
        for (i, s) in self.stations.iter().enumerate() {
            let d = s.distance_km(centre);
            if i == main || d > SOAK_RADIUS_KM {
                continue;
            }
            let weight = 1.0 - 0.6 * d / SOAK_RADIUS_KM;
            match s.kind {
                StationKind::Slope => targets.push(target(i, Role::Slope { weight })),
                kind if kind.metrics().iter().any(|m| m.name == "rain_1h") => {
                    targets.push(target(i, Role::SteadyRain { weight }));
                }
                _ => {}
            }
        }
        Some(targets)
    }

    /// A centre station and its nearest neighbours, none of them busy: 4–6 stations on one cell
    /// tower or power feeder.
    pub(super) fn group(
        &self,
        cycle: u64,
        start_s: f64,
        duration_s: f64,
        rng: &mut SplitMix64,
    ) -> Option<Vec<Target>> {
        let busy = self.busy(start_s, start_s + duration_s);
        let centre = self.pick(&self.group_order, cycle, &busy)?;
        let (lo, hi) = OUTAGE_GROUP;
        let size = lo + rng.below(hi - lo + 1);
        let mut near: Vec<usize> = (0..self.stations.len())
            .filter(|i| !busy.contains(i))
            .collect();
        let centre_station = &self.stations[centre];
        near.sort_by(|&a, &b| {
            let da = self.stations[a].distance_km(centre_station);
            let db = self.stations[b].distance_km(centre_station);
            da.total_cmp(&db).then(a.cmp(&b))
        });
        Some(
            near.into_iter()
                .take(size)
                .map(|i| target(i, Role::Silent))
                .collect(),
        )
    }
}
