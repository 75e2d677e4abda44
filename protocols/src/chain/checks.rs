//! Chain replication's end-of-run check: once the chain has been quiet long enough, every
//! member is up, runs the master's configuration and holds the head's full state (values and
//! client sessions), all of it synced to disk.

use sim_core::protocol::CheckResult;
use sim_core::{Nanos, NodeStatus, Simulation};

use super::ChainOptions;
use super::master::Master;
use super::msg::ChainMsg;
use super::server::ChainServer;
use super::store;

/// When faults, the nemesis and the workload have all stopped (true time).
fn quiet_from(sim: &Simulation<ChainMsg>) -> Nanos {
    let config = sim.config();
    let end = config.duration_ns;
    let faults = config.faults.iter().map(|f| f.at_ns).max().unwrap_or(0);
    let nemesis = config.nemesis.as_ref().map_or(0, |n| {
        n.stop_ns
            .map_or(end, |s| s.saturating_add(n.duration_ns_max))
    });
    let workload = config
        .workload
        .as_ref()
        .map_or(0, |w| w.stop_ns.unwrap_or(end).saturating_add(w.timeout_ns));
    faults.max(nemesis).max(workload)
}

/// Liveness after the storm: once nothing has disturbed the chain for `converge_ns`, every
/// member is up, runs the master's epoch and has applied every update the head sequenced.
pub fn converged(
    options: &ChainOptions,
    sim: &Simulation<ChainMsg>,
    master: &Master,
) -> CheckResult {
    const NAME: &str = "chain-converged";
    let quiet = quiet_from(sim);
    let end = sim.config().duration_ns;
    if end < quiet.saturating_add(options.converge_ns) {
        return CheckResult::pass(
            NAME,
            format!(
                "skipped: only {:.1}s of quiet after the last fault/operation (need {:.1}s)",
                end.saturating_sub(quiet) as f64 / 1e9,
                options.converge_ns as f64 / 1e9
            ),
        );
    }
    let Some(config) = master.config() else {
        return CheckResult::fail(NAME, "the master has no configuration");
    };
    let mut seen = Vec::new();
    for node in &config.chain {
        let server = sim
            .process(*node)
            .and_then(|p| p.as_any().downcast_ref::<ChainServer>());
        let (Some(server), Some(NodeStatus::Up)) = (server, sim.status(*node)) else {
            return CheckResult::fail(NAME, format!("member {node} is not up at the end"));
        };
        let epoch = server.config().map_or(0, |c| c.epoch);
        if epoch != config.epoch {
            return CheckResult::fail(
                NAME,
                format!(
                    "member {node} runs epoch {epoch}, the master {}",
                    config.epoch
                ),
            );
        }
        let waiting = server.pending() + server.buffered();
        seen.push((*node, server.replica(), waiting));
    }
    let Some((head_node, head, _)) = seen.first().copied() else {
        return CheckResult::fail(NAME, "the master's chain is empty");
    };
    if seen
        .iter()
        .any(|(_, replica, waiting)| replica.applied() != head.applied() || *waiting > 0)
    {
        let counts: Vec<_> = seen
            .iter()
            .map(|(node, replica, waiting)| (*node, replica.applied(), *waiting))
            .collect();
        return CheckResult::fail(
            NAME,
            format!("members did not converge (node, applied, pending + buffered): {counts:?}"),
        );
    }
    // The same position is not enough: every member must hold the head's values and client
    // sessions (the exactly-once table a new head or tail answers resends from).
    if let Some((node, replica, _)) = seen.iter().find(|(_, r, _)| *r != head) {
        return CheckResult::fail(
            NAME,
            format!(
                "member {node} applied the same {} updates as the head {head_node} but holds {}",
                head.applied(),
                replica.difference(head)
            ),
        );
    }
    // And a member that crashed now would come back with what it holds: everything it holds
    // is on disk and synced, since it syncs before anything leaves it.
    for (node, replica, _) in &seen {
        let Some(mut disk) = sim.storage(*node).cloned() else {
            continue;
        };
        disk.crash();
        match store::Replica::recover(&disk) {
            Ok(recovered) if recovered == **replica => {}
            Ok(recovered) => {
                return CheckResult::fail(
                    NAME,
                    format!(
                        "member {node} would recover another state after a crash now: {}",
                        recovered.difference(replica)
                    ),
                );
            }
            Err(why) => {
                return CheckResult::fail(
                    NAME,
                    format!("member {node} could not recover after a crash now: {why}"),
                );
            }
        }
    }
    CheckResult::pass(
        NAME,
        format!(
            "all {} members hold the same {} updates, values and sessions, all synced to disk",
            seen.len(),
            head.applied()
        ),
    )
}
