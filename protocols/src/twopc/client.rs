//! The client: turns each workload operation into a multi-key transaction (deterministically,
//! from its seeded RNG), submits it to the coordinator, resends until answered, and reports
//! the committed transaction's reads and writes, a certain abort as `fail`, or nothing (the
//! engine records `info`) when it cannot know.

use rand::Rng;
use serde::{Deserialize, Serialize};
use sim_core::rng::SimRng;
use sim_core::{ClientOp, Ctx, Nanos, NodeId, OpFn, OpId, Outcome, Process, TimerId, Value};

use super::msg::{Effects, TwoPcMsg, TxnOp, TxnResult};

/// Which transactions clients run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadKind {
    /// Transfers between two accounts (a read operation becomes a snapshot of all balances).
    #[default]
    Bank,
    /// Random sets of reads and writes over keys (a read operation becomes a read-only
    /// transaction).
    Rw,
}

/// How clients shape transactions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TxnShape {
    /// Bank or read/write.
    pub kind: WorkloadKind,
    /// Number of keys (accounts for the bank).
    pub keys: u64,
    /// Largest transfer.
    pub transfer_max: i64,
    /// Most operations in a read/write transaction.
    pub ops_max: u32,
    /// Share of writes among a read/write transaction's operations.
    pub write_fraction: f64,
}

/// Operations per read/write transaction get distinct write values `op id * STRIDE + i`.
pub const WRITE_VALUE_STRIDE: u32 = 64;

impl TxnShape {
    /// The transaction for workload operation `op`.
    pub fn transaction(&self, op: &ClientOp, rng: &mut SimRng) -> Vec<TxnOp> {
        let first = op.key % self.keys;
        match self.kind {
            WorkloadKind::Bank if op.f == OpFn::Read => (0..self.keys).map(TxnOp::Read).collect(),
            WorkloadKind::Bank => {
                let to = (first + rng.random_range(1..self.keys.max(2))) % self.keys;
                let amount = rng.random_range(1..=self.transfer_max.max(1));
                vec![TxnOp::Add(first, -amount), TxnOp::Add(to, amount)]
            }
            WorkloadKind::Rw => {
                let n = rng.random_range(1..=self.ops_max.clamp(1, WRITE_VALUE_STRIDE));
                (0..n)
                    .map(|i| {
                        let key = if i == 0 {
                            first
                        } else {
                            rng.random_range(0..self.keys)
                        };
                        if op.f != OpFn::Read && rng.random_bool(self.write_fraction) {
                            let unique = op.id.0 * u64::from(WRITE_VALUE_STRIDE) + u64::from(i);
                            TxnOp::Write(key, unique as i64)
                        } else {
                            TxnOp::Read(key)
                        }
                    })
                    .collect()
            }
        }
    }
}

/// A committed transaction as the history shows it: `[["r", key, value], ["w", key, value], ...]`.
pub fn describe(effects: &[Effects]) -> Value {
    let int = |v: Option<i64>| v.map_or(Value::Nil, Value::Int);
    let mut items = Vec::new();
    for e in effects {
        for r in &e.reads {
            let item = vec![
                Value::Str("r".into()),
                Value::Int(r.key as i64),
                int(r.value),
            ];
            items.push(Value::List(item));
        }
        for w in &e.writes {
            let item = vec![
                Value::Str("w".into()),
                Value::Int(w.key as i64),
                Value::Int(w.value),
            ];
            items.push(Value::List(item));
        }
    }
    Value::List(items)
}

/// A client of the coordinator.
#[derive(Debug)]
pub struct Client {
    coordinator: NodeId,
    resend_ns: Nanos,
    shape: TxnShape,
    current: Option<(OpId, TwoPcMsg)>,
    resend_timer: Option<TimerId>,
}

impl Client {
    /// A client of `coordinator` running transactions shaped by `shape`.
    pub fn new(coordinator: NodeId, resend_ns: Nanos, shape: TxnShape) -> Self {
        Self {
            coordinator,
            resend_ns,
            shape,
            current: None,
            resend_timer: None,
        }
    }

    fn stop_resending(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>) {
        self.current = None;
        if let Some(t) = self.resend_timer.take() {
            ctx.cancel_timer(t);
        }
    }
}

impl Process for Client {
    type Msg = TwoPcMsg;

