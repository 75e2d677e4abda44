//! The master: detects failed servers by their heartbeats and reconfigures the chain (remove
//! the head, the tail or a middle server; extend the chain with a new tail brought up to date
//! by state transfer), tells servers their new configuration and clients the head and tail.
//!
//! It also tracks one member known to hold every update ever answered (`complete`): the tail,
//! except right after an extension, while the new tail catches up with the old one. Removing
//! a member keeps such a member in the chain; a complete head (for instance the only member)
//! is never removed, and the chain waits for it to come back from its disk.
//!
//! Fault tolerance of the master itself is assumed away: the paper replicates the master with
//! Paxos; here it is one exempt server (`SimBuilder::add_exempt_server`) that the nemesis and
//! the partition patterns never touch. It still persists its configuration and recovers it
//! if a scheduled fault crashes it, but while it is down nothing is reconfigured and tails
//! answer no reads.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, Nanos, NodeId, Process, TimerId};

use super::Timing;
use super::monitor::Monitor;
use super::msg::{ChainMsg, Config};

const RECORD_KEY: &str = "chain/master";

/// The master process.
#[derive(Debug)]
pub struct Master {
    replicas: Vec<NodeId>,
    timing: Timing,
    monitor: Rc<RefCell<Monitor>>,
    /// Volatile: rebuilt from storage (the record) or from scratch (the rest).
    state: Option<MasterState>,
}

/// What the master keeps on disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    config: Config,
    /// A member that holds every update ever answered.
    complete: NodeId,
}

/// A configuration change: the new record.
type Change = Record;

/// What the master knows while it runs.
#[derive(Debug)]
struct MasterState {
    record: Record,
    /// Last heartbeat from each replica (master's local time).
    heard_ns: BTreeMap<NodeId, Nanos>,
    /// Each replica's boot count as last heard: a larger one means it restarted.
    boots: BTreeMap<NodeId, u64>,
    /// Replicas that installed the current epoch, with their last received update then.
    acked: BTreeMap<NodeId, u64>,
    /// When the current join began.
    join_started_ns: Option<Nanos>,
    /// When the configuration last changed.
    changed_ns: Nanos,
    /// Where the search for the next server to add starts (round robin).
    next_candidate: usize,
}

impl Master {
    /// A master of the chain of `replicas` (in initial chain order).
    pub fn new(replicas: Vec<NodeId>, timing: Timing, monitor: Rc<RefCell<Monitor>>) -> Self {
        Self {
            replicas,
            timing,
            monitor,
            state: None,
        }
    }

    /// The current configuration (`None` before the master started).
    pub fn config(&self) -> Option<&Config> {
        self.state.as_ref().map(|s| &s.record.config)
    }

    /// The shared monitor of the run.
    pub fn monitor(&self) -> &Rc<RefCell<Monitor>> {
        &self.monitor
    }
}

impl Process for Master {
    type Msg = ChainMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, ChainMsg>) {
        let recovered = ctx
            .storage()
            .get(RECORD_KEY)
            .and_then(|b| serde_json::from_slice::<Record>(b).ok());
        let first = recovered.is_none();
        let record = recovered.unwrap_or_else(|| Record {
            config: Config {
                epoch: 1,
                chain: self.replicas.clone(),
                joining: None,
            },
            complete: self.replicas[self.replicas.len() - 1],
        });
        let now = ctx.now();
        // Everyone gets a full failure timeout of grace after a (re)start.
        let heard_ns = self.replicas.iter().map(|r| (*r, now)).collect();
        let mut state = MasterState {
            record,
            heard_ns,
            boots: BTreeMap::new(),
            acked: BTreeMap::new(),
            join_started_ns: None,
            changed_ns: now,
            next_candidate: 0,
        };
        if first {
            persist(ctx, &state.record);
        }
        self.monitor
            .borrow_mut()
            .set_chain(&state.record.config.chain, first);
        state.broadcast(ctx, &self.replicas);
        self.state = Some(state);
        ctx.set_timer(self.timing.heartbeat_ns, 0);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, ChainMsg>, from: NodeId, msg: ChainMsg) {
        let Some(state) = self.state.as_mut() else {
            return;
        };
        let change = state.on_message(ctx, from, msg);
        if let Some(change) = change {
            self.reconfigure(ctx, change);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, ChainMsg>, _timer: TimerId, _tag: u64) {
        ctx.set_timer(self.timing.heartbeat_ns, 0);
        let Some(state) = self.state.as_mut() else {
            return;
        };
        if let Some(change) = state.next_change(ctx.now(), &self.timing, &self.replicas) {
            self.reconfigure(ctx, change);
        }
    }
}

