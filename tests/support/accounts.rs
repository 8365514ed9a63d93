//! Accounts for tests: issue one through the admin API and log it in through the forced password
//! change; an integrator's API token.

use serde_json::{Value, json};

use super::hub::Hub;
use iochub::accounts::Role;

pub const GOOD: &str = "Mưa lũ sông Bằng 2026";

/// Issues an account and logs it in through the forced password change; returns its token.
pub async fn account(hub: &Hub, username: &str, role: Role, extra: Value) -> String {
    let mut body =
        json!({"username": username, "role": role.as_str(), "display_name": "Cán bộ trực"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (status, issued) = hub
        .call("POST", "/api/v1/users", &hub.token, Some(body))
        .await;
    assert_eq!(status, 201, "{issued}");
    let temporary = issued["temporary_password"]
        .as_str()
        .expect("generated, shown once");
    assert_eq!(issued["must_change_password"], true);
    let (status, login) = hub.login_as(username, temporary).await;
    if role == Role::Integrator {
        assert_eq!(status, 403, "integrators use API tokens: {login}");
        return String::new();
    }
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["must_change_password"], true);
    let token = login["token"].as_str().expect("token").to_owned();
    let change = json!({"current": temporary, "new": GOOD});
    let (status, body) = hub
        .call("POST", "/api/v1/auth/password", &token, Some(change))
        .await;
    assert_eq!(status, 204, "{body}");
    token
}

/// An API token for an integrator account, issued by the admin.
pub async fn api_token(hub: &Hub, username: &str, permissions: Value) -> String {
    let body = json!({"name": format!("{username} feed"), "username": username, "permissions": permissions});
    let (status, issued) = hub
        .call("POST", "/api/v1/tokens", &hub.token, Some(body))
        .await;
    assert_eq!(status, 201, "{issued}");
    issued["token"].as_str().expect("shown once").to_owned()
}
