//! Determinism verification: run two identically built simulations side by side and stop at the
//! first event where their traces differ. Stepping in lockstep needs no stored trace, so it works
//! for runs of any length, and it names the exact event where the runs part ways.

use crate::error::SimError;
use crate::process::Message;
use crate::sim::Simulation;

/// Where two runs that should be identical first differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// 1-based index of the first differing event.
    pub event: u64,
    /// That event in the first run (needs [`crate::SimBuilder::describe_events`]).
    pub first: String,
    /// That event in the second run.
    pub second: String,
}

/// Runs `a` and `b` to the end in lockstep. `Ok(None)` when they agree on every event,
/// `Ok(Some(_))` at the first divergence, `Err` if either run stops on a limit.
pub fn lockstep<M: Message>(
    a: &mut Simulation<M>,
    b: &mut Simulation<M>,
) -> Result<Option<Divergence>, SimError> {
    let mut events = 0u64;
    loop {
        let more_a = a.step()?;
        let more_b = b.step()?;
        events += 1;
        if a.trace_hash() != b.trace_hash() || more_a != more_b {
            return Ok(Some(Divergence {
                event: events,
                first: a.last_event().unwrap_or("(end of run)").to_string(),
                second: b.last_event().unwrap_or("(end of run)").to_string(),
            }));
        }
        if !more_a {
            return Ok(None);
        }
    }
}

#[cfg(test)]
mod tests {
    // Deliberate: this test proves that lockstep catches hash-order iteration.
    use std::collections::HashSet;

    use super::*;
    use crate::{Ctx, NodeId, Process, SimBuilder, SimConfig, TimerId, secs};

    /// Broadcasts to its peers, in the order it was given them, every second.
    struct Broadcaster {
        peers: Vec<u32>,
    }

    impl Process for Broadcaster {
        type Msg = u32;
        fn on_start(&mut self, ctx: &mut Ctx<'_, u32>) {
            ctx.set_timer(secs(1), 0);
        }
        fn on_message(&mut self, _ctx: &mut Ctx<'_, u32>, _from: NodeId, _msg: u32) {}
        fn on_timer(&mut self, ctx: &mut Ctx<'_, u32>, _t: TimerId, _tag: u64) {
            for p in &self.peers {
                ctx.send(NodeId(*p), *p);
            }
            ctx.set_timer(secs(1), 0);
        }
    }

    /// Sixteen broadcasters whose peer order comes from iterating a std `HashSet`: exactly the
    /// hidden nondeterminism dsim forbids, since each set gets fresh random hash keys. With
    /// `sorted`, the order is fixed.
    fn build(sorted: bool) -> Simulation<u32> {
        let mut b = SimBuilder::new(SimConfig {
            seed: 1,
            duration_ns: secs(20),
            ..Default::default()
        });
        for _ in 0..16 {
            b.add_server(move |_| {
                let mut peers: Vec<u32> = (0..16).collect::<HashSet<u32>>().into_iter().collect();
                if sorted {
                    peers.sort_unstable();
                }
                Box::new(Broadcaster { peers })
            });
        }
        b.describe_events();
        b.build().unwrap()
    }

    #[test]
    fn hash_order_iteration_is_caught_and_the_event_named() {
        let divergence = lockstep(&mut build(false), &mut build(false)).unwrap();
        let d = divergence.expect("16 peers in random hash order must diverge");
        assert!(d.first != d.second);
        assert!(
            d.first.contains("Deliver") || d.first.contains("Timer"),
            "{d:?}"
        );
    }

    #[test]
    fn identical_runs_agree_to_the_end() {
        assert_eq!(lockstep(&mut build(true), &mut build(true)).unwrap(), None);
    }
}
