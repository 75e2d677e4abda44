//! Reads at the tail. The paper's tail answers queries from its own state; here two fences
//! make that safe when the master suspects servers that are merely slow (pauses, partitions):
//!
//! - **Handoff**: a new tail answers reads only once it has applied everything its
//!   predecessor had when the predecessor installed the epoch. The master extends the chain
//!   only behind a tail that holds every answered update, so the predecessor of a tail always
//!   does, and the new tail then has every update an earlier tail may have answered.
//! - **Master fence**: a read is answered only after the master confirms, in a round trip
//!   that began after the read arrived, that the tail's epoch is still current. A tail that
//!   was removed without knowing it therefore never answers with a stale value.
//!
//! The value is taken when the read arrives (its linearization point); the fence only
//! decides whether it may be released. When it is released, the shared monitor checks the
//! *read completeness* invariant: the value included every update answered to any client by
//! the time it was taken.

use sim_core::{Ctx, Nanos, NodeId, Value};

use super::msg::{ChainMsg, Reply};
use super::server::ChainServer;

/// Most reads a tail holds at once; more are dropped (the client resends).
pub const READS_PENDING_MAX: usize = 1024;

/// The tail's reads in progress.
#[derive(Debug, Default)]
pub struct Reads {
    /// The predecessor's position at the handoff (`Some(0)` with no predecessor).
    handoff: Option<u64>,
    /// Reads waiting for the handoff: (client, request, key).
    blocked: Vec<(NodeId, u64, u64)>,
    /// The fence in flight: its round and when it was sent (local time).
    fence: Option<(u64, Nanos)>,
    /// Last fence round used.
    round: u64,
    /// Reads the fence in flight covers, with their values.
    covered: Vec<Admitted>,
    /// Reads that arrived after the fence in flight was sent; they wait for the next one.
    next: Vec<Admitted>,
}

/// A read whose value has been taken.
#[derive(Debug)]
struct Admitted {
    client: NodeId,
    req: u64,
    value: Value,
    /// The tail's last applied update when the value was taken.
    applied: u64,
    /// The largest update any server had answered by then: the value must include it.
    answered: u64,
}

impl Reads {
    /// A new epoch: drop every read in progress (clients resend); a tail with a predecessor
    /// waits for its handoff again.
    pub fn reset(&mut self, has_predecessor: bool) {
        let round = self.round;
        *self = Reads {
            handoff: (!has_predecessor).then_some(0),
            round,
            ..Reads::default()
        };
    }

    /// The predecessor handed off at `applied`.
    pub fn handoff(&mut self, applied: u64) {
        self.handoff = Some(self.handoff.map_or(applied, |h| h.max(applied)));
    }

    fn len(&self) -> usize {
        self.blocked.len() + self.covered.len() + self.next.len()
    }
}

impl ChainServer {
    /// A read arrives.
    pub(super) fn on_read(
        &mut self,
        ctx: &mut Ctx<'_, ChainMsg>,
        client: NodeId,
        req: u64,
        key: u64,
    ) {
        if !self.is_tail(ctx.id()) || self.role.reads.len() >= READS_PENDING_MAX {
            return;
        }
        if self.reads_ready() {
            self.admit(ctx, client, req, key);
        } else {
            self.role.reads.blocked.push((client, req, key));
        }
    }

    /// After applying updates or a handoff: release blocked reads if the tail is ready now.
    pub(super) fn reads_may_start(&mut self, ctx: &mut Ctx<'_, ChainMsg>) {
        if self.role.reads.blocked.is_empty() || !self.reads_ready() {
            return;
        }
        for (client, req, key) in std::mem::take(&mut self.role.reads.blocked) {
            self.admit(ctx, client, req, key);
        }
    }

    /// The master's answer to a fence.
    pub(super) fn on_fence_reply(&mut self, ctx: &mut Ctx<'_, ChainMsg>, epoch: u64, round: u64) {
        let reads = &mut self.role.reads;
        if reads.fence.is_none_or(|(r, _)| r != round) {
            return;
        }
        reads.fence = None;
        let covered = std::mem::take(&mut reads.covered);
        if epoch == self.epoch() {
            for read in covered {
                self.answer(ctx, read);
            }
        }
        // Otherwise we are no longer the tail: drop them; the clients resend elsewhere.
        if !self.role.reads.next.is_empty() {
            let reads = &mut self.role.reads;
            reads.covered = std::mem::take(&mut reads.next);
            self.send_fence(ctx);
        }
    }

    /// Re-sends a fence the master has not answered for a while (lost on the way).
    pub(super) fn resend_fence(&mut self, ctx: &mut Ctx<'_, ChainMsg>) {
        if let Some((round, at)) = self.role.reads.fence
            && ctx.now().saturating_sub(at) >= self.timing.resend_ns
        {
            self.role.reads.fence = Some((round, ctx.now()));
            let epoch = self.epoch();
            ctx.send(self.master, ChainMsg::ReadFence { epoch, round });
        }
    }

    /// Whether this tail has its handoff and has applied that far.
    pub(super) fn reads_ready(&self) -> bool {
        self.role
            .reads
            .handoff
            .is_some_and(|h| self.replica.applied() >= h)
    }

    /// Takes the read's value now and waits for a fence sent after this moment.
    fn admit(&mut self, ctx: &mut Ctx<'_, ChainMsg>, client: NodeId, req: u64, key: u64) {
        let read = Admitted {
            client,
            req,
            value: self.replica.value(key).clone(),
            applied: self.replica.applied(),
            answered: self.monitor.borrow().answered_max(),
        };
        if self.bugs.unfenced_reads {
            // BUG: answer from our own state, trusting that we are still the tail.
            self.answer(ctx, read);
            return;
        }
        let reads = &mut self.role.reads;
        if reads.fence.is_some() {
            reads.next.push(read);
        } else {
            reads.covered.push(read);
            self.send_fence(ctx);
        }
    }

    /// Answers a read, checking first that its value missed no answered update.
    fn answer(&mut self, ctx: &mut Ctx<'_, ChainMsg>, read: Admitted) {
        if read.applied < read.answered {
            let me = ctx.id();
            ctx.violation(
                "read-completeness",
                format!(
                    "{me} answers a read from its state after update {} although update {} \
                     had already been answered",
                    read.applied, read.answered
                ),
            );
        }
        let result = Reply::Ok(read.value);
        ctx.send(
            read.client,
            ChainMsg::Reply {
                req: read.req,
                result,
            },
        );
    }

    fn send_fence(&mut self, ctx: &mut Ctx<'_, ChainMsg>) {
        let epoch = self.epoch();
        let reads = &mut self.role.reads;
        reads.round += 1;
        reads.fence = Some((reads.round, ctx.now()));
        let round = reads.round;
        ctx.send(self.master, ChainMsg::ReadFence { epoch, round });
    }
}
