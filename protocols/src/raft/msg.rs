//! Raft's messages: the two RPCs of the paper (RequestVote, AppendEntries) with their replies,
//! InstallSnapshot (whole snapshots: chunking is not implemented, a snapshot is one message),
//! and the client protocol.

use serde::Serialize;
use sim_core::{NodeId, OpFn, Value};

use super::kv::{KvReply, KvState};
use super::log::Entry;

/// Everything Raft servers and clients send.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum RaftMsg {
    /// A candidate asks for a vote (§5.2).
    RequestVote {
        /// The candidate's term.
        term: u64,
        /// Index of the candidate's last log entry.
        last_log_index: u64,
        /// Term of the candidate's last log entry.
        last_log_term: u64,
    },
    /// The answer to `RequestVote`.
    Vote {
        /// The voter's current term, for the candidate to update itself.
        term: u64,
        /// Whether the vote was granted.
        granted: bool,
    },
    /// The leader replicates entries, or sends a heartbeat when `entries` is empty (§5.3).
    AppendEntries(AppendEntries),
    /// The answer to `AppendEntries`.
    AppendReply {
        /// The follower's current term.
        term: u64,
        /// Whether the consistency check passed and the entries are stored durably.
        success: bool,
        /// On success, the index of the last entry the request made the follower hold.
        match_index: u64,
        /// On failure, where the leader should retry (the fast back-off hint).
        conflict_index: u64,
        /// On failure, the term of the follower's conflicting entry, if it has one at `prev_index`.
        conflict_term: Option<u64>,
        /// The round echoed.
        round: u64,
    },
    /// The leader sends its snapshot to a follower whose next entry it has compacted (§7).
    InstallSnapshot {
        /// The leader's term.
        term: u64,
        /// The snapshot replaces everything up to this index.
        last_index: u64,
        /// The term of that entry.
        last_term: u64,
        /// The state machine at `last_index`.
        state: KvState,
        /// The round echoed back.
        round: u64,
    },
    /// The answer to `InstallSnapshot`.
    SnapshotReply {
        /// The follower's current term.
        term: u64,
        /// The follower now holds everything up to here.
        last_index: u64,
        /// The round echoed.
        round: u64,
    },
    /// A client's request.
    Request {
        /// The client's sequence number for this operation; retries reuse it.
        seq: u64,
        /// What to do.
        f: OpFn,
        /// On which key.
        key: u64,
        /// The argument.
        value: Value,
    },
    /// A server's answer to a client.
    Reply {
        /// The request answered.
        seq: u64,
        /// Its result.
        result: ClientResult,
    },
}

/// The AppendEntries RPC's arguments (Figure 2).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct AppendEntries {
    /// The leader's term.
    pub term: u64,
    /// Index of the entry just before `entries`.
    pub prev_index: u64,
    /// Its term: the consistency check.
    pub prev_term: u64,
    /// Entries to store (bounded by the `append_entries_max` option).
    pub entries: Vec<Entry>,
    /// The leader's commit index.
    pub leader_commit: u64,
    /// The leader's heartbeat round, echoed back; confirms leadership for ReadIndex and leases.
    pub round: u64,
}

/// What a server tells a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ClientResult {
    /// The command was applied (or the read served) with this reply.
    Done(KvReply),
    /// This server is not the leader (or lost leadership before answering): try `hint`, the
    /// leader it knows of, if any. The request may still take effect.
    NotLeader {
        /// The leader this server believes in.
        hint: Option<NodeId>,
    },
}
