//! Log replication (§5.3): the leader's AppendEntries with the consistency check, the
//! follower's conflict truncation, and the fast back-off hints (conflict term and index, §5.3's
//! optimisation). Committing and applying live in `commit`, snapshots in `snapshot`.

use sim_core::{Ctx, NodeId};

use super::log::Entry;
use super::msg::{AppendEntries, RaftMsg};
use super::server::{RaftServer, Role};

pub(crate) use super::leader::LeaderState;

impl RaftServer {
    /// The heartbeat timer fired: step down if no majority answered for a whole maximum
    /// election timeout (check quorum, thesis §6.2), else start a round to every follower.
    pub(super) fn heartbeat(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let Role::Leader(l) = &self.role else { return };
        let deadline = l
            .quorum_contact_ns
            .saturating_add(self.config.options.election_timeout_ns_max);
        if self.config.majority() > 1 && ctx.now() > deadline {
            ctx.log(format!("{} lost its quorum, steps down", self.id));
            let term = self.durable.term();
            self.become_follower(ctx, term);
            return;
        }
        self.broadcast(ctx);
        self.arm_heartbeat(ctx);
    }

    /// Starts a new round: AppendEntries (or a snapshot) to every other server.
    pub(super) fn broadcast(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        l.start_round(ctx.now());
        for peer in self.peers() {
            self.send_append(ctx, peer);
        }
    }

    /// Sends `peer` the entries from its nextIndex (bounded), or the snapshot if those
    /// entries are compacted away.
    pub(super) fn send_append(&mut self, ctx: &mut Ctx<'_, RaftMsg>, peer: NodeId) {
        let Role::Leader(l) = &self.role else { return };
        let log = self.durable.log();
        let term = self.durable.term();
        let next = l.next[peer.index()];
        if next <= log.snapshot_index() {
            let msg = RaftMsg::InstallSnapshot {
                term,
                last_index: log.snapshot_index(),
                last_term: log.snapshot_term(),
                state: self.durable.snapshot_state().clone(),
                round: l.round,
            };
            ctx.send(peer, msg);
            return;
        }
        let prev_index = next - 1;
        let prev_term = log.term_at(prev_index).unwrap_or(0);
        let entries = log
            .slice(next, self.config.options.append_entries_max)
            .to_vec();
        let request = AppendEntries {
            term,
            prev_index,
            prev_term,
            entries,
            leader_commit: self.commit_index,
            round: l.round,
        };
        ctx.send(peer, RaftMsg::AppendEntries(request));
    }

    /// A message from the leader of `term` arrived: recognise it (adopting the term) and
    /// restart the election timeout. Returns false if the sender's term is stale.
    pub(super) fn accept_leader(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        leader: NodeId,
        term: u64,
    ) -> bool {
        if term < self.durable.term() {
            return false;
        }
        if term > self.durable.term() || !matches!(self.role, Role::Follower) {
            if self.is_leader() && term == self.durable.term() {
                ctx.violation(
                    "election-safety",
                    format!(
                        "{} leads term {term} but {leader} sent AppendEntries in it",
                        self.id
                    ),
                );
            }
            self.become_follower(ctx, term);
        }
        self.leader_hint = Some(leader);
        self.leader_contact_ns = Some(ctx.now());
        self.leader_seen_ns = ctx.now();
        self.reset_election_timer(ctx);
        true
    }

    pub(super) fn on_append_entries(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        leader: NodeId,
        request: AppendEntries,
    ) {
        let AppendEntries {
            term,
            mut prev_index,
            mut prev_term,
            mut entries,
            leader_commit,
            round,
        } = request;
        if !self.accept_leader(ctx, leader, term) {
            // A request of an older term: its round was numbered in that term, and echoing it
            // under our newer term would acknowledge a round of whoever leads now (round 0
            // acknowledges nothing).
            self.reply_failure(ctx, leader, 0, None, 0);
            return;
        }
        // Entries up to our snapshot are committed, so they match; skip them.
        let snapshot_index = self.durable.log().snapshot_index();
        if prev_index < snapshot_index {
            let skip = (snapshot_index - prev_index) as usize;
            if skip > entries.len() {
                let match_index = prev_index + entries.len() as u64;
                self.reply_success(ctx, leader, match_index, round);
                return;
            }
            prev_term = entries[skip - 1].term;
            prev_index = snapshot_index;
            entries.drain(..skip);
        }
        // The consistency check, with the fast back-off hint when it fails.
        let log = self.durable.log();
        match log.term_at(prev_index) {
            Some(t) if t == prev_term => {}
            Some(t) => {
                let first_of_term = log.first_index_of_term_run(prev_index, t);
                self.reply_failure(ctx, leader, first_of_term, Some(t), round);
                return;
            }
            None => {
                let end = log.last_index() + 1;
                self.reply_failure(ctx, leader, end, None, round);
                return;
            }
        }
        let match_index = prev_index + entries.len() as u64;
        self.store_entries(ctx, prev_index, entries);
        if leader_commit > self.commit_index {
            self.commit_index = self.commit_index.max(leader_commit.min(match_index));
            self.apply_committed(ctx);
        }
        self.reply_success(ctx, leader, match_index, round);
    }

