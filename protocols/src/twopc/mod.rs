//! Two-phase commit (Gray 1978; Bernstein, Hadzilacos & Goodman 1987, ch. 7) with presumed
//! abort, strict two-phase locking at the participants and the cooperative termination
//! protocol.
//!
//! Node `n0` is the coordinator; `n1..` are the participants, each owning the keys
//! `k` with `k % participants == i`. Clients send multi-key transactions to the coordinator:
//! bank transfers and balance snapshots, or random reads and writes. The coordinator and the
//! participants can all crash and recover from their durable logs alone; a participant that
//! voted yes and cannot learn the decision stays blocked, holding its locks — the price of
//! 2PC, measured here as in-doubt time.
//!
//! - [`msg`]: transactions and messages; [`records`]: the durable logs.
//! - [`coordinator`], [`participant`] (with [`locks`]), [`client`].
//! - [`monitor`]: the run's global view, checking atomicity as it happens; [`checks`] and
//!   [`graph`]: the end checks (atomicity, durability, serializability, the bank invariant).
//!
//! Metrics: `commits`, `aborts`, `abort_rate`; in-doubt periods (from a yes vote to learning
//! the decision, local clocks) resolved during the run: `in_doubt_resolved`,
//! `in_doubt_ms_total`, `in_doubt_ms_max`, `in_doubt_resolved_by_peers`; and at the end:
//! `in_doubt_open_end` (prepare records still undecided), `in_doubt_open_ms_max` (the oldest
//! of them) and `blocked_participants_end` (participants in doubt for longer than the
//! decision timeout).

pub mod checks;
pub mod client;
pub mod coordinator;
pub mod graph;
pub mod locks;
pub mod monitor;
pub mod msg;
pub mod participant;
pub mod records;

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use sim_core::bounds::{DURATION_NS_MAX, KEYS_MAX, PERIOD_NS_MIN, check, check_f64, check_ns};
use sim_core::{
    ConfigError, EventType, Footprint, Nanos, NodeId, SimBuilder, SimConfig, Simulation, ms,
};

use checks::FinalState;
use client::{Client, TxnShape, WorkloadKind};
use coordinator::{Coordinator, CoordinatorConfig};
use monitor::Monitor;
use msg::TwoPcMsg;
use participant::{Participant, ParticipantConfig};
use sim_core::protocol::{BugInfo, CheckResult, Cluster, Protocol};

/// The coordinator's node.
pub const COORDINATOR: NodeId = NodeId(0);

/// Known bugs of two-phase commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TwoPcBug {
    /// The coordinator sends commit before its decision record is durable.
    CommitBeforeDurable,
    /// A participant votes yes before its prepare record is durable.
    VoteWithoutSync,
    /// The coordinator commits when a vote is missing at the timeout.
    CommitOnTimeout,
}

const BUGS: &[BugInfo] = &[
    BugInfo {
        name: "commit_before_durable",
        description: "coordinator sends commit before its decision is durable; after a crash, presumed abort contradicts participants that committed",
    },
    BugInfo {
        name: "vote_without_sync",
        description: "participant votes yes before syncing its prepare record; a crash makes it forget a transaction it promised to commit",
    },
    BugInfo {
        name: "commit_on_timeout",
        description: "coordinator commits when a vote is still missing at the timeout instead of aborting",
    },
];

/// Options of `twopc`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwoPcOptions {
    /// `bank` (transfers and snapshots) or `rw` (random reads and writes).
    pub workload: WorkloadKind,
    /// Number of keys (bank accounts).
    pub keys: u64,
    /// Each account's opening balance (bank).
    pub initial_balance: i64,
    /// Largest transfer (bank).
    pub transfer_max: i64,
    /// Most operations per transaction (rw), at most 64.
    pub txn_ops_max: u32,
    /// Share of writes among a transaction's operations (rw).
    pub write_fraction: f64,
    /// Chance that a participant votes no for no reason.
    pub abort_probability: f64,
    /// Resend period of clients and the coordinator (local time).
    pub resend_ns: Nanos,
    /// How long the coordinator waits for votes before aborting.
    pub vote_timeout_ns: Nanos,
    /// How long a prepared participant waits for the decision before asking.
    pub decision_timeout_ns: Nanos,
    /// How often an in-doubt participant asks again (the coordinator, then also its peers).
    pub query_interval_ns: Nanos,
    /// Bugs to switch on.
    pub bugs: Vec<TwoPcBug>,
}

