//! What `/healthz` reports: each component may mark itself degraded with a reason.
//!
//! Written on state changes (connect, disconnect, commit failure), never per reading.

use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct Health {
    degraded: Mutex<BTreeMap<&'static str, String>>,
}

impl Health {
    /// Marks `component` degraded with `reason`, or healthy again with `None`.
    pub fn set_degraded(&self, component: &'static str, reason: Option<String>) {
        if let Ok(mut d) = self.degraded.lock() {
            match reason {
                Some(r) => d.insert(component, r),
                None => d.remove(component),
            };
        }
    }

    /// `(component, reason)` for everything currently degraded.
    pub fn problems(&self) -> Vec<(String, String)> {
        self.degraded
            .lock()
            .map(|d| {
                d.iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}
