//! Accounts, sessions and agencies: what every store keeps and how it reads back.

use iochub::accounts::{AccountState, Agency, AgencyKind, Contact, Role, Session, User, Webhook};
use iochub::storage::Store;

use super::contract::T0;

pub(crate) fn account(username: &str, role: Role) -> User {
    User {
        display_name: "Nguyễn Văn A".into(),
        password_hash: "h".into(),
        must_change_password: true,
        ..User::new(username, role, T0)
    }
}

fn session(token: &str, username: &str, expires_at_ms: i64) -> Session {
    Session {
        token_hash: token.into(),
        username: username.into(),
        created_at_ms: T0,
        last_seen_ms: T0,
        expires_at_ms,
    }
}

pub(crate) async fn accounts_and_sessions(store: &dyn Store) {
    assert_eq!(store.user_count().await.expect("count"), 0);
    let mut op = account("op", Role::AgencyHandler);
    op.agency = Some("ca-tinh".into());
    op.areas = vec!["cb-p-thucphan".into(), "cb-x-minhkhai".into()];
    op.contact = Some("0912 345 678".into());
    op.password_history = vec!["old-1".into(), "old-2".into()];
    op.locked_until_ms = Some(T0 + 5);
    assert!(store.insert_user(op.clone()).await.expect("insert"));
    assert!(
        !store
            .insert_user(account("op", Role::Viewer))
            .await
            .expect("insert"),
        "a username is issued once"
    );
    assert_eq!(store.user("op").await.expect("user"), Some(op.clone()));
    assert_eq!(store.user("nobody").await.expect("user"), None);

    store
        .create_session(session("t1", "op", T0 + 1000), T0)
        .await
        .expect("session");
    store
        .create_session(session("t2", "op", T0 + 1000), T0)
        .await
        .expect("session");
    assert_eq!(
        store.session("t1", T0 + 999).await.expect("s"),
        Some(session("t1", "op", T0 + 1000))
    );
    store.touch_session("t1", T0 + 500).await.expect("touch");
    store.touch_session("t1", T0 + 400).await.expect("touch");
    let touched = store
        .session("t1", T0 + 999)
        .await
        .expect("s")
        .expect("live");
    assert_eq!(
        touched.last_seen_ms,
        T0 + 500,
        "last_seen only moves forward"
    );
    assert!(
        store.session("t1", T0 + 1000).await.expect("s").is_none(),
        "expired"
    );
    store.delete_session("t1").await.expect("delete");
    assert!(store.session("t1", T0).await.expect("s").is_none());

    // an edit that keeps the sessions, then a lock that ends them
    op.display_name = "Trần Thị B".into();
    op.must_change_password = false;
    op.locked_until_ms = None;
    assert!(store.save_user(op.clone(), false).await.expect("save"));
    assert_eq!(store.user("op").await.expect("user"), Some(op.clone()));
    assert!(store.session("t2", T0).await.expect("s").is_some());
    op.state = AccountState::Locked;
    op.lock_reason = Some("admin".into());
    assert!(store.save_user(op.clone(), true).await.expect("save"));
    assert!(store.session("t2", T0).await.expect("s").is_none());
    op.state = AccountState::Active;
    store.save_user(op.clone(), false).await.expect("save");
    assert!(
        store.session("t2", T0).await.expect("s").is_none(),
        "the sessions ended with the lock, not only hidden"
    );
    // a password change ends the account's other sessions, not this one
    for t in ["t3", "t4"] {
        let s = store.create_session(session(t, "op", T0 + 1000), T0);
        s.await.expect("session");
    }
    store
        .delete_other_sessions("op", "t3")
        .await
        .expect("delete");
    assert!(store.session("t3", T0).await.expect("s").is_some());
    assert!(store.session("t4", T0).await.expect("s").is_none());
    // a session of an account that is not active is not live
    op.state = AccountState::Revoked;
    store.save_user(op.clone(), false).await.expect("save");
    assert!(store.session("t3", T0).await.expect("s").is_none());

    assert!(
        !store
            .save_user(account("ghost", Role::Viewer), false)
            .await
            .expect("save"),
        "saving a missing account writes nothing"
    );
    store
        .insert_user(account("admin", Role::Admin))
        .await
        .expect("insert");
    let names: Vec<String> = store
        .users()
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["admin", "op"]);
    assert_eq!(store.user_count().await.expect("count"), 2);
}

