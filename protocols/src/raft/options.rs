//! Raft's options as written in a scenario (`protocol.options`), the known bugs it can be
//! switched to, and the validated per-run configuration every server shares.

use serde::{Deserialize, Serialize};
use sim_core::bounds::{DURATION_NS_MAX, PERIOD_NS_MIN, check, check_ns};
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
    /// Checks the options against their ranges, naming the field at fault: every timer at
    /// least [`PERIOD_NS_MIN`] and at most [`DURATION_NS_MAX`], the heartbeat and the lease
    /// margin below the minimum election timeout, `snapshot_threshold` up to
    /// [`SNAPSHOT_THRESHOLD_MAX`], `append_entries_max` from 1 to [`APPEND_ENTRIES_MAX`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        let field = |name: &str| format!("protocol.options.{name}");
        let election_min = self.election_timeout_ns_min;
        check_ns(
            &field("election_timeout_ns_min"),
            election_min,
            PERIOD_NS_MIN..=DURATION_NS_MAX,
        )?;
        check_ns(
            &field("election_timeout_ns_max"),
            self.election_timeout_ns_max,
            election_min..=DURATION_NS_MAX,
        )?;
        check_ns(
            &field("heartbeat_ns"),
            self.heartbeat_ns,
            PERIOD_NS_MIN..=election_min - 1,
        )?;
        check_ns(
            &field("lease_drift_margin_ns"),
            self.lease_drift_margin_ns,
            0..=election_min - 1,
        )?;
        if self.read_mode == ReadMode::Lease && !self.leader_stickiness {
            return Err(ConfigError::new(
                field("leader_stickiness"),
                "lease reads are only safe with leader stickiness",
            ));
        }
        check(
            &field("snapshot_threshold"),
            self.snapshot_threshold,
            0..=SNAPSHOT_THRESHOLD_MAX,
        )?;
        check(
            &field("append_entries_max"),
            self.append_entries_max,
            1..=APPEND_ENTRIES_MAX,
        )?;
        check_ns(
            &field("client_retry_ns"),
            self.client_retry_ns,
            PERIOD_NS_MIN..=DURATION_NS_MAX,
        )?;
        check_ns(
            &field("client_backoff_ns_max"),
            self.client_backoff_ns_max,
            self.client_retry_ns..=DURATION_NS_MAX,
        )
    }

    /// What a server holds with these options in a cluster of `servers`: its log up to the
    /// next snapshot (or [`UNCOMPACTED_ENTRIES`] entries when it never compacts), in memory
    /// and on disk, and, as leader or candidate, a few words per server.
    pub fn server_bytes(&self, servers: u32) -> u64 {
        let entries = match self.snapshot_threshold {
            0 => UNCOMPACTED_ENTRIES,
            t => t + self.append_entries_max as u64,
        };
        16 * 1024 + 2 * ENTRY_BYTES * entries + 32 * u64::from(servers)
    }
}

/// Most applied entries before a snapshot.
pub const SNAPSHOT_THRESHOLD_MAX: u64 = 1_000_000;
/// Most entries in one AppendEntries message.
pub const APPEND_ENTRIES_MAX: usize = 10_000;
/// The log length the memory estimate assumes for a server that never compacts.
pub const UNCOMPACTED_ENTRIES: u64 = 10_000;
/// A log entry (term, index, operation, client and value) in memory or on disk.
const ENTRY_BYTES: u64 = 128;

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
