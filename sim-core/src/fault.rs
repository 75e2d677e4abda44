//! Faults: what can go wrong, as a fixed schedule from the scenario and as a seeded random
//! nemesis. A fault is data; the engine applies it. Every fault that starts something (crash,
//! pause, partition, hold, clock jump) has an undo (restart, resume, heal, jump back) that the
//! nemesis schedules after a random duration.
//!
//! Besides faults that drop messages, some deliver them late: a `hold` keeps the messages a
//! partition cuts and releases them when it heals, and a `replay` delivers copies of recent
//! messages again seconds later, so a request or reply from an old term, configuration or
//! session arrives after the world moved on. A `crash_blip` nemesis crashes a server for a few
//! milliseconds, shorter than a client's patience, so a retried request meets a server that
//! restarted.

use rand::Rng;
use rand::seq::IndexedRandom;
use serde::{Deserialize, Serialize};

use crate::bounds::{
    DURATION_NS_MAX, NEMESIS_INTERVAL_NS_MIN, SERVERS_MAX, check, check_f64, check_len, check_ns,
    check_signed_ns,
};
use crate::clock::DRIFT_PPM_MAX;
use crate::error::ConfigError;
use crate::latency::{LatencyDist, LatencySampler};
use crate::partition::{ClientPlacement, PartitionSpec};
use crate::process::NodeId;
use crate::rng::SimRng;
use crate::time::Nanos;

/// One fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// The node stops: volatile state, timers, messages in its inbox and unsynced writes are
    /// lost. Without a later `restart` this is crash-stop.
    Crash {
        /// The node.
        node: NodeId,
    },
    /// A crashed node comes back: its process is rebuilt from durable storage (crash-recovery).
    Restart {
        /// The node.
        node: NodeId,
    },
    /// The node stalls (a GC pause, a stopped VM): timers and messages wait.
    Pause {
        /// The node.
        node: NodeId,
    },
    /// A paused node carries on, unaware that time passed.
    Resume {
        /// The node.
        node: NodeId,
    },
    /// The node's clock jumps by `delta_ns` (negative: backwards).
    ClockJump {
        /// The node.
        node: NodeId,
        /// How far.
        delta_ns: i64,
    },
    /// The node's clock starts drifting at `drift_ppm`.
    ClockDrift {
        /// The node.
        node: NodeId,
        /// New drift in parts per million.
        drift_ppm: f64,
    },
    /// Impose a partition (replacing any partition or hold in force).
    Partition(PartitionSpec),
    /// Impose a partition that holds the messages it cuts instead of dropping them, as a
    /// network whose senders retransmit does: a message that arrives on a cut link waits, and
    /// every held message is released when the hold ends (a `heal`, a `heal_all`, or another
    /// partition or hold replacing it) and then meets the network as it is. Replaces any
    /// partition or hold in force.
    Hold {
        /// Which links are cut (and held).
        partition: PartitionSpec,
        /// Released messages arrive all at once when 0 (a burst), else each at a uniformly
        /// drawn time within this long after the release.
        #[serde(default)]
        release_spread_ns: Nanos,
    },
    /// Deliver again copies of the messages sent in the last `window_ns` (up to now) from
    /// `from` to `to`, all `delay_ns` from now: stale duplicates of old messages, as a slow
    /// path or a retransmitting sender delivers them. Needs no undo.
    Replay {
        /// The sender whose messages are replayed (any node when absent).
        #[serde(default)]
        from: Option<NodeId>,
        /// The receiver whose messages are replayed (any node when absent).
        #[serde(default)]
        to: Option<NodeId>,
        /// How far back messages are replayed.
        window_ns: Nanos,
        /// How long from now the copies arrive.
        delay_ns: Nanos,
    },
    /// Remove any partition or hold (releasing what a hold held).
    Heal,
    /// End every fault at once: heal the network (releasing held messages), restart crashed
    /// nodes, resume paused ones.
    /// Starts a scenario's liveness phase.
    HealAll,
}

