//! The end-of-run checks: atomicity (every participant of a committed transaction applied it or
//! still holds it prepared), durability (each key's durable value is the last committed write),
//! serializability (no cycle in the dependency graph of the committed transactions) and, for
//! the bank, the invariant that no committed snapshot sees money created or destroyed.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{NodeId, Storage};

use super::Sharding;
use super::graph::{self, CommittedTxn};
use super::monitor::{Monitor, TxnRecord};
use super::msg::TxnId;
use super::records::{self, Cell, PreparedRecord};
use sim_core::protocol::CheckResult;

/// How many examples a failing check lists.
const EXAMPLES_MAX: usize = 3;

/// What the participants hold durably at the end of the run.
#[derive(Clone, Debug, Default)]
pub struct FinalState {
    /// Each participant's data records.
    pub data: BTreeMap<NodeId, BTreeMap<u64, Cell>>,
    /// Each participant's prepared (in-doubt) transactions.
    pub prepared: BTreeMap<NodeId, BTreeSet<TxnId>>,
}

impl FinalState {
    /// Reads the participants' storage.
    pub fn read<'a>(participants: impl IntoIterator<Item = (NodeId, &'a Storage)>) -> Self {
        let mut state = Self::default();
        for (node, storage) in participants {
            let (cells, _) = records::load::<u64, Cell>(storage, records::DATA, records::parse_key);
            let (prepared, _) = records::load::<TxnId, PreparedRecord>(
                storage,
                records::PREPARED,
                TxnId::parse_record_name,
            );
            state.data.insert(node, cells.into_iter().collect());
            state
                .prepared
                .insert(node, prepared.into_iter().map(|(t, _)| t).collect());
        }
        state
    }

    fn is_prepared(&self, node: NodeId, txn: TxnId) -> bool {
        self.prepared.get(&node).is_some_and(|s| s.contains(&txn))
    }

    /// Participants still in doubt about some transaction.
    pub fn blocked(&self) -> usize {
        self.prepared.values().filter(|s| !s.is_empty()).count()
    }
}

/// Every participant of every committed transaction applied it or is still blocked on it.
pub fn atomicity(monitor: &Monitor, state: &FinalState) -> CheckResult {
    let mut broken = Vec::new();
    let mut pending = 0;
    for (&txn, record) in monitor.txns() {
        if record.decision != Some(true) {
            continue;
        }
        for &p in &record.participants {
            if record.outcomes.get(&p) == Some(&true) {
                continue;
            }
            if state.is_prepared(p, txn) {
                pending += 1;
                continue;
            }
            broken.push(format!(
                "{txn} committed but {p} neither applied it nor holds it prepared"
            ));
        }
    }
    let commits = monitor.commits();
    if broken.is_empty() {
        CheckResult::pass(
            "atomicity",
            format!(
                "{commits} commits applied everywhere ({pending} still prepared at a blocked participant)"
            ),
        )
    } else {
        CheckResult::fail("atomicity", summary(&broken))
    }
}

/// Each key's durable value is the last committed write to it (keys whose last committed
/// writer is still prepared at a blocked participant cannot be judged and are skipped).
pub fn durability(
    monitor: &Monitor,
    sharding: &Sharding,
    initial: Option<i64>,
    state: &FinalState,
) -> CheckResult {
    let mut expected: BTreeMap<u64, Cell> = BTreeMap::new();
    let mut undecidable: BTreeSet<u64> = BTreeSet::new();
    for &txn in monitor.committed() {
        let record = &monitor.txns()[&txn];
        for effects in record.yes.values() {
            for w in &effects.writes {
                let cell = Cell {
                    value: Some(w.value),
                    version: Some(txn),
                };
                expected.insert(w.key, cell);
                if state.is_prepared(sharding.owner(w.key), txn) {
                    undecidable.insert(w.key);
                }
            }
        }
    }
    let mut broken = Vec::new();
    let keys: BTreeSet<u64> = state
        .data
        .values()
        .flat_map(|d| d.keys().copied())
        .chain(expected.keys().copied())
        .collect();
    for key in keys.difference(&undecidable) {
        let owner = sharding.owner(*key);
        let initial = Cell {
            value: initial,
            version: None,
        };
        let durable = state
            .data
            .get(&owner)
            .and_then(|d| d.get(key))
            .copied()
            .unwrap_or(initial);
        let want = expected.get(key).copied().unwrap_or(initial);
        if durable != want {
            broken.push(format!(
                "k{key} at {owner}: the last committed write is {} but the durable state holds {}",
                show(want),
                show(durable)
            ));
        }
    }
    if broken.is_empty() {
        CheckResult::pass(
            "durability",
            format!(
                "{} keys hold their last committed write ({} pending at blocked participants)",
                keys.len() - undecidable.len(),
                undecidable.len()
            ),
        )
    } else {
        CheckResult::fail("durability", summary(&broken))
    }
}

