//! # Chain replication (van Renesse & Schneider, OSDI 2004)
//!
//! A replicated key/value service (read, write, append, compare-and-set). The servers form a
//! chain: clients send updates to the **head**, which decides each update's effect, gives it
//! the next sequence number and forwards the state change down the chain; every server applies
//! it, syncs it to its disk and forwards it; the **tail** answers the client and serves reads.
//! Acknowledgements flow back up so each server can drop its pending (`Sent`) updates.
//!
//! A **master** watches heartbeats and reconfigures: it removes a failed head, tail or middle
//! server (for a middle server the successor reports its last received update and the
//! predecessor re-sends everything after it, as in the paper), and extends the chain with a
//! new tail after the old tail has brought it up to date (state transfer, then the old tail
//! forwards and becomes a middle server). A server that restarts from its disk rejoins as a
//! new tail. Servers also report a successor that stops acknowledging (so a partition inside
//! the chain leads to a reconfiguration, not a stall).
//!
//! **The master is assumed not to fail.** The paper replicates it with Paxos; here it is one
//! exempt server (the last server node), never touched by the nemesis or the partition
//! patterns. `cluster.servers` counts it: `servers: 4` is a chain of three plus the master.
//!
//! Departures from the paper, and why:
//! - Links lose, duplicate and reorder, so updates carry sequence numbers, a receiver applies
//!   them strictly in order (buffering early ones) and a sender re-sends unacknowledged ones.
//! - The master can suspect a server that is only paused or cut off, so a tail answers a read
//!   only after the master confirms its epoch (a fence sent after the read arrived) and, when
//!   it is new, after its predecessor's handoff (see `reads`). Without this (the bug
//!   `unfenced_reads`), a removed tail that does not know it yet serves stale reads.
//! - The master never removes the one member known to hold every answered update when it has
//!   no predecessor (the only member, or the old tail right after an extension whose new tail
//!   has not caught up yet): its disk holds the whole committed history, so the chain waits
//!   for it to restart instead of losing answered updates.
//! - Besides its store and sequence numbers, each server keeps its pending (`Sent`) updates
//!   on disk, so a restarted server that must stay in the chain can still re-send them. Other
//!   restarted servers are removed and rejoin as a new tail.
//!
//! Invariants checked during the run (violations): the update propagation invariant (each
//! member's history is a prefix of its predecessor's, via the shared [`monitor`]), that a
//! predecessor's re-send after a reconfiguration covers what its successor lacks, that a
//! predecessor still holds those updates (in-process requests), and read completeness (a
//! read's value includes every update already answered to any client). At the end,
//! `update-propagation-final` repeats the prefix check over the final chain and
//! `chain-converged` checks that after the last fault every member holds the same history
//! (skipped when the run leaves less than `converge_ns` of quiet). The client history is
//! judged as a `cas-register` per key; appends work but are not in the library scenarios,
//! since the checker's `kv` model assumes a different initial value than the service's nil.

mod checks;
mod client;
mod master;
pub mod monitor;
pub mod msg;
mod reads;
mod replicate;
mod server;
mod store;

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use sim_core::bounds::{DURATION_NS_MAX, PERIOD_NS_MIN, check, check_ns};
use sim_core::{
    ConfigError, Footprint, Nanos, NodeId, SimBuilder, SimConfig, Simulation, ms, secs,
};

pub use client::ChainClient;
pub use master::Master;
pub use monitor::Monitor;
pub use msg::ChainMsg;
pub use server::ChainServer;
pub use store::Replica;

use sim_core::protocol::{BugInfo, CheckResult, Cluster, Protocol};

/// Known bugs of chain replication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainBug {
    /// The tail applies and answers an update as soon as it arrives, even if an earlier one
    /// is still missing (so histories diverge and answered updates can be lost).
    TailReplyUnordered,
    /// After a middle server fails, its predecessor does not re-send the updates the new
    /// successor has not seen; it only forwards new ones.
    NoResendOnMiddleFailure,
    /// The tail answers reads from its own state without the master confirming that it is
    /// still the tail (the paper's tail under its fail-stop assumption): a tail removed
    /// while paused or cut off answers stale reads until it learns of its removal.
    UnfencedReads,
}

const BUGS: &[BugInfo] = &[
    BugInfo {
        name: "tail_reply_unordered",
        description: "the tail applies and answers updates in arrival order, even with an earlier update still missing",
    },
    BugInfo {
        name: "no_resend_on_middle_failure",
        description: "after a middle server fails, the predecessor does not re-send what the new successor lacks",
    },
    BugInfo {
        name: "unfenced_reads",
        description: "the tail answers reads without confirming with the master that it is still the tail (stale reads after a false suspicion)",
    },
];

