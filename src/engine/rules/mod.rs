//! The rules file (TOML, docs/CONTRACT.md "Rules file"): parsing, validation and the compiled
//! [`RuleSet`].
//!
//! Six kinds of rule (threshold, no_data, rate, window, anomaly, all), each typed by serde in
//! [`spec`]; this module checks what serde cannot (finite numbers, names, consistent hysteresis)
//! and compiles each into a [`Rule`]. Errors name the rule id and the field at fault. A compiled
//! rule carries a fingerprint of its whole definition, so that after a reload a shard keeps the
//! state (pending `for`, open alert, window contents) of every rule whose fingerprint is unchanged.

pub mod spec;

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;

use iochub_devices::key::{is_valid_device_key, is_valid_metric_name};

pub use crate::alerts::policy::{CATEGORIES, Policy};
use crate::areas::Areas;
use crate::pipeline::directory::{LabelMap, Positions};
pub use crate::pipeline::{Op, Severity};
pub use spec::{Agg, RuleSpec};
use spec::{FieldError, KindSpec};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RuleError {
    #[error("cannot read rules file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("rules file is not valid TOML: {0}")]
    Toml(String),
    #[error("rule {rule}: field `{field}`: {message}")]
    Invalid {
        rule: String,
        field: String,
        message: String,
    },
    #[error("{table}: {message}")]
    Policy { table: String, message: String },
}

fn invalid(rule: &str, field: &str, message: impl Into<String>) -> RuleError {
    RuleError::Invalid {
        rule: rule.to_owned(),
        field: field.to_owned(),
        message: message.into(),
    }
}

/// A comparison with optional hysteresis: holds when `v op value`; once it held, it stops
/// holding only when `v` is back past `clear` (or, without `clear`, when it no longer holds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Compare {
    pub op: Op,
    pub value: f64,
    pub clear: Option<f64>,
}

impl Compare {
    pub fn breached(&self, v: f64) -> bool {
        self.op.holds(v, self.value)
    }

    /// True when an active alert should resolve at value `v`.
    pub fn cleared(&self, v: f64) -> bool {
        match self.clear {
            None => !self.breached(v),
            Some(c) if self.op.rising() => v < c,
            Some(c) => v > c,
        }
    }
}

/// What a compiled rule watches, by kind (field meanings in [`spec`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Threshold {
        metric: String,
        compare: Compare,
    },
    NoData {
        metric: Option<String>,
        silence_ms: i64,
    },
    /// `compare` is on the change within `over_ms`: `>= change` for a rise, `<= change` for a
    /// fall.
    Rate {
        metric: String,
        over_ms: i64,
        compare: Compare,
    },
    Window {
        metric: String,
        agg: Agg,
        window_ms: i64,
        compare: Compare,
    },
    /// `compare` is on the distance from the mean in standard deviations (`> k`).
    Anomaly {
        metric: String,
        half_life_ms: i64,
        warmup: u32,
        compare: Compare,
    },
    All {
        conditions: Vec<(String, Compare)>,
        within_ms: i64,
    },
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Threshold { .. } => "threshold",
            Kind::NoData { .. } => "no_data",
            Kind::Rate { .. } => "rate",
            Kind::Window { .. } => "window",
            Kind::Anomaly { .. } => "anomaly",
            Kind::All { .. } => "all",
        }
    }

    /// The metrics whose readings the rule looks at; empty for a rule on any reading.
    pub fn metrics(&self) -> Vec<&str> {
        match self {
            Kind::Threshold { metric, .. }
            | Kind::Rate { metric, .. }
            | Kind::Window { metric, .. }
            | Kind::Anomaly { metric, .. } => vec![metric],
            Kind::NoData { metric, .. } => metric.as_deref().into_iter().collect(),
            Kind::All { conditions, .. } => {
                let mut m: Vec<&str> = Vec::new();
                for (metric, _) in conditions {
                    if !m.contains(&metric.as_str()) {
                        m.push(metric);
                    }
                }
                m
            }
        }
    }

    /// What the rule's per-series memory is made of: two rules with the same key can share it
    /// (a reload that changed only the line, the severity or the scope keeps it).
    pub fn memory_key(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        match self {
            Kind::Threshold { .. } | Kind::NoData { .. } => 0u8.hash(&mut h),
            Kind::Rate {
                metric,
                over_ms,
                compare,
            } => (1u8, metric, over_ms, compare.op.rising()).hash(&mut h),
            Kind::Window {
                metric,
                agg,
                window_ms,
                ..
            } => (2u8, metric, *agg as u8, window_ms).hash(&mut h),
            Kind::Anomaly {
                metric,
                half_life_ms,
                ..
            } => (3u8, metric, half_life_ms).hash(&mut h),
            Kind::All {
                conditions,
                within_ms,
            } => {
                let metrics: Vec<&str> = conditions.iter().map(|(m, _)| m.as_str()).collect();
                (4u8, metrics, within_ms).hash(&mut h)
            }
        }
        h.finish()
    }

    /// How much reading time the memory needs to be full: a window, a rate's `over`, an `all`
    /// rule's `within` (0 for the others: an anomaly rule counts its own warm-up).
    pub fn memory_span_ms(&self) -> i64 {
        match self {
            Kind::Window { window_ms, .. } => *window_ms,
            Kind::Rate { over_ms, .. } => *over_ms,
            Kind::All { within_ms, .. } => *within_ms,
            Kind::Threshold { .. } | Kind::NoData { .. } | Kind::Anomaly { .. } => 0,
        }
    }

    /// The metric an alert of the rule is about (the first condition's for `all`, empty for a
    /// silence of the whole device).
    pub fn metric(&self) -> &str {
        self.metrics().first().copied().unwrap_or("")
    }
}

