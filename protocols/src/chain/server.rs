//! A chain server: its state (durable replica vs volatile chain role), start-up and recovery,
//! configuration changes and timers. Update processing lives in `replicate`, reads in `reads`.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use sim_core::{Ctx, Nanos, NodeId, Process, Storage, TimerId};

use super::monitor::Monitor;
use super::msg::{ChainMsg, Config, Snapshot, Update};
use super::reads::Reads;
use super::store::{self, Replica};
use super::{Bugs, Timing};

const BOOTS_KEY: &str = "chain/boots";
const TAG_HEARTBEAT: u64 = 0;
const TAG_TICK: u64 = 1;

/// A chain server (replica).
#[derive(Debug)]
pub struct ChainServer {
    pub(super) master: NodeId,
    pub(super) timing: Timing,
    pub(super) bugs: Bugs,
    pub(super) monitor: Rc<RefCell<Monitor>>,
    /// Durable: recovered from storage on every start, written (and synced) as it changes.
    pub(super) replica: Replica,
    /// How many times this server has started (durable counter).
    pub(super) boot: u64,
    /// Volatile: everything below is lost in a crash.
    pub(super) role: Role,
}

/// The volatile part of a server: its place in the chain and the work in progress.
#[derive(Debug, Default)]
pub(super) struct Role {
    /// The installed configuration.
    pub(super) config: Option<Config>,
    /// Updates applied here and not yet known to be at the tail (the paper's `Sent`), in
    /// sequence order, ending at the last applied update. Mirrored on disk (`store::log_put`)
    /// so that a restart does not lose them.
    pub(super) sent: VecDeque<Pending>,
    /// The link to the successor (or to the joining server, for the tail).
    pub(super) link: Option<Link>,
    /// Updates from the predecessor that arrived ahead of a missing one.
    pub(super) buffer: BTreeMap<u64, Update>,
    /// As the joining server: the tail's snapshot is installed.
    pub(super) joined: bool,
    /// As the tail: reads waiting for the handoff or the master's fence.
    pub(super) reads: Reads,
    /// A gap on the incoming link was already reported for this (predecessor, base).
    pub(super) gap_reported: Option<(NodeId, u64)>,
}

/// An update in `Sent`.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) update: Update,
    /// When it was last sent on the current link (local time); `None`: not yet.
    pub(super) sent_ns: Option<Nanos>,
}

/// The outgoing link down the chain.
#[derive(Debug)]
pub(super) struct Link {
    /// The successor or joining server.
    pub(super) to: NodeId,
    /// This link carries every update after `base`.
    pub(super) base: u64,
    /// The epoch in which the link was set up; older acknowledgements are ignored.
    pub(super) since_epoch: u64,
    /// The receiver has everything up to here.
    pub(super) acked: u64,
    /// The receiver's epoch when it last raised `acked`.
    pub(super) acked_epoch: u64,
    /// The tail has everything up to here, as the receiver last said.
    pub(super) stable: u64,
    /// The receiver is the joining server (not yet a member).
    pub(super) joiner: bool,
    /// State transfer to a joining server not yet acknowledged.
    pub(super) snapshot: Option<Box<Snapshot>>,
    /// The receiver is the new tail and has not acknowledged our handoff yet.
    pub(super) handoff_pending: bool,
    /// Last time `acked` moved (local time), for suspecting a silent successor.
    pub(super) progress_ns: Nanos,
}

impl ChainServer {
    /// A server whose master is `master`.
    pub fn new(master: NodeId, timing: Timing, bugs: Bugs, monitor: Rc<RefCell<Monitor>>) -> Self {
        Self {
            master,
            timing,
            bugs,
            monitor,
            replica: Replica::default(),
            boot: 0,
            role: Role::default(),
        }
    }

    /// The durable replica (store, sessions, history position).
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// The installed configuration, if any.
    pub fn config(&self) -> Option<&Config> {
        self.role.config.as_ref()
    }

    /// Number of updates in `Sent`.
    pub fn pending(&self) -> usize {
        self.role.sent.len()
    }

    /// Number of updates buffered ahead of a missing one.
    pub fn buffered(&self) -> usize {
        self.role.buffer.len()
    }

    /// Whether this server is the tail of its installed configuration.
    pub(super) fn is_tail(&self, me: NodeId) -> bool {
        self.role.config.as_ref().is_some_and(|c| c.tail() == me)
    }

