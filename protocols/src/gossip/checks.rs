//! The end-of-run checks and the metrics of a gossip run.
//!
//! The checks that need a quiet period (completeness, membership, convergence, lost writes)
//! are judged only when the run lasts at least [`Params::settle_ns`] past the last fault (and,
//! for data, past the last client operation); otherwise they pass saying they were not judged.
//! The last fault is the latest scheduled fault, or the nemesis's `stop_ns` plus its longest
//! fault duration (the undo of its last fault).

use std::collections::BTreeMap;

use sim_core::{EventType, Nanos, NodeId, NodeStatus, OpFn, Simulation, Value};

use super::crdt::ReplicaMap;
use super::member::Member;
use super::monitor::{Applied, Verdict};
use super::msg::GossipMsg;
use super::options::{GossipOptions, Params};
use super::view::Status;
use sim_core::protocol::CheckResult;

/// How many examples a failing check names.
const EXAMPLES_MAX: usize = 5;

/// The servers (members) with their status and process.
fn members(sim: &Simulation<GossipMsg>) -> Vec<(NodeId, NodeStatus, &Member)> {
    sim.servers()
        .iter()
        .filter_map(|id| {
            let member = sim.process(*id)?.as_any().downcast_ref::<Member>()?;
            Some((*id, sim.status(*id)?, member))
        })
        .collect()
}

/// The time after which no fault starts or ends.
pub fn last_fault_ns(sim: &Simulation<GossipMsg>) -> Nanos {
    let config = sim.config();
    let scheduled = config.faults.iter().map(|f| f.at_ns).max().unwrap_or(0);
    let nemesis = config.nemesis.as_ref().map_or(0, |n| {
        n.stop_ns
            .unwrap_or(config.duration_ns)
            .saturating_add(n.duration_ns_max)
    });
    scheduled.max(nemesis).min(config.duration_ns)
}

/// The time after which no client operation starts.
fn last_op_ns(sim: &Simulation<GossipMsg>) -> Nanos {
    let config = sim.config();
    config.workload.as_ref().map_or(0, |w| {
        w.stop_ns
            .unwrap_or(config.duration_ns)
            .min(config.duration_ns)
    })
}

/// Runs every end check.
pub fn end_checks(options: &GossipOptions, sim: &Simulation<GossipMsg>) -> Vec<CheckResult> {
    let all = members(sim);
    let Some((_, _, first)) = all.first() else {
        return vec![CheckResult::fail("gossip", "no members to judge")];
    };
    let params = Params::new(options, all.len() as u32);
    let settle = params.settle_ns();
    let end = sim.config().duration_ns;
    let quiet_faults = end.saturating_sub(last_fault_ns(sim));
    let quiet_data = end.saturating_sub(last_fault_ns(sim).max(last_op_ns(sim)));
    let not_judged = |name: &str, quiet: Nanos| {
        CheckResult::pass(
            name,
            format!(
                "not judged: {:.1} s quiet at the end, the bound is {:.1} s",
                quiet as f64 / 1e9,
                settle as f64 / 1e9
            ),
        )
    };
    let live: Vec<&(NodeId, NodeStatus, &Member)> =
        all.iter().filter(|m| m.1 == NodeStatus::Up).collect();
    let crashed: Vec<NodeId> = all
        .iter()
        .filter(|m| m.1 == NodeStatus::Crashed)
        .map(|m| m.0)
        .collect();
    let mut results = Vec::new();
    if quiet_faults >= settle {
        results.push(completeness(&live, &crashed, settle));
        results.push(membership(&live, settle));
    } else {
        results.push(not_judged("gossip-completeness", quiet_faults));
        results.push(not_judged("gossip-membership", quiet_faults));
    }
    results.push(accuracy(options, first));
    results.push(super::session::session_order(sim));
    if quiet_data >= settle {
        results.push(convergence(&live, settle));
        results.push(lost_writes(sim, &live, &crashed));
    } else {
        results.push(not_judged("gossip-convergence", quiet_data));
        results.push(not_judged("gossip-lost-writes", quiet_data));
    }
    results
}

