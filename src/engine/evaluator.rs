//! Rule evaluation over state owned by one shard: every kind of rule, its `for`, its hysteresis.
//!
//! Per device the shard keeps when it last heard from it (per metric too: the silence a `no_data`
//! rule measures) and one slot per (device, rule) that needs memory: a threshold rule only while
//! it is pending or open, so a reading that breaches nothing allocates nothing; a window, rate,
//! anomaly or `all` rule for as long as the device reports its metrics, in a size fixed by the
//! rule ([`memory`]).
//!
//! Time: conditions and `for` are measured in reading time, so replayed or buffered data
//! evaluates as it happened. Silence (`no_data`) is the one wall-clock measure: the shard's
//! [`Evaluator::tick`] compares the hub's clock with when each device was last heard, counting
//! from the hub's start at the earliest, so a restart delays a silence alert by at most its `for`
//! instead of raising one for every device at once.
//!
//! Late readings: a threshold or anomaly rule evaluates them like any other (an anomaly folds
//! them in without decay); a window rule adds them to their bucket when it is still in the ring
//! and evaluates the window as it stands; a rate rule adds them to their bucket but measures a
//! change only at a reading newer than every other; a reading older than the ring is not counted
//! (`iochub_engine_late_readings_total`).

pub mod memory;

use std::sync::Arc;

use iochub_devices::Reading;
use rustc_hash::FxHashMap;

use super::rules::{Agg, Kind, Op, Places, Rule, RuleSet};
use crate::pipeline::{AlertChange, Clear, Fire};
use memory::{Buckets, Ewma, Latest, Spread};

/// Whether an alert of the rule is open, or its condition pending since when.
#[derive(Debug, Clone)]
struct Gate {
    pending_since: Option<i64>,
    active: bool,
    last_value: f64,
    /// Recent openings and the hold, for a rule with `flap` (boxed: most rules have none).
    flap: Option<Box<FlapState>>,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            pending_since: None,
            active: false,
            last_value: f64::NAN,
            flap: None,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct FlapState {
    /// When the alert opened lately, oldest first (at most the rule's `count`).
    opens: Vec<i64>,
    /// Held open as flapping: clears and new openings are not passed on.
    holding: bool,
    /// While holding: whether the condition holds now, and when that last changed.
    holds: bool,
    changed_ms: i64,
}

#[derive(Debug, Clone)]
enum Memory {
    None,
    Buckets(Box<Buckets>),
    Spread(Box<Spread>),
    Ewma(Ewma),
    Latest(Latest),
}

impl Memory {
    fn for_kind(kind: &Kind) -> Self {
        match kind {
            Kind::Threshold { .. } | Kind::NoData { .. } => Memory::None,
            Kind::Rate {
                over_ms, compare, ..
            } => {
                // a rise is measured from the window's lowest value, a fall from its highest
                let agg = if compare.op.rising() {
                    Agg::Min
                } else {
                    Agg::Max
                };
                Memory::Buckets(Box::new(Buckets::new(agg, *over_ms)))
            }
            Kind::Window {
                agg: Agg::Spread,
                window_ms,
                ..
            } => Memory::Spread(Box::new(Spread::new(*window_ms))),
            Kind::Window { agg, window_ms, .. } => {
                Memory::Buckets(Box::new(Buckets::new(*agg, *window_ms)))
            }
            Kind::Anomaly { .. } => Memory::Ewma(Ewma::default()),
            Kind::All { conditions, .. } => Memory::Latest(Latest::new(conditions.len())),
        }
    }
}

#[derive(Debug, Clone)]
struct Slot {
    rule: Arc<str>,
    fingerprint: u64,
    gate: Gate,
    memory: Memory,
    /// Newest reading time seen by this slot (rate rules measure only at the newest).
    newest_ms: i64,
    /// An open alert whose rule's memory was changed (a reload) is not cleared before its new
    /// memory has filled: until this reading time (`i64::MIN`: from the next reading on, for
    /// the rule's span).
    filling_until: Option<i64>,
}

impl Slot {
    fn new(rule: &Rule) -> Self {
        Slot {
            rule: rule.id.clone(),
            fingerprint: rule.fingerprint,
            gate: Gate::default(),
            memory: Memory::for_kind(&rule.kind),
            newest_ms: i64::MIN,
            filling_until: None,
        }
    }

