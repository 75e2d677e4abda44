//! The simulation: nodes, the event queue and the loop that runs them. One event at a time, in
//! `(time, seq)` order; each event is handed to one node's process, whose recorded effects are
//! then carried out. Builders live in `builder`, fault handling in `faults`, held and replayed
//! messages in `late`, the client and history bookkeeping in `clients`.

mod builder;
mod clients;
mod faults;
mod late;

pub use builder::SimBuilder;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::buggify::{Buggify, PointRecord};
use crate::clock::Clock;
use crate::config::SimConfig;
use crate::coverage::{Coverage, CoverageSummary, FaultRecord, FaultSource};
use crate::error::SimError;
use crate::fault::{Fault, Nemesis};
use crate::history::History;
use crate::network::{Network, Transmission};
use crate::partition::Connectivity;
use crate::process::{BoxProcess, Ctx, Effect, Factory, Message, NodeId, OpId, Process, TimerId};
use crate::queue::EventQueue;
use crate::rng::SimRng;
use crate::stats::Stats;
use crate::storage::Storage;
use crate::time::Nanos;
use crate::trace::{DropReason, TraceEvent, TraceHash, TraceKind, TraceSink};
use crate::workload::Workload;

/// What a node is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Part of the system under test; faults target servers.
    Server,
    /// Drives the workload and records the history.
    Client,
}

/// Whether a node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// Running.
    Up,
    /// Stalled: its events wait until it resumes.
    Paused,
    /// Crashed: its events are dropped until it restarts.
    Crashed,
}

/// An invariant violation reported by a process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// True time.
    pub time_ns: Nanos,
    /// Reporting node.
    pub node: NodeId,
    /// Name of the invariant.
    pub check: String,
    /// What was seen.
    pub detail: String,
}

/// What the queue holds.
#[derive(Debug)]
enum Event<M> {
    Start {
        node: NodeId,
    },
    Deliver {
        from: NodeId,
        to: NodeId,
        sent_ns: Nanos,
        msg_id: u64,
        msg: M,
    },
    Timer {
        node: NodeId,
        id: TimerId,
        epoch: u32,
    },
    /// Boxed: faults are rare and large, and every queue entry is as big as its largest variant.
    Fault(Box<(Fault, FaultSource)>),
    NemesisTick,
    ClientNext {
        node: NodeId,
    },
    ClientTimeout {
        node: NodeId,
        op: OpId,
    },
}

impl<M> Event<M> {
    /// The delivery of `msg`, sent as `envelope` says.
    fn delivery(envelope: Envelope, msg: M) -> Self {
        let Envelope {
            from,
            to,
            sent_ns,
            msg_id,
        } = envelope;
        Event::Deliver {
            from,
            to,
            sent_ns,
            msg_id,
            msg,
        }
    }

    /// The node an event is addressed to, if any: a paused node's events wait for it.
    fn target(&self) -> Option<NodeId> {
        match self {
            Event::Deliver { to, .. } => Some(*to),
            Event::Timer { node, .. }
            | Event::ClientNext { node }
            | Event::ClientTimeout { node, .. }
            | Event::Start { node } => Some(*node),
            Event::Fault(_) | Event::NemesisTick => None,
        }
    }
}

/// Where a message in flight comes from and goes, and which one it is.
#[derive(Clone, Copy, Debug)]
struct Envelope {
    from: NodeId,
    to: NodeId,
    sent_ns: Nanos,
    msg_id: u64,
}

/// A timer that has been set and neither fired nor been cancelled.
#[derive(Clone, Copy, Debug)]
struct ActiveTimer {
    id: TimerId,
    tag: u64,
    deadline_local_ns: Nanos,
}

/// One node and everything the engine keeps for it.
struct Node<M> {
    process: BoxProcess<M>,
    factory: Factory<M>,
    role: Role,
    status: NodeStatus,
    incarnation: u32,
    /// Bumped on a crash or a clock change; timer events of an older epoch are stale.
    epoch: u32,
    clock: Clock,
    storage: Storage,
    rng: SimRng,
    timers: Vec<ActiveTimer>,
    next_timer: u64,
    /// Events that arrived while paused, in arrival order.
    deferred: Vec<Event<M>>,
    client: Option<clients::ClientSlot>,
    /// The coverage record of the crash or pause in force, if any.
    crash_record: Option<usize>,
    pause_record: Option<usize>,
}