    fn on_start(&mut self, _ctx: &mut Ctx<'_, TwoPcMsg>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, _from: NodeId, msg: TwoPcMsg) {
        let TwoPcMsg::Outcome { req, result } = msg else {
            return;
        };
        let Some((op, _)) = &self.current else { return };
        if op.0 != req {
            return; // an answer to a request we gave up on
        }
        let op = *op;
        self.stop_resending(ctx);
        let outcome = match result {
            TxnResult::Committed(effects) => Outcome::Ok(describe(&effects)),
            TxnResult::Aborted => Outcome::Fail,
        };
        ctx.complete(op, outcome);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, timer: TimerId, _tag: u64) {
        if self.resend_timer != Some(timer) {
            return;
        }
        if let Some((_, request)) = &self.current {
            ctx.send(self.coordinator, request.clone());
            self.resend_timer = Some(ctx.set_timer(self.resend_ns, 0));
        }
    }

    fn on_client_op(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, op: ClientOp) {
        let ops = self.shape.transaction(&op, ctx.rng());
        let request = TwoPcMsg::Submit { req: op.id.0, ops };
        ctx.send(self.coordinator, request.clone());
        self.current = Some((op.id, request));
        self.resend_timer = Some(ctx.set_timer(self.resend_ns, 0));
    }

    fn on_client_timeout(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, _op: OpId) {
        self.stop_resending(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twopc::msg::{ReadResult, WriteResult};
    use sim_core::rng::{Stream, stream};

    fn op(id: u64, f: OpFn, key: u64) -> ClientOp {
        ClientOp {
            id: OpId(id),
            f,
            key,
            value: Value::Nil,
        }
    }

    fn shape(kind: WorkloadKind) -> TxnShape {
        TxnShape {
            kind,
            keys: 5,
            transfer_max: 10,
            ops_max: 4,
            write_fraction: 0.5,
        }
    }

    #[test]
    fn a_bank_read_is_a_snapshot_and_anything_else_a_transfer_between_two_accounts() {
        let mut rng = stream(1, Stream::Node(NodeId(9)));
        let bank = shape(WorkloadKind::Bank);
        assert_eq!(
            bank.transaction(&op(1, OpFn::Read, 3), &mut rng),
            (0..5).map(TxnOp::Read).collect::<Vec<_>>()
        );
        for id in 0..100 {
            let txn = bank.transaction(&op(id, OpFn::Write, id), &mut rng);
            let [TxnOp::Add(from, debit), TxnOp::Add(to, credit)] = txn[..] else {
                panic!("{txn:?} is not a transfer");
            };
            assert_eq!(from, id % 5);
            assert_ne!(from, to);
            assert!(to < 5);
            assert_eq!(debit, -credit);
            assert!((1..=10).contains(&credit));
        }
    }

    #[test]
    fn read_write_transactions_write_values_unique_to_the_operation() {
        let mut rng = stream(1, Stream::Node(NodeId(9)));
        let rw = shape(WorkloadKind::Rw);
        let mut written = Vec::new();
        for id in 0..200 {
            let txn = rw.transaction(&op(id, OpFn::Write, 2), &mut rng);
            assert!((1..=4).contains(&txn.len()));
            assert_eq!(txn[0].key(), 2);
            written.extend(txn.iter().filter_map(|o| match o {
                TxnOp::Write(_, v) => Some(*v),
                _ => None,
            }));
        }
        for id in 200..300 {
            let txn = rw.transaction(&op(id, OpFn::Read, 2), &mut rng);
            assert!(txn.iter().all(|o| !o.writes()), "a read op runs read-only");
        }
        let count = written.len();
        written.sort_unstable();
        written.dedup();
        assert_eq!(written.len(), count, "a value was written twice");
        assert!(count > 100);
    }

    #[test]
    fn the_history_lists_reads_then_writes() {
        let effects = Effects {
            reads: vec![ReadResult {
                key: 1,
                value: None,
                version: None,
            }],
            writes: vec![WriteResult { key: 1, value: 5 }],
        };
        let r = Value::List(vec![Value::Str("r".into()), Value::Int(1), Value::Nil]);
        let w = Value::List(vec![Value::Str("w".into()), Value::Int(1), Value::Int(5)]);
        assert_eq!(describe(&[effects]), Value::List(vec![r, w]));
    }
}