/// An alert that opens `count` times within `within_ms` is held open as flapping (not cleared,
/// not opened again, so not paged again) until its condition has not changed for `within_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flap {
    pub count: u32,
    pub within_ms: i64,
}

/// A rule's scope by label and place: a device is in it when it carries any of `tags`, lies in
/// `area` (assigned to it, else by its position) and lies in `bbox`, for each one given.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub tags: Vec<String>,
    pub area: Option<String>,
    /// `[min_lon, min_lat, max_lon, max_lat]`
    pub bbox: Option<[f64; 4]>,
}

/// What a shard knows of where devices are and how they are labelled, loaded once per message.
#[derive(Clone, Default)]
pub struct Places {
    pub positions: Arc<Positions>,
    pub labels: Arc<LabelMap>,
    pub areas: Arc<Areas>,
}

impl Place {
    pub fn admits(&self, device: &str, places: &Places) -> bool {
        let labels = places.labels.get(device);
        if !self.tags.is_empty()
            && !labels.is_some_and(|l| l.tags.iter().any(|t| self.tags.contains(t)))
        {
            return false;
        }
        let position = places.positions.get(device).copied();
        if let Some([min_lon, min_lat, max_lon, max_lat]) = self.bbox {
            let inside = position.is_some_and(|(lon, lat)| {
                (min_lon..=max_lon).contains(&lon) && (min_lat..=max_lat).contains(&lat)
            });
            if !inside {
                return false;
            }
        }
        if let Some(area) = &self.area {
            let assigned = labels.map(|l| &l.areas).filter(|a| !a.is_empty());
            let inside = match assigned {
                Some(areas) => areas.contains(area),
                None => position.is_some_and(|(lon, lat)| places.areas.contains(area, lon, lat)),
            };
            if !inside {
                return false;
            }
        }
        true
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: Arc<str>,
    pub kind: Kind,
    pub severity: Severity,
    /// One of [`CATEGORIES`]: what kind of incident it signals.
    pub category: Option<String>,
    /// How long the condition must hold before the alert opens (0: at once).
    pub for_ms: i64,
    pub devices: Option<HashSet<String>>,
    /// Scope by tags, area or bbox, if any (on top of `devices`).
    pub place: Option<Place>,
    /// The flap hold, if the rule has one.
    pub flap: Option<Flap>,
    /// The rule as written (the API shows it; its hash is the fingerprint).
    pub spec: RuleSpec,
    pub fingerprint: u64,
}

impl Rule {
    /// In the rule's `devices` (every device when it has none); its place is not looked at.
    pub fn applies_to(&self, device: &str) -> bool {
        self.devices.as_ref().is_none_or(|d| d.contains(device))
    }

    /// In the rule's whole scope: its `devices`, and its tags, area and bbox.
    pub fn covers(&self, device: &str, places: &Places) -> bool {
        self.applies_to(device) && self.place.as_ref().is_none_or(|p| p.admits(device, places))
    }
}

/// Rules on one metric (or on any reading): those for every device, and those scoped to a few,
/// by device.
#[derive(Debug, Default)]
struct Watchers {
    global: Vec<usize>,
    scoped: HashMap<String, Vec<usize>>,
}

impl Watchers {
    fn add(&mut self, i: usize, rule: &Rule) {
        match &rule.devices {
            None => self.global.push(i),
            Some(devices) => {
                for d in devices {
                    self.scoped.entry(d.clone()).or_default().push(i);
                }
            }
        }
    }

