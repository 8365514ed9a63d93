//! The audit trail: numbered and chained by the store, filtered newest first, paged oldest first
//! for verification, and expired from the head with an anchor that keeps the rest verifiable.

use iochub::audit::{self, AuditEvent, AuditQuery, GENESIS, Verdict};
use iochub::storage::Store;

use super::contract::T0;

pub(crate) fn event(ts_ms: i64, actor: &str, action: &str) -> AuditEvent {
    AuditEvent {
        ts_ms,
        actor: actor.into(),
        address: "127.0.0.1".into(),
        action: action.into(),
        target: "op1".into(),
        result: "ok".into(),
        detail: r#"{"role":"operator","tên":"Nông Văn Dền"}"#.into(),
    }
}

pub(crate) async fn audit_trail_chains_filters_and_expires(store: &dyn Store) {
    assert_eq!(
        audit::verify(store).await.expect("verify"),
        Verdict::Intact {
            records: 0,
            head: None
        }
    );
    let first = store
        .append_audit(vec![
            event(T0, "admin", "auth.login"),
            event(T0 + 1, "admin", "user.create"),
            event(T0 + 2, "op1", "auth.login_failed"),
        ])
        .await
        .expect("append");
    assert_eq!(first.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(first[0].prev_hash, GENESIS);
    assert_eq!(first[1].prev_hash, first[0].hash);
    let more = store
        .append_audit(vec![event(T0 + 3, "admin", "user.lock")])
        .await
        .expect("append");
    assert_eq!(
        (more[0].seq, more[0].prev_hash.clone()),
        (4, first[2].hash.clone())
    );
    store
        .append_audit(vec![event(T0 + 4, "system", "user.lock_inactive")])
        .await
        .expect("append");

    let q = |f: fn(&mut AuditQuery)| {
        let mut q = AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        };
        f(&mut q);
        async move {
            store
                .audit(q)
                .await
                .expect("query")
                .iter()
                .map(|r| r.seq)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(q(|_| {}).await, [5, 4, 3, 2, 1], "newest first");
    assert_eq!(q(|q| q.actor = Some("admin".into())).await, [4, 2, 1]);
    assert_eq!(q(|q| q.action = Some("user".into())).await, [5, 4, 2]);
    assert_eq!(q(|q| q.action = Some("auth.login".into())).await, [1]);
    assert_eq!(q(|q| q.before_seq = Some(3)).await, [2, 1]);
    assert_eq!(
        q(|q| {
            q.from_ms = Some(T0 + 1);
            q.to_ms = Some(T0 + 3);
        })
        .await,
        [3, 2]
    );
    assert_eq!(q(|q| q.limit = 2).await, [5, 4]);
    let page = store.audit_chain(2, 2).await.expect("chain");
    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(page[0], first[2], "a record reads back as written");

    let whole = audit::verify(store).await.expect("verify");
    let Verdict::Intact {
        records: 5,
        head: Some((5, _)),
    } = whole
    else {
        panic!("{whole:?}");
    };

    // Expiry takes the oldest and leaves an anchor: the rest still verifies, and new records
    // continue the chain.
    assert_eq!(store.expire_audit(T0 + 2).await.expect("expire"), 2);
    assert_eq!(
        store.audit_anchor().await.expect("anchor"),
        Some((2, first[1].hash.clone()))
    );
    assert_eq!(
        audit::verify(store).await.expect("verify"),
        Verdict::Intact {
            records: 3,
            head: Some((
                5,
                store.audit_chain(4, 1).await.expect("chain")[0]
                    .hash
                    .clone()
            ))
        }
    );
    assert_eq!(store.expire_audit(T0 + 100).await.expect("expire all"), 3);
    let after = store
        .append_audit(vec![event(T0 + 200, "admin", "auth.login")])
        .await
        .expect("append");
    assert_eq!(
        after[0].seq, 6,
        "numbering goes on after everything expired"
    );
    let Verdict::Intact { records: 1, .. } = audit::verify(store).await.expect("verify") else {
        panic!("the chain continues from the anchor");
    };
    assert_eq!(store.expire_audit(T0).await.expect("nothing that old"), 0);
}
