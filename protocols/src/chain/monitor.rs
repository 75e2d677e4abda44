//! The run-wide monitor of chain replication's invariants, shared by every server and the
//! master of one run (single-threaded, so an `Rc<RefCell<_>>`).
//!
//! It checks the paper's *update propagation invariant*: in the master's current chain, each
//! server's history is a prefix of its predecessor's. Each server reports every update it
//! applies as a rolling digest; two histories share a prefix of length `n` exactly when their
//! digests after `n` updates are equal, so a check costs O(1). It also keeps the numbers behind
//! the protocol's metrics.

use std::collections::{BTreeMap, VecDeque};

use sim_core::NodeId;

/// How many digests the monitor keeps per server; older positions can no longer be compared
/// (such checks are counted as skipped, never silently passed).
pub const DIGESTS_PER_SERVER_MAX: usize = 1 << 16;

/// How many violations the monitor describes; later ones are only counted.
const VIOLATIONS_DESCRIBED_MAX: u64 = 20;

/// One server's history as the monitor sees it.
#[derive(Debug, Default)]
struct Track {
    /// Sequence number of `digests[0]`.
    first_seq: u64,
    /// Digest after each update from `first_seq` on.
    digests: VecDeque<u64>,
    /// Last applied sequence number.
    applied: u64,
    /// Digest after `applied`.
    digest: u64,
}

impl Track {
    /// The digest after `seq` updates, if still kept.
    fn digest_at(&self, seq: u64) -> Option<u64> {
        if seq == self.applied {
            return Some(self.digest);
        }
        if seq == 0 {
            return Some(0);
        }
        let i = seq.checked_sub(self.first_seq)?;
        self.digests.get(i as usize).copied()
    }

    fn reset(&mut self, applied: u64, digest: u64) {
        self.digests.clear();
        self.first_seq = applied + 1;
        self.applied = applied;
        self.digest = digest;
    }

    fn push(&mut self, seq: u64, digest: u64) {
        if self.digests.len() == DIGESTS_PER_SERVER_MAX {
            self.digests.pop_front();
            self.first_seq += 1;
        }
        if self.digests.is_empty() {
            self.first_seq = seq;
        }
        self.digests.push_back(digest);
        self.applied = seq;
        self.digest = digest;
    }
}

/// The shared monitor.
#[derive(Debug, Default)]
pub struct Monitor {
    chain: Vec<NodeId>,
    tracks: BTreeMap<NodeId, Track>,
    violations: u64,
    /// The largest sequence number of an update answered to a client so far.
    answered_max: u64,
    /// Counters for the metrics.
    pub stats: MonitorStats,
}

/// What the monitor counted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MonitorStats {
    /// Configuration changes after the first configuration.
    pub reconfigurations: u64,
    /// Shortest chain configured.
    pub chain_length_min: Option<usize>,
    /// Most updates pending ("Sent": forwarded, not yet known to be at the tail) at any server.
    pub pending_max: usize,
    /// Prefix checks made.
    pub prefix_checks: u64,
    /// Prefix checks that could not be made because a digest was no longer kept.
    pub prefix_checks_skipped: u64,
}

impl Monitor {
    /// The master installed a new chain.
    pub fn set_chain(&mut self, chain: &[NodeId], first: bool) {
        self.chain.clear();
        self.chain.extend_from_slice(chain);
        if !first {
            self.stats.reconfigurations += 1;
        }
        let len = chain.len();
        self.stats.chain_length_min = Some(self.stats.chain_length_min.map_or(len, |m| m.min(len)));
    }

    /// `node` (re)started with the history recovered from storage, or installed a snapshot.
    pub fn reset(&mut self, node: NodeId, applied: u64, digest: u64) {
        self.tracks.entry(node).or_default().reset(applied, digest);
    }

    /// `node` applied update `seq`, reaching `digest`; checks the propagation invariant with its
    /// neighbours. Returns the description of a violation to report, if any.
    pub fn applied(&mut self, node: NodeId, seq: u64, digest: u64) -> Option<String> {
        self.tracks.entry(node).or_default().push(seq, digest);
        self.check_around(node)
    }

