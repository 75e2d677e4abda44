//! The coordinator: runs each client transaction through two-phase commit with presumed abort.
//! Phase one sends each participant its share of the operations and collects votes; any no
//! vote, or a vote missing at the timeout, aborts. A commit is logged and synced before anyone
//! hears of it; an abort is not logged at all (no record means abort). Phase two resends the
//! decision until every participant acknowledged, then the coordinator forgets the transaction.
//! After a crash it recovers from its log alone: a new incarnation (so ids never repeat), the
//! commits not yet acknowledged (resent), and the clients' last committed requests.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use sim_core::{Ctx, Nanos, NodeId, Process, TimerId};

use super::Sharding;
use super::monitor::Monitor;
use super::msg::{Effects, TwoPcMsg, TxnId, TxnOp, TxnResult, Vote};
use super::records::{self, CommitRecord, SessionRecord};

/// How many transactions may be in flight at once; a client request beyond that is aborted
/// before it starts.
pub const ACTIVE_TXNS_MAX: usize = 1024;
/// How many operations one transaction may have.
pub const TXN_OPS_MAX: usize = 64;

/// The coordinator's settings.
#[derive(Clone, Debug)]
pub struct CoordinatorConfig {
    /// Where each key lives.
    pub sharding: Sharding,
    /// How long (local) to wait for all votes before aborting.
    pub vote_timeout_ns: Nanos,
    /// Period (local) of resends of prepares and decisions.
    pub resend_ns: Nanos,
    /// Bug: send the commit before its record is durable (the record is synced at the next tick).
    pub commit_before_durable: bool,
    /// Bug: at the vote timeout, commit unless someone voted no.
    pub commit_on_timeout: bool,
}

/// One participant's part of a transaction.
#[derive(Clone, Debug)]
struct Shard {
    node: NodeId,
    ops: Vec<TxnOp>,
    vote: Option<Effects>,
    acked: bool,
}

/// Where a transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for votes since this local time.
    Voting { since_local_ns: Nanos },
    /// Commit decided (and logged); waiting for acknowledgements.
    Committing,
}

/// A transaction the coordinator has not forgotten.
#[derive(Clone, Debug)]
struct Active {
    /// The client and its request, if known (not after recovery).
    client: Option<(NodeId, u64)>,
    shards: Vec<Shard>,
    phase: Phase,
}

/// What the coordinator knows of a client's last request.
#[derive(Clone, Debug)]
enum Session {
    /// Running.
    Running(u64),
    /// Finished with this result.
    Done(u64, TxnResult),
}

impl Session {
    fn req(&self) -> u64 {
        match self {
            Session::Running(req) | Session::Done(req, _) => *req,
        }
    }
}

/// The coordinator process. Durable: the `epoch`, `commit/` and `session/` records; the fields
/// are volatile.
#[derive(Debug)]
pub struct Coordinator {
    config: CoordinatorConfig,
    monitor: Rc<RefCell<Monitor>>,
    epoch: u32,
    next_seq: u32,
    active: BTreeMap<TxnId, Active>,
    sessions: BTreeMap<NodeId, Session>,
    /// With `commit_before_durable`: commit records written but not yet synced.
    flush_pending: bool,
    tick: Option<TimerId>,
}

impl Coordinator {
    /// A coordinator with `config`, reporting to `monitor`.
    pub fn new(config: CoordinatorConfig, monitor: Rc<RefCell<Monitor>>) -> Self {
        Self {
            config,
            monitor,
            epoch: 0,
            next_seq: 0,
            active: BTreeMap::new(),
            sessions: BTreeMap::new(),
            flush_pending: false,
            tick: None,
        }
    }

    /// The run's monitor.
    pub fn monitor(&self) -> Rc<RefCell<Monitor>> {
        Rc::clone(&self.monitor)
    }

    fn recover(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>) {
        let storage = ctx.storage();
        let last_epoch = records::get::<u32>(storage, records::EPOCH);
        let (commits, mut bad) = records::load::<TxnId, CommitRecord>(
            storage,
            records::COMMIT,
            TxnId::parse_record_name,
        );
        let (sessions, bad_sessions) = records::load::<NodeId, SessionRecord>(
            storage,
            records::SESSION,
            records::parse_client,
        );
        bad.extend(bad_sessions);
        if storage.get(records::EPOCH).is_some() && last_epoch.is_none() {
            bad.push(records::EPOCH.to_string());
        }
        self.epoch = last_epoch.map_or(0, |e| e.saturating_add(1));
        records::put(ctx.storage_mut(), records::EPOCH.to_string(), &self.epoch);
        ctx.storage_mut().sync();
        for (txn, record) in commits {
            let shards = record
                .participants
                .into_iter()
                .map(|node| Shard {
                    node,
                    ops: Vec::new(),
                    vote: None,
                    acked: false,
                })
                .collect();
            let active = Active {
                client: None,
                shards,
                phase: Phase::Committing,
            };
            self.active.insert(txn, active);
        }
        for (client, session) in sessions {
            let result = TxnResult::Committed(session.effects);
            self.sessions
                .insert(client, Session::Done(session.req, result));
        }
        for name in bad {
            ctx.violation("twopc-storage", format!("unreadable record {name}"));
        }
    }