type Live<'a> = [&'a (NodeId, NodeStatus, &'a Member)];

/// Every crashed member is dead in every live member's view.
fn completeness(live: &Live<'_>, crashed: &[NodeId], settle: Nanos) -> CheckResult {
    let mut missed = Vec::new();
    let mut count = 0usize;
    for (a, _, member) in live {
        for c in crashed {
            if member.status_of(*c) != Status::Dead {
                count += 1;
                if missed.len() < EXAMPLES_MAX {
                    missed.push(format!("{a} holds {c} {:?}", member.status_of(*c)));
                }
            }
        }
    }
    if count == 0 {
        CheckResult::pass(
            "gossip-completeness",
            format!(
                "all {} live members hold all {} crashed members dead within {:.1} s of the last fault",
                live.len(),
                crashed.len(),
                settle as f64 / 1e9
            ),
        )
    } else {
        CheckResult::fail(
            "gossip-completeness",
            format!(
                "{count} (live, crashed) pairs not declared dead, e.g. {}",
                missed.join("; ")
            ),
        )
    }
}

/// No live member is dead in any live member's view: none was left for dead. (A suspicion
/// may be under way at the end of a lossy run; it is not a failure.)
fn membership(live: &Live<'_>, settle: Nanos) -> CheckResult {
    let mut wrong = Vec::new();
    let mut count = 0usize;
    for (a, _, member) in live {
        for (b, _, _) in live.iter().copied() {
            if a != b && member.status_of(*b) == Status::Dead {
                count += 1;
                if wrong.len() < EXAMPLES_MAX {
                    wrong.push(format!("{a} holds live {b} {:?}", member.status_of(*b)));
                }
            }
        }
    }
    if count == 0 {
        CheckResult::pass(
            "gossip-membership",
            format!(
                "no live member is dead in any of the {} live views {:.1} s after the last fault",
                live.len(),
                settle as f64 / 1e9
            ),
        )
    } else {
        CheckResult::fail(
            "gossip-membership",
            format!(
                "{count} (member, live member) pairs dead at the end, e.g. {}",
                wrong.join("; ")
            ),
        )
    }
}

/// False deaths stay at or below the configured threshold.
fn accuracy(options: &GossipOptions, any: &Member) -> CheckResult {
    let monitor = any.monitor().borrow();
    let false_positives = monitor.false_positives();
    let detail = format!(
        "{false_positives} false death(s) of live members out of {} death episodes (threshold {})",
        monitor.episodes_total(),
        options.false_positives_max
    );
    if false_positives <= options.false_positives_max {
        CheckResult::pass("gossip-accuracy", detail)
    } else {
        CheckResult::fail("gossip-accuracy", detail)
    }
}

/// Every live member holds the same replica.
fn convergence(live: &Live<'_>, settle: Nanos) -> CheckResult {
    let Some((first_id, _, first)) = live.first().copied() else {
        return CheckResult::pass("gossip-convergence", "no live member");
    };
    let differing: Vec<String> = live
        .iter()
        .filter(|(_, _, m)| m.data() != first.data())
        .map(|(id, _, m)| format!("{id} ({} keys)", m.data().len()))
        .collect();
    if differing.is_empty() {
        CheckResult::pass(
            "gossip-convergence",
            format!(
                "all {} live members hold the same {} keys within {:.1} s of the last fault and write",
                live.len(),
                first.data().len(),
                settle as f64 / 1e9
            ),
        )
    } else {
        CheckResult::fail(
            "gossip-convergence",
            format!(
                "{} live members differ from {first_id} ({} keys), e.g. {}",
                differing.len(),
                first.data().len(),
                differing[..differing.len().min(EXAMPLES_MAX)].join(", ")
            ),
        )
    }
}

/// An acknowledged write, from the history.
#[derive(Clone, Copy, Debug)]
struct AckedWrite {
    key: u64,
    client: u64,
    invoke_ns: Nanos,
    ok_ns: Nanos,
}

/// What the history says was acknowledged.
#[derive(Debug, Default)]
struct Acked {
    writes: BTreeMap<i64, AckedWrite>,
    /// Per key: increments acknowledged by members still up or restarted, and increments invoked.
    increments: BTreeMap<u64, (u64, u64)>,
}

fn acked(sim: &Simulation<GossipMsg>, crashed: &[NodeId]) -> Acked {
    let clients = sim
        .config()
        .workload
        .as_ref()
        .map_or(1, |w| u64::from(w.clients.max(1)));
    let monitor = sim
        .servers()
        .first()
        .and_then(|id| sim.process(*id))
        .and_then(|p| p.as_any().downcast_ref::<Member>())
        .map(|m| m.monitor().clone());
    let mut open: BTreeMap<u64, Nanos> = BTreeMap::new();
    let mut out = Acked::default();
    for e in sim.history().events() {
        let key = e.key.unwrap_or(0);
        match e.kind {
            EventType::Invoke => {
                open.insert(e.process, e.time);
                if e.f == OpFn::Append {
                    out.increments.entry(key).or_default().1 += 1;
                }
            }
            EventType::Ok => {
                let invoke_ns = open.remove(&e.process).unwrap_or(0);
                match (e.f, &e.value) {
                    (OpFn::Write, Value::Int(v)) => {
                        let w = AckedWrite {
                            key,
                            client: e.process % clients,
                            invoke_ns,
                            ok_ns: e.time,
                        };
                        out.writes.insert(*v, w);
                    }
                    (OpFn::Append, value) => {
                        let taken_by = monitor.as_ref().and_then(|m| m.borrow().applied(value));
                        let exempt = matches!(taken_by, Some(Applied::Increment { member, .. }) if crashed.contains(&member));
                        if !exempt {
                            out.increments.entry(key).or_default().0 += 1;
                        }
                    }
                    _ => {}
                }
            }
            EventType::Fail | EventType::Info => {
                open.remove(&e.process);
            }
        }
    }
    out
}

/// No acknowledged write is lost: each is the final value of its key at every live member or
/// was superseded by an issued write with a larger stamp that did not precede it in its
/// client's session; each counter lies between the acknowledged and the invoked increments.
/// Writes and increments taken by a member that is crashed at the end are exempt (a member
/// acknowledges on its own disk; gossip gives no durability beyond it until it has gossiped).
fn lost_writes(sim: &Simulation<GossipMsg>, live: &Live<'_>, crashed: &[NodeId]) -> CheckResult {
    let Some((_, _, any)) = live.first().copied() else {
        return CheckResult::pass("gossip-lost-writes", "no live member");
    };
    let acked = acked(sim, crashed);
    let monitor = any.monitor().borrow();
    let mut problems = Vec::new();
    let mut count = 0usize;
    let mut report = |text: String| {
        count += 1;
        if problems.len() < EXAMPLES_MAX {
            problems.push(text);
        }
    };
    // The distinct final registers per key over all live members.
    let finals = distinct_finals(live.iter().map(|(_, _, m)| m.data()));
    let mut judged = 0usize;
    for (value, w) in &acked.writes {
        let Some(Applied::Write(record)) = monitor.applied(&Value::Int(*value)) else {
            report(format!("acknowledged write {value} was never applied"));
            continue;
        };
        if crashed.contains(&record.member) {
            continue;
        }
        judged += 1;
        for last in finals.get(&w.key).into_iter().flatten() {
            let Some((final_value, final_stamp)) = last else {
                report(format!(
                    "write {value} of key {} acknowledged, key empty at a live member",
                    w.key
                ));
                continue;
            };
            if *final_value == Value::Int(*value) {
                continue;
            }
            let before_in_session = match final_value {
                Value::Int(f) => acked
                    .writes
                    .get(f)
                    .is_some_and(|fw| fw.client == w.client && fw.ok_ns <= w.invoke_ns),
                _ => false,
            };
            if *final_stamp <= record.stamp || before_in_session {
                report(format!(
                    "write {value} of key {} (stamp {:?}, client {}) lost to {final_value:?} (stamp {final_stamp:?}{})",
                    w.key,
                    record.stamp,
                    w.client,
                    if before_in_session {
                        ", acknowledged earlier to the same client"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    for (key, (acked_count, invoked)) in &acked.increments {
        for (id, _, member) in live {
            let total = member.data().get(*key).map_or(0, |s| s.counter.total());
            if total < *acked_count || total > *invoked {
                report(format!(
                    "{id}: counter {key} = {total}, acknowledged {acked_count}, invoked {invoked}"
                ));
            }
        }
    }
    if count == 0 {
        CheckResult::pass(
            "gossip-lost-writes",
            format!(
                "{judged} acknowledged writes kept or superseded; {} counters within bounds",
                acked.increments.len()
            ),
        )
    } else {
        CheckResult::fail(
            "gossip-lost-writes",
            format!("{count} problem(s), e.g. {}", problems.join("; ")),
        )
    }
}

type Final = Option<(Value, super::hlc::Stamp)>;

fn distinct_finals<'a>(
    replicas: impl Iterator<Item = &'a ReplicaMap>,
) -> BTreeMap<u64, Vec<Final>> {
    let replicas: Vec<&ReplicaMap> = replicas.collect();
    let mut keys: Vec<u64> = replicas
        .iter()
        .flat_map(|r| r.iter().map(|(k, _)| k))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut out: BTreeMap<u64, Vec<Final>> = BTreeMap::new();
    for key in keys {
        let finals = out.entry(key).or_default();
        for r in &replicas {
            let last: Final = r
                .get(key)
                .and_then(|s| s.lww.as_ref())
                .map(|e| (e.value.clone(), e.stamp));
            if !finals.contains(&last) {
                finals.push(last);
            }
        }
    }
    out
}

/// The run's metrics (see the module docs of `gossip` for their definitions).
pub fn metrics(sim: &Simulation<GossipMsg>) -> Vec<(String, f64)> {
    let all = members(sim);
    let Some((_, _, first)) = all.first() else {
        return Vec::new();
    };
    let monitor = first.monitor().borrow();
    let n = all.len() as f64;
    let periods = sim.config().duration_ns as f64 / first.params.period_ns as f64;
    let mut out = vec![
        (
            "gossip_false_positives".to_string(),
            monitor.false_positives() as f64,
        ),
        (
            "gossip_death_episodes".to_string(),
            monitor.episodes_total() as f64,
        ),
        (
            "gossip_false_positive_rate".to_string(),
            monitor.false_positives() as f64 / (n * periods).max(1.0),
        ),
        (
            "gossip_membership_messages".to_string(),
            monitor.membership_messages() as f64,
        ),
        (
            "gossip_sync_messages".to_string(),
            monitor.sync_messages() as f64,
        ),
    ];
    // Detection of crash-stops from the schedule (crash without a later restart).
    let live: Vec<NodeId> = all
        .iter()
        .filter(|m| m.1 == NodeStatus::Up)
        .map(|m| m.0)
        .collect();
    let (mut suspect, mut first_dead, mut full) = (Vec::new(), Vec::new(), Vec::new());
    for (node, crash_ns) in crash_stops(sim) {
        let Some(e) = monitor.episodes().iter().find(|e| {
            e.member == node && e.first_dead_ns >= crash_ns && e.verdict == Verdict::Open
        }) else {
            continue;
        };
        if let Some(s) = e.first_suspect_ns {
            suspect.push(s.saturating_sub(crash_ns) as f64 / 1e6);
        }
        first_dead.push(e.first_dead_ns.saturating_sub(crash_ns) as f64 / 1e6);
        // Members that restarted after the crash learn of it when they rejoin: leave them out.
        let detectors: Vec<NodeId> = live
            .iter()
            .copied()
            .filter(|l| *l != node && !restarted_after(sim, *l, crash_ns))
            .collect();
        if detectors.iter().all(|l| e.by.contains_key(l)) {
            let last = detectors
                .iter()
                .filter_map(|l| e.by.get(l))
                .max()
                .copied()
                .unwrap_or(0);
            full.push(last.saturating_sub(crash_ns) as f64 / 1e6);
        }
    }
    for (name, values) in [
        ("gossip_suspect_first_ms", &suspect),
        ("gossip_detect_first_ms", &first_dead),
        ("gossip_detect_full_ms", &full),
    ] {
        if !values.is_empty() {
            out.push((
                name.to_string(),
                values.iter().sum::<f64>() / values.len() as f64,
            ));
        }
    }
    // Dissemination of writes.
    let writes: Vec<_> = monitor.writes().collect();
    let reached: Vec<(f64, u64)> = writes
        .iter()
        .filter_map(|w| monitor.reach(w, live.len() as u32))
        .collect();
    let mut rounds: Vec<f64> = reached.iter().map(|r| r.0).collect();
    let mut messages: Vec<f64> = reached.iter().map(|r| r.1 as f64).collect();
    if !writes.is_empty() {
        out.push((
            "gossip_writes_reaching_all".to_string(),
            rounds.len() as f64 / writes.len() as f64,
        ));
    }
    for (name, values) in [
        ("gossip_dissemination_rounds", &mut rounds),
        ("gossip_dissemination_messages", &mut messages),
    ] {
        if values.is_empty() {
            continue;
        }
        values.sort_by(f64::total_cmp);
        for (label, q) in [("p50", 0.5), ("p90", 0.9), ("max", 1.0)] {
            out.push((format!("{name}_{label}"), percentile(values, q)));
        }
    }
    out
}

/// Scheduled crashes of servers that are not followed by a restart: `(node, crash time)`.
pub fn crash_stops(sim: &Simulation<GossipMsg>) -> Vec<(NodeId, Nanos)> {
    use sim_core::Fault;
    let faults = &sim.config().faults;
    faults
        .iter()
        .filter_map(|f| match f.fault {
            Fault::Crash { node } => Some((node, f.at_ns)),
            _ => None,
        })
        .filter(|(node, at)| {
            !faults
                .iter()
                .any(|g| g.at_ns >= *at && g.fault == Fault::Restart { node: *node })
        })
        .collect()
}

/// Whether `node` is restarted by a scheduled fault after `at_ns`.
fn restarted_after(sim: &Simulation<GossipMsg>, node: NodeId, at_ns: Nanos) -> bool {
    sim.config()
        .faults
        .iter()
        .any(|f| f.at_ns >= at_ns && f.fault == sim_core::Fault::Restart { node })
}

/// The `q` quantile of sorted `values` (nearest rank).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
