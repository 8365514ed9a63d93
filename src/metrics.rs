//! Every metric the hub exports, one small function per event, named `iochub_<area>_<what>_<unit>`.
//!
//! The `metrics` facade is lock-free on the recording side; the Prometheus recorder renders at
//! `GET /metrics`.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the global recorder once per process and returns its handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .unwrap_or_else(|_| PrometheusBuilder::new())
                .build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

fn describe() {
    describe_counter!("iochub_ingest_messages_total", "MQTT messages received");
    describe_counter!(
        "iochub_engine_readings_total",
        "Readings evaluated by the rule engine (stored or not)"
    );
    describe_counter!(
        "iochub_engine_late_readings_total",
        "Readings older than a window or rate rule's oldest bucket, not counted in it"
    );
    describe_counter!(
        "iochub_ingest_readings_total",
        "Readings committed to storage"
    );
    describe_counter!(
        "iochub_ingest_duplicates_total",
        "Redelivered readings already stored"
    );
    describe_counter!(
        "iochub_ingest_rejected_total",
        "Readings or messages refused, by reason"
    );
    describe_counter!(
        "iochub_ingest_acks_total",
        "MQTT messages acked after commit"
    );
    describe_counter!(
        "iochub_ingest_stale_acks_total",
        "Acks dropped because the connection changed"
    );
    describe_gauge!(
        "iochub_ingest_connected",
        "1 while the ingest MQTT connection is up"
    );
    describe_gauge!(
        "iochub_ingest_unacked_messages",
        "Messages received and not yet acked"
    );
    describe_gauge!(
        "iochub_engine_queue_depth",
        "Items queued for a shard worker"
    );
    describe_gauge!(
        "iochub_storage_queue_depth",
        "Items queued for the storage batcher"
    );
    describe_histogram!(
        "iochub_storage_batch_commit_seconds",
        "Time to commit one batch"
    );
    describe_histogram!(
        "iochub_storage_batch_readings",
        "Readings per committed batch"
    );
    describe_counter!(
        "iochub_storage_write_errors_total",
        "Failed batch commits (retried)"
    );
    describe_counter!(
        "iochub_storage_rollup_buckets_total",
        "Rollup buckets written, by level"
    );
    describe_counter!(
        "iochub_storage_retention_dropped_total",
        "Data removed by retention, by kind"
    );
    describe_counter!("iochub_alerts_opened_total", "Alerts opened");
    describe_histogram!(
        "iochub_alerts_commit_seconds",
        "Time to commit one batch of alert changes"
    );
    describe_counter!(
        "iochub_alerts_updated_total",
        "Repeat firings folded into an open alert"
    );
    describe_counter!("iochub_alerts_resolved_total", "Alerts resolved");
    describe_gauge!("iochub_ws_clients", "Connected WebSocket clients");
    describe_counter!(
        "iochub_camera_health_dropped_total",
        "Camera health reports dropped because the engine's queue was full"
    );
    describe_gauge!(
        "iochub_camera_streams_open",
        "Camera streams the hub pulls now (one per camera stream, however many watch it)"
    );
    describe_gauge!(
        "iochub_camera_viewers",
        "Browsers watching a camera stream over /ws/video"
    );
    describe_counter!(
        "iochub_camera_viewer_skips_total",
        "Times a viewer fell behind and was skipped ahead to the next keyframe"
    );
    describe_counter!(
        "iochub_camera_pictures_skipped_total",
        "Camera keyframes not checked for a frozen or dark picture because every decoder was busy"
    );
    describe_counter!(
        "iochub_camera_picture_errors_total",
        "Camera keyframes that could not be decoded for the frozen/dark check or a snapshot"
    );
    describe_counter!(
        "iochub_ws_lagged_total",
        "Lagged notices sent to slow WebSocket clients"
    );
    describe_counter!(
        "iochub_ws_conflated_total",
        "Telemetry frames replaced by a newer value for a slow client"
    );
    describe_counter!("iochub_rules_reloads_total", "Rule set reloads, by result");
    describe_gauge!("iochub_rules_loaded", "Rules in the active rule set");
    describe_counter!(
        "iochub_audit_records_total",
        "Records appended to the audit trail"
    );
    describe_counter!(
        "iochub_audit_write_failures_total",
        "Audit records that could not be written (logged as errors)"
    );
    describe_counter!(
        "iochub_auth_logins_total",
        "Password logins, by result (ok, denied, limited: refused by the per-address limit)"
    );
    describe_counter!(
        "iochub_mqtt_auth_refused_total",
        "Embedded broker (--mqtt-auth): refused CONNECTs (bad credentials) and PUBLISHes (topic not the device's), by what"
    );
}

pub fn ingest_message() {
    counter!("iochub_ingest_messages_total").increment(1);
}

pub fn ingest_rejected(reason: &'static str) {
    counter!("iochub_ingest_rejected_total", "reason" => reason).increment(1);
}

pub fn ingest_committed(inserted: u64, duplicates: u64) {
    counter!("iochub_ingest_readings_total").increment(inserted);
    if duplicates > 0 {
        counter!("iochub_ingest_duplicates_total").increment(duplicates);
    }
}

pub fn ingest_acked(n: u64) {
    counter!("iochub_ingest_acks_total").increment(n);
}

pub fn ingest_stale_acks(n: u64) {
    counter!("iochub_ingest_stale_acks_total").increment(n);
}

pub fn ingest_connected(up: bool) {
    gauge!("iochub_ingest_connected").set(if up { 1.0 } else { 0.0 });
}

pub fn ingest_unacked(n: usize) {
    gauge!("iochub_ingest_unacked_messages").set(n as f64);
}

