//! The device model shared by every iochub binary (hub, simulators, edge agent).
//!
//! Layout:
//! - [`key`]: device keys and metric names, validated once at the edge
//! - [`catalog`]: the metric catalog (units, valid ranges, labels)
//! - [`reading`]: a validated [`Reading`], and why input was refused ([`Reject`])
//! - [`senml`], [`flat`]: the two payload codecs of docs/CONTRACT.md ("MQTT")
//! - [`decode`]: payload sniffing plus validation against the catalog and the clock
//!
//! Nothing here allocates per reading beyond the strings a [`Reading`] owns, and nothing panics on
//! input: every refusal becomes a [`Reject`] with a reason that the hub counts and dead-letters.

pub mod catalog;
pub mod decode;
pub mod flat;
pub mod key;
pub mod reading;
pub mod senml;

pub use catalog::{Catalog, MetricSpec};
pub use decode::{Decoded, Limits, decode};
pub use reading::{Reading, Reject, RejectReason};
