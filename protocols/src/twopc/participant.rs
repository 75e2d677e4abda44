//! A participant: owns a shard of the keys, locks what a transaction touches, executes it
//! tentatively, logs a prepare record and votes; applies the decision, releases the locks and
//! acknowledges. A participant that voted yes is in doubt until it learns the decision: it asks
//! the coordinator, and then runs the cooperative termination protocol (asking the other
//! participants), staying blocked while nobody knows.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use rand::Rng;
use sim_core::{Ctx, Nanos, NodeId, Process, TimerId};

use super::locks::{self, LockTable};
use super::monitor::Monitor;
use super::msg::{Effects, PeerState, ReadResult, TwoPcMsg, TxnId, TxnOp, Vote, WriteResult};
use super::records::{self, Cell, PreparedRecord};

/// How many commit-outcome records a participant keeps when the coordinator's `Forget` does not
/// arrive (it is not resent); beyond this the oldest are dropped.
pub const DONE_RECORDS_MAX: usize = 4096;
/// How many refusal promises a participant keeps; beyond this the oldest are dropped.
pub const REFUSED_RECORDS_MAX: usize = 4096;
/// How many recently aborted or forgotten transactions a participant remembers (volatile), to
/// answer stray duplicates of old prepares without locking again.
pub const RECENT_MAX: usize = 1024;
/// How many operations one prepare may carry.
pub const OPS_PER_PREPARE_MAX: usize = 64;

/// A participant's settings.
#[derive(Clone, Copy, Debug)]
pub struct ParticipantConfig {
    /// The coordinator.
    pub coordinator: NodeId,
    /// The value of a key never written (`None` for nil).
    pub initial: Option<i64>,
    /// Chance of voting no for no reason (a local failure, a full disk, an integrity check).
    pub abort_probability: f64,
    /// How long (local) a prepared participant waits for the decision before asking.
    pub decision_timeout_ns: Nanos,
    /// How often (local) an in-doubt participant asks again.
    pub query_interval_ns: Nanos,
    /// Period (local) of the participant's housekeeping tick.
    pub tick_ns: Nanos,
    /// Bug: vote yes without syncing the prepare record.
    pub vote_without_sync: bool,
}

/// A prepared transaction awaiting its decision.
#[derive(Clone, Debug)]
struct InDoubt {
    record: PreparedRecord,
    /// When to ask next (local).
    next_query_local_ns: Nanos,
    /// How many times it asked; from the second round on it also asks its peers.
    rounds: u32,
}

/// The participant process. Durable state lives in its storage (see [`super::records`]); the
/// fields are volatile caches rebuilt from it on every start.
#[derive(Debug)]
pub struct Participant {
    config: ParticipantConfig,
    monitor: Rc<RefCell<Monitor>>,
    /// Volatile copy of the `data/` records.
    store: BTreeMap<u64, Cell>,
    locks: LockTable,
    /// Volatile copy of the `prep/` records.
    prepared: BTreeMap<TxnId, InDoubt>,
    /// Volatile copy of the `done/` records.
    committed: BTreeSet<TxnId>,
    /// Volatile copy of the `refused/` records.
    refused: BTreeSet<TxnId>,
    /// Recently aborted or forgotten transactions (not durable).
    recent: BTreeSet<TxnId>,
    /// Volatile copy of the `horizon` record: the newest transaction whose `done/` record was
    /// dropped. A prepare at or below it is refused: it may be a late copy of a transaction
    /// that committed here and was forgotten, and preparing it again would apply it twice.
    horizon: Option<TxnId>,
    /// The local time of the last event handled, to tell how long open doubts have lasted.
    last_seen_local_ns: Nanos,
    tick: Option<TimerId>,
}

impl Participant {
    /// A participant with `config`, reporting to `monitor`.
    pub fn new(config: ParticipantConfig, monitor: Rc<RefCell<Monitor>>) -> Self {
        Self {
            config,
            monitor,
            store: BTreeMap::new(),
            locks: LockTable::default(),
            prepared: BTreeMap::new(),
            committed: BTreeSet::new(),
            refused: BTreeSet::new(),
            recent: BTreeSet::new(),
            horizon: None,
            last_seen_local_ns: 0,
            tick: None,
        }
    }

