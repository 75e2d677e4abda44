//! The Raft server: its state, split into what survives a crash ([`DurableState`]) and what
//! does not, and the event dispatch. The protocol's steps live in sibling modules as further
//! `impl RaftServer` blocks: `election` (§5.2, §5.4.1), `replication` (§5.3), `commit`
//! (§5.4.2 and applying), `snapshot` (§7) and `reads` (client requests, linearizable reads).
//!
//! Durability: every handler ends with one `sync` if it changed durable state. A handler's
//! sends are carried out only after it returns, and a crash cannot interrupt a handler, so
//! every reply that depends on a changed term, vote or log entry leaves after the change is
//! on disk — the paper's "respond to RPCs only after updating stable storage".

use std::cell::RefCell;
use std::rc::Rc;

use rand::Rng;
use sim_core::{Ctx, Nanos, NodeId, Process, TimerId};

use super::election::CandidateState;
use super::kv::KvState;
use super::log::{Command, Entry};
use super::monitor::{Breach, Monitor};
use super::msg::RaftMsg;
use super::options::ServerConfig;
use super::persist::DurableState;
use super::replication::LeaderState;

/// Timer tag of the election timeout.
pub(super) const TIMER_ELECTION: u64 = 1;
/// Timer tag of the leader's heartbeat (a candidate's vote resend).
pub(super) const TIMER_HEARTBEAT: u64 = 2;

/// A server's role and the volatile state that goes with it.
#[derive(Debug)]
pub(super) enum Role {
    Follower,
    Candidate(CandidateState),
    Leader(Box<LeaderState>),
}

/// One Raft server.
#[derive(Debug)]
pub struct RaftServer {
    pub(super) id: NodeId,
    pub(super) config: Rc<ServerConfig>,
    pub(super) monitor: Rc<RefCell<Monitor>>,
    /// currentTerm, votedFor, the log and the snapshot: the only state that survives a crash.
    pub(super) durable: DurableState,
    // Everything below is volatile and rebuilt from `durable` on a restart.
    pub(super) role: Role,
    pub(super) commit_index: u64,
    pub(super) last_applied: u64,
    /// The state machine after applying `..= last_applied`.
    pub(super) kv: KvState,
    /// The leader of the current term, if known.
    pub(super) leader_hint: Option<NodeId>,
    /// Local time of the last message from a current leader (for leader stickiness).
    pub(super) leader_contact_ns: Option<Nanos>,
    /// Local time this server last knew of a leader: heard one, was one, or booted (metrics).
    pub(super) leader_seen_ns: Nanos,
    /// The election timeout fires when the local clock passes this.
    pub(super) election_deadline_ns: Nanos,
    /// The armed election timer and the local deadline it was set for.
    pub(super) election_timer: Option<(TimerId, Nanos)>,
    pub(super) heartbeat_timer: Option<TimerId>,
    pub(super) snapshots_taken: u64,
}

impl RaftServer {
    /// A server of a run that shares `config` and `monitor`; its state comes from storage in
    /// [`Process::on_start`].
    pub fn new(id: NodeId, config: Rc<ServerConfig>, monitor: Rc<RefCell<Monitor>>) -> Self {
        Self {
            id,
            config,
            monitor,
            durable: DurableState::default(),
            role: Role::Follower,
            commit_index: 0,
            last_applied: 0,
            kv: KvState::default(),
            leader_hint: None,
            leader_contact_ns: None,
            leader_seen_ns: 0,
            election_deadline_ns: 0,
            election_timer: None,
            heartbeat_timer: None,
            snapshots_taken: 0,
        }
    }

    /// This server's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The current term.
    pub fn term(&self) -> u64 {
        self.durable.term()
    }

    /// Whether this server believes it is the leader.
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    /// The commit index.
    pub fn commit_index(&self) -> u64 {
        self.commit_index
    }

