//! P-compositionality: a history is linearizable iff each key's sub-history is, so keys are
//! checked apart, in parallel on rayon's work-stealing pool (each worker takes the next key from
//! a shared queue), and the rest are cancelled as soon as one key is not linearizable.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use rustc_hash::FxHashMap;

use crate::history::{Operation, Value};
use crate::model::Model;
use crate::search::{self, Limits, Outcome, SearchStats, Stop};

/// One key's operations (all of them when there are no keys), in call order.
pub(crate) struct Partition<'a> {
    /// The key, `None` for operations without one.
    pub(crate) key: Option<Value>,
    /// The operations.
    pub(crate) ops: Vec<&'a Operation>,
}

/// Splits operations by key, in key order (sorted at the end: the order never depends on
/// hashing; the hash map is only looked up).
pub(crate) fn split(ops: &[Operation]) -> Vec<Partition<'_>> {
    let mut index: FxHashMap<Option<&Value>, usize> = FxHashMap::default();
    let mut partitions: Vec<Partition<'_>> = Vec::new();
    for op in ops {
        let slot = *index.entry(op.key.as_ref()).or_insert_with(|| {
            partitions.push(Partition {
                key: op.key.clone(),
                ops: Vec::new(),
            });
            partitions.len() - 1
        });
        partitions[slot].ops.push(op);
    }
    partitions.sort_by(|a, b| a.key.cmp(&b.key));
    partitions
}

/// Fewest operations (all partitions together) worth waking rayon's workers for: below it,
/// handing partitions to other threads costs more than checking them here.
pub(crate) const PARALLEL_OPS_MIN: usize = 1024;

/// How partitions are run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunMode {
    /// Check partitions on rayon's thread pool (when there are at least [`PARALLEL_OPS_MIN`]
    /// operations); otherwise one after another, in key order.
    pub(crate) parallel: bool,
    /// Cancel the other partitions once one is not linearizable.
    pub(crate) stop_on_first_failure: bool,
}

/// Searches every partition; results in partition order.
pub(crate) fn check_all<M: Model>(
    model: &M,
    partitions: &[Partition<'_>],
    limits: &Limits,
    mode: RunMode,
    deadline: Option<Instant>,
) -> Vec<(Outcome, SearchStats)> {
    let cancel = AtomicBool::new(false);
    let run = |partition: &Partition<'_>| {
        if cancel.load(Ordering::Relaxed) {
            let reason = "cancelled: another partition is not linearizable".to_owned();
            return (Outcome::Unknown(reason), SearchStats::default());
        }
        let stop = Stop {
            cancel: &cancel,
            deadline,
        };
        let result = search::search(model, &partition.ops, limits, &stop);
        if mode.stop_on_first_failure && matches!(result.0, Outcome::NotLinearizable(_)) {
            cancel.store(true, Ordering::Relaxed);
        }
        result
    };
    let total_ops: usize = partitions.iter().map(|p| p.ops.len()).sum();
    if !mode.parallel || partitions.len() < 2 || total_ops < PARALLEL_OPS_MIN {
        return partitions.iter().map(run).collect();
    }
    // Smallest first when one failure decides the history (small keys are decided soonest);
    // biggest first when every key must be decided, so one large key does not start last.
    let mut order: Vec<usize> = (0..partitions.len()).collect();
    if mode.stop_on_first_failure {
        order.sort_by_key(|&i| partitions[i].ops.len());
    } else {
        order.sort_by_key(|&i| std::cmp::Reverse(partitions[i].ops.len()));
    }
    // Each worker of rayon's pool takes the next partition in that order until none is left.
    let next = AtomicUsize::new(0);
    let results: Vec<OnceLock<(Outcome, SearchStats)>> =
        partitions.iter().map(|_| OnceLock::new()).collect();
    rayon::scope(|scope| {
        for _ in 0..rayon::current_num_threads().min(partitions.len()) {
            scope.spawn(|_| {
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let _ = results[i].set(run(&partitions[i]));
                }
            });
        }
    });
    results
        .into_iter()
        .map(|slot| slot.into_inner().expect("every partition was run"))
        .collect()
}
