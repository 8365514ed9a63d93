//! Accounts and agencies: who may log in, as what, for whom, and within which areas.
//!
//! [`Accounts`] owns the rules of an account's life — issue, lock, unlock, revoke (for good: the
//! row and its username stay for the audit trail), reset, password change, login with a lockout
//! after repeated failures, the inactivity lock — and the agency registry; the stores only
//! persist what it decides. Passwords are Argon2id ([`password`]); session tokens are opaque
//! random values stored only as SHA-256, so a stolen database yields no usable token. Who may do
//! what is the [`roles`] matrix; what part of the province an account sees is its [`Scope`].
//!
//! Every operation takes `now_ms`, so tests drive time themselves.

pub mod model;
pub mod mqtt;
pub mod password;
pub mod roles;
pub mod scope;
pub mod sessions;
pub mod totp;

use std::sync::Arc;

pub use model::{
    AccountState, Agency, AgencyKind, ApiToken, Contact, Role, Session, User, Webhook,
};
pub use password::{PasswordError, PasswordPolicy, PolicyProfile};
pub use roles::Permission;
pub use scope::Scope;
pub use sessions::{LiveSession, SessionPolicy};
pub use totp::SecondFactor;

use sessions::{Checked, Sessions};

use crate::storage::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("no account {0:?}")]
    NoUser(String),
    #[error("no agency {0:?}")]
    NoAgency(String),
    #[error("no API token {0:?}")]
    NoToken(String),
    #[error("{0}")]
    Conflict(String),
    /// The one answer to a failed login, whichever of username and password was wrong.
    #[error(
        "invalid username or password (after {0} failed attempts an account is locked for a while)"
    )]
    LoginDenied(u32),
    #[error("the account is {0}; ask an administrator")]
    Disabled(&'static str),
    #[error("integrator accounts use API tokens, not a password login")]
    TokensOnly,
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("session expired or invalid; log in again")]
    SessionEnded,
    #[error("too many logins at once; try again in a few seconds")]
    Busy,
    /// The password was right and the account has a second factor: send `totp` too.
    #[error("this account needs its authenticator code (or a recovery code) as `totp`")]
    SecondFactorRequired,
    #[error("the authenticator code is wrong or already used")]
    WrongCode,
}

/// The account rules a site configures.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    pub policy: PasswordPolicy,
    /// Failed logins in a row that lock the account for [`Self::lockout_ms`].
    pub max_failed_logins: u32,
    pub lockout_ms: i64,
    /// Days without a login after which an account is locked (0 = never).
    pub inactive_lock_days: u32,
    /// Idle and absolute session lifetimes.
    pub sessions: SessionPolicy,
    /// Login attempts per client address and minute (0 = no limit).
    pub logins_per_minute: u32,
    /// Admins and supervisors must enrol a second factor (TOTP): until they do, their session
    /// may only enrol it (and change the password, log out).
    pub require_totp: bool,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            policy: PasswordPolicy::default(),
            max_failed_logins: 5,
            lockout_ms: 15 * 60 * 1000,
            inactive_lock_days: 45,
            sessions: SessionPolicy::default(),
            logins_per_minute: 10,
            require_totp: false,
        }
    }
}

/// What an admin gives to issue an account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub agency: Option<String>,
    pub areas: Vec<String>,
    pub contact: Option<String>,
    /// The temporary password; generated (and returned once) when absent.
    pub password: Option<String>,
}

/// An admin's edit of an account; absent fields stay.
#[derive(Debug, Clone, Default)]
pub struct AccountPatch {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    /// `Some(None)` clears the agency.
    pub agency: Option<Option<String>>,
    pub areas: Option<Vec<String>>,
    pub contact: Option<Option<String>>,
}

/// A successful login.
#[derive(Debug)]
pub struct LoggedIn {
    pub token: String,
    pub user: User,
    pub expires_at_ms: i64,
}

/// The account rules over a store.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    pub settings: Arc<AccountSettings>,
    /// Configured area ids, to check an account's and an agency's areas against.
    areas: Arc<crate::areas::Areas>,
    sessions: Arc<Sessions>,
    /// The hashing gate (see [`Accounts::argon`]).
    hashing: Arc<tokio::sync::Semaphore>,
}

impl Accounts {
    pub fn new(
        store: Arc<dyn Store>,
        settings: AccountSettings,
        areas: Arc<crate::areas::Areas>,
    ) -> Self {
        Self {
            store,
            settings: Arc::new(settings),
            areas,
            sessions: Arc::default(),
            hashing: Arc::new(tokio::sync::Semaphore::new(hashing_permits())),
        }
    }

    /// The live session of a token: from memory when this hub has seen it, else from the store.
    /// `activity` (a person's request, not the app's background refresh) moves the idle clock.
    pub async fn authenticate(
        &self,
        token: &str,
        now_ms: i64,
        activity: bool,
    ) -> Result<LiveSession, AccountError> {
        let hash = token_hash(token);
        let policy = &self.settings.sessions;
        match self.sessions.check(&hash, now_ms, activity, policy) {
            Checked::Live { live, touch } => {
                if touch {
                    self.touch(&live, live.session.last_seen_ms).await?;
                }
                return Ok(live);
            }
            Checked::Ended => {
                self.store.delete_session(&hash).await?;
                return Err(AccountError::SessionEnded);
            }
            Checked::Unknown => {}
        }
        let live = match self.store.session(&hash, now_ms).await? {
            Some(session) => {
                let Some(user) = self.store.user(&session.username).await? else {
                    return Err(AccountError::SessionEnded);
                };
                let scope = self.scope_of(&user).await?;
                LiveSession {
                    user: Arc::new(user),
                    scope: Arc::new(scope),
                    session,
                    ended: tokio_util::sync::CancellationToken::new(),
                    token_id: None,
                    permissions: None,
                }
            }
            None => self.token_session(&hash, now_ms).await?,
        };
        if !Sessions::admit(&live, policy, now_ms) {
            self.store.delete_session(&hash).await?;
            return Err(AccountError::SessionEnded);
        }
        let mut live = live;
        if activity && now_ms - live.session.last_seen_ms >= sessions::TOUCH_EVERY_MS {
            self.touch(&live, now_ms).await?;
            live.session.last_seen_ms = now_ms;
        }
        Ok(self.sessions.insert(live))
    }