    /// Whether this server is the head of its installed configuration.
    pub(super) fn is_head(&self, me: NodeId) -> bool {
        self.role.config.as_ref().is_some_and(|c| c.head() == me)
    }

    /// The epoch installed (0: none).
    pub(super) fn epoch(&self) -> u64 {
        self.role.config.as_ref().map_or(0, |c| c.epoch)
    }

    /// What this server tells its predecessor the end of the chain has: what its successor
    /// (or joining server) said, or its own history at the end of the line. Every server
    /// downstream, the joining one included, holds at least this much, so a predecessor may
    /// drop it from `Sent` whichever downstream server becomes its successor.
    pub(super) fn stable(&self) -> u64 {
        self.role
            .link
            .as_ref()
            .map_or(self.replica.applied(), |l| l.stable)
    }

    /// Installs a configuration from the master.
    fn install(&mut self, ctx: &mut Ctx<'_, ChainMsg>, config: Config, from_seq: Option<u64>) {
        let me = ctx.id();
        if config.epoch <= self.epoch() {
            if config.epoch == self.epoch() {
                let applied = self.replica.applied();
                ctx.send(
                    self.master,
                    ChainMsg::ConfigAck {
                        epoch: config.epoch,
                        applied,
                    },
                );
            }
            return;
        }
        let member = config.position(me).is_some();
        let old = self.role.config.replace(config);
        let config = self.role.config.as_ref().expect("just installed");
        let pred_changed = old.as_ref().and_then(|c| c.predecessor(me)) != config.predecessor(me);
        let still_joining = old.as_ref().is_some_and(|c| c.joining == Some(me))
            && config.joining == Some(me)
            && old.as_ref().map(Config::tail) == Some(config.tail());
        if pred_changed {
            // Updates buffered from a former predecessor may not be in the new one's history.
            self.role.buffer.clear();
        }
        self.role.joined &= still_joining;
        let has_pred = config.predecessor(me).is_some() && member;
        self.role.reads.reset(has_pred);
        let epoch = config.epoch;
        let successor = config.successor(me);
        let joiner = config.joining.filter(|_| config.tail() == me);
        match (member, successor, joiner) {
            (false, _, _) => {
                self.forget_sent(ctx);
                self.role.link = None;
            }
            (true, Some(succ), _) => self.link_to_successor(ctx, succ, from_seq),
            (true, None, Some(j)) => {
                if self
                    .role
                    .link
                    .as_ref()
                    .is_none_or(|l| l.to != j || !l.joiner)
                {
                    self.become_tail(ctx);
                }
                self.link_to_joiner(ctx, j);
            }
            (true, None, None) => {
                self.become_tail(ctx);
                self.role.link = None;
            }
        }
        let applied = self.replica.applied();
        ctx.send(self.master, ChainMsg::ConfigAck { epoch, applied });
        ctx.log(format!("{me}: installed epoch {epoch}"));
        self.reads_may_start(ctx);
    }

    /// Starts (or keeps) the link to a member successor, re-sending what it lacks.
    fn link_to_successor(
        &mut self,
        ctx: &mut Ctx<'_, ChainMsg>,
        succ: NodeId,
        from_seq: Option<u64>,
    ) {
        let me = ctx.id();
        let applied = self.replica.applied();
        let Some(from_seq) = from_seq else {
            ctx.violation(
                "chain-protocol",
                format!("{me} got a configuration with successor {succ} but no from_seq"),
            );
            return;
        };
        let old = self.role.link.take();
        let changed = old.as_ref().is_some_and(|l| l.to != succ);
        // The same successor has at least what it acknowledged while in this epoch or later
        // (earlier, it may since have left the chain and rejoined with a smaller snapshot).
        let epoch = self.epoch();
        let (acked, acked_epoch) = old
            .as_ref()
            .filter(|l| !changed && l.acked_epoch >= epoch && l.acked > from_seq)
            .map_or((from_seq, epoch), |l| (l.acked, l.acked_epoch));
        let stable = old.as_ref().map_or(0, |l| l.stable);
        let from_seq = acked.min(applied);
        let base = if changed && self.bugs.no_resend_on_middle_failure {
            // BUG: assume the new successor has everything we sent the old one.
            applied
        } else {
            from_seq
        };
        let first = self.role.sent.front().map_or(applied + 1, |p| p.update.seq);
        if first > from_seq + 1 {
            ctx.violation(
                "inprocess-requests",
                format!(
                    "{me} must re-send updates after {from_seq} to {succ} but its Sent starts at {first}"
                ),
            );
        }
        let is_tail = self.role.config.as_ref().is_some_and(|c| c.tail() == succ);
        for p in self.role.sent.iter_mut() {
            p.sent_ns = None;
        }
        self.role.link = Some(Link {
            to: succ,
            base,
            since_epoch: self.epoch(),
            acked: base,
            acked_epoch,
            stable,
            joiner: false,
            snapshot: None,
            handoff_pending: is_tail,
            progress_ns: ctx.now(),
        });
        self.send_handoff(ctx);
        self.flush(ctx);
    }