    /// The index of the last entry applied to the state machine.
    pub fn last_applied(&self) -> u64 {
        self.last_applied
    }

    /// The log.
    pub fn log(&self) -> &super::log::Log {
        self.durable.log()
    }

    /// Snapshots this incarnation took.
    pub fn snapshots_taken(&self) -> u64 {
        self.snapshots_taken
    }

    /// The run's shared monitor.
    pub fn monitor(&self) -> &Rc<RefCell<Monitor>> {
        &self.monitor
    }

    /// Every server's id except this one.
    pub(super) fn peers(&self) -> impl Iterator<Item = NodeId> + use<> {
        let me = self.id;
        (0..self.config.servers)
            .map(NodeId)
            .filter(move |&p| p != me)
    }

    /// Routes a monitor verdict into the run's report.
    pub(super) fn report(ctx: &mut Ctx<'_, RaftMsg>, verdict: Result<(), Breach>) {
        if let Err(b) = verdict {
            ctx.violation(b.check, b.detail);
        }
    }

    /// Moves to `term` (never backwards) with `vote`.
    pub(super) fn set_term(&mut self, ctx: &mut Ctx<'_, RaftMsg>, term: u64, vote: Option<NodeId>) {
        if term < self.durable.term() {
            ctx.violation(
                "term-monotonic",
                format!(
                    "{} moved from term {} back to {term}",
                    self.id,
                    self.durable.term()
                ),
            );
            return;
        }
        self.durable
            .set_term_and_vote(ctx.storage_mut(), term, vote);
    }

    /// Becomes a follower in `term` (adopting it if higher), dropping leader or candidate state.
    pub(super) fn become_follower(&mut self, ctx: &mut Ctx<'_, RaftMsg>, term: u64) {
        if term > self.durable.term() {
            self.set_term(ctx, term, None);
            self.leader_hint = None;
        }
        if self.is_leader() {
            self.leader_seen_ns = ctx.now();
        }
        if let Role::Leader(leader) = std::mem::replace(&mut self.role, Role::Follower) {
            leader.abandon_reads(ctx, self.leader_hint);
        }
        if let Some(t) = self.heartbeat_timer.take() {
            ctx.cancel_timer(t);
        }
        // A candidate keeps its running timeout (Figure 2 resets it only for a current
        // leader's AppendEntries or a granted vote); a leader had none.
        if self.election_timer.is_none() {
            self.reset_election_timer(ctx);
        }
    }

    /// Appends `command` as a new entry of the current term (leaders only); returns its index.
    pub(super) fn append_entry(&mut self, ctx: &mut Ctx<'_, RaftMsg>, command: Command) -> u64 {
        let entry = Entry {
            term: self.durable.term(),
            command,
        };
        let index = self.durable.log().last_index() + 1;
        let prev_term = self.durable.log().last_term();
        self.monitor
            .borrow_mut()
            .entry_created(index, entry.id(), prev_term);
        self.durable.append(ctx.storage_mut(), entry)
    }

    /// Draws a new election timeout and makes sure a timer fires no later than it.
    pub(super) fn reset_election_timer(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let (min, max) = (
            self.config.options.election_timeout_ns_min,
            self.config.options.election_timeout_ns_max,
        );
        // The earliest legal timeout: followers that all pick it split votes far more often.
        let delay = if ctx.buggify("raft/shortest-election-timeout") {
            min
        } else {
            ctx.rng().random_range(min..=max)
        };
        self.election_deadline_ns = ctx.now().saturating_add(delay);
        self.arm_election_timer(ctx);
    }

    fn arm_election_timer(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        // Pushing the deadline later keeps the armed timer (it re-arms when it fires early);
        // only an earlier deadline needs a new timer. This keeps heartbeats from cancelling
        // and setting a timer each.
        if let Some((id, at)) = self.election_timer {
            if at <= self.election_deadline_ns {
                return;
            }
            ctx.cancel_timer(id);
        }
        let delay = self.election_deadline_ns.saturating_sub(ctx.now());
        let id = ctx.set_timer(delay, TIMER_ELECTION);
        self.election_timer = Some((id, self.election_deadline_ns));
    }

