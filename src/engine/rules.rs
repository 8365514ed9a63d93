//! The rules file (TOML, docs/CONTRACT.md "Rules file"): parsing, validation and the compiled [`RuleSet`].
//!
//! Validation names the rule id and the field at fault. A compiled rule carries a fingerprint of
//! its whole definition, so that after a reload a shard keeps the state (pending `for`, active) of
//! every rule whose fingerprint is unchanged and drops only what changed.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;

use iochub_devices::key::{is_valid_device_key, is_valid_metric_name};

pub use crate::alerts::policy::{CATEGORIES, Policy};
pub use crate::pipeline::{Op, Severity};

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

/// One compiled threshold rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: Arc<str>,
    pub metric: String,
    pub op: Op,
    pub value: f64,
    /// Hysteresis: once breached, the alert clears only when the value is back past `clear`.
    pub clear: Option<f64>,
    pub severity: Severity,
    /// One of [`CATEGORIES`]: what kind of incident it signals.
    pub category: Option<String>,
    pub for_ms: i64,
    pub devices: Option<HashSet<String>>,
    pub fingerprint: u64,
}

impl Rule {
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

    pub fn applies_to(&self, device: &str) -> bool {
        self.devices.as_ref().is_none_or(|d| d.contains(device))
    }
}

/// Rules on one metric: those for every device, and those scoped to a few, by device.
#[derive(Debug, Default)]
struct MetricRules {
    global: Vec<usize>,
    scoped: HashMap<String, Vec<usize>>,
}

/// An immutable, indexed set of rules; swapped whole on reload.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// The file's `[[routes]]` and `[[escalations]]`, swapped in with the rules.
    pub policy: Policy,
    by_metric: HashMap<String, MetricRules>,
    by_id: HashMap<Arc<str>, usize>,
}