    /// An API token presented as a bearer, as a session of its integrator account.
    async fn token_session(&self, hash: &str, now_ms: i64) -> Result<LiveSession, AccountError> {
        let token = self
            .store
            .live_api_token(hash, now_ms)
            .await?
            .ok_or(AccountError::SessionEnded)?;
        let user = self
            .store
            .user(&token.username)
            .await?
            .ok_or(AccountError::SessionEnded)?;
        // Tokens are an integrator's: an account given another role does not keep its tokens
        // with the new powers (and with neither a second factor nor an idle timeout).
        if user.role != Role::Integrator {
            return Err(AccountError::SessionEnded);
        }
        let scope = self.scope_of(&user).await?;
        let seen = token.last_used_ms.unwrap_or(token.created_at_ms);
        Ok(LiveSession {
            user: Arc::new(user),
            scope: Arc::new(scope),
            session: Session {
                token_hash: token.token_hash,
                username: token.username,
                created_at_ms: token.created_at_ms,
                last_seen_ms: seen,
                expires_at_ms: token.expires_at_ms,
            },
            ended: tokio_util::sync::CancellationToken::new(),
            permissions: (!token.permissions.is_empty()).then(|| token.permissions.into()),
            token_id: Some(token.id),
        })
    }

    async fn touch(&self, live: &LiveSession, now_ms: i64) -> Result<(), AccountError> {
        match &live.token_id {
            Some(id) => self.store.touch_api_token(id, now_ms).await?,
            None => {
                self.store
                    .touch_session(&live.session.token_hash, now_ms)
                    .await?
            }
        }
        Ok(())
    }

    /// Issues an API token for an integrator account, narrowed to `permissions` (of its role;
    /// empty = all of the role's), valid `days`. Returns it and the token, shown this once.
    pub async fn issue_token(
        &self,
        username: &str,
        name: String,
        permissions: Vec<Permission>,
        days: u32,
        now_ms: i64,
    ) -> Result<(ApiToken, String), AccountError> {
        let user = self.live_user(username).await?;
        if user.role != Role::Integrator {
            return Err(AccountError::Invalid {
                field: "username",
                reason: "API tokens are for integrator accounts".into(),
            });
        }
        if name.trim().is_empty() || name.chars().count() > 100 {
            return Err(AccountError::Invalid {
                field: "name",
                reason: "1 to 100 characters".into(),
            });
        }
        if let Some(p) = permissions.iter().find(|p| !user.role.may(**p)) {
            return Err(AccountError::Invalid {
                field: "permissions",
                reason: format!("the integrator role does not hold {p:?}"),
            });
        }
        if !(1..=MAX_TOKEN_DAYS).contains(&days) {
            return Err(AccountError::Invalid {
                field: "expires_in_days",
                reason: format!("1 to {MAX_TOKEN_DAYS}"),
            });
        }
        let secret = format!("iochub_{}", new_token());
        let token = ApiToken {
            id: format!("tok_{}", &new_token()[..12]),
            name,
            username: user.username,
            token_hash: token_hash(&secret),
            permissions,
            created_at_ms: now_ms,
            expires_at_ms: now_ms + i64::from(days) * 86_400_000,
            last_used_ms: None,
            revoked_at_ms: None,
        };
        self.store.insert_api_token(token.clone()).await?;
        Ok((token, secret))
    }

    pub async fn api_tokens(&self) -> Result<Vec<ApiToken>, AccountError> {
        Ok(self.store.api_tokens().await?)
    }

    /// Revokes every live token of an account (it stopped being an integrator).
    async fn revoke_tokens_of(&self, username: &str, now_ms: i64) -> Result<(), AccountError> {
        for t in self.store.api_tokens().await? {
            if t.username == username && t.revoked_at_ms.is_none() {
                self.store.revoke_api_token(&t.id, now_ms).await?;
                self.sessions.end(&t.token_hash);
            }
        }
        Ok(())
    }

