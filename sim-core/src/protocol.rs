//! The protocol contract: what a protocol implementation provides so that the scenario runner,
//! the `dsim` command line and property tests can run it without knowing it in advance. The
//! built-in protocols implement it exactly as an outside crate would.
//!
//! A protocol is a name, its options (as written under `protocol.options` in a scenario file),
//! the client operations it serves, the checker model its client history follows, and
//! [`Protocol::populate`], which adds its servers and clients to a [`SimBuilder`]. Checks of its
//! own (end-of-run invariants, liveness goals) and metrics are optional.

use std::fmt::Debug;

use checker::ModelKind;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::SimConfig;
use crate::error::{ConfigError, SimError};
use crate::footprint::Footprint;
use crate::history::OpFn;
use crate::process::Message;
use crate::sim::{SimBuilder, Simulation};
use crate::time::Nanos;
use crate::workload::WorkloadConfig;

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

/// A protocol that scenario files, the `dsim` command line and [`build`] can run.
///
/// The whole contract for a protocol whose clients read and write one register:
///
/// ```
/// use serde::Deserialize;
/// use sim_core::protocol::{Cluster, Protocol};
/// use sim_core::{ClientOp, ConfigError, Ctx, NodeId, OpFn, Outcome, Process, SimBuilder};
///
/// /// Clients keep the register themselves: linearizable, and no network at all.
/// struct Local;
/// struct LocalClient(sim_core::Value);
///
/// impl Process for LocalClient {
///     type Msg = ();
///     fn on_message(&mut self, _: &mut Ctx<'_, ()>, _: NodeId, _: ()) {}
///     fn on_client_op(&mut self, ctx: &mut Ctx<'_, ()>, op: ClientOp) {
///         if op.f == OpFn::Write {
///             self.0 = op.value.clone();
///         }
///         let result = if op.f == OpFn::Read { self.0.clone() } else { op.value };
///         ctx.complete(op.id, Outcome::Ok(result));
///     }
/// }
///
/// #[derive(Debug, Default, Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct LocalOptions {}
///
/// impl Protocol for Local {
///     const NAME: &'static str = "local";
///     const DESCRIPTION: &'static str = "one client, its own register";
///     const MODEL: Option<sim_core::ModelKind> = Some(sim_core::ModelKind::Register);
///     const OPERATIONS: &'static [OpFn] = &[OpFn::Read, OpFn::Write];
///     type Msg = ();
///     type Options = LocalOptions;
///
///     fn populate(_: &LocalOptions, cluster: Cluster, builder: &mut SimBuilder<()>) -> Result<(), ConfigError> {
///         // A protocol needs no servers; the scenario's servers stay idle.
///         for _ in 0..cluster.servers {
///             builder.add_server(|_| Box::new(LocalClient(sim_core::Value::Nil)));
///         }
///         for _ in 0..cluster.clients {
///             builder.add_client(|_| Box::new(LocalClient(sim_core::Value::Nil)));
///         }
///         Ok(())
///     }
/// }
///
/// // The default mix includes cas, which `local` does not serve: `build` would refuse it.
/// let mix = sim_core::OpMix::default().restricted_to(Local::OPERATIONS);
/// let config = sim_core::SimConfig {
///     workload: Some(sim_core::WorkloadConfig { clients: 1, mix, ..Default::default() }),
///     ..Default::default()
/// };
/// let mut sim = sim_core::protocol::build::<Local>(&LocalOptions::default(), Cluster { servers: 1, clients: 1 }, config).unwrap();
/// sim.run().unwrap();
/// let report = sim.history().check(sim_core::ModelKind::Register).unwrap();
/// assert_eq!(report.verdict, sim_core::Verdict::Linearizable);
/// ```
pub trait Protocol {
    /// The name used in scenario files (`protocol.name`).
    const NAME: &'static str;
    /// One line for `dsim list`.
    const DESCRIPTION: &'static str;
    /// The checker model its client history follows, if any; the `linearizable` check uses it.
    const MODEL: Option<ModelKind>;
    /// The client operations it serves. A workload that draws any other operation is refused
    /// before the run starts, and a scenario's default mix leaves the others out.
    const OPERATIONS: &'static [OpFn] = &[];
    /// Its messages.
    type Msg: Message;
    /// Its options as written in a scenario (`protocol.options`); unknown fields should be
    /// errors (`#[serde(deny_unknown_fields)]`).
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

    /// The memory its nodes and messages use with these options on this cluster under
    /// `config`, for the admission check before a run (see [`crate::footprint`]). The default,
    /// [`Footprint::UNDECLARED`], is generous per node; a protocol meant for large clusters
    /// declares what it really holds, and one whose state grows with the cluster or with the
    /// operations it serves ([`SimConfig::ops_bound`]) says so. Called after
    /// [`Protocol::populate`] accepted the options.
    fn footprint(options: &Self::Options, cluster: Cluster, config: &SimConfig) -> Footprint {
        let _ = (options, cluster, config);
        Footprint::UNDECLARED
    }