impl Fault {
    /// The node a fault targets, if it targets one.
    pub fn node(&self) -> Option<NodeId> {
        match self {
            Fault::Crash { node }
            | Fault::Restart { node }
            | Fault::Pause { node }
            | Fault::Resume { node }
            | Fault::ClockJump { node, .. }
            | Fault::ClockDrift { node, .. } => Some(*node),
            Fault::Partition(_)
            | Fault::Hold { .. }
            | Fault::Replay { .. }
            | Fault::Heal
            | Fault::HealAll => None,
        }
    }

    /// Whether `later` undoes this fault: a restart of the crashed node, a resume of the
    /// paused one, a heal of a partition, the opposite jump of the same node's clock.
    pub fn undone_by(&self, later: &Fault) -> bool {
        match (self, later) {
            (Fault::Crash { node: a }, Fault::Restart { node: b })
            | (Fault::Pause { node: a }, Fault::Resume { node: b }) => a == b,
            (Fault::Partition(_) | Fault::Hold { .. }, Fault::Heal) => true,
            (
                Fault::ClockJump {
                    node: a,
                    delta_ns: d,
                },
                Fault::ClockJump {
                    node: b,
                    delta_ns: e,
                },
            ) => a == b && d.checked_neg() == Some(*e),
            _ => false,
        }
    }
}

/// A fault at a fixed true time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledFault {
    /// When, in true nanoseconds from the start.
    pub at_ns: Nanos,
    /// What.
    pub fault: Fault,
}

/// The kinds of fault the nemesis can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NemesisKind {
    /// Crash a server and restart it later from its durable storage.
    CrashRecover,
    /// Crash a server for good.
    CrashStop,
    /// Pause a server and resume it later.
    Pause,
    /// Impose a random partition pattern and heal it later.
    Partition,
    /// Jump a server's clock and jump it back later.
    ClockJump,
    /// Crash a server and restart it from its durable storage within
    /// `crash_blip_ns_min..=crash_blip_ns_max` (milliseconds: shorter than a client's timeout).
    CrashBlip,
    /// Impose a random partition pattern that holds the messages it cuts, and heal it later,
    /// releasing them (all at once half the time, else spread over up to
    /// `hold_release_spread_ns_max`).
    Hold,
    /// Replay the last up to `replay_window_ns_max` of messages from one server to another,
    /// `replay_delay` from now.
    Replay,
}

/// The random nemesis. Defaults: every 5 s on average a fault of a random kind that lasts
/// 1–10 s, never more than a minority of servers down at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NemesisConfig {
    /// Which kinds of fault to draw from (uniformly).
    pub kinds: Vec<NemesisKind>,
    /// Mean time between the starts of two faults (exponentially distributed).
    pub interval_ns_mean: Nanos,
    /// Shortest time a fault lasts before its undo.
    pub duration_ns_min: Nanos,
    /// Longest time a fault lasts before its undo.
    pub duration_ns_max: Nanos,
    /// Largest clock jump, either direction.
    pub clock_jump_ns_max: Nanos,
    /// At most this many servers crashed or paused at once; default: a minority.
    pub down_max: Option<usize>,
    /// No fault starts before this time.
    pub start_ns: Nanos,
    /// No fault starts at or after this time (faults already started are still undone).
    pub stop_ns: Option<Nanos>,
    /// Swarm testing: draw the kinds (a random non-empty subset of `kinds`) and the intensity
    /// (interval and durations scaled by random factors) from the seed, so a sweep explores
    /// many different fault profiles instead of one.
    pub swarm: bool,
    /// Where the nemesis's partitions put the clients: `free` (the default) leaves them
    /// connected to every server, so a protocol whose servers never talk to each other is
    /// untouched by partitions; `spread` attaches each client to a random server's side of
    /// every partition (see [`ClientPlacement`]).
    pub partition_clients: ClientPlacement,
    /// How long faults last, when set: drawn from this distribution (a heavy-tailed one mixes
    /// short and long faults) and clamped to `duration_ns_min..=duration_ns_max`, instead of
    /// uniformly in that range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_dist: Option<LatencyDist>,
    /// Shortest outage of a `crash_blip` (default 1 ms).
    pub crash_blip_ns_min: Nanos,
    /// Longest outage of a `crash_blip` (default 50 ms).
    pub crash_blip_ns_max: Nanos,
    /// Largest spread of the release of a `hold`'s messages (default 100 ms).
    pub hold_release_spread_ns_max: Nanos,
    /// Largest window of a `replay` (default 1 s); each replay draws its window uniformly
    /// up to this.
    pub replay_window_ns_max: Nanos,
    /// How long from the `replay` its copies arrive (default: Pareto from 200 ms with shape
    /// 1.2: median 0.36 s, one in ten beyond 1.4 s, one in a hundred beyond 9 s).
    pub replay_delay: LatencyDist,
}