    fn on_submit(
        &mut self,
        ctx: &mut Ctx<'_, TwoPcMsg>,
        client: NodeId,
        req: u64,
        ops: Vec<TxnOp>,
    ) {
        match self.sessions.get(&client) {
            Some(s) if req < s.req() => return, // a stale resend
            Some(Session::Running(last)) if *last == req => return,
            Some(Session::Done(last, result)) if *last == req => {
                let result = result.clone();
                ctx.send(client, TwoPcMsg::Outcome { req, result });
                return;
            }
            _ => {}
        }
        if self.active.len() >= ACTIVE_TXNS_MAX || ops.is_empty() || ops.len() > TXN_OPS_MAX {
            let result = TxnResult::Aborted;
            self.sessions
                .insert(client, Session::Done(req, result.clone()));
            ctx.send(client, TwoPcMsg::Outcome { req, result });
            return;
        }
        let txn = TxnId {
            epoch: self.epoch,
            seq: self.next_seq,
        };
        self.next_seq = self.next_seq.saturating_add(1);
        let shards = self.split(ops);
        let participants: Vec<NodeId> = shards.iter().map(|s| s.node).collect();
        self.monitor.borrow_mut().begin(txn, &participants);
        for shard in &shards {
            let msg = TwoPcMsg::Prepare {
                txn,
                ops: shard.ops.clone(),
                participants: participants.clone(),
            };
            ctx.send(shard.node, msg);
        }
        let active = Active {
            client: Some((client, req)),
            shards,
            phase: Phase::Voting {
                since_local_ns: ctx.now(),
            },
        };
        self.active.insert(txn, active);
        self.sessions.insert(client, Session::Running(req));
    }

    /// Groups `ops` by the participant owning their key, keeping their order.
    fn split(&self, ops: Vec<TxnOp>) -> Vec<Shard> {
        let mut by_node: BTreeMap<NodeId, Vec<TxnOp>> = BTreeMap::new();
        for op in ops {
            let node = self.config.sharding.owner(op.key());
            by_node.entry(node).or_default().push(op);
        }
        by_node
            .into_iter()
            .map(|(node, ops)| Shard {
                node,
                ops,
                vote: None,
                acked: false,
            })
            .collect()
    }

    fn on_vote(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, from: NodeId, txn: TxnId, vote: Vote) {
        let Some(active) = self.active.get_mut(&txn) else {
            // Aborted (or presumed aborted after a crash): a prepared voter must hear it.
            if matches!(vote, Vote::Yes(_)) {
                ctx.send(from, TwoPcMsg::Decision { txn, commit: false });
            }
            return;
        };
        if active.phase != Phase::Committing
            && let Some(shard) = active.shards.iter_mut().find(|s| s.node == from)
        {
            match vote {
                Vote::No => return self.decide(ctx, txn, false),
                Vote::Yes(effects) => shard.vote = Some(effects),
            }
        }
        let all_yes = active.shards.iter().all(|s| s.vote.is_some());
        if all_yes && active.phase != Phase::Committing {
            self.decide(ctx, txn, true);
        }
    }

