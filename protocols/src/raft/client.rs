//! The Raft client: sends each operation to the server it believes leads, follows redirects
//! (leader hints), and retries with exponential back-off on silence. Every attempt of one
//! operation carries the same sequence number, so the cluster applies it at most once.
//!
//! A client only completes an operation with a definite answer: `ok`, or `fail` for a cas the
//! state machine rejected (it took no effect). Anything else — silence, "not leader" after a
//! request that may have reached a leader — leaves the operation open; the engine's timeout
//! then records `info`, because the command may still be applied.

use rand::Rng;
use sim_core::{ClientOp, Ctx, Nanos, NodeId, OpFn, OpId, Outcome, Process, TimerId, Value};

use super::kv::KvReply;
use super::msg::{ClientResult, RaftMsg};

/// Consecutive redirects with a hint followed at once; after that the client backs off between
/// attempts, so two servers with stale hints cannot bounce it around without pause. A retry
/// after silence starts a new run of redirects: one lost reply from the leader must not leave
/// the client waiting out a long back-off while it knows where the leader is.
const REDIRECTS_IMMEDIATE_MAX: u32 = 3;
/// The back-off doubles per attempt up to `2^BACKOFF_DOUBLINGS_MAX` times the base.
const BACKOFF_DOUBLINGS_MAX: u32 = 10;

/// The operation in progress.
#[derive(Debug)]
struct Pending {
    op: OpId,
    seq: u64,
    f: OpFn,
    key: u64,
    value: Value,
}

/// A client node.
#[derive(Debug)]
pub struct RaftClient {
    servers: u32,
    retry_ns: Nanos,
    backoff_ns_max: Nanos,
    /// The server the next attempt goes to.
    target: NodeId,
    current: Option<Pending>,
    attempts: u32,
    /// Redirects followed at once since the last retry after silence.
    redirects: u32,
    retry_timer: Option<TimerId>,
    /// The retry timer is a back-off after a redirect: resend to `target` rather than move on.
    backing_off: bool,
}

impl RaftClient {
    /// A client of a cluster of `servers` servers.
    pub fn new(servers: u32, retry_ns: Nanos, backoff_ns_max: Nanos) -> Self {
        Self {
            servers,
            retry_ns,
            backoff_ns_max,
            target: NodeId(0),
            current: None,
            attempts: 0,
            redirects: 0,
            retry_timer: None,
            backing_off: false,
        }
    }

    fn send(&self, ctx: &mut Ctx<'_, RaftMsg>) {
        if let Some(p) = &self.current {
            let request = RaftMsg::Request {
                seq: p.seq,
                f: p.f,
                key: p.key,
                value: p.value.clone(),
            };
            ctx.send(self.target, request);
        }
    }

    fn arm(&mut self, ctx: &mut Ctx<'_, RaftMsg>, delay_ns: Nanos) {
        if let Some(t) = self.retry_timer.take() {
            ctx.cancel_timer(t);
        }
        self.retry_timer = Some(ctx.set_timer(delay_ns, 0));
    }

    /// Exponential back-off with jitter, capped.
    fn backoff(&self, ctx: &mut Ctx<'_, RaftMsg>) -> Nanos {
        let doublings = self.attempts.min(BACKOFF_DOUBLINGS_MAX);
        let base = self
            .retry_ns
            .saturating_mul(1 << doublings)
            .min(self.backoff_ns_max);
        base + ctx.rng().random_range(0..=self.retry_ns / 2)
    }

    fn next_server(&self, after: NodeId) -> NodeId {
        NodeId((after.0 + 1) % self.servers)
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, RaftMsg>, outcome: Outcome) {
        if let Some(p) = self.current.take() {
            ctx.complete(p.op, outcome);
        }
        if let Some(t) = self.retry_timer.take() {
            ctx.cancel_timer(t);
        }
    }
}

impl Process for RaftClient {
    type Msg = RaftMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        // Spread clients over the servers; redirects find the leader.
        self.target = NodeId(ctx.rng().random_range(0..self.servers));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, RaftMsg>, from: NodeId, msg: RaftMsg) {
        let RaftMsg::Reply { seq, result } = msg else {
            return;
        };
        if self.current.as_ref().is_none_or(|p| p.seq != seq) {
            return; // an answer to an operation already finished or given up
        }
        match result {
            ClientResult::Done(KvReply::Ok(v)) => self.finish(ctx, Outcome::Ok(v)),
            ClientResult::Done(KvReply::CasFailed) => self.finish(ctx, Outcome::Fail),
            ClientResult::NotLeader { hint } => {
                if from != self.target {
                    return; // a late redirect from a server we already left
                }
                self.attempts += 1;
                self.redirects += 1;
                match hint {
                    Some(leader) if leader != from && self.redirects <= REDIRECTS_IMMEDIATE_MAX => {
                        self.target = leader;
                        self.send(ctx);
                        self.arm(ctx, self.retry_ns);
                        self.backing_off = false;
                    }
                    _ => {
                        self.target = match hint {
                            Some(leader) if leader != from => leader,
                            _ => self.next_server(from),
                        };
                        let delay = self.backoff(ctx);
                        self.arm(ctx, delay);
                        self.backing_off = true;
                    }
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, RaftMsg>, timer: TimerId, _tag: u64) {
        if self.retry_timer != Some(timer) || self.current.is_none() {
            return;
        }
        self.retry_timer = None;
        if !std::mem::take(&mut self.backing_off) {
            // Silence: the target may be down or cut off; try the next server.
            self.target = self.next_server(self.target);
        }
        self.attempts += 1;
        self.redirects = 0;
        self.send(ctx);
        let delay = self.backoff(ctx);
        self.arm(ctx, delay);
    }

    fn on_client_op(&mut self, ctx: &mut Ctx<'_, RaftMsg>, op: ClientOp) {
        // Operation ids grow over the run, so they serve as this client's sequence numbers
        // (and stay increasing even if the client were rebuilt).
        self.current = Some(Pending {
            op: op.id,
            seq: op.id.0 + 1,
            f: op.f,
            key: op.key,
            value: op.value,
        });
        self.attempts = 0;
        self.redirects = 0;
        self.backing_off = false;
        self.send(ctx);
        self.arm(ctx, self.retry_ns);
    }

    fn on_client_timeout(&mut self, ctx: &mut Ctx<'_, RaftMsg>, _op: OpId) {
        self.current = None;
        if let Some(t) = self.retry_timer.take() {
            ctx.cancel_timer(t);
        }
    }
}