/// The trace hash plus an optional sink and an optional "last event" text for divergence reports.
struct Tracer<M> {
    hash: TraceHash,
    sink: Option<Box<dyn TraceSink<M>>>,
    last_event: Option<String>,
}

impl<M: Message> Tracer<M> {
    #[inline]
    fn emit(&mut self, time: Nanos, kind: TraceKind<'_, M>) {
        let event = TraceEvent { time, kind };
        self.hash.fold(&event);
        if let Some(sink) = self.sink.as_mut() {
            sink.record(&event);
        }
        // A send is not hashed, so it is not the event a divergence report names.
        if let Some(text) = self.last_event.as_mut()
            && !matches!(event.kind, TraceKind::Send { .. })
        {
            text.clear();
            let _ = write!(text, "t={}ns {:?}", event.time, event.kind);
        }
    }
}

/// A running simulation. Build one with [`SimBuilder`], then [`Simulation::run`] it.
pub struct Simulation<M: Message> {
    config: SimConfig,
    now: Nanos,
    queue: EventQueue<Event<M>>,
    nodes: Vec<Node<M>>,
    servers: Vec<NodeId>,
    /// Client nodes, in id order; a partition pattern with spread clients places them too.
    clients: Vec<NodeId>,
    /// Servers the nemesis and partition patterns may target.
    targets: Vec<NodeId>,
    network: Network,
    partition_rng: SimRng,
    /// Messages a hold keeps back and recent messages kept for replays (boxed: rarely used,
    /// and the hot fields stay together without it).
    late: Box<late::Late<M>>,
    /// What each fault affected; `partition_record` is the partition in force.
    coverage: Coverage,
    partition_record: Option<usize>,
    /// The connectivity the partition in force replaced (full when it was imposed on a healed
    /// network): a partition affected the run only where it decided a message differently.
    partition_replaced: Connectivity,
    nemesis: Option<Nemesis>,
    workload: Option<Workload>,
    history: History,
    next_op: u64,
    /// The id the next message sent gets; ids let readers of the trace pair each delivery or
    /// drop with its send exactly.
    next_msg_id: u64,
    violations: Vec<Violation>,
    /// Which buggify points this run enabled and fired.
    buggify: Buggify,
    tracer: Tracer<M>,
    stats: Stats,
    /// Scratch space for effects, reused so handlers do not allocate per event.
    effects: Vec<Effect<M>>,
    /// Events held for paused nodes and messages held by a hold, all together; they count against
    /// `limits.queue_len_max` like events in the queue, so pausing nodes does not lift the bound.
    deferred_total: usize,
}

impl<M: Message> Simulation<M> {
    /// Runs to the configured duration (or until nothing is left to happen).
    pub fn run(&mut self) -> Result<(), SimError> {
        while self.step()? {}
        Ok(())
    }

    /// Processes the next event, if one is due before the end; returns whether it did.
    pub fn step(&mut self) -> Result<bool, SimError> {
        let Some(scheduled) = self.queue.pop_until(self.config.duration_ns) else {
            self.now = self.config.duration_ns;
            self.stats.sim_time_ns = self.now;
            return Ok(false);
        };
        debug_assert!(
            scheduled.time >= self.now,
            "the event queue went back in time"
        );
        self.now = scheduled.time;
        self.stats.sim_time_ns = self.now;
        if self.stats.events >= self.config.limits.events_max {
            return Err(self.limit("events_max", self.config.limits.events_max));
        }
        self.handle(scheduled.event)?;
        Ok(true)
    }

    /// True time now.
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// The rolling trace hash so far.
    pub fn trace_hash(&self) -> u64 {
        self.tracer.hash.value()
    }

    /// The last event as text, when built with [`SimBuilder::describe_events`].
    pub fn last_event(&self) -> Option<&str> {
        self.tracer.last_event.as_deref()
    }

    /// The counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The client history so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Violations reported so far (the first `violations_kept_max`; `stats().violations` counts all).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// The configuration the run uses.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The server nodes, in id order.
    pub fn servers(&self) -> &[NodeId] {
        &self.servers
    }

