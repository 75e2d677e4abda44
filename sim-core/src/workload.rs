//! The client workload generator: which operation each client issues next, on which key, with
//! which argument, and how long it thinks between operations. It draws only from the workload
//! stream, so the network's choices do not change when the workload does.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::bounds::{
    CLIENTS_MAX, DURATION_NS_MAX, KEYS_MAX, MIX_WEIGHT_MAX, RATE_PER_SEC_RANGE, check, check_f64,
    check_ns,
};
use crate::error::ConfigError;
use crate::history::{OpFn, Value};
use crate::rng::SimRng;
use crate::time::{MICROS, Nanos};

/// Relative weights of each operation kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpMix {
    /// Weight of reads.
    pub read: u32,
    /// Weight of writes.
    pub write: u32,
    /// Weight of compare-and-sets.
    pub cas: u32,
    /// Weight of appends.
    pub append: u32,
}

impl Default for OpMix {
    /// Jepsen's usual register mix: half reads, a quarter writes, a quarter cas.
    fn default() -> Self {
        Self {
            read: 2,
            write: 1,
            cas: 1,
            append: 0,
        }
    }
}

impl OpMix {
    /// Each operation with its weight, in a fixed order.
    pub fn weights(&self) -> [(OpFn, u32); 4] {
        [
            (OpFn::Read, self.read),
            (OpFn::Write, self.write),
            (OpFn::Cas, self.cas),
            (OpFn::Append, self.append),
        ]
    }

    /// The same mix with every operation not in `served` weighted 0: a protocol's share of
    /// the default mix (see `Protocol::OPERATIONS`).
    pub fn restricted_to(self, served: &[OpFn]) -> OpMix {
        let keep = |f: OpFn, w: u32| if served.contains(&f) { w } else { 0 };
        OpMix {
            read: keep(OpFn::Read, self.read),
            write: keep(OpFn::Write, self.write),
            cas: keep(OpFn::Cas, self.cas),
            append: keep(OpFn::Append, self.append),
        }
    }

    /// The same mix with `f` weighted `weight`.
    pub fn with_weight(mut self, f: OpFn, weight: u32) -> OpMix {
        match f {
            OpFn::Read => self.read = weight,
            OpFn::Write => self.write = weight,
            OpFn::Cas => self.cas = weight,
            OpFn::Append => self.append = weight,
        }
        self
    }

    fn total(&self) -> u64 {
        self.weights().iter().map(|(_, w)| u64::from(*w)).sum()
    }
}

/// The workload as configured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkloadConfig {
    /// Number of client nodes, each with at most one operation open (Jepsen's concurrency).
    pub clients: u32,
    /// Target total rate of new operations per simulated second, over all clients. Each client
    /// thinks for an exponential time with mean `clients / rate` after each operation.
    pub rate_per_sec: f64,
    /// Number of distinct keys, chosen uniformly.
    pub keys: u64,
    /// The operation mix.
    pub mix: OpMix,
    /// How long a client waits for an answer before it records `info` and moves on.
    pub timeout_ns: Nanos,
    /// No operation starts before this time.
    pub start_ns: Nanos,
    /// No operation starts at or after this time (default: the end of the run).
    pub stop_ns: Option<Nanos>,
    /// Stop after this many operations in all (default: no limit but the run's duration).
    pub ops_max: Option<u64>,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        Self {
            clients: 3,
            rate_per_sec: 100.0,
            keys: 1,
            mix: OpMix::default(),
            timeout_ns: 1_000_000_000,
            start_ns: 0,
            stop_ns: None,
            ops_max: None,
        }
    }
}

