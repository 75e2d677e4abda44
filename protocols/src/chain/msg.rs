//! What chain replication's nodes say to each other: clients to the head and the tail, servers
//! down the chain (updates) and up it (acknowledgements), and everyone to the master
//! (heartbeats, configurations, read fences).

use serde::{Deserialize, Serialize};
use sim_core::{NodeId, OpFn, Value};

/// Every message of the protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ChainMsg {
    /// Client to head (updates) or tail (reads). Resends reuse `req`.
    Request {
        /// The client's request id (its operation id), unique per run.
        req: u64,
        /// What to do.
        f: OpFn,
        /// On which key.
        key: u64,
        /// The argument.
        value: Value,
    },
    /// Tail (or a head answering a resend of a committed update) to client.
    Reply {
        /// The request answered.
        req: u64,
        /// Its result.
        result: Reply,
    },
    /// Client to master: who are the head and the tail?
    GetConfig,
    /// Master to client: the current head and tail.
    ConfigInfo {
        /// The configuration's epoch.
        epoch: u64,
        /// Where updates go.
        head: NodeId,
        /// Where reads go.
        tail: NodeId,
    },
    /// Server to master, periodically: alive, with the epoch it runs (`None` after a restart
    /// or before it heard of any configuration).
    Heartbeat {
        /// The epoch of the configuration the server has installed.
        epoch: Option<u64>,
        /// Its last applied sequence number.
        applied: u64,
        /// How many times it has started (from its disk): a larger number than before means
        /// it crashed and restarted in between.
        boot: u64,
        /// As the tail of `epoch`: it has everything its predecessor had when the epoch
        /// began (the handoff), so it holds every update ever answered.
        tail_ready: bool,
    },
    /// Master to server: the configuration to install. A server whose successor is a chain
    /// member gets `from_seq`, the successor's last received sequence number, and re-sends
    /// everything after it (the paper's middle-failure protocol).
    NewConfig {
        /// The configuration.
        config: Config,
        /// The successor's last received update, if the server has a member successor.
        from_seq: Option<u64>,
    },
    /// Server to master: installed `epoch`; my last received update is `applied`.
    ConfigAck {
        /// The epoch installed.
        epoch: u64,
        /// The last sequence number received and applied.
        applied: u64,
    },
    /// Joining server to master: I hold the tail's state as of `applied`; make me the tail.
    Joined {
        /// The epoch in which the join began.
        epoch: u64,
        /// The snapshot's sequence number.
        applied: u64,
    },
    /// Server to master: my successor has not acknowledged outstanding updates for a long time.
    SuspectSuccessor {
        /// The reporter's epoch.
        epoch: u64,
        /// The silent successor.
        successor: NodeId,
    },
    /// Tail to master: am I still the tail of `epoch`? (Reads are answered only after a yes.)
    ReadFence {
        /// The tail's epoch.
        epoch: u64,
        /// Which round of reads this fence covers.
        round: u64,
    },
    /// Master to tail: the current epoch is `epoch`.
    FenceReply {
        /// The master's current epoch.
        epoch: u64,
        /// The round asked about.
        round: u64,
    },
    /// Predecessor to successor: an update, on a link that carries every update after `base`.
    Forward {
        /// The sender's epoch.
        epoch: u64,
        /// The sender sends every update with a sequence number above `base` on this link.
        base: u64,
        /// The update.
        update: Update,
    },
    /// Successor to predecessor: received up to `applied`; the tail has applied up to `stable`.
    Ack {
        /// The sender's epoch: a link ignores acknowledgements from before it was set up.
        epoch: u64,
        /// The sender's last applied sequence number.
        applied: u64,
        /// The tail's last applied sequence number, as far as the sender knows.
        stable: u64,
    },
    /// Tail to joining server: the whole state (state transfer).
    Snapshot {
        /// The epoch of the join.
        epoch: u64,
        /// The state.
        snapshot: Box<Snapshot>,
    },
    /// Predecessor to a new tail: I stopped acting as tail (or never was) at `applied`; serve
    /// reads once you have applied that far.
    Handoff {
        /// The epoch.
        epoch: u64,
        /// The predecessor's last applied sequence number when it sent this.
        applied: u64,
    },
    /// New tail to predecessor: got the handoff of `epoch`.
    HandoffAck {
        /// The epoch.
        epoch: u64,
    },
}

/// What a client is told.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reply {
    /// Done; the value read, or the argument of an update.
    Ok(Value),
    /// A compare-and-set whose expected value did not match; it changed nothing.
    Failed,
}

/// One update as the head sequenced it: the state change to apply, not the operation, so
/// every server applies exactly what the head decided.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Update {
    /// Position in the history (1, 2, ...).
    pub seq: u64,
    /// The client that asked.
    pub client: NodeId,
    /// Its request id.
    pub req: u64,
    /// The key changed.
    pub key: u64,
    /// The change.
    pub change: Change,
    /// What the client is told once the update reaches the tail.
    pub result: Reply,
}

/// A state change to one key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Change {
    /// Nothing changes (a failed compare-and-set still takes a place in the history, so its
    /// `Failed` result is final).
    Nothing,
    /// The key's value becomes this.
    Set(Value),
    /// This value is appended to the key's list.
    Append(Value),
}

/// A chain configuration, decided by the master.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Config {
    /// Increases with every change.
    pub epoch: u64,
    /// The chain, head first, tail last; never empty.
    pub chain: Vec<NodeId>,
    /// A server being brought up to date by the tail before it becomes the new tail.
    pub joining: Option<NodeId>,
}

impl Config {
    /// The head.
    pub fn head(&self) -> NodeId {
        self.chain[0]
    }

    /// The tail.
    pub fn tail(&self) -> NodeId {
        self.chain[self.chain.len() - 1]
    }

    /// Where `node` sits in the chain.
    pub fn position(&self, node: NodeId) -> Option<usize> {
        self.chain.iter().position(|n| *n == node)
    }

    /// `node`'s predecessor: the previous member, or the tail for the joining server.
    pub fn predecessor(&self, node: NodeId) -> Option<NodeId> {
        if self.joining == Some(node) {
            return Some(self.tail());
        }
        let i = self.position(node)?;
        i.checked_sub(1).map(|p| self.chain[p])
    }

    /// `node`'s member successor (the joining server does not count).
    pub fn successor(&self, node: NodeId) -> Option<NodeId> {
        let i = self.position(node)?;
        self.chain.get(i + 1).copied()
    }
}

/// A session: a client's last update, for at-most-once application of resent updates.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Session {
    /// The request id.
    pub req: u64,
    /// Where it sits in the history.
    pub seq: u64,
    /// Its result.
    pub result: Reply,
}

/// Everything a joining server needs: the store, the sessions and the history position.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last update included.
    pub applied: u64,
    /// The history digest after it.
    pub digest: u64,
    /// Every key's value.
    pub values: Vec<(u64, Value)>,
    /// Every client's session.
    pub sessions: Vec<(NodeId, Session)>,
}
