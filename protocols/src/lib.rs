//! # protocols: what runs inside dsim
//!
//! Each module is one protocol: its server and client processes (sim-core [`Process`]es), its
//! options (including the known bugs it can be switched to), and the checks that judge a run
//! beyond the client history's linearizability. The scenario runner only sees the
//! [`Protocol`] trait.
//!
//! [`Process`]: sim_core::Process

pub mod chain;
pub mod gossip;
pub mod pingpong;
pub mod raft;
pub mod register;
pub mod twopc;

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sim_core::{ConfigError, Message, Nanos, SimBuilder, SimConfig, SimError, Simulation};

/// The shape of the cluster a scenario asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// Number of server nodes (ids `n0..`).
    pub servers: u32,
    /// Number of client nodes (ids after the servers).
    pub clients: u32,
}

/// The verdict of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// The check's name, e.g. `linearizable` or `election-safety`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, for people.
    pub detail: String,
}

impl CheckResult {
    /// A passing check.
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ok: true,
            detail: detail.into(),
        }
    }

    /// A failing check.
    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ok: false,
            detail: detail.into(),
        }
    }
}

/// A known bug a protocol can be switched to, for `dsim list`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BugInfo {
    /// The name used in a scenario's `bugs` list.
    pub name: &'static str,
    /// What the mistake is and which real systems made it.
    pub description: &'static str,
}

/// A protocol the scenario runner can run.
pub trait Protocol {
    /// The name used in scenario files.
    const NAME: &'static str;
    /// One line for `dsim list`.
    const DESCRIPTION: &'static str;
    /// The linearizability model its client history follows, if any (a checker model name).
    const MODEL: Option<&'static str>;
    /// Its messages.
    type Msg: Message;
    /// Its options as written in a scenario (`protocol.options`); unknown fields are errors.
    type Options: DeserializeOwned + Default + Debug;

    /// The bugs it can be switched to.
    fn bugs() -> &'static [BugInfo] {
        &[]
    }

    /// Adds the servers and then the clients to `builder`.
    fn populate(
        options: &Self::Options,
        cluster: Cluster,
        builder: &mut SimBuilder<Self::Msg>,
    ) -> Result<(), ConfigError>;

    /// Checks that look at the final state of the run (invariants checked during the run
    /// arrive as violations instead).
    fn end_checks(options: &Self::Options, sim: &Simulation<Self::Msg>) -> Vec<CheckResult> {
        let _ = (options, sim);
        Vec::new()
    }

    /// Liveness goals judged after a scenario's liveness phase (every fault ended at
    /// `healed_at_ns`): e.g. "a leader exists", "members converged". Name each result
    /// `liveness/<goal>`. The runner itself checks that client operations complete.
    fn liveness(
        options: &Self::Options,
        sim: &Simulation<Self::Msg>,
        healed_at_ns: Nanos,
    ) -> Vec<CheckResult> {
        let _ = (options, sim, healed_at_ns);
        Vec::new()
    }

    /// Protocol metrics for the summary, as `(name, value)`.
    fn metrics(sim: &Simulation<Self::Msg>) -> Vec<(String, f64)> {
        let _ = sim;
        Vec::new()
    }
}

/// Builds a ready-to-run simulation of protocol `P`: the API for property tests and other Rust
/// code that wants a run without a scenario file.
///
/// ```
/// use protocols::{Cluster, build};
/// use protocols::register::{Register, RegisterOptions};
/// use sim_core::{SimConfig, WorkloadConfig, secs};
///
/// let config = SimConfig {
///     seed: 3,
///     duration_ns: secs(5),
///     workload: Some(WorkloadConfig { clients: 2, ..Default::default() }),
///     ..Default::default()
/// };
/// let cluster = Cluster { servers: 1, clients: 2 };
/// let mut sim = build::<Register>(&RegisterOptions::default(), cluster, config).unwrap();
/// sim.run().unwrap();
/// assert!(sim.violations().is_empty());
/// assert!(sim.stats().ops_ok > 100);
/// ```
pub fn build<P: Protocol>(
    options: &P::Options,
    cluster: Cluster,
    config: SimConfig,
) -> Result<Simulation<P::Msg>, SimError> {
    let mut builder = SimBuilder::new(config);
    P::populate(options, cluster, &mut builder)?;
    builder.build()
}
