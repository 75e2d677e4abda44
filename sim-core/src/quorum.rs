//! A quorum call: send one request to a set of nodes, resend to the ones that have not answered
//! until enough have, and ignore answers that belong to an earlier call. It is the plumbing
//! every quorum protocol writes (ABD's phases, Paxos' prepare and accept, a client that retries
//! one server), kept as a small state machine that a process owns and feeds from its handlers.
//!
//! A call is named by a *phase*: a `u64` the caller chooses and puts in its request, and that
//! the answers carry back. Pick one that is never reused, across restarts too (an operation id,
//! a ballot, or a number drawn from `ctx.rng()`): an answer whose phase is not the open call's
//! is stale and ignored.
//!
//! ```
//! use sim_core::quorum::QuorumCall;
//! use sim_core::{Ctx, NodeId, Process, TimerId, ms};
//!
//! #[derive(Clone, Debug, Hash, serde::Serialize)]
//! enum Msg { Ping { phase: u64 }, Pong { phase: u64 } }
//!
//! /// Asks every server, and is done when a majority answered.
//! struct Asker { call: QuorumCall<Msg, ()>, done: bool }
//!
//! impl Process for Asker {
//!     type Msg = Msg;
//!     fn on_start(&mut self, ctx: &mut Ctx<'_, Msg>) {
//!         let servers = ctx.servers().to_vec();
//!         let majority = servers.len() / 2 + 1;
//!         self.call.start(ctx, 1, &servers, majority, Msg::Ping { phase: 1 });
//!     }
//!     fn on_message(&mut self, ctx: &mut Ctx<'_, Msg>, from: NodeId, msg: Msg) {
//!         if let Msg::Pong { phase } = msg {
//!             if self.call.on_reply(ctx, from, phase, ()).is_some() {
//!                 self.done = true;
//!             }
//!         }
//!     }
//!     fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg>, timer: TimerId, _tag: u64) {
//!         self.call.on_timer(ctx, timer);
//!     }
//! }
//! # let _ = Asker { call: QuorumCall::new(ms(50)), done: false };
//! ```

use crate::process::{Ctx, NodeId, TimerId};
use crate::time::Nanos;

/// One request to many nodes, answered by a quorum. `M` is the process's message type, `R`
/// what the caller keeps of each answer.
#[derive(Debug)]
pub struct QuorumCall<M, R> {
    resend_every_ns: Nanos,
    open: Option<OpenCall<M, R>>,
}

#[derive(Debug)]
struct OpenCall<M, R> {
    phase: u64,
    request: M,
    targets: Vec<NodeId>,
    needed: usize,
    /// At most one answer per target, in the order they arrived.
    replies: Vec<(NodeId, R)>,
    resend_timer: TimerId,
}

impl<M: Clone, R> QuorumCall<M, R> {
    /// An idle call that resends every `resend_every_ns` of local time once started.
    pub fn new(resend_every_ns: Nanos) -> Self {
        Self {
            resend_every_ns,
            open: None,
        }
    }

    /// Starts call `phase`: sends `request` to every node of `targets` and waits for `needed`
    /// of them to answer. A call still open is abandoned (its later answers are stale).
    /// `needed` must be at least 1 and at most the number of targets; a call that asks for
    /// more than can answer is a protocol bug, reported as the violation `quorum-call` (and
    /// the call then waits for every target).
    pub fn start(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        phase: u64,
        targets: &[NodeId],
        needed: usize,
        request: M,
    ) {
        if !(1..=targets.len()).contains(&needed) {
            let asked = targets.len();
            ctx.violation(
                "quorum-call",
                format!("call {phase} waits for {needed} answers from {asked} nodes"),
            );
        }
        let needed = needed.clamp(1, targets.len().max(1));
        self.cancel(ctx);
        for &to in targets {
            ctx.send(to, request.clone());
        }
        let resend_timer = ctx.set_timer(self.resend_every_ns, 0);
        self.open = Some(OpenCall {
            phase,
            request,
            targets: targets.to_vec(),
            needed,
            replies: Vec::with_capacity(needed),
            resend_timer,
        });
    }

