//! The HTTP API (`/api/v1`, JSON), `/healthz`, `/metrics`, `/ws`, and the OpenAPI document that
//! utoipa generates from the handlers below.
//!
//! Every route but `/healthz` and the login requires a session (bearer token or cookie) and the
//! permission [`access::ROUTES`] names for it; `/metrics` may be opened for a scraper on a
//! trusted network by configuration. Errors are JSON naming the field at fault
//! ([`error::ApiError`]).

pub mod access;
pub mod agencies;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod browser;
pub mod cameras;
pub mod catalog;
pub mod devices;
pub mod error;
pub mod incidents;
pub mod jobs;
pub mod map;
pub mod proxy;
pub mod reports;
pub mod rules;
pub mod systems;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod wall;

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;

use crate::engine::RuleSet;
use crate::health::Health;

use crate::storage::Store;
use crate::ws::LiveFeed;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Where handling actions go: the alert manager, their one owner.
    pub alerts: crate::alerts::manager::AlertDesk,
    pub accounts: crate::accounts::Accounts,
    pub audit: crate::audit::Audit,
    pub reports: crate::reports::Reports,
    pub live: LiveFeed,
    pub health: Arc<Health>,
    pub metrics: PrometheusHandle,
    pub rules: Arc<ArcSwap<RuleSet>>,
    /// The rules file `PUT /api/v1/rules` writes (the one the hub reloads).
    pub rules_file: Arc<rules::RulesFile>,
    /// Backtests started through the API.
    pub jobs: jobs::Jobs,
    pub metrics_public: bool,
    pub assets: crate::web::Assets,
    pub areas: Arc<crate::areas::Areas>,
    pub map: crate::config::MapConfig,
    /// Origins besides the hub's own that may open `/ws` and send changes with the cookie.
    pub allowed_origins: Arc<Vec<String>>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (audit address, login limit).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    pub login_throttle: Arc<throttle::LoginThrottle>,
    /// Devices' MQTT accounts, reloaded after a credential or gateway change.
    pub device_accounts: Arc<crate::accounts::mqtt::DeviceAccounts>,
    /// The hub serves HTTPS itself: HSTS on every response, `Secure` on the session cookie.
    pub https: bool,
    /// The cameras' running streams.
    pub cameras: crate::camera::Cameras,
}

/// The body limit of the requests that may carry a photo: 4 MiB as base64, and the rest.
const PHOTO_BODY_LIMIT: usize = 6 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "iochub", description = "IoT and camera telemetry hub for an Intelligent Operations Center"),
    modifiers(&BearerAuth),
    tags((name = "devices"), (name = "alerts"), (name = "ingest"), (name = "auth"), (name = "accounts"), (name = "audit"), (name = "reports"), (name = "map"), (name = "system"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let security = browser::SecurityHeaders::new(&state.map, state.https);
    let (api, doc) = documented();
    let doc = Arc::new(doc);
    api.route(
        "/api/v1/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { Json(doc.as_ref().clone()) }
        }),
    )
    .route("/metrics", get(metrics))
    .route("/ws", get(ws))
    .route("/ws/video/{camera}", get(video))
    .route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        access::guard,
    ))
    .fallback(fallback)
    .layer(axum::middleware::map_response(move |resp: Response| {
        let security = security.clone();
        async move { security.apply(resp) }
    }))
    .with_state(state)
}

/// The OpenAPI document the hub serves at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().1
}