pub(crate) async fn failed_logins_count_atomically(store: &dyn Store) {
    store
        .insert_user(account("brute", Role::Operator))
        .await
        .expect("insert");
    let tries = (0..4).map(|_| store.login_failed("brute", T0, 5, 60_000));
    for r in futures_util::future::join_all(tries).await {
        r.expect("counted");
    }
    let u = store.user("brute").await.expect("user").expect("exists");
    assert_eq!((u.failed_logins, u.locked_until_ms), (4, None));
    store
        .login_failed("brute", T0 + 7, 5, 60_000)
        .await
        .expect("counted");
    let u = store.user("brute").await.expect("user").expect("exists");
    assert_eq!((u.failed_logins, u.locked_until_ms), (5, Some(T0 + 60_007)));
    store
        .login_failed("nobody", T0, 5, 60_000)
        .await
        .expect("an unknown username is not an error");
}

pub(crate) async fn agencies_registry(store: &dyn Store) {
    assert!(store.agencies().await.expect("agencies").is_empty());
    let mut police = Agency {
        id: "ca-tinh".into(),
        name: "Công an tỉnh".into(),
        kind: AgencyKind::Police,
        area: None,
        contacts: vec![Contact {
            name: "Trực ban".into(),
            title: Some("Trực ban 24/7".into()),
            phone: Some("113".into()),
            email: None,
        }],
        webhook: Some(Webhook {
            url: "https://ca.example/hook".into(),
            secret: "s3cret-s3cret".into(),
        }),
        created_at_ms: T0,
        updated_at_ms: T0,
    };
    let ward = Agency {
        id: "ubnd-thucphan".into(),
        name: "UBND phường Thục Phán".into(),
        kind: AgencyKind::Commune,
        area: Some("cb-p-thucphan".into()),
        contacts: Vec::new(),
        webhook: None,
        created_at_ms: T0,
        updated_at_ms: T0,
    };
    assert!(store.insert_agency(ward.clone()).await.expect("insert"));
    assert!(store.insert_agency(police.clone()).await.expect("insert"));
    assert!(!store.insert_agency(police.clone()).await.expect("insert"));
    assert_eq!(
        store.agencies().await.expect("agencies"),
        [police.clone(), ward.clone()]
    );
    police.name = "Công an tỉnh Cao Bằng".into();
    police.webhook = None;
    police.updated_at_ms = T0 + 1;
    assert!(store.save_agency(police.clone()).await.expect("save"));
    assert_eq!(store.agency("ca-tinh").await.expect("agency"), Some(police));
    assert_eq!(store.agency("none").await.expect("agency"), None);
    let mut ghost = ward;
    ghost.id = "ghost".into();
    assert!(!store.save_agency(ghost).await.expect("save"));
}

pub(crate) async fn api_tokens_live_until_revoked_or_expired(store: &dyn Store) {
    use iochub::accounts::{ApiToken, Permission};
    let token = ApiToken {
        id: "tok_1".into(),
        name: "SCADA feed".into(),
        username: "admin".into(),
        token_hash: "th1".into(),
        permissions: vec![Permission::DevicesRead, Permission::SystemRead],
        created_at_ms: T0,
        expires_at_ms: T0 + 1000,
        last_used_ms: None,
        revoked_at_ms: None,
    };
    store.insert_api_token(token.clone()).await.expect("insert");
    assert_eq!(
        store.live_api_token("th1", T0).await.expect("live"),
        Some(token.clone())
    );
    assert_eq!(
        store.live_api_token("th1", T0 + 1000).await.expect("live"),
        None,
        "expired"
    );
    assert_eq!(store.live_api_token("nope", T0).await.expect("live"), None);
    store.touch_api_token("tok_1", T0 + 5).await.expect("touch");
    store.touch_api_token("tok_1", T0 + 3).await.expect("touch");
    let used = store
        .live_api_token("th1", T0)
        .await
        .expect("live")
        .expect("token");
    assert_eq!(used.last_used_ms, Some(T0 + 5), "only forward");
    assert!(
        store
            .revoke_api_token("tok_1", T0 + 9)
            .await
            .expect("revoke")
    );
    assert!(
        !store
            .revoke_api_token("tok_1", T0 + 10)
            .await
            .expect("again")
    );
    assert_eq!(
        store.live_api_token("th1", T0).await.expect("live"),
        None,
        "revoked"
    );
    let listed = store.api_tokens().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].revoked_at_ms, Some(T0 + 9));
    // a token of an account that is not active is not live
    let mut of_op = token;
    of_op.id = "tok_2".into();
    of_op.token_hash = "th2".into();
    of_op.username = "op".into();
    store.insert_api_token(of_op).await.expect("insert");
    assert_eq!(
        store.live_api_token("th2", T0).await.expect("live"),
        None,
        "op is revoked"
    );
}

