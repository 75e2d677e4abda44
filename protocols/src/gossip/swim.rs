//! SWIM failure detection and membership dissemination (Das, Gupta & Motivala, DSN 2002):
//! every protocol period a member probes the next member of its round-robin order with a
//! ping; without an ack within the ping timeout it asks k others to probe (ping-req) and
//! relays their acks; without any ack by the end of the period the target becomes *suspect*.
//! A suspect that does not refute (alive with a higher incarnation) within the suspicion
//! timeout is confirmed *dead*. All updates ride on protocol messages (the piggyback buffer).
//!
//! Two additions for crash-recovery, both as in HashiCorp's memberlist: a member told that it
//! is suspected *or dead* refutes (a paused member comes back this way), and a member that
//! restarts asks one member for the entries it missed (`Join`), since the updates about them
//! may no longer be circulating.

use rand::Rng;
use sim_core::{Ctx, NodeId};

use super::member::{Member, Probe, RELAYS_MAX, Relay, TAG_BITS, TAG_PROBE_TIMEOUT};
use super::msg::GossipMsg;
use super::view::{Change, INCARNATION_MAX, MemberUpdate, Status};

impl Member {
    /// The end of one protocol period and the start of the next.
    pub(super) fn on_period(&mut self, ctx: &mut Ctx<'_, GossipMsg>) {
        if let Some(probe) = self.probe.take()
            && !probe.acked
            && self.view.status(probe.target) == Status::Alive
        {
            let suspicion = MemberUpdate {
                member: probe.target,
                incarnation: self.view.incarnation(probe.target),
                status: Status::Suspect,
            };
            self.learn(ctx, suspicion);
        }
        let now = ctx.now();
        for confirm in self.view.expired_suspicions(now) {
            self.learn(ctx, confirm);
        }
        self.start_probe(ctx);
        self.probe_the_dead(ctx);
        if self.joining
            && let Some(peer) = self.random_peer(ctx, &[])
        {
            self.send_membership(ctx, peer, GossipMsg::Join);
        }
    }

    /// Pings the next member of the round-robin order that is not dead (at most one pass).
    fn start_probe(&mut self, ctx: &mut Ctx<'_, GossipMsg>) {
        let n = self.view.len();
        let mut target = None;
        for _ in 0..n {
            let candidate = NodeId(self.order.next(ctx.rng()));
            if self.view.reachable(candidate) {
                target = Some(candidate);
                break;
            }
        }
        let Some(target) = target else { return };
        let seq = self.next_seq();
        let updates = self.outgoing(target);
        self.send_membership(ctx, target, GossipMsg::Ping { seq, updates });
        self.probe = Some(Probe {
            target,
            seq,
            acked: false,
        });
        let tag = TAG_PROBE_TIMEOUT | (u64::from(seq) << TAG_BITS);
        ctx.set_timer(self.params.ping_timeout_ns, tag);
    }

    /// Pings one random member per period if it is held dead (memberlist's "gossip to the
    /// dead"): a member wrongly declared dead — cut off by a partition, or paused — learns it
    /// from the piggybacked `dead` and refutes, and its ack brings the refutation back.
    /// Without this, the two sides of a healed partition would hold each other dead for ever.
    fn probe_the_dead(&mut self, ctx: &mut Ctx<'_, GossipMsg>) {
        let n = self.view.len();
        let candidate = NodeId(ctx.rng().random_range(0..n));
        if candidate == self.me || self.view.status(candidate) != Status::Dead {
            return;
        }
        let seq = self.next_seq();
        let updates = self.outgoing(candidate);
        self.send_membership(ctx, candidate, GossipMsg::Ping { seq, updates });
    }

    /// No direct ack yet: ask k random members to probe the target.
    pub(super) fn on_probe_timeout(&mut self, ctx: &mut Ctx<'_, GossipMsg>, seq: u32) {
        let Some(probe) = self.probe.filter(|p| p.seq == seq && !p.acked) else {
            return;
        };
        let mut asked = vec![probe.target];
        for _ in 0..self.params.indirect_probes {
            let Some(peer) = self.random_peer(ctx, &asked) else {
                break;
            };
            asked.push(peer);
            let updates = self.outgoing(peer);
            let msg = GossipMsg::PingReq {
                seq,
                target: probe.target,
                updates,
            };
            self.send_membership(ctx, peer, msg);
        }
    }

    pub(super) fn on_ping(
        &mut self,
        ctx: &mut Ctx<'_, GossipMsg>,
        from: NodeId,
        seq: u32,
        updates: Vec<MemberUpdate>,
    ) {
        self.learn_all(ctx, updates);
        let updates = self.outgoing(from);
        self.send_membership(ctx, from, GossipMsg::Ack { seq, updates });
    }