/// The committed transactions have no dependency cycle.
pub fn serializability(monitor: &Monitor) -> CheckResult {
    let txns: Vec<CommittedTxn> = monitor
        .committed()
        .iter()
        .map(|&id| committed_txn(id, &monitor.txns()[&id]))
        .collect();
    match graph::check(&txns) {
        Ok(edges) => CheckResult::pass(
            "serializability",
            format!(
                "{} committed transactions, {edges} dependency edges, no cycle",
                txns.len()
            ),
        ),
        Err(anomaly) => CheckResult::fail("serializability", anomaly.to_string()),
    }
}

fn committed_txn(id: TxnId, record: &TxnRecord) -> CommittedTxn {
    let mut txn = CommittedTxn {
        id,
        reads: Vec::new(),
        writes: Vec::new(),
    };
    for effects in record.yes.values() {
        txn.reads
            .extend(effects.reads.iter().map(|r| (r.key, r.version)));
        txn.writes.extend(effects.writes.iter().map(|w| w.key));
    }
    txn
}

/// Every committed snapshot of all accounts, and the final durable balances when nothing is
/// in doubt, add up to the money the bank started with.
pub fn bank(
    monitor: &Monitor,
    sharding: &Sharding,
    accounts: u64,
    initial: i64,
    state: &FinalState,
) -> CheckResult {
    let total = initial.saturating_mul(accounts as i64);
    let mut broken = Vec::new();
    let mut snapshots = 0;
    for &txn in monitor.committed() {
        let record = &monitor.txns()[&txn];
        let reads: BTreeMap<u64, Option<i64>> = record
            .yes
            .values()
            .flat_map(|e| e.reads.iter().map(|r| (r.key, r.value)))
            .collect();
        let writes = record.yes.values().any(|e| !e.writes.is_empty());
        if writes || reads.len() as u64 != accounts {
            continue;
        }
        snapshots += 1;
        let sum: i64 = reads.values().map(|v| v.unwrap_or(initial)).sum();
        if sum != total {
            broken.push(format!("snapshot {txn} sees a total of {sum}, not {total}"));
        }
    }
    let final_note = if state.blocked() == 0 {
        let sum: i64 = (0..accounts)
            .map(|k| {
                state
                    .data
                    .get(&sharding.owner(k))
                    .and_then(|d| d.get(&k))
                    .and_then(|c| c.value)
                    .unwrap_or(initial)
            })
            .sum();
        if sum != total {
            broken.push(format!(
                "the final durable balances add up to {sum}, not {total}"
            ));
        }
        "and the final balances"
    } else {
        "(final balances not judged: a participant is blocked)"
    };
    if broken.is_empty() {
        CheckResult::pass(
            "bank-invariant",
            format!("{snapshots} committed snapshots {final_note} add up to {total}"),
        )
    } else {
        CheckResult::fail("bank-invariant", summary(&broken))
    }
}

fn show(cell: Cell) -> String {
    let value = cell.value.map_or("nil".to_string(), |v| v.to_string());
    match cell.version {
        Some(t) => format!("{value} (by {t})"),
        None => format!("{value} (initial)"),
    }
}

fn summary(broken: &[String]) -> String {
    let shown: Vec<&str> = broken
        .iter()
        .take(EXAMPLES_MAX)
        .map(String::as_str)
        .collect();
    format!("{} problem(s); {}", broken.len(), shown.join("; "))
}