    /// Revokes a token: refused at once, here and in the store.
    pub async fn revoke_token(&self, id: &str, now_ms: i64) -> Result<ApiToken, AccountError> {
        let token = self
            .store
            .api_tokens()
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| AccountError::NoToken(id.to_owned()))?;
        if !self.store.revoke_api_token(id, now_ms).await? {
            return Err(AccountError::Conflict(format!(
                "token {id} is already revoked"
            )));
        }
        self.sessions.end(&token.token_hash);
        Ok(ApiToken {
            revoked_at_ms: Some(now_ms),
            ..token
        })
    }

    /// Ends a session: in the store, and here (its WebSockets close).
    pub async fn logout(&self, token: &str) -> Result<(), AccountError> {
        let hash = token_hash(token);
        self.store.delete_session(&hash).await?;
        self.sessions.end(&hash);
        Ok(())
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Creates `admin` on an empty store. A given password (`IOCHUB_ADMIN_PASSWORD`, the
    /// operator's own choice) is kept; otherwise one is generated, returned to be printed once,
    /// and must be changed at the first login.
    pub async fn ensure_admin(
        &self,
        given: Option<String>,
        now_ms: i64,
    ) -> Result<Option<String>, AccountError> {
        if self.store.user_count().await? > 0 {
            return Ok(None);
        }
        let (password, generated) = match given.filter(|p| !p.is_empty()) {
            Some(p) => (p, false),
            None => (password::temporary(), true),
        };
        if let Err(e) = self.settings.policy.check("admin", &password) {
            tracing::warn!(reason = %e, "IOCHUB_ADMIN_PASSWORD does not meet the password policy; change it");
        }
        let mut user = User::new("admin", Role::Admin, now_ms);
        user.display_name = "Quản trị hệ thống".into();
        user.password_hash = self.argon(move_hash(password.clone())).await??;
        user.must_change_password = generated;
        self.store.insert_user(user).await?;
        Ok(generated.then_some(password))
    }

    /// Issues an account. Returns it and the temporary password when one was generated.
    pub async fn issue(
        &self,
        new: NewAccount,
        now_ms: i64,
    ) -> Result<(User, Option<String>), AccountError> {
        check_username(&new.username)?;
        self.check_agency(new.agency.as_deref()).await?;
        self.check_areas(&new.areas)?;
        check_role_fits(new.role, new.agency.as_deref())?;
        let (password, generated) = match new.password {
            Some(p) => (p, false),
            None => (password::temporary(), true),
        };
        self.settings.policy.check(&new.username, &password)?;
        let mut user = User::new(&new.username, new.role, now_ms);
        user.display_name = new.display_name;
        user.agency = new.agency;
        user.areas = new.areas;
        user.contact = new.contact;
        user.password_hash = self.argon(move_hash(password.clone())).await??;
        user.must_change_password = true;
        if !self.store.insert_user(user.clone()).await? {
            return Err(AccountError::Conflict(format!(
                "username {:?} is taken (a revoked account keeps its username)",
                new.username
            )));
        }
        Ok((user, generated.then_some(password)))
    }

    pub async fn user(&self, username: &str) -> Result<User, AccountError> {
        self.store
            .user(username)
            .await?
            .ok_or_else(|| AccountError::NoUser(username.to_owned()))
    }

    pub async fn users(&self) -> Result<Vec<User>, AccountError> {
        Ok(self.store.users().await?)
    }

    /// Edits an account (not a revoked one). Ends its sessions when its role, agency or areas
    /// change, so that no session keeps the old powers.
    pub async fn update(
        &self,
        actor: &str,
        username: &str,
        patch: AccountPatch,
        now_ms: i64,
    ) -> Result<User, AccountError> {
        let mut user = self.live_user(username).await?;
        let before = (user.role, user.agency.clone(), user.areas.clone());
        if let Some(d) = patch.display_name {
            user.display_name = d;
        }
        if let Some(r) = patch.role {
            if user.role == Role::Admin && r != Role::Admin {
                self.keep_an_admin(actor, &user).await?;
            }
            user.role = r;
        }
        if let Some(a) = patch.agency {
            self.check_agency(a.as_deref()).await?;
            user.agency = a;
        }
        if let Some(a) = patch.areas {
            self.check_areas(&a)?;
            user.areas = a;
        }
        if let Some(c) = patch.contact {
            user.contact = c;
        }
        check_role_fits(user.role, user.agency.as_deref())?;
        let changed_powers = before != (user.role, user.agency.clone(), user.areas.clone());
        self.save(&user, changed_powers).await?;
        if before.0 == Role::Integrator && user.role != Role::Integrator {
            self.revoke_tokens_of(&user.username, now_ms).await?;
        }
        Ok(user)
    }

    /// Locks an account (by an admin): its sessions end at once.
    pub async fn lock(&self, actor: &str, username: &str) -> Result<User, AccountError> {
        let mut user = self.live_user(username).await?;
        if user.role == Role::Admin {
            self.keep_an_admin(actor, &user).await?;
        }
        user.state = AccountState::Locked;
        user.lock_reason = Some("admin".into());
        self.save(&user, true).await?;
        Ok(user)
    }

    /// Unlocks a locked account, and lifts a lockout after failed logins.
    pub async fn unlock(&self, username: &str, now_ms: i64) -> Result<User, AccountError> {
        let mut user = self.live_user(username).await?;
        user.state = AccountState::Active;
        user.lock_reason = None;
        user.failed_logins = 0;
        user.locked_until_ms = None;
        user.last_active_ms = now_ms;
        self.save(&user, false).await?;
        Ok(user)
    }

    /// Revokes an account for good.
    pub async fn revoke(&self, actor: &str, username: &str) -> Result<User, AccountError> {
        let mut user = self.live_user(username).await?;
        if user.role == Role::Admin {
            self.keep_an_admin(actor, &user).await?;
        }
        user.state = AccountState::Revoked;
        user.lock_reason = None;
        self.save(&user, true).await?;
        Ok(user)
    }

    /// Gives an account a temporary password (the given one, or a generated one returned once)
    /// that must be changed at the next login; its sessions end.
    pub async fn reset_password(
        &self,
        actor: &str,
        username: &str,
        given: Option<String>,
        now_ms: i64,
    ) -> Result<(User, Option<String>), AccountError> {
        not_oneself(actor, username, "POST /api/v1/auth/password")?;
        let mut user = self.live_user(username).await?;
        let (password, generated) = match given {
            Some(p) => (p, false),
            None => (password::temporary(), true),
        };
        self.settings.policy.check(&user.username, &password)?;
        let old = std::mem::replace(
            &mut user.password_hash,
            self.argon(move_hash(password.clone())).await??,
        );
        self.remember(&mut user, old);
        user.must_change_password = true;
        user.failed_logins = 0;
        user.locked_until_ms = None;
        user.password_changed_ms = now_ms;
        user.last_active_ms = now_ms;
        self.save(&user, true).await?;
        Ok((user, generated.then_some(password)))
    }

    /// The account's own change: the current password proves it is them.
    pub async fn change_password(
        &self,
        username: &str,
        current: String,
        new: String,
        keep_session: Option<&str>,
        now_ms: i64,
    ) -> Result<User, AccountError> {
        let mut user = self.live_user(username).await?;
        if new == current {
            return Err(PasswordError::Unchanged.into());
        }
        self.settings.policy.check(&user.username, &new)?;
        let (hash, history) = (user.password_hash.clone(), user.password_history.clone());
        let policy = self.settings.policy.clone();
        let (ok, reused, new_hash) = self
            .argon(move || {
                let ok = password::verify(&current, &hash);
                let reused = ok && policy.history > 0 && policy.reused(&new, &history);
                let new_hash = (ok && !reused).then(|| password::hash(&new));
                (ok, reused, new_hash)
            })
            .await?;
        if !ok {
            self.failed_login(username, now_ms).await?;
            return Err(AccountError::WrongPassword);
        }
        if reused {
            return Err(PasswordError::Reused.into());
        }
        let new_hash = new_hash.ok_or_else(|| AccountError::Hash("no hash".into()))??;
        let old = std::mem::replace(&mut user.password_hash, new_hash);
        self.remember(&mut user, old);
        user.must_change_password = false;
        user.password_changed_ms = now_ms;
        self.save(&user, false).await?;
        // Every other session ends (OWASP ASVS 3.3.3): whoever else held one no longer does.
        let keep = keep_session.unwrap_or_default();
        self.store.delete_other_sessions(username, keep).await?;
        self.sessions.end_others(username, keep);
        Ok(user)
    }

    /// Checks a password login. Wrong username, wrong password and a lockout after repeated
    /// failures all give the same [`AccountError::LoginDenied`]; the password is verified even
    /// for an unknown username, so that the time does not tell either. A locked or revoked
    /// account is named only to someone who knows its password.
    ///
    /// An account with a confirmed second factor also needs `second`: its current TOTP code or
    /// one of its recovery codes. Without one the answer is [`AccountError::SecondFactorRequired`]
    /// (the password was right: the app then asks for the code); a wrong code counts as a failed
    /// login like a wrong password.
    pub async fn login(
        &self,
        username: &str,
        password: String,
        second: Option<String>,
        now_ms: i64,
    ) -> Result<LoggedIn, AccountError> {
        let denied = AccountError::LoginDenied(self.settings.max_failed_logins);
        let user = self.store.user(username).await?;
        let locked_out = user
            .as_ref()
            .is_some_and(|u| u.locked_until_ms.is_some_and(|t| t > now_ms));
        let hash = user
            .as_ref()
            .filter(|_| !locked_out)
            .map(|u| u.password_hash.clone());
        let ok = self
            .argon(move || {
                let hash = hash.as_deref().unwrap_or_else(|| password::decoy_hash());
                password::verify(&password, hash)
            })
            .await?;
        let Some(mut user) = user else {
            return Err(denied);
        };
        if locked_out {
            return Err(denied);
        }
        if !ok {
            return Err(self.failed_login(username, now_ms).await?);
        }
        match user.state {
            AccountState::Active => {}
            AccountState::Locked => return Err(AccountError::Disabled("locked")),
            AccountState::Revoked => return Err(AccountError::Disabled("revoked")),
        }
        if user.role == Role::Integrator {
            return Err(AccountError::TokensOnly);
        }
        if let Some(factor) = user.second_factor.as_mut().filter(|f| f.confirmed) {
            let Some(code) = second else {
                return Err(AccountError::SecondFactorRequired);
            };
            let before = factor.clone();
            let unix_s = u64::try_from(now_ms / 1000).unwrap_or(0);
            let ok =
                factor.accept(&user.username, &code, unix_s) || factor.use_recovery_code(&code);
            // The code is used up in the store before the login counts: of two logins racing
            // with it, one finds the factor changed and fails like a replay.
            if !ok
                || !self
                    .store
                    .swap_second_factor(&user.username, &before, factor)
                    .await?
            {
                return Err(self.failed_login(username, now_ms).await?);
            }
        }
        user.failed_logins = 0;
        user.locked_until_ms = None;
        user.last_active_ms = now_ms;
        if let Some(days) = self.settings.policy.max_age_days
            && now_ms - user.password_changed_ms > i64::from(days) * 86_400_000
        {
            user.must_change_password = true;
        }
        self.save(&user, false).await?;
        let token = new_token();
        let expires_at_ms = now_ms + self.settings.sessions.absolute_of(user.role);
        self.store
            .create_session(
                Session {
                    token_hash: token_hash(&token),
                    username: user.username.clone(),
                    created_at_ms: now_ms,
                    last_seen_ms: now_ms,
                    expires_at_ms,
                },
                now_ms,
            )
            .await?;
        Ok(LoggedIn {
            token,
            user,
            expires_at_ms,
        })
    }

    /// Counts a failed login (a wrong password or a wrong second factor alike, towards the
    /// lockout) and gives the one answer a failed login gets.
    async fn failed_login(
        &self,
        username: &str,
        now_ms: i64,
    ) -> Result<AccountError, AccountError> {
        let s = &self.settings;
        self.store
            .login_failed(username, now_ms, s.max_failed_logins, s.lockout_ms)
            .await?;
        Ok(AccountError::LoginDenied(s.max_failed_logins))
    }

    /// Whether `user` must enrol a second factor before anything else (`require_totp`, for
    /// admins and supervisors without a confirmed one).
    pub fn must_enrol_totp(&self, user: &User) -> bool {
        self.settings.require_totp
            && matches!(user.role, Role::Admin | Role::Supervisor)
            && !user.second_factor.as_ref().is_some_and(|f| f.confirmed)
    }

    /// Starts (or restarts) enrolment of one's own TOTP: a new secret, not asked for at login
    /// until [`Accounts::confirm_totp`]. Refused while a confirmed one exists.
    pub async fn enrol_totp(&self, username: &str) -> Result<SecondFactor, AccountError> {
        let mut user = self.live_user(username).await?;
        if user.second_factor.as_ref().is_some_and(|f| f.confirmed) {
            return Err(AccountError::Conflict(
                "a second factor is already enabled: disable it first".into(),
            ));
        }
        let factor = SecondFactor::enrol();
        user.second_factor = Some(factor.clone());
        self.save(&user, false).await?;
        Ok(factor)
    }

    /// Confirms the enrolment with a first correct code; returns the recovery codes, once.
    pub async fn confirm_totp(
        &self,
        username: &str,
        code: &str,
        now_ms: i64,
    ) -> Result<Vec<String>, AccountError> {
        let mut user = self.live_user(username).await?;
        let name = user.username.clone();
        let Some(factor) = user.second_factor.as_mut() else {
            return Err(AccountError::Conflict(
                "no enrolment in progress: POST /api/v1/auth/totp first".into(),
            ));
        };
        if factor.confirmed {
            return Err(AccountError::Conflict("already confirmed".into()));
        }
        let unix_s = u64::try_from(now_ms / 1000).unwrap_or(0);
        if !factor.accept(&name, code, unix_s) {
            return Err(AccountError::WrongCode);
        }
        factor.confirmed = true;
        let codes = factor.new_recovery_codes();
        self.save(&user, false).await?;
        Ok(codes)
    }

    /// Turns one's own second factor off, with the password; refused where it is required.
    pub async fn disable_totp(
        &self,
        username: &str,
        password: String,
        now_ms: i64,
    ) -> Result<(), AccountError> {
        let mut user = self.live_user(username).await?;
        if self.settings.require_totp && matches!(user.role, Role::Admin | Role::Supervisor) {
            return Err(AccountError::Conflict(
                "a second factor is required for this role (require_totp)".into(),
            ));
        }
        let hash = user.password_hash.clone();
        if !self
            .argon(move || password::verify(&password, &hash))
            .await?
        {
            // Guessing the password from someone's open session counts like guessing at login.
            self.failed_login(username, now_ms).await?;
            return Err(AccountError::WrongPassword);
        }
        user.second_factor = None;
        self.save(&user, true).await
    }

    /// An admin clears another account's second factor (a lost phone and no recovery code
    /// left); its sessions end, and where it is required it must enrol again at the next login.
    pub async fn reset_totp(&self, actor: &str, username: &str) -> Result<User, AccountError> {
        not_oneself(actor, username, "DELETE /api/v1/auth/totp")?;
        let mut user = self.live_user(username).await?;
        user.second_factor = None;
        self.save(&user, true).await?;
        Ok(user)
    }

    /// Locks every active account without a login for [`AccountSettings::inactive_lock_days`],
    /// except the last active admin (someone must be able to unlock the others). Returns the
    /// usernames it locked.
    pub async fn lock_inactive(&self, now_ms: i64) -> Result<Vec<String>, AccountError> {
        let days = self.settings.inactive_lock_days;
        if days == 0 {
            return Ok(Vec::new());
        }
        let cutoff = now_ms - i64::from(days) * 86_400_000;
        let users = self.store.users().await?;
        let mut admins = users
            .iter()
            .filter(|u| u.role == Role::Admin && u.state == AccountState::Active)
            .count();
        let mut locked = Vec::new();
        for mut u in users {
            if u.state != AccountState::Active || u.last_active_ms >= cutoff {
                continue;
            }
            if u.role == Role::Admin {
                if admins <= 1 {
                    continue;
                }
                admins -= 1;
            }
            u.state = AccountState::Locked;
            u.lock_reason = Some("inactive".into());
            self.save(&u, true).await?;
            locked.push(u.username);
        }
        Ok(locked)
    }

    pub async fn agencies(&self) -> Result<Vec<Agency>, AccountError> {
        Ok(self.store.agencies().await?)
    }

    pub async fn agency(&self, id: &str) -> Result<Agency, AccountError> {
        self.store
            .agency(id)
            .await?
            .ok_or_else(|| AccountError::NoAgency(id.to_owned()))
    }

    /// Adds an agency to the registry.
    pub async fn add_agency(&self, mut a: Agency, now_ms: i64) -> Result<Agency, AccountError> {
        check_agency_id(&a.id)?;
        self.check_agency_fields(&a)?;
        a.created_at_ms = now_ms;
        a.updated_at_ms = now_ms;
        if !self.store.insert_agency(a.clone()).await? {
            return Err(AccountError::Conflict(format!(
                "agency {:?} already exists",
                a.id
            )));
        }
        Ok(a)
    }

    /// Replaces an agency's fields (the id and creation time stay).
    pub async fn save_agency(&self, mut a: Agency, now_ms: i64) -> Result<Agency, AccountError> {
        self.check_agency_fields(&a)?;
        let old = self.agency(&a.id).await?;
        a.created_at_ms = old.created_at_ms;
        a.updated_at_ms = now_ms;
        self.store.save_agency(a.clone()).await?;
        Ok(a)
    }

    /// The agencies of the config file: those the registry lacks are added; those it has are
    /// left as the registry keeps them (the API may have edited them), and named in the result.
    pub async fn seed_agencies(
        &self,
        config: &[Agency],
        now_ms: i64,
    ) -> Result<Vec<String>, AccountError> {
        let mut kept = Vec::new();
        for a in config {
            match self.store.agency(&a.id).await? {
                Some(stored)
                    if stored.name != a.name
                        || stored.kind != a.kind
                        || stored.area != a.area
                        || stored.contacts != a.contacts
                        || stored.webhook != a.webhook =>
                {
                    kept.push(a.id.clone());
                }
                Some(_) => {}
                None => {
                    self.add_agency(a.clone(), now_ms).await?;
                }
            }
        }
        Ok(kept)
    }

    /// The scope of an account, with its agency's area when it is a handler.
    pub async fn scope_of(&self, user: &User) -> Result<Scope, AccountError> {
        let agency = match (&user.agency, user.role) {
            (Some(id), Role::AgencyHandler) => self.store.agency(id).await?,
            _ => None,
        };
        Ok(Scope::of(user, agency.as_ref(), &self.areas))
    }

    /// Runs Argon2 work on a blocking thread, one job per permit of the hashing gate: a flood of
    /// logins queues here (and is refused after [`HASH_WAIT`]) instead of taking every core and
    /// 19 MiB per attempt from ingest.
    async fn argon<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        let permit = tokio::time::timeout(HASH_WAIT, self.hashing.clone().acquire_owned())
            .await
            .map_err(|_| AccountError::Busy)?
            .map_err(|_| AccountError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))
    }

    async fn live_user(&self, username: &str) -> Result<User, AccountError> {
        let user = self.user(username).await?;
        if user.state == AccountState::Revoked {
            return Err(AccountError::Conflict(format!(
                "account {username:?} is revoked; a revoked account stays as it was"
            )));
        }
        Ok(user)
    }

    /// Refuses to take away the last active admin, or to let an admin lock out themselves.
    async fn keep_an_admin(&self, actor: &str, target: &User) -> Result<(), AccountError> {
        if actor == target.username {
            return Err(AccountError::Conflict(
                "an admin cannot lock, revoke or demote their own account".into(),
            ));
        }
        let others = self
            .store
            .users()
            .await?
            .iter()
            .filter(|u| {
                u.role == Role::Admin
                    && u.state == AccountState::Active
                    && u.username != target.username
            })
            .count();
        if others == 0 && target.state == AccountState::Active {
            return Err(AccountError::Conflict(
                "this is the last active admin account".into(),
            ));
        }
        Ok(())
    }

    fn remember(&self, user: &mut User, old_hash: String) {
        let keep = self.settings.policy.history;
        user.password_history.insert(0, old_hash);
        user.password_history.truncate(keep);
    }

    /// Persists an account; the sessions cached here are ended with the store's (`end_sessions`)
    /// or re-read at their next request, so no cached session outlives a change.
    async fn save(&self, user: &User, end_sessions: bool) -> Result<(), AccountError> {
        let saved = self.store.save_user(user.clone(), end_sessions).await;
        if end_sessions {
            self.sessions.end_user(&user.username);
        } else {
            self.sessions.forget_user(&user.username);
        }
        if !saved? {
            return Err(AccountError::NoUser(user.username.clone()));
        }
        Ok(())
    }

    async fn check_agency(&self, agency: Option<&str>) -> Result<(), AccountError> {
        if let Some(id) = agency
            && self.store.agency(id).await?.is_none()
        {
            return Err(AccountError::Invalid {
                field: "agency",
                reason: format!("no agency {id:?}; see GET /api/v1/agencies"),
            });
        }
        Ok(())
    }

    fn check_areas(&self, areas: &[String]) -> Result<(), AccountError> {
        match areas.iter().find(|a| self.areas.get(a).is_none()) {
            Some(a) => Err(AccountError::Invalid {
                field: "areas",
                reason: format!("no area {a:?}; see GET /api/v1/areas"),
            }),
            None => Ok(()),
        }
    }

    fn check_agency_fields(&self, a: &Agency) -> Result<(), AccountError> {
        if a.name.trim().is_empty() {
            return Err(AccountError::Invalid {
                field: "name",
                reason: "must not be empty".into(),
            });
        }
        if let Some(area) = &a.area {
            self.check_areas(std::slice::from_ref(area))
                .map_err(|_| AccountError::Invalid {
                    field: "area",
                    reason: format!("no area {area:?}; see GET /api/v1/areas"),
                })?;
        }
        if let Some(w) = &a.webhook
            && !(w.url.starts_with("https://") || w.url.starts_with("http://"))
        {
            return Err(AccountError::Invalid {
                field: "webhook.url",
                reason: "must be an http:// or https:// URL".into(),
            });
        }
        Ok(())
    }
}