    pub(super) fn on_ack(
        &mut self,
        ctx: &mut Ctx<'_, GossipMsg>,
        seq: u32,
        updates: Vec<MemberUpdate>,
    ) {
        self.learn_all(ctx, updates);
        if let Some(probe) = self.probe.as_mut()
            && probe.seq == seq
        {
            probe.acked = true;
            return;
        }
        if let Some(i) = self.relays.iter().position(|r| r.seq == seq) {
            let relay = self.relays.swap_remove(i);
            let updates = self.outgoing(relay.requester);
            let ack = GossipMsg::Ack {
                seq: relay.requester_seq,
                updates,
            };
            self.send_membership(ctx, relay.requester, ack);
        }
    }

    pub(super) fn on_ping_req(
        &mut self,
        ctx: &mut Ctx<'_, GossipMsg>,
        from: NodeId,
        requester_seq: u32,
        target: NodeId,
        updates: Vec<MemberUpdate>,
    ) {
        self.learn_all(ctx, updates);
        if target.index() >= self.view.len() as usize || target == self.me {
            return;
        }
        let seq = self.next_seq();
        if self.relays.len() >= RELAYS_MAX {
            self.relays.remove(0);
        }
        self.relays.push(Relay {
            seq,
            requester: from,
            requester_seq,
        });
        let updates = self.outgoing(target);
        self.send_membership(ctx, target, GossipMsg::Ping { seq, updates });
    }

    pub(super) fn on_join(&mut self, ctx: &mut Ctx<'_, GossipMsg>, from: NodeId) {
        let mut updates = self.view.non_initial();
        updates.push(MemberUpdate {
            member: self.me,
            incarnation: self.durable.incarnation,
            status: Status::Alive,
        });
        self.send_membership(ctx, from, GossipMsg::JoinReply { updates });
    }

    pub(super) fn learn_all(&mut self, ctx: &mut Ctx<'_, GossipMsg>, updates: Vec<MemberUpdate>) {
        for update in updates {
            self.learn(ctx, update);
        }
    }

    /// Applies one membership update: about this member, it may call for a refutation; about
    /// another, it may change the view, and then it is disseminated further.
    pub(super) fn learn(&mut self, ctx: &mut Ctx<'_, GossipMsg>, update: MemberUpdate) {
        if update.member == self.me {
            self.refute(ctx, update);
            return;
        }
        let now = ctx.now();
        let until = now.saturating_add(self.params.suspicion_ns);
        let change = self
            .view
            .apply(update, self.params.ignore_incarnation, until);
        let Change::Changed { from } = change else {
            return;
        };
        ctx.log(format!(
            "{} {:?} at incarnation {} (was {from:?})",
            update.member, update.status, update.incarnation
        ));
        self.piggyback.push(update);
        let mut monitor = self.monitor.borrow_mut();
        match update.status {
            Status::Suspect => monitor.suspected(update.member, now),
            Status::Dead => {
                let incarnation = self.view.incarnation(update.member);
                monitor.declared_dead(update.member, incarnation, self.me, now)
            }
            Status::Alive => {}
        }
    }

    /// Someone believes this member suspect or dead: announce alive with a higher incarnation
    /// (SWIM §4.2). With `ignore_incarnation` the member announces alive at the same
    /// incarnation, which nobody holding the suspicion will accept.
    fn refute(&mut self, ctx: &mut Ctx<'_, GossipMsg>, update: MemberUpdate) {
        if update.status == Status::Alive {
            return;
        }
        if !self.params.ignore_incarnation {
            if update.incarnation < self.durable.incarnation {
                return; // about an earlier incarnation: already refuted
            }
            if update.incarnation >= INCARNATION_MAX {
                ctx.violation(
                    "gossip-incarnation-bound",
                    format!(
                        "{} cannot refute beyond incarnation {INCARNATION_MAX}",
                        self.me
                    ),
                );
                return;
            }
            self.durable.incarnation = update.incarnation + 1;
            super::store::save_incarnation(ctx, self.durable.incarnation);
        }
        self.piggyback.push(MemberUpdate {
            member: self.me,
            incarnation: self.durable.incarnation,
            status: Status::Alive,
        });
    }

    /// The updates to piggyback on a message to `to`. If this member holds `to` for suspect
    /// or dead, that goes first, so `to` learns it and can refute.
    pub(super) fn outgoing(&mut self, to: NodeId) -> Vec<MemberUpdate> {
        let mut updates = self.piggyback.take(self.params.piggyback_max);
        if self.view.status(to) != Status::Alive && !updates.iter().any(|u| u.member == to) {
            updates.insert(0, self.view.update_for(to));
            updates.truncate(self.params.piggyback_max);
        }
        updates
    }

    pub(super) fn send_membership(
        &mut self,
        ctx: &mut Ctx<'_, GossipMsg>,
        to: NodeId,
        msg: GossipMsg,
    ) {
        self.monitor.borrow_mut().membership_sent();
        ctx.send(to, msg);
    }
}
