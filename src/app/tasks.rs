//! Every task the hub runs, tracked, and the two signals that stop them.
//!
//! A stage that panics or fails (its task ends with an error) must not leave the hub half alive,
//! taking messages it can no longer process: its failure is logged, marked on `/healthz`, and
//! trips [`Tasks::failed`], which `app::run` treats like a stop request before it exits with the
//! failure. Every task is spawned through [`Tasks::spawn`] into one `TaskTracker`, so none is lost
//! and the hub can wait for all of them at the end.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::error;

use crate::health::Health;

/// How a task's output says it failed: `()` never does, a `Result` does with its `Err`.
pub trait Outcome {
    fn failure(&self) -> Option<String>;
}

impl Outcome for () {
    fn failure(&self) -> Option<String> {
        None
    }
}

impl<T, E: std::fmt::Display> Outcome for Result<T, E> {
    fn failure(&self) -> Option<String> {
        self.as_ref().err().map(ToString::to_string)
    }
}

/// The first stage that failed, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct StageFailure {
    pub stage: &'static str,
    pub reason: String,
}

#[derive(Clone)]
pub struct Tasks {
    tracker: TaskTracker,
    /// Stop taking input: the simulator, HTTP and MQTT watch it.
    pub input: CancellationToken,
    /// Stop the upkeep loops (maintenance, rule reload, metrics), once storage has flushed.
    pub upkeep: CancellationToken,
    failed: CancellationToken,
    failure: Arc<Mutex<Option<StageFailure>>>,
    health: Arc<Health>,
}

impl Tasks {
    pub fn new(health: Arc<Health>) -> Self {
        Self {
            tracker: TaskTracker::new(),
            input: CancellationToken::new(),
            upkeep: CancellationToken::new(),
            failed: CancellationToken::new(),
            failure: Arc::default(),
            health,
        }
    }

    /// Runs `task` as `stage`. The handle yields its output, or `None` when it panicked; either
    /// way a failure has already been reported by then.
    pub fn spawn<F>(&self, stage: &'static str, task: F) -> JoinHandle<Option<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Outcome + Send + 'static,
    {
        let inner = tokio::spawn(task);
        let this = self.clone();
        self.tracker.spawn(async move {
            match inner.await {
                Ok(out) => {
                    if let Some(reason) = out.failure() {
                        this.fail(stage, reason);
                    }
                    Some(out)
                }
                Err(e) => {
                    let reason = if e.is_panic() {
                        format!("panicked: {}", panic_message(e.into_panic()))
                    } else {
                        "cancelled".to_owned()
                    };
                    this.fail(stage, reason);
                    None
                }
            }
        })
    }

    fn fail(&self, stage: &'static str, reason: String) {
        error!(stage, %reason, "a stage of the hub failed; shutting down");
        self.health.set_degraded(
            stage,
            Some(format!("failed, the hub is stopping: {reason}")),
        );
        if let Ok(mut first) = self.failure.lock() {
            first.get_or_insert(StageFailure { stage, reason });
        }
        self.failed.cancel();
    }

    /// Resolves once a stage has failed.
    pub async fn failed(&self) {
        self.failed.cancelled().await
    }

    /// The first failure, if any.
    pub fn failure(&self) -> Option<StageFailure> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    /// Waits for every task spawned so far (and any they spawn meanwhile) to end.
    pub async fn wait(&self) {
        self.tracker.close();
        self.tracker.wait().await
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(s) => (*s).to_owned(),
            Err(_) => "(no message)".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_stage_is_reported_and_trips_failed() {
        let health = Arc::new(Health::default());
        let tasks = Tasks::new(health.clone());
        let quiet = tasks.spawn("quiet", async {});
        assert_eq!(quiet.await.expect("joined"), Some(()));
        assert_eq!(tasks.failure(), None, "a task that ends well is no failure");

        let shard = tasks.spawn("shard", async {
            if std::hint::black_box(true) {
                panic!("bad reading")
            }
        });
        assert_eq!(shard.await.expect("joined"), None);
        tasks.failed().await;
        assert_eq!(
            tasks.failure(),
            Some(StageFailure {
                stage: "shard",
                reason: "panicked: bad reading".into()
            })
        );
        let problems = health.problems();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "shard");
        assert!(problems[0].1.contains("bad reading"), "{problems:?}");
        tasks.wait().await;
    }

    #[tokio::test]
    async fn an_error_ends_the_hub_and_the_first_failure_is_kept() {
        let tasks = Tasks::new(Arc::new(Health::default()));
        let ingest = tasks.spawn("ingest", async { Err::<(), _>("broker refused the login") });
        assert!(matches!(ingest.await, Ok(Some(Err(_)))));
        let later = tasks.spawn("http", async { Err::<(), _>("second") });
        let _ = later.await;
        assert_eq!(
            tasks.failure().map(|f| (f.stage, f.reason)),
            Some(("ingest", "broker refused the login".to_owned()))
        );
    }

    #[tokio::test]
    async fn wait_returns_once_every_task_ended() {
        let tasks = Tasks::new(Arc::new(Health::default()));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        let _dropped_handle = tasks.spawn("upkeep", async move {
            let _ = rx.await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let waiting = tokio::spawn({
            let tasks = tasks.clone();
            async move { tasks.wait().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a task is still running");
        tx.send(()).expect("task waits");
        waiting.await.expect("wait ends");
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
    }
}
