//! Client requests at a server: redirects to the leader, commands through the log with
//! session deduplication, and linearizable reads in the configured [`ReadMode`]:
//! through the log, by ReadIndex (a majority-acknowledged heartbeat round started after the
//! read arrived), or under a lease (LOCAL time; safe only under bounded clock drift).
//!
//! No read is served before the leader's no-op of its term commits: until then the leader
//! may not know the latest commit index (thesis §6.4).

use sim_core::{Ctx, NodeId, OpFn, Value};

use super::kv::KvReply;
use super::leader::{PENDING_READS_MAX, PendingRead};
use super::log::{ClientCommand, Command};
use super::msg::{ClientResult, RaftMsg};
use super::options::ReadMode;
use super::server::{RaftServer, Role};

impl RaftServer {
    pub(super) fn on_client_request(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        client: NodeId,
        seq: u64,
        f: OpFn,
        key: u64,
        value: Value,
    ) {
        if !self.is_leader() {
            let result = ClientResult::NotLeader {
                hint: self.leader_hint,
            };
            ctx.send(client, RaftMsg::Reply { seq, result });
            return;
        }
        if f == OpFn::Read && self.config.stale_leader_read {
            let result = ClientResult::Done(KvReply::Ok(self.kv.read(key)));
            ctx.send(client, RaftMsg::Reply { seq, result });
            return;
        }
        if f == OpFn::Read && self.config.options.read_mode != ReadMode::Log {
            self.start_read(ctx, client, seq, key);
            return;
        }
        // A retry of a command already applied gets the remembered reply; an older command of
        // a client that has moved on is dropped.
        if let Some(session) = self.kv.session(client) {
            if session.seq == seq {
                let result = ClientResult::Done(session.reply.clone());
                ctx.send(client, RaftMsg::Reply { seq, result });
                return;
            }
            if session.seq > seq {
                return;
            }
        }
        let command = ClientCommand {
            client,
            seq,
            f,
            key,
            value,
        };
        let index = self.append_entry(ctx, Command::Client(command));
        // Followers that were up to date get the entry now; the others are already being fed
        // by the acknowledgement loop or the heartbeat.
        for peer in self.peers() {
            if let Role::Leader(l) = &self.role
                && l.next[peer.index()] == index
            {
                self.send_append(ctx, peer);
            }
        }
        self.advance_commit(ctx);
    }

    /// Queues a read at the current commit index, released by a lease or a new round.
    fn start_read(&mut self, ctx: &mut Ctx<'_, RaftMsg>, client: NodeId, seq: u64, key: u64) {
        let now = ctx.now();
        let lease_mode = self.config.options.read_mode == ReadMode::Lease;
        let commit_index = self.commit_index;
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        if l.pending_reads.len() >= PENDING_READS_MAX {
            let result = ClientResult::NotLeader { hint: None };
            ctx.send(client, RaftMsg::Reply { seq, result });
            return;
        }
        let read_index = commit_index.max(l.noop_index);
        // Only a round started after the read arrived proves we were still leader when it
        // arrived, so every read that no lease covers starts its own round. (Reusing a round
        // "started at this local instant" would be wrong: a clock stepped back or clamped at
        // zero shows the same instant again later.)
        let leased = lease_mode && now < l.lease_until_ns;
        let round = if leased { 0 } else { l.round + 1 };
        l.pending_reads.push(PendingRead {
            client,
            seq,
            key,
            read_index,
            round,
        });
        if !leased {
            self.broadcast(ctx);
        }
        self.serve_reads(ctx);
    }

    /// Answers every waiting read whose round is confirmed and whose index is applied.
    pub(super) fn serve_reads(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let single = self.config.majority() == 1;
        let (applied, commit_index) = (self.last_applied, self.commit_index);
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        if l.pending_reads.is_empty() || commit_index < l.noop_index {
            return;
        }
        let confirmed = if single { l.round } else { l.confirmed_round };
        let kv = &self.kv;
        l.pending_reads.retain(|read| {
            let ready = read.round <= confirmed && read.read_index <= applied;
            if ready {
                let result = ClientResult::Done(KvReply::Ok(kv.read(read.key)));
                ctx.send(
                    read.client,
                    RaftMsg::Reply {
                        seq: read.seq,
                        result,
                    },
                );
            }
            !ready
        });
    }
}