    /// The open call's phase, if a call is open.
    pub fn phase(&self) -> Option<u64> {
        self.open.as_ref().map(|c| c.phase)
    }

    /// Takes an answer from `from` to call `phase`. Stale answers (another phase, no call
    /// open), answers from nodes that were not asked and second answers from the same node are
    /// ignored. When this answer completes the quorum, the call closes (its resend timer is
    /// cancelled) and the answers are returned, in arrival order; otherwise `None`.
    pub fn on_reply(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        from: NodeId,
        phase: u64,
        reply: R,
    ) -> Option<Vec<(NodeId, R)>> {
        let call = self.open.as_mut().filter(|c| c.phase == phase)?;
        if !call.targets.contains(&from) || call.replies.iter().any(|(n, _)| *n == from) {
            return None;
        }
        call.replies.push((from, reply));
        if call.replies.len() < call.needed {
            return None;
        }
        let call = self.open.take()?;
        ctx.cancel_timer(call.resend_timer);
        Some(call.replies)
    }

    /// Handles a timer: when it is this call's resend timer, resends the request to every
    /// target that has not answered, sets the timer again and returns `true`; any other timer
    /// is left to the caller (`false`).
    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, M>, timer: TimerId) -> bool {
        if self.open.as_ref().is_none_or(|c| c.resend_timer != timer) {
            return false;
        }
        self.resend_now(ctx);
        if let Some(call) = self.open.as_mut() {
            call.resend_timer = ctx.set_timer(self.resend_every_ns, 0);
        }
        true
    }

    /// Resends the open call's request to every target that has not answered, now (the
    /// resend timer keeps its schedule). Nothing happens when no call is open.
    pub fn resend_now(&self, ctx: &mut Ctx<'_, M>) {
        let Some(call) = &self.open else { return };
        for &to in &call.targets {
            if !call.replies.iter().any(|(n, _)| *n == to) {
                ctx.send(to, call.request.clone());
            }
        }
    }

    /// Abandons the open call, if any (a client that gave up): no more resends, and its
    /// answers are stale from now on.
    pub fn cancel(&mut self, ctx: &mut Ctx<'_, M>) {
        if let Some(call) = self.open.take() {
            ctx.cancel_timer(call.resend_timer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::Effect;
    use crate::rng::{Stream, stream};
    use crate::storage::Storage;

    /// A handler's world, kept between calls so effects can be inspected.
    struct World {
        servers: Vec<NodeId>,
        rng: crate::rng::SimRng,
        storage: Storage,
        effects: Vec<Effect<u64>>,
        next_timer: u64,
        buggify: crate::buggify::Buggify,
    }

    impl World {
        fn new(servers: u32) -> Self {
            Self {
                servers: (0..servers).map(NodeId).collect(),
                rng: stream(0, Stream::Node(NodeId(99))),
                storage: Storage::new(),
                effects: Vec::new(),
                next_timer: 0,
                buggify: crate::buggify::Buggify::new(None, 0),
            }
        }

        /// Runs `f` with a context for client node 99 and returns the effects it recorded.
        fn with<T>(&mut self, f: impl FnOnce(&mut Ctx<'_, u64>) -> T) -> (T, Vec<Effect<u64>>) {
            let mut ctx = Ctx {
                node: NodeId(99),
                now_local_ns: 0,
                node_count: 100,
                servers: &self.servers,
                clients: &[],
                rng: &mut self.rng,
                storage: &mut self.storage,
                effects: &mut self.effects,
                next_timer: &mut self.next_timer,
                buggify: &mut self.buggify,
            };
            let out = f(&mut ctx);
            (out, std::mem::take(&mut self.effects))
        }
    }

    fn sends(effects: &[Effect<u64>]) -> Vec<(u32, u64)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send { to, msg } => Some((to.0, *msg)),
                _ => None,
            })
            .collect()
    }

    fn timer_set(effects: &[Effect<u64>]) -> Option<TimerId> {
        effects.iter().find_map(|e| match e {
            Effect::SetTimer { id, .. } => Some(*id),
            _ => None,
        })
    }

    #[test]
    fn a_call_completes_once_at_its_quorum_and_then_ignores_further_answers() {
        let mut w = World::new(3);
        let mut call: QuorumCall<u64, char> = QuorumCall::new(50);
        let servers = w.servers.clone();
        let (_, effects) = w.with(|ctx| call.start(ctx, 7, &servers, 2, 70));
        assert_eq!(sends(&effects), [(0, 70), (1, 70), (2, 70)]);
        let (first, _) = w.with(|ctx| call.on_reply(ctx, NodeId(2), 7, 'a'));
        assert_eq!(first, None);
        // A second answer from the same node does not make a quorum.
        let (again, _) = w.with(|ctx| call.on_reply(ctx, NodeId(2), 7, 'b'));
        assert_eq!(again, None);
        let (done, effects) = w.with(|ctx| call.on_reply(ctx, NodeId(0), 7, 'c'));
        assert_eq!(done, Some(vec![(NodeId(2), 'a'), (NodeId(0), 'c')]));
        assert!(matches!(effects.as_slice(), [Effect::CancelTimer { .. }]));
        let (late, _) = w.with(|ctx| call.on_reply(ctx, NodeId(1), 7, 'd'));
        assert_eq!(late, None);
        assert_eq!(call.phase(), None);
    }

    #[test]
    fn answers_to_an_abandoned_phase_or_from_nodes_not_asked_are_stale() {
        let mut w = World::new(3);
        let mut call: QuorumCall<u64, ()> = QuorumCall::new(50);
        let servers = w.servers.clone();
        w.with(|ctx| call.start(ctx, 1, &servers, 1, 10));
        let (_, effects) = w.with(|ctx| call.start(ctx, 2, &servers[..2], 1, 20));
        // Starting again cancels the first call's resend timer.
        assert!(matches!(effects.first(), Some(Effect::CancelTimer { .. })));
        assert_eq!(w.with(|ctx| call.on_reply(ctx, NodeId(0), 1, ())).0, None);
        assert_eq!(w.with(|ctx| call.on_reply(ctx, NodeId(2), 2, ())).0, None);
        assert_eq!(call.phase(), Some(2));
        let done = w.with(|ctx| call.on_reply(ctx, NodeId(1), 2, ())).0;
        assert_eq!(done, Some(vec![(NodeId(1), ())]));
    }

    #[test]
    fn a_resend_goes_only_to_the_nodes_that_have_not_answered() {
        let mut w = World::new(3);
        let mut call: QuorumCall<u64, ()> = QuorumCall::new(50);
        let servers = w.servers.clone();
        let (_, effects) = w.with(|ctx| call.start(ctx, 5, &servers, 3, 50));
        let timer = timer_set(&effects).unwrap();
        w.with(|ctx| call.on_reply(ctx, NodeId(1), 5, ()));
        assert!(!w.with(|ctx| call.on_timer(ctx, TimerId(12345))).0);
        let (ours, effects) = w.with(|ctx| call.on_timer(ctx, timer));
        assert!(ours);
        assert_eq!(sends(&effects), [(0, 50), (2, 50)]);
        let rearmed = timer_set(&effects).unwrap();
        assert_ne!(rearmed, timer);
        // The old timer is no longer this call's.
        assert!(!w.with(|ctx| call.on_timer(ctx, timer)).0);
        let (_, effects) = w.with(|ctx| call.cancel(ctx));
        assert!(matches!(effects.as_slice(), [Effect::CancelTimer { id }] if *id == rearmed));
        assert!(!w.with(|ctx| call.on_timer(ctx, rearmed)).0);
    }

    #[test]
    fn asking_for_more_answers_than_nodes_is_a_reported_violation_not_a_hang() {
        let mut w = World::new(2);
        let mut call: QuorumCall<u64, ()> = QuorumCall::new(50);
        let servers = w.servers.clone();
        let (_, effects) = w.with(|ctx| call.start(ctx, 1, &servers, 3, 0));
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, Effect::Violation { check, .. } if check == "quorum-call"))
        );
        w.with(|ctx| call.on_reply(ctx, NodeId(0), 1, ()));
        assert!(
            w.with(|ctx| call.on_reply(ctx, NodeId(1), 1, ()))
                .0
                .is_some()
        );
    }
}
