//! The admission check: before a run starts, estimate the memory it may need with everything
//! at its limit (every node with its protocol's state, the event queue full, the history full)
//! and refuse a run whose estimate exceeds `limits.memory_bytes_max`, naming the part that
//! dominates and the field to change. A protocol declares its state through
//! [`crate::Protocol::footprint`]; one that declares nothing gets [`Footprint::UNDECLARED`].
//!
//! These are estimates, rounded up, not bounds the engine enforces byte by byte: what the engine
//! does enforce is the count of everything that grows (`limits`), and the estimate prices those
//! counts.

use crate::bounds::human_bytes;
use crate::config::Limits;
use crate::error::ConfigError;
use crate::history::HistoryEvent;

/// What a protocol declares about its memory use, per node and per message, under a busy run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// Bytes one server holds: its process, its durable storage, and its share of anything
    /// the servers share. State that grows with the cluster (a view of every member, a vote per
    /// server) belongs here, multiplied out.
    pub server_bytes: u64,
    /// Bytes one client holds.
    pub client_bytes: u64,
    /// Heap bytes a message in flight holds beyond its inline size (entries, values), on average.
    pub message_bytes: u64,
    /// Heap bytes of an operation's value in the history (a snapshot's list of balances), on
    /// average.
    pub op_value_bytes: u64,
}

impl Footprint {
    /// For a protocol that declares nothing: 256 kB per server, 16 kB per client, 256 B per
    /// message, 64 B per operation value. Generous for small clusters; a protocol with many
    /// servers declares what it really holds.
    pub const UNDECLARED: Footprint = Footprint {
        server_bytes: 256 * 1024,
        client_bytes: 16 * 1024,
        message_bytes: 256,
        op_value_bytes: 64,
    };
}

impl Default for Footprint {
    fn default() -> Self {
        Self::UNDECLARED
    }
}

/// What the engine itself keeps per node besides the node's record: its RNG, its clock, its
/// storage map and its timer list.
pub const ENGINE_NODE_BYTES: u64 = 2048;

/// How many copies of the history a run may hold at once: the engine's vector while it grows
/// (old and new buffer), the report's copy and the checker's conversion.
pub const HISTORY_COPIES: u64 = 4;

/// The memory a run may need, by part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Servers in the run.
    pub servers: u64,
    /// Clients in the run.
    pub clients: u64,
    /// Bytes per server: the engine's node plus the protocol's declared state.
    pub server_bytes: u64,
    /// Bytes per client, likewise.
    pub client_bytes: u64,
    /// The event queue full (`limits.queue_len_max` events; a growing buffer briefly holds
    /// its old and its new copy).
    pub queue_bytes: u64,
    /// The history full (`limits.history_events_max` events, [`HISTORY_COPIES`] copies).
    pub history_bytes: u64,
}

impl MemoryEstimate {
    /// The estimate for `servers` servers and `clients` clients of a protocol with
    /// `footprint`, under `limits`. `node_bytes` is the size of the engine's record of a node
    /// and `queue_entry_bytes` the size of one queue entry (both depend on the message type).
    pub fn new(
        footprint: &Footprint,
        servers: u64,
        clients: u64,
        node_bytes: u64,
        queue_entry_bytes: u64,
        limits: &Limits,
    ) -> Self {
        let engine = node_bytes.saturating_add(ENGINE_NODE_BYTES);
        let history_event = std::mem::size_of::<HistoryEvent>() as u64;
        Self {
            servers,
            clients,
            server_bytes: engine.saturating_add(footprint.server_bytes),
            client_bytes: engine.saturating_add(footprint.client_bytes),
            queue_bytes: (limits.queue_len_max as u64).saturating_mul(
                queue_entry_bytes
                    .saturating_mul(2)
                    .saturating_add(footprint.message_bytes),
            ),
            history_bytes: (limits.history_events_max as u64).saturating_mul(
                history_event
                    .saturating_add(footprint.op_value_bytes)
                    .saturating_mul(HISTORY_COPIES),
            ),
        }
    }

    /// All servers.
    pub fn servers_total(&self) -> u64 {
        self.servers.saturating_mul(self.server_bytes)
    }

