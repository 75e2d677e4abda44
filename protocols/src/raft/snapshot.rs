//! Log compaction (§7): a server snapshots its state machine once enough applied entries
//! are not yet in a snapshot, and a leader whose follower needs compacted entries sends its
//! snapshot with InstallSnapshot — whole, in one message (chunking is not implemented).

use sim_core::{Ctx, NodeId};

use super::kv::KvState;
use super::msg::RaftMsg;
use super::server::RaftServer;

impl RaftServer {
    /// Compacts the log once enough applied entries are not yet in a snapshot.
    pub(super) fn maybe_snapshot(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let threshold = self.config.options.snapshot_threshold;
        let log = self.durable.log();
        if threshold == 0 || self.last_applied - log.snapshot_index() < threshold {
            return;
        }
        let index = self.last_applied;
        let term = log.term_at(index).unwrap_or(0);
        self.durable
            .install_snapshot(ctx.storage_mut(), index, term, self.kv.clone());
        self.snapshots_taken += 1;
        self.monitor.borrow_mut().snapshot_taken();
    }

    pub(super) fn on_install_snapshot(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        leader: NodeId,
        term: u64,
        (last_index, last_term): (u64, u64),
        state: KvState,
        round: u64,
    ) {
        if !self.accept_leader(ctx, leader, term) {
            // As for AppendEntries: an older term's round must not acknowledge one of ours.
            let term = self.durable.term();
            ctx.send(
                leader,
                RaftMsg::SnapshotReply {
                    term,
                    last_index: 0,
                    round: 0,
                },
            );
            return;
        }
        // A snapshot of what we already committed adds nothing (and must not roll back the
        // state machine).
        if last_index > self.commit_index {
            self.durable
                .install_snapshot(ctx.storage_mut(), last_index, last_term, state);
            self.kv = self.durable.snapshot_state().clone();
            self.commit_index = last_index;
            self.last_applied = last_index;
        }
        let term = self.durable.term();
        ctx.send(
            leader,
            RaftMsg::SnapshotReply {
                term,
                last_index,
                round,
            },
        );
    }

    pub(super) fn on_snapshot_reply(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        peer: NodeId,
        term: u64,
        last_index: u64,
        round: u64,
    ) {
        if self.leader_for_reply(ctx, peer, term, round) {
            self.advance_peer(ctx, peer, last_index);
        }
    }
}