/// Usernames: 2–64 of `a-z 0-9 . _ -`, starting with a letter (they appear in audit records,
/// ACL files and URLs).
fn check_username(name: &str) -> Result<(), AccountError> {
    let ok = (2..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AccountError::Invalid {
            field: "username",
            reason: "2 to 64 of a-z 0-9 . _ -, starting with a letter".into(),
        })
    }
}

fn check_agency_id(id: &str) -> Result<(), AccountError> {
    let ok = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AccountError::Invalid {
            field: "id",
            reason: "1 to 64 of A-Z a-z 0-9 . _ -".into(),
        })
    }
}

/// An agency handler works for an agency; nobody else needs one, but may have one.
fn check_role_fits(role: Role, agency: Option<&str>) -> Result<(), AccountError> {
    if role == Role::AgencyHandler && agency.is_none() {
        return Err(AccountError::Invalid {
            field: "agency",
            reason: "an agency_handler account needs an agency".into(),
        });
    }
    Ok(())
}

/// A hashing job for [`Accounts::argon`].
fn move_hash(password: String) -> impl FnOnce() -> Result<String, AccountError> + Send + 'static {
    move || password::hash(&password)
}

/// The longest an API token may be issued for.
pub const MAX_TOKEN_DAYS: u32 = 365;

