//! The runner: turns a scenario into a simulation of one protocol, runs it, and judges it. It is
//! generic over the protocol; the registry picks the protocol by name.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use sim_core::protocol::validate_workload;
use sim_core::{CheckResult, ConfigError, Protocol, SimBuilder, SimError, Simulation};

use crate::error::{RunError, ScenarioError};
use crate::metrics;
use crate::report::{Counterexample, RunReport};
use crate::scenario::{CheckName, Scenario};
use crate::trace_file::{TraceFile, TraceFileSink};

/// How to run a scenario.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// The seed; the scenario's own seed when `None`.
    pub seed: Option<u64>,
    /// Stream the trace to this JSON Lines file.
    pub trace_path: Option<PathBuf>,
    /// Run twice in lockstep and fail the `determinism` check at the first diverging event.
    pub verify_determinism: bool,
}

/// Runs `scenario` as protocol `P`, whatever protocol it names: what a [`crate::Registry`] does
/// once it has found `P` by name, for code that knows its protocol already.
pub fn run_protocol<P: Protocol>(
    scenario: &Scenario,
    options: &RunOptions,
) -> Result<RunReport, RunError> {
    let seed = options.seed.unwrap_or(scenario.spec.seed);
    let (scenario, swarm) = crate::swarm::resolve(scenario, seed)?;
    let scenario = &scenario;
    let protocol_options = parse_options::<P>(scenario)?;
    let trace = match &options.trace_path {
        Some(path) => Some(TraceFile::create(path).map_err(|e| RunError::Output {
            path: path.display().to_string(),
            message: e.to_string(),
        })?),
        None => None,
    };
    let mut builder = builder::<P>(scenario, &protocol_options, seed)?;
    if let Some(file) = &trace {
        builder.trace_sink(Box::new(TraceFileSink(file.clone())));
    }
    let mut checks = Vec::new();
    let started = Instant::now();
    let (mut sim, outcome) = if options.verify_determinism {
        builder.describe_events();
        let mut twin = self::builder::<P>(scenario, &protocol_options, seed)?;
        twin.describe_events();
        // Two simulations live side by side: both must fit the memory limit together.
        let limits = &scenario.spec.limits;
        twin.memory_estimate()
            .check(limits, 2)
            .map_err(|e| config_error(scenario, &e))?;
        let mut sim = build(scenario, builder)?;
        let mut other = build(scenario, twin)?;
        let (outcome, check) = lockstep(&mut sim, &mut other);
        checks.push(check);
        (sim, outcome)
    } else {
        let mut sim = build(scenario, builder)?;
        let outcome = sim.run();
        (sim, outcome)
    };
    let wall_ns = started.elapsed().as_nanos() as u64;
    if let Err(e) = outcome {
        checks.push(CheckResult::fail("run-completed", e.to_string()));
    }
    if let Some(file) = &trace {
        file.borrow_mut().finish().map_err(|e| RunError::Output {
            path: options
                .trace_path
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string()),
            message: e.to_string(),
        })?;
    }
    let checked = Instant::now();
    let (judged, counterexample) = judge::<P>(scenario, &protocol_options, &mut sim);
    let check_wall_ns = checked.elapsed().as_nanos() as u64;
    checks.extend(judged);
    let mut metrics: BTreeMap<String, f64> =
        metrics::client_metrics(sim.history().events(), sim.config());
    metrics.extend(P::metrics(&sim));
    Ok(RunReport {
        scenario: scenario.name.clone(),
        protocol: P::NAME.to_string(),
        seed,
        ok: checks.iter().all(|c| c.ok),
        trace_hash: sim.trace_hash(),
        stats: sim.stats().clone(),
        wall_ns,
        check_wall_ns,
        checks,
        metrics,
        violations: sim.violations().to_vec(),
        coverage: sim.coverage(),
        nemesis: sim.nemesis_profile().cloned(),
        swarm,
        buggify: sim
            .buggify_points()
            .iter()
            .map(|(name, p)| (name.to_string(), *p))
            .collect(),
        history: sim.history().events().to_vec(),
        fault_records: sim.fault_records().to_vec(),
        counterexample,
    })
}

/// Builds the simulation `scenario` describes as protocol `P` for `seed` (the scenario's own
/// when `None`) and drops it unrun: every check a run makes before its first event.
pub(crate) fn build_with<P: Protocol>(
    scenario: &Scenario,
    seed: Option<u64>,
) -> Result<(), RunError> {
    let protocol_options = parse_options::<P>(scenario)?;
    let seed = seed.unwrap_or(scenario.spec.seed);
    build(scenario, builder::<P>(scenario, &protocol_options, seed)?)?;
    Ok(())
}

