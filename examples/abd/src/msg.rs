//! ABD's messages and timestamps.

use serde::Serialize;
use sim_core::Value;

/// A write's timestamp: a counter, ties broken by the writer's node id. Ordered
/// lexicographically, so two writers never pick the same one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Timestamp {
    /// Greater than every counter the writer saw on a majority.
    pub counter: u64,
    /// The writing client's node id.
    pub writer: u32,
}

/// Messages between clients and servers. `phase` names the client's round trip; answers
/// carry it back so the client can tell a stale answer from a current one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum AbdMsg {
    /// Client to server: what do you hold for `key`?
    Query {
        /// The round trip.
        phase: u64,
        /// The register.
        key: u64,
    },
    /// Server to client: this, under this timestamp.
    Held {
        /// The round trip asked in.
        phase: u64,
        /// The timestamp of `value`.
        ts: Timestamp,
        /// The value (nil when never written).
        value: Value,
    },
    /// Client to server: keep `value` under `ts` unless you hold a newer one.
    Store {
        /// The round trip.
        phase: u64,
        /// The register.
        key: u64,
        /// The value's timestamp.
        ts: Timestamp,
        /// The value.
        value: Value,
    },
    /// Server to client: stored (or already newer), and durable.
    Stored {
        /// The round trip answered.
        phase: u64,
    },
}
