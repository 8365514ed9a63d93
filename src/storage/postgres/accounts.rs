//! Accounts, sessions and agencies in PostgreSQL (times as timestamptz).

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::error::{to_ms, to_time};
use crate::accounts::model::{Agency, ApiToken, Session, User, Webhook};
use crate::accounts::totp::SecondFactor;
use crate::storage::StoreResult;
use crate::storage::codec::{self, from_json, to_json};

const USER_COLS: &str = "username, display_name, role, agency, areas, contact, state, lock_reason,
    password_hash, password_history, must_change_password, failed_logins, locked_until,
    created_at, last_active_at, password_changed_at, second_factor";

fn user_row(r: &Row) -> StoreResult<User> {
    let locked_until: Option<std::time::SystemTime> = r.try_get(12)?;
    Ok(User {
        username: r.try_get(0)?,
        display_name: r.try_get(1)?,
        role: codec::role(r.try_get(2)?)?,
        agency: r.try_get(3)?,
        areas: from_json("users.areas", r.try_get(4)?)?,
        contact: r.try_get(5)?,
        state: codec::state(r.try_get(6)?)?,
        lock_reason: r.try_get(7)?,
        password_hash: r.try_get(8)?,
        password_history: from_json("users.password_history", r.try_get(9)?)?,
        must_change_password: r.try_get(10)?,
        failed_logins: u32::try_from(r.try_get::<_, i32>(11)?).unwrap_or(0),
        locked_until_ms: locked_until.map(to_ms),
        created_at_ms: to_ms(r.try_get(13)?),
        last_active_ms: to_ms(r.try_get(14)?),
        password_changed_ms: to_ms(r.try_get(15)?),
        second_factor: match r.try_get::<_, Option<String>>(16)? {
            Some(json) => Some(from_json("users.second_factor", &json)?),
            None => None,
        },
    })
}

pub async fn users(c: &impl GenericClient) -> StoreResult<Vec<User>> {
    let sql = format!("SELECT {USER_COLS} FROM users ORDER BY username");
    c.query(&sql, &[]).await?.iter().map(user_row).collect()
}

pub async fn user(c: &impl GenericClient, username: &str) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {USER_COLS} FROM users WHERE username = $1");
    let stmt = c.prepare_cached(&sql).await?;
    c.query_opt(&stmt, &[&username])
        .await?
        .as_ref()
        .map(user_row)
        .transpose()
}

fn second_factor(u: &User) -> Option<String> {
    u.second_factor.as_ref().map(to_json)
}

fn failures(u: &User) -> i32 {
    i32::try_from(u.failed_logins).unwrap_or(i32::MAX)
}

pub async fn insert_user(c: &impl GenericClient, u: &User) -> StoreResult<bool> {
    let sql = format!(
        "INSERT INTO users ({USER_COLS}) VALUES
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         ON CONFLICT (username) DO NOTHING"
    );
    let n = c
        .execute(
            &sql,
            &[
                &u.username,
                &u.display_name,
                &u.role.as_str(),
                &u.agency,
                &to_json(&u.areas),
                &u.contact,
                &u.state.as_str(),
                &u.lock_reason,
                &u.password_hash,
                &to_json(&u.password_history),
                &u.must_change_password,
                &failures(u),
                &u.locked_until_ms.map(to_time),
                &to_time(u.created_at_ms),
                &to_time(u.last_active_ms),
                &to_time(u.password_changed_ms),
                &second_factor(u),
            ],
        )
        .await?;
    Ok(n == 1)
}

pub async fn save_user(
    c: &mut deadpool_postgres::Object,
    u: &User,
    end_sessions: bool,
) -> StoreResult<bool> {
    let tx = c.transaction().await?;
    let n = tx
        .execute(
            "UPDATE users SET display_name = $2, role = $3, agency = $4, areas = $5, contact = $6,
                 state = $7, lock_reason = $8, password_hash = $9, password_history = $10,
                 must_change_password = $11, failed_logins = $12, locked_until = $13,
                 last_active_at = $14, password_changed_at = $15, second_factor = $16
             WHERE username = $1",
            &[
                &u.username,
                &u.display_name,
                &u.role.as_str(),
                &u.agency,
                &to_json(&u.areas),
                &u.contact,
                &u.state.as_str(),
                &u.lock_reason,
                &u.password_hash,
                &to_json(&u.password_history),
                &u.must_change_password,
                &failures(u),
                &u.locked_until_ms.map(to_time),
                &to_time(u.last_active_ms),
                &to_time(u.password_changed_ms),
                &second_factor(u),
            ],
        )
        .await?;
    if end_sessions {
        tx.execute("DELETE FROM sessions WHERE username = $1", &[&u.username])
            .await?;
    }
    tx.commit().await?;
    Ok(n == 1)
}

