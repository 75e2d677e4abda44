//! Leader election (§5.2) with the election restriction (§5.4.1) and, unless switched off,
//! leader stickiness (Ongaro's thesis §4.2.3): a server that heard from a current leader within the minimum
//! election timeout neither grants a vote nor adopts the candidate's term. Stickiness keeps a
//! rejoining server from deposing a healthy leader, and it is what makes leases sound: no new
//! leader can be elected until a majority has not heard from the old one for that long.

use sim_core::{Ctx, NodeId};

use super::log::Command;
use super::msg::RaftMsg;
use super::replication::LeaderState;
use super::server::{RaftServer, Role};

/// A candidate's tally.
#[derive(Debug)]
pub(crate) struct CandidateState {
    /// `granted[i]`: server `i` voted for us in this term.
    granted: Vec<bool>,
}

impl CandidateState {
    fn new(servers: u32, me: NodeId) -> Self {
        let mut granted = vec![false; servers as usize];
        granted[me.index()] = true;
        Self { granted }
    }

    fn votes(&self) -> usize {
        self.granted.iter().filter(|g| **g).count()
    }
}

impl RaftServer {
    /// The election timeout passed: become a candidate of the next term and ask for votes.
    pub(super) fn start_election(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let term = self.durable.term() + 1;
        self.set_term(ctx, term, Some(self.id));
        self.role = Role::Candidate(CandidateState::new(self.config.servers, self.id));
        self.leader_hint = None;
        self.reset_election_timer(ctx);
        if self.config.majority() == 1 {
            self.become_leader(ctx);
            return;
        }
        self.resend_vote_requests(ctx);
        self.arm_heartbeat(ctx);
    }

    /// Asks every server that has not voted for us yet (RPCs are retried while the election runs).
    pub(super) fn resend_vote_requests(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let Role::Candidate(c) = &self.role else {
            return;
        };
        let log = self.durable.log();
        let msg = RaftMsg::RequestVote {
            term: self.durable.term(),
            last_log_index: log.last_index(),
            last_log_term: log.last_term(),
        };
        for peer in self.peers() {
            if !c.granted[peer.index()] {
                ctx.send(peer, msg.clone());
            }
        }
    }

    /// Whether a current leader is known to be alive: this server leads, or heard from the
    /// leader less than the minimum election timeout ago.
    fn leader_is_fresh(&self, ctx: &Ctx<'_, RaftMsg>) -> bool {
        if !self.config.options.leader_stickiness {
            return false;
        }
        match self.role {
            Role::Leader(_) => true,
            Role::Candidate(_) => false,
            Role::Follower => self.leader_contact_ns.is_some_and(|t| {
                ctx.now() < t.saturating_add(self.config.options.election_timeout_ns_min)
            }),
        }
    }

    pub(super) fn on_request_vote(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        candidate: NodeId,
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
    ) {
        if term > self.durable.term() && !self.leader_is_fresh(ctx) {
            self.become_follower(ctx, term);
        }
        let current = self.durable.term();
        let granted = term == current
            && !self.leader_is_fresh(ctx)
            && self.durable.voted_for().is_none_or(|v| v == candidate)
            && self
                .durable
                .log()
                .candidate_is_up_to_date(last_log_index, last_log_term);
        if granted {
            self.set_term(ctx, current, Some(candidate));
            self.reset_election_timer(ctx);
        }
        ctx.send(
            candidate,
            RaftMsg::Vote {
                term: current,
                granted,
            },
        );
    }

    pub(super) fn on_vote(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        voter: NodeId,
        term: u64,
        granted: bool,
    ) {
        if term > self.durable.term() {
            self.become_follower(ctx, term);
            return;
        }
        let Role::Candidate(c) = &mut self.role else {
            return;
        };
        if term == self.durable.term() && granted {
            c.granted[voter.index()] = true;
            if c.votes() >= self.config.majority() {
                self.become_leader(ctx);
            }
        }
    }

    /// Won the election: check the invariants, append a no-op of the new term and assert
    /// leadership with a first round of AppendEntries.
    fn become_leader(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let term = self.durable.term();
        let verdict = self.monitor.borrow_mut().leader_elected(
            self.id,
            term,
            self.durable.log(),
            ctx.now(),
            self.leader_seen_ns,
        );
        Self::report(ctx, verdict);
        ctx.log(format!("{} leads term {term}", self.id));
        let next = self.durable.log().last_index() + 1;
        self.role = Role::Leader(Box::new(LeaderState::new(
            self.config.servers,
            next,
            ctx.now(),
        )));
        self.leader_hint = Some(self.id);
        let noop_index = self.append_entry(ctx, Command::Noop);
        if let Role::Leader(l) = &mut self.role {
            l.noop_index = noop_index;
        }
        self.broadcast(ctx);
        self.arm_heartbeat(ctx);
        self.advance_commit(ctx);
    }
}
