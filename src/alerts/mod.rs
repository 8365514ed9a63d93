//! Alerts: the model ([`Alert`] and its timeline), the lifecycle (what a rule's fire or clear
//! does), the handling rules (what people may do to an alert), the routing and escalation policy,
//! and the [`AlertManager`] that owns the live alerts, has the store commit each decision and
//! pushes the result live.
//!
//! The stores persist what the lifecycle and the handling rules decide ([`AlertWrite`]); they
//! hold no alert logic.

pub mod delivery;
pub mod escalation;
pub mod handling;
pub mod lifecycle;
pub mod manager;
pub mod model;
pub mod policy;

pub use lifecycle::Lifecycle;
pub use manager::AlertManager;
pub use model::{Alert, AlertEvent, AlertQuery, AlertState, AlertWrite, StateFilter};
