//! Shared test helpers: where the public histories are, and two independent slow checkers
//! (brute force over all orders, and Lowe's just-in-time sets of configurations) to hold the
//! fast search to account.
#![allow(dead_code)] // Each test binary uses a different subset of the helpers.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use checker::history::{EventKind, History, Operation};
use checker::model::Model;
use checker::read::{self, Format};
use checker::{CheckOptions, CheckReport, ModelSpec, check_history};

/// The shared histories directory.
pub fn histories() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/histories"
    ))
}

/// Reads and checks one shared history.
pub fn check_file(relative: &str, spec: &ModelSpec, options: &CheckOptions) -> CheckReport {
    let path = histories().join(relative);
    let history = read::read_file(&path, Format::Auto).unwrap_or_else(|e| panic!("{e}"));
    check_history(&history, spec, options).unwrap_or_else(|e| panic!("{e}"))
}

/// Brute force: tries every order of the operations that respects real time, with open
/// calls placed anywhere after their call or not at all. Exponential; for small histories.
pub fn brute_force<M: Model>(model: &M, ops: &[Operation]) -> bool {
    fn go<M: Model>(
        model: &M,
        ops: &[Operation],
        placed: &mut Vec<bool>,
        state: &M::State,
    ) -> bool {
        if ops
            .iter()
            .zip(placed.iter())
            .all(|(op, &p)| p || op.is_pending())
        {
            return true;
        }
        // The earliest return among unplaced completed calls bounds what may go next.
        let min_ret = ops
            .iter()
            .zip(placed.iter())
            .filter(|(op, p)| !**p && !op.is_pending())
            .map(|(op, _)| op.ret.unwrap())
            .min()
            .unwrap();
        for i in 0..ops.len() {
            if placed[i] || ops[i].call > min_ret {
                continue;
            }
            if let Some(next) = model.step(state, &ops[i]) {
                placed[i] = true;
                let ok = go(model, ops, placed, &next);
                placed[i] = false;
                if ok {
                    return true;
                }
            }
        }
        false
    }
    let mut placed = vec![false; ops.len()];
    go(model, ops, &mut placed, &model.init())
}

/// Lowe's just-in-time linearization: walks the events in order keeping every configuration
/// (state, calls linearized among those still open); at each return keeps only those where the
/// returning call is linearized. `None` if more than `configs_max` configurations pile up.
pub fn jit_sets<M: Model>(model: &M, history: &History, configs_max: usize) -> Option<bool>
where
    M::State: Ord,
{
    let ops = history.operations().unwrap();
    // Ids have gaps where calls failed: index by position instead.
    let ops: Vec<_> = ops
        .into_iter()
        .enumerate()
        .map(|(id, op)| checker::Operation { id, ..op })
        .collect();
    let mut by_call = std::collections::BTreeMap::new();
    let mut by_ret = std::collections::BTreeMap::new();
    for op in &ops {
        by_call.insert(op.call, op.id);
        if let Some(ret) = op.ret {
            by_ret.insert(ret, op.id);
        }
    }
    let mut open: Vec<usize> = Vec::new();
    let mut configs: HashSet<(M::State, BTreeSet<usize>)> =
        HashSet::from([(model.init(), BTreeSet::new())]);
    for index in 0..history.events.len() {
        if history.events[index].kind == EventKind::Invoke {
            if let Some(&id) = by_call.get(&index) {
                open.push(id);
            }
            continue;
        }
        let Some(&done) = by_ret.get(&index) else {
            continue;
        };
        let mut seen = configs.clone();
        let mut frontier: Vec<_> = configs.into_iter().collect();
        let mut kept = HashSet::new();
        while let Some((state, lin)) = frontier.pop() {
            if lin.contains(&done) {
                let mut rest = lin.clone();
                rest.remove(&done);
                kept.insert((state.clone(), rest));
                continue;
            }
            for &id in &open {
                if lin.contains(&id) {
                    continue;
                }
                if let Some(next) = model.step(&state, &ops[id]) {
                    let mut lin2 = lin.clone();
                    lin2.insert(id);
                    let config = (next, lin2);
                    if seen.insert(config.clone()) {
                        if seen.len() > configs_max {
                            return None;
                        }
                        frontier.push(config);
                    }
                }
            }
        }
        open.retain(|&id| id != done);
        configs = kept;
        if configs.is_empty() {
            return Some(false);
        }
    }
    Some(true)
}
