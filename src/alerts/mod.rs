//! Alerts: the model ([`Alert`]), its lifecycle (what a fire or a clear does, decided in memory
//! by one owner) and the [`AlertManager`] that owns the open alerts, has the store commit each
//! decision and pushes the result live.
//!
//! The stores persist what the lifecycle decides ([`AlertWrite`]); they hold no alert logic.
//! The alert-handling workflow (acknowledge, dispatch, routing, escalation) grows here.

pub mod lifecycle;
pub mod manager;
pub mod model;

pub use lifecycle::Lifecycle;
pub use manager::AlertManager;
pub use model::{Alert, AlertQuery, AlertState, AlertWrite};