/// The documented routes, and their document with the guard's answers ([`access::document`]).
fn documented() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (api, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::password))
        .routes(routes!(auth::totp_enrol, auth::totp_disable))
        .routes(routes!(auth::totp_confirm))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::patch))
        .routes(routes!(users::lock))
        .routes(routes!(users::unlock))
        .routes(routes!(users::revoke))
        .routes(routes!(users::reset_password))
        .routes(routes!(users::reset_totp))
        .routes(routes!(reports::handling))
        .routes(routes!(reports::data_supply))
        .routes(routes!(reports::issued, reports::issue))
        .routes(routes!(reports::issued_one))
        .routes(routes!(cameras::list, cameras::create))
        .routes(routes!(cameras::get, cameras::patch, cameras::delete))
        .routes(routes!(cameras::snapshot))
        .routes(routes!(wall::list))
        .routes(routes!(wall::get, wall::put, wall::delete))
        .routes(routes!(systems::list, systems::create))
        .routes(routes!(systems::get, systems::patch))
        .routes(routes!(agencies::list, agencies::create))
        .routes(routes!(agencies::get, agencies::patch))
        .routes(routes!(audit::list))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(map::config))
        .routes(routes!(catalog::catalog))
        .routes(routes!(map::areas))
        .routes(routes!(map::summary))
        .routes(routes!(devices::list))
        .routes(routes!(devices::get, devices::patch))
        .routes(routes!(devices::readings))
        .routes(routes!(
            devices::issue_credentials,
            devices::revoke_credentials
        ))
        .routes(routes!(alerts::list))
        .routes(routes!(alerts::get))
        .routes(routes!(alerts::timeline))
        .routes(routes!(alerts::acknowledge))
        .routes(routes!(alerts::dispatch))
        .routes(routes!(alerts::start))
        .routes(routes!(alerts::resolve))
        .routes(routes!(alerts::close))
        .routes(routes!(alerts::reopen))
        .merge(
            // A comment and a field report may carry a photo (4 MiB, base64): a larger body.
            OpenApiRouter::new()
                .routes(routes!(alerts::comment))
                .routes(routes!(incidents::report))
                .layer(axum::extract::DefaultBodyLimit::max(PHOTO_BODY_LIMIT)),
        )
        .routes(routes!(incidents::attachment))
        .routes(routes!(alerts::assign))
        .routes(routes!(alerts::deliveries))
        .routes(routes!(alerts::dead_letters))
        .routes(routes!(rules::list, rules::replace))
        .routes(routes!(rules::validate))
        .routes(routes!(rules::file))
        .routes(routes!(rules::backtest))
        .routes(routes!(jobs::get))
        .routes(routes!(healthz))
        .split_for_parts();
    access::document(&mut doc);
    (api, doc)
}

/// Anything outside the API is the dashboard.
async fn fallback(State(state): State<AppState>, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return ApiError::not_found("no such route").into_response();
    }
    state.assets.serve(&uri).await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HealthReport {
    /// `ok` or `degraded`
    pub status: &'static str,
    pub problems: Vec<Problem>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub component: String,
    pub reason: String,
}

/// Liveness and readiness: 200 when healthy, 503 with the reasons when degraded.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, body = HealthReport), (status = 503, body = HealthReport)))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    let problems: Vec<Problem> = state
        .health
        .problems()
        .into_iter()
        .map(|(component, reason)| Problem { component, reason })
        .collect();
    let (code, status) = if problems.is_empty() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "degraded")
    };
    (code, Json(HealthReport { status, problems })).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn ws(
    caller: access::Caller,
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let session = session_bound(caller, &state, &headers);
    upgrade.on_upgrade(move |socket| {
        crate::ws::client::serve(socket, state.live.clone(), state.areas.clone(), session)
    })
}

