//! iochub: MQTT in, rules over a sharded stream, storage, alerts, live push out.
//!
//! Layout (data flows down this list, never back up):
//! - [`ingest`]: MQTT client, topics, decoding hand-off, ordered acks after commit
//! - [`engine`]: router (hash of device -> shard), shard workers, rules and their hot reload
//! - [`storage`]: the `Store` trait, the batcher, the SQLite backend
//! - [`alerts`]: alert lifecycle (open / update / resolve) and its persistence
//! - [`ws`]: live feed, per-client filters and conflation for `GET /ws`
//! - [`api`]: HTTP handlers, auth, OpenAPI
//! - [`web`]: the dashboard's assets (`dashboards/web`), embedded in the binary
//! - [`accounts`]: password hashes, session tokens, the first admin
//! - [`broker`]: the embedded rumqttd of `iochub demo`
//! - [`app`]: wires the tasks together and shuts them down in order
//! - [`areas`]: administrative boundaries and map selections (area, circle, polygon)
//! - [`config`], [`health`], [`metrics`], [`timefmt`]: cross-cutting plumbing

pub mod accounts;
pub mod alerts;
pub mod api;
pub mod app;
pub mod areas;
pub mod broker;
pub mod config;
pub mod demo;
pub mod engine;
pub mod health;
pub mod ingest;
pub mod metrics;
pub mod pipeline;
pub mod storage;
pub mod timefmt;
pub mod tls;
pub mod web;
pub mod ws;