impl Default for NemesisConfig {
    fn default() -> Self {
        Self {
            kinds: vec![
                NemesisKind::CrashRecover,
                NemesisKind::Pause,
                NemesisKind::Partition,
                NemesisKind::ClockJump,
            ],
            interval_ns_mean: 5_000_000_000,
            duration_ns_min: 1_000_000_000,
            duration_ns_max: 10_000_000_000,
            clock_jump_ns_max: 2_000_000_000,
            down_max: None,
            start_ns: 0,
            stop_ns: None,
            swarm: false,
            partition_clients: ClientPlacement::Free,
            duration_dist: None,
            crash_blip_ns_min: 1_000_000,
            crash_blip_ns_max: 50_000_000,
            hold_release_spread_ns_max: 100_000_000,
            replay_window_ns_max: 1_000_000_000,
            replay_delay: LatencyDist::Pareto {
                min_ns: 200_000_000,
                shape: 1.2,
            },
        }
    }
}

impl NemesisConfig {
    /// Checks the parameters against their ranges: a mean interval of at least
    /// [`NEMESIS_INTERVAL_NS_MIN`], every time at most [`DURATION_NS_MAX`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.kinds.is_empty() {
            return Err(ConfigError::new(
                "nemesis.kinds",
                "at least one kind is needed",
            ));
        }
        check_len("nemesis.kinds", self.kinds.len(), NEMESIS_KINDS_MAX)?;
        check_ns(
            "nemesis.interval_ns_mean",
            self.interval_ns_mean,
            NEMESIS_INTERVAL_NS_MIN..=DURATION_NS_MAX,
        )?;
        check_ns(
            "nemesis.duration_ns_max",
            self.duration_ns_max,
            0..=DURATION_NS_MAX,
        )?;
        if self.duration_ns_min > self.duration_ns_max {
            return Err(ConfigError::new(
                "nemesis.duration_ns_min",
                "must not exceed nemesis.duration_ns_max",
            ));
        }
        check_ns(
            "nemesis.clock_jump_ns_max",
            self.clock_jump_ns_max,
            0..=DURATION_NS_MAX,
        )?;
        if let Some(down_max) = self.down_max {
            check("nemesis.down_max", down_max, 0..=SERVERS_MAX as usize)?;
        }
        check_ns("nemesis.start_ns", self.start_ns, 0..=DURATION_NS_MAX)?;
        if let Some(stop_ns) = self.stop_ns {
            check_ns("nemesis.stop_ns", stop_ns, 0..=DURATION_NS_MAX)?;
        }
        if let Some(dist) = &self.duration_dist {
            dist.validate("nemesis.duration_dist")?;
        }
        check_ns(
            "nemesis.crash_blip_ns_max",
            self.crash_blip_ns_max,
            0..=DURATION_NS_MAX,
        )?;
        check_ns(
            "nemesis.crash_blip_ns_min",
            self.crash_blip_ns_min,
            0..=self.crash_blip_ns_max,
        )?;
        check_ns(
            "nemesis.hold_release_spread_ns_max",
            self.hold_release_spread_ns_max,
            0..=DURATION_NS_MAX,
        )?;
        check_ns(
            "nemesis.replay_window_ns_max",
            self.replay_window_ns_max,
            0..=DURATION_NS_MAX,
        )?;
        self.replay_delay.validate("nemesis.replay_delay")
    }
}

