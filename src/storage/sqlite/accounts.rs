//! Accounts, sessions and agencies in SQLite (times as epoch ms).

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::accounts::model::{Agency, ApiToken, Session, User, Webhook};
use crate::accounts::totp::SecondFactor;
use crate::storage::StoreResult;
use crate::storage::codec::{self, from_json, to_json};

const USER_COLS: &str = "username, display_name, role, agency, areas, contact, state, lock_reason,
    password_hash, password_history, must_change_password, failed_logins, locked_until,
    created_at, last_active_at, password_changed_at, second_factor";

/// A row read as text first, so that a bad value is a clear error and not a panic.
fn user_row(r: &Row<'_>) -> rusqlite::Result<StoreResult<User>> {
    let role: String = r.get(2)?;
    let areas: String = r.get(4)?;
    let state: String = r.get(6)?;
    let history: String = r.get(9)?;
    let second: Option<String> = r.get(16)?;
    let fields = (
        r.get(0)?,
        r.get(1)?,
        r.get(3)?,
        r.get(5)?,
        r.get(7)?,
        r.get(8)?,
        r.get(10)?,
        r.get::<_, i64>(11)?,
        r.get(12)?,
        r.get(13)?,
        r.get(14)?,
        r.get(15)?,
    );
    Ok((|| {
        Ok(User {
            username: fields.0,
            display_name: fields.1,
            role: codec::role(&role)?,
            agency: fields.2,
            areas: from_json("users.areas", &areas)?,
            contact: fields.3,
            state: codec::state(&state)?,
            lock_reason: fields.4,
            password_hash: fields.5,
            password_history: from_json("users.password_history", &history)?,
            must_change_password: fields.6,
            failed_logins: u32::try_from(fields.7).unwrap_or(0),
            locked_until_ms: fields.8,
            created_at_ms: fields.9,
            last_active_ms: fields.10,
            password_changed_ms: fields.11,
            second_factor: match second {
                Some(json) => Some(from_json("users.second_factor", &json)?),
                None => None,
            },
        })
    })())
}

pub fn users(conn: &Connection) -> StoreResult<Vec<User>> {
    let sql = format!("SELECT {USER_COLS} FROM users ORDER BY username");
    let rows: Vec<StoreResult<User>> = conn
        .prepare(&sql)?
        .query_map([], user_row)?
        .collect::<Result<_, _>>()?;
    rows.into_iter().collect()
}

pub fn user(conn: &Connection, username: &str) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {USER_COLS} FROM users WHERE username = ?1");
    conn.prepare_cached(&sql)?
        .query_row([username], user_row)
        .optional()?
        .transpose()
}

pub fn insert_user(conn: &Connection, u: &User) -> StoreResult<bool> {
    let n = conn.execute(
        &format!(
            "INSERT INTO users ({USER_COLS}) VALUES
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
             ON CONFLICT (username) DO NOTHING"
        ),
        params![
            u.username,
            u.display_name,
            u.role.as_str(),
            u.agency,
            to_json(&u.areas),
            u.contact,
            u.state.as_str(),
            u.lock_reason,
            u.password_hash,
            to_json(&u.password_history),
            u.must_change_password,
            u.failed_logins,
            u.locked_until_ms,
            u.created_at_ms,
            u.last_active_ms,
            u.password_changed_ms,
            u.second_factor.as_ref().map(to_json),
        ],
    )?;
    Ok(n == 1)
}

pub fn save_user(conn: &mut Connection, u: &User, end_sessions: bool) -> StoreResult<bool> {
    let tx = conn.transaction()?;
    let n = tx.execute(
        "UPDATE users SET display_name = ?2, role = ?3, agency = ?4, areas = ?5, contact = ?6,
             state = ?7, lock_reason = ?8, password_hash = ?9, password_history = ?10,
             must_change_password = ?11, failed_logins = ?12, locked_until = ?13,
             last_active_at = ?14, password_changed_at = ?15, second_factor = ?16
         WHERE username = ?1",
        params![
            u.username,
            u.display_name,
            u.role.as_str(),
            u.agency,
            to_json(&u.areas),
            u.contact,
            u.state.as_str(),
            u.lock_reason,
            u.password_hash,
            to_json(&u.password_history),
            u.must_change_password,
            u.failed_logins,
            u.locked_until_ms,
            u.last_active_ms,
            u.password_changed_ms,
            u.second_factor.as_ref().map(to_json),
        ],
    )?;
    if end_sessions {
        tx.execute("DELETE FROM sessions WHERE username = ?1", [&u.username])?;
    }
    tx.commit()?;
    Ok(n == 1)
}

