//! A gossip member: the process that runs SWIM (`swim`), anti-entropy
//! (`sync`) and serves clients from its local replica. This file holds its state, its
//! start and recovery, the event dispatch and the client requests.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use rand::Rng;
use sim_core::{Ctx, NodeId, OpFn, Process, TimerId, Value};

use super::crdt::{LwwEntry, ReplicaMap};
use super::hlc::{Hlc, HlcClock, Stamp};
use super::monitor::Monitor;
use super::msg::GossipMsg;
use super::options::Params;
use super::piggyback::Piggyback;
use super::probe::ProbeOrder;
use super::store;
use super::view::{MemberUpdate, Status, View};

/// Timer tags. A probe-timeout tag carries the probe's sequence number in its upper bits.
pub(super) const TAG_PERIOD: u64 = 1;
pub(super) const TAG_GOSSIP: u64 = 2;
pub(super) const TAG_PROBE_TIMEOUT: u64 = 3;
pub(super) const TAG_BITS: u32 = 8;

/// A member's state that survives a crash (mirrors what [`store`] has on disk).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DurableState {
    /// This member's incarnation: raised on every restart and every refutation.
    pub incarnation: u32,
}

/// The probe of the current protocol period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Probe {
    pub(super) target: NodeId,
    pub(super) seq: u32,
    pub(super) acked: bool,
}

/// A ping sent on behalf of another member (ping-req), whose ack is to be relayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Relay {
    pub(super) seq: u32,
    pub(super) requester: NodeId,
    pub(super) requester_seq: u32,
}

/// Most ping-reqs a member relays at once; the oldest is forgotten first.
pub(super) const RELAYS_MAX: usize = 64;

/// A gossip member.
#[derive(Debug)]
pub struct Member {
    pub(super) params: Rc<Params>,
    pub(super) monitor: Rc<RefCell<Monitor>>,
    pub(super) me: NodeId,
    pub(super) durable: DurableState,
    // Volatile from here on: rebuilt on a restart.
    pub(super) view: View,
    pub(super) order: ProbeOrder,
    pub(super) piggyback: Piggyback,
    pub(super) probe: Option<Probe>,
    pub(super) next_seq: u32,
    pub(super) relays: Vec<Relay>,
    /// A restarted member asks for the membership until someone answers.
    pub(super) joining: bool,
    pub(super) hlc: HlcClock,
    pub(super) data: ReplicaMap,
    /// Each client's last request applied, so a duplicated request is not applied twice.
    pub(super) sessions: BTreeMap<NodeId, u64>,
}

impl Member {
    /// A member `me` of a cluster described by `params`, reporting to `monitor`.
    pub fn new(me: NodeId, params: Rc<Params>, monitor: Rc<RefCell<Monitor>>) -> Self {
        let members = params.members;
        Self {
            view: View::new(me, members),
            order: ProbeOrder::new(members),
            piggyback: Piggyback::new(params.retransmit_limit, params.piggyback_buffer_max),
            params,
            monitor,
            me,
            durable: DurableState::default(),
            probe: None,
            next_seq: 0,
            relays: Vec::new(),
            joining: false,
            hlc: HlcClock::default(),
            data: ReplicaMap::default(),
            sessions: BTreeMap::new(),
        }
    }

    /// This member's view of `member`.
    pub fn status_of(&self, member: NodeId) -> Status {
        self.view.status(member)
    }

    /// This member's incarnation.
    pub fn incarnation(&self) -> u32 {
        self.durable.incarnation
    }

    /// The local replica.
    pub fn data(&self) -> &ReplicaMap {
        &self.data
    }

    /// The run's shared monitor.
    pub fn monitor(&self) -> &Rc<RefCell<Monitor>> {
        &self.monitor
    }

    pub(super) fn next_seq(&mut self) -> u32 {
        self.next_seq = self.next_seq.wrapping_add(1) & ((1 << (32 - TAG_BITS)) - 1);
        self.next_seq
    }

    /// A random member other than this one that is not dead, avoiding `except`; bounded tries.
    pub(super) fn random_peer(
        &self,
        ctx: &mut Ctx<'_, GossipMsg>,
        except: &[NodeId],
    ) -> Option<NodeId> {
        const TRIES: usize = 32;
        let n = self.view.len();
        (0..TRIES)
            .map(|_| NodeId(ctx.rng().random_range(0..n)))
            .find(|m| self.view.reachable(*m) && !except.contains(m))
    }

    fn recover(&mut self, ctx: &mut Ctx<'_, GossipMsg>) {
        let durable = match store::load(ctx.storage()) {
            Ok(d) => d,
            Err(e) => {
                ctx.violation("gossip-storage", e);
                None
            }
        };
        let restarted = durable.is_some();
        if let Some(d) = durable {
            let mut floor = Hlc::default();
            for (key, entry) in d.writes {
                floor = floor.max(entry.stamp.hlc);
                self.data.put(key, entry);
            }
            for (key, count) in d.counts {
                self.data.raise(key, self.me, count);
            }
            self.hlc = HlcClock::starting_after(floor);
            self.sessions = d.sessions;
            // A new life: a higher incarnation overrides every rumour about the previous one.
            self.durable.incarnation = if self.params.ignore_incarnation {
                d.incarnation
            } else {
                d.incarnation.saturating_add(1)
            };
        }
        store::save_incarnation(ctx, self.durable.incarnation);
        if restarted {
            self.piggyback.push(MemberUpdate {
                member: self.me,
                incarnation: self.durable.incarnation,
                status: Status::Alive,
            });
            self.joining = true;
        }
    }