    /// Transactions it is in doubt about (prepared, decision unknown).
    pub fn in_doubt(&self) -> impl Iterator<Item = TxnId> + '_ {
        self.prepared.keys().copied()
    }

    /// How long (local time, up to its last tick) it has been in doubt about its oldest open
    /// transaction; 0 when it is in doubt about none.
    pub fn open_in_doubt_ns_max(&self) -> Nanos {
        self.prepared
            .values()
            .map(|d| {
                self.last_seen_local_ns
                    .saturating_sub(d.record.prepared_at_local_ns)
            })
            .max()
            .unwrap_or(0)
    }

    /// Whether it is blocked: in doubt about some transaction for longer than the decision
    /// timeout, so it has started asking (as of its last tick).
    pub fn is_blocked(&self) -> bool {
        self.open_in_doubt_ns_max() >= self.config.decision_timeout_ns
    }

    /// Number of keys it has locked.
    pub fn locked_keys(&self) -> usize {
        self.locks.len()
    }

    fn cell(&self, key: u64) -> Cell {
        self.store.get(&key).copied().unwrap_or(Cell {
            value: self.config.initial,
            version: None,
        })
    }

    /// Recovers from the durable records alone: data, prepared transactions (whose locks it
    /// takes again: they are still in doubt), outcomes and promises.
    fn recover(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>) {
        let storage = ctx.storage();
        let (cells, mut bad) =
            records::load::<u64, Cell>(storage, records::DATA, records::parse_key);
        let (prepared, bad_prepared) = records::load::<TxnId, PreparedRecord>(
            storage,
            records::PREPARED,
            TxnId::parse_record_name,
        );
        let (done, bad_done) =
            records::load::<TxnId, ()>(storage, records::DONE, TxnId::parse_record_name);
        let (refused, bad_refused) =
            records::load::<TxnId, ()>(storage, records::REFUSED, TxnId::parse_record_name);
        bad.extend(bad_prepared.into_iter().chain(bad_done).chain(bad_refused));
        self.store = cells.into_iter().collect();
        self.committed = done.into_iter().map(|(t, ())| t).collect();
        self.refused = refused.into_iter().map(|(t, ())| t).collect();
        self.horizon = records::get(storage, records::HORIZON);
        let now = ctx.now();
        for (txn, record) in prepared {
            let needs = locks::needed(&record.ops);
            if !self.locks.try_acquire(txn, &needs) {
                ctx.violation(
                    "twopc-locks",
                    format!(
                        "{}: prepared {txn} conflicts with another prepared txn",
                        ctx.id()
                    ),
                );
            }
            // Ask at once: a recovering participant does not know how long it was down.
            let doubt = InDoubt {
                record,
                next_query_local_ns: now,
                rounds: 0,
            };
            self.prepared.insert(txn, doubt);
        }
        for name in bad {
            ctx.violation("twopc-storage", format!("unreadable record {name}"));
        }
    }

    /// Phase one: lock, execute tentatively, log, vote.
    fn on_prepare(
        &mut self,
        ctx: &mut Ctx<'_, TwoPcMsg>,
        txn: TxnId,
        ops: Vec<TxnOp>,
        participants: Vec<NodeId>,
    ) {
        let coordinator = self.config.coordinator;
        if let Some(doubt) = self.prepared.get(&txn) {
            // A resent prepare: the vote was lost.
            let vote = Vote::Yes(doubt.record.effects.clone());
            ctx.send(coordinator, TwoPcMsg::Vote { txn, vote });
            return;
        }
        if self.committed.contains(&txn) {
            return; // a stray duplicate of a prepare long decided
        }
        if self.refused.contains(&txn)
            || self.recent.contains(&txn)
            || self.horizon.is_some_and(|h| txn <= h)
        {
            let vote = Vote::No;
            ctx.send(coordinator, TwoPcMsg::Vote { txn, vote });
            return;
        }
        let vote = match self.try_prepare(ctx, txn, ops, participants) {
            Some(effects) => Vote::Yes(effects),
            None => {
                self.remember(txn);
                Vote::No
            }
        };
        ctx.send(coordinator, TwoPcMsg::Vote { txn, vote });
    }

    /// Takes the locks and executes `ops`; returns the effects if it prepared (record logged).
    fn try_prepare(
        &mut self,
        ctx: &mut Ctx<'_, TwoPcMsg>,
        txn: TxnId,
        ops: Vec<TxnOp>,
        participants: Vec<NodeId>,
    ) -> Option<Effects> {
        if ops.is_empty() || ops.len() > OPS_PER_PREPARE_MAX {
            return None;
        }
        let needs = locks::needed(&ops);
        if !self.locks.try_acquire(txn, &needs) {
            return None; // conflict: vote no rather than wait
        }
        let effects = self.execute(txn, &ops);
        let unlucky = ctx.rng().random_bool(self.config.abort_probability);
        let Some(effects) = effects.filter(|_| !unlucky) else {
            self.locks.release(txn, needs.iter().map(|(k, _)| *k));
            return None;
        };
        let record = PreparedRecord {
            participants,
            ops,
            effects: effects.clone(),
            prepared_at_local_ns: ctx.now(),
        };
        records::put(
            ctx.storage_mut(),
            records::txn_name(records::PREPARED, txn),
            &record,
        );
        if !self.config.vote_without_sync {
            ctx.storage_mut().sync();
        }
        self.monitor.borrow_mut().voted_yes(txn, ctx.id(), &effects);
        let doubt = InDoubt {
            next_query_local_ns: ctx.now().saturating_add(self.config.decision_timeout_ns),
            record,
            rounds: 0,
        };
        self.prepared.insert(txn, doubt);
        Some(effects)
    }

    /// Executes `ops` against the store without changing it: what they read and would write,
    /// or `None` if a debit would overdraw an account.
    fn execute(&self, txn: TxnId, ops: &[TxnOp]) -> Option<Effects> {
        let mut effects = Effects::default();
        let mut pending: BTreeMap<u64, i64> = BTreeMap::new();
        for &op in ops {
            let key = op.key();
            let current = match pending.get(&key) {
                Some(&v) => Cell {
                    value: Some(v),
                    version: Some(txn),
                },
                None => self.cell(key),
            };
            match op {
                TxnOp::Read(_) => effects.reads.push(ReadResult {
                    key,
                    value: current.value,
                    version: current.version,
                }),
                TxnOp::Write(_, value) => {
                    pending.insert(key, value);
                }
                TxnOp::Add(_, delta) => {
                    effects.reads.push(ReadResult {
                        key,
                        value: current.value,
                        version: current.version,
                    });
                    let value = current.value.unwrap_or(0).checked_add(delta)?;
                    if value < 0 {
                        return None;
                    }
                    pending.insert(key, value);
                }
            }
        }
        effects.writes = pending
            .into_iter()
            .map(|(key, value)| WriteResult { key, value })
            .collect();
        Some(effects)
    }

    /// Phase two at this participant: apply (or drop) the writes, durably, then unlock.
    fn apply_decision(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, txn: TxnId, commit: bool) {
        let Some(doubt) = self.prepared.remove(&txn) else {
            return;
        };
        let record = doubt.record;
        if commit {
            for w in &record.effects.writes {
                let cell = Cell {
                    value: Some(w.value),
                    version: Some(txn),
                };
                self.store.insert(w.key, cell);
                records::put(ctx.storage_mut(), records::data_name(w.key), &cell);
            }
            records::put(
                ctx.storage_mut(),
                records::txn_name(records::DONE, txn),
                &(),
            );
            self.committed.insert(txn);
            while self.committed.len() > DONE_RECORDS_MAX {
                if let Some(old) = self.committed.pop_first() {
                    self.forget(ctx, old);
                }
            }
        } else {
            self.remember(txn);
        }
        ctx.storage_mut()
            .delete(records::txn_name(records::PREPARED, txn));
        ctx.storage_mut().sync();
        self.locks
            .release(txn, record.ops.iter().map(|op| op.key()));
        let in_doubt_ns = ctx.now().saturating_sub(record.prepared_at_local_ns);
        let mut monitor = self.monitor.borrow_mut();
        monitor.in_doubt(in_doubt_ns);
        let verdict = monitor.applied(txn, ctx.id(), commit);
        drop(monitor);
        if let Err(detail) = verdict {
            ctx.violation("atomicity", detail);
        }
        if commit {
            ctx.send(self.config.coordinator, TwoPcMsg::Ack { txn });
        }
    }

    fn on_decision(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, txn: TxnId, commit: bool) {
        if self.prepared.contains_key(&txn) {
            self.apply_decision(ctx, txn, commit);
        } else if commit {
            let check = self.monitor.borrow_mut().commit_of_unknown(txn, ctx.id());
            if let Err(detail) = check {
                ctx.violation("atomicity", detail);
            }
            // Applied long ago (a resent decision) or lost: either way the coordinator may stop.
            ctx.send(self.config.coordinator, TwoPcMsg::Ack { txn });
        } else {
            self.remember(txn);
        }
    }

    /// Cooperative termination, the answering side. A participant that has not voted yes
    /// promises, durably, never to do so, and answers abort.
    fn on_peer_query(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, from: NodeId, txn: TxnId) {
        let state = if self.prepared.contains_key(&txn) {
            PeerState::InDoubt
        } else if self.committed.contains(&txn) {
            PeerState::Committed
        } else {
            if self.refused.insert(txn) {
                let name = records::txn_name(records::REFUSED, txn);
                records::put(ctx.storage_mut(), name, &());
                evict_oldest(
                    ctx,
                    &mut self.refused,
                    records::REFUSED,
                    REFUSED_RECORDS_MAX,
                );
                ctx.storage_mut().sync();
                let verdict = self.monitor.borrow_mut().applied(txn, ctx.id(), false);
                if let Err(detail) = verdict {
                    ctx.violation("atomicity", detail);
                }
            }
            PeerState::Aborted
        };
        ctx.send(from, TwoPcMsg::PeerReply { txn, state });
    }

    /// Cooperative termination, the asking side.
    fn on_peer_reply(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, txn: TxnId, state: PeerState) {
        if !self.prepared.contains_key(&txn) {
            return;
        }
        let commit = match state {
            PeerState::Committed => true,
            PeerState::Aborted => false,
            PeerState::InDoubt => return, // no help: stay blocked
        };
        self.monitor.borrow_mut().resolved_by_peer();
        self.apply_decision(ctx, txn, commit);
    }

    /// Asks about every transaction in doubt for too long: the coordinator first, then (from
    /// the second round on, the coordinator having stayed silent) the other participants too.
    fn ask_about_doubts(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>) {
        let now = ctx.now();
        let me = ctx.id();
        let coordinator = self.config.coordinator;
        let interval = self.config.query_interval_ns;
        for (&txn, doubt) in &mut self.prepared {
            if doubt.next_query_local_ns > now {
                continue;
            }
            ctx.send(coordinator, TwoPcMsg::DecisionRequest { txn });
            if doubt.rounds > 0 {
                for &peer in doubt.record.participants.iter().filter(|&&p| p != me) {
                    ctx.send(peer, TwoPcMsg::PeerQuery { txn });
                }
            }
            doubt.rounds = doubt.rounds.saturating_add(1);
            doubt.next_query_local_ns = now.saturating_add(interval);
        }
    }

    /// Drops `txn`'s outcome record, raising the horizon over it in the same write batch
    /// (lazily synced: a crash that loses both brings the record back, which only costs a
    /// resend).
    fn forget(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, txn: TxnId) {
        ctx.storage_mut()
            .delete(records::txn_name(records::DONE, txn));
        if self.horizon.is_none_or(|h| txn > h) {
            self.horizon = Some(txn);
            records::put(ctx.storage_mut(), records::HORIZON.to_string(), &txn);
        }
        self.remember(txn);
    }

    fn remember(&mut self, txn: TxnId) {
        self.recent.insert(txn);
        if self.recent.len() > RECENT_MAX {
            self.recent.pop_first();
        }
    }
}

