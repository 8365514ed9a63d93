//! An account, a login session and an agency as the stores keep them, with the closed sets their
//! fields take (roles, account states, agency kinds).

use serde::{Deserialize, Serialize};

/// What an account may do: see [`super::roles`] for the matrix.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    PartialOrd,
    Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Accounts, agencies, configuration: everything.
    Admin,
    /// The IOC duty supervisor: an operator's work, plus escalations and reports.
    Supervisor,
    /// IOC duty: all devices and alerts; acknowledges, dispatches, comments.
    Operator,
    /// Only the alerts dispatched to their own agency.
    AgencyHandler,
    /// Map, wall and video, read only.
    Viewer,
    /// API tokens only: data pull, device registration, its agency's inbound status API.
    Integrator,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Supervisor,
        Role::Operator,
        Role::AgencyHandler,
        Role::Viewer,
        Role::Integrator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Operator => "operator",
            Role::AgencyHandler => "agency_handler",
            Role::Viewer => "viewer",
            Role::Integrator => "integrator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// An account's state. `revoked` is for good: the row stays for the audit trail and its username
/// is never issued again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    Active,
    Locked,
    Revoked,
}

impl AccountState {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Active => "active",
            AccountState::Locked => "locked",
            AccountState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<AccountState> {
        [
            AccountState::Active,
            AccountState::Locked,
            AccountState::Revoked,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The agency the account works for (an agency id), if any.
    pub agency: Option<String>,
    /// Area ids narrowing what the account sees; empty = the whole province.
    pub areas: Vec<String>,
    pub contact: Option<String>,
    pub state: AccountState,
    /// Why the account is locked (`admin`, `inactive`), when it is.
    pub lock_reason: Option<String>,
    pub password_hash: String,
    /// Hashes of earlier passwords, newest first (kept only as long as the policy's history).
    pub password_history: Vec<String>,
    /// Set for a new or reset account: the API refuses everything but the password change.
    pub must_change_password: bool,
    /// Consecutive failed logins since the last success.
    pub failed_logins: u32,
    /// After too many failures, logins are refused until this time (epoch ms).
    pub locked_until_ms: Option<i64>,
    pub created_at_ms: i64,
    /// The last login, creation, unlock or reset: what the inactivity lock counts from.
    pub last_active_ms: i64,
    pub password_changed_ms: i64,
    /// TOTP and recovery codes, once enrolled (confirmed or not).
    pub second_factor: Option<crate::accounts::totp::SecondFactor>,
}

impl User {
    /// An active account with nothing set but its name, role and times (no password yet).
    pub fn new(username: &str, role: Role, now_ms: i64) -> Self {
        Self {
            username: username.to_owned(),
            display_name: String::new(),
            role,
            agency: None,
            areas: Vec::new(),
            contact: None,
            state: AccountState::Active,
            lock_reason: None,
            password_hash: String::new(),
            password_history: Vec::new(),
            must_change_password: false,
            failed_logins: 0,
            locked_until_ms: None,
            created_at_ms: now_ms,
            last_active_ms: now_ms,
            second_factor: None,
            password_changed_ms: now_ms,
        }
    }
}

/// A login session, found by the SHA-256 of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub username: String,
    pub created_at_ms: i64,
    /// The last request seen (the idle timeout counts from it).
    pub last_seen_ms: i64,
    /// The absolute end.
    pub expires_at_ms: i64,
}

/// The competent bodies alerts are forwarded to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    Police,
    FireRescue,
    Health,
    Environment,
    Water,
    Traffic,
    CivilDefense,
    /// A commune's (xã/phường) People's Committee.
    Commune,
    Other,
}

impl AgencyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AgencyKind::Police => "police",
            AgencyKind::FireRescue => "fire_rescue",
            AgencyKind::Health => "health",
            AgencyKind::Environment => "environment",
            AgencyKind::Water => "water",
            AgencyKind::Traffic => "traffic",
            AgencyKind::CivilDefense => "civil_defense",
            AgencyKind::Commune => "commune",
            AgencyKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<AgencyKind> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// Someone to reach at an agency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Where an agency takes its alerts by HTTP; the secret signs each delivery.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    pub secret: String,
}

/// An agency of the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct Agency {
    pub id: String,
    pub name: String,
    pub kind: AgencyKind,
    /// An id of the configured areas; `None` = the whole province.
    pub area: Option<String>,
    pub contacts: Vec<Contact>,
    pub webhook: Option<Webhook>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// An integrator's API token: named, narrowed to some of its role's permissions, expiring,
/// revocable; only its SHA-256 is kept (the token is shown once, when issued).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// A short public id (`tok_…`), for listing and revoking; not the secret.
    pub id: String,
    pub name: String,
    /// The integrator account it acts as.
    pub username: String,
    pub token_hash: String,
    /// What it may do: some of its account's role's permissions (empty = all of them).
    pub permissions: Vec<super::roles::Permission>,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub last_used_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}