/// The queue-depth gauge of one shard, registered once (not per message).
pub fn engine_queue_depth(shard: usize) -> metrics::Gauge {
    gauge!("iochub_engine_queue_depth", "shard" => shard.to_string())
}

/// Readings a window or rate rule could not count: older than its window's oldest bucket.
pub fn engine_late_readings() -> metrics::Counter {
    counter!("iochub_engine_late_readings_total")
}

/// The counter of readings a shard evaluated, registered once (not per message).
pub fn engine_readings() -> metrics::Counter {
    counter!("iochub_engine_readings_total")
}

pub fn storage_queue_depth(depth: usize) {
    gauge!("iochub_storage_queue_depth").set(depth as f64);
}

pub fn storage_batch_committed(took: Duration, _items: usize, readings: usize) {
    histogram!("iochub_storage_batch_commit_seconds").record(took.as_secs_f64());
    histogram!("iochub_storage_batch_readings").record(readings as f64);
}

pub fn storage_stalled() {
    counter!("iochub_storage_stalls_total").increment(1);
}

pub fn storage_write_failed() {
    counter!("iochub_storage_write_errors_total").increment(1);
}

pub fn alert_commit(took: std::time::Duration) {
    histogram!("iochub_alerts_commit_seconds").record(took.as_secs_f64());
}

pub fn alert_opened() {
    counter!("iochub_alerts_opened_total").increment(1);
}

pub fn alert_updated() {
    counter!("iochub_alerts_updated_total").increment(1);
}

pub fn alert_resolved() {
    counter!("iochub_alerts_resolved_total").increment(1);
}

/// A webhook delivery attempt's outcome: `pending` (failed, retried later), `delivered`, `dead`.
pub fn alert_delivery(result: &'static str) {
    counter!("iochub_alerts_deliveries_total", "result" => result).increment(1);
}

/// An escalation tier applied to an alert.
pub fn alert_escalated() {
    counter!("iochub_alerts_escalations_total").increment(1);
}

/// A handling action taken on an alert (`acknowledge`, `dispatch`, …).
pub fn alert_action(action: &'static str) {
    counter!("iochub_alerts_actions_total", "action" => action).increment(1);
}

pub fn ws_clients(delta: f64) {
    gauge!("iochub_ws_clients").increment(delta);
}

pub fn camera_health_dropped() {
    counter!("iochub_camera_health_dropped_total").increment(1);
}

pub fn camera_streams_open(delta: f64) {
    gauge!("iochub_camera_streams_open").increment(delta);
}

pub fn camera_viewers(delta: f64) {
    gauge!("iochub_camera_viewers").increment(delta);
}

pub fn camera_viewer_skipped() {
    counter!("iochub_camera_viewer_skips_total").increment(1);
}

pub fn camera_pictures_skipped() {
    counter!("iochub_camera_pictures_skipped_total").increment(1);
}

pub fn camera_picture_error() {
    counter!("iochub_camera_picture_errors_total").increment(1);
}

pub fn ws_lagged() {
    counter!("iochub_ws_lagged_total").increment(1);
}

pub fn ws_conflated() {
    counter!("iochub_ws_conflated_total").increment(1);
}

pub fn rules_reloaded(ok: bool, rules: usize) {
    counter!("iochub_rules_reloads_total", "result" => if ok { "ok" } else { "error" })
        .increment(1);
    if ok {
        gauge!("iochub_rules_loaded").set(rules as f64);
    }
}

pub fn audit_written(n: usize) {
    counter!("iochub_audit_records_total").increment(n as u64);
}

pub fn audit_write_failed() {
    counter!("iochub_audit_write_failures_total").increment(1);
}

pub fn login(ok: bool) {
    counter!("iochub_auth_logins_total", "result" => if ok { "ok" } else { "denied" }).increment(1);
}

/// A login refused by the per-address limit, before any hashing.
pub fn login_limited() {
    counter!("iochub_auth_logins_total", "result" => "limited").increment(1);
}

/// The embedded broker refused a `connect` or a `publish`.
pub fn mqtt_auth_refused(what: &'static str) {
    counter!("iochub_mqtt_auth_refused_total", "what" => what).increment(1);
}

/// Rollup buckets written by a maintenance pass, by level (`1m`, `1h`).
pub fn rollup_buckets(level: &'static str, n: u64) {
    counter!("iochub_storage_rollup_buckets_total", "level" => level).increment(n);
}

/// Data removed by retention: raw rows (SQLite), daily partitions (PostgreSQL), rollup rows.
pub fn retention_dropped(kind: &'static str, n: u64) {
    counter!("iochub_storage_retention_dropped_total", "kind" => kind).increment(n);
}

#[cfg(test)]
mod tests {
    /// Every `iochub_*` series the shipped Grafana dashboard queries is one this module exports.
    #[test]
    fn grafana_dashboard_uses_only_exported_metrics() {
        let dash: serde_json::Value =
            serde_json::from_str(include_str!("../dashboards/grafana/iochub.json"))
                .expect("valid JSON");
        let source = include_str!("metrics.rs");
        let mut used = 0;
        for panel in dash["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().expect("targets") {
                let expr = target["expr"].as_str().expect("expr");
                for name in expr
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|w| w.starts_with("iochub_"))
                {
                    let base = name.trim_end_matches("_bucket");
                    assert!(
                        source.contains(&format!("\"{base}\"")),
                        "dashboard uses unknown metric {name}"
                    );
                    used += 1;
                }
            }
        }
        assert!(
            used >= 15,
            "the dashboard covers the hub's metrics ({used})"
        );
    }
}