impl Master {
    /// Installs a new configuration: persist it, then tell everyone.
    fn reconfigure(&mut self, ctx: &mut Ctx<'_, ChainMsg>, change: Change) {
        let state = self.state.as_mut().expect("the master has started");
        let old = &state.record.config;
        let new_join = change.config.joining.is_some() && change.config.joining != old.joining;
        let config = Config {
            epoch: old.epoch + 1,
            ..change.config
        };
        state.record = Record {
            config,
            complete: change.complete,
        };
        persist(ctx, &state.record);
        let now = ctx.now();
        state.acked.clear();
        state.changed_ns = now;
        if new_join {
            state.join_started_ns = Some(now);
        }
        let config = &state.record.config;
        ctx.log(format!(
            "master: epoch {} chain {:?} joining {:?} complete {}",
            config.epoch, config.chain, config.joining, state.record.complete
        ));
        self.monitor.borrow_mut().set_chain(&config.chain, false);
        state.broadcast(ctx, &self.replicas);
    }
}

impl MasterState {
    fn config(&self) -> &Config {
        &self.record.config
    }

    /// Handles one message; returns the configuration change it calls for, if any.
    fn on_message(
        &mut self,
        ctx: &mut Ctx<'_, ChainMsg>,
        from: NodeId,
        msg: ChainMsg,
    ) -> Option<Change> {
        let epoch = self.config().epoch;
        match msg {
            ChainMsg::GetConfig => {
                let info = ChainMsg::ConfigInfo {
                    epoch,
                    head: self.config().head(),
                    tail: self.config().tail(),
                };
                ctx.send(from, info);
            }
            ChainMsg::ReadFence { round, .. } => {
                ctx.send(from, ChainMsg::FenceReply { epoch, round });
            }
            ChainMsg::Heartbeat {
                epoch: theirs,
                applied,
                boot,
                tail_ready,
            } => return self.on_heartbeat(ctx, from, theirs, applied, boot, tail_ready),
            ChainMsg::ConfigAck {
                epoch: theirs,
                applied,
            } if theirs == epoch => self.on_ack(ctx, from, applied),
            ChainMsg::Joined { epoch: theirs, .. }
                if theirs == epoch && self.config().joining == Some(from) =>
            {
                let mut chain = self.config().chain.clone();
                chain.push(from);
                return Some(Record {
                    config: Config {
                        chain,
                        joining: None,
                        ..self.config().clone()
                    },
                    complete: self.record.complete,
                });
            }
            ChainMsg::SuspectSuccessor {
                epoch: theirs,
                successor,
            } if theirs == epoch => {
                let member = self.config().successor(from) == Some(successor);
                let joiner =
                    self.config().joining == Some(successor) && self.config().tail() == from;
                if member || joiner {
                    return self.without(successor);
                }
            }
            _ => {}
        }
        None
    }

    fn on_heartbeat(
        &mut self,
        ctx: &mut Ctx<'_, ChainMsg>,
        from: NodeId,
        theirs: Option<u64>,
        applied: u64,
        boot: u64,
        tail_ready: bool,
    ) -> Option<Change> {
        self.heard_ns.insert(from, ctx.now());
        let restarted = self.boots.insert(from, boot).is_some_and(|b| b < boot);
        let config = self.config();
        let involved = config.position(from).is_some() || config.joining == Some(from);
        if restarted && involved {
            // Its volatile state (links, buffered updates, a join in progress) is gone: take
            // it out unless it is the one complete head, which carries on from its disk.
            if let Some(change) = self.without(from) {
                return Some(change);
            }
        }
        if theirs == Some(config.epoch) {
            if tail_ready && config.tail() == from && self.record.complete != from {
                self.record.complete = from;
                persist(ctx, &self.record);
            }
            self.on_ack(ctx, from, applied);
        } else {
            self.send_config(ctx, from);
        }
        None
    }

    /// Sends every replica the configuration (members with a member successor only once the
    /// successor has reported its last received update).
    fn broadcast(&mut self, ctx: &mut Ctx<'_, ChainMsg>, replicas: &[NodeId]) {
        for r in replicas {
            self.send_config(ctx, *r);
        }
    }

    fn send_config(&self, ctx: &mut Ctx<'_, ChainMsg>, to: NodeId) {
        let from_seq = match self.config().successor(to) {
            Some(succ) => match self.acked.get(&succ) {
                Some(applied) => Some(*applied),
                // Wait for the successor's report (the paper's middle-failure handshake).
                None => return,
            },
            None => None,
        };
        let config = self.config().clone();
        ctx.send(to, ChainMsg::NewConfig { config, from_seq });
    }

    /// `node` installed the current epoch with `applied` received: release its predecessor.
    fn on_ack(&mut self, ctx: &mut Ctx<'_, ChainMsg>, node: NodeId, applied: u64) {
        if self.acked.contains_key(&node) {
            return;
        }
        self.acked.insert(node, applied);
        let config = self.config();
        let pred = config
            .position(node)
            .and_then(|i| i.checked_sub(1))
            .map(|p| config.chain[p]);
        if let Some(pred) = pred
            && !self.acked.contains_key(&pred)
        {
            self.send_config(ctx, pred);
        }
    }