    /// `node` forwarded an update: checks the invariant with its neighbours again (the
    /// successor may have moved since the last check).
    pub fn forwarded(&mut self, node: NodeId) -> Option<String> {
        self.check_around(node)
    }

    /// A server answered the client of update `seq` (it is committed).
    pub fn answered(&mut self, seq: u64) {
        self.answered_max = self.answered_max.max(seq);
    }

    /// The largest sequence number of an update answered so far: every read taken from now
    /// on must include it.
    pub fn answered_max(&self) -> u64 {
        self.answered_max
    }

    /// `node` holds `pending` updates not yet known to be at the tail.
    pub fn pending(&mut self, pending: usize) {
        self.stats.pending_max = self.stats.pending_max.max(pending);
    }

    /// The largest sequence number any server applied.
    pub fn applied_max(&self) -> u64 {
        self.tracks.values().map(|t| t.applied).max().unwrap_or(0)
    }

    /// Checks every adjacent pair of the current chain; the first broken pair, if any.
    pub fn check_chain(&mut self) -> Option<String> {
        (1..self.chain.len()).find_map(|i| self.check_pair(self.chain[i - 1], self.chain[i]))
    }

    fn check_around(&mut self, node: NodeId) -> Option<String> {
        let i = self.chain.iter().position(|n| *n == node)?;
        let before = i
            .checked_sub(1)
            .and_then(|p| self.check_pair(self.chain[p], node));
        let after = self
            .chain
            .get(i + 1)
            .copied()
            .and_then(|s| self.check_pair(node, s));
        let found = before.or(after)?;
        self.violations += 1;
        (self.violations <= VIOLATIONS_DESCRIBED_MAX).then_some(found)
    }

    /// Whether `succ`'s history is a prefix of `pred`'s.
    fn check_pair(&mut self, pred: NodeId, succ: NodeId) -> Option<String> {
        let (Some(p), Some(s)) = (self.tracks.get(&pred), self.tracks.get(&succ)) else {
            return None;
        };
        self.stats.prefix_checks += 1;
        if s.applied > p.applied {
            return Some(format!(
                "{succ} has applied {} updates but its predecessor {pred} only {}",
                s.applied, p.applied
            ));
        }
        match (p.digest_at(s.applied), s.digest_at(s.applied)) {
            (Some(a), Some(b)) if a == b => None,
            (Some(_), Some(_)) => Some(format!(
                "the history of {succ} (up to update {}) is not a prefix of its predecessor {pred}'s",
                s.applied
            )),
            _ => {
                self.stats.prefix_checks_skipped += 1;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diverging_successor_is_reported_and_a_lagging_one_is_not() {
        let mut m = Monitor::default();
        m.set_chain(&[NodeId(0), NodeId(1)], true);
        assert_eq!(m.applied(NodeId(0), 1, 11), None);
        assert_eq!(m.applied(NodeId(0), 2, 12), None);
        assert_eq!(
            m.applied(NodeId(1), 1, 11),
            None,
            "a lagging prefix is fine"
        );
        let v = m
            .applied(NodeId(1), 2, 99)
            .expect("a different update 2 diverges");
        assert!(v.contains("not a prefix"), "{v}");
        m.reset(NodeId(1), 2, 12);
        assert_eq!(m.check_chain(), None);
        assert_eq!(
            m.applied(NodeId(1), 3, 13).map(|v| v.contains("only 2")),
            Some(true)
        );
    }

    #[test]
    fn servers_outside_the_chain_are_not_judged() {
        let mut m = Monitor::default();
        m.set_chain(&[NodeId(0)], true);
        m.applied(NodeId(0), 1, 1);
        assert_eq!(m.applied(NodeId(2), 1, 5), None);
        m.set_chain(&[NodeId(0), NodeId(2)], false);
        assert!(m.check_chain().is_some());
        assert_eq!(m.stats.reconfigurations, 1);
        assert_eq!(m.stats.chain_length_min, Some(1));
    }
}
