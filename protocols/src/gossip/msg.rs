//! Gossip messages. Membership messages carry a bounded list of piggybacked updates; data
//! messages carry digests and deltas, never the whole map; client messages carry the client's
//! causal context (the largest HLC timestamp it has seen).

use serde::Serialize;
use sim_core::{NodeId, OpFn, Value};

use super::crdt::{KeyDelta, KeyDigest};
use super::hlc::Hlc;
use super::options::SyncMode;
use super::view::MemberUpdate;

/// Gossip messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum GossipMsg {
    /// SWIM probe; answered with [`GossipMsg::Ack`] carrying the same `seq`.
    Ping {
        /// The prober's sequence number.
        seq: u32,
        /// Piggybacked membership updates.
        updates: Vec<MemberUpdate>,
    },
    /// Answer to a ping, or a relayed answer to a ping-req.
    Ack {
        /// The sequence number of the probe answered.
        seq: u32,
        /// Piggybacked membership updates.
        updates: Vec<MemberUpdate>,
    },
    /// SWIM ping-req: "probe `target` for me and relay its ack".
    PingReq {
        /// The requester's probe sequence number, echoed in the relayed ack.
        seq: u32,
        /// The member to probe.
        target: NodeId,
        /// Piggybacked membership updates.
        updates: Vec<MemberUpdate>,
    },
    /// A restarted member asks for the membership it missed.
    Join,
    /// Answer to [`GossipMsg::Join`]: every entry that is not "alive at incarnation 0".
    JoinReply {
        /// The entries.
        updates: Vec<MemberUpdate>,
    },
    /// Anti-entropy, first leg: the initiator's root hash.
    SyncRoot {
        /// Which way data should flow.
        mode: SyncMode,
        /// The initiator's [`super::crdt::ReplicaMap::root`].
        root: u64,
    },
    /// Anti-entropy, second leg (roots differ): the peer's digest.
    SyncDigest {
        /// The mode of the round, echoed.
        mode: SyncMode,
        /// One entry per key the peer holds.
        digest: Vec<KeyDigest>,
    },
    /// Anti-entropy, third leg: what the peer lacks (push) and what the initiator wants (pull).
    SyncReply {
        /// Deltas for the peer.
        deltas: Vec<KeyDelta>,
        /// Keys the initiator wants.
        want: Vec<u64>,
    },
    /// Anti-entropy, fourth leg (pull): the keys the initiator asked for.
    SyncDeltas {
        /// Deltas for the initiator.
        deltas: Vec<KeyDelta>,
    },
    /// Client to member.
    Request {
        /// The client's operation id.
        req: u64,
        /// What to do.
        f: OpFn,
        /// On which key.
        key: u64,
        /// The argument.
        value: Value,
        /// The largest HLC timestamp the client has seen (its causal context).
        seen: Hlc,
    },
    /// Member to client.
    Reply {
        /// The operation answered.
        req: u64,
        /// The result, or `None` for an operation the member does not perform (cas).
        result: Option<Value>,
        /// The member's HLC after the operation (the write's stamp for a write).
        hlc: Hlc,
    },
}
