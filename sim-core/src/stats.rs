//! Run statistics: counters kept by the event loop, plus the ratios a person wants to see. The
//! engine never reads the host clock; the caller measures wall time around the run and passes it
//! in to get rates.

use serde::Serialize;

use crate::time::Nanos;

/// Counters of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Events taken off the queue and acted on (skipped stale timers excluded).
    pub events: u64,
    /// Messages handed to the network.
    pub messages_sent: u64,
    /// Messages delivered to a live receiver (duplicates included).
    pub messages_delivered: u64,
    /// Messages lost on the link.
    pub messages_dropped_loss: u64,
    /// Messages dropped by a partition at delivery time.
    pub messages_dropped_partition: u64,
    /// Messages dropped because the receiver was down (or crashed while they waited).
    pub messages_dropped_node_down: u64,
    /// Extra copies made by duplication.
    pub messages_duplicated: u64,
    /// Stale copies made by links with `stale_duplicate` (each arrives long after its original).
    pub messages_stale: u64,
    /// Messages a hold kept back instead of dropping (each released when the hold ended).
    pub messages_held: u64,
    /// Copies of old messages scheduled by replays.
    pub messages_replayed: u64,
    /// Timers that fired.
    pub timers_fired: u64,
    /// Timer events skipped because the timer was cancelled or rescheduled.
    pub timers_skipped: u64,
    /// Faults that took effect.
    pub faults_applied: u64,
    /// Client operations invoked.
    pub ops_invoked: u64,
    /// ... completed ok.
    pub ops_ok: u64,
    /// ... failed.
    pub ops_fail: u64,
    /// ... with unknown outcome.
    pub ops_info: u64,
    /// Invariant violations reported by processes.
    pub violations: u64,
    /// The most events ever waiting in the queue.
    pub queue_len_max: u64,
    /// Simulated (true) time at the end.
    pub sim_time_ns: Nanos,
}

impl Stats {
    /// Events per wall-clock second, given the wall time the run took.
    pub fn events_per_sec(&self, wall_ns: u64) -> f64 {
        if wall_ns == 0 {
            0.0
        } else {
            self.events as f64 * 1e9 / wall_ns as f64
        }
    }

    /// Simulated seconds per wall-clock second.
    pub fn sim_to_wall_ratio(&self, wall_ns: u64) -> f64 {
        if wall_ns == 0 {
            0.0
        } else {
            self.sim_time_ns as f64 / wall_ns as f64
        }
    }

    /// All dropped messages, whatever the reason.
    pub fn messages_dropped(&self) -> u64 {
        self.messages_dropped_loss
            + self.messages_dropped_partition
            + self.messages_dropped_node_down
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_divide_by_wall_time_and_survive_zero() {
        let s = Stats {
            events: 5_000,
            sim_time_ns: 2_000_000_000,
            ..Default::default()
        };
        assert_eq!(s.events_per_sec(1_000_000_000), 5_000.0);
        assert_eq!(s.sim_to_wall_ratio(500_000_000), 4.0);
        assert_eq!(s.events_per_sec(0), 0.0);
    }
}