/// What a socket's session allows and when it ends.
fn session_bound(
    caller: access::Caller,
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> crate::ws::client::SessionBound {
    let token = access::token_from(headers).map(str::to_owned);
    let accounts = state.accounts.clone();
    // The idle timeout ends a session without anyone cancelling it: the socket asks.
    let still_live: crate::ws::client::StillLive = Box::new(move || {
        let (accounts, token) = (accounts.clone(), token.clone());
        Box::pin(async move {
            let Some(token) = token else { return true };
            let checked = accounts
                .authenticate(&token, crate::timefmt::now_ms(), false)
                .await;
            // A store that cannot answer right now does not close anyone's wall.
            !matches!(checked, Err(crate::accounts::AccountError::SessionEnded))
        })
    });
    crate::ws::client::SessionBound {
        scope: caller.scope,
        ended: caller.ended,
        expires_at_ms: caller.expires_at,
        still_live,
    }
}

/// `GET /ws/video/{camera}[?stream=sub]`: the camera's live video as fMP4 for MSE (see
/// `ws::video`), to an account that sees the camera's place.
async fn video(
    caller: access::Caller,
    State(state): State<AppState>,
    axum::extract::Path(camera): axum::extract::Path<String>,
    axum::extract::Query(q): axum::extract::Query<cameras::StreamQuery>,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let kind = q.kind()?;
    cameras::visible(&state, &caller, &camera).await?;
    let viewer = (state.cameras.watch(&camera, kind))
        .ok_or_else(|| ApiError::not_found(format!("no camera {camera:?}")))?;
    let session = session_bound(caller, &state, &headers);
    Ok(upgrade.on_upgrade(move |socket| crate::ws::video::serve(socket, viewer, session)))
}

/// For PATCH bodies: `null` clears a field, absence leaves it as it is.
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::access::{ROUTES, route};
    use crate::accounts::Permission;

    fn statuses(doc: &serde_json::Value, method: &str, path: &str) -> Vec<String> {
        let op = &doc["paths"][path][method.to_lowercase()];
        let responses = op["responses"].as_object();
        responses.map_or_else(Vec::new, |r| r.keys().cloned().collect())
    }

    /// What scripts/fuzz-api found answered but undocumented: the guard's 401 and 403 on every
    /// route that needs a session, and the handlers' own 400/404/409.
    #[test]
    fn the_document_names_every_answer_of_the_guard_and_the_handlers() {
        let doc = serde_json::to_value(super::openapi()).expect("document");
        let mut operations = 0;
        for (path, ops) in doc["paths"].as_object().expect("paths") {
            for method in ops.as_object().expect("operations").keys() {
                let method = method.to_uppercase();
                let r = route(&method.parse().expect("method"), path).expect("in the table");
                let documented = statuses(&doc, &method, path);
                if path.contains('{') {
                    // error::Param refuses a segment that is not UTF-8 once decoded
                    assert!(
                        documented.iter().any(|s| s == "400"),
                        "{method} {path} lacks 400: {documented:?}"
                    );
                }
                if r.permission != Permission::Public {
                    for status in ["401", "403"] {
                        assert!(
                            documented.iter().any(|s| s == status),
                            "{method} {path} lacks {status}: {documented:?}"
                        );
                    }
                }
                operations += 1;
            }
        }
        assert_eq!(
            operations + 4,
            ROUTES.len(),
            "all but openapi.json, /ws, /ws/video/{{camera}}, /metrics"
        );
        for (method, path, status) in [
            ("POST", "/api/v1/auth/login", "400"),
            ("POST", "/api/v1/auth/login", "429"),
            ("GET", "/api/v1/alerts/{id}", "400"),
            ("GET", "/api/v1/devices/{device}", "400"),
            ("DELETE", "/api/v1/devices/{device}/credentials", "400"),
            ("GET", "/api/v1/devices/{device}/readings", "404"),
            ("GET", "/api/v1/users", "400"),
            ("POST", "/api/v1/tokens", "409"),
        ] {
            let documented = statuses(&doc, method, path);
            assert!(
                documented.iter().any(|s| s == status),
                "{method} {path} lacks {status}: {documented:?}"
            );
        }
    }

    /// Two `status = 200` entries (JSON, CSV) kept only the last: the JSON body was undocumented.
    #[test]
    fn an_export_documents_both_its_json_and_its_csv() {
        let doc = serde_json::to_value(super::openapi()).expect("document");
        for path in ["/api/v1/devices/{device}/readings", "/api/v1/audit"] {
            let content = &doc["paths"][path]["get"]["responses"]["200"]["content"];
            assert!(
                content["application/json"]["schema"].is_object(),
                "{path}: {content}"
            );
            assert_eq!(content["text/csv"]["schema"]["type"], "string", "{path}");
        }
    }
}