    /// Begins (or continues) the state transfer to the joining server `j`.
    fn link_to_joiner(&mut self, ctx: &mut Ctx<'_, ChainMsg>, j: NodeId) {
        if self
            .role
            .link
            .as_ref()
            .is_some_and(|l| l.to == j && l.joiner)
        {
            return; // the same join, in a later epoch
        }
        let snapshot = Box::new(self.replica.snapshot());
        let base = snapshot.applied;
        self.role.link = Some(Link {
            to: j,
            base,
            since_epoch: self.epoch(),
            acked: base,
            acked_epoch: self.epoch(),
            stable: base,
            joiner: true,
            snapshot: Some(snapshot),
            handoff_pending: false,
            progress_ns: ctx.now(),
        });
        self.send_snapshot(ctx);
    }

    /// This server is now the tail: everything it applied is committed, so it answers the
    /// clients of its pending updates and forgets them.
    fn become_tail(&mut self, ctx: &mut Ctx<'_, ChainMsg>) {
        for p in &self.role.sent {
            let u = &p.update;
            self.answer_update(ctx, u.client, u.req, u.seq, u.result.clone());
        }
        self.forget_sent(ctx);
    }

    /// Empties `Sent`, on disk too.
    fn forget_sent(&mut self, ctx: &mut Ctx<'_, ChainMsg>) {
        for p in std::mem::take(&mut self.role.sent) {
            store::log_delete(ctx.storage_mut(), p.update.seq);
        }
    }

    fn send_snapshot(&self, ctx: &mut Ctx<'_, ChainMsg>) {
        if let Some(link) = &self.role.link
            && let Some(snapshot) = &link.snapshot
        {
            let msg = ChainMsg::Snapshot {
                epoch: self.epoch(),
                snapshot: snapshot.clone(),
            };
            ctx.send(link.to, msg);
        }
    }

    fn send_handoff(&self, ctx: &mut Ctx<'_, ChainMsg>) {
        if let Some(link) = &self.role.link
            && link.handoff_pending
        {
            let msg = ChainMsg::Handoff {
                epoch: self.epoch(),
                applied: self.replica.applied(),
            };
            ctx.send(link.to, msg);
        }
    }

    /// The joining server receives the tail's state.
    fn on_snapshot(
        &mut self,
        ctx: &mut Ctx<'_, ChainMsg>,
        from: NodeId,
        epoch: u64,
        snapshot: &Snapshot,
    ) {
        let me = ctx.id();
        let expected = self
            .role
            .config
            .as_ref()
            .is_some_and(|c| c.epoch == epoch && c.joining == Some(me) && c.tail() == from);
        if !expected {
            return;
        }
        if !self.role.joined {
            self.replica.install(snapshot, ctx.storage_mut());
            ctx.storage_mut().sync();
            self.role.joined = true;
            self.role.buffer.clear();
            self.monitor
                .borrow_mut()
                .reset(me, snapshot.applied, snapshot.digest);
            let applied = self.replica.applied();
            ctx.send(self.master, ChainMsg::Joined { epoch, applied });
        }
        self.ack_upstream(ctx);
    }

    fn on_handoff(&mut self, ctx: &mut Ctx<'_, ChainMsg>, from: NodeId, epoch: u64, applied: u64) {
        let me = ctx.id();
        let from_pred =
            self.role.config.as_ref().is_some_and(|c| {
                c.epoch == epoch && c.tail() == me && c.predecessor(me) == Some(from)
            });
        if from_pred {
            self.role.reads.handoff(applied);
            ctx.send(from, ChainMsg::HandoffAck { epoch });
            self.reads_may_start(ctx);
        }
    }

