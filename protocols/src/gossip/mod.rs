//! # Gossip: SWIM membership and anti-entropy replication of a CRDT map
//!
//! Every server is a **member**. Members run two protocols side by side:
//!
//! - **Membership and failure detection after SWIM** (Das, Gupta & Motivala, DSN 2002), in
//!   `swim`: one probe per protocol period to the next member of a shuffled round-robin
//!   order ([`probe`], §4.3), a direct ping, then a ping-req through k random members, then
//!   suspicion; a suspected member refutes by raising its incarnation and announcing itself
//!   alive; a suspicion that times out is confirmed dead ([`view`] holds the precedence
//!   rules). Updates are piggybacked on pings, ping-reqs and acks from a bounded buffer, each
//!   sent λ·⌈log2(n+1)⌉ times ([`piggyback`]). The suspicion timeout is
//!   `suspicion_mult·⌈log10(n+1)⌉` periods, as in memberlist.
//! - **Data dissemination by anti-entropy** in `sync`: each gossip interval a member
//!   reconciles with `fanout` random members by push, pull or push-pull over a replicated map
//!   ([`crdt`]) of last-writer-wins registers stamped with hybrid logical clocks ([`hlc`]) and
//!   grow-only counters. Reconciliation compares root hashes first, then per-key digests (the
//!   register's stamp and the counter's fingerprint), then ships only the differing parts of
//!   differing keys.
//!
//! Clients ([`client`]) send each operation to a random member, which answers from its own
//! replica at once: `write` puts into the key's register, `append` increments the key's
//! counter, `read` returns `[register, counter]`; `cas` is refused (`fail`: it never happens).
//! A member syncs what it accepted to its disk before answering ([`store`]).
//!
//! Departures from the paper, and why:
//! - Crash-recovery: a restarted member comes back under a higher incarnation, which
//!   overrides `dead` about its previous life, and asks one member for the membership it
//!   missed (`Join`). A member told it is dead refutes too (so a member declared dead while
//!   paused returns). `Dead` at a lower incarnation than known is ignored (memberlist's rule),
//!   so a stale confirmation cannot kill a member that has rejoined.
//! - The membership is static (the scenario's servers); there are no joins of new members.
//!
//! ## Checks (end of run, see [`checks`])
//! - `gossip-completeness`: every crashed member is dead in every live member's view, and
//!   `gossip-membership`: every live member is alive in every live member's view — both
//!   within [`Params::settle_ns`] of the last fault (suspicion timeout + (5 + 2⌈log2(n+1)⌉)
//!   periods).
//! - `gossip-accuracy`: false deaths (a member declared dead that then ran on in the same
//!   lifetime, i.e. it had not crashed) at most `false_positives_max`.
//! - `gossip-convergence`: every live member holds the same replica within `settle_ns` of the
//!   last fault and the last client operation.
//! - `gossip-lost-writes`: every acknowledged write is the final value of its key at every
//!   live member, or lost to an issued write with a larger stamp that it did not follow in its
//!   client's session; every counter lies between the acknowledged and the invoked increments.
//!
//! ## Metrics (per run; run many seeds for distributions)
//! `gossip_suspect_first_ms`, `gossip_detect_first_ms`, `gossip_detect_full_ms` (from a
//! scheduled crash without restart to the first suspicion, the first and the last live
//! member's declaration of death), `gossip_false_positives`, `gossip_false_positive_rate`
//! (per member and protocol period), `gossip_dissemination_rounds_*` and
//! `gossip_dissemination_messages_*` (anti-entropy rounds per member and sync messages,
//! cluster-wide, from a write until every member holds it), message counts.

pub mod checks;
pub mod client;
pub mod crdt;
pub mod hlc;
pub mod member;
pub mod monitor;
pub mod msg;
pub mod options;
pub mod piggyback;
pub mod probe;
pub mod session;
pub mod store;
mod swim;
mod sync;
pub mod view;

use std::cell::RefCell;
use std::rc::Rc;

use sim_core::{ConfigError, Footprint, SimBuilder, SimConfig, Simulation};

pub use client::GossipClient;
pub use member::Member;
pub use monitor::Monitor;
pub use msg::GossipMsg;
pub use options::{GossipBug, GossipOptions, Params, SyncMode};

use sim_core::protocol::{BugInfo, CheckResult, Cluster, Protocol};

/// The gossip protocol.
pub struct Gossip;

impl Protocol for Gossip {
    const NAME: &'static str = "gossip";
    const DESCRIPTION: &'static str =
        "SWIM membership and failure detection plus anti-entropy of an HLC-LWW/G-Counter CRDT map";
    const MODEL: Option<sim_core::ModelKind> = None;
    const OPERATIONS: &'static [sim_core::OpFn] = &[
        sim_core::OpFn::Read,
        sim_core::OpFn::Write,
        sim_core::OpFn::Append,
    ];
    type Msg = GossipMsg;
    type Options = GossipOptions;

    fn bugs() -> &'static [BugInfo] {
        options::BUGS
    }

    fn populate(
        options: &GossipOptions,
        cluster: Cluster,
        builder: &mut SimBuilder<GossipMsg>,
    ) -> Result<(), ConfigError> {
        options.validate()?;
        if cluster.servers < 2 {
            return Err(ConfigError::new(
                "cluster.servers",
                "gossip needs at least 2 members",
            ));
        }
        let params = Rc::new(Params::new(options, cluster.servers));
        let monitor = Rc::new(RefCell::new(Monitor::new(cluster.servers)));
        for _ in 0..cluster.servers {
            let (params, monitor) = (params.clone(), monitor.clone());
            builder
                .add_server(move |id| Box::new(Member::new(id, params.clone(), monitor.clone())));
        }
        let members = cluster.servers;
        for _ in 0..cluster.clients {
            builder.add_client(move |_| Box::new(GossipClient::new(members)));
        }
        Ok(())
    }

    /// Every member holds a view of every member (4 bytes each) and the monitor a track of
    /// each; every member ends up with the data every operation left (a register, a counter
    /// entry of the member that took the increment, about 64 bytes); the rest is bounded by
    /// the options.
    fn footprint(options: &GossipOptions, cluster: Cluster, config: &SimConfig) -> Footprint {
        let piggyback = 16 * options.piggyback_buffer_max as u64;
        let data = config.ops_bound().saturating_mul(64);
        Footprint {
            server_bytes: (4 * u64::from(cluster.servers) + 32 * 1024 + piggyback)
                .saturating_add(data),
            client_bytes: 4 * 1024,
            message_bytes: 256,
            op_value_bytes: 64,
        }
    }

    fn end_checks(options: &GossipOptions, sim: &Simulation<GossipMsg>) -> Vec<CheckResult> {
        checks::end_checks(options, sim)
    }

    fn metrics(sim: &Simulation<GossipMsg>) -> Vec<(String, f64)> {
        checks::metrics(sim)
    }
}