impl WorkloadConfig {
    /// Checks the parameters against their ranges: 1 to [`CLIENTS_MAX`] clients, a rate in
    /// [`RATE_PER_SEC_RANGE`], 1 to [`KEYS_MAX`] keys, weights up to [`MIX_WEIGHT_MAX`] (one
    /// positive at least), a timeout from 1 µs, every time at most [`DURATION_NS_MAX`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        check("workload.clients", self.clients, 1..=CLIENTS_MAX)?;
        check_f64(
            "workload.rate_per_sec",
            self.rate_per_sec,
            RATE_PER_SEC_RANGE,
        )?;
        check("workload.keys", self.keys, 1..=KEYS_MAX)?;
        for (f, weight) in self.mix.weights() {
            check(
                &format!("workload.mix.{}", f.name()),
                weight,
                0..=MIX_WEIGHT_MAX,
            )?;
        }
        if self.mix.total() == 0 {
            return Err(ConfigError::new(
                "workload.mix",
                "at least one weight must be positive",
            ));
        }
        check_ns(
            "workload.timeout_ns",
            self.timeout_ns,
            MICROS..=DURATION_NS_MAX,
        )?;
        check_ns("workload.start_ns", self.start_ns, 0..=DURATION_NS_MAX)?;
        if let Some(stop_ns) = self.stop_ns {
            check_ns("workload.stop_ns", stop_ns, 0..=DURATION_NS_MAX)?;
        }
        Ok(())
    }
}

impl WorkloadConfig {
    /// The most operations this workload can issue in a run of `duration_ns` that records at
    /// most `history_events_max` history events: bounded by `ops_max`, by the history (two
    /// events an operation) and by twice the target rate over the workload's window plus one
    /// per client. Protocols size the state their operations leave behind with it.
    pub fn ops_bound(&self, duration_ns: Nanos, history_events_max: usize) -> u64 {
        let end = self.stop_ns.unwrap_or(duration_ns).min(duration_ns);
        let window_s = end.saturating_sub(self.start_ns) as f64 / 1e9;
        let by_rate = (2.0 * self.rate_per_sec * window_s).min(1e18) as u64;
        by_rate
            .saturating_add(u64::from(self.clients))
            .min(history_events_max as u64 / 2 + 1)
            .min(self.ops_max.unwrap_or(u64::MAX))
    }
}

/// The generator at run time.
#[derive(Debug)]
pub struct Workload {
    config: WorkloadConfig,
    rng: SimRng,
    /// Writes and appends use fresh values (1, 2, 3, ...), which makes histories easy to read
    /// and cheap to check: a read names the one write it saw.
    next_value: i64,
    issued: u64,
}

impl Workload {
    /// A generator drawing from `rng` (the workload stream).
    pub fn new(config: WorkloadConfig, rng: SimRng) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            rng,
            next_value: 1,
            issued: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &WorkloadConfig {
        &self.config
    }

    /// Whether a new operation may start at `now`.
    pub fn may_start(&self, now: Nanos) -> bool {
        now >= self.config.start_ns
            && self.config.stop_ns.is_none_or(|stop| now < stop)
            && self.config.ops_max.is_none_or(|max| self.issued < max)
    }

    /// The next operation: function, key and argument.
    pub fn next_op(&mut self) -> (OpFn, u64, Value) {
        self.issued += 1;
        let mix = self.config.mix;
        let total = mix.total();
        // A 32-bit draw while the weights fit (the draw every golden trace hash was made
        // with); a 64-bit one only for weights that do not.
        let mut pick = match u32::try_from(total) {
            Ok(total) => u64::from(self.rng.random_range(0..total)),
            Err(_) => self.rng.random_range(0..total),
        };
        let key = self.rng.random_range(0..self.config.keys);
        let f = mix
            .weights()
            .into_iter()
            .find(|(_, w)| {
                if pick < u64::from(*w) {
                    true
                } else {
                    pick -= u64::from(*w);
                    false
                }
            })
            .map_or(OpFn::Read, |(f, _)| f);
        let value = match f {
            OpFn::Read => Value::Nil,
            OpFn::Write | OpFn::Append => Value::Int(self.fresh()),
            OpFn::Cas => {
                // Expect one of the recent values so a fair share of cas operations succeed.
                let recent = (self.next_value - 1).max(0);
                let expected = self.rng.random_range((recent - 4).max(0)..=recent);
                let expected = if expected == 0 {
                    Value::Nil
                } else {
                    Value::Int(expected)
                };
                Value::List(vec![expected, Value::Int(self.fresh())])
            }
        };
        (f, key, value)
    }