    /// A slot without memory that is neither pending nor open, and remembers no recent opening
    /// for a flap hold, can go.
    fn idle(&self) -> bool {
        matches!(self.memory, Memory::None)
            && !self.gate.active
            && self.gate.pending_since.is_none()
            && self.gate.flap.as_ref().is_none_or(|f| f.opens.is_empty())
    }
}

#[derive(Debug, Default)]
struct DeviceState {
    /// Hub time of the newest reading, of any metric.
    heard_ms: i64,
    /// Hub time of the newest reading per metric, of the metrics a `no_data` rule names.
    metrics: Vec<(Box<str>, i64)>,
    slots: Vec<Slot>,
}

impl DeviceState {
    /// Heard at `at_ms`; `tracked`: the metric's own time is kept too (a `no_data` rule names
    /// it).
    fn heard(&mut self, metric: &str, at_ms: i64, tracked: bool) {
        self.heard_ms = self.heard_ms.max(at_ms);
        if !tracked {
            return;
        }
        match self.metrics.iter_mut().find(|(m, _)| &**m == metric) {
            Some((_, t)) => *t = (*t).max(at_ms),
            None => self.metrics.push((metric.into(), at_ms)),
        }
    }

    /// When the device (or one metric of it) was last heard; `None` for a metric it never sent.
    fn heard_of(&self, metric: Option<&str>) -> Option<i64> {
        match metric {
            None => Some(self.heard_ms),
            Some(m) => self
                .metrics
                .iter()
                .find(|(n, _)| &**n == m)
                .map(|(_, t)| *t),
        }
    }

    fn slot(&self, rule: &Rule) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.fingerprint == rule.fingerprint)
    }
}

/// What a rule's condition says about a series after a reading.
struct Verdict {
    /// The condition holds (the alert opens once it has held for `for`).
    breached: bool,
    /// An open alert resolves (past the hysteresis line).
    cleared: bool,
    /// What the rule compared: the reading, the aggregate, the change.
    value: f64,
    op: Op,
    threshold: f64,
}

fn fire(rule: &Rule, device: &str, v: &Verdict, ts_ms: i64, flapping: bool) -> AlertChange {
    AlertChange::Fire(Fire {
        rule: rule.id.to_string(),
        device: device.to_owned(),
        metric: rule.kind.metric().to_owned(),
        op: v.op,
        threshold: v.threshold,
        severity: rule.severity,
        category: rule.category.clone(),
        value: v.value,
        ts_ms,
        flapping,
    })
}

fn clear(rule: &str, device: &str, value: f64, ts_ms: i64) -> AlertChange {
    AlertChange::Clear(Clear {
        rule: rule.to_owned(),
        device: device.to_owned(),
        value,
        ts_ms,
    })
}

/// The rule state of one shard's devices.
pub struct Evaluator {
    rules: Arc<RuleSet>,
    devices: FxHashMap<String, DeviceState>,
    /// Hub time at start: silence counts from here at the earliest.
    started_ms: i64,
    /// Where devices are and their labels, for rules scoped by tags, area or bbox.
    places: Places,
    late: metrics::Counter,
}

impl Evaluator {
    /// `started_ms`: the hub's start on its clock (silence is not counted before it).
    pub fn new(rules: Arc<RuleSet>, started_ms: i64) -> Self {
        Self {
            rules,
            devices: FxHashMap::default(),
            started_ms,
            places: Places::default(),
            late: crate::metrics::engine_late_readings(),
        }
    }

    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// The devices' positions and labels as they are now (a shard sets them once per message).
    /// A device that leaves a rule's place has that rule's alert cleared at its next reading.
    pub fn set_places(&mut self, places: Places) {
        self.places = places;
    }

    /// (device, rule) pairs with state, for tests and introspection.
    pub fn tracked(&self) -> usize {
        self.devices.values().map(|d| d.slots.len()).sum()
    }