    /// Stores `entries` after `prev_index`: skips the ones already held, truncates at the first
    /// conflict (unless the `no_truncate` bug keeps the old entries) and appends the rest.
    fn store_entries(&mut self, ctx: &mut Ctx<'_, RaftMsg>, prev_index: u64, entries: Vec<Entry>) {
        for (index, entry) in (prev_index + 1..).zip(entries) {
            match self.durable.log().term_at(index) {
                Some(t) if t == entry.term => continue,
                Some(_) if self.config.no_truncate => continue,
                Some(_) => {
                    if index <= self.commit_index {
                        ctx.violation(
                            "leader-completeness",
                            format!("{} is told to overwrite committed entry {index}", self.id),
                        );
                    }
                    self.durable.truncate_from(ctx.storage_mut(), index);
                }
                None => {}
            }
            let prev_term = self.durable.log().term_at(index - 1);
            let verdict = self
                .monitor
                .borrow()
                .entry_stored(self.id, index, entry.id(), prev_term);
            Self::report(ctx, verdict);
            self.durable.append(ctx.storage_mut(), entry);
        }
    }

    fn reply_failure(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        leader: NodeId,
        conflict_index: u64,
        conflict_term: Option<u64>,
        round: u64,
    ) {
        ctx.send(
            leader,
            RaftMsg::AppendReply {
                term: self.durable.term(),
                success: false,
                match_index: 0,
                conflict_index,
                conflict_term,
                round,
            },
        );
    }

    fn reply_success(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        leader: NodeId,
        match_index: u64,
        round: u64,
    ) {
        ctx.send(
            leader,
            RaftMsg::AppendReply {
                term: self.durable.term(),
                success: true,
                match_index,
                conflict_index: 0,
                conflict_term: None,
                round,
            },
        );
    }

    /// A reply from `peer` in `term`: step down if it is newer; returns the leader state if
    /// this is still the leader of that term, after counting the round acknowledgement.
    pub(super) fn leader_for_reply(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        peer: NodeId,
        term: u64,
        round: u64,
    ) -> bool {
        if term > self.durable.term() {
            self.become_follower(ctx, term);
            return false;
        }
        let Role::Leader(l) = &mut self.role else {
            return false;
        };
        if term < self.durable.term() {
            return false;
        }
        if round > l.round {
            // Rounds are numbered per term, and this leader never started this one: the reply
            // answers a request of another term. Counting it could confirm a read that no
            // majority of this term acknowledged.
            ctx.violation(
                "raft-reply-term",
                format!(
                    "{} leads term {term} and started {} rounds, but {peer} acknowledged round {round}",
                    self.id, l.round
                ),
            );
            return true;
        }
        let majority = self.config.majority();
        if l.ack_round(self.id, peer, round, majority, self.config.lease_ns) {
            self.serve_reads(ctx);
        }
        true
    }

    pub(super) fn on_append_success(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        peer: NodeId,
        term: u64,
        match_index: u64,
        round: u64,
    ) {
        if !self.leader_for_reply(ctx, peer, term, round) {
            return;
        }
        self.advance_peer(ctx, peer, match_index);
    }

    /// `peer` holds everything up to `match_index`: count it and keep it fed.
    pub(super) fn advance_peer(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        peer: NodeId,
        match_index: u64,
    ) {
        let last_index = self.durable.log().last_index();
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        let i = peer.index();
        if match_index <= l.matched[i] {
            return; // a duplicate or reordered acknowledgement
        }
        l.matched[i] = match_index;
        l.next[i] = l.next[i].max(match_index + 1);
        let more = l.next[i] <= last_index;
        self.advance_commit(ctx);
        if more {
            self.send_append(ctx, peer);
        }
    }

    pub(super) fn on_append_failure(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        peer: NodeId,
        term: u64,
        conflict_index: u64,
        conflict_term: Option<u64>,
        round: u64,
    ) {
        if !self.leader_for_reply(ctx, peer, term, round) {
            return;
        }
        let log = self.durable.log();
        let hinted = match conflict_term.and_then(|t| log.last_index_of_term(t)) {
            Some(last_of_term) => last_of_term + 1,
            None => conflict_index,
        };
        let last_index = log.last_index();
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        let i = peer.index();
        let next = hinted.clamp(l.matched[i] + 1, last_index + 1);
        if next >= l.next[i] {
            return; // stale: we already moved below this point
        }
        l.next[i] = next;
        self.send_append(ctx, peer);
    }
}
