//! Options of `gossip`, the known bugs, and the parameters derived from them and the cluster
//! size (suspicion timeout, retransmission limit, the bounds the end checks use).

use serde::{Deserialize, Serialize};
use sim_core::bounds::{DURATION_NS_MAX, PERIOD_NS_MIN, check, check_ns};
use sim_core::{ConfigError, Nanos, ms};

use sim_core::protocol::BugInfo;

/// Known bugs of the gossip protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GossipBug {
    /// Incarnation numbers are ignored: a suspected member cannot refute (its `alive` carries
    /// no newer incarnation), so every suspicion of a live member ends in its death.
    IgnoreIncarnation,
    /// Last-writer-wins orders writes by the accepting member's local wall clock instead of an
    /// HLC timestamp, so under clock skew a later write can lose to an earlier one.
    WallClockLww,
}

/// The bugs as `dsim list` shows them.
pub const BUGS: &[BugInfo] = &[
    BugInfo {
        name: "ignore_incarnation",
        description: "SWIM without incarnation numbers: a suspected live member cannot refute, so loss or a pause kills it for good",
    },
    BugInfo {
        name: "wall_clock_lww",
        description: "last-writer-wins by local wall clock instead of HLC (the Cassandra/Riak timestamp trap): clock skew loses writes",
    },
];

/// Which way anti-entropy moves data in a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// The initiator sends its digest; the peer asks for what it lacks; the initiator sends it.
    Push,
    /// The initiator sends its digest; the peer sends what the initiator lacks.
    Pull,
    /// Both: the peer sends what the initiator lacks and asks for what it lacks itself.
    PushPull,
}

/// Options of `gossip`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GossipOptions {
    /// SWIM's protocol period T': each member probes one member per period (local time).
    pub protocol_period_ns: Nanos,
    /// How long a member waits for the direct ack before asking others to probe (ping-req).
    pub ping_timeout_ns: Nanos,
    /// k: how many members a ping-req goes to.
    pub indirect_probes: u32,
    /// A suspicion lasts `suspicion_mult × ⌈log10(n+1)⌉` protocol periods before the member
    /// is confirmed dead (memberlist's scaling of SWIM's suspicion timeout).
    pub suspicion_mult: u32,
    /// λ: each membership update is piggybacked `λ × ⌈log2(n+1)⌉` times.
    pub retransmit_mult: u32,
    /// Most updates piggybacked on one message.
    pub piggyback_max: usize,
    /// Most updates waiting in a member's piggyback buffer; the most-sent one is dropped first.
    pub piggyback_buffer_max: usize,
    /// Anti-entropy: each member starts a round this often (local time).
    pub gossip_interval_ns: Nanos,
    /// Anti-entropy: peers contacted per round.
    pub fanout: u32,
    /// Anti-entropy: push, pull or push-pull.
    pub sync_mode: SyncMode,
    /// The accuracy check fails above this many false deaths (a live member declared dead).
    pub false_positives_max: u64,
    /// Bugs to switch on.
    pub bugs: Vec<GossipBug>,
}

impl Default for GossipOptions {
    fn default() -> Self {
        Self {
            protocol_period_ns: ms(200),
            ping_timeout_ns: ms(40),
            indirect_probes: 3,
            suspicion_mult: 4,
            retransmit_mult: 3,
            piggyback_max: 8,
            piggyback_buffer_max: 512,
            gossip_interval_ns: ms(200),
            fanout: 1,
            sync_mode: SyncMode::PushPull,
            false_positives_max: 0,
            bugs: Vec::new(),
        }
    }
}

/// Bounds on the options, so a typo cannot make a run explode.
const FANOUT_MAX: u32 = 16;
const INDIRECT_PROBES_MAX: u32 = 16;
const PIGGYBACK_MAX: usize = 64;
const PIGGYBACK_BUFFER_MAX: usize = 65_536;
/// Largest `suspicion_mult` and `retransmit_mult`.
const MULT_MAX: u32 = 100;

impl GossipOptions {
    /// Checks the options against their ranges: periods from [`PERIOD_NS_MIN`] to
    /// [`DURATION_NS_MAX`], the ping timeout below the protocol period, counts within the
    /// bounds above.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let field = |name: &str| format!("protocol.options.{name}");
        check_ns(
            &field("protocol_period_ns"),
            self.protocol_period_ns,
            PERIOD_NS_MIN..=DURATION_NS_MAX,
        )?;
        check_ns(
            &field("gossip_interval_ns"),
            self.gossip_interval_ns,
            PERIOD_NS_MIN..=DURATION_NS_MAX,
        )?;
        check_ns(
            &field("ping_timeout_ns"),
            self.ping_timeout_ns,
            1..=self.protocol_period_ns - 1,
        )?;
        check(
            &field("indirect_probes"),
            self.indirect_probes,
            1..=INDIRECT_PROBES_MAX,
        )?;
        check(&field("fanout"), self.fanout, 1..=FANOUT_MAX)?;
        check(&field("suspicion_mult"), self.suspicion_mult, 1..=MULT_MAX)?;
        check(
            &field("retransmit_mult"),
            self.retransmit_mult,
            1..=MULT_MAX,
        )?;
        check(
            &field("piggyback_max"),
            self.piggyback_max,
            1..=PIGGYBACK_MAX,
        )?;
        check(
            &field("piggyback_buffer_max"),
            self.piggyback_buffer_max,
            1..=PIGGYBACK_BUFFER_MAX,
        )
    }
}