    /// Periodic work: retransmissions and the silent-successor check.
    fn tick(&mut self, ctx: &mut Ctx<'_, ChainMsg>) {
        // Acknowledgements are cumulative and may be lost: repeat ours.
        self.ack_upstream(ctx);
        self.send_snapshot(ctx);
        self.send_handoff(ctx);
        self.resend_stale(ctx);
        self.resend_fence(ctx);
        let now = ctx.now();
        let epoch = self.epoch();
        let last = self.role.sent.back().map(|p| p.update.seq);
        if let Some(link) = self.role.link.as_mut() {
            let waiting = link.snapshot.is_some() || last.is_some_and(|s| s > link.acked);
            if !waiting {
                link.progress_ns = now;
            } else if now.saturating_sub(link.progress_ns) > self.timing.link_timeout_ns {
                link.progress_ns = now;
                let successor = link.to;
                ctx.send(self.master, ChainMsg::SuspectSuccessor { epoch, successor });
            }
        }
    }
}

impl Process for ChainServer {
    type Msg = ChainMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, ChainMsg>) {
        let me = ctx.id();
        self.boot = boot_count(ctx.storage()) + 1;
        let boot = self.boot.to_string().into_bytes();
        ctx.storage_mut().put(BOOTS_KEY, boot);
        ctx.storage_mut().sync();
        self.role = Role::default();
        let recovered = Replica::recover(ctx.storage()).and_then(|replica| {
            let log = replica.recover_log(ctx.storage())?;
            Ok((replica, log))
        });
        match recovered {
            Ok((replica, log)) => {
                self.replica = replica;
                let pending = log.into_iter().map(|update| Pending {
                    update,
                    sent_ns: None,
                });
                self.role.sent = pending.collect();
            }
            Err(why) => ctx.violation("chain-storage", format!("{me}: {why}")),
        }
        self.monitor
            .borrow_mut()
            .reset(me, self.replica.applied(), self.replica.digest());
        self.heartbeat(ctx);
        ctx.set_timer(self.timing.heartbeat_ns, TAG_HEARTBEAT);
        ctx.set_timer(self.timing.resend_ns, TAG_TICK);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, ChainMsg>, from: NodeId, msg: ChainMsg) {
        match msg {
            ChainMsg::NewConfig { config, from_seq } if from == self.master => {
                self.install(ctx, config, from_seq);
            }
            ChainMsg::Request { req, f, key, value } => {
                self.on_request(ctx, from, req, f, key, value);
            }
            ChainMsg::Forward { base, update, .. } => self.on_forward(ctx, from, base, update),
            ChainMsg::Ack {
                epoch,
                applied,
                stable,
            } => self.on_ack(ctx, from, epoch, applied, stable),
            ChainMsg::Snapshot { epoch, snapshot } => self.on_snapshot(ctx, from, epoch, &snapshot),
            ChainMsg::Handoff { epoch, applied } => self.on_handoff(ctx, from, epoch, applied),
            ChainMsg::HandoffAck { epoch } => {
                if epoch == self.epoch()
                    && let Some(link) = self.role.link.as_mut()
                    && link.to == from
                {
                    link.handoff_pending = false;
                }
            }
            ChainMsg::FenceReply { epoch, round } if from == self.master => {
                self.on_fence_reply(ctx, epoch, round);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, ChainMsg>, _timer: TimerId, tag: u64) {
        match tag {
            TAG_HEARTBEAT => {
                self.heartbeat(ctx);
                ctx.set_timer(self.timing.heartbeat_ns, TAG_HEARTBEAT);
            }
            _ => {
                self.tick(ctx);
                ctx.set_timer(self.timing.resend_ns, TAG_TICK);
            }
        }
    }
}

impl ChainServer {
    fn heartbeat(&self, ctx: &mut Ctx<'_, ChainMsg>) {
        let msg = ChainMsg::Heartbeat {
            epoch: self.role.config.as_ref().map(|c| c.epoch),
            applied: self.replica.applied(),
            boot: self.boot,
            tail_ready: self.is_tail(ctx.id()) && self.reads_ready(),
        };
        ctx.send(self.master, msg);
    }
}

fn boot_count(storage: &Storage) -> u64 {
    storage
        .get(BOOTS_KEY)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