    /// The configuration without `node` (as member or as joining server); `None` if it must
    /// stay: it is the complete member and has no predecessor to hand that role to.
    fn without(&self, node: NodeId) -> Option<Change> {
        let config = self.config();
        if config.joining == Some(node) {
            return Some(Record {
                config: Config {
                    joining: None,
                    ..config.clone()
                },
                complete: self.record.complete,
            });
        }
        let position = config.position(node)?;
        let mut complete = self.record.complete;
        if node == complete {
            // Its predecessor's history extends its own, so it is complete too.
            complete = config.chain[position.checked_sub(1)?];
        }
        let chain: Vec<NodeId> = config
            .chain
            .iter()
            .copied()
            .filter(|n| *n != node)
            .collect();
        // A join goes through the tail; it ends when the tail leaves.
        let joining = config
            .joining
            .filter(|_| chain.last() == config.chain.last());
        Some(Record {
            config: Config {
                chain,
                joining,
                ..config.clone()
            },
            complete,
        })
    }

    /// The change the failure detector or the chain extension asks for now, one at a time.
    fn next_change(&mut self, now: Nanos, timing: &Timing, replicas: &[NodeId]) -> Option<Change> {
        let silent = |n: &NodeId| {
            let heard = self.heard_ns.get(n).copied().unwrap_or(0);
            now.saturating_sub(heard) > timing.failure_timeout_ns
        };
        let config = self.config();
        if let Some(change) = config
            .chain
            .iter()
            .filter(|n| silent(n))
            .find_map(|n| self.without(*n))
        {
            return Some(change);
        }
        if let Some(j) = config.joining {
            let started = self.join_started_ns.unwrap_or(now);
            if silent(&j) || now.saturating_sub(started) > timing.join_timeout_ns {
                return self.without(j);
            }
            return None;
        }
        // Extend only behind a complete tail: the new tail's handoff then comes from a
        // predecessor that holds every answered update, and at most the tail lags.
        let settled = config.chain.iter().all(|n| self.acked.contains_key(n))
            && self.record.complete == config.tail()
            && now.saturating_sub(self.changed_ns) >= timing.rejoin_delay_ns;
        if !settled || config.chain.len() >= replicas.len() {
            return None;
        }
        // Extend the chain with the next live server outside it (round robin, so a server
        // that cannot be reached does not block the others).
        let n = replicas.len();
        let candidate = (0..n)
            .map(|i| replicas[(self.next_candidate + i) % n])
            .find(|r| config.position(*r).is_none() && !silent(r))?;
        let change = Record {
            config: Config {
                joining: Some(candidate),
                ..config.clone()
            },
            complete: self.record.complete,
        };
        self.next_candidate = (replicas.iter().position(|r| *r == candidate)? + 1) % n;
        Some(change)
    }
}

fn persist(ctx: &mut Ctx<'_, ChainMsg>, record: &Record) {
    let bytes = serde_json::to_vec(record).expect("a master record always serializes");
    ctx.storage_mut().put(RECORD_KEY, bytes);
    ctx.storage_mut().sync();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(chain: &[u32], joining: Option<u32>, complete: u32) -> MasterState {
        MasterState {
            record: Record {
                config: Config {
                    epoch: 7,
                    chain: chain.iter().copied().map(NodeId).collect(),
                    joining: joining.map(NodeId),
                },
                complete: NodeId(complete),
            },
            heard_ns: BTreeMap::new(),
            boots: BTreeMap::new(),
            acked: BTreeMap::new(),
            join_started_ns: None,
            changed_ns: 0,
            next_candidate: 0,
        }
    }

    fn ids(ns: &[u32]) -> Vec<NodeId> {
        ns.iter().copied().map(NodeId).collect()
    }

    #[test]
    fn removing_the_tail_makes_its_predecessor_complete() {
        let change = state(&[0, 1, 2], None, 2).without(NodeId(2)).unwrap();
        assert_eq!(change.config.chain, ids(&[0, 1]));
        assert_eq!(change.complete, NodeId(1));
    }

    #[test]
    fn a_complete_head_is_never_removed() {
        // Right after an extension the new tail (1) may still lack what the old one answered.
        assert_eq!(state(&[0, 1], None, 0).without(NodeId(0)), None);
        assert_eq!(state(&[3], None, 3).without(NodeId(3)), None);
        // Once the new tail caught up, the old one may go.
        let change = state(&[0, 1], None, 1).without(NodeId(0)).unwrap();
        assert_eq!(change.config.chain, ids(&[1]));
    }

    #[test]
    fn a_join_ends_with_its_tail_or_its_joiner_and_survives_other_removals() {
        let s = state(&[0, 1], Some(2), 1);
        assert_eq!(s.without(NodeId(2)).unwrap().config.joining, None);
        assert_eq!(s.without(NodeId(1)).unwrap().config.joining, None);
        let head_gone = s.without(NodeId(0)).unwrap();
        assert_eq!(head_gone.config.joining, Some(NodeId(2)));
        assert_eq!(head_gone.config.chain, ids(&[1]));
    }
}