    fn of<'a>(&'a self, device: &str) -> impl Iterator<Item = usize> + 'a {
        let scoped = self.scoped.get(device).into_iter().flatten();
        self.global.iter().chain(scoped).copied()
    }
}

/// An immutable, indexed set of rules; swapped whole on reload.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// The file's `[[routes]]` and `[[escalations]]`, swapped in with the rules.
    pub policy: Policy,
    by_metric: HashMap<String, Watchers>,
    any_reading: Watchers,
    by_id: HashMap<Arc<str>, usize>,
    silences: Vec<usize>,
    /// The metrics `no_data` rules name (a device's last reading of each is kept).
    silent_metrics: Vec<String>,
}

impl RuleSet {
    pub fn new(rules: Vec<Rule>) -> Self {
        let mut by_metric: HashMap<String, Watchers> = HashMap::new();
        let mut any_reading = Watchers::default();
        let mut by_id = HashMap::new();
        let mut silences = Vec::new();
        let mut silent_metrics: Vec<String> = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if let Kind::NoData { metric, .. } = &r.kind {
                silences.push(i);
                if let Some(m) = metric
                    && !silent_metrics.contains(m)
                {
                    silent_metrics.push(m.clone());
                }
            }
            let metrics = r.kind.metrics();
            if metrics.is_empty() {
                any_reading.add(i, r);
            }
            for m in metrics {
                by_metric.entry(m.to_owned()).or_default().add(i, r);
            }
            by_id.insert(r.id.clone(), i);
        }
        Self {
            rules,
            policy: Policy::default(),
            by_metric,
            any_reading,
            by_id,
            silences,
            silent_metrics,
        }
    }

    /// Rules that look at a reading of `metric` from `device`: a few hash lookups, whatever the
    /// number of device-scoped rules on the metric.
    pub fn applicable<'a>(
        &'a self,
        metric: &str,
        device: &'a str,
    ) -> impl Iterator<Item = &'a Rule> + 'a {
        let on_metric = self
            .by_metric
            .get(metric)
            .into_iter()
            .flat_map(move |w| w.of(device));
        let on_any = self.any_reading.of(device);
        on_metric.chain(on_any).map(|i| &self.rules[i])
    }

    /// Whether any `no_data` rule exists (then every reading counts as a sign of life).
    pub fn measures_silence(&self) -> bool {
        !self.silences.is_empty()
    }

    /// Whether a `no_data` rule names `metric`.
    pub fn watches_silence_of(&self, metric: &str) -> bool {
        self.silent_metrics.iter().any(|m| m == metric)
    }

    /// The `no_data` rules.
    pub fn silences(&self) -> impl Iterator<Item = &Rule> + '_ {
        self.silences.iter().map(|&i| &self.rules[i])
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.by_id.get(id).map(|&i| &self.rules[i])
    }

    /// Refuses a rule scoped to an area that is not configured (it would never match).
    pub fn check_areas(&self, areas: &Areas) -> Result<(), RuleError> {
        for r in &self.rules {
            if let Some(area) = r.place.as_ref().and_then(|p| p.area.as_deref())
                && areas.get(area).is_none()
            {
                return Err(invalid(
                    &r.id,
                    "area",
                    format!("no configured area {area:?} (GET /api/v1/areas lists them)"),
                ));
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn load(path: &Path) -> Result<Self, RuleError> {
        let text = std::fs::read_to_string(path).map_err(|e| RuleError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| RuleError::Toml(e.to_string()))?;
        for key in doc.keys() {
            if !["rules", "routes", "escalations"].contains(&key.as_str()) {
                return Err(invalid(
                    "(file)",
                    key,
                    "unknown top-level key; expected [[rules]], [[routes]] or [[escalations]]",
                ));
            }
        }
        let policy = Policy::from_toml(doc.get("routes"), doc.get("escalations")).map_err(|e| {
            RuleError::Policy {
                table: e.table,
                message: e.message,
            }
        })?;
        let tables = match doc.get("rules") {
            None => {
                return Ok(Self {
                    policy,
                    ..Self::default()
                });
            }
            Some(toml::Value::Array(a)) => a,
            Some(_) => {
                return Err(invalid(
                    "(file)",
                    "rules",
                    "must be an array of tables [[rules]]",
                ));
            }
        };
        let mut rules = Vec::with_capacity(tables.len());
        let mut seen = HashSet::new();
        for (i, t) in tables.iter().enumerate() {
            let toml::Value::Table(t) = t else {
                return Err(invalid(&format!("#{}", i + 1), "rules", "must be a table"));
            };
            let rule = compile(i, t)?;
            if !seen.insert(rule.id.clone()) {
                return Err(invalid(&rule.id, "id", "duplicate rule id"));
            }
            rules.push(rule);
        }
        Ok(Self {
            policy,
            ..Self::new(rules)
        })
    }
}

fn compile(index: usize, t: &toml::Table) -> Result<Rule, RuleError> {
    let fallback = format!("#{}", index + 1);
    let id = match t.get("id") {
        Some(toml::Value::String(s)) if is_valid_metric_name(s) => s.clone(),
        Some(_) => {
            return Err(invalid(
                &fallback,
                "id",
                "must be a string of [A-Za-z0-9._-]{1,64}",
            ));
        }
        None => return Err(invalid(&fallback, "id", "missing")),
    };
    let mut spec = spec::read(t).map_err(|e| invalid(&id, &e.field, e.message))?;
    let (kind, for_ms) = kind_of(&spec.kind).map_err(|e| invalid(&id, &e.field, e.message))?;
    let common = &mut spec.common;
    if let Some(c) = &common.category
        && !CATEGORIES.contains(&c.as_str())
    {
        return Err(invalid(
            &id,
            "category",
            format!("must be one of {}", CATEGORIES.join(", ")),
        ));
    }
    if let Some(devices) = &mut common.devices {
        if let Some(bad) = devices.iter().find(|d| !is_valid_device_key(d)) {
            return Err(invalid(
                &id,
                "devices",
                format!("invalid device key {bad:?}"),
            ));
        }
        devices.sort();
        devices.dedup();
    }
    // The fingerprint is of what the rule does: its description is left out.
    let place = place_of(common).map_err(|e| invalid(&id, &e.field, e.message))?;
    let flap = match &common.flap {
        None => None,
        Some(f) if f.count < 2 => {
            return Err(invalid(&id, "flap.count", "must be at least 2 openings"));
        }
        Some(f) => Some(Flap {
            count: f.count,
            within_ms: positive("flap.within", f.within)
                .map_err(|e| invalid(&id, &e.field, e.message))?,
        }),
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let described = spec.common.description.take();
    let text = serde_json::to_string(&spec);
    spec.common.description = described;
    text.map_err(|e| invalid(&id, "(rule)", e.to_string()))?
        .hash(&mut h);
    Ok(Rule {
        id: id.into(),
        kind,
        severity: spec.common.severity,
        category: spec.common.category.clone(),
        for_ms,
        devices: spec
            .common
            .devices
            .as_ref()
            .map(|d| d.iter().cloned().collect()),
        place,
        flap,
        fingerprint: h.finish(),
        spec,
    })
}

/// A tag as devices carry them (`PATCH /api/v1/devices/{device}`).
pub fn is_valid_tag(t: &str) -> bool {
    (1..=32).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn place_of(common: &mut spec::Common) -> Result<Option<Place>, FieldError> {
    if let Some(tags) = &mut common.tags {
        if tags.is_empty() || tags.iter().any(|t| !is_valid_tag(t)) {
            return Err(FieldError::new(
                "tags",
                "a non-empty list of tags, each matching [a-z0-9_-]{1,32}",
            ));
        }
        tags.sort();
        tags.dedup();
    }
    if common.area.as_ref().is_some_and(|a| a.trim().is_empty()) {
        return Err(FieldError::new("area", "an area id, not empty"));
    }
    if let Some([min_lon, min_lat, max_lon, max_lat]) = common.bbox {
        let lon = |v: f64| (-180.0..=180.0).contains(&v);
        let lat = |v: f64| (-90.0..=90.0).contains(&v);
        if !(lon(min_lon) && lon(max_lon) && lat(min_lat) && lat(max_lat))
            || min_lon > max_lon
            || min_lat > max_lat
        {
            return Err(FieldError::new(
                "bbox",
                "[min_lon, min_lat, max_lon, max_lat], lon within -180..180, lat within -90..90",
            ));
        }
    }
    if common.tags.is_none() && common.area.is_none() && common.bbox.is_none() {
        return Ok(None);
    }
    Ok(Some(Place {
        tags: common.tags.clone().unwrap_or_default(),
        area: common.area.clone(),
        bbox: common.bbox,
    }))
}

fn metric(field: &str, m: &str) -> Result<String, FieldError> {
    if is_valid_metric_name(m) {
        Ok(m.to_owned())
    } else {
        Err(FieldError::new(field, "must match [A-Za-z0-9._-]{1,64}"))
    }
}

fn finite(field: &str, v: f64) -> Result<f64, FieldError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(FieldError::new(field, "must be a finite number"))
    }
}

fn positive(field: &str, d: spec::Dur) -> Result<i64, FieldError> {
    match d.ms() {
        ms if ms > 0 => Ok(ms),
        _ => Err(FieldError::new(field, "must be longer than 0s")),
    }
}

/// A comparison whose `clear` lies on the safe side of `value`.
fn compare(op: Op, value: f64, clear: Option<f64>) -> Result<Compare, FieldError> {
    let value = finite("value", value)?;
    if let Some(c) = clear {
        finite("clear", c)?;
        if op.rising() && c > value {
            return Err(FieldError::new(
                "clear",
                format!("must be <= value ({value}) for op {}", op.as_str()),
            ));
        }
        if !op.rising() && c < value {
            return Err(FieldError::new(
                "clear",
                format!("must be >= value ({value}) for op {}", op.as_str()),
            ));
        }
    }
    Ok(Compare { op, value, clear })
}

/// The compiled kind and its `for` in milliseconds.
fn kind_of(spec: &KindSpec) -> Result<(Kind, i64), FieldError> {
    let hold = |d: &Option<spec::Dur>| d.map_or(0, spec::Dur::ms);
    Ok(match spec {
        KindSpec::Threshold(s) => (
            Kind::Threshold {
                metric: metric("metric", &s.metric)?,
                compare: compare(s.op, s.value, s.clear)?,
            },
            hold(&s.hold),
        ),
        KindSpec::NoData(s) => (
            Kind::NoData {
                metric: s
                    .metric
                    .as_deref()
                    .map(|m| metric("metric", m))
                    .transpose()?,
                silence_ms: positive("for", s.silence)?,
            },
            0,
        ),
        KindSpec::Rate(s) => {
            let change = finite("change", s.change)?;
            if change == 0.0 {
                return Err(FieldError::new(
                    "change",
                    "must not be 0: a rise (> 0) or a fall (< 0)",
                ));
            }
            if let Some(c) = s.clear
                && (!c.is_finite() || c * change < 0.0 || c.abs() > change.abs())
            {
                return Err(FieldError::new(
                    "clear",
                    format!("must have the sign of change and be no larger ({change})"),
                ));
            }
            let op = if change > 0.0 { Op::Ge } else { Op::Le };
            (
                Kind::Rate {
                    metric: metric("metric", &s.metric)?,
                    over_ms: positive("over", s.over)?,
                    compare: Compare {
                        op,
                        value: change,
                        clear: s.clear,
                    },
                },
                hold(&s.hold),
            )
        }
        KindSpec::Window(s) => (
            Kind::Window {
                metric: metric("metric", &s.metric)?,
                agg: s.agg,
                window_ms: positive("window", s.window)?,
                compare: compare(s.op, s.value, s.clear)?,
            },
            hold(&s.hold),
        ),
        KindSpec::Anomaly(s) => {
            if !(s.k.is_finite() && s.k > 0.0) {
                return Err(FieldError::new("k", "must be a number > 0"));
            }
            if let Some(c) = s.clear
                && !(c.is_finite() && c > 0.0 && c <= s.k)
            {
                return Err(FieldError::new(
                    "clear",
                    format!("must be > 0 and <= k ({})", s.k),
                ));
            }
            let warmup = s.warmup.unwrap_or(30);
            if warmup < 2 {
                return Err(FieldError::new(
                    "warmup",
                    "must be at least 2 readings (a spread needs two)",
                ));
            }
            (
                Kind::Anomaly {
                    metric: metric("metric", &s.metric)?,
                    half_life_ms: positive("half_life", s.half_life)?,
                    warmup,
                    compare: Compare {
                        op: Op::Gt,
                        value: s.k,
                        clear: s.clear,
                    },
                },
                hold(&s.hold),
            )
        }
        KindSpec::All(s) => {
            if s.conditions.len() < 2 {
                return Err(FieldError::new(
                    "conditions",
                    "needs two or more conditions (one is a threshold rule)",
                ));
            }
            let mut conditions = Vec::with_capacity(s.conditions.len());
            for (i, c) in s.conditions.iter().enumerate() {
                let at = |f: &str| format!("conditions[{i}].{f}");
                let m = metric(&at("metric"), &c.metric)?;
                let value = finite(&at("value"), c.value)?;
                conditions.push((
                    m,
                    Compare {
                        op: c.op,
                        value,
                        clear: None,
                    },
                ));
            }
            (
                Kind::All {
                    conditions,
                    within_ms: positive("within", s.within)?,
                },
                hold(&s.hold),
            )
        }
    })
}

#[cfg(test)]
mod tests;