pub fn login_failed(
    conn: &Connection,
    username: &str,
    now_ms: i64,
    max_failures: u32,
    lockout_ms: i64,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE users SET failed_logins = failed_logins + 1,
             locked_until = CASE WHEN failed_logins + 1 >= ?2 THEN ?3 ELSE locked_until END
         WHERE username = ?1",
        params![username, max_failures, now_ms + lockout_ms],
    )?;
    Ok(())
}

pub fn swap_second_factor(
    conn: &Connection,
    username: &str,
    expected: &SecondFactor,
    new: &SecondFactor,
) -> StoreResult<bool> {
    let changed = conn.execute(
        "UPDATE users SET second_factor = ?3 WHERE username = ?1 AND second_factor = ?2",
        params![username, to_json(expected), to_json(new)],
    )?;
    Ok(changed == 1)
}

pub fn session(conn: &Connection, token_hash: &str, now_ms: i64) -> StoreResult<Option<Session>> {
    Ok(conn
        .prepare_cached(
            "SELECT s.token_hash, s.username, s.created_at, s.last_seen_at, s.expires_at
             FROM sessions s
             JOIN users u ON u.username = s.username
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.state = 'active'",
        )?
        .query_row(params![token_hash, now_ms], |r| {
            Ok(Session {
                token_hash: r.get(0)?,
                username: r.get(1)?,
                created_at_ms: r.get(2)?,
                last_seen_ms: r.get(3)?,
                expires_at_ms: r.get(4)?,
            })
        })
        .optional()?)
}

pub fn create_session(conn: &Connection, s: &Session, now_ms: i64) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO sessions (token_hash, username, created_at, last_seen_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            s.token_hash,
            s.username,
            s.created_at_ms,
            s.last_seen_ms,
            s.expires_at_ms
        ],
    )?;
    // Expired sessions are swept here rather than by a timer: logins are rare.
    conn.execute("DELETE FROM sessions WHERE expires_at < ?1", [now_ms])?;
    Ok(())
}

pub fn touch_session(conn: &Connection, token_hash: &str, seen_ms: i64) -> StoreResult<()> {
    conn.execute(
        "UPDATE sessions SET last_seen_at = max(last_seen_at, ?2) WHERE token_hash = ?1",
        params![token_hash, seen_ms],
    )?;
    Ok(())
}

const AGENCY_COLS: &str =
    "id, name, kind, area, contacts, webhook_url, webhook_secret, created_at, updated_at";

fn agency_row(r: &Row<'_>) -> rusqlite::Result<StoreResult<Agency>> {
    let kind: String = r.get(2)?;
    let contacts: String = r.get(4)?;
    let (url, secret): (Option<String>, Option<String>) = (r.get(5)?, r.get(6)?);
    let (id, name, area, created, updated) =
        (r.get(0)?, r.get(1)?, r.get(3)?, r.get(7)?, r.get(8)?);
    Ok((|| {
        Ok(Agency {
            id,
            name,
            kind: codec::kind(&kind)?,
            area,
            contacts: from_json("agencies.contacts", &contacts)?,
            webhook: url.map(|url| Webhook {
                url,
                secret: secret.unwrap_or_default(),
            }),
            created_at_ms: created,
            updated_at_ms: updated,
        })
    })())
}

pub fn agencies(conn: &Connection) -> StoreResult<Vec<Agency>> {
    let sql = format!("SELECT {AGENCY_COLS} FROM agencies ORDER BY id");
    let rows: Vec<StoreResult<Agency>> = conn
        .prepare(&sql)?
        .query_map([], agency_row)?
        .collect::<Result<_, _>>()?;
    rows.into_iter().collect()
}

