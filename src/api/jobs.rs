//! Jobs that outlast their request: a backtest started by `POST /api/v1/rules/backtest` runs on
//! its own task and is read back with `GET /api/v1/jobs/{id}` (its progress, then its result).
//!
//! Bounds: one job runs at a time (a backtest reads the store the hub writes to: one is enough
//! beside ingest), and the registry keeps the latest [`KEEP`]; an older finished job is gone
//! (404). Jobs live in memory: a restart forgets them, and ends one that runs.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::access::Caller;
use super::error::ErrorBody;
use super::error::Param;
use super::{ApiError, AppState};
use crate::replay::backtest::{Outcome, Progress};
use crate::timefmt::now_ms;

/// Jobs kept, finished or not.
pub const KEEP: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Running,
    Done,
    Failed,
}

/// A job as `GET /api/v1/jobs/{id}` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: u64,
    /// `backtest`
    pub kind: &'static str,
    pub state: JobState,
    /// Who started it.
    pub by: String,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub started_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub finished_at: Option<i64>,
    pub progress: Progress,
    /// Seconds left, estimated from the devices done so far.
    pub eta_s: Option<f64>,
    pub result: Option<Outcome>,
    pub error: Option<String>,
}

#[derive(Default)]
struct Registry {
    next: u64,
    jobs: VecDeque<Job>,
}

/// The registry; cheap to clone.
#[derive(Clone, Default)]
pub struct Jobs(Arc<Mutex<Registry>>);

impl Jobs {
    /// Registers a running job, unless one is running already.
    pub fn start(&self, kind: &'static str, by: &str) -> Result<u64, ApiError> {
        let mut reg = self
            .0
            .lock()
            .map_err(|_| ApiError::conflict("jobs unavailable"))?;
        if let Some(running) = reg.jobs.iter().find(|j| j.state == JobState::Running) {
            return Err(ApiError::conflict(format!(
                "job {} is still running (GET /api/v1/jobs/{}); one runs at a time",
                running.id, running.id
            )));
        }
        reg.next += 1;
        let id = reg.next;
        reg.jobs.push_back(Job {
            id,
            kind,
            state: JobState::Running,
            by: by.to_owned(),
            started_at: now_ms(),
            finished_at: None,
            progress: Progress::default(),
            eta_s: None,
            result: None,
            error: None,
        });
        while reg.jobs.len() > KEEP {
            // the oldest finished one goes (the running one is the newest)
            match reg.jobs.iter().position(|j| j.state != JobState::Running) {
                Some(i) => {
                    reg.jobs.remove(i);
                }
                None => break,
            }
        }
        Ok(id)
    }

    fn with(&self, id: u64, f: impl FnOnce(&mut Job)) {
        if let Ok(mut reg) = self.0.lock()
            && let Some(job) = reg.jobs.iter_mut().find(|j| j.id == id)
        {
            f(job);
        }
    }

    pub fn progress(&self, id: u64, p: &Progress) {
        self.with(id, |job| {
            job.progress = *p;
            let elapsed = (now_ms() - job.started_at) as f64 / 1000.0;
            job.eta_s = (p.devices_done > 0).then(|| {
                let share = p.devices_done as f64 / p.devices.max(1) as f64;
                (elapsed / share - elapsed).max(0.0)
            });
        });
    }

    pub fn finish(&self, id: u64, result: Result<Outcome, String>) {
        self.with(id, |job| {
            job.finished_at = Some(now_ms());
            job.eta_s = Some(0.0);
            match result {
                Ok(outcome) => (job.state, job.result) = (JobState::Done, Some(outcome)),
                Err(e) => (job.state, job.error) = (JobState::Failed, Some(e)),
            }
        });
    }

    pub fn get(&self, id: u64) -> Option<Job> {
        self.0
            .lock()
            .ok()
            .and_then(|reg| reg.jobs.iter().find(|j| j.id == id).cloned())
    }
}

/// A job's progress and, once it is done, its result.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "rules", security(("bearer" = [])),
    params(("id" = u64, Path, description = "job id")),
    responses((status = 200, body = Job), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    _: Caller,
    State(state): State<AppState>,
    Param(id): Param<u64>,
) -> Result<Json<Job>, ApiError> {
    state
        .jobs
        .get(id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no job {id} (the latest {KEEP} are kept)")))
}
