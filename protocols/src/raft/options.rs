//! Raft's options as written in a scenario (`protocol.options`), the known bugs it can be
//! switched to, and the validated per-run configuration every server shares.

use serde::{Deserialize, Serialize};
use sim_core::{ConfigError, Nanos, ms};

use sim_core::protocol::BugInfo;

/// How the leader serves reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadMode {
    /// Reads are log entries like writes: committed, then applied (always linearizable).
    Log,
    /// ReadIndex (§6.4 of Ongaro's thesis): the leader notes its commit index, confirms it is
    /// still leader with a round of heartbeats acknowledged by a majority, waits until it has
    /// applied up to that index, then answers from its state machine.
    #[default]
    ReadIndex,
    /// Leader leases: while a lease confirmed by a majority's heartbeat acknowledgements runs,
    /// the leader answers without a round. The lease is the minimum election timeout minus
    /// `lease_drift_margin_ns`, measured on the leader's LOCAL clock, so it is safe only while
    /// clocks drift apart by less than the margin. Falls back to ReadIndex when the lease ran out.
    Lease,
}

/// Known bugs of Raft implementations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaftBug {
    /// A leader commits an entry of an earlier term as soon as a majority stores it (the
    /// paper's Figure 8): a later leader without that entry can overwrite it.
    CommitPreviousTerm,
    /// votedFor is never written to disk: after a restart a server can vote twice in one term,
    /// electing two leaders.
    ForgetVotedFor,
    /// The leader answers reads from its own state at once, without ReadIndex or a lease: a
    /// deposed leader that does not know it yet serves stale values.
    StaleLeaderRead,
    /// A follower keeps its existing entries when they conflict with the leader's (it only
    /// appends beyond its end) and still acknowledges: conflicting entries get applied.
    NoTruncate,
}

/// The bugs for `dsim list`.
pub const BUGS: &[BugInfo] = &[
    BugInfo {
        name: "commit_previous_term",
        description: "leader commits an earlier term's entry by counting replicas (Raft paper Figure 8)",
    },
    BugInfo {
        name: "forget_voted_for",
        description: "votedFor is not persisted; a restarted server votes twice in a term",
    },
    BugInfo {
        name: "stale_leader_read",
        description: "leader serves reads locally without confirming leadership (ReadIndex/lease)",
    },
    BugInfo {
        name: "no_truncate",
        description: "follower does not truncate conflicting entries yet acknowledges the leader's",
    },
];

/// Options of `raft`. Times are LOCAL nanoseconds of the node that measures them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RaftOptions {
    /// Shortest election timeout (the paper's 150 ms).
    pub election_timeout_ns_min: Nanos,
    /// Longest election timeout; each timeout is drawn uniformly from [min, max].
    pub election_timeout_ns_max: Nanos,
    /// How often the leader sends heartbeats (and a candidate resends vote requests).
    pub heartbeat_ns: Nanos,
    /// How reads are served.
    pub read_mode: ReadMode,
    /// Lease mode: the lease lasts `election_timeout_ns_min - lease_drift_margin_ns`.
    pub lease_drift_margin_ns: Nanos,
    /// Leader stickiness (Ongaro's thesis §4.2.3): a server that heard from a current leader
    /// within the minimum election timeout ignores vote requests. Off gives the paper's basic
    /// algorithm (as in its §9.3 measurements); lease reads require it.
    pub leader_stickiness: bool,
    /// Take a snapshot once this many applied entries are not yet in one (0: never compact).
    pub snapshot_threshold: u64,
    /// Most entries in one AppendEntries message.
    pub append_entries_max: usize,
    /// How long a client waits for an answer before trying another server.
    pub client_retry_ns: Nanos,
    /// The longest a client backs off between attempts.
    pub client_backoff_ns_max: Nanos,
    /// Bugs to switch on.
    pub bugs: Vec<RaftBug>,
}

impl Default for RaftOptions {
    fn default() -> Self {
        Self {
            election_timeout_ns_min: ms(150),
            election_timeout_ns_max: ms(300),
            heartbeat_ns: ms(50),
            read_mode: ReadMode::ReadIndex,
            lease_drift_margin_ns: ms(20),
            leader_stickiness: true,
            snapshot_threshold: 500,
            append_entries_max: 64,
            client_retry_ns: ms(100),
            client_backoff_ns_max: ms(800),
            bugs: Vec::new(),
        }
    }
}

impl RaftOptions {
    /// Checks the options, naming the field at fault.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let field = |name: &str| format!("protocol.options.{name}");
        if self.election_timeout_ns_min == 0 {
            return Err(ConfigError::new(
                field("election_timeout_ns_min"),
                "must be positive",
            ));
        }
        if self.election_timeout_ns_max < self.election_timeout_ns_min {
            return Err(ConfigError::new(
                field("election_timeout_ns_max"),
                "must not be below election_timeout_ns_min",
            ));
        }
        if self.heartbeat_ns == 0 || self.heartbeat_ns >= self.election_timeout_ns_min {
            return Err(ConfigError::new(
                field("heartbeat_ns"),
                "must be positive and below election_timeout_ns_min",
            ));
        }
        if self.lease_drift_margin_ns >= self.election_timeout_ns_min {
            return Err(ConfigError::new(
                field("lease_drift_margin_ns"),
                "must be below election_timeout_ns_min",
            ));
        }
        if self.read_mode == ReadMode::Lease && !self.leader_stickiness {
            return Err(ConfigError::new(
                field("leader_stickiness"),
                "lease reads are only safe with leader stickiness",
            ));
        }
        if self.append_entries_max == 0 {
            return Err(ConfigError::new(
                field("append_entries_max"),
                "must be positive",
            ));
        }
        if self.client_retry_ns == 0 || self.client_backoff_ns_max < self.client_retry_ns {
            return Err(ConfigError::new(
                field("client_backoff_ns_max"),
                "client_retry_ns must be positive and not above client_backoff_ns_max",
            ));
        }
        Ok(())
    }
}

/// The configuration all servers of a run share: validated options plus the cluster size.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Number of servers (ids `n0..`).
    pub servers: u32,
    /// The options.
    pub options: RaftOptions,
    /// Lease length in local time.
    pub lease_ns: Nanos,
    /// Bugs, as flags.
    pub commit_previous_term: bool,
    /// See [`RaftBug::ForgetVotedFor`].
    pub forget_voted_for: bool,
    /// See [`RaftBug::StaleLeaderRead`].
    pub stale_leader_read: bool,
    /// See [`RaftBug::NoTruncate`].
    pub no_truncate: bool,
}

impl ServerConfig {
    /// The configuration for `servers` servers.
    pub fn new(options: &RaftOptions, servers: u32) -> Self {
        let has = |bug| options.bugs.contains(&bug);
        Self {
            servers,
            lease_ns: options.election_timeout_ns_min - options.lease_drift_margin_ns,
            commit_previous_term: has(RaftBug::CommitPreviousTerm),
            forget_voted_for: has(RaftBug::ForgetVotedFor),
            stale_leader_read: has(RaftBug::StaleLeaderRead),
            no_truncate: has(RaftBug::NoTruncate),
            options: options.clone(),
        }
    }

    /// Votes or acknowledgements needed: a majority of the servers.
    pub fn majority(&self) -> usize {
        self.servers as usize / 2 + 1
    }
}
