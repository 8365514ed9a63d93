//! iochub: MQTT in, rules over a sharded stream, storage, alerts, live push out.
//!
//! Layout, in layers (a module names only modules of its own or an earlier layer; data flows down
//! this list, never back up; `scripts/check-layers` checks it, docs/ARCHITECTURE.md explains it):
//! - [`timefmt`], [`calendar`], [`metrics`], [`health`], [`tls`], [`areas`], [`hex`]: plumbing every
//!   stage may use
//! - [`pipeline`]: what the stages pass each other (tickets, work, write items, alert decisions
//!   with typed operator and severity, the live-sink seam) and the router (device -> shard);
//!   `alerts::model`, `alerts::lifecycle`, `accounts::{model, roles, scope}`, `audit::model` and
//!   [`systems`] (connected systems) sit here too
//! - [`ingest`]: MQTT client, topics, decoding hand-off, ordered acks after commit
//! - [`engine`]: shard workers, rules and their hot reload
//! - [`storage`]: the `Store` trait, the batcher, the maintainer; the SQLite and PostgreSQL backends
//! - [`alerts`]: the alert model and lifecycle (open / update / resolve), and the manager that
//!   commits what the lifecycle decided before it is published
//! - [`accounts`]: accounts, roles, agencies and scopes; the account rules, passwords, sessions
//! - [`audit`]: the hash-chained audit trail and its verification
//! - [`reports`]: the periodic reports (alert handling; the pure computations sit with the models)
//! - [`ws`]: live feed, per-client filters and conflation for `GET /ws`
//! - [`config`]: `iochub serve`'s config file and `IOCHUB_*` variables
//! - [`api`], [`web`]: HTTP handlers, the access guard, OpenAPI; the dashboard's assets (`dashboards/web`)
//! - [`broker`], [`demo`]: the embedded rumqttd; all that `iochub demo` adds (its config, sample
//!   rules, illustrative areas, the simulated province)
//! - [`app`]: builds each stage, tracks every task, shuts them down in order

pub mod accounts;
pub mod alerts;
pub mod api;
pub mod app;
pub mod areas;
pub mod audit;
pub mod broker;
pub mod calendar;
pub mod camera;
pub mod config;
pub mod demo;
pub mod engine;
pub mod health;
pub mod hex;
pub mod ingest;
pub mod metrics;
pub mod pipeline;
pub mod replay;
pub mod reports;
pub mod storage;
pub mod systems;
pub mod timefmt;
pub mod tls;
pub mod web;
pub mod ws;