/// Devices' MQTT credentials: set before the device ever reported, replaced, withdrawn; and the
/// gateway a device sits behind, set and detached through the device patch.
pub(crate) async fn device_credentials_and_gateways(store: &dyn Store) {
    use iochub::storage::{DeviceCredential, DevicePatch};
    let credential = |device: &str, hash: &str, at: i64| DeviceCredential {
        device: device.into(),
        hash: hash.into(),
        issued_at_ms: at,
    };
    store
        .set_device_credential(credential("gw-1", "$7$101$a$b", T0))
        .await
        .expect("set");
    store
        .set_device_credential(credential("not-yet-seen", "$7$101$c$d", T0))
        .await
        .expect("set");
    store
        .set_device_credential(credential("gw-1", "$7$101$e$f", T0 + 1000))
        .await
        .expect("replace");
    assert_eq!(
        store.device_credentials().await.expect("list"),
        [
            credential("gw-1", "$7$101$e$f", T0 + 1000),
            credential("not-yet-seen", "$7$101$c$d", T0)
        ]
    );
    assert!(
        store
            .delete_device_credential("not-yet-seen")
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_device_credential("not-yet-seen")
            .await
            .expect("again")
    );
    assert_eq!(store.device_credentials().await.expect("list").len(), 1);

    let behind = |gateway: &str| DevicePatch {
        gateway: Some(gateway.into()),
        ..Default::default()
    };
    let d = store
        .update_device("s-4", behind("gw-1"))
        .await
        .expect("patch");
    assert_eq!(d.expect("s-4").gateway.as_deref(), Some("gw-1"));
    let other = DevicePatch {
        name: Some("Trạm s-4".into()),
        ..Default::default()
    };
    let d = store.update_device("s-4", other).await.expect("patch");
    assert_eq!(d.expect("s-4").gateway.as_deref(), Some("gw-1"), "kept");
    let d = store.update_device("s-4", behind("")).await.expect("patch");
    assert_eq!(d.expect("s-4").gateway, None, "detached");
}

/// An account's second factor is kept whole, and cleared.
pub(crate) async fn second_factor_round_trips(store: &dyn Store) {
    let mut user = account("totp-user", Role::Supervisor);
    assert!(store.insert_user(user.clone()).await.expect("insert"));
    let mut factor = iochub::accounts::SecondFactor::enrol();
    factor.confirmed = true;
    factor.last_step = 57_000_000;
    factor.new_recovery_codes();
    user.second_factor = Some(factor.clone());
    assert!(store.save_user(user.clone(), false).await.expect("save"));
    let read = store.user("totp-user").await.expect("read").expect("there");
    assert_eq!(read.second_factor, Some(factor.clone()));

    // Two logins with the same code: each read the factor before either wrote it back; the
    // first compare-and-set uses the step up, the second finds it changed.
    let mut used = factor.clone();
    used.last_step += 1;
    let swap = |expected, new| store.swap_second_factor("totp-user", expected, new);
    assert!(swap(&factor, &used).await.expect("swap"), "the first use");
    assert!(
        !swap(&factor, &used).await.expect("swap"),
        "the racing second use"
    );
    let read = store.user("totp-user").await.expect("read").expect("there");
    assert_eq!(read.second_factor, Some(used.clone()));
    let other = store.swap_second_factor("nobody", &used, &factor);
    assert!(!other.await.expect("swap"), "no such account");
    user.second_factor = None;
    store.save_user(user, false).await.expect("save");
    let read = store.user("totp-user").await.expect("read").expect("there");
    assert_eq!(read.second_factor, None);
}