/// Most entries in `nemesis.kinds` (a kind may be listed more than once to draw it more often).
pub const NEMESIS_KINDS_MAX: usize = 64;

impl ScheduledFault {
    /// Checks the fault's times and amounts against their ranges (`at_ns`, a jump's
    /// `delta_ns`, a hold's `release_spread_ns`, a replay's `window_ns` and `delay_ns`, at
    /// most [`DURATION_NS_MAX`]; a drift within ±[`DRIFT_PPM_MAX`]). `field` names it, e.g.
    /// `faults[3]`. Node ids are checked when the simulation is built.
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        check_ns(&format!("{field}.at_ns"), self.at_ns, 0..=DURATION_NS_MAX)?;
        let ns = |name: &str, value: Nanos| {
            check_ns(&format!("{field}.fault.{name}"), value, 0..=DURATION_NS_MAX)
        };
        match self.fault {
            Fault::Hold {
                release_spread_ns, ..
            } => ns("release_spread_ns", release_spread_ns),
            Fault::Replay {
                window_ns,
                delay_ns,
                ..
            } => {
                ns("window_ns", window_ns)?;
                ns("delay_ns", delay_ns)
            }
            Fault::ClockJump { delta_ns, .. } => check_signed_ns(
                &format!("{field}.fault.delta_ns"),
                delta_ns,
                DURATION_NS_MAX,
            ),
            Fault::ClockDrift { drift_ppm, .. } => check_f64(
                &format!("{field}.fault.drift_ppm"),
                drift_ppm,
                -DRIFT_PPM_MAX..=DRIFT_PPM_MAX,
            ),
            _ => Ok(()),
        }
    }
}

/// A fault the nemesis decided on, with the undo it wants and when.
#[derive(Clone, Debug, PartialEq)]
pub struct NemesisMove {
    /// The kind drawn.
    pub kind: NemesisKind,
    /// Apply now.
    pub fault: Fault,
    /// Apply `after_ns` later, if any.
    pub undo: Option<(Nanos, Fault)>,
}

/// The nemesis at run time: draws faults from the fault stream.
#[derive(Debug)]
pub struct Nemesis {
    config: NemesisConfig,
    rng: SimRng,
    down_max: usize,
    /// `config.duration_dist`, prepared.
    duration: Option<LatencySampler>,
    /// `config.replay_delay`, prepared.
    replay_delay: LatencySampler,
}

impl Nemesis {
    /// A nemesis for a cluster of `servers` servers.
    pub fn new(
        config: NemesisConfig,
        servers: usize,
        mut rng: SimRng,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let down_max = config.down_max.unwrap_or(servers.saturating_sub(1) / 2);
        let config = if config.swarm {
            swarm_profile(config, &mut rng)
        } else {
            config
        };
        let duration = config
            .duration_dist
            .as_ref()
            .map(|d| d.sampler("nemesis.duration_dist"))
            .transpose()?;
        let replay_delay = config.replay_delay.sampler("nemesis.replay_delay")?;
        Ok(Self {
            config,
            rng,
            down_max,
            duration,
            replay_delay,
        })
    }

    /// The longest window a replay of this nemesis may reach back: the engine keeps that
    /// much of the recent messages (none when the nemesis cannot draw `replay`).
    pub fn replay_window_ns_max(&self) -> Nanos {
        if self.config.kinds.contains(&NemesisKind::Replay) {
            self.config.replay_window_ns_max
        } else {
            0
        }
    }

    /// The configuration in force (for a swarm nemesis, the profile drawn from the seed).
    pub fn config(&self) -> &NemesisConfig {
        &self.config
    }

    /// When the first fault may start.
    pub fn first_tick(&mut self) -> Nanos {
        self.config.start_ns.saturating_add(self.gap())
    }