impl RuleSet {
    pub fn new(rules: Vec<Rule>) -> Self {
        let mut by_metric: HashMap<String, MetricRules> = HashMap::new();
        let mut by_id = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            let m = by_metric.entry(r.metric.clone()).or_default();
            match &r.devices {
                None => m.global.push(i),
                Some(devices) => {
                    for d in devices {
                        m.scoped.entry(d.clone()).or_default().push(i);
                    }
                }
            }
            by_id.insert(r.id.clone(), i);
        }
        Self {
            rules,
            policy: Policy::default(),
            by_metric,
            by_id,
        }
    }

    /// Rules that watch `metric` of `device`: two hash lookups, whatever the number of
    /// device-scoped rules on the metric.
    pub fn applicable<'a>(
        &'a self,
        metric: &str,
        device: &str,
    ) -> impl Iterator<Item = &'a Rule> + 'a {
        let m = self.by_metric.get(metric);
        let global = m.into_iter().flat_map(|m| m.global.iter());
        let scoped = m.and_then(|m| m.scoped.get(device)).into_iter().flatten();
        global.chain(scoped).map(|&i| &self.rules[i])
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.by_id.get(id).map(|&i| &self.rules[i])
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

const FIELDS: &[&str] = &[
    "id",
    "metric",
    "op",
    "value",
    "clear",
    "severity",
    "for",
    "devices",
    "description",
    "category",
];

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
    if let Some(k) = t.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(invalid(
            &id,
            k,
            format!("unknown field; expected one of {}", FIELDS.join(", ")),
        ));
    }
    let string = |field: &str| match t.get(field) {
        Some(toml::Value::String(s)) => Ok(Some(s.as_str())),
        None => Ok(None),
        Some(_) => Err(invalid(&id, field, "must be a string")),
    };
    let number = |field: &str| match t.get(field) {
        Some(toml::Value::Float(f)) if f.is_finite() => Ok(Some(*f)),
        Some(toml::Value::Integer(i)) => Ok(Some(*i as f64)),
        None => Ok(None),
        Some(_) => Err(invalid(&id, field, "must be a finite number")),
    };
    let metric = string("metric")?.ok_or_else(|| invalid(&id, "metric", "missing"))?;
    if !is_valid_metric_name(metric) {
        return Err(invalid(&id, "metric", "must match [A-Za-z0-9._-]{1,64}"));
    }
    let op_text = string("op")?.ok_or_else(|| invalid(&id, "op", "missing"))?;
    let op = Op::parse(op_text).ok_or_else(|| invalid(&id, "op", "must be one of > >= < <="))?;
    let value = number("value")?.ok_or_else(|| invalid(&id, "value", "missing"))?;
    let clear = number("clear")?;
    match clear {
        Some(c) if op.rising() && c > value => {
            return Err(invalid(
                &id,
                "clear",
                format!("must be <= value ({value}) for op {op_text}"),
            ));
        }
        Some(c) if !op.rising() && c < value => {
            return Err(invalid(
                &id,
                "clear",
                format!("must be >= value ({value}) for op {op_text}"),
            ));
        }
        _ => {}
    }
    let severity = match string("severity")? {
        Some("info") => Severity::Info,
        Some("warning") => Severity::Warning,
        Some("critical") => Severity::Critical,
        Some(_) => {
            return Err(invalid(
                &id,
                "severity",
                "must be info, warning or critical",
            ));
        }
        None => return Err(invalid(&id, "severity", "missing")),
    };
    let for_ms = match string("for")? {
        Some(s) => humantime::parse_duration(s)
            .map_err(|e| invalid(&id, "for", format!("not a duration like \"30s\": {e}")))?
            .as_millis() as i64,
        None => 0,
    };
    string("description")?;
    let category = match string("category")? {
        Some(c) if !CATEGORIES.contains(&c) => {
            return Err(invalid(
                &id,
                "category",
                format!("must be one of {}", CATEGORIES.join(", ")),
            ));
        }
        c => c.map(str::to_owned),
    };
    let devices = match t.get("devices") {
        None => None,
        Some(toml::Value::Array(a)) => {
            let mut set = HashSet::with_capacity(a.len());
            for d in a {
                match d {
                    toml::Value::String(s) if is_valid_device_key(s) => set.insert(s.clone()),
                    _ => return Err(invalid(&id, "devices", format!("invalid device key {d}"))),
                };
            }
            Some(set)
        }
        Some(_) => return Err(invalid(&id, "devices", "must be an array of device keys")),
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (
        &id,
        metric,
        op,
        value.to_bits(),
        clear.map(f64::to_bits),
        severity,
        &category,
        for_ms,
    )
        .hash(&mut h);
    if let Some(d) = &devices {
        let mut sorted: Vec<_> = d.iter().collect();
        sorted.sort();
        sorted.hash(&mut h);
    }
    Ok(Rule {
        id: id.into(),
        metric: metric.to_owned(),
        op,
        value,
        clear,
        severity,
        category,
        for_ms,
        devices,
        fingerprint: h.finish(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[[rules]]
id = "flood-bd3"
metric = "water_level"
op = ">="
value = 5.2
severity = "critical"
for = "30s"
devices = ["wl-01"]
"#;

    #[test]
    fn the_contract_rule_parses() {
        let rs = RuleSet::parse(MINIMAL).expect("valid");
        let r = rs.get("flood-bd3").expect("present");
        assert_eq!(
            (r.op, r.value, r.severity, r.for_ms),
            (Op::Ge, 5.2, Severity::Critical, 30_000)
        );
        assert!(r.applies_to("wl-01") && !r.applies_to("wl-02"));
        assert_eq!(rs.applicable("water_level", "wl-01").count(), 1);
        assert_eq!(rs.applicable("water_level", "wl-02").count(), 0);
        assert_eq!(rs.applicable("rain_1h", "wl-01").count(), 0);
    }

    #[test]
    fn hysteresis() {
        let rs = RuleSet::parse(&MINIMAL.replace("for = \"30s\"", "clear = 4.8")).expect("valid");
        let r = rs.get("flood-bd3").expect("present");
        assert!(r.breached(5.2) && !r.breached(5.1));
        assert!(!r.cleared(5.0) && !r.cleared(4.8) && r.cleared(4.79));
        let below = RuleSet::parse(
            "[[rules]]\nid='cold'\nmetric='temperature'\nop='<'\nvalue=5\nclear=7\nseverity='info'",
        )
        .expect("valid");
        let r = below.get("cold").expect("present");
        assert!(r.breached(4.9) && !r.cleared(6.9) && r.cleared(7.1));
        // without clear, the alert clears as soon as the condition stops holding
        let plain = RuleSet::parse(MINIMAL).expect("valid");
        assert!(
            plain
                .get("flood-bd3")
                .is_some_and(|r| r.cleared(5.19) && !r.cleared(5.2))
        );
    }

    fn err(text: &str) -> (String, String) {
        match RuleSet::parse(text) {
            Err(RuleError::Invalid { rule, field, .. }) => (rule, field),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_rule_and_the_field() {
        let e = |from: &str, to: &str| err(&MINIMAL.replace(from, to));
        let id = || "flood-bd3".to_owned();
        assert_eq!(e("op = \">=\"", "op = \"=>\""), (id(), "op".into()));
        assert_eq!(e("value = 5.2", "value = \"high\""), (id(), "value".into()));
        assert_eq!(e("value = 5.2", "value = nan"), (id(), "value".into()));
        assert_eq!(
            e("severity = \"critical\"", "severity = \"urgent\""),
            (id(), "severity".into())
        );
        assert_eq!(e("for = \"30s\"", "for = \"soon\""), (id(), "for".into()));
        assert_eq!(e("[\"wl-01\"]", "[\"wl 01\"]"), (id(), "devices".into()));
        assert_eq!(e("metric = \"water_level\"\n", ""), (id(), "metric".into()));
        assert_eq!(e("for = \"30s\"", "clear = 6.0"), (id(), "clear".into()));
        assert_eq!(
            e("for = \"30s\"", "colour = \"red\""),
            (id(), "colour".into())
        );
        assert_eq!(e("id = \"flood-bd3\"\n", ""), ("#1".into(), "id".into()));
        assert_eq!(err(&format!("{MINIMAL}{MINIMAL}")), (id(), "id".into()));
        assert!(matches!(
            RuleSet::parse("[[rules]"),
            Err(RuleError::Toml(_))
        ));
    }

    #[test]
    fn fingerprints_change_only_with_the_definition() {
        let a = RuleSet::parse(MINIMAL).expect("valid");
        let b = RuleSet::parse(&format!("# comment\n{MINIMAL}")).expect("valid");
        let c = RuleSet::parse(&MINIMAL.replace("5.2", "5.3")).expect("valid");
        let fp = |rs: &RuleSet| rs.rules[0].fingerprint;
        assert_eq!(fp(&a), fp(&b));
        assert_ne!(fp(&a), fp(&c));
    }

    #[test]
    fn empty_file_is_an_empty_rule_set() {
        assert!(RuleSet::parse("").expect("valid").is_empty());
    }
}
