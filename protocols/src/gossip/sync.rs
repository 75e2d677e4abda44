//! Anti-entropy: every gossip interval a member (the initiator) contacts `fanout` random
//! members and reconciles its replica with each (see [`super::crdt`]):
//!
//! 1. initiator → peer: root hash. Equal roots: done (the common case once converged).
//! 2. peer → initiator: the peer's per-key digest.
//! 3. initiator → peer: the deltas the peer lacks (**push**), the keys it wants (**pull**), or
//!    both (**push-pull**).
//! 4. peer → initiator: the deltas asked for.
//!
//! Every received write stamp is fed to the member's HLC (the receive rule), so a write the
//! member accepts later is stamped after everything it has seen.

use sim_core::{Ctx, NodeId};

use super::crdt::{KeyDelta, KeyDigest};
use super::member::Member;
use super::msg::GossipMsg;
use super::options::SyncMode;

impl Member {
    /// Starts one anti-entropy round.
    pub(super) fn on_gossip_round(&mut self, ctx: &mut Ctx<'_, GossipMsg>) {
        self.monitor.borrow_mut().round_started();
        let mode = self.params.sync_mode;
        let root = self.data.root();
        let mut peers: Vec<NodeId> = Vec::new();
        for _ in 0..self.params.fanout {
            if let Some(peer) = self.random_peer(ctx, &peers) {
                peers.push(peer);
                self.send_sync(ctx, peer, GossipMsg::SyncRoot { mode, root });
            }
        }
    }

    pub(super) fn on_sync_root(
        &mut self,
        ctx: &mut Ctx<'_, GossipMsg>,
        from: NodeId,
        mode: SyncMode,
        root: u64,
    ) {
        if root == self.data.root() {
            return;
        }
        let digest = self.data.digest();
        self.send_sync(ctx, from, GossipMsg::SyncDigest { mode, digest });
    }

    pub(super) fn on_sync_digest(
        &mut self,
        ctx: &mut Ctx<'_, GossipMsg>,
        from: NodeId,
        mode: SyncMode,
        digest: &[KeyDigest],
    ) {
        let (mut deltas, mut want) = self.data.compare(digest);
        match mode {
            SyncMode::Push => want.clear(),
            SyncMode::Pull => deltas.clear(),
            SyncMode::PushPull => {}
        }
        if deltas.is_empty() && want.is_empty() {
            return;
        }
        self.send_sync(ctx, from, GossipMsg::SyncReply { deltas, want });
    }

    pub(super) fn on_sync_reply(
        &mut self,
        ctx: &mut Ctx<'_, GossipMsg>,
        from: NodeId,
        deltas: Vec<KeyDelta>,
        want: &[u64],
    ) {
        self.merge(ctx, deltas);
        if want.is_empty() {
            return;
        }
        let deltas = self.data.deltas_for(want);
        if !deltas.is_empty() {
            self.send_sync(ctx, from, GossipMsg::SyncDeltas { deltas });
        }
    }

    /// Merges deltas from a peer into the replica.
    pub(super) fn merge(&mut self, ctx: &mut Ctx<'_, GossipMsg>, deltas: Vec<KeyDelta>) {
        let now = ctx.now();
        for delta in deltas {
            if let Some(entry) = &delta.lww {
                self.hlc.observe(entry.stamp.hlc, now);
            }
            if let Some(value) = self.data.merge_delta(delta).adopted {
                self.monitor.borrow_mut().adopted(&value);
            }
        }
    }

    fn send_sync(&mut self, ctx: &mut Ctx<'_, GossipMsg>, to: NodeId, msg: GossipMsg) {
        self.monitor.borrow_mut().sync_sent();
        ctx.send(to, msg);
    }
}