    /// Time until the next fault, or `None` if the nemesis stops before then.
    pub fn next_tick(&mut self, now: Nanos) -> Option<Nanos> {
        let at = now.saturating_add(self.gap());
        self.active_at(at).then_some(at)
    }

    /// Whether faults may start at `at`.
    pub fn active_at(&self, at: Nanos) -> bool {
        at >= self.config.start_ns && self.config.stop_ns.is_none_or(|stop| at < stop)
    }

    /// Draws the next move. `down` lists servers that are crashed or paused now;
    /// `partitioned` says whether a partition is in force.
    pub fn draw(
        &mut self,
        servers: &[NodeId],
        down: &[NodeId],
        partitioned: bool,
    ) -> Option<NemesisMove> {
        let kind = *self.config.kinds.choose(&mut self.rng)?;
        let (min, max) = (self.config.duration_ns_min, self.config.duration_ns_max);
        let duration = match &self.duration {
            Some(dist) => dist.sample(&mut self.rng).clamp(min, max),
            None => self.rng.random_range(min..=max),
        };
        let up: Vec<NodeId> = servers
            .iter()
            .copied()
            .filter(|s| !down.contains(s))
            .collect();
        let may_take_down = down.len() < self.down_max;
        let mv = match kind {
            NemesisKind::CrashRecover
            | NemesisKind::CrashStop
            | NemesisKind::Pause
            | NemesisKind::CrashBlip => {
                if !may_take_down {
                    return None;
                }
                let node = *up.choose(&mut self.rng)?;
                match kind {
                    NemesisKind::CrashBlip => {
                        let blip = self.rng.random_range(
                            self.config.crash_blip_ns_min..=self.config.crash_blip_ns_max,
                        );
                        NemesisMove {
                            kind,
                            fault: Fault::Crash { node },
                            undo: Some((blip, Fault::Restart { node })),
                        }
                    }
                    NemesisKind::CrashRecover => NemesisMove {
                        kind,
                        fault: Fault::Crash { node },
                        undo: Some((duration, Fault::Restart { node })),
                    },
                    NemesisKind::CrashStop => NemesisMove {
                        kind,
                        fault: Fault::Crash { node },
                        undo: None,
                    },
                    _ => NemesisMove {
                        kind,
                        fault: Fault::Pause { node },
                        undo: Some((duration, Fault::Resume { node })),
                    },
                }
            }
            NemesisKind::Partition | NemesisKind::Hold => {
                if partitioned {
                    return None;
                }
                let spec = self.pattern(servers.len())?;
                let fault = if kind == NemesisKind::Hold {
                    let max = self.config.hold_release_spread_ns_max;
                    let release_spread_ns = if self.rng.random_bool(0.5) {
                        0
                    } else {
                        self.rng.random_range(0..=max)
                    };
                    Fault::Hold {
                        partition: spec,
                        release_spread_ns,
                    }
                } else {
                    Fault::Partition(spec)
                };
                NemesisMove {
                    kind,
                    fault,
                    undo: Some((duration, Fault::Heal)),
                }
            }
            NemesisKind::Replay => {
                // Server to server: stale replies and requests of an old term between the
                // servers themselves (clients are left alone: a client's request replayed
                // after it moved on needs a protocol with client sessions to be harmless).
                let from = *servers.choose(&mut self.rng)?;
                let others: Vec<NodeId> = servers.iter().copied().filter(|s| *s != from).collect();
                let to = *others.choose(&mut self.rng)?;
                let window_ns = self.rng.random_range(0..=self.config.replay_window_ns_max);
                let delay_ns = self.replay_delay.sample(&mut self.rng);
                NemesisMove {
                    kind,
                    fault: Fault::Replay {
                        from: Some(from),
                        to: Some(to),
                        window_ns,
                        delay_ns,
                    },
                    undo: None,
                }
            }
            NemesisKind::ClockJump => {
                let node = *up.choose(&mut self.rng)?;
                let max = self.config.clock_jump_ns_max as i64;
                let delta_ns = self.rng.random_range(-max..=max);
                NemesisMove {
                    kind,
                    fault: Fault::ClockJump { node, delta_ns },
                    undo: Some((
                        duration,
                        Fault::ClockJump {
                            node,
                            delta_ns: -delta_ns,
                        },
                    )),
                }
            }
        };
        Some(mv)
    }

