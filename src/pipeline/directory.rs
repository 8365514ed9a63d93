//! Where each device is and how it is labelled, for everything that selects devices by place or
//! label: `bbox` filters of the live feed, and rules scoped by `tags`, `area` or `bbox`.
//!
//! Two immutable maps, each swapped whole when it changes (rare: a device registers, an operator
//! edits one, a batch commits a new position) and read lock-free by every reader: a shard loads
//! them once per message, never per reading.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

/// Device positions (lon, lat) and labels.
#[derive(Default)]
pub struct Directory {
    positions: ArcSwap<Positions>,
    labels: ArcSwap<LabelMap>,
}

/// `(lon, lat)` by device key.
pub type Positions = HashMap<String, (f64, f64)>;

/// What an operator set on a device: its tags, and the areas assigned to it (empty: its position
/// decides).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels {
    pub tags: Vec<String>,
    pub areas: Vec<String>,
}

/// Labels by device key (devices without any are absent).
pub type LabelMap = HashMap<String, Labels>;

impl Directory {
    pub fn snapshot(&self) -> Arc<Positions> {
        self.positions.load_full()
    }

    /// Applies `(device, lat, lon)` changes; a missing coordinate keeps the old one.
    pub fn locate(&self, changes: &[(String, Option<f64>, Option<f64>)]) {
        if changes.is_empty() {
            return;
        }
        self.positions.rcu(|old| {
            let mut next = HashMap::clone(old);
            for (device, lat, lon) in changes {
                let prev = next.get(device).copied();
                let lon = lon.or(prev.map(|p| p.0));
                let lat = lat.or(prev.map(|p| p.1));
                if let (Some(lon), Some(lat)) = (lon, lat) {
                    next.insert(device.clone(), (lon, lat));
                }
            }
            next
        });
    }

    pub fn labels(&self) -> Arc<LabelMap> {
        self.labels.load_full()
    }

    /// Sets the labels of devices (a device with no tags and no areas is dropped from the map).
    pub fn label(&self, changes: &[(String, Labels)]) {
        if changes.is_empty() {
            return;
        }
        self.labels.rcu(|old| {
            let mut next = HashMap::clone(old);
            for (device, labels) in changes {
                if labels.tags.is_empty() && labels.areas.is_empty() {
                    next.remove(device);
                } else {
                    next.insert(device.clone(), labels.clone());
                }
            }
            next
        });
    }
}
