//! The client: learns the head and tail from the master, sends updates to the head and reads
//! to the tail, and resends (asking the master again) until answered. Resends reuse the
//! request id, so the chain applies an update at most once. An operation the client cannot
//! settle stays open until the engine times it out (`info`); it is never reported as failed
//! unless the chain said so (a compare-and-set whose expected value did not match).

use sim_core::{ClientOp, Ctx, Nanos, NodeId, OpFn, OpId, Outcome, Process, TimerId};

use super::msg::{ChainMsg, Reply};

/// A chain replication client.
#[derive(Debug)]
pub struct ChainClient {
    master: NodeId,
    resend_ns: Nanos,
    /// The newest configuration heard of: (epoch, head, tail).
    config: Option<(u64, NodeId, NodeId)>,
    /// The open operation and its request.
    current: Option<(OpId, ChainMsg)>,
    resend_timer: Option<TimerId>,
}

impl ChainClient {
    /// A client that asks `master` for the configuration and resends every `resend_ns`.
    pub fn new(master: NodeId, resend_ns: Nanos) -> Self {
        Self {
            master,
            resend_ns,
            config: None,
            current: None,
            resend_timer: None,
        }
    }

    /// Sends the open request to the head (updates) or the tail (reads).
    fn send_current(&self, ctx: &mut Ctx<'_, ChainMsg>) {
        let (Some((_, request)), Some((_, head, tail))) = (&self.current, self.config) else {
            return;
        };
        let to = match request {
            ChainMsg::Request { f: OpFn::Read, .. } => tail,
            _ => head,
        };
        ctx.send(to, request.clone());
    }

    fn stop(&mut self, ctx: &mut Ctx<'_, ChainMsg>) {
        self.current = None;
        if let Some(t) = self.resend_timer.take() {
            ctx.cancel_timer(t);
        }
    }
}

impl Process for ChainClient {
    type Msg = ChainMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, ChainMsg>) {
        ctx.send(self.master, ChainMsg::GetConfig);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, ChainMsg>, _from: NodeId, msg: ChainMsg) {
        match msg {
            ChainMsg::ConfigInfo { epoch, head, tail } => {
                if self.config.is_some_and(|(e, _, _)| e >= epoch) {
                    return;
                }
                let moved = self.config.is_none_or(|(_, h, t)| h != head || t != tail);
                self.config = Some((epoch, head, tail));
                if moved {
                    self.send_current(ctx);
                }
            }
            ChainMsg::Reply { req, result } => {
                let Some((op, _)) = &self.current else { return };
                if op.0 != req {
                    return; // an answer to an operation already given up on
                }
                let op = *op;
                self.stop(ctx);
                let outcome = match result {
                    Reply::Ok(v) => Outcome::Ok(v),
                    Reply::Failed => Outcome::Fail,
                };
                ctx.complete(op, outcome);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, ChainMsg>, timer: TimerId, _tag: u64) {
        if self.resend_timer != Some(timer) || self.current.is_none() {
            return;
        }
        // No answer yet: maybe the chain changed; ask the master and try again.
        ctx.send(self.master, ChainMsg::GetConfig);
        self.send_current(ctx);
        self.resend_timer = Some(ctx.set_timer(self.resend_ns, 0));
    }

    fn on_client_op(&mut self, ctx: &mut Ctx<'_, ChainMsg>, op: ClientOp) {
        let request = ChainMsg::Request {
            req: op.id.0,
            f: op.f,
            key: op.key,
            value: op.value,
        };
        self.current = Some((op.id, request));
        if self.config.is_none() {
            ctx.send(self.master, ChainMsg::GetConfig);
        }
        self.send_current(ctx);
        self.resend_timer = Some(ctx.set_timer(self.resend_ns, 0));
    }

    fn on_client_timeout(&mut self, ctx: &mut Ctx<'_, ChainMsg>, _op: OpId) {
        self.stop(ctx);
    }
}
