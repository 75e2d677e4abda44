//! A leader's volatile state (Figure 2's nextIndex[] and matchIndex[]) plus what confirms its
//! leadership: heartbeat rounds acknowledged by a majority, from which ReadIndex reads are
//! released and the lease and the check-quorum deadline are derived.

use std::collections::VecDeque;

use sim_core::{Ctx, Nanos, NodeId};

use super::msg::{ClientResult, RaftMsg};

/// How many started rounds a leader remembers the start time of (older ones cannot extend
/// the lease any more; their reads are still released).
const ROUNDS_REMEMBERED_MAX: usize = 256;
/// Most reads a leader holds waiting for confirmation; beyond it, clients are told to retry.
pub(super) const PENDING_READS_MAX: usize = 1024;

/// A read waiting for leadership confirmation and for the state machine to catch up.
#[derive(Debug)]
pub(super) struct PendingRead {
    pub(super) client: NodeId,
    pub(super) seq: u64,
    pub(super) key: u64,
    /// Answer once `last_applied >= read_index`.
    pub(super) read_index: u64,
    /// Answer once a majority acknowledged this round (0: no round needed, a lease covers it).
    pub(super) round: u64,
}

/// Everything only a leader keeps.
#[derive(Debug)]
pub(crate) struct LeaderState {
    /// nextIndex[]: the next entry to send to each server.
    pub(super) next: Vec<u64>,
    /// matchIndex[]: the highest entry known to be stored on each server.
    pub(super) matched: Vec<u64>,
    /// The highest round each server acknowledged in this term.
    acked_round: Vec<u64>,
    /// The latest round started.
    pub(super) round: u64,
    /// Local start time of recent rounds, oldest first.
    round_starts: VecDeque<(u64, Nanos)>,
    /// The highest round a majority acknowledged.
    pub(super) confirmed_round: u64,
    /// Local start time of the latest confirmed round (or of the election): the last moment a
    /// majority is known to have followed us.
    pub(super) quorum_contact_ns: Nanos,
    /// Reads may be served without a round until this local time.
    pub(super) lease_until_ns: Nanos,
    /// Index of this term's no-op: nothing may be read before it commits.
    pub(super) noop_index: u64,
    pub(super) pending_reads: Vec<PendingRead>,
    /// Scratch space for the majority computations, so replies do not allocate.
    scratch: Vec<u64>,
}

impl LeaderState {
    /// A new leader's state: every follower is assumed to be up to date (nextIndex = `next`).
    pub(super) fn new(servers: u32, next: u64, now_ns: Nanos) -> Self {
        let n = servers as usize;
        Self {
            next: vec![next; n],
            matched: vec![0; n],
            acked_round: vec![0; n],
            round: 0,
            round_starts: VecDeque::new(),
            confirmed_round: 0,
            quorum_contact_ns: now_ns,
            lease_until_ns: 0,
            noop_index: 0,
            pending_reads: Vec::new(),
            scratch: Vec::with_capacity(n),
        }
    }

    /// Starts a new round at local time `now_ns`; returns its number.
    pub(super) fn start_round(&mut self, now_ns: Nanos) -> u64 {
        self.round += 1;
        if self.round_starts.len() == ROUNDS_REMEMBERED_MAX {
            self.round_starts.pop_front();
        }
        self.round_starts.push_back((self.round, now_ns));
        self.round
    }

    /// The `majority`-th highest of `values` (with `own` for this server at index `me`).
    fn quorum_value(&mut self, me: NodeId, own: u64, of_matched: bool, majority: usize) -> u64 {
        self.scratch.clear();
        let values = if of_matched {
            &self.matched
        } else {
            &self.acked_round
        };
        self.scratch.extend_from_slice(values);
        self.scratch[me.index()] = own;
        self.scratch.sort_unstable_by(|a, b| b.cmp(a));
        self.scratch[majority - 1]
    }

    /// The highest index stored on a majority, counting our own log up to `last_index`.
    pub(super) fn quorum_match(&mut self, me: NodeId, last_index: u64, majority: usize) -> u64 {
        self.quorum_value(me, last_index, true, majority)
    }

    /// Records that `peer` acknowledged `round`. If that lets a majority confirm a newer
    /// round, moves the confirmation, the quorum contact and the lease forward and returns true.
    pub(super) fn ack_round(
        &mut self,
        me: NodeId,
        peer: NodeId,
        round: u64,
        majority: usize,
        lease_ns: Nanos,
    ) -> bool {
        let slot = &mut self.acked_round[peer.index()];
        if round <= *slot {
            return false;
        }
        *slot = round;
        let confirmed = self.quorum_value(me, self.round, false, majority);
        if confirmed <= self.confirmed_round {
            return false;
        }
        self.confirmed_round = confirmed;
        while self
            .round_starts
            .front()
            .is_some_and(|&(r, _)| r < confirmed)
        {
            self.round_starts.pop_front();
        }
        if let Some(&(r, start)) = self.round_starts.front()
            && r == confirmed
        {
            self.quorum_contact_ns = self.quorum_contact_ns.max(start);
            self.lease_until_ns = self.lease_until_ns.max(start.saturating_add(lease_ns));
        }
        true
    }

    /// Leadership is lost: tell the clients of waiting reads to look elsewhere.
    pub(super) fn abandon_reads(self, ctx: &mut Ctx<'_, RaftMsg>, hint: Option<NodeId>) {
        for read in self.pending_reads {
            ctx.send(
                read.client,
                RaftMsg::Reply {
                    seq: read.seq,
                    result: ClientResult::NotLeader { hint },
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_is_confirmed_by_a_majority_and_extends_the_lease_from_its_start() {
        let me = NodeId(0);
        let mut l = LeaderState::new(5, 1, 0);
        let r1 = l.start_round(100);
        let r2 = l.start_round(200);
        assert!(!l.ack_round(me, NodeId(1), r2, 3, 50));
        assert!(l.ack_round(me, NodeId(2), r1, 3, 50));
        assert_eq!(
            (l.confirmed_round, l.quorum_contact_ns, l.lease_until_ns),
            (1, 100, 150)
        );
        assert!(l.ack_round(me, NodeId(2), r2, 3, 50));
        assert_eq!((l.confirmed_round, l.lease_until_ns), (2, 250));
        // A stale or repeated acknowledgement changes nothing.
        assert!(!l.ack_round(me, NodeId(2), r1, 3, 50));
    }

    #[test]
    fn the_quorum_match_is_the_majority_th_highest() {
        let mut l = LeaderState::new(5, 1, 0);
        l.matched = vec![0, 7, 3, 9, 1];
        assert_eq!(l.quorum_match(NodeId(0), 8, 3), 7);
    }
}