    fn device(&mut self, device: &str) -> &mut DeviceState {
        if !self.devices.contains_key(device) {
            self.devices
                .insert(device.to_owned(), DeviceState::default());
        }
        self.devices
            .get_mut(device)
            .expect("inserted just above if it was missing")
    }

    /// When a device (`metric` `None`) or one metric of it was last heard before the hub
    /// started (from the store), so that a device that never reports again is still found
    /// silent. A replay sets its start the same way.
    pub fn heard_before(&mut self, device: &str, metric: Option<&str>, at_ms: i64) {
        let tracked = metric.is_some_and(|m| self.rules.watches_silence_of(m));
        let dev = self.device(device);
        match metric {
            None => dev.heard_ms = dev.heard_ms.max(at_ms),
            Some(m) => dev.heard(m, at_ms, tracked),
        }
    }

    /// Marks an alert that is open in storage as active, so that it can clear after a restart.
    pub fn seed_active(&mut self, device: &str, rule_id: &str) {
        let rules = self.rules.clone();
        let Some(rule) = rules.get(rule_id) else {
            return;
        };
        let dev = self.device(device);
        let i = match dev.slot(rule) {
            Some(i) => i,
            None => {
                dev.slots.push(Slot::new(rule));
                dev.slots.len() - 1
            }
        };
        dev.slots[i].gate.active = true;
    }

    /// Swaps in a new rule set. State of unchanged rules is kept (window contents included). A
    /// changed rule keeps its open alert open (it clears under the new definition) and restarts
    /// any pending `for`; it keeps its memory when what the memory holds is unchanged (an edit
    /// of the line, the severity, the scope); otherwise its memory starts empty, and an open
    /// alert is not cleared before the new memory has covered the rule's span. An alert of a
    /// removed rule, or of a rule that no longer covers the device, is cleared.
    pub fn set_rules(&mut self, rules: Arc<RuleSet>, now_ms: i64, out: &mut Vec<AlertChange>) {
        let (places, old) = (&self.places, self.rules.clone());
        for (device, dev) in self.devices.iter_mut() {
            dev.slots.retain_mut(|slot| {
                let next = rules.get(&slot.rule).filter(|r| r.covers(device, places));
                match next {
                    Some(r) if r.fingerprint == slot.fingerprint => true,
                    Some(r) => {
                        let same_memory = old
                            .get(&slot.rule)
                            .is_some_and(|o| o.kind.memory_key() == r.kind.memory_key());
                        let was = std::mem::replace(slot, Slot::new(r));
                        slot.gate.active = was.gate.active;
                        slot.gate.last_value = was.gate.last_value;
                        if same_memory {
                            (slot.memory, slot.newest_ms) = (was.memory, was.newest_ms);
                            slot.filling_until = was.filling_until;
                        } else if was.gate.active {
                            slot.filling_until = Some(i64::MIN);
                        }
                        !slot.idle()
                    }
                    _ => {
                        if slot.gate.active {
                            out.push(clear(&slot.rule, device, slot.gate.last_value, now_ms));
                        }
                        false
                    }
                }
            });
        }
        self.rules = rules;
    }

