//! # Raft
//!
//! Raft as in Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm"
//! (extended version), with a replicated key/value store as its state machine:
//!
//! - leader election with randomized timeouts, terms, one vote per term and the election
//!   restriction, plus leader stickiness and check-quorum from Ongaro's thesis;
//! - log replication with the consistency check, conflict truncation, fast back-off hints and
//!   the current-term commit rule; a new leader appends a no-op;
//! - durable currentTerm, votedFor and log (one storage key per entry), synced before any reply
//!   that depends on them; a restarted server recovers from storage alone;
//! - a key/value state machine (read, write, append, cas) with client sessions so a retried
//!   command is applied at most once; clients follow leader hints and back off;
//! - linearizable reads through the log, by ReadIndex, or under a LOCAL-time lease (unsafe when
//!   clocks drift beyond the margin — see `scenarios/library/raft-lease-drift.json`);
//! - snapshots once `snapshot_threshold` entries are applied, and InstallSnapshot in one
//!   message (no chunking);
//! - the paper's safety properties checked while the run goes by a shared [`Monitor`];
//! - four known bugs on a switch ([`RaftBug`]).
//!
//! Module map: [`options`] (options, bugs), [`log`], [`kv`], [`msg`], [`persist`] (durable
//! state), [`server`] with `election`, `replication`, `commit`, `snapshot`, `leader`,
//! `reads`, [`client`],
//! [`monitor`], [`experiment`] (the §9.3 election-downtime experiment).

pub mod checks;
pub mod client;
mod commit;
mod election;
pub mod experiment;
pub mod kv;
mod leader;
pub mod log;
pub mod monitor;
pub mod msg;
pub mod options;
pub mod persist;
mod reads;
mod replication;
pub mod server;
mod snapshot;

use std::cell::RefCell;
use std::rc::Rc;

use sim_core::bounds::check;
use sim_core::{ConfigError, Footprint, NodeId, SimBuilder, SimConfig, Simulation};

pub use client::RaftClient;
use kv::KvState;
pub use monitor::Monitor;
pub use msg::RaftMsg;
pub use options::{RaftBug, RaftOptions, ReadMode};
pub use server::RaftServer;

use sim_core::protocol::{BugInfo, CheckResult, Cluster, Protocol};

/// The Raft protocol for the scenario runner.
pub struct Raft;

/// What one operation leaves in a replica's state machine, at most (a value and its key).
pub const OP_STATE_BYTES: u64 = 64;

/// Most servers in a Raft cluster: a leader sorts every server's match index on each
/// acknowledgement and the end check compares every pair of logs, so each event costs O(n) and
/// the run's events budget would take minutes with thousands (real clusters have 3 to 7).
pub const SERVERS_MAX: u32 = 100;

/// Adds `servers` Raft servers sharing one new monitor to `builder` (which must have no nodes
/// yet, so the servers are `n0..`) and returns the monitor.
pub fn add_servers(
    options: &RaftOptions,
    servers: u32,
    builder: &mut SimBuilder<RaftMsg>,
) -> Result<Rc<RefCell<Monitor>>, ConfigError> {
    options.validate()?;
    if servers == 0 {
        return Err(ConfigError::new(
            "cluster.servers",
            "raft needs at least 1 server",
        ));
    }
    check("cluster.servers", servers, 1..=SERVERS_MAX)?;
    if builder.node_count() != 0 {
        return Err(ConfigError::new(
            "cluster",
            "raft servers must be the first nodes",
        ));
    }
    let monitor = Rc::new(RefCell::new(Monitor::new()));
    let config = Rc::new(options::ServerConfig::new(options, servers));
    for _ in 0..servers {
        let (config, monitor) = (config.clone(), monitor.clone());
        builder
            .add_server(move |id| Box::new(RaftServer::new(id, config.clone(), monitor.clone())));
    }
    Ok(monitor)
}

/// The servers of a finished (or running) simulation, in id order.
pub fn servers(sim: &Simulation<RaftMsg>) -> Vec<&RaftServer> {
    sim.servers()
        .iter()
        .filter_map(|&n| sim.process(n)?.as_any().downcast_ref::<RaftServer>())
        .collect()
}

impl Protocol for Raft {
    const NAME: &'static str = "raft";
    const DESCRIPTION: &'static str = "Raft consensus with a replicated key/value store, sessions, ReadIndex/lease reads and snapshots";
    const MODEL: Option<sim_core::ModelKind> = Some(sim_core::ModelKind::CasRegister);
    const OPERATIONS: &'static [sim_core::OpFn] = &[
        sim_core::OpFn::Read,
        sim_core::OpFn::Write,
        sim_core::OpFn::Cas,
    ];
    type Msg = RaftMsg;
    type Options = RaftOptions;

    fn bugs() -> &'static [BugInfo] {
        options::BUGS
    }

    fn populate(
        options: &RaftOptions,
        cluster: Cluster,
        builder: &mut SimBuilder<RaftMsg>,
    ) -> Result<(), ConfigError> {
        add_servers(options, cluster.servers, builder)?;
        for _ in 0..cluster.clients {
            let (servers, retry, backoff) = (
                cluster.servers,
                options.client_retry_ns,
                options.client_backoff_ns_max,
            );
            builder.add_client(move |_| Box::new(RaftClient::new(servers, retry, backoff)));
        }
        Ok(())
    }

    /// Besides its log and its per-server words, every server's state machine holds what
    /// every operation left (an appended element, a written value).
    fn footprint(options: &RaftOptions, cluster: Cluster, config: &SimConfig) -> Footprint {
        Footprint {
            server_bytes: options
                .server_bytes(cluster.servers)
                .saturating_add(config.ops_bound().saturating_mul(OP_STATE_BYTES)),
            client_bytes: 4 * 1024,
            // AppendEntries carry a few entries on average; most messages carry none.
            message_bytes: 128,
            op_value_bytes: 64,
        }
    }

    fn end_checks(_options: &RaftOptions, sim: &Simulation<RaftMsg>) -> Vec<CheckResult> {
        let servers = servers(sim);
        let applied: Vec<(NodeId, u64, &KvState)> = servers
            .iter()
            .map(|s| (s.id(), s.last_applied(), &s.kv))
            .collect();
        vec![
            checks::log_matching_at_end(&servers),
            checks::state_agreement(&applied),
        ]
    }

    fn metrics(sim: &Simulation<RaftMsg>) -> Vec<(String, f64)> {
        let servers = servers(sim);
        let Some(first) = servers.first() else {
            return Vec::new();
        };
        let monitor = first.monitor().borrow();
        let max_of = |f: fn(&RaftServer) -> u64| servers.iter().map(|s| f(s)).max().unwrap_or(0);
        vec![
            ("leader_changes".into(), monitor.elections().len() as f64),
            (
                "leaderless_ms_max".into(),
                monitor.leaderless_ns_max() as f64 / 1e6,
            ),
            ("commit_index".into(), monitor.commit_index() as f64),
            (
                "applied_max".into(),
                max_of(RaftServer::last_applied) as f64,
            ),
            ("snapshots".into(), monitor.snapshots() as f64),
            (
                "term_max".into(),
                servers.iter().map(|s| s.term()).max().unwrap_or(0) as f64,
            ),
        ]
    }
}
