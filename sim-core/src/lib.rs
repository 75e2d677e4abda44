//! # sim-core: the deterministic engine of dsim
//!
//! A single-threaded, seeded discrete-event simulator. One `u64` seed fixes one run: the same
//! seed, configuration and build give the same run, event for event, and the same trace hash.
//!
//! - [`config`]: a run's configuration; [`bounds`]: the range of every number in it;
//!   [`footprint`]: the memory a run may need, checked before it starts.
//! - [`time`]: virtual nanoseconds; [`queue`]: the `(time, seq)` event queue.
//! - [`rng`]: one seed, independent ChaCha streams per concern.
//! - [`protocol`]: the contract a protocol implements ([`Protocol`]) and [`protocol::build`],
//!   which turns one into a ready-to-run simulation.
//! - [`process`]: the [`Process`] trait nodes implement and the [`Ctx`] they act through;
//!   [`quorum`]: a quorum call (broadcast, collect, resend, ignore stale answers).
//! - [`network`], [`latency`], [`partition`]: links that lose, duplicate, delay and reorder;
//!   partitions as a connectivity graph.
//! - [`clock`]: skewed, drifting, jumping local clocks; [`storage`]: durable storage with sync.
//! - [`fault`]: crash-stop, crash-recovery, pauses, clock faults, partitions; schedule and nemesis;
//!   [`coverage`]: what each fault affected.
//! - [`workload`], [`history`]: clients driven by a generator and the Jepsen-style history,
//!   which [`History::check`] judges with the `checker` crate.
//! - [`buggify`]: named points where protocol code takes a rare but legal path in some seeds.
//! - [`trace`], [`stats`]: the rolling trace hash, trace sinks and counters.
//! - [`sim`]: the [`Simulation`] and its [`SimBuilder`]; [`lockstep()`]: determinism verification.
//! - `strategies` (feature `proptest`): proptest strategies for networks, fault schedules and
//!   workloads, for property tests that shrink failing runs.
//!
//! Inside a run there is no host time, no threads, no unseeded randomness and no iteration
//! over hash maps.

#![warn(missing_docs)]

pub mod bounds;
pub mod buggify;
pub mod clock;
pub mod config;
pub mod coverage;
pub mod error;
pub mod fault;
pub mod footprint;
pub mod history;
pub mod latency;
pub mod lockstep;
pub mod network;
pub mod partition;
pub mod process;
pub mod protocol;
pub mod queue;
pub mod quorum;
pub mod rng;
pub mod sim;
pub mod stats;
pub mod storage;
#[cfg(feature = "proptest")]
pub mod strategies;
pub mod time;
pub mod trace;
pub mod workload;

pub use buggify::{BuggifyConfig, PointRecord};
/// The checker crate, for the models and reports a history check uses.
pub use checker;
pub use checker::{CheckReport, ModelKind, Verdict};
pub use clock::ClockConfig;
pub use config::{ClockSkew, Limits, SimConfig};
pub use coverage::{CoverageSummary, FaultRecord, FaultSource, KindTotals};
pub use error::{ConfigError, SimError};
pub use fault::{Fault, NemesisConfig, NemesisKind, ScheduledFault};
pub use footprint::{Footprint, MemoryEstimate};
pub use history::{EventType, History, HistoryCheckError, HistoryEvent, OpFn, Outcome, Value};
pub use latency::LatencyDist;
pub use lockstep::{Divergence, lockstep};
pub use network::{LinkConfig, LinkOverride, NetworkConfig};
pub use partition::{ClientPlacement, PartitionSpec};
pub use process::{BoxProcess, ClientOp, Ctx, Factory, Message, NodeId, OpId, Process, TimerId};
pub use protocol::{BugInfo, CheckResult, Cluster, Protocol};
pub use quorum::QuorumCall;
pub use sim::{NodeStatus, Role, SimBuilder, Simulation, Violation};
pub use stats::Stats;
pub use storage::Storage;
pub use time::{MICROS, MILLIS, Nanos, SECONDS, ms, secs};
pub use trace::{DropReason, RecentEvents, TraceEvent, TraceKind, TraceSink};
pub use workload::{OpMix, WorkloadConfig};
