//! What part of the province an account sees: its areas (none = all of it) and, for an agency
//! handler (or an agency's integrator), only the alerts forwarded to its own agency. The same [`Scope`] filters the HTTP lists and the
//! live feed, so a handler's `/ws` carries nothing its `GET` would not show.

use std::sync::Arc;

use crate::areas::{Area, Areas};

use super::model::{Agency, Role, User};
use crate::alerts::model::Alert;

#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Devices and alerts must lie in one of these; empty = anywhere.
    pub areas: Vec<Arc<Area>>,
    /// Only alerts forwarded to this agency (an agency handler's scope); `None` = every alert.
    pub alerts_of_agency: Option<String>,
}

impl Scope {
    /// The scope of `user`: their own areas, else (for a handler) their agency's area. An area id
    /// that is no longer configured matches nothing rather than everything.
    pub fn of(user: &User, agency: Option<&Agency>, areas: &Areas) -> Self {
        let handler = user.role == Role::AgencyHandler;
        let agency_side = handler || user.role == Role::Integrator;
        let ids: Vec<&str> = if !user.areas.is_empty() {
            user.areas.iter().map(String::as_str).collect()
        } else if handler {
            agency.and_then(|a| a.area.as_deref()).into_iter().collect()
        } else {
            Vec::new()
        };
        let mut scope = Scope {
            areas: ids.iter().filter_map(|id| areas.get(id)).collect(),
            alerts_of_agency: agency_side
                .then(|| user.agency.clone().unwrap_or_else(|| "-".into())),
        };
        if scope.areas.is_empty() && !ids.is_empty() {
            scope.areas.push(Arc::new(Area::nowhere()));
        }
        scope
    }

    /// Everything: the admin's and every unscoped role's.
    pub fn everything(&self) -> bool {
        self.areas.is_empty() && self.alerts_of_agency.is_none()
    }

    /// Whether a device at this position is in scope (an unknown position is not, once areas
    /// narrow the scope).
    pub fn sees_position(&self, position: Option<(f64, f64)>) -> bool {
        self.areas.is_empty()
            || position
                .is_some_and(|(lon, lat)| self.areas.iter().any(|a| a.shape.contains(lon, lat)))
    }

    /// Whether an alert forwarded to `agencies`, about a place at `position`, is in scope: for
    /// an agency's account, one forwarded to its agency (wherever it is); else one in its areas.
    pub fn sees_alert(&self, agencies: &[String], position: Option<(f64, f64)>) -> bool {
        match &self.alerts_of_agency {
            Some(own) => agencies.iter().any(|a| a == own),
            None => self.sees_position(position),
        }
    }

    /// [`Self::sees_alert`] for a stored alert; `device_position` stands in for an alert that
    /// has no place of its own.
    pub fn sees(&self, alert: &Alert, device_position: Option<(f64, f64)>) -> bool {
        self.sees_alert(&alert.agencies, alert.position().or(device_position))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, areas: &[&str], agency: Option<&str>) -> User {
        User {
            agency: agency.map(Into::into),
            areas: areas.iter().map(|a| (*a).to_owned()).collect(),
            ..User::new("u", role, 0)
        }
    }

    #[test]
    fn areas_narrow_and_handlers_see_their_agency_only() {
        let areas = Areas::parse([("demo", iochub_sim::province::AREAS_GEOJSON)]).expect("areas");
        let city = Some((106.257, 22.666));
        let west = Some((105.55, 22.88));
        let all = Scope::of(&user(Role::Operator, &[], None), None, &areas);
        assert!(all.everything() && all.sees_position(None) && all.sees_alert(&[], west));

        let scoped = Scope::of(
            &user(Role::Operator, &["cb-p-thucphan"], None),
            None,
            &areas,
        );
        assert!(scoped.sees_position(city) && !scoped.sees_position(west));
        assert!(!scoped.sees_position(None), "no position, not in any area");
        assert!(scoped.sees_alert(&[], city) && !scoped.sees_alert(&[], west));

        let gone = Scope::of(&user(Role::Viewer, &["atlantis"], None), None, &areas);
        assert!(
            !gone.sees_position(city),
            "an unknown area id matches nothing"
        );

        let handler = Scope::of(
            &user(Role::AgencyHandler, &[], Some("police")),
            None,
            &areas,
        );
        let forwarded = |a: &[&str]| a.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert!(handler.sees_alert(&forwarded(&["police"]), west));
        assert!(
            handler.sees_alert(&forwarded(&["fire", "police"]), west),
            "a coordinating agency sees it too"
        );
        assert!(!handler.sees_alert(&forwarded(&["fire"]), city) && !handler.sees_alert(&[], city));
        let integrator = Scope::of(&user(Role::Integrator, &[], Some("police")), None, &areas);
        assert!(integrator.sees_alert(&forwarded(&["police"]), west));
        assert!(!integrator.sees_alert(&forwarded(&["fire"]), west));
        let orphan = Scope::of(&user(Role::AgencyHandler, &[], None), None, &areas);
        assert!(
            !orphan.sees_alert(&[], city),
            "a handler without an agency sees no alert"
        );
    }
}