    /// Evaluates one reading against every rule that looks at it; `now_ms` is the hub's clock
    /// when it arrived (reading time in a replay). Transitions go to `out`.
    pub fn evaluate(&mut self, r: &Reading, now_ms: i64, out: &mut Vec<AlertChange>) {
        let Self {
            rules,
            devices,
            late,
            places,
            ..
        } = self;
        let mut applicable = rules.applicable(&r.metric, &r.device).peekable();
        // Nothing looks at this reading, and no silence is measured: nothing to remember.
        if applicable.peek().is_none() && !rules.measures_silence() {
            return;
        }
        let dev = match devices.get_mut(r.device.as_str()) {
            Some(dev) => dev,
            None => devices.entry(r.device.clone()).or_default(),
        };
        dev.heard(&r.metric, now_ms, rules.watches_silence_of(&r.metric));
        for rule in applicable {
            let found = dev.slot(rule);
            if let Some(place) = &rule.place
                && !place.admits(&r.device, places)
            {
                // out of the rule's place (or moved out of it): no state, no open alert
                if let Some(i) = found {
                    if dev.slots[i].gate.active {
                        let value = dev.slots[i].gate.last_value;
                        out.push(clear(&rule.id, &r.device, value, r.ts_ms));
                    }
                    dev.slots.swap_remove(i);
                }
                continue;
            }
            if let Kind::NoData { .. } = rule.kind {
                // heard again: a silence alert clears (on the hub's clock, like the silence)
                if let Some(i) = found {
                    let slot = &mut dev.slots[i];
                    step(rule, &mut slot.gate, &HEARD, &r.device, now_ms, out);
                    if slot.idle() {
                        dev.slots.swap_remove(i);
                    }
                }
                continue;
            }
            let i = match found {
                Some(i) => i,
                None => {
                    // a threshold rule needs a slot only once its condition holds
                    if let Kind::Threshold { compare, .. } = &rule.kind
                        && !compare.breached(r.value)
                    {
                        continue;
                    }
                    dev.slots.push(Slot::new(rule));
                    dev.slots.len() - 1
                }
            };
            let slot = &mut dev.slots[i];
            let Some((verdict, at)) = judge(rule, slot, r, late) else {
                continue;
            };
            if let Some(until) = slot.filling_until {
                let until = if until == i64::MIN {
                    let u = at.saturating_add(rule.kind.memory_span_ms());
                    slot.filling_until = Some(u);
                    u
                } else {
                    until
                };
                if at < until && verdict.cleared {
                    continue; // a memory still filling does not clear what the full one opened
                }
                if at >= until {
                    slot.filling_until = None;
                }
            }
            step(rule, &mut slot.gate, &verdict, &r.device, at, out);
            if slot.idle() {
                dev.slots.swap_remove(i);
            }
        }
    }

    /// Raises a silence alert for every device (or metric) not heard for its `no_data` rule's
    /// `for`, counting from the hub's start at the earliest.
    pub fn tick(&mut self, now_ms: i64, out: &mut Vec<AlertChange>) {
        let rules = self.rules.clone();
        if rules.silences().next().is_none() {
            return;
        }
        for (device, dev) in self.devices.iter_mut() {
            let at = (&self.places, self.started_ms, now_ms);
            silences(&rules, device, dev, at, out);
        }
    }

    /// [`Evaluator::tick`] for one device: what a replay calls before each of its readings.
    pub fn tick_device(&mut self, device: &str, now_ms: i64, out: &mut Vec<AlertChange>) {
        let rules = self.rules.clone();
        if let Some(dev) = self.devices.get_mut(device) {
            let at = (&self.places, self.started_ms, now_ms);
            silences(&rules, device, dev, at, out);
        }
    }

    /// Refills the memory of window, rate, anomaly and `all` rules from a stored reading without
    /// deciding anything: no alert opens or clears. The hub feeds the store's recent readings
    /// through it at start, oldest first, before live readings come.
    pub fn warm(&mut self, r: &Reading) {
        let Self {
            rules,
            devices,
            late,
            places,
            ..
        } = self;
        let dev = match devices.get_mut(r.device.as_str()) {
            Some(dev) => dev,
            None => devices.entry(r.device.clone()).or_default(),
        };
        for rule in rules.applicable(&r.metric, &r.device) {
            if matches!(rule.kind, Kind::Threshold { .. } | Kind::NoData { .. })
                || !rule
                    .place
                    .as_ref()
                    .is_none_or(|p| p.admits(&r.device, places))
            {
                continue;
            }
            let i = match dev.slot(rule) {
                Some(i) => i,
                None => {
                    dev.slots.push(Slot::new(rule));
                    dev.slots.len() - 1
                }
            };
            let _ = judge(rule, &mut dev.slots[i], r, late);
        }
    }

    /// Drops everything known of a device (a replay that is done with it).
    pub fn forget(&mut self, device: &str) {
        self.devices.remove(device);
    }
}

