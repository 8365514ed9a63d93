//! Where an alert goes and how fast it must be handled: the `[[routes]]` and `[[escalations]]`
//! of the rules file (DESIGN §3b "Rules file, all kinds"), parsed with serde into a [`Policy`]
//! that the rules loader swaps in with the rules.
//!
//! A route picks the agencies by category, severity and area; the first that matches wins, and
//! a route without match keys is the default. An escalation gives the deadlines to acknowledge
//! and to resolve for a severity (and optionally a category) and its tiers; the most specific
//! one applies (category named beats category absent).

use std::time::Duration;

use serde::Deserialize;

use super::model::Alert;
use crate::pipeline::Severity;

/// The alert categories of the contract.
pub const CATEGORIES: &[&str] = &[
    "flood",
    "landslide",
    "forest_fire",
    "air_pollution",
    "equipment",
    "other",
];

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{table}: {message}")]
pub struct PolicyError {
    /// `route #2`, `escalation #1`.
    pub table: String,
    pub message: String,
}

/// One value or a list of them (`severity = "critical"` or `["warning", "critical"]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            Self::One(v) => vec![v],
            Self::Many(v) => v,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteSpec {
    category: Option<String>,
    severity: Option<OneOrMany<Severity>>,
    area: Option<String>,
    agency: OneOrMany<String>,
    #[serde(default)]
    auto_dispatch: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalationSpec {
    severity: Severity,
    category: Option<String>,
    ack_within: Option<String>,
    resolve_within: Option<String>,
    #[serde(default)]
    tiers: Vec<TierSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TierSpec {
    after: String,
    #[serde(default)]
    notify: Vec<String>,
    #[serde(default)]
    raise_severity: bool,
}

/// Who a tier notifies.
pub const NOTIFY: &[&str] = &["supervisor", "operator", "agency"];

/// A route: the agencies for the alerts it matches, the lead first.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub category: Option<String>,
    /// Empty: any severity.
    pub severities: Vec<Severity>,
    pub area: Option<String>,
    pub agencies: Vec<String>,
    /// Forward at once, without waiting for an operator.
    pub auto_dispatch: bool,
}

impl Route {
    pub fn matches(&self, alert: &Alert) -> bool {
        self.category
            .as_deref()
            .is_none_or(|c| alert.category.as_deref() == Some(c))
            && (self.severities.is_empty() || self.severities.contains(&alert.severity))
            && self
                .area
                .as_deref()
                .is_none_or(|a| alert.areas.iter().any(|x| x == a))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    /// Counted from the alert's opening.
    pub after_ms: i64,
    /// `supervisor`, `operator`, `agency` (re-notify the agencies it is forwarded to).
    pub notify: Vec<String>,
    pub raise_severity: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    pub severity: Severity,
    pub category: Option<String>,
    pub ack_within_ms: Option<i64>,
    pub resolve_within_ms: Option<i64>,
    /// In order of `after`.
    pub tiers: Vec<Tier>,
}

/// The routes and escalations in force.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    pub routes: Vec<Route>,
    pub escalations: Vec<Escalation>,
}

fn duration_ms(table: &str, field: &str, text: &str) -> Result<i64, PolicyError> {
    humantime::parse_duration(text)
        .ok()
        .filter(|d| *d > Duration::ZERO)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .ok_or_else(|| PolicyError {
            table: table.to_owned(),
            message: format!("field `{field}`: not a positive duration like \"10m\": {text:?}"),
        })
}

fn category(table: &str, c: Option<String>) -> Result<Option<String>, PolicyError> {
    match c {
        Some(c) if !CATEGORIES.contains(&c.as_str()) => Err(PolicyError {
            table: table.to_owned(),
            message: format!(
                "field `category`: {c:?} is not one of {}",
                CATEGORIES.join(", ")
            ),
        }),
        c => Ok(c),
    }
}

impl Policy {
    /// From the `routes` and `escalations` arrays of the rules file (either may be absent).
    pub fn from_toml(
        routes: Option<&toml::Value>,
        escalations: Option<&toml::Value>,
    ) -> Result<Self, PolicyError> {
        let tables =
            |v: Option<&toml::Value>, name: &str| -> Result<Vec<toml::Value>, PolicyError> {
                match v {
                    None => Ok(Vec::new()),
                    Some(toml::Value::Array(a)) => Ok(a.clone()),
                    Some(_) => Err(PolicyError {
                        table: name.to_owned(),
                        message: format!("must be an array of tables [[{name}]]"),
                    }),
                }
            };
        let mut policy = Policy::default();
        for (i, t) in tables(routes, "routes")?.into_iter().enumerate() {
            let table = format!("route #{}", i + 1);
            let spec: RouteSpec = t.try_into().map_err(|e: toml::de::Error| PolicyError {
                table: table.clone(),
                message: e.message().to_owned(),
            })?;
            let agencies = spec.agency.into_vec();
            if agencies.is_empty() || agencies.iter().any(|a| a.trim().is_empty()) {
                return Err(PolicyError {
                    table,
                    message: "field `agency`: name one agency id or a list of them".into(),
                });
            }
            policy.routes.push(Route {
                category: category(&table, spec.category)?,
                severities: spec.severity.map(OneOrMany::into_vec).unwrap_or_default(),
                area: spec.area,
                agencies,
                auto_dispatch: spec.auto_dispatch,
            });
        }
        for (i, t) in tables(escalations, "escalations")?.into_iter().enumerate() {
            let table = format!("escalation #{}", i + 1);
            let spec: EscalationSpec = t.try_into().map_err(|e: toml::de::Error| PolicyError {
                table: table.clone(),
                message: e.message().to_owned(),
            })?;
            let within = |field: &str, v: &Option<String>| {
                v.as_deref()
                    .map(|s| duration_ms(&table, field, s))
                    .transpose()
            };
            let mut tiers = Vec::with_capacity(spec.tiers.len());
            for tier in spec.tiers {
                if let Some(n) = tier.notify.iter().find(|n| !NOTIFY.contains(&n.as_str())) {
                    return Err(PolicyError {
                        table,
                        message: format!(
                            "field `tiers.notify`: {n:?} is not one of {}",
                            NOTIFY.join(", ")
                        ),
                    });
                }
                tiers.push(Tier {
                    after_ms: duration_ms(&table, "tiers.after", &tier.after)?,
                    notify: tier.notify,
                    raise_severity: tier.raise_severity,
                });
            }
            tiers.sort_by_key(|t| t.after_ms);
            policy.escalations.push(Escalation {
                severity: spec.severity,
                category: category(&table, spec.category)?,
                ack_within_ms: within("ack_within", &spec.ack_within)?,
                resolve_within_ms: within("resolve_within", &spec.resolve_within)?,
                tiers,
            });
        }
        Ok(policy)
    }

    /// The first route that matches the alert.
    pub fn route(&self, alert: &Alert) -> Option<&Route> {
        self.routes.iter().find(|r| r.matches(alert))
    }

    /// The escalation for the severity the alert opened with (a raise by a tier does not switch
    /// it): the one naming its category, else the one naming none.
    pub fn escalation(&self, alert: &Alert) -> Option<&Escalation> {
        let of_severity = || {
            self.escalations
                .iter()
                .filter(|e| e.severity == alert.opened_severity)
        };
        of_severity()
            .find(|e| e.category.is_some() && e.category == alert.category)
            .or_else(|| of_severity().find(|e| e.category.is_none()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, PolicyError> {
        let doc: toml::Table = text.parse().expect("toml");
        Policy::from_toml(doc.get("routes"), doc.get("escalations"))
    }

    fn alert(category: &str, severity: Severity, areas: &[&str]) -> Alert {
        Alert {
            category: Some(category.into()),
            severity,
            opened_severity: severity,
            areas: areas.iter().map(|a| (*a).to_owned()).collect(),
            ..Alert::example("r", "d")
        }
    }

    const POLICY: &str = r#"
[[routes]]
category = "flood"
severity = "critical"
area = "cb-x-baolac"
agency = ["ubnd-baolac", "water", "rescue"]
auto_dispatch = true

[[routes]]
category = "flood"
severity = ["warning", "critical"]
agency = "water"

[[routes]]
category = "forest_fire"
agency = "forest-ranger"

[[routes]]
agency = "ioc-duty"

[[escalations]]
severity = "critical"
ack_within = "5m"
resolve_within = "2h"
tiers = [{ after = "30m", raise_severity = true }, { after = "10m", notify = ["supervisor"] }]

[[escalations]]
severity = "critical"
category = "forest_fire"
ack_within = "2m"
"#;

    #[test]
    fn first_matching_route_wins_and_the_default_takes_the_rest() {
        let p = parse(POLICY).expect("policy");
        let route = |c, s, a: &[&str]| p.route(&alert(c, s, a)).map(|r| r.agencies.clone());
        assert_eq!(
            route("flood", Severity::Critical, &["cb", "cb-x-baolac"]),
            Some(vec!["ubnd-baolac".into(), "water".into(), "rescue".into()])
        );
        assert!(
            p.route(&alert("flood", Severity::Critical, &["cb-x-baolac"]))
                .is_some_and(|r| r.auto_dispatch)
        );
        // same category and severity elsewhere: the second route
        assert_eq!(
            route("flood", Severity::Critical, &["cb", "cb-x-halang"]),
            Some(vec!["water".into()])
        );
        assert_eq!(
            route("flood", Severity::Warning, &["cb-x-baolac"]),
            Some(vec!["water".into()])
        );
        assert_eq!(
            route("flood", Severity::Info, &[]),
            Some(vec!["ioc-duty".into()])
        );
        assert_eq!(
            route("forest_fire", Severity::Info, &[]),
            Some(vec!["forest-ranger".into()])
        );
        assert_eq!(
            route("landslide", Severity::Critical, &[]),
            Some(vec!["ioc-duty".into()])
        );
        assert_eq!(
            parse("")
                .expect("empty")
                .route(&alert("flood", Severity::Critical, &[])),
            None
        );
    }

    #[test]
    fn the_most_specific_escalation_applies_and_tiers_are_in_order() {
        let p = parse(POLICY).expect("policy");
        let fire = p
            .escalation(&alert("forest_fire", Severity::Critical, &[]))
            .expect("fire");
        assert_eq!(fire.ack_within_ms, Some(120_000));
        let flood = p
            .escalation(&alert("flood", Severity::Critical, &[]))
            .expect("flood");
        assert_eq!(
            (flood.ack_within_ms, flood.resolve_within_ms),
            (Some(300_000), Some(7_200_000))
        );
        let after: Vec<_> = flood.tiers.iter().map(|t| t.after_ms).collect();
        assert_eq!(after, [600_000, 1_800_000]);
        assert!(
            p.escalation(&alert("flood", Severity::Warning, &[]))
                .is_none()
        );
    }

    #[test]
    fn errors_name_the_table_and_the_field() {
        let err = |text: &str| parse(text).expect_err(text).to_string();
        assert!(
            err("[[routes]]\nagency = \"x\"\ncolour = 1")
                .contains("route #1: unknown field `colour`")
        );
        assert!(
            err("[[routes]]\ncategory = \"flood\"").contains("route #1: missing field `agency`")
        );
        assert!(
            err("[[routes]]\ncategory = \"tsunami\"\nagency = \"x\"").contains("field `category`")
        );
        assert!(err("[[routes]]\nagency = []").contains("field `agency`"));
        assert!(
            err("[[escalations]]\nseverity = \"critical\"\nack_within = \"soon\"")
                .contains("escalation #1: field `ack_within`")
        );
        assert!(
            err("[[escalations]]\nseverity = \"critical\"\ntiers = [{ after = \"1m\", notify = [\"mayor\"] }]")
                .contains("field `tiers.notify`")
        );
        assert!(err("[[escalations]]\nseverity = \"severe\"").contains("escalation #1"));
        assert!(err("routes = 3").contains("must be an array"));
    }
}
