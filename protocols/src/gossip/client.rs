//! A client: sends each operation to a member chosen at random and completes it as soon as
//! that member answers (gossip has no coordinator; any member serves). It carries its causal
//! context — the largest HLC timestamp it has been told — in every request, so a write it
//! issues after seeing another is stamped after it. It never resends: an unanswered operation
//! times out in the engine and is recorded as `info` (an increment must not be applied twice).

use rand::Rng;
use sim_core::{ClientOp, Ctx, NodeId, OpId, Outcome, Process, TimerId};

use super::hlc::Hlc;
use super::msg::GossipMsg;

/// A gossip client.
#[derive(Debug)]
pub struct GossipClient {
    members: u32,
    seen: Hlc,
    current: Option<OpId>,
}

impl GossipClient {
    /// A client of a cluster of `members` members (`NodeId(0..members)`).
    pub fn new(members: u32) -> Self {
        Self {
            members,
            seen: Hlc::default(),
            current: None,
        }
    }
}

impl Process for GossipClient {
    type Msg = GossipMsg;

    fn on_start(&mut self, _ctx: &mut Ctx<'_, GossipMsg>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, GossipMsg>, _from: NodeId, msg: GossipMsg) {
        let GossipMsg::Reply { req, result, hlc } = msg else {
            return;
        };
        self.seen = self.seen.max(hlc);
        if self.current != Some(OpId(req)) {
            return; // an answer to an operation that already timed out
        }
        self.current = None;
        let outcome = match result {
            Some(value) => Outcome::Ok(value),
            None => Outcome::Fail,
        };
        ctx.complete(OpId(req), outcome);
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<'_, GossipMsg>, _timer: TimerId, _tag: u64) {}

    fn on_client_op(&mut self, ctx: &mut Ctx<'_, GossipMsg>, op: ClientOp) {
        let member = NodeId(ctx.rng().random_range(0..self.members));
        let request = GossipMsg::Request {
            req: op.id.0,
            f: op.f,
            key: op.key,
            value: op.value,
            seen: self.seen,
        };
        ctx.send(member, request);
        self.current = Some(op.id);
    }

    fn on_client_timeout(&mut self, _ctx: &mut Ctx<'_, GossipMsg>, _op: OpId) {
        self.current = None;
    }
}