/// The `no_data` rules of one device at `now_ms`. A silence opens its alert at the moment it
/// reached the rule's `for` (the later of the last reading and the start, plus `for`), whenever
/// the tick that finds it comes, so a replay and the live hub agree to the millisecond.
fn silences(
    rules: &RuleSet,
    device: &str,
    dev: &mut DeviceState,
    (places, started_ms, now_ms): (&Places, i64, i64),
    out: &mut Vec<AlertChange>,
) {
    for rule in rules.silences().filter(|r| r.covers(device, places)) {
        let Kind::NoData { metric, silence_ms } = &rule.kind else {
            continue;
        };
        let Some(heard) = dev.heard_of(metric.as_deref()) else {
            continue;
        };
        let due = heard.max(started_ms).saturating_add(*silence_ms);
        if now_ms < due {
            continue;
        }
        let i = match dev.slot(rule) {
            Some(i) => i,
            None => {
                dev.slots.push(Slot::new(rule));
                dev.slots.len() - 1
            }
        };
        let verdict = Verdict {
            breached: true,
            cleared: false,
            value: *silence_ms as f64 / 1000.0,
            op: Op::Ge,
            threshold: *silence_ms as f64 / 1000.0,
        };
        // an alert not yet open opens when the silence began to count; a held one (flap)
        // measures its quiet on the clock
        let gate = &mut dev.slots[i].gate;
        let at = if gate.active { now_ms } else { due };
        step(rule, gate, &verdict, device, at, out);
    }
}

/// Nothing to judge by: an open alert stays, a pending one starts over.
const UNKNOWN: Verdict = Verdict {
    breached: false,
    cleared: false,
    value: f64::NAN,
    op: Op::Ge,
    threshold: f64::NAN,
};

impl Verdict {
    /// [`UNKNOWN`]: neither breached nor cleared, and no value (a value between a line and
    /// its `clear` is a known verdict that changes nothing).
    fn is_unknown(&self) -> bool {
        !self.breached && !self.cleared && self.value.is_nan()
    }
}

/// A silent device was heard again.
const HEARD: Verdict = Verdict {
    breached: false,
    cleared: true,
    value: f64::NAN,
    op: Op::Ge,
    threshold: f64::NAN,
};

/// What the rule's condition says after reading `r`, and at what time: the reading's own for a
/// threshold or an anomaly, the newest reading's for a window or an `all` rule (a late reading
/// changes what the window holds now, not when). `None` when it cannot say yet (an anomaly rule
/// warming up, an empty window, a late reading for a rate).
fn judge(
    rule: &Rule,
    slot: &mut Slot,
    r: &Reading,
    late: &metrics::Counter,
) -> Option<(Verdict, i64)> {
    let newest = r.ts_ms >= slot.newest_ms;
    slot.newest_ms = slot.newest_ms.max(r.ts_ms);
    let now = slot.newest_ms;
    let compared = |compare: &super::rules::Compare, v: f64| Verdict {
        breached: compare.breached(v),
        cleared: compare.cleared(v),
        value: v,
        op: compare.op,
        threshold: compare.value,
    };
    match (&rule.kind, &mut slot.memory) {
        (Kind::Threshold { compare, .. }, _) => Some((compared(compare, r.value), r.ts_ms)),
        (Kind::Window { compare, .. }, Memory::Buckets(b)) => {
            if !b.add(r.ts_ms, r.value) {
                late.increment(1);
                return None;
            }
            b.value().map(|v| (compared(compare, v), now))
        }
        (Kind::Window { compare, .. }, Memory::Spread(s)) => {
            if !s.add(r.ts_ms, r.value) {
                late.increment(1);
                return None;
            }
            // Fewer than two readings (the first, or the first after a silence): no evidence
            // either way, so a `for` hold starts over instead of spanning the silence.
            let v = s.value().map_or(UNKNOWN, |v| compared(compare, v));
            Some((v, now))
        }
        (Kind::Rate { compare, .. }, Memory::Buckets(b)) => {
            if !b.add(r.ts_ms, r.value) {
                late.increment(1);
                return None;
            }
            if !newest {
                return None;
            }
            b.value()
                .map(|extreme| (compared(compare, r.value - extreme), now))
        }
        (
            Kind::Anomaly {
                half_life_ms,
                warmup,
                compare,
                ..
            },
            Memory::Ewma(e),
        ) => {
            // a spread needs readings that still weigh: at least two readings' worth
            let ready = e.count() >= *warmup && e.weight() >= 2.0;
            let verdict = ready.then(|| {
                let z = e.z(r.value);
                let side = if z < 0.0 { -1.0 } else { 1.0 };
                let v = Verdict {
                    breached: compare.breached(z.abs()),
                    cleared: compare.cleared(z.abs()),
                    value: r.value,
                    op: if z < 0.0 { Op::Lt } else { Op::Gt },
                    threshold: e.mean() + side * compare.value * e.sd(),
                };
                (v, r.ts_ms)
            });
            e.add(r.ts_ms, r.value, *half_life_ms);
            verdict
        }
        (
            Kind::All {
                conditions,
                within_ms,
            },
            Memory::Latest(latest),
        ) => {
            for (i, (metric, _)) in conditions.iter().enumerate() {
                if *metric == r.metric {
                    latest.set(i, r.ts_ms, r.value);
                }
            }
            // fresh: read at most `within` before the newest reading (not before a late one)
            let since = now.saturating_sub(*within_ms);
            let breached = conditions
                .iter()
                .enumerate()
                .all(|(i, (_, c))| latest.fresh(i, since).is_some_and(|v| c.breached(v)));
            let (_, first) = &conditions[0];
            let v = Verdict {
                breached,
                cleared: !breached,
                value: latest.fresh(0, since).unwrap_or(f64::NAN),
                op: first.op,
                threshold: first.value,
            };
            Some((v, now))
        }
        _ => None,
    }
}

