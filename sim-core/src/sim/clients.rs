//! Client bookkeeping: asking client nodes for operations from the workload, recording the
//! history (invoke, then ok / fail / info), timing out operations, and giving a client a fresh
//! process id after an indeterminate result, as Jepsen does.

use super::{Event, NodeStatus, Simulation};
use crate::error::SimError;
use crate::history::{EventType, HistoryEvent, OpFn, Outcome, Value};
use crate::process::{ClientOp, Message, NodeId, OpId};
use crate::trace::TraceKind;

/// Per-client state kept by the engine.
#[derive(Debug)]
pub(super) struct ClientSlot {
    /// The logical process id in the history.
    pub(super) process: u64,
    /// The operation waiting for an answer.
    pub(super) open: Option<OpenOp>,
}

/// An operation invoked and not yet completed.
#[derive(Debug)]
pub(super) struct OpenOp {
    id: OpId,
    f: OpFn,
    key: u64,
    value: Value,
}

impl<M: Message> Simulation<M> {
    /// Schedules a client's next operation after a think time (no-op for servers or without a
    /// workload).
    pub(super) fn schedule_client(&mut self, node: NodeId) -> Result<(), SimError> {
        let Some(workload) = self.workload.as_mut() else {
            return Ok(());
        };
        if self.nodes[node.index()].client.is_none() {
            return Ok(());
        }
        let at = self
            .now
            .max(workload.config().start_ns)
            .saturating_add(workload.think_time());
        self.push(at, Event::ClientNext { node })
    }

    pub(super) fn client_next(&mut self, node: NodeId) -> Result<(), SimError> {
        let n = &self.nodes[node.index()];
        let busy = n.client.as_ref().is_none_or(|c| c.open.is_some());
        let Some(workload) = self.workload.as_mut() else {
            return Ok(());
        };
        if n.status != NodeStatus::Up || busy || !workload.may_start(self.now) {
            return Ok(());
        }
        self.stats.events += 1;
        let (f, key, value) = workload.next_op();
        let timeout_ns = workload.config().timeout_ns;
        let id = OpId(self.next_op);
        self.next_op += 1;
        let process = self.client_slot(node).process;
        self.record(node, process, EventType::Invoke, f, key, value.clone())?;
        self.stats.ops_invoked += 1;
        self.client_slot(node).open = Some(OpenOp {
            id,
            f,
            key,
            value: value.clone(),
        });
        self.push(
            self.now.saturating_add(timeout_ns),
            Event::ClientTimeout { node, op: id },
        )?;
        self.dispatch(node, move |p, ctx| {
            p.on_client_op(ctx, ClientOp { id, f, key, value })
        })
    }

    pub(super) fn client_complete(
        &mut self,
        node: NodeId,
        op: OpId,
        outcome: Outcome,
    ) -> Result<(), SimError> {
        let Some(slot) = self.nodes[node.index()].client.as_mut() else {
            return Ok(());
        };
        // A completion for an operation that already timed out is too late: the history says
        // `info` for it, which allows either outcome.
        if slot.open.as_ref().is_none_or(|o| o.id != op) {
            return Ok(());
        }
        let Some(open) = slot.open.take() else {
            return Ok(());
        };
        let process = slot.process;
        let (kind, value) = match outcome {
            Outcome::Ok(value) => {
                self.stats.ops_ok += 1;
                (EventType::Ok, value)
            }
            Outcome::Fail => {
                self.stats.ops_fail += 1;
                (EventType::Fail, open.value)
            }
            Outcome::Info => {
                self.stats.ops_info += 1;
                self.next_process(node);
                (EventType::Info, open.value)
            }
        };
        self.record(node, process, kind, open.f, open.key, value)?;
        self.schedule_client(node)
    }

    pub(super) fn client_timeout(&mut self, node: NodeId, op: OpId) -> Result<(), SimError> {
        let Some(slot) = self.nodes[node.index()].client.as_ref() else {
            return Ok(());
        };
        if slot.open.as_ref().is_none_or(|o| o.id != op) {
            return Ok(());
        }
        self.stats.events += 1;
        self.abandon_open_op(node)?;
        self.dispatch(node, move |p, ctx| p.on_client_timeout(ctx, op))?;
        self.schedule_client(node)
    }

    /// Records `info` for the client's open operation (timeout or crash) and moves the client
    /// to a fresh process id.
    pub(super) fn abandon_open_op(&mut self, node: NodeId) -> Result<(), SimError> {
        let Some(slot) = self.nodes[node.index()].client.as_mut() else {
            return Ok(());
        };
        let Some(open) = slot.open.take() else {
            return Ok(());
        };
        let process = slot.process;
        self.stats.ops_info += 1;
        self.next_process(node);
        self.record(node, process, EventType::Info, open.f, open.key, open.value)
    }

    fn next_process(&mut self, node: NodeId) {
        let clients = self
            .workload
            .as_ref()
            .map_or(1, |w| u64::from(w.config().clients));
        self.client_slot(node).process += clients;
    }

    fn client_slot(&mut self, node: NodeId) -> &mut ClientSlot {
        self.nodes[node.index()]
            .client
            .as_mut()
            .expect("client bookkeeping on a client node")
    }

    fn record(
        &mut self,
        node: NodeId,
        process: u64,
        kind: EventType,
        f: OpFn,
        key: u64,
        value: Value,
    ) -> Result<(), SimError> {
        let max = self.config.limits.history_events_max;
        if self.history.len() >= max {
            return Err(self.limit("history_events_max", max as u64));
        }
        let event = HistoryEvent {
            process,
            kind,
            f,
            key: Some(key),
            value,
            time: self.now,
        };
        self.tracer
            .emit(self.now, TraceKind::Client { node, op: &event });
        self.history.push(event);
        Ok(())
    }
}