impl Default for TwoPcOptions {
    fn default() -> Self {
        Self {
            workload: WorkloadKind::Bank,
            keys: 6,
            initial_balance: 100,
            transfer_max: 30,
            txn_ops_max: 4,
            write_fraction: 0.5,
            abort_probability: 0.0,
            resend_ns: ms(50),
            vote_timeout_ns: ms(500),
            decision_timeout_ns: ms(300),
            query_interval_ns: ms(200),
            bugs: Vec::new(),
        }
    }
}

/// Most accounts of a bank: a snapshot reads every account, so its messages and its history
/// entries grow with them.
pub const BANK_KEYS_MAX: u64 = 1_000;
/// Largest opening balance and largest transfer: a bank's total (`keys × balance`) stays far
/// from overflowing.
pub const AMOUNT_MAX: i64 = 1_000_000_000_000;

/// The number of distinct keys the memory estimate assumes a run writes.
const KEYS_WRITTEN_ASSUMED: u64 = 100_000;

impl TwoPcOptions {
    /// Checks the options against their ranges: `keys` from 2 to [`BANK_KEYS_MAX`] for a
    /// bank, from 1 to [`sim_core::bounds::KEYS_MAX`] otherwise; amounts up to
    /// [`AMOUNT_MAX`]; `txn_ops_max` from 1 to 64; probabilities in [0, 1]; timers from
    /// [`PERIOD_NS_MIN`] to [`DURATION_NS_MAX`].
    fn validate(&self) -> Result<(), ConfigError> {
        let field = |name: &str| format!("protocol.options.{name}");
        let keys = match self.workload {
            WorkloadKind::Bank => 2..=BANK_KEYS_MAX,
            WorkloadKind::Rw => 1..=KEYS_MAX,
        };
        check(&field("keys"), self.keys, keys)?;
        check(
            &field("initial_balance"),
            self.initial_balance,
            0..=AMOUNT_MAX,
        )?;
        check(&field("transfer_max"), self.transfer_max, 1..=AMOUNT_MAX)?;
        check(
            &field("txn_ops_max"),
            self.txn_ops_max,
            1..=client::WRITE_VALUE_STRIDE,
        )?;
        for (name, p) in [
            ("write_fraction", self.write_fraction),
            ("abort_probability", self.abort_probability),
        ] {
            check_f64(&field(name), p, 0.0..=1.0)?;
        }
        for (name, ns) in [
            ("resend_ns", self.resend_ns),
            ("vote_timeout_ns", self.vote_timeout_ns),
            ("decision_timeout_ns", self.decision_timeout_ns),
            ("query_interval_ns", self.query_interval_ns),
        ] {
            check_ns(&field(name), ns, PERIOD_NS_MIN..=DURATION_NS_MAX)?;
        }
        Ok(())
    }

    /// Operations in a transaction: every account for a bank's snapshot, else at most
    /// `txn_ops_max`.
    fn txn_ops(&self) -> u64 {
        match self.workload {
            WorkloadKind::Bank => self.keys,
            WorkloadKind::Rw => u64::from(self.txn_ops_max),
        }
    }

    fn initial(&self) -> Option<i64> {
        (self.workload == WorkloadKind::Bank).then_some(self.initial_balance)
    }
}

/// Where keys live: participant `participants[k % n]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sharding {
    participants: Vec<NodeId>,
}

impl Sharding {
    /// Keys spread over `participants` (not empty).
    pub fn new(participants: Vec<NodeId>) -> Self {
        assert!(!participants.is_empty(), "sharding needs a participant");
        Self { participants }
    }

    /// The participant that owns `key`.
    pub fn owner(&self, key: u64) -> NodeId {
        self.participants[(key % self.participants.len() as u64) as usize]
    }
}

/// The two-phase commit protocol.
pub struct TwoPc;

impl TwoPc {
    /// The run's monitor, reached through the coordinator process.
    fn monitor(sim: &Simulation<TwoPcMsg>) -> Option<Rc<RefCell<Monitor>>> {
        let process = sim.process(COORDINATOR)?;
        let coordinator = process.as_any().downcast_ref::<Coordinator>()?;
        Some(coordinator.monitor())
    }

    fn final_state(sim: &Simulation<TwoPcMsg>) -> FinalState {
        let participants = sim
            .servers()
            .iter()
            .filter(|&&n| n != COORDINATOR)
            .filter_map(|&n| sim.storage(n).map(|s| (n, s)));
        FinalState::read(participants)
    }