    /// The buggify points protocol code asked about so far, with what they did.
    pub fn buggify_points(&self) -> &BTreeMap<&'static str, PointRecord> {
        self.buggify.points()
    }

    /// The client nodes, in id order.
    pub fn clients(&self) -> &[NodeId] {
        &self.clients
    }

    /// All nodes with their roles.
    pub fn roles(&self) -> impl Iterator<Item = (NodeId, Role)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (NodeId(i as u32), n.role))
    }

    /// Whether `node` is up, paused or crashed (`None` for an unknown node).
    pub fn status(&self, node: NodeId) -> Option<NodeStatus> {
        self.nodes.get(node.index()).map(|n| n.status)
    }

    /// A node's process, to inspect after (or during) a run via `as_any().downcast_ref()`.
    pub fn process(&self, node: NodeId) -> Option<&dyn Process<Msg = M>> {
        self.nodes.get(node.index()).map(|n| n.process.as_ref())
    }

    /// A node's durable storage.
    pub fn storage(&self, node: NodeId) -> Option<&Storage> {
        self.nodes.get(node.index()).map(|n| &n.storage)
    }

    /// Every fault applied so far, with what it affected (up to `limits.fault_records_max`).
    pub fn fault_records(&self) -> &[FaultRecord] {
        self.coverage.records()
    }

    /// Fault coverage so far: totals per kind and the configured faults that changed nothing.
    pub fn coverage(&self) -> CoverageSummary {
        let kinds = self
            .nemesis
            .as_ref()
            .map_or(&[][..], |n| &n.config().kinds[..]);
        self.coverage.summary(self.now, kinds)
    }

    /// The nemesis configuration in force (for a swarm nemesis, the profile drawn from the seed).
    pub fn nemesis_profile(&self) -> Option<&crate::fault::NemesisConfig> {
        self.nemesis.as_ref().map(Nemesis::config)
    }

    /// The partition in force.
    pub fn connectivity(&self) -> &Connectivity {
        self.network.connectivity()
    }

    fn handle(&mut self, event: Event<M>) -> Result<(), SimError> {
        if let Some(node) = event.target()
            && self.nodes[node.index()].status == NodeStatus::Paused
        {
            return self.defer(node, event);
        }
        match event {
            Event::Start { node } => self.start(node)?,
            Event::Deliver {
                from,
                to,
                sent_ns,
                msg_id,
                msg,
            } => self.deliver(
                Envelope {
                    from,
                    to,
                    sent_ns,
                    msg_id,
                },
                msg,
            )?,
            Event::Timer { node, id, epoch } => self.fire_timer(node, id, epoch)?,
            Event::Fault(fault) => {
                self.stats.events += 1;
                let (fault, source) = *fault;
                self.apply_fault(&fault, source)?;
            }
            Event::NemesisTick => {
                self.stats.events += 1;
                self.nemesis_tick()?;
            }
            Event::ClientNext { node } => self.client_next(node)?,
            Event::ClientTimeout { node, op } => self.client_timeout(node, op)?,
        }
        Ok(())
    }

    fn defer(&mut self, node: NodeId, event: Event<M>) -> Result<(), SimError> {
        // It leaves the queue for the node's list: the count against queue_len_max is unchanged.
        let max = self.config.limits.deferred_per_node_max;
        let n = &mut self.nodes[node.index()];
        if n.deferred.len() >= max {
            return Err(self.limit("deferred_per_node_max", max as u64));
        }
        n.deferred.push(event);
        self.deferred_total += 1;
        self.coverage.deferred(n.pause_record);
        Ok(())
    }

    fn start(&mut self, node: NodeId) -> Result<(), SimError> {
        self.stats.events += 1;
        self.boot(node)
    }

    /// Starts `node`'s process (first start or restart) and, for a client, its workload.
    fn boot(&mut self, node: NodeId) -> Result<(), SimError> {
        let incarnation = self.nodes[node.index()].incarnation;
        self.tracer
            .emit(self.now, TraceKind::Start { node, incarnation });
        self.dispatch(node, |p, ctx| p.on_start(ctx))?;
        self.schedule_client(node)
    }

    fn deliver(&mut self, envelope: Envelope, msg: M) -> Result<(), SimError> {
        let Envelope {
            from,
            to,
            sent_ns,
            msg_id,
        } = envelope;
        self.stats.events += 1;
        let reason = if self.nodes[to.index()].status == NodeStatus::Crashed {
            Some(DropReason::NodeDown)
        } else if !self.network.connectivity().allows(from, to) {
            Some(DropReason::Partition)
        } else {
            None
        };
        if let Some(reason) = reason {
            if reason == DropReason::Partition && self.late.holding() {
                self.hold_message(envelope, msg);
                return Ok(());
            }
            let record = match reason {
                DropReason::NodeDown => self.nodes[to.index()].crash_record,
                _ => self.partition_record,
            };
            if reason == DropReason::Partition && self.partition_replaced.allows(from, to) {
                self.coverage.changed(record);
            }
            self.drop_message(envelope, reason, &msg, record);
            return Ok(());
        }
        if self.partition_record.is_some() && !self.partition_replaced.allows(from, to) {
            // Delivered only because the partition in force replaced one that cut this link.
            self.coverage.changed(self.partition_record);
        }
        self.stats.messages_delivered += 1;
        self.tracer.emit(
            self.now,
            TraceKind::Deliver {
                from,
                to,
                sent_ns,
                msg_id,
                msg: &msg,
            },
        );
        self.dispatch(to, move |p, ctx| p.on_message(ctx, from, msg))
    }

    fn fire_timer(&mut self, node: NodeId, id: TimerId, epoch: u32) -> Result<(), SimError> {
        let n = &mut self.nodes[node.index()];
        let position = n.timers.iter().position(|t| t.id == id);
        let (Some(position), true) = (position, epoch == n.epoch) else {
            self.stats.timers_skipped += 1;
            return Ok(());
        };
        let timer = n.timers.swap_remove(position);
        self.stats.events += 1;
        self.stats.timers_fired += 1;
        self.tracer.emit(
            self.now,
            TraceKind::Timer {
                node,
                id,
                tag: timer.tag,
            },
        );
        self.dispatch(node, move |p, ctx| p.on_timer(ctx, id, timer.tag))
    }

    /// Runs one handler of `node`'s process and carries out its effects.
    #[inline]
    fn dispatch(
        &mut self,
        node: NodeId,
        handler: impl FnOnce(&mut dyn Process<Msg = M>, &mut Ctx<'_, M>),
    ) -> Result<(), SimError> {
        let mut effects = std::mem::take(&mut self.effects);
        let node_count = self.nodes.len();
        let n = &mut self.nodes[node.index()];
        let mut ctx = Ctx {
            node,
            now_local_ns: n.clock.local(self.now),
            node_count,
            servers: &self.servers,
            clients: &self.clients,
            buggify: &mut self.buggify,
            rng: &mut n.rng,
            storage: &mut n.storage,
            effects: &mut effects,
            next_timer: &mut n.next_timer,
        };
        handler(n.process.as_mut(), &mut ctx);
        let result = self.apply_effects(node, &mut effects);
        effects.clear();
        self.effects = effects;
        result
    }

    fn apply_effects(
        &mut self,
        node: NodeId,
        effects: &mut Vec<Effect<M>>,
    ) -> Result<(), SimError> {
        for effect in effects.drain(..) {
            match effect {
                Effect::Send { to, msg } => self.send(node, to, msg)?,
                Effect::SetTimer {
                    id,
                    deadline_local_ns,
                    tag,
                } => self.set_timer(
                    node,
                    ActiveTimer {
                        id,
                        tag,
                        deadline_local_ns,
                    },
                )?,
                Effect::CancelTimer { id } => {
                    let timers = &mut self.nodes[node.index()].timers;
                    if let Some(i) = timers.iter().position(|t| t.id == id) {
                        timers.swap_remove(i);
                    }
                }
                Effect::Log { line } => {
                    self.tracer
                        .emit(self.now, TraceKind::Log { node, line: &line });
                }
                Effect::Complete { op, outcome } => self.client_complete(node, op, outcome)?,
                Effect::Violation { check, detail } => self.violation(node, check, detail),
            }
        }
        Ok(())
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: M) -> Result<(), SimError> {
        self.stats.messages_sent += 1;
        if to.index() >= self.nodes.len() {
            self.violation(
                from,
                "send-to-unknown-node".into(),
                format!("{from} sent to {to}"),
            );
            return Ok(());
        }
        let msg_id = self.next_msg_id;
        self.next_msg_id += 1;
        match self.network.transmit(from, to, self.now) {
            Transmission::Lost => {
                self.count_drop(DropReason::Loss);
                let reason = DropReason::Loss;
                self.tracer.emit(
                    self.now,
                    TraceKind::Drop {
                        from,
                        to,
                        sent_ns: self.now,
                        msg_id,
                        reason,
                        msg: &msg,
                    },
                );
            }
            Transmission::Arrives {
                at,
                duplicate_at,
                stale_at,
            } => {
                self.tracer
                    .emit(self.now, TraceKind::Send { from, to, msg_id });
                let envelope = Envelope {
                    from,
                    to,
                    sent_ns: self.now,
                    msg_id,
                };
                self.remember_sent(envelope, &msg);
                if let Some(stale_at) = stale_at {
                    self.stats.messages_stale += 1;
                    self.push(stale_at, Event::delivery(envelope, msg.clone()))?;
                }
                if let Some(dup_at) = duplicate_at {
                    self.stats.messages_duplicated += 1;
                    self.push(dup_at, Event::delivery(envelope, msg.clone()))?;
                }
                self.push(at, Event::delivery(envelope, msg))?;
            }
        }
        Ok(())
    }

    fn set_timer(&mut self, node: NodeId, timer: ActiveTimer) -> Result<(), SimError> {
        let max = self.config.limits.timers_per_node_max;
        let n = &mut self.nodes[node.index()];
        if n.timers.len() >= max {
            return Err(self.limit("timers_per_node_max", max as u64));
        }
        n.timers.push(timer);
        let at = n.clock.true_time_of(timer.deadline_local_ns, self.now);
        let epoch = n.epoch;
        self.push(
            at,
            Event::Timer {
                node,
                id: timer.id,
                epoch,
            },
        )
    }

    fn violation(&mut self, node: NodeId, check: String, detail: String) {
        self.stats.violations += 1;
        self.tracer.emit(
            self.now,
            TraceKind::Violation {
                node,
                check: &check,
                detail: &detail,
            },
        );
        if self.violations.len() < self.config.limits.violations_kept_max {
            self.violations.push(Violation {
                time_ns: self.now,
                node,
                check,
                detail,
            });
        }
    }

    /// Counts, attributes to a fault's coverage record and traces a message that will not arrive.
    fn drop_message(
        &mut self,
        envelope: Envelope,
        reason: DropReason,
        msg: &M,
        record: Option<usize>,
    ) {
        self.count_drop(reason);
        self.coverage.dropped(record);
        let kind = TraceKind::Drop {
            from: envelope.from,
            to: envelope.to,
            sent_ns: envelope.sent_ns,
            msg_id: envelope.msg_id,
            reason,
            msg,
        };
        self.tracer.emit(self.now, kind);
    }

    fn count_drop(&mut self, reason: DropReason) {
        match reason {
            DropReason::Loss => self.stats.messages_dropped_loss += 1,
            DropReason::Partition => self.stats.messages_dropped_partition += 1,
            DropReason::NodeDown => self.stats.messages_dropped_node_down += 1,
        }
    }

    #[inline]
    fn push(&mut self, at: Nanos, event: Event<M>) -> Result<(), SimError> {
        let max = self.config.limits.queue_len_max;
        if self.queue.len() + self.deferred_total >= max {
            return Err(self.limit("queue_len_max", max as u64));
        }
        self.queue.push(at, event);
        let len = self.queue.len() as u64;
        if len > self.stats.queue_len_max {
            self.stats.queue_len_max = len;
        }
        Ok(())
    }

    fn limit(&self, limit: &'static str, value: u64) -> SimError {
        SimError::LimitReached {
            limit,
            value,
            at_ns: self.now,
        }
    }
}