    /// Arms the periodic heartbeat (leaders) or vote-resend (candidates) timer.
    pub(super) fn arm_heartbeat(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        if let Some(t) = self.heartbeat_timer.take() {
            ctx.cancel_timer(t);
        }
        self.heartbeat_timer =
            Some(ctx.set_timer(self.config.options.heartbeat_ns, TIMER_HEARTBEAT));
    }

    fn on_election_timer(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        self.election_timer = None;
        if self.is_leader() {
            return;
        }
        if ctx.now() < self.election_deadline_ns {
            self.arm_election_timer(ctx);
        } else {
            self.start_election(ctx);
        }
    }

    fn on_heartbeat_timer(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        self.heartbeat_timer = None;
        match self.role {
            Role::Leader(_) => self.heartbeat(ctx),
            Role::Candidate(_) => {
                self.resend_vote_requests(ctx);
                self.arm_heartbeat(ctx);
            }
            Role::Follower => {}
        }
    }

    /// Syncs whatever the handler changed before its messages leave.
    fn sync(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        if ctx.storage().has_unsynced() {
            ctx.storage_mut().sync();
            let verdict = self
                .monitor
                .borrow_mut()
                .durable_term(self.id, self.durable.term());
            Self::report(ctx, verdict);
        }
    }
}

impl Process for RaftServer {
    type Msg = RaftMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        match DurableState::recover(ctx.storage(), self.config.forget_voted_for) {
            Ok(durable) => self.durable = durable,
            Err(e) => ctx.violation("raft-storage", format!("{}: {e}", self.id)),
        }
        let verdict = self
            .monitor
            .borrow_mut()
            .durable_term(self.id, self.durable.term());
        Self::report(ctx, verdict);
        self.commit_index = self.durable.log().snapshot_index();
        self.last_applied = self.commit_index;
        self.kv = self.durable.snapshot_state().clone();
        self.leader_seen_ns = ctx.now();
        self.role = Role::Follower;
        self.reset_election_timer(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, RaftMsg>, from: NodeId, msg: RaftMsg) {
        match msg {
            RaftMsg::RequestVote {
                term,
                last_log_index,
                last_log_term,
            } => self.on_request_vote(ctx, from, term, last_log_index, last_log_term),
            RaftMsg::Vote { term, granted } => self.on_vote(ctx, from, term, granted),
            RaftMsg::AppendEntries(request) => self.on_append_entries(ctx, from, request),
            RaftMsg::AppendReply {
                term,
                success,
                match_index,
                conflict_index,
                conflict_term,
                round,
            } => {
                if success {
                    self.on_append_success(ctx, from, term, match_index, round);
                } else {
                    self.on_append_failure(ctx, from, term, conflict_index, conflict_term, round);
                }
            }
            RaftMsg::InstallSnapshot {
                term,
                last_index,
                last_term,
                state,
                round,
            } => self.on_install_snapshot(ctx, from, term, (last_index, last_term), state, round),
            RaftMsg::SnapshotReply {
                term,
                last_index,
                round,
            } => self.on_snapshot_reply(ctx, from, term, last_index, round),
            RaftMsg::Request { seq, f, key, value } => {
                self.on_client_request(ctx, from, seq, f, key, value)
            }
            RaftMsg::Reply { .. } => {}
        }
        self.sync(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, RaftMsg>, timer: TimerId, tag: u64) {
        match tag {
            TIMER_ELECTION if self.election_timer.is_some_and(|(id, _)| id == timer) => {
                self.on_election_timer(ctx);
            }
            TIMER_HEARTBEAT if self.heartbeat_timer == Some(timer) => self.on_heartbeat_timer(ctx),
            _ => {}
        }
        self.sync(ctx);
    }
}
