//! The text forms in which both backends keep the closed sets and small lists of the account
//! tables (roles, states, agency kinds; area ids, password history, contacts as JSON), so that a
//! row reads back the same from either.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{StoreError, StoreResult};
use crate::accounts::model::{AccountState, AgencyKind, Role};

fn corrupt(table: &str, column: &str, value: &str) -> StoreError {
    StoreError::Database(format!(
        "{table}.{column} holds {value:?}, which this binary does not know"
    ))
}

pub fn role(s: &str) -> StoreResult<Role> {
    Role::parse(s).ok_or_else(|| corrupt("users", "role", s))
}

pub fn state(s: &str) -> StoreResult<AccountState> {
    AccountState::parse(s).ok_or_else(|| corrupt("users", "state", s))
}

pub fn kind(s: &str) -> StoreResult<AgencyKind> {
    AgencyKind::parse(s).ok_or_else(|| corrupt("agencies", "kind", s))
}

pub fn from_json<T: DeserializeOwned>(column: &str, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Database(format!("{column}: {e}")))
}

pub fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}