    /// Decides `txn`: a commit is logged (and synced, unless buggy) before it is sent; an
    /// abort is sent and forgotten at once.
    fn decide(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, txn: TxnId, commit: bool) {
        let Some(active) = self.active.get_mut(&txn) else {
            return;
        };
        let participants: Vec<NodeId> = active.shards.iter().map(|s| s.node).collect();
        let effects: Vec<Effects> = active
            .shards
            .iter()
            .map(|s| s.vote.clone().unwrap_or_default())
            .collect();
        if commit {
            let record = CommitRecord { participants };
            records::put(
                ctx.storage_mut(),
                records::txn_name(records::COMMIT, txn),
                &record,
            );
            if let Some((client, req)) = active.client {
                let session = SessionRecord {
                    req,
                    effects: effects.clone(),
                };
                records::put(ctx.storage_mut(), records::session_name(client), &session);
            }
            if self.config.commit_before_durable {
                self.flush_pending = true;
            } else {
                ctx.storage_mut().sync();
            }
            active.phase = Phase::Committing;
        }
        let verdict = self.monitor.borrow_mut().decided(txn, commit);
        if let Err(detail) = verdict {
            ctx.violation("atomicity", detail);
        }
        for shard in &active.shards {
            ctx.send(shard.node, TwoPcMsg::Decision { txn, commit });
        }
        if let Some((client, req)) = active.client {
            let result = if commit {
                TxnResult::Committed(effects)
            } else {
                TxnResult::Aborted
            };
            self.sessions
                .insert(client, Session::Done(req, result.clone()));
            ctx.send(client, TwoPcMsg::Outcome { req, result });
        }
        if !commit {
            self.active.remove(&txn);
        }
    }

    fn on_ack(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, from: NodeId, txn: TxnId) {
        let Some(active) = self.active.get_mut(&txn) else {
            return;
        };
        if active.phase != Phase::Committing {
            return;
        }
        if let Some(shard) = active.shards.iter_mut().find(|s| s.node == from) {
            shard.acked = true;
        }
        if active.shards.iter().all(|s| s.acked) {
            // Everyone applied the commit: nobody can ask about it any more.
            ctx.storage_mut()
                .delete(records::txn_name(records::COMMIT, txn));
            for shard in &active.shards {
                ctx.send(shard.node, TwoPcMsg::Forget { txn });
            }
            self.active.remove(&txn);
        }
    }

    fn on_decision_request(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, from: NodeId, txn: TxnId) {
        match self.active.get(&txn).map(|a| a.phase) {
            Some(Phase::Committing) => ctx.send(from, TwoPcMsg::Decision { txn, commit: true }),
            Some(Phase::Voting { .. }) => {} // undecided: the participant keeps waiting
            // Presumed abort: no commit record, so it did not commit.
            None => ctx.send(from, TwoPcMsg::Decision { txn, commit: false }),
        }
    }

    /// Resends what is missing and times out votes.
    fn on_tick(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>) {
        if self.flush_pending {
            ctx.storage_mut().sync();
            self.flush_pending = false;
        }
        let now = ctx.now();
        let mut timed_out = Vec::new();
        for (&txn, active) in &self.active {
            match active.phase {
                Phase::Voting { since_local_ns } => {
                    if now.saturating_sub(since_local_ns) >= self.config.vote_timeout_ns {
                        timed_out.push(txn);
                        continue;
                    }
                    let participants: Vec<NodeId> = active.shards.iter().map(|s| s.node).collect();
                    for shard in active.shards.iter().filter(|s| s.vote.is_none()) {
                        let msg = TwoPcMsg::Prepare {
                            txn,
                            ops: shard.ops.clone(),
                            participants: participants.clone(),
                        };
                        ctx.send(shard.node, msg);
                    }
                }
                Phase::Committing => {
                    for shard in active.shards.iter().filter(|s| !s.acked) {
                        ctx.send(shard.node, TwoPcMsg::Decision { txn, commit: true });
                    }
                }
            }
        }
        for txn in timed_out {
            // A missing vote means abort; the buggy coordinator takes silence for yes.
            self.decide(ctx, txn, self.config.commit_on_timeout);
        }
    }
}

impl Process for Coordinator {
    type Msg = TwoPcMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>) {
        self.recover(ctx);
        self.tick = Some(ctx.set_timer(self.config.resend_ns, 0));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, from: NodeId, msg: TwoPcMsg) {
        match msg {
            TwoPcMsg::Submit { req, ops } => self.on_submit(ctx, from, req, ops),
            TwoPcMsg::Vote { txn, vote } => self.on_vote(ctx, from, txn, vote),
            TwoPcMsg::Ack { txn } => self.on_ack(ctx, from, txn),
            TwoPcMsg::DecisionRequest { txn } => self.on_decision_request(ctx, from, txn),
            TwoPcMsg::Outcome { .. }
            | TwoPcMsg::Prepare { .. }
            | TwoPcMsg::Decision { .. }
            | TwoPcMsg::Forget { .. }
            | TwoPcMsg::PeerQuery { .. }
            | TwoPcMsg::PeerReply { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, timer: TimerId, _tag: u64) {
        if self.tick != Some(timer) {
            return;
        }
        self.on_tick(ctx);
        self.tick = Some(ctx.set_timer(self.config.resend_ns, 0));
    }
}
