//! Connected systems: the data sources an IOC reports on (the water resources station network,
//! the environment monitoring network, the camera system, ...), and which one a device belongs
//! to.
//!
//! A device's system is its own `system` when an operator set one, else the first system (by
//! id) whose key patterns match its key (`devices = ["wl-*", "rain-*"]` in `[[systems]]`), else
//! none: reports list it under [`UNASSIGNED`]. Patterns are globs with `*` only, so a config
//! reads like the device keys it names.

use serde::{Deserialize, Serialize};

/// The id reports use for devices of no system.
pub const UNASSIGNED: &str = "unassigned";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct System {
    /// `[a-z0-9_-]{1,64}`.
    pub id: String,
    pub name: String,
    /// Who runs it (the department or company that supplies the data).
    #[serde(default)]
    pub owner: Option<String>,
    /// How often each of its devices should report, when the device does not say.
    #[serde(default)]
    pub expected_interval_s: Option<f64>,
    /// Key patterns of its devices (`*` matches any run of characters).
    #[serde(default)]
    pub devices: Vec<String>,
    #[serde(serialize_with = "crate::timefmt::ser_ms", skip_deserializing)]
    #[schema(value_type = String)]
    pub created_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_ms", skip_deserializing)]
    #[schema(value_type = String)]
    pub updated_at: i64,
}

/// An edit of a system; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemPatch {
    pub name: Option<String>,
    /// `""` clears it.
    pub owner: Option<String>,
    /// Seconds; 0 clears it (then learned from the data).
    pub expected_interval_s: Option<f64>,
    pub devices: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{field}`: {message}")]
pub struct InvalidSystem {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidSystem {
    InvalidSystem {
        field,
        message: message.into(),
    }
}

pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// An expected interval: positive and at most a week.
pub fn valid_interval(seconds: f64) -> bool {
    seconds.is_finite() && seconds > 0.0 && seconds <= 7.0 * 86_400.0
}

impl System {
    /// Checks every field; the id may not be [`UNASSIGNED`].
    pub fn validate(&self) -> Result<(), InvalidSystem> {
        if !valid_id(&self.id) || self.id == UNASSIGNED {
            return Err(invalid(
                "id",
                format!(
                    "{:?} must match [a-z0-9_-]{{1,64}} and not be {UNASSIGNED:?}",
                    self.id
                ),
            ));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            return Err(invalid("name", "1 to 200 characters"));
        }
        if self.owner.as_ref().is_some_and(|o| o.chars().count() > 200) {
            return Err(invalid("owner", "at most 200 characters"));
        }
        if self.expected_interval_s.is_some_and(|s| !valid_interval(s)) {
            return Err(invalid(
                "expected_interval_s",
                "seconds, more than 0 and at most a week",
            ));
        }
        if self.devices.len() > 100 {
            return Err(invalid("devices", "at most 100 patterns"));
        }
        if let Some(p) = self.devices.iter().find(|p| !valid_pattern(p)) {
            return Err(invalid(
                "devices",
                format!("{p:?}: a device key pattern uses [A-Za-z0-9._-] and `*`"),
            ));
        }
        Ok(())
    }

    /// The system with `patch` applied (not yet validated).
    pub fn patched(&self, patch: SystemPatch, now_ms: i64) -> System {
        let mut next = self.clone();
        if let Some(name) = patch.name {
            next.name = name;
        }
        if let Some(owner) = patch.owner {
            next.owner = Some(owner).filter(|o| !o.trim().is_empty());
        }
        if let Some(s) = patch.expected_interval_s {
            next.expected_interval_s = Some(s).filter(|s| *s != 0.0);
        }
        if let Some(devices) = patch.devices {
            next.devices = devices;
        }
        next.updated_at = now_ms;
        next
    }

    pub fn matches(&self, key: &str) -> bool {
        self.devices.iter().any(|p| glob(p, key))
    }
}

fn valid_pattern(p: &str) -> bool {
    (1..=64).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'*'))
}

/// `*` matches any run of characters (also none); everything else matches itself.
fn glob(pattern: &str, key: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = key.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty(); // no `*`: the whole key
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The system a device belongs to: its own, else the first system (in `systems`' order) whose
/// patterns match, else [`UNASSIGNED`].
pub fn system_of<'a>(key: &str, own: Option<&'a str>, systems: &'a [System]) -> &'a str {
    match own {
        Some(s) if !s.is_empty() => s,
        _ => systems
            .iter()
            .find(|s| s.matches(key))
            .map_or(UNASSIGNED, |s| s.id.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system(id: &str, devices: &[&str]) -> System {
        System {
            id: id.into(),
            name: id.into(),
            owner: None,
            expected_interval_s: None,
            devices: devices.iter().map(|d| d.to_string()).collect(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob("wl-*", "wl-01"));
        assert!(glob("wl-*", "wl-"));
        assert!(!glob("wl-*", "rain-01"));
        assert!(glob("*-cam", "gate-cam"));
        assert!(glob("st-*-wl", "st-03-wl"));
        assert!(!glob("st-*-wl", "st-03-wl2"));
        assert!(glob("a*a", "aa"));
        assert!(!glob("a*a", "a"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exact2"));
        assert!(glob("*", "anything"));
    }

    #[test]
    fn a_device_belongs_to_its_own_system_else_the_first_match() {
        let systems = [system("water", &["wl-*", "rain-*"]), system("all", &["*"])];
        assert_eq!(system_of("wl-01", None, &systems), "water");
        assert_eq!(system_of("aq-01", None, &systems), "all");
        assert_eq!(system_of("wl-01", Some("camera"), &systems), "camera");
        assert_eq!(system_of("aq-01", None, &systems[..1]), UNASSIGNED);
    }

    #[test]
    fn validation_names_the_field() {
        let mut s = system("water", &["wl-*"]);
        assert!(s.validate().is_ok());
        s.expected_interval_s = Some(0.0);
        assert_eq!(
            s.validate().map_err(|e| e.field),
            Err("expected_interval_s")
        );
        s.expected_interval_s = Some(300.0);
        s.devices = vec!["wl/#".into()];
        assert_eq!(s.validate().map_err(|e| e.field), Err("devices"));
        assert_eq!(
            system(UNASSIGNED, &[]).validate().map_err(|e| e.field),
            Err("id")
        );
        assert_eq!(
            system("Water", &[]).validate().map_err(|e| e.field),
            Err("id")
        );
    }

    #[test]
    fn a_patch_clears_with_empty_values() {
        let mut s = system("water", &[]);
        s.owner = Some("Sở NN&MT".into());
        s.expected_interval_s = Some(300.0);
        let p = s.patched(
            SystemPatch {
                owner: Some(String::new()),
                expected_interval_s: Some(0.0),
                ..SystemPatch::default()
            },
            5,
        );
        assert_eq!(
            (p.owner, p.expected_interval_s, p.updated_at),
            (None, None, 5)
        );
    }
}
