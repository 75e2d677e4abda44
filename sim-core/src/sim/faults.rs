//! Applying faults to the running simulation, from the schedule, the nemesis or the liveness
//! heal, and recording what each one affected (see [`crate::coverage`]).

use super::{Event, NodeStatus, Simulation};
use crate::coverage::FaultSource;
use crate::error::SimError;
use crate::fault::Fault;
use crate::partition::Connectivity;
use crate::process::{Message, NodeId};
use crate::trace::{DropReason, TraceKind};

impl<M: Message> Simulation<M> {
    /// Applies `fault` now, traces it and records it; a fault that does not fit the node's
    /// state (resuming a node that is not paused) is traced and recorded as not applied.
    pub(super) fn apply_fault(
        &mut self,
        fault: &Fault,
        source: FaultSource,
    ) -> Result<(), SimError> {
        let applied = self.fault_applies(fault);
        if applied {
            self.stats.faults_applied += 1;
        }
        self.tracer
            .emit(self.now, TraceKind::Fault { fault, applied });
        let record = self.coverage.record(self.now, fault, source, applied);
        if !applied {
            return Ok(());
        }
        match fault {
            Fault::Crash { node } => self.crash(*node, record)?,
            Fault::Restart { node } => self.restart(*node)?,
            Fault::Pause { node } => {
                let n = &mut self.nodes[node.index()];
                n.status = NodeStatus::Paused;
                n.pause_record = record;
            }
            Fault::Resume { node } => self.resume(*node)?,
            Fault::ClockJump { node, delta_ns } => {
                self.nodes[node.index()].clock.jump(*delta_ns);
                self.reschedule_timers(*node)?;
            }
            Fault::ClockDrift { node, drift_ppm } => {
                let now = self.now;
                self.nodes[node.index()].clock.set_drift(now, *drift_ppm);
                self.reschedule_timers(*node)?;
            }
            Fault::Partition(spec) => self.impose(spec, None, record)?,
            Fault::Hold {
                partition,
                release_spread_ns,
            } => self.impose(partition, Some(*release_spread_ns), record)?,
            Fault::Replay {
                from,
                to,
                window_ns,
                delay_ns,
            } => {
                let copies = self.replay(*from, *to, *window_ns, *delay_ns)?;
                self.coverage.replayed(record, copies);
            }
            Fault::Heal => self.heal()?,
            Fault::HealAll => {
                self.heal()?;
                for i in 0..self.nodes.len() {
                    let node = NodeId(i as u32);
                    match self.nodes[i].status {
                        NodeStatus::Crashed => self.restart(node)?,
                        NodeStatus::Paused => self.resume(node)?,
                        NodeStatus::Up => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether `fault` fits the current state.
    fn fault_applies(&self, fault: &Fault) -> bool {
        let status = |node: &NodeId| self.nodes[node.index()].status;
        match fault {
            Fault::Crash { node } => status(node) != NodeStatus::Crashed,
            Fault::Restart { node } => status(node) == NodeStatus::Crashed,
            Fault::Pause { node } => status(node) == NodeStatus::Up,
            Fault::Resume { node } => status(node) == NodeStatus::Paused,
            Fault::ClockJump { .. } | Fault::ClockDrift { .. } => true,
            Fault::Replay { .. } => true,
            Fault::Partition(spec)
            | Fault::Hold {
                partition: spec, ..
            } => {
                let mut scratch = self.partition_rng.clone();
                let (nodes, clients) = (self.nodes.len(), &self.clients);
                Connectivity::from_spec(spec, nodes, &self.targets, clients, &mut scratch).is_ok()
            }
            Fault::Heal => self.network.connectivity().is_partitioned(),
            Fault::HealAll => {
                self.network.connectivity().is_partitioned()
                    || self.nodes.iter().any(|n| n.status != NodeStatus::Up)
            }
        }
    }

    pub(super) fn nemesis_tick(&mut self) -> Result<(), SimError> {
        let Some(nemesis) = self.nemesis.as_mut() else {
            return Ok(());
        };
        let down: Vec<NodeId> = self
            .targets
            .iter()
            .copied()
            .filter(|s| self.nodes[s.index()].status != NodeStatus::Up)
            .collect();
        let partitioned = self.network.connectivity().is_partitioned();
        let mv = nemesis.draw(&self.targets, &down, partitioned);
        let next = nemesis.next_tick(self.now);
        if let Some(mv) = mv {
            let source = FaultSource::Nemesis { kind: mv.kind };
            if let Some((after_ns, undo)) = mv.undo {
                self.push(
                    self.now.saturating_add(after_ns),
                    Event::Fault(Box::new((undo, source))),
                )?;
            }
            self.apply_fault(&mv.fault, source)?;
        }
        if let Some(at) = next {
            self.push(at, Event::NemesisTick)?;
        }
        Ok(())
    }

    /// Imposes the partition `spec`, replacing any partition or hold in force (whose held
    /// messages are released); `hold` is the release spread when the new one is a hold.
    fn impose(
        &mut self,
        spec: &crate::partition::PartitionSpec,
        hold: Option<crate::time::Nanos>,
        record: Option<usize>,
    ) -> Result<(), SimError> {
        let conn = Connectivity::from_spec(
            spec,
            self.nodes.len(),
            &self.targets,
            &self.clients,
            &mut self.partition_rng,
        );
        if let Ok(conn) = conn {
            // A partition in force is replaced: its record ends now, drops from now on
            // are the new one's, and the new one is judged against the old.
            self.coverage.ended(self.partition_record, self.now);
            self.partition_replaced = self.network.connectivity().clone();
            self.network.set_connectivity(conn);
            self.partition_record = record;
            self.set_hold(hold)?;
        }
        Ok(())
    }

    fn heal(&mut self) -> Result<(), SimError> {
        self.coverage.ended(self.partition_record.take(), self.now);
        self.network
            .set_connectivity(Connectivity::full(self.nodes.len()));
        self.partition_replaced = Connectivity::full(self.nodes.len());
        self.set_hold(None)
    }

    fn crash(&mut self, node: NodeId, record: Option<usize>) -> Result<(), SimError> {
        let n = &mut self.nodes[node.index()];
        if n.status == NodeStatus::Paused {
            self.coverage.ended(n.pause_record.take(), self.now);
        }
        n.status = NodeStatus::Crashed;
        n.crash_record = record;
        n.storage.crash();
        n.timers.clear();
        n.epoch += 1;
        n.incarnation += 1;
        let lost = std::mem::take(&mut n.deferred);
        self.deferred_total -= lost.len();
        for event in lost {
            if let Event::Deliver {
                from,
                to,
                sent_ns,
                msg_id,
                msg,
            } = event
            {
                let envelope = super::Envelope {
                    from,
                    to,
                    sent_ns,
                    msg_id,
                };
                self.drop_message(envelope, DropReason::NodeDown, &msg, record);
            }
        }
        self.abandon_open_op(node)
    }

    fn restart(&mut self, node: NodeId) -> Result<(), SimError> {
        let n = &mut self.nodes[node.index()];
        self.coverage.ended(n.crash_record.take(), self.now);
        n.process = (n.factory)(node);
        n.status = NodeStatus::Up;
        self.boot(node)
    }

    fn resume(&mut self, node: NodeId) -> Result<(), SimError> {
        let n = &mut self.nodes[node.index()];
        self.coverage.ended(n.pause_record.take(), self.now);
        n.status = NodeStatus::Up;
        let deferred = std::mem::take(&mut n.deferred);
        self.deferred_total -= deferred.len();
        for event in deferred {
            self.push(self.now, event)?;
        }
        Ok(())
    }

    /// After a clock change, every pending timer's true firing time moves with the clock.
    fn reschedule_timers(&mut self, node: NodeId) -> Result<(), SimError> {
        let n = &mut self.nodes[node.index()];
        n.epoch += 1;
        let epoch = n.epoch;
        let events: Vec<_> = n
            .timers
            .iter()
            .map(|t| (n.clock.true_time_of(t.deadline_local_ns, self.now), t.id))
            .collect();
        for (at, id) in events {
            self.push(at, Event::Timer { node, id, epoch })?;
        }
        Ok(())
    }
}
