//! The election-downtime experiment of §9.3 of the Raft paper: five servers, the leader
//! crashed at a random moment within its heartbeat interval (half the minimum election
//! timeout, as in the paper), and the time until a new leader is elected, over many trials for
//! each election-timeout range.
//!
//! One trial is two deterministic runs of the same seed: the first finds the leader at the
//! crash time, the second schedules the crash of that leader and runs until a server wins a
//! later term (the runs are identical up to the crash, because the engine's event order and
//! random streams do not depend on a fault scheduled later). Servers boot 20 ms apart so that
//! even a range like 150–150 ms has a first leader to crash; clocks are perfect, so the
//! leaders' local election times are true times. The network's one-way latency is uniform in
//! [`LATENCY_NS_MIN`, `LATENCY_NS_MAX`]. Narrow ranges are sensitive to that choice: once the
//! timeout randomization is below the latency spread, candidates' requests cross and split
//! votes repeat (with 2–8 ms links, 150–151 ms is slower than 150–150 ms).
//! Leader stickiness is off, as in the paper's algorithm: with it, ranges narrower than the
//! network's latency spread almost never elect (every voter is either still "fresh" or
//! already a candidate itself).

use serde::Serialize;
use sim_core::{
    Fault, LatencyDist, MICROS, Nanos, NetworkConfig, NodeId, ScheduledFault, SimBuilder,
    SimConfig, Simulation, ms,
};

use super::{RaftMsg, RaftOptions, add_servers};

/// Servers in the cluster, as in the paper.
pub const SERVERS: u32 = 5;
/// Shortest one-way latency (the engine's healthy data-centre link).
pub const LATENCY_NS_MIN: Nanos = 500 * MICROS;
/// Longest one-way latency.
pub const LATENCY_NS_MAX: Nanos = 1_500 * MICROS;
/// The cluster runs this long before the crash, so a first leader is established.
const WARMUP_NS: Nanos = ms(2_000);
/// A trial without a new leader this long after the crash counts as not elected.
const TRIAL_NS_MAX: Nanos = ms(30_000);
/// Gap between server boots.
const BOOT_STAGGER_NS: Nanos = ms(20);
/// Points on each range's cumulative distribution (0 %, 1 %, ..., 100 %).
const CDF_POINTS: usize = 101;

/// An election-timeout range in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TimeoutRange {
    /// Shortest timeout.
    pub min_ms: u64,
    /// Longest timeout.
    pub max_ms: u64,
}

