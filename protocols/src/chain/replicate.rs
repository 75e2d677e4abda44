//! Updates down the chain: the head sequences client updates, every server applies them in
//! order, syncs, and forwards them to its successor; the tail answers the client. Cumulative
//! acknowledgements flow back up so each server can drop its pending (`Sent`) updates.

use sim_core::{Ctx, NodeId, OpFn, Value};

use super::msg::{ChainMsg, Reply, Update};
use super::server::{ChainServer, Pending};
use super::store::{self, Decision};

/// Most updates a server holds in `Sent`; the head accepts no new update beyond it (the
/// client resends later), which bounds every server's `Sent`.
pub const SENT_MAX: usize = 4096;

/// Most updates buffered ahead of a missing one; later arrivals are dropped and resent.
pub const BUFFER_MAX: usize = 1024;

/// Most updates re-sent per tick.
pub const RESEND_BATCH_MAX: usize = 256;

impl ChainServer {
    /// A client request: updates at the head, reads at the tail.
    pub(super) fn on_request(
        &mut self,
        ctx: &mut Ctx<'_, ChainMsg>,
        client: NodeId,
        req: u64,
        f: OpFn,
        key: u64,
        value: Value,
    ) {
        let me = ctx.id();
        if f == OpFn::Read {
            self.on_read(ctx, client, req, key);
            return;
        }
        if !self.is_head(me) {
            return; // the client asks the master and resends to the new head
        }
        let update = match self.replica.decide(client, req, f, key, &value) {
            Decision::Duplicate { seq, result } => {
                // Already in the history: answer only once it is committed (at the tail);
                // until then the tail answers when it applies it.
                if seq <= self.stable() {
                    self.answer_update(ctx, client, req, seq, result);
                }
                return;
            }
            Decision::Stale => return,
            Decision::New { change, result } => Update {
                seq: self.replica.applied() + 1,
                client,
                req,
                key,
                change,
                result,
            },
        };
        if self.role.sent.len() >= SENT_MAX {
            return; // back-pressure: the client resends
        }
        self.apply(ctx, &update);
        ctx.storage_mut().sync();
        self.publish(ctx, update);
        self.reads_may_start(ctx);
    }

    /// An update from the predecessor.
    pub(super) fn on_forward(
        &mut self,
        ctx: &mut Ctx<'_, ChainMsg>,
        from: NodeId,
        base: u64,
        update: Update,
    ) {
        let me = ctx.id();
        let Some(config) = self.role.config.as_ref() else {
            return;
        };
        let member = config.position(me).is_some();
        if config.predecessor(me) != Some(from) || !(member || self.role.joined) {
            return;
        }
        let applied = self.replica.applied();
        if base > applied && self.role.gap_reported != Some((from, base)) {
            self.role.gap_reported = Some((from, base));
            ctx.violation(
                "update-propagation",
                format!(
                    "{me} has applied up to {applied} but its predecessor {from} only sends updates after {base}: \
                     updates {}..={base} would never reach it",
                    applied + 1
                ),
            );
        }
        let seq = update.seq;
        let unordered = self.bugs.tail_reply_unordered && config.tail() == me;
        if seq <= applied {
            // A duplicate: tell the predecessor how far we are, it may have missed our ack.
        } else if seq == applied + 1 || unordered {
            // BUG (tail_reply_unordered): the tail applies and answers whatever arrives, even
            // with an earlier update still missing.
            let mut batch = vec![update];
            let mut next = seq + 1;
            while let Some(u) = self.role.buffer.remove(&next) {
                batch.push(u);
                next += 1;
            }
            for u in &batch {
                self.apply(ctx, u);
            }
            ctx.storage_mut().sync();
            for u in batch {
                self.publish(ctx, u);
            }
            self.reads_may_start(ctx);
        } else if self.role.buffer.len() < BUFFER_MAX {
            self.role.buffer.insert(seq, update);
        }
        self.ack_upstream(ctx);
    }

    /// The receiver of our link acknowledges.
    pub(super) fn on_ack(
        &mut self,
        ctx: &mut Ctx<'_, ChainMsg>,
        from: NodeId,
        epoch: u64,
        applied: u64,
        stable: u64,
    ) {
        let now = ctx.now();
        let Some(link) = self.role.link.as_mut() else {
            return;
        };
        if link.to != from || epoch < link.since_epoch {
            return;
        }
        if applied > link.acked {
            link.acked = applied;
            link.acked_epoch = epoch;
            link.progress_ns = now;
        }
        if link.snapshot.is_some() && applied >= link.base {
            link.snapshot = None;
        }
        let stable_before = self.stable();
        let link = self.role.link.as_mut().expect("checked above");
        link.stable = link.stable.max(stable);
        let prune = link.stable;
        while self
            .role
            .sent
            .front()
            .is_some_and(|p| p.update.seq <= prune)
        {
            if let Some(p) = self.role.sent.pop_front() {
                store::log_delete(ctx.storage_mut(), p.update.seq);
            }
        }
        if self.stable() > stable_before {
            self.ack_upstream(ctx);
        }
        self.flush(ctx);
    }