    fn on_request(
        &mut self,
        ctx: &mut Ctx<'_, GossipMsg>,
        from: NodeId,
        (req, f, key, value, seen): (u64, OpFn, u64, Value, Hlc),
    ) {
        let now = ctx.now();
        self.hlc.observe(seen, now);
        if matches!(f, OpFn::Write | OpFn::Append) {
            // Requests of one client come in order; one not newer than the last applied is a
            // duplicate from the network, and applying it again would count an increment
            // twice or re-stamp an old write after newer ones.
            if self.sessions.get(&from).is_some_and(|last| *last >= req) {
                return;
            }
            self.sessions.insert(from, req);
            store::save_session(ctx, from, req);
        }
        let (result, hlc) = match f {
            OpFn::Write => {
                let stamp = if self.params.wall_clock_lww {
                    Stamp {
                        hlc: Hlc {
                            wall_ns: now,
                            logical: 0,
                        },
                        node: self.me,
                    }
                } else {
                    Stamp {
                        hlc: self.hlc.tick(now),
                        node: self.me,
                    }
                };
                let entry = LwwEntry {
                    stamp,
                    value: value.clone(),
                };
                let won = self.data.put(key, entry.clone());
                if won {
                    store::save_write(ctx, key, &entry);
                } else {
                    ctx.storage_mut().sync(); // the session record
                }
                self.monitor
                    .borrow_mut()
                    .write_applied(&value, key, stamp, self.me, won);
                (Some(value), stamp.hlc)
            }
            OpFn::Append => {
                let count = self.data.increment(key, self.me);
                store::save_count(ctx, key, count);
                self.monitor
                    .borrow_mut()
                    .increment_applied(&value, key, self.me);
                (Some(value), self.hlc.last())
            }
            OpFn::Read => {
                let state = self.data.get(key);
                let register = state
                    .and_then(|s| s.lww.as_ref())
                    .map_or(Value::Nil, |e| e.value.clone());
                let total = state.map_or(0, |s| s.counter.total());
                let total = Value::Int(i64::try_from(total).unwrap_or(i64::MAX));
                (Some(Value::List(vec![register, total])), self.hlc.last())
            }
            // Compare-and-set has no meaning over a CRDT; the member refuses it (it certainly
            // did not happen, so the client may answer `fail`).
            OpFn::Cas => (None, self.hlc.last()),
        };
        ctx.send(from, GossipMsg::Reply { req, result, hlc });
    }
}

impl Process for Member {
    type Msg = GossipMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, GossipMsg>) {
        self.monitor.borrow_mut().started(self.me);
        self.recover(ctx);
        // Random phases, so members do not probe and gossip in lockstep.
        let period = self.params.period_ns;
        let gossip = self.params.gossip_interval_ns;
        let first_period = ctx.rng().random_range(1..=period);
        let first_gossip = ctx.rng().random_range(1..=gossip);
        ctx.set_timer(first_period, TAG_PERIOD);
        ctx.set_timer(first_gossip, TAG_GOSSIP);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, GossipMsg>, from: NodeId, msg: GossipMsg) {
        self.monitor.borrow_mut().active(self.me);
        match msg {
            GossipMsg::Ping { seq, updates } => self.on_ping(ctx, from, seq, updates),
            GossipMsg::Ack { seq, updates } => self.on_ack(ctx, seq, updates),
            GossipMsg::PingReq {
                seq,
                target,
                updates,
            } => self.on_ping_req(ctx, from, seq, target, updates),
            GossipMsg::Join => self.on_join(ctx, from),
            GossipMsg::JoinReply { updates } => {
                self.joining = false;
                self.learn_all(ctx, updates);
            }
            GossipMsg::SyncRoot { mode, root } => self.on_sync_root(ctx, from, mode, root),
            GossipMsg::SyncDigest { mode, digest } => self.on_sync_digest(ctx, from, mode, &digest),
            GossipMsg::SyncReply { deltas, want } => self.on_sync_reply(ctx, from, deltas, &want),
            GossipMsg::SyncDeltas { deltas } => self.merge(ctx, deltas),
            GossipMsg::Request {
                req,
                f,
                key,
                value,
                seen,
            } => self.on_request(ctx, from, (req, f, key, value, seen)),
            GossipMsg::Reply { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, GossipMsg>, _timer: TimerId, tag: u64) {
        self.monitor.borrow_mut().active(self.me);
        match tag & ((1 << TAG_BITS) - 1) {
            TAG_PERIOD => {
                self.on_period(ctx);
                ctx.set_timer(self.params.period_ns, TAG_PERIOD);
            }
            TAG_GOSSIP => {
                self.on_gossip_round(ctx);
                ctx.set_timer(self.params.gossip_interval_ns, TAG_GOSSIP);
            }
            TAG_PROBE_TIMEOUT => self.on_probe_timeout(ctx, (tag >> TAG_BITS) as u32),
            _ => {}
        }
    }
}
