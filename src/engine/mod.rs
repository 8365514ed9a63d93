//! The stream processor: readings are routed by a hash of the device key to one shard worker per
//! core; each shard is the single owner of its series' rule state, so evaluating a reading takes
//! no lock. Rule sets are swapped atomically (`ArcSwap`), checked once per input, not per reading.
//!
//! Bounds: each shard has a bounded input queue; a full queue blocks ingest, which withholds
//! MQTT acks. A shard never drops a reading.

pub mod evaluator;
pub mod reload;
pub mod rules;
pub mod shard;

pub use evaluator::Evaluator;
pub use rules::{Rule, RuleError, RuleSet};
pub use shard::Shard;