pub async fn login_failed(
    c: &impl GenericClient,
    username: &str,
    now_ms: i64,
    max_failures: u32,
    lockout_ms: i64,
) -> StoreResult<()> {
    let max = i32::try_from(max_failures).unwrap_or(i32::MAX);
    c.execute(
        "UPDATE users SET failed_logins = failed_logins + 1,
             locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END
         WHERE username = $1",
        &[&username, &max, &to_time(now_ms + lockout_ms)],
    )
    .await?;
    Ok(())
}

pub async fn swap_second_factor(
    c: &impl GenericClient,
    username: &str,
    expected: &SecondFactor,
    new: &SecondFactor,
) -> StoreResult<bool> {
    let changed = c
        .execute(
            "UPDATE users SET second_factor = $3 WHERE username = $1 AND second_factor = $2",
            &[&username, &to_json(expected), &to_json(new)],
        )
        .await?;
    Ok(changed == 1)
}

/// The live session of a token hash: not expired, and its account active (locking an account
/// also deletes its sessions; the join makes a lock effective even for a session being read).
pub async fn session(
    c: &impl GenericClient,
    token_hash: &str,
    now_ms: i64,
) -> StoreResult<Option<Session>> {
    let stmt = c
        .prepare_cached(
            "SELECT s.token_hash, s.username, s.created_at, s.last_seen_at, s.expires_at
             FROM sessions s
             JOIN users u ON u.username = s.username
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.state = 'active'",
        )
        .await?;
    let row = c.query_opt(&stmt, &[&token_hash, &to_time(now_ms)]).await?;
    row.map(|r| {
        Ok(Session {
            token_hash: r.try_get(0)?,
            username: r.try_get(1)?,
            created_at_ms: to_ms(r.try_get(2)?),
            last_seen_ms: to_ms(r.try_get(3)?),
            expires_at_ms: to_ms(r.try_get(4)?),
        })
    })
    .transpose()
}

pub async fn create_session(c: &impl GenericClient, s: &Session, now_ms: i64) -> StoreResult<()> {
    c.execute(
        "INSERT INTO sessions (token_hash, username, created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &s.token_hash,
            &s.username,
            &to_time(s.created_at_ms),
            &to_time(s.last_seen_ms),
            &to_time(s.expires_at_ms),
        ],
    )
    .await?;
    // Expired sessions are swept here rather than by a timer: logins are rare.
    c.execute(
        "DELETE FROM sessions WHERE expires_at < $1",
        &[&to_time(now_ms)],
    )
    .await?;
    Ok(())
}

pub async fn touch_session(
    c: &impl GenericClient,
    token_hash: &str,
    seen_ms: i64,
) -> StoreResult<()> {
    c.execute(
        "UPDATE sessions SET last_seen_at = greatest(last_seen_at, $2) WHERE token_hash = $1",
        &[&token_hash, &to_time(seen_ms)],
    )
    .await?;
    Ok(())
}

const AGENCY_COLS: &str =
    "id, name, kind, area, contacts, webhook_url, webhook_secret, created_at, updated_at";

fn agency_row(r: &Row) -> StoreResult<Agency> {
    let url: Option<String> = r.try_get(5)?;
    let secret: Option<String> = r.try_get(6)?;
    Ok(Agency {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        kind: codec::kind(r.try_get(2)?)?,
        area: r.try_get(3)?,
        contacts: from_json("agencies.contacts", r.try_get(4)?)?,
        webhook: url.map(|url| Webhook {
            url,
            secret: secret.unwrap_or_default(),
        }),
        created_at_ms: to_ms(r.try_get(7)?),
        updated_at_ms: to_ms(r.try_get(8)?),
    })
}

pub async fn agencies(c: &impl GenericClient) -> StoreResult<Vec<Agency>> {
    let sql = format!("SELECT {AGENCY_COLS} FROM agencies ORDER BY id");
    c.query(&sql, &[]).await?.iter().map(agency_row).collect()
}