    /// Protocol metrics for the summary, as `(name, value)`.
    fn metrics(sim: &Simulation<Self::Msg>) -> Vec<(String, f64)> {
        let _ = sim;
        Vec::new()
    }
}

/// Checks that `workload` only draws operations protocol `P` serves.
pub fn validate_workload<P: Protocol>(workload: &WorkloadConfig) -> Result<(), ConfigError> {
    for (f, weight) in workload.mix.weights() {
        if weight > 0 && !P::OPERATIONS.contains(&f) {
            let served: Vec<&str> = P::OPERATIONS.iter().map(|f| f.name()).collect();
            let served = if served.is_empty() {
                "no client operations".to_string()
            } else {
                served.join(", ")
            };
            return Err(ConfigError::new(
                format!("workload.mix.{}", f.name()),
                format!(
                    "protocol `{}` serves {served}, not {}; set `{}: 0`",
                    P::NAME,
                    f.name(),
                    f.name()
                ),
            ));
        }
    }
    Ok(())
}

/// Builds a ready-to-run simulation of protocol `P`: the API for property tests and other Rust
/// code that wants a run without a scenario file. The workload is checked against
/// [`Protocol::OPERATIONS`] first, and the run must fit its memory limit with the protocol's
/// [`Protocol::footprint`].
pub fn build<P: Protocol>(
    options: &P::Options,
    cluster: Cluster,
    config: SimConfig,
) -> Result<Simulation<P::Msg>, SimError> {
    if let Some(workload) = &config.workload {
        validate_workload::<P>(workload)?;
    }
    let footprint_config = config.clone();
    let mut builder = SimBuilder::new(config);
    P::populate(options, cluster, &mut builder)?;
    builder.footprint(P::footprint(options, cluster, &footprint_config));
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::{Ctx, NodeId, Process};
    use crate::workload::OpMix;

    /// A protocol of idle servers that serves reads only.
    struct Reads;
    struct Idle;

    impl Process for Idle {
        type Msg = ();
        fn on_message(&mut self, _: &mut Ctx<'_, ()>, _: NodeId, _: ()) {}
    }

    impl Protocol for Reads {
        const NAME: &'static str = "reads";
        const DESCRIPTION: &'static str = "";
        const MODEL: Option<ModelKind> = None;
        const OPERATIONS: &'static [OpFn] = &[OpFn::Read];
        type Msg = ();
        type Options = ();

        fn populate(
            _: &(),
            cluster: Cluster,
            builder: &mut SimBuilder<()>,
        ) -> Result<(), ConfigError> {
            for _ in 0..cluster.servers + cluster.clients {
                builder.add_server(|_| Box::new(Idle));
            }
            Ok(())
        }
    }

    fn field_of(result: Result<Simulation<()>, SimError>) -> String {
        match result {
            Err(SimError::Config(e)) => e.field,
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("built"),
        }
    }

    #[test]
    fn build_refuses_a_run_of_no_time_and_operations_the_protocol_does_not_serve() {
        let cluster = Cluster {
            servers: 1,
            clients: 0,
        };
        let zero = SimConfig {
            duration_ns: 0,
            ..SimConfig::default()
        };
        assert_eq!(field_of(build::<Reads>(&(), cluster, zero)), "duration_ns");
        let writes = SimConfig {
            workload: Some(WorkloadConfig {
                mix: OpMix::default().restricted_to(&[OpFn::Read, OpFn::Write]),
                ..WorkloadConfig::default()
            }),
            ..SimConfig::default()
        };
        assert_eq!(
            field_of(build::<Reads>(&(), cluster, writes)),
            "workload.mix.write"
        );
        assert!(build::<Reads>(&(), cluster, SimConfig::default()).is_ok());
    }

    /// A queue too small for the events a run starts with is refused before the run, on the
    /// limit's field; so is a run that would not fit its memory limit.
    #[test]
    fn build_refuses_a_queue_too_small_to_start_and_a_run_too_big_for_memory() {
        let cluster = Cluster {
            servers: 3,
            clients: 0,
        };
        let tiny = SimConfig {
            limits: crate::Limits {
                queue_len_max: 1,
                ..crate::Limits::default()
            },
            ..SimConfig::default()
        };
        assert_eq!(
            field_of(build::<Reads>(&(), cluster, tiny)),
            "limits.queue_len_max"
        );
        let big = Cluster {
            servers: 100_000,
            clients: 0,
        };
        let err = match build::<Reads>(&(), big, SimConfig::default()) {
            Err(SimError::Config(e)) => e,
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("100,000 undeclared servers fit in 2 GB?"),
        };
        assert_eq!(err.field, "cluster.servers");
        assert!(err.message.contains("limits.memory_bytes_max"), "{err}");
    }
}