/// How long a login or password change waits for the hashing gate before it is refused as busy.
const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Argon2 jobs at once: half the cores (at least one), the rest stay with ingest.
fn hashing_permits() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// An admin's reset is for someone else's account: on one's own it would skip the current
/// password (and `require_totp`), which the self-service endpoint `own` asks for.
fn not_oneself(actor: &str, username: &str, own: &str) -> Result<(), AccountError> {
    if actor == username {
        return Err(AccountError::Conflict(format!(
            "an admin does not reset their own account; use {own}"
        )));
    }
    Ok(())
}

/// A new random token (256 bits, hex).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    // getrandom only fails when the OS has no entropy source at all; then refuse to make tokens.
    getrandom::fill(&mut bytes).expect("OS random source");
    crate::hex::encode(&bytes)
}

pub fn token_hash(token: &str) -> String {
    crate::hex::sha256(token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    const DAY: i64 = 86_400_000;

    fn accounts(dir: &std::path::Path) -> Accounts {
        let store = crate::storage::sqlite::SqliteStore::open(dir).expect("store");
        Accounts::new(
            Arc::new(store),
            AccountSettings::default(),
            Arc::new(crate::areas::Areas::default()),
        )
    }

    fn new_account(username: &str, role: Role) -> NewAccount {
        NewAccount {
            username: username.into(),
            display_name: String::new(),
            role,
            agency: None,
            areas: Vec::new(),
            contact: None,
            password: Some("một mật khẩu dài".into()),
        }
    }

    #[tokio::test]
    async fn unused_accounts_lock_after_45_days_but_the_last_admin_stays() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = accounts(dir.path());
        let t0 = 1_780_000_000_000;
        a.ensure_admin(Some("admin password long".into()), t0)
            .await
            .expect("admin");
        a.issue(new_account("op", Role::Operator), t0)
            .await
            .expect("op");
        a.issue(new_account("seen", Role::Viewer), t0)
            .await
            .expect("seen");
        a.login("seen", "một mật khẩu dài".into(), None, t0 + 40 * DAY)
            .await
            .expect("login");
        assert!(
            a.lock_inactive(t0 + 45 * DAY - 1)
                .await
                .expect("pass")
                .is_empty()
        );
        let locked = a.lock_inactive(t0 + 45 * DAY + 1).await.expect("pass");
        assert_eq!(
            locked,
            ["op"],
            "the only admin is kept, the recent login too"
        );
        let op = a.user("op").await.expect("op");
        assert_eq!(op.state, AccountState::Locked);
        assert_eq!(op.lock_reason.as_deref(), Some("inactive"));
        let err = a
            .login("op", "một mật khẩu dài".into(), None, t0 + 46 * DAY)
            .await
            .expect_err("locked");
        assert!(matches!(err, AccountError::Disabled("locked")), "{err}");
        // an unlock restarts the count
        a.unlock("op", t0 + 50 * DAY).await.expect("unlock");
        assert!(
            a.lock_inactive(t0 + 94 * DAY)
                .await
                .expect("pass")
                .iter()
                .all(|u| u != "op")
        );
    }

    #[tokio::test]
    async fn a_lockout_ends_by_itself_and_a_success_resets_the_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = accounts(dir.path());
        let t0 = 1_780_000_000_000;
        a.issue(new_account("op", Role::Operator), t0)
            .await
            .expect("op");
        for _ in 0..5 {
            a.login("op", "wrong".into(), None, t0)
                .await
                .expect_err("wrong");
        }
        let right = || "một mật khẩu dài".to_owned();
        let lockout = a.settings.lockout_ms;
        a.login("op", right(), None, t0 + lockout - 1)
            .await
            .expect_err("still locked out");
        let done = a
            .login("op", right(), None, t0 + lockout)
            .await
            .expect("the lockout is over");
        assert_eq!(done.user.failed_logins, 0);
        assert_eq!(a.user("op").await.expect("op").failed_logins, 0);
        assert!(
            done.user.must_change_password,
            "an issued account changes first"
        );
    }

    #[tokio::test]
    async fn the_strict_profile_refuses_reuse_and_forces_rotation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::storage::sqlite::SqliteStore::open(dir.path()).expect("store");
        let settings = AccountSettings {
            policy: PasswordPolicy::from_profile(PolicyProfile::Strict),
            ..AccountSettings::default()
        };
        let a = Accounts::new(Arc::new(store), settings, Arc::default());
        let t0 = 1_780_000_000_000;
        let mut new = new_account("op", Role::Operator);
        new.password = Some("Một Mật Khẩu 1".into());
        a.issue(new, t0).await.expect("op");
        let pw = |p: &str| p.to_owned();
        a.change_password("op", pw("Một Mật Khẩu 1"), pw("Hai Mật Khẩu 2"), None, t0)
            .await
            .expect("changed");
        let err = a
            .change_password("op", pw("Hai Mật Khẩu 2"), pw("Một Mật Khẩu 1"), None, t0)
            .await
            .expect_err("reused");
        assert!(
            matches!(err, AccountError::Password(PasswordError::Reused)),
            "{err}"
        );
        let fresh = a
            .login("op", "Hai Mật Khẩu 2".into(), None, t0 + DAY)
            .await
            .expect("login");
        assert!(!fresh.user.must_change_password);
        let old = a
            .login("op", "Hai Mật Khẩu 2".into(), None, t0 + 91 * DAY)
            .await
            .expect("login");
        assert!(old.user.must_change_password, "90 days on, it must change");
    }

    #[tokio::test]
    async fn sessions_idle_out_by_role_and_end_at_the_absolute_limit() {
        const MIN: i64 = 60_000;
        let dir = tempfile::tempdir().expect("tempdir");
        let a = accounts(dir.path());
        let t0 = 1_780_000_000_000;
        let mut new = new_account("op", Role::Operator);
        new.password = None;
        let (_, temporary) = a.issue(new, t0).await.expect("op");
        let temporary = temporary.expect("generated");
        let token = a
            .login("op", temporary.clone(), None, t0)
            .await
            .expect("login")
            .token;
        assert!(a.authenticate(&token, t0 + 20 * MIN, true).await.is_ok());
        // background refreshes do not keep a session alive
        assert!(a.authenticate(&token, t0 + 45 * MIN, false).await.is_ok());
        assert!(
            matches!(
                a.authenticate(&token, t0 + 51 * MIN, false).await,
                Err(AccountError::SessionEnded)
            ),
            "30 minutes after the last activity, at 20"
        );
        assert!(
            a.authenticate(&token, t0 + 21 * MIN, true).await.is_err(),
            "and it is gone for good"
        );

        // a restart (a new Accounts over the same store) keeps counting from what was written
        let token = a
            .login("op", temporary.clone(), None, t0)
            .await
            .expect("login")
            .token;
        assert!(a.authenticate(&token, t0 + 25 * MIN, true).await.is_ok());
        let restarted = accounts(dir.path());
        assert!(
            restarted
                .authenticate(&token, t0 + 50 * MIN, false)
                .await
                .is_ok()
        );
        assert!(
            restarted
                .authenticate(&token, t0 + 56 * MIN, false)
                .await
                .is_err()
        );

        // activity every 20 minutes still ends at 12 hours
        let token = a
            .login("op", temporary, None, t0)
            .await
            .expect("login")
            .token;
        let mut t = t0;
        while t < t0 + 12 * 60 * MIN - 20 * MIN {
            t += 20 * MIN;
            assert!(
                a.authenticate(&token, t, true).await.is_ok(),
                "at {}",
                t - t0
            );
        }
        assert!(
            a.authenticate(&token, t0 + 12 * 60 * MIN, true)
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_lock_ends_cached_sessions_and_their_live_token_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = accounts(dir.path());
        let t0 = 1_780_000_000_000;
        a.ensure_admin(Some("admin password long".into()), t0)
            .await
            .expect("admin");
        a.issue(new_account("op", Role::Operator), t0)
            .await
            .expect("op");
        let token = a
            .login("op", "một mật khẩu dài".into(), None, t0)
            .await
            .expect("login")
            .token;
        let live = a.authenticate(&token, t0 + 1, true).await.expect("live");
        // a change that keeps the session is seen at the next request, not later
        a.update(
            "admin",
            "op",
            AccountPatch {
                display_name: Some("Trực ban".into()),
                ..AccountPatch::default()
            },
            t0 + 2,
        )
        .await
        .expect("edit");
        let again = a.authenticate(&token, t0 + 2, true).await.expect("live");
        assert_eq!(again.user.display_name, "Trực ban");
        assert!(!live.ended.is_cancelled());
        a.lock("admin", "op").await.expect("lock");
        assert!(
            live.ended.is_cancelled(),
            "the live token opened before the edit ends too"
        );
        assert!(matches!(
            a.authenticate(&token, t0 + 3, true).await,
            Err(AccountError::SessionEnded)
        ));
    }

    #[test]
    fn usernames_and_agency_ids() {
        assert!(check_username("nguyen.van-a_2").is_ok());
        for bad in ["A", "Admin", "1abc", "a b", "ab/c", &"a".repeat(65)] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
        assert!(check_agency_id("ca-tinh").is_ok());
        assert!(check_agency_id("bad id").is_err());
        assert!(check_role_fits(Role::AgencyHandler, None).is_err());
        assert!(check_role_fits(Role::Operator, None).is_ok());
    }
}