/// Options of `chain`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainOptions {
    /// How often servers send heartbeats to the master and the master checks them.
    pub heartbeat_ns: Nanos,
    /// Silence (master's local time) after which the master declares a server failed.
    pub failure_timeout_ns: Nanos,
    /// How often servers re-send unacknowledged updates, snapshots, handoffs and fences.
    pub resend_ns: Nanos,
    /// How long outstanding updates may go unacknowledged before the successor is reported.
    pub link_timeout_ns: Nanos,
    /// How long a join (state transfer) may take before the master gives up on it.
    pub join_timeout_ns: Nanos,
    /// How long after a change the master waits before extending the chain.
    pub rejoin_delay_ns: Nanos,
    /// How often a client resends an unanswered request (asking the master again).
    pub client_resend_ns: Nanos,
    /// The quiet time after the last fault and the last operation that `chain-converged`
    /// needs before it judges (with less, it passes as skipped).
    pub converge_ns: Nanos,
    /// Bugs to switch on.
    pub bugs: Vec<ChainBug>,
}

impl Default for ChainOptions {
    fn default() -> Self {
        Self {
            heartbeat_ns: ms(50),
            failure_timeout_ns: ms(400),
            resend_ns: ms(40),
            link_timeout_ns: ms(600),
            join_timeout_ns: secs(2),
            rejoin_delay_ns: ms(500),
            client_resend_ns: ms(150),
            converge_ns: secs(3),
            bugs: Vec::new(),
        }
    }
}

/// The timing knobs servers and the master use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// See [`ChainOptions::heartbeat_ns`].
    pub heartbeat_ns: Nanos,
    /// See [`ChainOptions::failure_timeout_ns`].
    pub failure_timeout_ns: Nanos,
    /// See [`ChainOptions::resend_ns`].
    pub resend_ns: Nanos,
    /// See [`ChainOptions::link_timeout_ns`].
    pub link_timeout_ns: Nanos,
    /// See [`ChainOptions::join_timeout_ns`].
    pub join_timeout_ns: Nanos,
    /// See [`ChainOptions::rejoin_delay_ns`].
    pub rejoin_delay_ns: Nanos,
}

/// Which bugs a server runs with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bugs {
    /// [`ChainBug::TailReplyUnordered`].
    pub tail_reply_unordered: bool,
    /// [`ChainBug::NoResendOnMiddleFailure`].
    pub no_resend_on_middle_failure: bool,
    /// [`ChainBug::UnfencedReads`].
    pub unfenced_reads: bool,
}

impl ChainOptions {
    /// The timing part.
    pub fn timing(&self) -> Timing {
        Timing {
            heartbeat_ns: self.heartbeat_ns,
            failure_timeout_ns: self.failure_timeout_ns,
            resend_ns: self.resend_ns,
            link_timeout_ns: self.link_timeout_ns,
            join_timeout_ns: self.join_timeout_ns,
            rejoin_delay_ns: self.rejoin_delay_ns,
        }
    }

    /// The bugs switched on.
    pub fn bug_set(&self) -> Bugs {
        Bugs {
            tail_reply_unordered: self.bugs.contains(&ChainBug::TailReplyUnordered),
            no_resend_on_middle_failure: self.bugs.contains(&ChainBug::NoResendOnMiddleFailure),
            unfenced_reads: self.bugs.contains(&ChainBug::UnfencedReads),
        }
    }

    /// Checks the options against their ranges: periods and timeouts from
    /// [`PERIOD_NS_MIN`], delays from 0, all at most [`DURATION_NS_MAX`], and a failure
    /// timeout above the heartbeat.
    fn validate(&self) -> Result<(), ConfigError> {
        let periods = [
            ("heartbeat_ns", self.heartbeat_ns),
            ("failure_timeout_ns", self.failure_timeout_ns),
            ("resend_ns", self.resend_ns),
            ("link_timeout_ns", self.link_timeout_ns),
            ("join_timeout_ns", self.join_timeout_ns),
            ("client_resend_ns", self.client_resend_ns),
        ];
        for (name, v) in periods {
            let field = format!("protocol.options.{name}");
            check_ns(&field, v, PERIOD_NS_MIN..=DURATION_NS_MAX)?;
        }
        for (name, v) in [
            ("rejoin_delay_ns", self.rejoin_delay_ns),
            ("converge_ns", self.converge_ns),
        ] {
            let field = format!("protocol.options.{name}");
            check_ns(&field, v, 0..=DURATION_NS_MAX)?;
        }
        if self.failure_timeout_ns <= self.heartbeat_ns {
            return Err(ConfigError::new(
                "protocol.options.failure_timeout_ns",
                "must exceed heartbeat_ns, or every server looks failed",
            ));
        }
        Ok(())
    }
}

