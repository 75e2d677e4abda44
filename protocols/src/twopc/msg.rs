//! What two-phase commit talks about: transaction ids, the operations of a transaction, what a
//! committed transaction read and wrote, and the messages between clients, the coordinator and
//! the participants.

use std::fmt;

use serde::{Deserialize, Serialize};
use sim_core::NodeId;

/// A transaction's identity, assigned by the coordinator: the coordinator's incarnation (bumped
/// durably on every recovery) and a sequence number within it, so ids never repeat across
/// coordinator crashes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct TxnId {
    /// The coordinator's incarnation.
    pub epoch: u32,
    /// The sequence number within the incarnation.
    pub seq: u32,
}

impl fmt::Display for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}.{}", self.epoch, self.seq)
    }
}

impl TxnId {
    /// The fixed-width text used in durable record names, so names sort like ids.
    pub fn record_name(self) -> String {
        format!("{:010}.{:010}", self.epoch, self.seq)
    }

    /// Parses [`TxnId::record_name`].
    pub fn parse_record_name(text: &str) -> Option<Self> {
        let (epoch, seq) = text.split_once('.')?;
        Some(Self {
            epoch: epoch.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

/// One operation of a transaction, on one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TxnOp {
    /// Read the key (shared lock).
    Read(u64),
    /// Overwrite the key (exclusive lock).
    Write(u64, i64),
    /// Add a (possibly negative) amount to the key, reading it first; the participant votes no
    /// if the result would be negative (a bank debit). Exclusive lock.
    Add(u64, i64),
}

impl TxnOp {
    /// The key the operation touches.
    pub fn key(self) -> u64 {
        match self {
            TxnOp::Read(k) | TxnOp::Write(k, _) | TxnOp::Add(k, _) => k,
        }
    }

    /// Whether it changes the key (and so needs the exclusive lock).
    pub fn writes(self) -> bool {
        !matches!(self, TxnOp::Read(_))
    }
}

/// A value read, with the transaction that wrote it (`None`: the initial value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReadResult {
    /// The key.
    pub key: u64,
    /// The value (`None`: never written and no initial value).
    pub value: Option<i64>,
    /// The writer of the version read.
    pub version: Option<TxnId>,
}

/// A value written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WriteResult {
    /// The key.
    pub key: u64,
    /// The new value.
    pub value: i64,
}

/// What one participant read and will write for a transaction: its yes vote.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Effects {
    /// The reads, in operation order.
    pub reads: Vec<ReadResult>,
    /// The writes, at most one per key (the last one).
    pub writes: Vec<WriteResult>,
}

/// A participant's vote.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Vote {
    /// Prepared: it will commit if told to, and holds its locks until then.
    Yes(Effects),
    /// It aborted the transaction locally (lock conflict, insufficient funds, or chance).
    No,
}

/// The coordinator's answer to a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TxnResult {
    /// Committed, with what every participant read and wrote.
    Committed(Vec<Effects>),
    /// Certainly aborted: it never takes effect.
    Aborted,
}

/// What a participant tells a peer that asks about a transaction (cooperative termination).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum PeerState {
    /// It committed the transaction.
    Committed,
    /// It aborted it, or promised never to vote yes for it.
    Aborted,
    /// It voted yes and does not know the decision either.
    InDoubt,
}

/// Two-phase commit messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum TwoPcMsg {
    /// Client to coordinator: run this transaction. Resends reuse `req`.
    Submit {
        /// The client's request number (its operation id).
        req: u64,
        /// The operations.
        ops: Vec<TxnOp>,
    },
    /// Coordinator to client.
    Outcome {
        /// The request answered.
        req: u64,
        /// Its result.
        result: TxnResult,
    },
    /// Coordinator to participant: lock, execute and vote (phase one).
    Prepare {
        /// The transaction.
        txn: TxnId,
        /// This participant's operations.
        ops: Vec<TxnOp>,
        /// Every participant, for the cooperative termination protocol.
        participants: Vec<NodeId>,
    },
    /// Participant to coordinator.
    Vote {
        /// The transaction.
        txn: TxnId,
        /// The vote.
        vote: Vote,
    },
    /// Coordinator to participant (phase two), also the answer to a [`TwoPcMsg::DecisionRequest`].
    Decision {
        /// The transaction.
        txn: TxnId,
        /// Commit (`true`) or abort.
        commit: bool,
    },
    /// Participant to coordinator: the commit is applied and durable.
    Ack {
        /// The transaction.
        txn: TxnId,
    },
    /// Coordinator to participant: every participant acknowledged; drop the outcome record.
    Forget {
        /// The transaction.
        txn: TxnId,
    },
    /// In-doubt participant to coordinator: what was decided?
    DecisionRequest {
        /// The transaction.
        txn: TxnId,
    },
    /// In-doubt participant to another participant (cooperative termination).
    PeerQuery {
        /// The transaction.
        txn: TxnId,
    },
    /// The answer to a [`TwoPcMsg::PeerQuery`].
    PeerReply {
        /// The transaction.
        txn: TxnId,
        /// What the peer knows.
        state: PeerState,
    },
}