    /// Applies one update to the replica and storage (unsynced) and reports it to the monitor.
    fn apply(&mut self, ctx: &mut Ctx<'_, ChainMsg>, update: &Update) {
        self.replica.apply(update, ctx.storage_mut());
        if self.role.link.is_some() {
            // It will sit in `Sent`: keep it on disk until the end of the chain has it.
            store::log_put(ctx.storage_mut(), update);
        }
        let me = ctx.id();
        let found = self
            .monitor
            .borrow_mut()
            .applied(me, update.seq, self.replica.digest());
        if let Some(detail) = found {
            ctx.violation("update-propagation", detail);
        }
    }

    /// After the sync: the tail answers the client; every other server (and a tail with a
    /// joining server) keeps the update in `Sent` and forwards it.
    fn publish(&mut self, ctx: &mut Ctx<'_, ChainMsg>, update: Update) {
        let me = ctx.id();
        let tail = self.is_tail(me);
        if self.role.link.is_none() {
            // A tail without a joining server (or the joining server itself): done with it.
            if tail {
                let Update {
                    seq,
                    client,
                    req,
                    result,
                    ..
                } = update;
                self.answer_update(ctx, client, req, seq, result);
            }
            return;
        }
        if tail {
            let result = update.result.clone();
            self.answer_update(ctx, update.client, update.req, update.seq, result);
        }
        self.role.sent.push_back(Pending {
            update,
            sent_ns: None,
        });
        self.monitor.borrow_mut().pending(self.role.sent.len());
        self.flush(ctx);
    }

    /// Answers the client of committed update `seq` (and tells the monitor it was answered).
    pub(super) fn answer_update(
        &self,
        ctx: &mut Ctx<'_, ChainMsg>,
        client: NodeId,
        req: u64,
        seq: u64,
        result: Reply,
    ) {
        self.monitor.borrow_mut().answered(seq);
        ctx.send(client, ChainMsg::Reply { req, result });
    }

    /// Sends every pending update the link has not carried yet.
    pub(super) fn flush(&mut self, ctx: &mut Ctx<'_, ChainMsg>) {
        self.send_pending(ctx, false);
    }

    /// Re-sends pending updates not acknowledged for a while (lost on the way).
    pub(super) fn resend_stale(&mut self, ctx: &mut Ctx<'_, ChainMsg>) {
        self.send_pending(ctx, true);
    }

    fn send_pending(&mut self, ctx: &mut Ctx<'_, ChainMsg>, stale_too: bool) {
        let epoch = self.epoch();
        let now = ctx.now();
        let resend_ns = self.timing.resend_ns;
        let Some(link) = self.role.link.as_ref() else {
            return;
        };
        if link.snapshot.is_some() {
            return;
        }
        let (to, base, acked) = (link.to, link.base, link.acked);
        let mut sent = 0;
        for p in self.role.sent.iter_mut() {
            if p.update.seq <= acked {
                continue;
            }
            let due = match p.sent_ns {
                None => true,
                Some(at) => stale_too && now.saturating_sub(at) >= resend_ns,
            };
            if !due {
                continue;
            }
            if sent == RESEND_BATCH_MAX {
                break;
            }
            sent += 1;
            p.sent_ns = Some(now);
            let update = p.update.clone();
            ctx.send(
                to,
                ChainMsg::Forward {
                    epoch,
                    base,
                    update,
                },
            );
        }
        if sent > 0
            && let Some(detail) = self.monitor.borrow_mut().forwarded(ctx.id())
        {
            ctx.violation("update-propagation", detail);
        }
    }

    /// Tells the predecessor how far this server and the tail are.
    pub(super) fn ack_upstream(&self, ctx: &mut Ctx<'_, ChainMsg>) {
        let me = ctx.id();
        let Some(config) = self.role.config.as_ref() else {
            return;
        };
        if config.position(me).is_none() && !self.role.joined {
            return; // a joining server speaks only once it holds the snapshot
        }
        if let Some(pred) = config.predecessor(me) {
            let msg = ChainMsg::Ack {
                epoch: config.epoch,
                applied: self.replica.applied(),
                stable: self.stable(),
            };
            ctx.send(pred, msg);
        }
    }
}