/// Keeps at most `max` records under `prefix`, dropping the oldest transactions first.
fn evict_oldest(ctx: &mut Ctx<'_, TwoPcMsg>, set: &mut BTreeSet<TxnId>, prefix: &str, max: usize) {
    while set.len() > max {
        if let Some(old) = set.pop_first() {
            ctx.storage_mut().delete(records::txn_name(prefix, old));
        }
    }
}

impl Process for Participant {
    type Msg = TwoPcMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>) {
        self.recover(ctx);
        self.tick = Some(ctx.set_timer(self.config.tick_ns, 0));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, from: NodeId, msg: TwoPcMsg) {
        match msg {
            TwoPcMsg::Prepare {
                txn,
                ops,
                participants,
            } => self.on_prepare(ctx, txn, ops, participants),
            TwoPcMsg::Decision { txn, commit } => self.on_decision(ctx, txn, commit),
            TwoPcMsg::Forget { txn } => {
                if self.committed.remove(&txn) {
                    self.forget(ctx, txn);
                }
            }
            TwoPcMsg::PeerQuery { txn } => self.on_peer_query(ctx, from, txn),
            TwoPcMsg::PeerReply { txn, state } => self.on_peer_reply(ctx, txn, state),
            TwoPcMsg::Submit { .. }
            | TwoPcMsg::Outcome { .. }
            | TwoPcMsg::Vote { .. }
            | TwoPcMsg::Ack { .. }
            | TwoPcMsg::DecisionRequest { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, timer: TimerId, _tag: u64) {
        if self.tick != Some(timer) {
            return;
        }
        self.last_seen_local_ns = ctx.now();
        self.ask_about_doubts(ctx);
        self.tick = Some(ctx.set_timer(self.config.tick_ns, 0));
    }
}
