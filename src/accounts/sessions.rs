//! Live sessions in the hub's memory: the per-request check without a store round trip, the idle
//! timeout, and an end that reaches open WebSockets at once.
//!
//! The store stays the truth (a restart, or a session not yet seen here, reads it); this cache
//! only holds what it read, with the last activity. Whatever changes an account (lock, revoke,
//! reset, a change of powers, logout) goes through [`super::Accounts`], which drops the account's
//! entries here in the same call and cancels their live token, so a revocation is never delayed
//! by the cache. The last activity is written back at most once a minute per session.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use super::model::{Role, Session, User};
use super::scope::Scope;

/// How often a session's last activity is written to the store.
pub const TOUCH_EVERY_MS: i64 = 60_000;
/// Cached sessions; past this the expired ones are swept, then the oldest dropped (they are
/// read from the store again when used).
const MAX_ENTRIES: usize = 10_000;

/// Session lifetimes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle_admin_ms: i64,
    pub idle_ms: i64,
    /// The wall's accounts may stay longer.
    pub idle_viewer_ms: i64,
    pub absolute_ms: i64,
    pub absolute_viewer_ms: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_admin_ms: 15 * 60_000,
            idle_ms: 30 * 60_000,
            idle_viewer_ms: 30 * 60_000,
            absolute_ms: 12 * 3_600_000,
            absolute_viewer_ms: 12 * 3_600_000,
        }
    }
}

impl SessionPolicy {
    pub fn idle_of(&self, role: Role) -> i64 {
        match role {
            Role::Admin => self.idle_admin_ms,
            Role::Viewer => self.idle_viewer_ms,
            _ => self.idle_ms,
        }
    }

    pub fn absolute_of(&self, role: Role) -> i64 {
        match role {
            Role::Viewer => self.absolute_viewer_ms,
            _ => self.absolute_ms,
        }
    }
}

/// A session that passed the check.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub user: Arc<User>,
    pub scope: Arc<Scope>,
    pub session: Session,
    /// Cancelled when the session ends (logout, lock, revoke, reset, a change of powers).
    pub ended: CancellationToken,
    /// The API token this is (no idle timeout; its own expiry), or `None` for a login session.
    pub token_id: Option<String>,
    /// The token's narrower permissions; `None` = the role's.
    pub permissions: Option<Arc<[super::roles::Permission]>>,
}

impl LiveSession {
    /// Whether the role, and the token when it is one, hold `p`.
    pub fn may(&self, p: super::roles::Permission) -> bool {
        self.user.role.may(p) && self.permissions.as_ref().is_none_or(|ps| ps.contains(&p))
    }
}

struct Entry {
    live: LiveSession,
    /// The `last_seen` the store has.
    persisted_seen_ms: i64,
    /// The account changed: read it again (the live token stays, so that WebSockets opened
    /// before are still ended with the session).
    stale: bool,
}

/// What [`Sessions::check`] found.
pub enum Checked {
    /// Valid; `touch` when the store's last activity should be moved forward to now.
    Live { live: LiveSession, touch: bool },
    /// Past its idle or absolute end: forgotten here, to be deleted from the store.
    Ended,
    /// Not cached: read the store.
    Unknown,
}

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Entry>>,
}

fn ended(live: &LiveSession, policy: &SessionPolicy, now_ms: i64) -> bool {
    let s = &live.session;
    now_ms >= s.expires_at_ms
        || (live.token_id.is_none() && now_ms - s.last_seen_ms > policy.idle_of(live.user.role))
}

impl Sessions {
    /// Checks a cached session; `activity` (a person's request, not the app's background
    /// refresh) moves its idle clock.
    pub fn check(
        &self,
        token_hash: &str,
        now_ms: i64,
        activity: bool,
        policy: &SessionPolicy,
    ) -> Checked {
        let mut map = self.map.lock();
        let Some(e) = map.get_mut(token_hash).filter(|e| !e.stale) else {
            return Checked::Unknown;
        };
        if ended(&e.live, policy, now_ms) {
            if let Some(e) = map.remove(token_hash) {
                e.live.ended.cancel();
            }
            return Checked::Ended;
        }
        if activity {
            e.live.session.last_seen_ms = e.live.session.last_seen_ms.max(now_ms);
        }
        let touch = e.live.session.last_seen_ms - e.persisted_seen_ms >= TOUCH_EVERY_MS;
        if touch {
            e.persisted_seen_ms = e.live.session.last_seen_ms;
        }
        Checked::Live {
            live: e.live.clone(),
            touch,
        }
    }