/// The chain replication protocol.
pub struct Chain;

/// Most servers (the chain and its master): the master and the monitor do O(n) work per
/// event, so a chain of thousands would take minutes per run (the paper's chains are 2 to 10).
pub const SERVERS_MAX: u32 = 100;

impl Protocol for Chain {
    const NAME: &'static str = "chain";
    const DESCRIPTION: &'static str = "chain replication (van Renesse & Schneider 2004) with a master assumed reliable; servers = chain + 1 master";
    const MODEL: Option<sim_core::ModelKind> = Some(sim_core::ModelKind::CasRegister);
    const OPERATIONS: &'static [sim_core::OpFn] = &[
        sim_core::OpFn::Read,
        sim_core::OpFn::Write,
        sim_core::OpFn::Cas,
    ];
    type Msg = ChainMsg;
    type Options = ChainOptions;

    fn bugs() -> &'static [BugInfo] {
        BUGS
    }

    /// Every replica holds what every operation left, plus its pending updates on disk.
    fn footprint(_: &ChainOptions, _: Cluster, config: &SimConfig) -> Footprint {
        Footprint {
            server_bytes: (64 * 1024u64).saturating_add(config.ops_bound().saturating_mul(128)),
            client_bytes: 4 * 1024,
            message_bytes: 128,
            op_value_bytes: 64,
        }
    }

    fn populate(
        options: &ChainOptions,
        cluster: Cluster,
        builder: &mut SimBuilder<ChainMsg>,
    ) -> Result<(), ConfigError> {
        if cluster.servers < 2 {
            return Err(ConfigError::new(
                "cluster.servers",
                "chain replication needs at least 2 servers: a chain of 1 or more plus the master",
            ));
        }
        check("cluster.servers", cluster.servers, 2..=SERVERS_MAX)?;
        options.validate()?;
        let first = builder.node_count() as u32;
        let replicas: Vec<NodeId> = (first..first + cluster.servers - 1).map(NodeId).collect();
        let master = NodeId(first + cluster.servers - 1);
        let monitor = Rc::new(RefCell::new(Monitor::default()));
        let (timing, bugs) = (options.timing(), options.bug_set());
        for _ in &replicas {
            let monitor = monitor.clone();
            builder.add_server(move |_| {
                Box::new(ChainServer::new(master, timing, bugs, monitor.clone()))
            });
        }
        let added = builder.add_exempt_server(move |_| {
            Box::new(Master::new(replicas.clone(), timing, monitor.clone()))
        });
        debug_assert_eq!(added, master);
        let resend_ns = options.client_resend_ns;
        for _ in 0..cluster.clients {
            builder.add_client(move |_| Box::new(ChainClient::new(master, resend_ns)));
        }
        Ok(())
    }

    fn end_checks(options: &ChainOptions, sim: &Simulation<ChainMsg>) -> Vec<CheckResult> {
        let Some(master) = master_of(sim) else {
            return vec![CheckResult::fail(
                "chain-converged",
                "no master process found",
            )];
        };
        let final_prefix = match master.monitor().borrow_mut().check_chain() {
            None => CheckResult::pass(
                "update-propagation-final",
                "every member's history is a prefix of its predecessor's at the end",
            ),
            Some(why) => CheckResult::fail("update-propagation-final", why),
        };
        vec![final_prefix, checks::converged(options, sim, master)]
    }

    fn metrics(sim: &Simulation<ChainMsg>) -> Vec<(String, f64)> {
        let Some(master) = master_of(sim) else {
            return Vec::new();
        };
        let monitor = master.monitor().borrow();
        let s = &monitor.stats;
        let final_len = master.config().map_or(0, |c| c.chain.len());
        vec![
            ("chain.reconfigurations".into(), s.reconfigurations as f64),
            (
                "chain.length_min".into(),
                s.chain_length_min.unwrap_or(0) as f64,
            ),
            ("chain.length_final".into(), final_len as f64),
            ("chain.updates_applied".into(), monitor.applied_max() as f64),
            ("chain.pending_max".into(), s.pending_max as f64),
            ("chain.prefix_checks".into(), s.prefix_checks as f64),
            (
                "chain.prefix_checks_skipped".into(),
                s.prefix_checks_skipped as f64,
            ),
        ]
    }
}

/// The master process of a run (the last server).
fn master_of(sim: &Simulation<ChainMsg>) -> Option<&Master> {
    let node = *sim.servers().last()?;
    sim.process(node)?.as_any().downcast_ref::<Master>()
}
