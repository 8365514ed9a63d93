//! An audit record and its link in the chain: each record carries the hash of the one before it,
//! and its own hash covers every field of it and that link, so editing, removing or reordering
//! any stored record breaks the chain at that record.

use serde::Serialize;

/// The `prev_hash` of the first record ever written.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened: an action to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub ts_ms: i64,
    /// The account that acted, the username tried at a failed login, or `system`.
    pub actor: String,
    /// The client's address (`-` for the hub itself).
    pub address: String,
    /// Dotted: `auth.login`, `auth.login_failed`, `user.lock`, `agency.update`, `export.readings`…
    pub action: String,
    /// What it was done to: a username, an agency id, a device key, a path.
    pub target: String,
    /// `ok`, or `refused:<status>` / `failed:<status>`.
    pub result: String,
    /// More, as short text (often JSON).
    pub detail: String,
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub seq: i64,
    #[serde(serialize_with = "crate::timefmt::ser_ms", rename = "ts")]
    #[schema(value_type = String)]
    pub ts_ms: i64,
    pub actor: String,
    pub address: String,
    pub action: String,
    pub target: String,
    pub result: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    /// The record `event` becomes as number `seq` after `prev_hash`.
    pub fn link(seq: i64, event: AuditEvent, prev_hash: &str) -> Self {
        let hash = chain_hash(seq, &event, prev_hash);
        Self {
            seq,
            ts_ms: event.ts_ms,
            actor: event.actor,
            address: event.address,
            action: event.action,
            target: event.target,
            result: event.result,
            detail: event.detail,
            prev_hash: prev_hash.to_owned(),
            hash,
        }
    }

    /// The hash this record's fields give: equal to `hash` unless something was changed.
    pub fn recomputed(&self) -> String {
        let event = AuditEvent {
            ts_ms: self.ts_ms,
            actor: self.actor.clone(),
            address: self.address.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            result: self.result.clone(),
            detail: self.detail.clone(),
        };
        chain_hash(self.seq, &event, &self.prev_hash)
    }
}

/// SHA-256 (hex) of the record's fields and the previous hash, as a JSON array: unambiguous
/// whatever the fields contain.
pub fn chain_hash(seq: i64, e: &AuditEvent, prev_hash: &str) -> String {
    let canonical = serde_json::json!([
        seq, e.ts_ms, e.actor, e.address, e.action, e.target, e.result, e.detail, prev_hash
    ])
    .to_string();
    crate::hex::sha256(canonical.as_bytes())
}

/// Which records to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub actor: Option<String>,
    /// `user.lock` matches that action; `user` matches every `user.*` action.
    pub action: Option<String>,
    /// Only records before this seq (paging).
    pub before_seq: Option<i64>,
    pub limit: u32,
}

impl AuditQuery {
    pub fn matches(&self, r: &AuditRecord) -> bool {
        self.from_ms.is_none_or(|f| r.ts_ms >= f)
            && self.to_ms.is_none_or(|t| r.ts_ms < t)
            && self.actor.as_ref().is_none_or(|a| &r.actor == a)
            && self.action.as_ref().is_none_or(|a| {
                r.action == *a
                    || r.action
                        .strip_prefix(a.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
            })
            && self.before_seq.is_none_or(|b| r.seq < b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(detail: &str) -> AuditEvent {
        AuditEvent {
            ts_ms: 1,
            actor: "admin".into(),
            address: "127.0.0.1".into(),
            action: "user.lock".into(),
            target: "op1".into(),
            result: "ok".into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn every_field_and_the_link_are_covered() {
        let r = AuditRecord::link(1, event(""), GENESIS);
        assert_eq!(r.recomputed(), r.hash);
        let next = AuditRecord::link(2, event(""), &r.hash);
        assert_ne!(
            next.hash, r.hash,
            "the seq and the link make equal events differ"
        );
        for change in [
            |r: &mut AuditRecord| r.detail = "x".into(),
            |r: &mut AuditRecord| r.actor = "eve".into(),
            |r: &mut AuditRecord| r.ts_ms += 1,
            |r: &mut AuditRecord| r.seq += 1,
            |r: &mut AuditRecord| r.prev_hash = GENESIS.replace('0', "1"),
        ] {
            let mut tampered = next.clone();
            change(&mut tampered);
            assert_ne!(tampered.recomputed(), next.hash);
        }
        // fields cannot be shifted into each other
        let a = AuditEvent {
            actor: "ab".into(),
            address: "c".into(),
            ..event("")
        };
        let b = AuditEvent {
            actor: "a".into(),
            address: "bc".into(),
            ..event("")
        };
        assert_ne!(chain_hash(1, &a, GENESIS), chain_hash(1, &b, GENESIS));
    }

    #[test]
    fn queries_filter_by_time_actor_and_action_family() {
        let r = AuditRecord::link(5, event(""), GENESIS);
        let q = |f: fn(&mut AuditQuery)| {
            let mut q = AuditQuery::default();
            f(&mut q);
            q.matches(&r)
        };
        assert!(q(|_| {}));
        assert!(q(|q| q.action = Some("user".into())));
        assert!(q(|q| q.action = Some("user.lock".into())));
        assert!(!q(|q| q.action = Some("use".into())));
        assert!(!q(|q| q.actor = Some("op".into())));
        assert!(!q(|q| q.from_ms = Some(2)));
        assert!(!q(|q| q.to_ms = Some(1)));
        assert!(!q(|q| q.before_seq = Some(5)));
    }
}
