//! P-compositionality: a history is linearizable iff each key's sub-history is, so keys are
//! checked apart, in parallel on rayon's work-stealing pool (each worker takes the next key from
//! a shared queue), and the rest are cancelled as soon as one key is not linearizable.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use crate::history::Operation;
use crate::model::Model;
use crate::search::{self, Entry, Limits, Outcome, SearchStats, Step, Stop};

/// The last part of one key's history (all of it when it was never cut), to be searched.
pub(crate) struct Partition<'a, S> {
    /// Its completed calls not searched yet, and every open call.
    pub(crate) ops: Vec<&'a Operation<'a>>,
    /// The configurations the earlier parts ended in (the initial one when there were none);
    /// taken by the worker that searches the partition.
    pub(crate) entries: Mutex<Vec<Entry<S>>>,
    /// Configurations the earlier parts' searches visited (counted against the budget).
    pub(crate) visited: u64,
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

/// Searches every partition to its end; results in partition order.
pub(crate) fn check_all<M: Model>(
    model: &M,
    partitions: &[Partition<'_, M::State>],
    limits: &Limits,
    mode: RunMode,
    deadline: Option<Instant>,
    progress: Option<&AtomicU64>,
) -> Vec<(Outcome, SearchStats)> {
    let cancel = AtomicBool::new(false);
    let run = |partition: &Partition<'_, M::State>| {
        if cancel.load(Ordering::Relaxed) {
            let reason = "cancelled: another partition is not linearizable".to_owned();
            return (Outcome::Unknown(reason), SearchStats::default());
        }
        let stop = Stop {
            cancel: &cancel,
            deadline,
            progress,
        };
        let entries =
            std::mem::take(&mut *partition.entries.lock().unwrap_or_else(|e| e.into_inner()));
        let result = search_last(model, partition, &entries, limits, &stop);
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

/// Searches a partition's last part for a verdict, within what is left of the budget.
fn search_last<M: Model>(
    model: &M,
    partition: &Partition<'_, M::State>,
    entries: &[Entry<M::State>],
    limits: &Limits,
    stop: &Stop<'_>,
) -> (Outcome, SearchStats) {
    let limits = budget_left(limits, partition.visited);
    let (step, stats) = search::search(model, &partition.ops, entries, false, &limits, stop);
    let outcome = match step {
        Step::Done(outcome) => outcome,
        // Only a search with more history to come hands configurations on.
        Step::Next(_) => Outcome::Linearizable,
    };
    (outcome, stats)
}

/// `limits` with `visited` configurations already spent from the budget.
pub(crate) fn budget_left(limits: &Limits, visited: u64) -> Limits {
    Limits {
        search_budget_states: limits.search_budget_states.saturating_sub(visited),
        ..limits.clone()
    }
}