/// The alert gate every kind shares: `for` before opening, the verdict's `cleared` to resolve,
/// and the flap hold.
fn step(
    rule: &Rule,
    gate: &mut Gate,
    v: &Verdict,
    device: &str,
    ts_ms: i64,
    out: &mut Vec<AlertChange>,
) {
    if v.is_unknown() {
        // nothing to go by: an open or held alert stays as it is, a pending one starts over
        gate.pending_since = None;
        return;
    }
    if v.value.is_finite() {
        gate.last_value = v.value;
    }
    if let (Some(flap), Some(held)) = (rule.flap, gate.flap.as_mut().filter(|f| f.holding)) {
        // Held open: follow the condition without passing anything on, until it has been
        // steady for `within`; then the alert either stays open (steady) or clears.
        if held.holds && v.cleared {
            (held.holds, held.changed_ms) = (false, ts_ms);
        } else if !held.holds && v.breached {
            (held.holds, held.changed_ms) = (true, ts_ms);
        }
        if ts_ms - held.changed_ms >= flap.within_ms {
            let holds = held.holds;
            gate.flap = None;
            if holds {
                out.push(fire(rule, device, v, ts_ms, false));
            } else {
                gate.active = false;
                out.push(clear(&rule.id, device, v.value, ts_ms));
            }
        }
        return;
    }
    if gate.active {
        if v.cleared {
            gate.active = false;
            gate.pending_since = None;
            out.push(clear(&rule.id, device, v.value, ts_ms));
        }
    } else if v.breached {
        let since = *gate.pending_since.get_or_insert(ts_ms);
        if ts_ms - since >= rule.for_ms {
            gate.active = true;
            gate.pending_since = None;
            let flapping = rule.flap.is_some_and(|flap| opened(gate, flap, ts_ms));
            out.push(fire(rule, device, v, ts_ms, flapping));
        }
    } else {
        gate.pending_since = None;
    }
    // openings older than the flap window no longer count
    if let (Some(flap), Some(f)) = (rule.flap, gate.flap.as_mut())
        && !f.holding
    {
        f.opens.retain(|&t| ts_ms - t <= flap.within_ms);
    }
}

/// Records an opening; true when it is the `count`-th within `within`: the alert is now held.
fn opened(gate: &mut Gate, flap: super::rules::Flap, ts_ms: i64) -> bool {
    let f = gate.flap.get_or_insert_with(Box::default);
    f.opens.push(ts_ms);
    let count = flap.count as usize;
    if f.opens.len() > count {
        f.opens.remove(0);
    }
    let flapping = f.opens.len() == count && ts_ms - f.opens[0] <= flap.within_ms;
    if flapping {
        (f.holding, f.holds, f.changed_ms) = (true, true, ts_ms);
    }
    flapping
}

#[cfg(test)]
mod tests;