    /// Takes in a session read from the store (after checking it with [`Self::admit`]); a stale
    /// entry's live token carries over. Returns the session as cached.
    pub fn insert(&self, mut live: LiveSession) -> LiveSession {
        let mut map = self.map.lock();
        if let Some(old) = map.get(&live.session.token_hash) {
            live.ended = old.live.ended.clone();
            live.session.last_seen_ms =
                live.session.last_seen_ms.max(old.live.session.last_seen_ms);
        }
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| !e.live.ended.is_cancelled());
            if map.len() >= MAX_ENTRIES
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, e)| e.live.session.last_seen_ms)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        let persisted_seen_ms = live.session.last_seen_ms;
        map.insert(
            live.session.token_hash.clone(),
            Entry {
                live: live.clone(),
                persisted_seen_ms,
                stale: false,
            },
        );
        live
    }

    /// Whether a session read from the store is still valid for this account's role.
    pub fn admit(live: &LiveSession, policy: &SessionPolicy, now_ms: i64) -> bool {
        !ended(live, policy, now_ms)
    }

    /// Ends one session here (logout).
    pub fn end(&self, token_hash: &str) {
        if let Some(e) = self.map.lock().remove(token_hash) {
            e.live.ended.cancel();
        }
    }

    /// Ends every session of an account here: its WebSockets close at once.
    pub fn end_user(&self, username: &str) {
        self.end_others(username, "");
    }

    /// Ends every session of an account here but the one whose token hash is `keep`.
    pub fn end_others(&self, username: &str, keep: &str) {
        self.map.lock().retain(|hash, e| {
            let stays = e.live.user.username != username || hash == keep;
            if !stays {
                e.live.ended.cancel();
            }
            stays
        });
    }

    /// Marks an account's cached sessions stale without ending them (its fields changed): they
    /// are read from the store again at the next request.
    pub fn forget_user(&self, username: &str) {
        for e in self.map.lock().values_mut() {
            if e.live.user.username == username {
                e.stale = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(role: Role, last_seen_ms: i64, expires_at_ms: i64) -> LiveSession {
        LiveSession {
            user: Arc::new(User::new("u", role, 0)),
            scope: Arc::default(),
            session: Session {
                token_hash: "t".into(),
                username: "u".into(),
                created_at_ms: 0,
                last_seen_ms,
                expires_at_ms,
            },
            ended: CancellationToken::new(),
            token_id: None,
            permissions: None,
        }
    }

    const MIN: i64 = 60_000;

    #[test]
    fn idle_by_role_and_activity_moves_the_clock() {
        let p = SessionPolicy::default();
        let s = Sessions::default();
        s.insert(live(Role::Admin, 0, 12 * 60 * MIN));
        assert!(matches!(
            s.check("t", 10 * MIN, false, &p),
            Checked::Live { touch: false, .. }
        ));
        // background requests do not count: 15 minutes after the last activity, it is over
        let live_at = |s: &Sessions, t| matches!(s.check("t", t, true, &p), Checked::Live { .. });
        assert!(
            !live_at(&s, 15 * MIN + 1),
            "an admin idles out after 15 min"
        );
        assert!(
            matches!(s.check("t", 0, true, &p), Checked::Unknown),
            "forgotten"
        );

        let s = Sessions::default();
        s.insert(live(Role::Operator, 0, 12 * 60 * MIN));
        let Checked::Live { touch, .. } = s.check("t", 20 * MIN, true, &p) else {
            panic!("an operator has 30 min");
        };
        assert!(touch, "a minute past what the store has: write it back");
        assert!(matches!(
            s.check("t", 20 * MIN + 1000, true, &p),
            Checked::Live { touch: false, .. }
        ));
        assert!(
            live_at(&s, 49 * MIN),
            "activity at 20 min moved the idle end to 50"
        );
        assert!(
            !live_at(&s, 12 * 60 * MIN),
            "the absolute end holds whatever the activity"
        );
    }

    #[test]
    fn ending_cancels_the_live_token_and_forgetting_does_not() {
        let p = SessionPolicy::default();
        let s = Sessions::default();
        let a = live(Role::Operator, 0, MIN * 600);
        let token = a.ended.clone();
        s.insert(a);
        s.forget_user("u");
        assert!(!token.is_cancelled());
        assert!(
            matches!(s.check("t", 1, true, &p), Checked::Unknown),
            "read again"
        );
        s.insert(live(Role::Operator, 0, MIN * 600));
        let Checked::Live { live: l, .. } = s.check("t", 1, true, &p) else {
            panic!("live");
        };
        s.end_user("u");
        assert!(l.ended.is_cancelled());
        assert!(
            token.is_cancelled(),
            "a WebSocket opened before the re-read ends too"
        );
        assert!(matches!(s.check("t", 2, true, &p), Checked::Unknown));
    }
}
