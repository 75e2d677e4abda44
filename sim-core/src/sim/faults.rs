//! Applying faults to the running simulation, from the schedule or from the nemesis.

use super::{Event, NodeStatus, Simulation};
use crate::error::SimError;
use crate::fault::Fault;
use crate::partition::Connectivity;
use crate::process::{Message, NodeId};
use crate::trace::{DropReason, TraceKind};

impl<M: Message> Simulation<M> {
    /// Applies `fault` now and traces it; a fault that does not fit the node's state (resuming
    /// a node that is not paused) is traced as not applied.
    pub(super) fn apply_fault(&mut self, fault: &Fault) -> Result<(), SimError> {
        let applied = match fault {
            Fault::Crash { node } => self.crash(*node)?,
            Fault::Restart { node } => {
                let applied = self.nodes[node.index()].status == NodeStatus::Crashed;
                if applied {
                    self.stats.faults_applied += 1;
                    self.tracer
                        .emit(self.now, TraceKind::Fault { fault, applied });
                    return self.restart(*node);
                }
                false
            }
            Fault::Pause { node } => self.set_status(*node, NodeStatus::Up, NodeStatus::Paused),
            Fault::Resume { node } => {
                let applied = self.set_status(*node, NodeStatus::Paused, NodeStatus::Up);
                if applied {
                    let deferred = std::mem::take(&mut self.nodes[node.index()].deferred);
                    for event in deferred {
                        self.push(self.now, event)?;
                    }
                }
                applied
            }
            Fault::ClockJump { node, delta_ns } => {
                self.nodes[node.index()].clock.jump(*delta_ns);
                self.reschedule_timers(*node)?;
                true
            }
            Fault::ClockDrift { node, drift_ppm } => {
                let now = self.now;
                self.nodes[node.index()].clock.set_drift(now, *drift_ppm);
                self.reschedule_timers(*node)?;
                true
            }
            Fault::Partition(spec) => {
                let nodes = self.nodes.len();
                match Connectivity::from_spec(spec, nodes, &self.targets, &mut self.partition_rng) {
                    Ok(conn) => {
                        self.network.set_connectivity(conn);
                        true
                    }
                    Err(_) => false,
                }
            }
            Fault::Heal => {
                let was = self.network.connectivity().is_partitioned();
                self.network
                    .set_connectivity(Connectivity::full(self.nodes.len()));
                was
            }
        };
        if applied {
            self.stats.faults_applied += 1;
        }
        self.tracer
            .emit(self.now, TraceKind::Fault { fault, applied });
        Ok(())
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
            if let Some((after_ns, undo)) = mv.undo {
                self.push(
                    self.now.saturating_add(after_ns),
                    Event::Fault(Box::new(undo)),
                )?;
            }
            self.apply_fault(&mv.fault)?;
        }
        if let Some(at) = next {
            self.push(at, Event::NemesisTick)?;
        }
        Ok(())
    }

    fn crash(&mut self, node: NodeId) -> Result<bool, SimError> {
        let n = &mut self.nodes[node.index()];
        if n.status == NodeStatus::Crashed {
            return Ok(false);
        }
        n.status = NodeStatus::Crashed;
        n.storage.crash();
        n.timers.clear();
        n.epoch += 1;
        n.incarnation += 1;
        let lost = std::mem::take(&mut n.deferred);
        for event in lost {
            if let Event::Deliver {
                from,
                to,
                sent_ns,
                msg,
            } = event
            {
                self.count_drop(DropReason::NodeDown);
                let reason = DropReason::NodeDown;
                self.tracer.emit(
                    self.now,
                    TraceKind::Drop {
                        from,
                        to,
                        sent_ns,
                        reason,
                        msg: &msg,
                    },
                );
            }
        }
        self.abandon_open_op(node)?;
        Ok(true)
    }

    fn restart(&mut self, node: NodeId) -> Result<(), SimError> {
        let n = &mut self.nodes[node.index()];
        n.process = (n.factory)(node);
        n.status = NodeStatus::Up;
        self.boot(node)
    }

    fn set_status(&mut self, node: NodeId, from: NodeStatus, to: NodeStatus) -> bool {
        let n = &mut self.nodes[node.index()];
        let applies = n.status == from;
        if applies {
            n.status = to;
        }
        applies
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