    /// All clients.
    pub fn clients_total(&self) -> u64 {
        self.clients.saturating_mul(self.client_bytes)
    }

    /// The whole estimate.
    pub fn total(&self) -> u64 {
        self.servers_total()
            .saturating_add(self.clients_total())
            .saturating_add(self.queue_bytes)
            .saturating_add(self.history_bytes)
    }

    /// The estimate spelt out, for an error message.
    pub fn describe(&self) -> String {
        format!(
            "{} servers x {} + {} clients x {} + event queue {} + history {}",
            self.servers,
            human_bytes(self.server_bytes),
            self.clients,
            human_bytes(self.client_bytes),
            human_bytes(self.queue_bytes),
            human_bytes(self.history_bytes),
        )
    }

    /// Refuses an estimate above `limits.memory_bytes_max` (times `copies`, for runs that keep
    /// more than one simulation at once). The error is about the field that contributes most,
    /// so it points where a change helps, and says how to raise the limit instead.
    pub fn check(&self, limits: &Limits, copies: u64) -> Result<(), ConfigError> {
        let total = self.total().saturating_mul(copies.max(1));
        if total <= limits.memory_bytes_max {
            return Ok(());
        }
        let parts = [
            (self.servers_total(), "cluster.servers"),
            (self.clients_total(), "workload.clients"),
            (self.queue_bytes, "limits.queue_len_max"),
            (self.history_bytes, "limits.history_events_max"),
        ];
        let (_, field) = parts
            .iter()
            .copied()
            .max_by_key(|(bytes, _)| *bytes)
            .unwrap_or((0, "limits.memory_bytes_max"));
        let twice = if copies > 1 {
            format!(" ({copies} simulations at once)")
        } else {
            String::new()
        };
        Err(ConfigError::new(
            field,
            format!(
                "this run may need {}{twice} ({}), more than limits.memory_bytes_max = {}; \
                 lower `{field}`, or raise `limits.memory_bytes_max` if the machine has the memory",
                human_bytes(total),
                self.describe(),
                human_bytes(limits.memory_bytes_max),
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(servers: u64, server_bytes: u64, limits: &Limits) -> MemoryEstimate {
        let footprint = Footprint {
            server_bytes,
            ..Footprint::UNDECLARED
        };
        MemoryEstimate::new(&footprint, servers, 3, 200, 100, limits)
    }

    /// The default limits leave room for a few thousand undeclared servers, and a cluster too
    /// big for memory is refused naming `cluster.servers` and how to raise the limit.
    #[test]
    fn the_admission_check_names_the_dominant_part_and_the_limit() {
        let limits = Limits::default();
        assert!(
            estimate(1_000, 256 * 1024, &limits)
                .check(&limits, 1)
                .is_ok()
        );
        let e = estimate(100_000, 40_000_000, &limits)
            .check(&limits, 1)
            .unwrap_err();
        assert_eq!(e.field, "cluster.servers");
        assert!(
            e.message.contains("limits.memory_bytes_max = 2.0 GB"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("raise `limits.memory_bytes_max`"),
            "{}",
            e.message
        );
        let big_queue = Limits {
            queue_len_max: 100_000_000,
            ..Limits::default()
        };
        let e = estimate(3, 1024, &big_queue)
            .check(&big_queue, 1)
            .unwrap_err();
        assert_eq!(e.field, "limits.queue_len_max");
    }

    /// Two simulations side by side (`--verify-determinism`) need twice the room.
    #[test]
    fn copies_multiply_the_estimate() {
        let limits = Limits::default();
        let one = estimate(1, 1024, &limits);
        let tight = Limits {
            memory_bytes_max: one.total() + 1,
            ..limits
        };
        assert!(one.check(&tight, 1).is_ok());
        assert!(
            one.check(&tight, 2)
                .unwrap_err()
                .message
                .contains("2 simulations")
        );
    }

    /// Huge counts saturate instead of overflowing.
    #[test]
    fn the_estimate_saturates() {
        let limits = Limits::default();
        let e = estimate(u64::MAX, u64::MAX, &limits);
        assert_eq!(e.total(), u64::MAX);
        assert!(e.check(&limits, 1).is_err());
    }
}