/// Runs two identical simulations in lockstep and turns the outcome into the `determinism` check.
fn lockstep<M: sim_core::Message>(
    a: &mut Simulation<M>,
    b: &mut Simulation<M>,
) -> (Result<(), SimError>, CheckResult) {
    match sim_core::lockstep(a, b) {
        Ok(None) => {
            let detail = format!(
                "two runs agree on all {} events (hash {:016x})",
                a.stats().events,
                a.trace_hash()
            );
            (Ok(()), CheckResult::pass("determinism", detail))
        }
        Ok(Some(d)) => {
            let detail = format!(
                "runs diverge at event {}: first run {} / second run {}",
                d.event, d.first, d.second
            );
            (Ok(()), CheckResult::fail("determinism", detail))
        }
        Err(e) => (
            Err(e),
            CheckResult::pass("determinism", "runs agreed until the run stopped"),
        ),
    }
}

fn parse_options<P: Protocol>(scenario: &Scenario) -> Result<P::Options, ScenarioError> {
    let raw = &scenario.spec.protocol.options;
    let value = if raw.is_null() {
        serde_json::Value::Object(Default::default())
    } else {
        raw.clone()
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let path = if inner == "." || inner.is_empty() {
            "protocol.options".to_string()
        } else {
            format!("protocol.options.{inner}")
        };
        scenario.error(&path, &e.into_inner().to_string())
    })
}

fn builder<P: Protocol>(
    scenario: &Scenario,
    options: &P::Options,
    seed: u64,
) -> Result<SimBuilder<P::Msg>, ScenarioError> {
    let spec = &scenario.spec;
    let mut config = spec.to_config(seed);
    if let Some(workload) = config.workload.as_mut() {
        // A mix the file leaves out is the default mix of the operations the protocol serves.
        if !scenario.mentions(&["workload", "mix"]) {
            workload.mix = workload.mix.restricted_to(P::OPERATIONS);
        }
        validate_workload::<P>(workload).map_err(|e| config_error(scenario, &e))?;
    }
    let cluster = spec.cluster_for(&config);
    let footprint = |builder: &SimBuilder<P::Msg>| P::footprint(options, cluster, builder.config());
    let mut builder = SimBuilder::new(config);
    P::populate(options, cluster, &mut builder).map_err(|e| config_error(scenario, &e))?;
    builder.footprint(footprint(&builder));
    for (i, clock) in spec.clocks.nodes.iter().enumerate() {
        let config = sim_core::ClockConfig {
            offset_ns: clock.offset_ns,
            drift_ppm: clock.drift_ppm,
        };
        builder
            .set_clock(clock.node, config)
            .map_err(|e| scenario.error(&format!("clocks.nodes[{i}].node"), &e.message))?;
    }
    Ok(builder)
}

fn build<M: sim_core::Message>(
    scenario: &Scenario,
    builder: SimBuilder<M>,
) -> Result<Simulation<M>, ScenarioError> {
    builder.build().map_err(|e| match e {
        SimError::Config(c) => config_error(scenario, &c),
        other => scenario.error("", &other.to_string()),
    })
}

fn config_error(scenario: &Scenario, e: &ConfigError) -> ScenarioError {
    scenario.error(&e.field, &e.message)
}

/// Runs the checks the scenario asks for; also the operation a failed linearizability check
/// could not place.
fn judge<P: Protocol>(
    scenario: &Scenario,
    options: &P::Options,
    sim: &mut Simulation<P::Msg>,
) -> (Vec<CheckResult>, Option<Counterexample>) {
    let mut results = Vec::new();
    let mut counterexample = None;
    for check in scenario.checks(P::MODEL.is_some()) {
        match check {
            CheckName::Invariants => {
                results.push(invariants(sim));
                results.push(crate::served::every_kind_served(sim.history().events()));
                results.extend(P::end_checks(options, sim));
            }
            CheckName::Linearizable => {
                let (result, found) = crate::linearizable::check(P::MODEL, sim.history());
                results.push(result);
                counterexample = found;
            }
        }
    }
    if let Some(healed_at) = sim.config().heal_all_at_ns {
        let clients = sim.config().workload.as_ref().map_or(0, |w| w.clients);
        let end = sim.config().duration_ns;
        results.push(crate::liveness::clients_progress(
            sim.history().events(),
            clients,
            healed_at,
            end,
        ));
        results.extend(P::liveness(options, sim, healed_at));
    }
    (results, counterexample)
}

fn invariants<M: sim_core::Message>(sim: &Simulation<M>) -> CheckResult {
    let count = sim.stats().violations;
    match sim.violations().first() {
        None => CheckResult::pass("invariants", "no invariant violated during the run"),
        Some(v) => CheckResult::fail(
            "invariants",
            format!(
                "{count} violation(s); first at t={:.3}ms on {}: {}: {}",
                v.time_ns as f64 / 1e6,
                v.node,
                v.check,
                v.detail
            ),
        ),
    }
}