    fn sharding(sim: &Simulation<TwoPcMsg>) -> Sharding {
        let participants = sim
            .servers()
            .iter()
            .copied()
            .filter(|&n| n != COORDINATOR)
            .collect();
        Sharding::new(participants)
    }
}

impl Protocol for TwoPc {
    const NAME: &'static str = "twopc";
    const DESCRIPTION: &'static str = "two-phase commit with presumed abort, 2PL participants, crash recovery and cooperative termination; bank and read/write transactions";
    const MODEL: Option<sim_core::ModelKind> = None;
    const OPERATIONS: &'static [sim_core::OpFn] = &[sim_core::OpFn::Read, sim_core::OpFn::Write];
    type Msg = TwoPcMsg;
    type Options = TwoPcOptions;

    fn bugs() -> &'static [BugInfo] {
        BUGS
    }

    fn populate(
        options: &TwoPcOptions,
        cluster: Cluster,
        builder: &mut SimBuilder<TwoPcMsg>,
    ) -> Result<(), ConfigError> {
        options.validate()?;
        if cluster.servers < 2 {
            return Err(ConfigError::new(
                "cluster.servers",
                "two-phase commit needs a coordinator and at least one participant (2 or more servers)",
            ));
        }
        let monitor = Rc::new(RefCell::new(Monitor::default()));
        let participants: Vec<NodeId> = (1..cluster.servers).map(NodeId).collect();
        let sharding = Sharding::new(participants.clone());
        let has = |bug| options.bugs.contains(&bug);
        let config = CoordinatorConfig {
            sharding,
            vote_timeout_ns: options.vote_timeout_ns,
            resend_ns: options.resend_ns,
            commit_before_durable: has(TwoPcBug::CommitBeforeDurable),
            commit_on_timeout: has(TwoPcBug::CommitOnTimeout),
        };
        let m = Rc::clone(&monitor);
        let coordinator =
            builder.add_server(move |_| Box::new(Coordinator::new(config.clone(), Rc::clone(&m))));
        debug_assert_eq!(coordinator, COORDINATOR);
        let config = ParticipantConfig {
            coordinator,
            initial: options.initial(),
            abort_probability: options.abort_probability,
            decision_timeout_ns: options.decision_timeout_ns,
            query_interval_ns: options.query_interval_ns,
            tick_ns: options.query_interval_ns.min(options.resend_ns),
            vote_without_sync: has(TwoPcBug::VoteWithoutSync),
        };
        for _ in &participants {
            let m = Rc::clone(&monitor);
            builder.add_server(move |_| Box::new(Participant::new(config, Rc::clone(&m))));
        }
        let shape = TxnShape {
            kind: options.workload,
            keys: options.keys,
            transfer_max: options.transfer_max,
            ops_max: options.txn_ops_max,
            write_fraction: options.write_fraction,
        };
        let resend_ns = options.resend_ns;
        for _ in 0..cluster.clients {
            builder.add_client(move |_| Box::new(Client::new(coordinator, resend_ns, shape)));
        }
        Ok(())
    }

    /// A transaction's messages and its history entry list its operations (every account, for
    /// a bank's snapshot), about 150 bytes each in the history; participants hold their share
    /// of the keys and their logs.
    fn footprint(options: &TwoPcOptions, cluster: Cluster, _: &SimConfig) -> Footprint {
        let ops = options.txn_ops();
        let participants = u64::from(cluster.servers.saturating_sub(1)).max(1);
        // A participant holds the keys written so far: all of a bank's, a share of the rest.
        let keys_held = options.keys.min(KEYS_WRITTEN_ASSUMED) / participants;
        Footprint {
            server_bytes: (64 * 1024u64).saturating_add(keys_held.saturating_mul(64)),
            client_bytes: (4 * 1024u64).saturating_add(ops.saturating_mul(32)),
            message_bytes: ops.saturating_mul(32),
            op_value_bytes: ops.saturating_mul(150),
        }
    }

    fn end_checks(options: &TwoPcOptions, sim: &Simulation<TwoPcMsg>) -> Vec<CheckResult> {
        let Some(monitor) = Self::monitor(sim) else {
            return vec![CheckResult::fail(
                "twopc",
                "the coordinator process is missing",
            )];
        };
        let monitor = monitor.borrow();
        let state = Self::final_state(sim);
        let sharding = Self::sharding(sim);
        let mut results = vec![
            checks::atomicity(&monitor, &state),
            checks::durability(&monitor, &sharding, options.initial(), &state),
            checks::serializability(&monitor),
        ];
        if options.workload == WorkloadKind::Bank {
            results.push(checks::bank(
                &monitor,
                &sharding,
                options.keys,
                options.initial_balance,
                &state,
            ));
        }
        if monitor.overflowed() {
            results.push(CheckResult::fail(
                "twopc-monitor",
                format!(
                    "more than {} transactions: the checks saw only part of the run",
                    monitor::MONITOR_TXNS_MAX
                ),
            ));
        }
        results
    }

    /// After every fault has healed, no participant stays in doubt (the coordinator is back,
    /// so every question gets an answer) and transactions commit again.
    fn liveness(
        _options: &TwoPcOptions,
        sim: &Simulation<TwoPcMsg>,
        healed_at_ns: Nanos,
    ) -> Vec<CheckResult> {
        let recovery_ns = sim.config().duration_ns.saturating_sub(healed_at_ns) / 2;
        let in_doubt_ns_max = sim
            .servers()
            .iter()
            .filter_map(|&n| sim.process(n)?.as_any().downcast_ref::<Participant>())
            .map(Participant::open_in_doubt_ns_max)
            .max()
            .unwrap_or(0);
        let in_doubt = if in_doubt_ns_max < recovery_ns {
            CheckResult::pass(
                "liveness/in_doubt_resolved",
                format!(
                    "the longest doubt still open at the end began {:.3} s before it",
                    in_doubt_ns_max as f64 / 1e9
                ),
            )
        } else {
            CheckResult::fail(
                "liveness/in_doubt_resolved",
                format!(
                    "a participant has been in doubt for {:.3} s, since before the faults healed plus {:.3} s",
                    in_doubt_ns_max as f64 / 1e9,
                    recovery_ns as f64 / 1e9
                ),
            )
        };
        let from_ns = healed_at_ns.saturating_add(recovery_ns);
        let commits = sim
            .history()
            .events()
            .iter()
            .filter(|e| e.kind == EventType::Ok && e.time >= from_ns)
            .count();
        let committing = if commits > 0 {
            CheckResult::pass(
                "liveness/commits",
                format!(
                    "{commits} transactions committed in the last {:.3} s",
                    recovery_ns as f64 / 1e9
                ),
            )
        } else {
            CheckResult::fail(
                "liveness/commits",
                format!(
                    "no transaction committed after {:.3} s",
                    from_ns as f64 / 1e9
                ),
            )
        };
        vec![in_doubt, committing]
    }

    fn metrics(sim: &Simulation<TwoPcMsg>) -> Vec<(String, f64)> {
        let Some(monitor) = Self::monitor(sim) else {
            return Vec::new();
        };
        let monitor = monitor.borrow();
        let state = Self::final_state(sim);
        let commits = monitor.commits() as f64;
        let aborts = monitor.aborts() as f64;
        let decided = commits + aborts;
        let in_doubt = monitor.in_doubt_stats();
        let in_doubt_open: usize = state.prepared.values().map(|s| s.len()).sum();
        let participants: Vec<&Participant> = sim
            .servers()
            .iter()
            .filter_map(|&n| sim.process(n)?.as_any().downcast_ref::<Participant>())
            .collect();
        let open_ns_max = participants
            .iter()
            .map(|p| p.open_in_doubt_ns_max())
            .max()
            .unwrap_or(0);
        let blocked = participants.iter().filter(|p| p.is_blocked()).count();
        vec![
            ("commits".into(), commits),
            ("aborts".into(), aborts),
            (
                "abort_rate".into(),
                if decided > 0.0 { aborts / decided } else { 0.0 },
            ),
            ("in_doubt_resolved".into(), in_doubt.count as f64),
            ("in_doubt_ms_total".into(), in_doubt.total_ns as f64 / 1e6),
            ("in_doubt_ms_max".into(), in_doubt.max_ns as f64 / 1e6),
            (
                "in_doubt_resolved_by_peers".into(),
                monitor.resolved_by_peers() as f64,
            ),
            ("in_doubt_open_end".into(), in_doubt_open as f64),
            ("in_doubt_open_ms_max".into(), open_ns_max as f64 / 1e6),
            ("blocked_participants_end".into(), blocked as f64),
        ]
    }
}