pub fn agency(conn: &Connection, id: &str) -> StoreResult<Option<Agency>> {
    let sql = format!("SELECT {AGENCY_COLS} FROM agencies WHERE id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id], agency_row)
        .optional()?
        .transpose()
}

pub fn insert_agency(conn: &Connection, a: &Agency) -> StoreResult<bool> {
    let n = conn.execute(
        &format!(
            "INSERT INTO agencies ({AGENCY_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO NOTHING"
        ),
        params![
            a.id,
            a.name,
            a.kind.as_str(),
            a.area,
            to_json(&a.contacts),
            a.webhook.as_ref().map(|w| &w.url),
            a.webhook.as_ref().map(|w| &w.secret),
            a.created_at_ms,
            a.updated_at_ms,
        ],
    )?;
    Ok(n == 1)
}

pub fn save_agency(conn: &Connection, a: &Agency) -> StoreResult<bool> {
    let n = conn.execute(
        "UPDATE agencies SET name = ?2, kind = ?3, area = ?4, contacts = ?5, webhook_url = ?6,
             webhook_secret = ?7, updated_at = ?8
         WHERE id = ?1",
        params![
            a.id,
            a.name,
            a.kind.as_str(),
            a.area,
            to_json(&a.contacts),
            a.webhook.as_ref().map(|w| &w.url),
            a.webhook.as_ref().map(|w| &w.secret),
            a.updated_at_ms,
        ],
    )?;
    Ok(n == 1)
}

const TOKEN_COLS: &str = "t.id, t.name, t.username, t.token_hash, t.permissions, t.created_at,
    t.expires_at, t.last_used_at, t.revoked_at";

fn token_row(r: &Row<'_>) -> rusqlite::Result<StoreResult<ApiToken>> {
    let permissions: String = r.get(4)?;
    let fields = (
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    );
    Ok((|| {
        Ok(ApiToken {
            id: fields.0,
            name: fields.1,
            username: fields.2,
            token_hash: fields.3,
            permissions: from_json("api_tokens.permissions", &permissions)?,
            created_at_ms: fields.4,
            expires_at_ms: fields.5,
            last_used_ms: fields.6,
            revoked_at_ms: fields.7,
        })
    })())
}

pub fn insert_api_token(conn: &Connection, t: &ApiToken) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO api_tokens (id, name, username, token_hash, permissions, created_at,
             expires_at, last_used_at, revoked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            t.id,
            t.name,
            t.username,
            t.token_hash,
            to_json(&t.permissions),
            t.created_at_ms,
            t.expires_at_ms,
            t.last_used_ms,
            t.revoked_at_ms
        ],
    )?;
    Ok(())
}

pub fn api_tokens(conn: &Connection) -> StoreResult<Vec<ApiToken>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens t ORDER BY t.created_at, t.id");
    let rows: Vec<StoreResult<ApiToken>> = conn
        .prepare(&sql)?
        .query_map([], token_row)?
        .collect::<Result<_, _>>()?;
    rows.into_iter().collect()
}

pub fn live_api_token(
    conn: &Connection,
    token_hash: &str,
    now_ms: i64,
) -> StoreResult<Option<ApiToken>> {
    let sql = format!(
        "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.username = t.username
         WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND t.expires_at > ?2
           AND u.state = 'active'"
    );
    conn.prepare_cached(&sql)?
        .query_row(params![token_hash, now_ms], token_row)
        .optional()?
        .transpose()
}

pub fn revoke_api_token(conn: &Connection, id: &str, now_ms: i64) -> StoreResult<bool> {
    let n = conn.execute(
        "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now_ms],
    )?;
    Ok(n == 1)
}

pub fn touch_api_token(conn: &Connection, id: &str, used_ms: i64) -> StoreResult<()> {
    conn.execute(
        "UPDATE api_tokens SET last_used_at = max(coalesce(last_used_at, 0), ?2) WHERE id = ?1",
        params![id, used_ms],
    )?;
    Ok(())
}
