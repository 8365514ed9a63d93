//! The role matrix: which [`Permission`] each [`Role`] holds. The API's route table
//! (`api::access::ROUTES`) names one permission per endpoint, and `/ws` checks the same ones, so
//! this table is the whole answer to "who may do what"; the tests walk it cell by cell.
//!
//! What a permission reaches is narrowed further by the caller's [`super::Scope`] (areas, agency).

use serde::Serialize;

use super::model::Role;

/// One kind of access, as coarse as the roles need and no coarser.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// No session needed: the login and `/healthz`.
    Public,
    /// Any logged-in account: who am I, change my password, log out, the OpenAPI document.
    Session,
    /// The map: its configuration, areas, the domain catalog, summaries, the live feed.
    MapRead,
    /// Devices, their latest values and their readings.
    DevicesRead,
    /// Edit and register devices.
    DevicesWrite,
    /// Alerts (an agency handler: only those of their agency).
    AlertsRead,
    /// Handling actions on alerts; which action, on which alert, is the handling rules' answer
    /// (`alerts::handling`: the IOC acknowledges and dispatches, the agency starts and resolves).
    AlertsAct,
    /// Field reports: an incident seen by a person becomes an alert.
    IncidentsReport,
    /// The active rules.
    RulesRead,
    /// The rules file: validate, replace, backtest.
    RulesManage,
    /// Operations data: dead letters, `/metrics`.
    SystemRead,
    /// The agency registry, read (operators choose whom to dispatch to).
    AgenciesRead,
    /// The agency registry, edited.
    AgenciesManage,
    /// Accounts: issue, edit, lock, unlock, revoke, reset.
    UsersManage,
    /// The audit trail.
    AuditRead,
    /// Integrators' API tokens: issue, list, revoke.
    TokensManage,
    /// The connected systems (data sources), edited.
    SystemsManage,
    /// Cameras added, edited, removed: their URLs and the credentials the hub logs in with.
    CamerasManage,
    /// The video wall's named layouts saved and removed (everyone who reads the map opens them).
    WallArrange,
    /// The periodic reports: read, export, issue.
    Reports,
}

impl Permission {
    pub const ALL: [Permission; 20] = [
        Permission::Public,
        Permission::Session,
        Permission::MapRead,
        Permission::DevicesRead,
        Permission::DevicesWrite,
        Permission::AlertsRead,
        Permission::AlertsAct,
        Permission::IncidentsReport,
        Permission::RulesRead,
        Permission::RulesManage,
        Permission::SystemRead,
        Permission::AgenciesRead,
        Permission::AgenciesManage,
        Permission::UsersManage,
        Permission::AuditRead,
        Permission::TokensManage,
        Permission::SystemsManage,
        Permission::CamerasManage,
        Permission::WallArrange,
        Permission::Reports,
    ];
}

use Permission as P;

/// The matrix, by role. `Public` and `Session` are implied for everyone logged in.
pub const MATRIX: &[(Role, &[Permission])] = &[
    (
        Role::Admin,
        &[
            P::MapRead,
            P::DevicesRead,
            P::DevicesWrite,
            P::AlertsRead,
            P::AlertsAct,
            P::IncidentsReport,
            P::RulesRead,
            P::RulesManage,
            P::SystemRead,
            P::AgenciesRead,
            P::AgenciesManage,
            P::UsersManage,
            P::AuditRead,
            P::TokensManage,
            P::SystemsManage,
            P::CamerasManage,
            P::WallArrange,
            P::Reports,
        ],
    ),
    (
        Role::Supervisor,
        &[
            P::MapRead,
            P::DevicesRead,
            P::AlertsRead,
            P::AlertsAct,
            P::IncidentsReport,
            P::RulesRead,
            P::SystemRead,
            P::AgenciesRead,
            P::WallArrange,
            P::Reports,
        ],
    ),
    (
        Role::Operator,
        &[
            P::MapRead,
            P::DevicesRead,
            P::AlertsRead,
            P::AlertsAct,
            P::IncidentsReport,
            P::RulesRead,
            P::AgenciesRead,
            P::WallArrange,
        ],
    ),
    (
        Role::AgencyHandler,
        &[
            P::MapRead,
            P::DevicesRead,
            P::AlertsRead,
            P::AlertsAct,
            P::AgenciesRead,
        ],
    ),
    (Role::Viewer, &[P::MapRead, P::DevicesRead, P::AlertsRead]),
    (
        Role::Integrator,
        &[
            P::DevicesRead,
            P::DevicesWrite,
            P::SystemRead,
            P::AlertsRead,
            P::AlertsAct,
            P::IncidentsReport,
        ],
    ),
];

impl Role {
    /// Whether this role holds `p`.
    pub fn may(self, p: Permission) -> bool {
        matches!(p, P::Public | P::Session)
            || MATRIX
                .iter()
                .find(|(r, _)| *r == self)
                .is_some_and(|(_, ps)| ps.contains(&p))
    }

    /// Everything this role holds, for `GET /api/v1/auth/me` (the web app shows what it may).
    pub fn permissions(self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| !matches!(p, P::Public | P::Session) && self.may(*p))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_has_one_row_and_admin_holds_everything() {
        for role in Role::ALL {
            assert_eq!(
                MATRIX.iter().filter(|(r, _)| *r == role).count(),
                1,
                "{role:?}"
            );
        }
        assert!(Permission::ALL.into_iter().all(|p| Role::Admin.may(p)));
    }

    #[test]
    fn only_admin_manages_accounts_and_agencies_and_reads_the_audit() {
        for role in Role::ALL {
            let admin = role == Role::Admin;
            assert_eq!(role.may(P::UsersManage), admin, "{role:?}");
            assert_eq!(role.may(P::AgenciesManage), admin, "{role:?}");
            assert_eq!(role.may(P::AuditRead), admin, "{role:?}");
            assert_eq!(role.may(P::SystemsManage), admin, "{role:?}");
            assert_eq!(role.may(P::CamerasManage), admin, "{role:?}");
            let lead = matches!(role, Role::Admin | Role::Supervisor);
            assert_eq!(role.may(P::Reports), lead, "{role:?}");
        }
        assert!(!Role::Viewer.may(P::DevicesWrite));
        assert!(!Role::Integrator.may(P::MapRead));
        assert!(Role::Viewer.permissions().contains(&P::MapRead));
    }
}
