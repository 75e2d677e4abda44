//! The configuration of one run: seed, duration, network, clocks, faults, workload and limits.
//! Plain data with defaults, so the scenario layer can fill it from a file.

use serde::{Deserialize, Serialize};

use crate::bounds::{DURATION_NS_MAX, FAULTS_MAX, check, check_f64, check_len, check_ns};
use crate::buggify::BuggifyConfig;
use crate::clock::DRIFT_PPM_MAX;
use crate::error::ConfigError;
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

    /// The most client operations this run can issue (0 without a workload); see
    /// [`WorkloadConfig::ops_bound`].
    pub fn ops_bound(&self) -> u64 {
        self.workload.as_ref().map_or(0, |w| {
            w.ops_bound(self.duration_ns, self.limits.history_events_max)
        })
    }

    /// Checks every number against its range (see [`crate::bounds`]) and every section
    /// against its own rules, naming the field at fault. What depends on the nodes (node ids,
    /// partitions, the memory a run needs) is checked when the simulation is built.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_ns("duration_ns", self.duration_ns, 1..=DURATION_NS_MAX).map_err(|e| {
            if self.duration_ns == 0 {
                ConfigError::new(
                    "duration_ns",
                    "must be positive (a run of no time tests nothing), e.g. 10 s",
                )
            } else {
                e
            }
        })?;
        self.network.validate()?;
        if let Some(skew) = &self.clock_skew {
            skew.validate()?;
        }
        check_len("faults", self.faults.len(), FAULTS_MAX)?;
        for (i, fault) in self.faults.iter().enumerate() {
            fault.validate(&format!("faults[{i}]"))?;
        }
        if let Some(nemesis) = &self.nemesis {
            nemesis.validate()?;
        }
        if let Some(workload) = &self.workload {
            workload.validate()?;
        }
        if let Some(at) = self.heal_all_at_ns {
            check_ns("heal_all_at_ns", at, 0..=self.duration_ns)?;
        }
        self.limits.validate()
    }
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
    /// Largest initial offset either way (at most [`DURATION_NS_MAX`]).
    pub offset_ns_max: Nanos,
    /// Largest drift either way, in ppm (at most [`DRIFT_PPM_MAX`]).
    pub drift_ppm_max: f64,
}

impl ClockSkew {
    /// Checks both bounds against their ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_ns(
            "clocks.skew.offset_ns_max",
            self.offset_ns_max,
            0..=DURATION_NS_MAX,
        )?;
        check_f64(
            "clocks.skew.drift_ppm_max",
            self.drift_ppm_max,
            0.0..=DRIFT_PPM_MAX,
        )
    }
}

/// Explicit bounds. Reaching one stops the run with [`crate::SimError::LimitReached`]
/// instead of letting memory or time grow without bound; `memory_bytes_max` is checked before
/// the run starts (see [`crate::footprint`]). The defaults keep a run within about a minute of
/// this project's 2-core machine and within 2 GB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Most events one run may process (default 10 million: 3 to 35 seconds on a 2-core
    /// machine, depending on the protocol). Counted, not timed, so where a run stops is
    /// deterministic.
    pub events_max: u64,
    /// Most events waiting at once, in the queue or held for a paused node (messages in
    /// flight, timers, faults; default 1 million).
    pub queue_len_max: usize,
    /// Most history events one run may record (default 200,000: 100,000 operations).
    pub history_events_max: usize,
    /// Most violations kept in detail; later ones are only counted.
    pub violations_kept_max: usize,
    /// Most timers one node may have pending at once.
    pub timers_per_node_max: usize,
    /// Most events a paused node may have waiting for it.
    pub deferred_per_node_max: usize,
    /// Most fault records kept for the coverage report (later faults are only counted).
    pub fault_records_max: usize,
    /// Most memory a run may be estimated to need before it starts (default 2 GB): nodes and
    /// their protocol state, the queue and the history at their limits.
    pub memory_bytes_max: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            events_max: 10_000_000,
            queue_len_max: 1_000_000,
            history_events_max: 200_000,
            violations_kept_max: 1_000,
            timers_per_node_max: 100_000,
            deferred_per_node_max: 1_000_000,
            fault_records_max: 100_000,
            memory_bytes_max: 2_000_000_000,
        }
    }
}

impl Limits {
    /// The range each limit must lie in, by field name.
    pub const RANGES: [(&'static str, u64, u64); 8] = [
        ("events_max", 1, 1_000_000_000_000),
        ("queue_len_max", 1, 100_000_000),
        ("history_events_max", 0, 100_000_000),
        ("violations_kept_max", 0, 1_000_000),
        ("timers_per_node_max", 1, 100_000_000),
        ("deferred_per_node_max", 1, 100_000_000),
        ("fault_records_max", 0, 10_000_000),
        ("memory_bytes_max", 1_000_000, 1_000_000_000_000),
    ];

    /// Checks every limit against its range ([`Limits::RANGES`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let values = [
            self.events_max,
            self.queue_len_max as u64,
            self.history_events_max as u64,
            self.violations_kept_max as u64,
            self.timers_per_node_max as u64,
            self.deferred_per_node_max as u64,
            self.fault_records_max as u64,
            self.memory_bytes_max,
        ];
        for ((name, min, max), value) in Self::RANGES.into_iter().zip(values) {
            check(&format!("limits.{name}"), value, min..=max)?;
        }
        Ok(())
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

    /// Every section's numbers are checked against their ranges, and the error names the
    /// field, the value and the range.
    #[test]
    fn out_of_range_values_are_refused_with_the_field() {
        let field = |config: SimConfig| config.validate().unwrap_err();
        let e = field(SimConfig {
            duration_ns: 1000 * 3600 * crate::time::SECONDS,
            ..SimConfig::default()
        });
        assert_eq!(e.field, "duration_ns");
        assert!(
            e.message.contains("(1000 h)") && e.message.contains("to 24 h"),
            "{e}"
        );
        let e = field(SimConfig {
            limits: Limits {
                queue_len_max: 0,
                ..Limits::default()
            },
            ..SimConfig::default()
        });
        assert_eq!(e.field, "limits.queue_len_max");
        let e = field(SimConfig {
            faults: vec![ScheduledFault {
                at_ns: 5,
                fault: crate::Fault::ClockJump {
                    node: crate::NodeId(0),
                    delta_ns: i64::MIN,
                },
            }],
            ..SimConfig::default()
        });
        assert_eq!(e.field, "faults[0].fault.delta_ns");
        let e = field(SimConfig {
            workload: Some(WorkloadConfig {
                clients: u32::MAX,
                ..WorkloadConfig::default()
            }),
            ..SimConfig::default()
        });
        assert_eq!(e.field, "workload.clients");
        let e = field(SimConfig {
            nemesis: Some(NemesisConfig {
                interval_ns_mean: 1,
                ..NemesisConfig::default()
            }),
            ..SimConfig::default()
        });
        assert_eq!(e.field, "nemesis.interval_ns_mean");
        let e = field(SimConfig {
            network: NetworkConfig {
                reorder_delay_ns_max: u64::MAX,
                ..NetworkConfig::default()
            },
            ..SimConfig::default()
        });
        assert_eq!(e.field, "network.reorder_delay_ns_max");
        let e = field(SimConfig {
            clock_skew: Some(ClockSkew {
                offset_ns_max: 0,
                drift_ppm_max: f64::NAN,
            }),
            ..SimConfig::default()
        });
        assert_eq!(e.field, "clocks.skew.drift_ppm_max");
        assert!(SimConfig::default().validate().is_ok());
    }
}