/// The parameters every member uses, derived once per run from the options and `n`.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// Number of members.
    pub members: u32,
    /// See [`GossipOptions::protocol_period_ns`].
    pub period_ns: Nanos,
    /// See [`GossipOptions::ping_timeout_ns`].
    pub ping_timeout_ns: Nanos,
    /// See [`GossipOptions::indirect_probes`].
    pub indirect_probes: u32,
    /// How long a suspicion lasts before the member is confirmed dead.
    pub suspicion_ns: Nanos,
    /// How many times each update is piggybacked.
    pub retransmit_limit: u32,
    /// See [`GossipOptions::piggyback_max`].
    pub piggyback_max: usize,
    /// See [`GossipOptions::piggyback_buffer_max`].
    pub piggyback_buffer_max: usize,
    /// See [`GossipOptions::gossip_interval_ns`].
    pub gossip_interval_ns: Nanos,
    /// See [`GossipOptions::fanout`].
    pub fanout: u32,
    /// See [`GossipOptions::sync_mode`].
    pub sync_mode: SyncMode,
    /// The `ignore_incarnation` bug.
    pub ignore_incarnation: bool,
    /// The `wall_clock_lww` bug.
    pub wall_clock_lww: bool,
}

impl Params {
    /// The parameters for `members` members.
    pub fn new(options: &GossipOptions, members: u32) -> Self {
        let log10 = ceil_log(members, 10);
        let log2 = ceil_log(members, 2);
        Self {
            members,
            period_ns: options.protocol_period_ns,
            ping_timeout_ns: options.ping_timeout_ns,
            indirect_probes: options.indirect_probes,
            suspicion_ns: options.protocol_period_ns
                * u64::from(options.suspicion_mult)
                * u64::from(log10),
            retransmit_limit: options.retransmit_mult * log2,
            piggyback_max: options.piggyback_max,
            piggyback_buffer_max: options.piggyback_buffer_max,
            gossip_interval_ns: options.gossip_interval_ns,
            fanout: options.fanout,
            sync_mode: options.sync_mode,
            ignore_incarnation: options.bugs.contains(&GossipBug::IgnoreIncarnation),
            wall_clock_lww: options.bugs.contains(&GossipBug::WallClockLww),
        }
    }

    /// The bound the end checks hold the protocol to: once faults (and writes) stop, within
    /// this time every live member has declared every crashed member dead (completeness), sees
    /// every live member alive, and holds the same data (convergence).
    ///
    /// Why this much: a crashed member is first probed within a few periods (the expected
    /// first-detection time is `e/(e−1)` periods, SWIM §3.1), stays suspected for
    /// `suspicion_ns`, and the confirmation reaches everyone by infection in O(log n) periods
    /// (each infected member piggybacks it on its ping and its acks). A member declared dead
    /// while paused refutes after the same O(log n). Anti-entropy push-pull spreads data in
    /// O(log n) rounds. We allow `5 + 2·⌈log2(n+1)⌉` periods (or rounds, whichever are longer).
    pub fn settle_ns(&self) -> Nanos {
        let rounds = 5 + 2 * u64::from(ceil_log(self.members, 2));
        self.suspicion_ns + rounds * self.period_ns.max(self.gossip_interval_ns)
    }
}

/// `⌈log_base(n + 1)⌉`, at least 1.
fn ceil_log(n: u32, base: u64) -> u32 {
    let mut power = 1u64;
    let mut log = 0;
    while power < u64::from(n) + 1 {
        power *= base;
        log += 1;
    }
    log.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derived parameters scale with log n as documented.
    #[test]
    fn parameters_scale_logarithmically() {
        let o = GossipOptions::default();
        let small = Params::new(&o, 32);
        let large = Params::new(&o, 10_000);
        assert_eq!(small.retransmit_limit, 3 * 6);
        assert_eq!(large.retransmit_limit, 3 * 14);
        assert_eq!(small.suspicion_ns, ms(200) * 4 * 2);
        assert_eq!(large.suspicion_ns, ms(200) * 4 * 5);
        assert!(large.settle_ns() > small.settle_ns());
    }

    /// A ping timeout as long as the period is rejected with the field named.
    #[test]
    fn bad_options_are_rejected() {
        let o = GossipOptions {
            ping_timeout_ns: ms(200),
            ..Default::default()
        };
        assert!(o.validate().unwrap_err().field.contains("ping_timeout_ns"));
        assert!(GossipOptions::default().validate().is_ok());
    }
}