pub async fn agency(c: &impl GenericClient, id: &str) -> StoreResult<Option<Agency>> {
    let sql = format!("SELECT {AGENCY_COLS} FROM agencies WHERE id = $1");
    c.query_opt(&sql, &[&id])
        .await?
        .as_ref()
        .map(agency_row)
        .transpose()
}

pub async fn insert_agency(c: &impl GenericClient, a: &Agency) -> StoreResult<bool> {
    let sql = format!(
        "INSERT INTO agencies ({AGENCY_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO NOTHING"
    );
    let n = c
        .execute(
            &sql,
            &[
                &a.id,
                &a.name,
                &a.kind.as_str(),
                &a.area,
                &to_json(&a.contacts),
                &a.webhook.as_ref().map(|w| &w.url),
                &a.webhook.as_ref().map(|w| &w.secret),
                &to_time(a.created_at_ms),
                &to_time(a.updated_at_ms),
            ],
        )
        .await?;
    Ok(n == 1)
}

pub async fn save_agency(c: &impl GenericClient, a: &Agency) -> StoreResult<bool> {
    let n = c
        .execute(
            "UPDATE agencies SET name = $2, kind = $3, area = $4, contacts = $5, webhook_url = $6,
                 webhook_secret = $7, updated_at = $8
             WHERE id = $1",
            &[
                &a.id,
                &a.name,
                &a.kind.as_str(),
                &a.area,
                &to_json(&a.contacts),
                &a.webhook.as_ref().map(|w| &w.url),
                &a.webhook.as_ref().map(|w| &w.secret),
                &to_time(a.updated_at_ms),
            ],
        )
        .await?;
    Ok(n == 1)
}

const TOKEN_COLS: &str = "t.id, t.name, t.username, t.token_hash, t.permissions, t.created_at,
    t.expires_at, t.last_used_at, t.revoked_at";

fn token_row(r: &Row) -> StoreResult<ApiToken> {
    let last_used: Option<std::time::SystemTime> = r.try_get(7)?;
    let revoked: Option<std::time::SystemTime> = r.try_get(8)?;
    Ok(ApiToken {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        username: r.try_get(2)?,
        token_hash: r.try_get(3)?,
        permissions: from_json("api_tokens.permissions", r.try_get(4)?)?,
        created_at_ms: to_ms(r.try_get(5)?),
        expires_at_ms: to_ms(r.try_get(6)?),
        last_used_ms: last_used.map(to_ms),
        revoked_at_ms: revoked.map(to_ms),
    })
}

pub async fn insert_api_token(c: &impl GenericClient, t: &ApiToken) -> StoreResult<()> {
    c.execute(
        "INSERT INTO api_tokens (id, name, username, token_hash, permissions, created_at,
             expires_at, last_used_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &t.id,
            &t.name,
            &t.username,
            &t.token_hash,
            &to_json(&t.permissions),
            &to_time(t.created_at_ms),
            &to_time(t.expires_at_ms),
            &t.last_used_ms.map(to_time),
            &t.revoked_at_ms.map(to_time),
        ],
    )
    .await?;
    Ok(())
}

pub async fn api_tokens(c: &impl GenericClient) -> StoreResult<Vec<ApiToken>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens t ORDER BY t.created_at, t.id");
    c.query(&sql, &[]).await?.iter().map(token_row).collect()
}

pub async fn live_api_token(
    c: &impl GenericClient,
    token_hash: &str,
    now_ms: i64,
) -> StoreResult<Option<ApiToken>> {
    let sql = format!(
        "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.username = t.username
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2
           AND u.state = 'active'"
    );
    c.query_opt(&sql, &[&token_hash, &to_time(now_ms)])
        .await?
        .as_ref()
        .map(token_row)
        .transpose()
}

pub async fn revoke_api_token(c: &impl GenericClient, id: &str, now_ms: i64) -> StoreResult<bool> {
    let n = c
        .execute(
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&id, &to_time(now_ms)],
        )
        .await?;
    Ok(n == 1)
}

pub async fn touch_api_token(c: &impl GenericClient, id: &str, used_ms: i64) -> StoreResult<()> {
    c.execute(
        "UPDATE api_tokens SET last_used_at = greatest(last_used_at, $2) WHERE id = $1",
        &[&id, &to_time(used_ms)],
    )
    .await?;
    Ok(())
}