    /// A random named partition pattern over `servers` servers, clients placed as configured.
    fn pattern(&mut self, servers: usize) -> Option<PartitionSpec> {
        let mut patterns = vec![PartitionSpec::isolate(None), PartitionSpec::halves()];
        if servers >= 4 {
            patterns.push(PartitionSpec::majority_ring());
        }
        if servers >= 3 {
            patterns.push(PartitionSpec::bridge());
        }
        // The placement draws nothing here (the engine draws each client's side when it
        // imposes the partition), so `free` leaves the fault stream as it was.
        Some(
            patterns
                .choose(&mut self.rng)?
                .clone()
                .with_clients(self.config.partition_clients),
        )
    }

    fn gap(&mut self) -> Nanos {
        // Exponential gaps: a memoryless process, so faults cluster and spread as in the wild.
        let u: f64 = self.rng.random_range(f64::MIN_POSITIVE..1.0);
        (-libm::log(u) * self.config.interval_ns_mean as f64).min(1e18) as Nanos
    }
}

/// Draws a swarm profile: a random non-empty subset of the kinds, the mean interval scaled by
/// 1/4 to 4, and durations scaled by 1/4 to 2.
fn swarm_profile(mut config: NemesisConfig, rng: &mut SimRng) -> NemesisConfig {
    let all = std::mem::take(&mut config.kinds);
    config.kinds = all
        .iter()
        .copied()
        .filter(|_| rng.random_bool(0.5))
        .collect();
    if config.kinds.is_empty() {
        config.kinds.extend(all.choose(rng));
    }
    let scale = |x: Nanos, lo: f64, hi: f64, rng: &mut SimRng| {
        let factor = libm::exp2(rng.random_range(libm::log2(lo)..=libm::log2(hi)));
        ((x as f64 * factor) as Nanos).max(1)
    };
    config.interval_ns_mean = scale(config.interval_ns_mean, 0.25, 4.0, rng);
    config.duration_ns_max = scale(config.duration_ns_max, 0.25, 2.0, rng);
    config.duration_ns_min = config.duration_ns_min.min(config.duration_ns_max);
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, stream};

    fn servers(n: u32) -> Vec<NodeId> {
        (0..n).map(NodeId).collect()
    }

    #[test]
    fn nemesis_never_takes_down_more_than_a_minority() {
        let cfg = NemesisConfig {
            kinds: vec![NemesisKind::CrashStop],
            ..Default::default()
        };
        let mut nem = Nemesis::new(cfg, 5, stream(1, Stream::Faults)).unwrap();
        let mut down = Vec::new();
        for _ in 0..20 {
            if let Some(mv) = nem.draw(&servers(5), &down, false) {
                down.push(mv.fault.node().unwrap());
            }
        }
        assert_eq!(
            down.len(),
            2,
            "a 5-node cluster tolerates 2 down, got {down:?}"
        );
    }

    #[test]
    fn nemesis_undoes_what_it_does() {
        let mut nem = Nemesis::new(NemesisConfig::default(), 5, stream(9, Stream::Faults)).unwrap();
        for _ in 0..100 {
            let Some(mv) = nem.draw(&servers(5), &[], false) else {
                continue;
            };
            let (after, undo) = mv.undo.expect("default kinds all have an undo");
            assert!((1_000_000_000..=10_000_000_000).contains(&after));
            assert!(mv.fault.undone_by(&undo), "{:?} then {undo:?}", mv.fault);
        }
    }

    #[test]
    fn only_the_matching_fault_undoes_one() {
        let crash = Fault::Crash { node: NodeId(0) };
        assert!(crash.undone_by(&Fault::Restart { node: NodeId(0) }));
        assert!(!crash.undone_by(&Fault::Restart { node: NodeId(1) }));
        assert!(!crash.undone_by(&Fault::Resume { node: NodeId(0) }));
        let jump = |delta_ns| Fault::ClockJump {
            node: NodeId(2),
            delta_ns,
        };
        assert!(jump(5).undone_by(&jump(-5)));
        assert!(!jump(5).undone_by(&jump(5)));
        assert!(!Fault::Heal.undone_by(&Fault::Heal));
    }

    #[test]
    fn nemesis_does_not_stack_partitions() {
        let cfg = NemesisConfig {
            kinds: vec![NemesisKind::Partition],
            ..Default::default()
        };
        let mut nem = Nemesis::new(cfg, 5, stream(2, Stream::Faults)).unwrap();
        assert!(nem.draw(&servers(5), &[], true).is_none());
        assert!(nem.draw(&servers(5), &[], false).is_some());
    }

    #[test]
    fn nemesis_partitions_place_clients_as_configured() {
        let spread = NemesisConfig {
            kinds: vec![NemesisKind::Partition],
            partition_clients: ClientPlacement::Spread,
            ..Default::default()
        };
        let free = NemesisConfig {
            partition_clients: ClientPlacement::Free,
            ..spread.clone()
        };
        let mut a = Nemesis::new(spread, 5, stream(4, Stream::Faults)).unwrap();
        let mut b = Nemesis::new(free, 5, stream(4, Stream::Faults)).unwrap();
        for _ in 0..20 {
            let (Some(x), Some(y)) = (
                a.draw(&servers(5), &[], false),
                b.draw(&servers(5), &[], false),
            ) else {
                panic!("a partition is always possible on a healed network");
            };
            let (Fault::Partition(x), Fault::Partition(y)) = (x.fault, y.fault) else {
                panic!("only partitions were asked for");
            };
            assert_eq!(x.clients(), ClientPlacement::Spread);
            assert_eq!(y.clients(), ClientPlacement::Free);
            assert_eq!(
                x.with_clients(ClientPlacement::Free),
                y,
                "the same patterns in the same order"
            );
        }
        let read: NemesisConfig =
            serde_json::from_str(r#"{"partition_clients": "spread"}"#).unwrap();
        assert_eq!(read.partition_clients, ClientPlacement::Spread);
        assert!(serde_json::from_str::<NemesisConfig>(r#"{"partition_clients": true}"#).is_err());
    }

    #[test]
    fn nemesis_respects_its_window() {
        let cfg = NemesisConfig {
            start_ns: 100,
            stop_ns: Some(200),
            ..Default::default()
        };
        let nem = Nemesis::new(cfg, 3, stream(2, Stream::Faults)).unwrap();
        assert!(!nem.active_at(99));
        assert!(nem.active_at(150));
        assert!(!nem.active_at(200));
    }

    #[test]
    fn swarm_profiles_differ_by_seed_and_stay_within_the_configured_kinds() {
        let base = NemesisConfig {
            swarm: true,
            ..Default::default()
        };
        let profiles: Vec<NemesisConfig> = (0..20)
            .map(|seed| {
                Nemesis::new(base.clone(), 5, stream(seed, Stream::Faults))
                    .unwrap()
                    .config()
                    .clone()
            })
            .collect();
        for p in &profiles {
            assert!(!p.kinds.is_empty());
            assert!(p.kinds.iter().all(|k| base.kinds.contains(k)));
            assert!(
                (base.interval_ns_mean / 4..=base.interval_ns_mean * 4)
                    .contains(&p.interval_ns_mean)
            );
            assert!(p.duration_ns_min <= p.duration_ns_max);
        }
        let distinct_kinds: std::collections::BTreeSet<_> =
            profiles.iter().map(|p| p.kinds.clone()).collect();
        assert!(
            distinct_kinds.len() >= 5,
            "swarm should vary the mix: {distinct_kinds:?}"
        );
        let same = Nemesis::new(base.clone(), 5, stream(3, Stream::Faults)).unwrap();
        assert_eq!(
            same.config(),
            &profiles[3],
            "the profile is a function of the seed"
        );
    }

    /// The late-delivery settings draw nothing unless their kinds are listed: a nemesis of
    /// the old kinds draws the same moves whatever they say.
    #[test]
    fn late_delivery_settings_leave_the_old_kinds_draws_alone() {
        let old = NemesisConfig::default();
        let tuned = NemesisConfig {
            crash_blip_ns_max: 7_000_000,
            hold_release_spread_ns_max: 1,
            replay_window_ns_max: 5,
            replay_delay: LatencyDist::Constant { ns: 3 },
            ..old.clone()
        };
        let mut a = Nemesis::new(old, 5, stream(6, Stream::Faults)).unwrap();
        let mut b = Nemesis::new(tuned, 5, stream(6, Stream::Faults)).unwrap();
        assert_eq!(b.replay_window_ns_max(), 0, "no replay kind, nothing kept");
        for _ in 0..200 {
            assert_eq!(a.gap(), b.gap());
            assert_eq!(
                a.draw(&servers(5), &[], false),
                b.draw(&servers(5), &[], false)
            );
        }
    }

    /// Each late-delivery kind draws its own fault with its undo (if any) within bounds, and a
    /// swarm over them keeps to them.
    #[test]
    fn late_delivery_kinds_draw_their_faults() {
        let cfg = NemesisConfig {
            kinds: vec![
                NemesisKind::CrashBlip,
                NemesisKind::Hold,
                NemesisKind::Replay,
            ],
            ..Default::default()
        };
        let mut nem = Nemesis::new(cfg.clone(), 5, stream(8, Stream::Faults)).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..100 {
            let mv = nem.draw(&servers(5), &[], false).unwrap();
            seen.insert(mv.kind);
            match (mv.kind, &mv.fault, &mv.undo) {
                (NemesisKind::CrashBlip, Fault::Crash { .. }, Some((after, undo))) => {
                    assert!((1_000_000..=50_000_000).contains(after));
                    assert!(mv.fault.undone_by(undo));
                }
                (
                    NemesisKind::Hold,
                    Fault::Hold {
                        release_spread_ns, ..
                    },
                    Some((_, Fault::Heal)),
                ) => assert!(*release_spread_ns <= cfg.hold_release_spread_ns_max),
                (NemesisKind::Replay, Fault::Replay { from, to, .. }, None) => {
                    assert!(from.is_some() && to.is_some() && from != to);
                }
                other => panic!("unexpected move {other:?}"),
            }
        }
        assert_eq!(seen.len(), 3);
        assert!(
            nem.draw(&servers(5), &[], true)
                .is_none_or(|m| m.kind != NemesisKind::Hold)
        );
        let swarm = NemesisConfig {
            swarm: true,
            ..cfg.clone()
        };
        for seed in 0..20 {
            let nem = Nemesis::new(swarm.clone(), 5, stream(seed, Stream::Faults)).unwrap();
            assert!(nem.config().kinds.iter().all(|k| cfg.kinds.contains(k)));
        }
    }

    #[test]
    fn bad_nemesis_configs_are_rejected() {
        let empty = NemesisConfig {
            kinds: vec![],
            ..Default::default()
        };
        assert!(empty.validate().unwrap_err().field.contains("kinds"));
        let inverted = NemesisConfig {
            duration_ns_min: 10,
            duration_ns_max: 1,
            ..Default::default()
        };
        assert!(inverted.validate().is_err());
    }

    #[test]
    fn faults_read_from_json() {
        let f: ScheduledFault = serde_json::from_str(
            r#"{"at_ns": 5, "fault": {"kind": "partition", "pattern": "halves"}}"#,
        )
        .unwrap();
        assert_eq!(f.fault, Fault::Partition(PartitionSpec::halves()));
        let bad: Result<Fault, _> = serde_json::from_str(r#"{"kind": "crash", "nod": 1}"#);
        assert!(bad.is_err());
    }
}
