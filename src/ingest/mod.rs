//! Ingest: the MQTT client that subscribes to `ioc/+/telemetry` and `ioc/+/status` with QoS 1 and
//! manual acks, decodes payloads, routes readings to the shards, and acks each message only
//! after everything it carried is committed (or dead-lettered), in arrival order.
//!
//! Bounds: the number of unacked messages is bounded by the broker's in-flight window and by the
//! shard and storage queues; when they are full, ingest waits and acks stop, so the broker holds
//! the backlog. Ingest never drops a QoS 1 message it has not committed.

pub mod acks;
pub mod mqtt;
pub mod topic;