impl TimeoutRange {
    /// Parses `150-300`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (a, b) = text
            .split_once('-')
            .ok_or_else(|| format!("`{text}`: expected MIN-MAX in milliseconds, e.g. 150-300"))?;
        let num = |s: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{text}`: `{s}` is not a whole number of milliseconds"))
        };
        let range = Self {
            min_ms: num(a)?,
            max_ms: num(b)?,
        };
        if range.min_ms < 2 || range.max_ms < range.min_ms {
            return Err(format!("`{text}`: need 2 <= MIN <= MAX"));
        }
        Ok(range)
    }
}

/// One point of a cumulative distribution: `fraction` of the trials elected within `ms`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CdfPoint {
    /// Downtime in milliseconds.
    pub ms: f64,
    /// Fraction of the elected trials with at most that downtime.
    pub fraction: f64,
}

/// The results for one timeout range.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RangeResult {
    /// The range.
    pub range: TimeoutRange,
    /// Trials run.
    pub trials: u32,
    /// Trials in which a new leader was elected within the trial limit.
    pub elected: u32,
    /// Trials in which the crashed server was not the leader at the crash (not counted).
    pub skipped: u32,
    /// Downtime percentiles over the elected trials, in milliseconds.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Longest.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
    /// The cumulative distribution.
    pub cdf: Vec<CdfPoint>,
}

/// The whole experiment's results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ElectionDowntime {
    /// The seed all trials derive from.
    pub seed: u64,
    /// Servers per cluster.
    pub servers: u32,
    /// One entry per range, in the order given.
    pub ranges: Vec<RangeResult>,
}

/// Runs `trials` trials for each range; the same arguments give the same results.
pub fn election_downtime(ranges: &[TimeoutRange], trials: u32, seed: u64) -> ElectionDowntime {
    let ranges = ranges
        .iter()
        .enumerate()
        .map(|(r, &range)| {
            let mut downtimes_ns = Vec::with_capacity(trials as usize);
            let mut skipped = 0;
            for t in 0..trials {
                let trial_seed = mix(seed ^ mix((r as u64) << 32 | u64::from(t)));
                match trial(range, trial_seed) {
                    Trial::Elected(ns) => downtimes_ns.push(ns),
                    Trial::NotElected => {}
                    Trial::Skipped => skipped += 1,
                }
            }
            summarise(range, trials, skipped, downtimes_ns)
        })
        .collect();
    ElectionDowntime {
        seed,
        servers: SERVERS,
        ranges,
    }
}

enum Trial {
    Elected(Nanos),
    NotElected,
    Skipped,
}

fn trial(range: TimeoutRange, seed: u64) -> Trial {
    let options = RaftOptions {
        election_timeout_ns_min: ms(range.min_ms),
        election_timeout_ns_max: ms(range.max_ms),
        heartbeat_ns: ms(range.min_ms) / 2,
        // The paper measured the basic algorithm, without leader stickiness.
        leader_stickiness: false,
        ..RaftOptions::default()
    };
    let crash_at = WARMUP_NS + mix(seed) % options.heartbeat_ns;
    // Run 1: who leads when the crash comes?
    let Some((mut sim, monitor)) = build(&options, seed, None) else {
        return Trial::Skipped;
    };
    while sim.now() < crash_at && sim.step().unwrap_or(false) {}
    let Some(before) = monitor.borrow().elections().last().copied() else {
        return Trial::Skipped;
    };
    drop(sim);
    // Run 2: crash it, and wait for a later term's leader.
    let Some((mut sim, monitor)) = build(&options, seed, Some((before.leader, crash_at))) else {
        return Trial::Skipped;
    };
    while sim.now() < crash_at && sim.step().unwrap_or(false) {}
    if monitor.borrow().elections().last().map(|e| e.term) != Some(before.term) {
        return Trial::Skipped;
    }
    while sim.step().unwrap_or(false) {
        let m = monitor.borrow();
        if let Some(e) = m.elections().last()
            && e.term > before.term
        {
            return Trial::Elected(e.at_local_ns.saturating_sub(crash_at));
        }
    }
    Trial::NotElected
}

type Built = (
    Simulation<RaftMsg>,
    std::rc::Rc<std::cell::RefCell<super::Monitor>>,
);

fn build(options: &RaftOptions, seed: u64, crash: Option<(NodeId, Nanos)>) -> Option<Built> {
    let mut faults = Vec::new();
    for i in 1..SERVERS {
        let node = NodeId(i);
        faults.push(ScheduledFault {
            at_ns: 0,
            fault: Fault::Crash { node },
        });
        faults.push(ScheduledFault {
            at_ns: BOOT_STAGGER_NS * u64::from(i),
            fault: Fault::Restart { node },
        });
    }
    if let Some((node, at_ns)) = crash {
        faults.push(ScheduledFault {
            at_ns,
            fault: Fault::Crash { node },
        });
    }
    let network = NetworkConfig {
        latency: LatencyDist::Uniform {
            min_ns: LATENCY_NS_MIN,
            max_ns: LATENCY_NS_MAX,
        },
        ..NetworkConfig::default()
    };
    let config = SimConfig {
        seed,
        duration_ns: WARMUP_NS + TRIAL_NS_MAX,
        network,
        faults,
        ..SimConfig::default()
    };
    let mut builder = SimBuilder::new(config);
    let monitor = add_servers(options, SERVERS, &mut builder).ok()?;
    Some((builder.build().ok()?, monitor))
}

fn summarise(
    range: TimeoutRange,
    trials: u32,
    skipped: u32,
    mut downtimes_ns: Vec<Nanos>,
) -> RangeResult {
    downtimes_ns.sort_unstable();
    let to_ms = |ns: Nanos| ns as f64 / 1e6;
    let quantile = |q: f64| {
        if downtimes_ns.is_empty() {
            return 0.0;
        }
        // Nearest rank.
        let rank = ((q * downtimes_ns.len() as f64).ceil() as usize).clamp(1, downtimes_ns.len());
        to_ms(downtimes_ns[rank - 1])
    };
    let cdf = if downtimes_ns.is_empty() {
        Vec::new()
    } else {
        (0..CDF_POINTS)
            .map(|i| {
                let fraction = i as f64 / (CDF_POINTS - 1) as f64;
                CdfPoint {
                    ms: quantile(fraction),
                    fraction,
                }
            })
            .collect()
    };
    let mean_ms = if downtimes_ns.is_empty() {
        0.0
    } else {
        downtimes_ns.iter().map(|&d| to_ms(d)).sum::<f64>() / downtimes_ns.len() as f64
    };
    RangeResult {
        range,
        trials,
        elected: downtimes_ns.len() as u32,
        skipped,
        p50_ms: quantile(0.5),
        p90_ms: quantile(0.9),
        p99_ms: quantile(0.99),
        max_ms: quantile(1.0),
        mean_ms,
        cdf,
    }
}

/// SplitMix64: derives independent trial seeds and crash offsets from one seed.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_reject_nonsense() {
        assert_eq!(
            TimeoutRange::parse("150-300").unwrap(),
            TimeoutRange {
                min_ms: 150,
                max_ms: 300
            }
        );
        assert!(TimeoutRange::parse("300-150").is_err());
        assert!(TimeoutRange::parse("150").is_err());
        assert!(TimeoutRange::parse("a-b").is_err());
    }

    #[test]
    fn a_new_leader_follows_a_crash_within_a_few_timeouts() {
        let range = TimeoutRange {
            min_ms: 150,
            max_ms: 300,
        };
        let result = election_downtime(&[range], 20, 7);
        let r = &result.ranges[0];
        assert_eq!(
            r.elected + r.skipped,
            20,
            "every trial elects a leader: {r:?}"
        );
        // Detection alone takes at least the minimum timeout minus a heartbeat interval.
        assert!(r.cdf[0].ms >= 75.0, "{r:?}");
        assert!(r.p50_ms < 600.0, "{r:?}");
        assert_eq!(result, election_downtime(&[range], 20, 7), "deterministic");
    }
}