    /// A client's think time before its next operation.
    pub fn think_time(&mut self) -> Nanos {
        let mean_ns = f64::from(self.config.clients) / self.config.rate_per_sec * 1e9;
        let u: f64 = self.rng.random_range(f64::MIN_POSITIVE..1.0);
        (-libm::log(u) * mean_ns).min(1e18) as Nanos
    }

    fn fresh(&mut self) -> i64 {
        let v = self.next_value;
        self.next_value += 1;
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, stream};

    fn workload(config: WorkloadConfig) -> Workload {
        Workload::new(config, stream(5, Stream::Workload)).unwrap()
    }

    #[test]
    fn mix_weights_are_respected() {
        let mut w = workload(WorkloadConfig {
            mix: OpMix {
                read: 3,
                write: 1,
                cas: 0,
                append: 0,
            },
            keys: 4,
            ..Default::default()
        });
        let ops: Vec<_> = (0..4000).map(|_| w.next_op()).collect();
        let reads = ops.iter().filter(|(f, ..)| *f == OpFn::Read).count();
        assert!((2800..3200).contains(&reads), "reads {reads}");
        assert!(ops.iter().all(|(f, ..)| *f != OpFn::Cas));
        assert!(ops.iter().all(|(_, k, _)| *k < 4));
        assert!(ops.iter().any(|(_, k, _)| *k == 3));
    }

    #[test]
    fn written_values_are_unique() {
        let mut w = workload(WorkloadConfig {
            mix: OpMix {
                read: 0,
                write: 1,
                cas: 1,
                append: 1,
            },
            ..Default::default()
        });
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..500 {
            let (_, _, v) = w.next_op();
            let fresh = match v {
                Value::Int(x) => x,
                Value::List(pair) => match pair[1] {
                    Value::Int(x) => x,
                    _ => panic!("cas target not an int"),
                },
                other => panic!("unexpected {other:?}"),
            };
            assert!(seen.insert(fresh), "value {fresh} issued twice");
        }
    }

    #[test]
    fn think_time_matches_the_rate() {
        let mut w = workload(WorkloadConfig {
            clients: 4,
            rate_per_sec: 100.0,
            ..Default::default()
        });
        let n = 20_000;
        let mean = (0..n).map(|_| w.think_time() as f64).sum::<f64>() / n as f64;
        // 4 clients at 100 ops/s in all: each thinks 40 ms on average.
        assert!((mean / 40e6 - 1.0).abs() < 0.05, "mean think time {mean}");
    }

    #[test]
    fn window_and_op_limit_stop_the_workload() {
        let mut w = workload(WorkloadConfig {
            start_ns: 10,
            stop_ns: Some(20),
            ops_max: Some(2),
            ..Default::default()
        });
        assert!(!w.may_start(5));
        assert!(w.may_start(10));
        assert!(!w.may_start(20));
        w.next_op();
        w.next_op();
        assert!(!w.may_start(15));
    }

    /// The operations a workload can issue are bounded by its rate over its window, by
    /// `ops_max` and by the history, whichever is least.
    #[test]
    fn the_operations_a_workload_can_issue_are_bounded() {
        let w = WorkloadConfig {
            clients: 4,
            rate_per_sec: 100.0,
            stop_ns: Some(3 * crate::time::SECONDS),
            ..Default::default()
        };
        assert_eq!(w.ops_bound(10 * crate::time::SECONDS, 1_000_000), 604);
        assert_eq!(w.ops_bound(crate::time::SECONDS, 1_000_000), 204);
        assert_eq!(w.ops_bound(10 * crate::time::SECONDS, 100), 51);
        let capped = WorkloadConfig {
            ops_max: Some(7),
            ..w
        };
        assert_eq!(capped.ops_bound(10 * crate::time::SECONDS, 1_000_000), 7);
    }

    #[test]
    fn invalid_workloads_name_the_field() {
        let e = WorkloadConfig {
            clients: 0,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "workload.clients");
        let e = WorkloadConfig {
            rate_per_sec: -1.0,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "workload.rate_per_sec");
        let e = WorkloadConfig {
            mix: OpMix {
                read: 0,
                write: 0,
                cas: 0,
                append: 0,
            },
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "workload.mix");
    }
}
