//! The commit rule (§5.4.2: only entries of the current term are committed by counting
//! replicas; earlier ones commit with them) and applying committed entries to the state
//! machine, after which the leader answers clients and compacts the log when due.

use sim_core::Ctx;

use super::kv::Applied;
use super::log::Command;
use super::msg::{ClientResult, RaftMsg};
use super::server::{RaftServer, Role};

impl RaftServer {
    /// Commits the highest index stored on a majority if its entry is of the current term
    /// (or, with the `commit_previous_term` bug, of any term), then applies.
    pub(super) fn advance_commit(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let log = self.durable.log();
        let term = self.durable.term();
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        let candidate = l.quorum_match(self.id, log.last_index(), self.config.majority());
        if candidate <= self.commit_index {
            return;
        }
        if log.term_at(candidate) != Some(term) && !self.config.commit_previous_term {
            return;
        }
        let mut monitor = self.monitor.borrow_mut();
        for index in self.commit_index + 1..=candidate {
            let entry_term = log.term_at(index).unwrap_or(0);
            Self::report(ctx, monitor.committed(self.id, index, entry_term, term));
        }
        drop(monitor);
        self.commit_index = candidate;
        self.apply_committed(ctx);
    }

    /// Applies committed entries in order; the leader answers the clients whose commands they are.
    pub(super) fn apply_committed(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let leading = self.is_leader();
        while self.last_applied < self.commit_index {
            let index = self.last_applied + 1;
            let Some(entry) = self.durable.log().entry(index) else {
                ctx.violation(
                    "raft-apply",
                    format!("{} committed {index} but does not hold it", self.id),
                );
                return;
            };
            let id = entry.id();
            if let Command::Client(cmd) = &entry.command
                && let Applied::Reply(reply) = self.kv.apply(cmd)
                && leading
            {
                let result = ClientResult::Done(reply);
                ctx.send(
                    cmd.client,
                    RaftMsg::Reply {
                        seq: cmd.seq,
                        result,
                    },
                );
            }
            self.last_applied = index;
            let verdict = self.monitor.borrow_mut().applied(self.id, index, id);
            Self::report(ctx, verdict);
        }
        self.serve_reads(ctx);
        self.maybe_snapshot(ctx);
    }
}
