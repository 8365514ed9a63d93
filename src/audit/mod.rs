//! The audit trail: who did what, when, from which address, to what, with what result. The API's
//! access guard records every changing request and every refusal in one place
//! (`api::access`), the login records its successes and failures, and the hub's own passes record
//! as `system`. Records are append-only and hash-chained in the store ([`model`]); [`verify`]
//! walks the chain and names the first record that does not hold; expiry keeps it verifiable from
//! the anchor it leaves.
//!
//! A record that cannot be written is logged as an error and counted
//! (`iochub_audit_write_failures_total`), never dropped in silence.

pub mod model;

use std::sync::Arc;

pub use model::{AuditEvent, AuditQuery, AuditRecord, GENESIS};

use crate::storage::{Store, StoreResult};

/// Records events into the store's trail.
#[derive(Clone)]
pub struct Audit {
    store: Arc<dyn Store>,
}

impl Audit {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Appends `event`; true once it is stored.
    pub async fn record(&self, event: AuditEvent) -> bool {
        let action = event.action.clone();
        match self.store.append_audit(vec![event]).await {
            Ok(r) => {
                crate::metrics::audit_written(r.len());
                true
            }
            Err(e) => {
                crate::metrics::audit_write_failed();
                tracing::error!(error = %e, action = %action, "audit record not written");
                false
            }
        }
    }

    /// An event of the hub itself (`system`, address `-`).
    /// A reload of the rules file (`rules.update`): what it added, removed and changed, or why it
    /// was refused (`result` = `refused`). The file has no author the hub can know: `system`.
    pub async fn rules_changed(
        &self,
        now_ms: i64,
        path: &str,
        change: &crate::engine::reload::RulesChange,
    ) -> bool {
        let detail = serde_json::json!({
            "added": change.added, "removed": change.removed, "changed": change.changed,
            "rules": change.rules, "error": change.error,
        });
        self.record(AuditEvent {
            ts_ms: now_ms,
            actor: "system".into(),
            address: "-".into(),
            action: "rules.update".into(),
            target: path.into(),
            result: if change.error.is_some() {
                "refused"
            } else {
                "ok"
            }
            .into(),
            detail: detail.to_string(),
        })
        .await
    }

    pub async fn system(&self, now_ms: i64, action: &str, target: &str, detail: String) -> bool {
        self.record(AuditEvent {
            ts_ms: now_ms,
            actor: "system".into(),
            address: "-".into(),
            action: action.into(),
            target: target.into(),
            result: "ok".into(),
            detail,
        })
        .await
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every record links to the one before and hashes to its own hash.
    Intact {
        records: u64,
        /// The newest record's seq and hash (keep them elsewhere to detect a truncation later).
        head: Option<(i64, String)>,
    },
    /// The first record that does not hold, and why.
    Broken { seq: i64, reason: String },
}

const PAGE: u32 = 5000;

/// Walks the whole chain from the anchor (or the genesis).
pub async fn verify(store: &dyn Store) -> StoreResult<Verdict> {
    let (mut last_seq, mut last_hash) = store
        .audit_anchor()
        .await?
        .unwrap_or((0, GENESIS.to_owned()));
    let mut records = 0u64;
    loop {
        let page = store.audit_chain(last_seq, PAGE).await?;
        if page.is_empty() {
            let head = (records > 0).then_some((last_seq, last_hash));
            return Ok(Verdict::Intact { records, head });
        }
        for r in page {
            if r.seq != last_seq + 1 {
                return Ok(Verdict::Broken {
                    seq: last_seq + 1,
                    reason: format!("missing: the next record found is {}", r.seq),
                });
            }
            if r.prev_hash != last_hash {
                return Ok(Verdict::Broken {
                    seq: r.seq,
                    reason: "it does not link to the record before it".into(),
                });
            }
            if r.recomputed() != r.hash {
                return Ok(Verdict::Broken {
                    seq: r.seq,
                    reason: "its contents do not match its hash (edited)".into(),
                });
            }
            last_seq = r.seq;
            last_hash = r.hash;
            records += 1;
        }
    }
}
