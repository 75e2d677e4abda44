//! The configuration of one run: seed, duration, network, clocks, faults, workload and limits.
//! Plain data with defaults, so the scenario layer can fill it from a file.

use serde::{Deserialize, Serialize};

use crate::buggify::BuggifyConfig;
use crate::fault::{NemesisConfig, ScheduledFault};
use crate::network::NetworkConfig;
use crate::time::Nanos;
use crate::workload::WorkloadConfig;

/// Everything the engine needs besides the processes. It serializes to the same field names a
/// scenario file uses, so a configuration drawn by a property test can be written out as one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// The one seed every random choice derives from.
    pub seed: u64,
    /// How long to simulate, in true nanoseconds (default [`SimConfig::DURATION_NS_DEFAULT`],
    /// never 0: a run of no time tests nothing).
    pub duration_ns: Nanos,
    /// The network model.
    pub network: NetworkConfig,
    /// Random clock skew for servers (explicit per-node clocks take precedence).
    pub clock_skew: Option<ClockSkew>,
    /// Faults at fixed times.
    pub faults: Vec<ScheduledFault>,
    /// The random nemesis, if any.
    pub nemesis: Option<NemesisConfig>,
    /// The client workload, if any.
    pub workload: Option<WorkloadConfig>,
    /// Start of a liveness phase: at this time every fault ends at once (heal, restart,
    /// resume) and the nemesis stops, so the rest of the run shows whether the system recovers.
    pub heal_all_at_ns: Option<Nanos>,
    /// Buggify points in the protocols' code: off when `None`.
    pub buggify: Option<BuggifyConfig>,
    /// Bounds on everything that could grow.
    pub limits: Limits,
}

impl SimConfig {
    /// The default length of a run: 10 simulated seconds, as in a scenario file.
    pub const DURATION_NS_DEFAULT: Nanos = 10 * crate::time::SECONDS;
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            duration_ns: Self::DURATION_NS_DEFAULT,
            network: NetworkConfig::default(),
            clock_skew: None,
            faults: Vec::new(),
            nemesis: None,
            workload: None,
            heal_all_at_ns: None,
            buggify: None,
            limits: Limits::default(),
        }
    }
}

/// Draws each server's clock at random: offset uniform in ±`offset_ns_max`, drift uniform in
/// ±`drift_ppm_max`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockSkew {
    /// Largest initial offset either way.
    pub offset_ns_max: Nanos,
    /// Largest drift either way, in ppm.
    pub drift_ppm_max: f64,
}

/// Explicit bounds. Reaching one stops the run with [`crate::SimError::LimitReached`]
/// instead of letting memory or time grow without bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Most events one run may process.
    pub events_max: u64,
    /// Most events waiting in the queue at once (messages in flight, timers, faults).
    pub queue_len_max: usize,
    /// Most history events one run may record.
    pub history_events_max: usize,
    /// Most violations kept in detail; later ones are only counted.
    pub violations_kept_max: usize,
    /// Most timers one node may have pending at once.
    pub timers_per_node_max: usize,
    /// Most events a paused node may have waiting for it.
    pub deferred_per_node_max: usize,
    /// Most fault records kept for the coverage report (later faults are only counted).
    pub fault_records_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            events_max: 10_000_000_000,
            queue_len_max: 10_000_000,
            history_events_max: 10_000_000,
            violations_kept_max: 1_000,
            timers_per_node_max: 100_000,
            deferred_per_node_max: 1_000_000,
            fault_records_max: 100_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_run_lasts_ten_seconds_and_reads_back_from_its_json() {
        let config = SimConfig::default();
        assert_eq!(config.duration_ns, 10 * crate::time::SECONDS);
        let json = serde_json::to_string(&config).unwrap();
        let back: SimConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, config);
        let partial: SimConfig = serde_json::from_str(r#"{"seed": 4}"#).unwrap();
        assert_eq!(
            partial,
            SimConfig {
                seed: 4,
                ..SimConfig::default()
            }
        );
        assert!(serde_json::from_str::<SimConfig>(r#"{"sede": 4}"#).is_err());
    }
}
