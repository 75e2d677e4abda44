//! Shrinking a failing run: starting from a scenario and a seed on which a check fails, try
//! smaller variants — the nemesis spelt out as a fixed schedule, fewer faults, the quiet start
//! cut off, a shorter run, each fault earlier and shorter (a replay reaching back less far and
//! arriving sooner), fewer clients and operations, fewer
//! servers, less reordering, duplication and loss, fault times rounded to readable values —
//! keeping each one that still fails the same check with the same seed, until none helps. Every
//! pass is deterministic and the whole search makes at most `runs_max` runs. The result is a
//! standalone scenario file.

mod schedule;

use serde_json::Value;
use sim_core::{Fault, Nanos, NetworkConfig, ScheduledFault};

use crate::registry::Registry;
use crate::runner::RunOptions;
use crate::scenario::{Scenario, ScenarioSpec};

use schedule::Unit;

/// Most runs one time search spends on one move (the first tries the largest move, the rest
/// bisect towards it), so moving every fault stays within a known share of the budget.
const TIME_PROBES_MAX: u32 = 6;

/// Time moves are searched down to this resolution.
const TIME_RESOLUTION_NS: Nanos = 1_000_000;

/// Most times one network probability is halved in one pass after it could not be set to 0,
/// so calming the network costs a known number of runs per knob.
const NETWORK_HALVINGS_MAX: u32 = 6;

/// A network probability is never halved below this (one message in a thousand). Setting a
/// probability to 0 skips its random draws and so reshuffles the run; a tiny non-zero value
/// keeps the draws but never fires, and would pass for a needed knob that is not one.
const NETWORK_PROBABILITY_MIN: f64 = 0.001;

/// What shrinking found.
#[derive(Debug)]
pub struct Shrunk {
    /// The smallest failing scenario found.
    pub spec: ScenarioSpec,
    /// The check it still fails.
    pub check: String,
    /// Runs made.
    pub runs: u32,
    /// What was reduced, step by step, for people.
    pub steps: Vec<String>,
    /// Scheduled faults before shrinking (the nemesis counted as the faults it applied).
    pub faults_before: usize,
    /// The run's duration before shrinking.
    pub duration_ns_before: Nanos,
    /// The network before shrinking (its loss, duplication and reordering are reduced too).
    pub network_before: NetworkConfig,
}

impl Shrunk {
    /// One line for people: the runs it took, the check still failing, and what was reduced
    /// from what.
    pub fn summary(&self) -> String {
        let s = &self.spec;
        let mut line = format!(
            "shrunk in {} runs: still fails `{}` with {} fault(s) (was {}), {:.3} s (was {:.3} s), {} client(s), {} server(s)",
            self.runs,
            self.check,
            s.faults.len(),
            self.faults_before,
            s.duration_ns as f64 / 1e9,
            self.duration_ns_before as f64 / 1e9,
            s.workload.as_ref().map_or(0, |w| w.clients),
            s.cluster.servers
        );
        let calmer = network_changes(&self.network_before, &s.network);
        if !calmer.is_empty() {
            line.push_str(", ");
            line.push_str(&calmer.join(", "));
        }
        line
    }
}

/// The probabilities of `after` that differ from `before`, as `network.loss 0.1 -> 0.05`.
fn network_changes(before: &NetworkConfig, after: &NetworkConfig) -> Vec<String> {
    let mut changes = Vec::new();
    for knob in network_knobs(before) {
        let (was, now) = (knob.get(before), knob.get(after));
        if let (Some(was), Some(now)) = (was, now)
            && was != now
        {
            changes.push(format!("{} {was} -> {now}", knob.name()));
        }
    }
    changes
}

/// Why shrinking could not start.
#[derive(Debug, thiserror::Error)]
pub enum ShrinkError {
    /// The scenario does not fail on this seed (or not the named check).
    #[error("seed {seed} does not fail {what}; nothing to shrink")]
    DoesNotFail {
        /// The seed.
        seed: u64,
        /// Which check was wanted.
        what: String,
    },
    /// The scenario could not be run.
    #[error("{0}")]
    Run(#[from] crate::RunError),
}

/// Shrinks `scenario` failing on `seed`. `check` names the check to keep failing (default: the
/// first failing one); at most `runs_max` runs are made.
pub fn shrink(
    registry: &Registry,
    scenario: &Scenario,
    seed: u64,
    check: Option<&str>,
    runs_max: u32,
) -> Result<Shrunk, ShrinkError> {
    // A swarm's draws for this seed become plain values: the shrunk file says what ran.
    let (resolved, _) = crate::swarm::resolve(scenario, seed).map_err(crate::RunError::from)?;
    let scenario = &resolved;
    let first = registry.run(
        scenario,
        &RunOptions {
            seed: Some(seed),
            ..Default::default()
        },
    )?;
    let failed = first
        .checks
        .iter()
        .find(|c| !c.ok && check.is_none_or(|want| c.name == want));
    let Some(failed) = failed else {
        let what = check.map_or("any check".to_string(), |c| format!("the `{c}` check"));
        return Err(ShrinkError::DoesNotFail { seed, what });
    };
    let nemesis_faults = first.nemesis_schedule().count();
    let faults_before = scenario.spec.faults.len() + nemesis_faults;
    let mut state = State {
        registry,
        origin: scenario.origin.clone(),
        seed,
        check: failed.name.clone(),
        best: scenario.spec.clone(),
        runs: 1,
        runs_max,
        steps: Vec::new(),
    };
    // The nemesis becomes the schedule it actually produced on this seed.
    if state.best.nemesis.is_some() {
        let mut candidate = state.best.clone();
        candidate.nemesis = None;
        candidate.faults.extend(first.nemesis_schedule());
        candidate.faults.sort_by_key(|f| f.at_ns);
        let n = candidate.faults.len();
        state.try_keep(
            candidate,
            format!("nemesis spelt out as {n} scheduled faults"),
        );
    }
    if !schedule::is_sorted(&state.best.faults) {
        // Time moves keep the list in time order; a list written out of order is sorted first
        // (equal times keep their order, so the engine applies them as before).
        let mut candidate = state.best.clone();
        candidate.faults.sort_by_key(|f| f.at_ns);
        state.try_keep(candidate, "faults sorted by time".into());
    }
    // Operations are cut starting from what the failing run actually made.
    let ops_made = first.stats.ops_invoked;
    loop {
        let before = state.runs;
        // The network is calmed first, while the run is long and the failure has many chances
        // to recur: every change to it reshuffles the network's random draws, which a run cut
        // down to its few failing operations rarely survives. Then the cheap passes that cut
        // the most: the end, then whole faults, then the quiet start (which the first remaining
        // fault bounds).
        let mut progressed = state.calm_network();
        progressed |= state.shorten();
        progressed |= state.drop_faults();
        progressed |= state.shift_start();
        progressed |= state.move_faults();
        progressed |= state.shorten_replays();
        progressed |= state.fewer(
            "workload.clients",
            |s| s.workload.as_ref().map(|w| u64::from(w.clients)),
            |s, v| {
                if let Some(w) = s.workload.as_mut() {
                    w.clients = v as u32;
                }
            },
        );
        progressed |= state.fewer(
            "workload.ops_max",
            |s| s.workload.as_ref().map(|w| w.ops_max.unwrap_or(ops_made)),
            |s, v| {
                if let Some(w) = s.workload.as_mut() {
                    w.ops_max = Some(v);
                }
            },
        );
        progressed |= state.fewer(
            "cluster.servers",
            |s| Some(u64::from(s.cluster.servers)),
            |s, v| s.cluster.servers = v as u32,
        );
        if !progressed || state.runs == before || state.runs >= state.runs_max {
            break;
        }
    }
    state.round_times();
    Ok(Shrunk {
        spec: state.best,
        check: state.check,
        runs: state.runs,
        steps: state.steps,
        faults_before,
        duration_ns_before: scenario.spec.duration_ns,
        network_before: scenario.spec.network.clone(),
    })
}

/// The search state: the best failing spec so far and the run budget.
struct State<'r> {
    registry: &'r Registry,
    origin: String,
    seed: u64,
    check: String,
    best: ScenarioSpec,
    runs: u32,
    runs_max: u32,
    steps: Vec<String>,
}

impl State<'_> {
    /// Whether `spec` still fails the check (false when invalid or out of budget).
    fn fails(&mut self, spec: &ScenarioSpec) -> bool {
        if self.runs >= self.runs_max {
            return false;
        }
        self.runs += 1;
        let Ok(text) = serde_json::to_string(spec) else {
            return false;
        };
        let Ok(scenario) = Scenario::parse(&text, &self.origin) else {
            return false;
        };
        match self.registry.run(
            &scenario,
            &RunOptions {
                seed: Some(self.seed),
                ..Default::default()
            },
        ) {
            Ok(report) => report.checks.iter().any(|c| !c.ok && c.name == self.check),
            Err(_) => false,
        }
    }

    fn try_keep(&mut self, candidate: ScenarioSpec, step: String) -> bool {
        if self.fails(&candidate) {
            self.best = candidate;
            self.steps.push(step);
            true
        } else {
            false
        }
    }

    /// Removes scheduled faults, a fault together with its undo: first halves of the faults,
    /// then quarters, ... then single faults.
    fn drop_faults(&mut self) -> bool {
        let mut progressed = false;
        let mut chunk = schedule::units(&self.best.faults).len().div_ceil(2).max(1);
        loop {
            let mut start = 0;
            loop {
                let units = schedule::units(&self.best.faults);
                if start >= units.len() {
                    break;
                }
                let end = (start + chunk).min(units.len());
                let mut gone: Vec<usize> =
                    units[start..end].iter().flat_map(|u| u.indices()).collect();
                gone.sort_unstable();
                let mut candidate = self.best.clone();
                for &i in gone.iter().rev() {
                    candidate.faults.remove(i);
                }
                let left = candidate.faults.len();
                if self.try_keep(candidate, format!("{left} faults left")) {
                    progressed = true;
                } else {
                    start += chunk;
                }
                if self.runs >= self.runs_max {
                    return progressed;
                }
            }
            if chunk == 1 || self.best.faults.is_empty() {
                return progressed;
            }
            chunk = chunk.div_ceil(2);
        }
    }

    /// Cuts the quiet start of the run: every fault, the workload's window and the end move
    /// earlier together, as far as the first fault allows.
    fn shift_start(&mut self) -> bool {
        if self.best.nemesis.is_some() || self.best.faults.is_empty() {
            return false;
        }
        let base = self.best.clone();
        let all: Vec<usize> = (0..base.faults.len()).collect();
        let liveness_ns = base.liveness.as_ref().map_or(0, |l| l.duration_ns);
        let room = base.duration_ns.saturating_sub(liveness_ns + 1);
        let delta_max = schedule::shift_max(&base.faults, &all).min(room);
        self.search_time(delta_max, |delta| {
            let mut s = base.clone();
            s.faults = schedule::shifted(&base.faults, &all, delta);
            s.duration_ns -= delta;
            if let Some(w) = s.workload.as_mut() {
                w.start_ns = w.start_ns.saturating_sub(delta);
                w.stop_ns = w.stop_ns.map(|t| t.saturating_sub(delta).max(1));
            }
            (s, format!("start cut by {}", seconds(delta)))
        })
    }

    /// Per fault: the fault and its undo earlier together, then the undo alone earlier (the
    /// fault lasts less).
    fn move_faults(&mut self) -> bool {
        let mut progressed = false;
        let mut i = 0;
        while self.runs < self.runs_max {
            // Units are recomputed after each move; moves keep the list order, so the i-th
            // unit is still the same fault.
            let Some(&unit) = schedule::units(&self.best.faults).get(i) else {
                break;
            };
            progressed |= self.move_unit(unit.indices().collect(), unit, "earlier");
            if let Some(undo) = unit.undo {
                progressed |= self.move_unit(vec![undo], unit, "shorter");
            }
            i += 1;
        }
        progressed
    }

    /// Per replay: its window cut, then its delay cut, by as much as still fails.
    fn shorten_replays(&mut self) -> bool {
        let mut progressed = false;
        for k in 0..self.best.faults.len() {
            for delay in [false, true] {
                let base = self.best.clone();
                let Fault::Replay {
                    window_ns,
                    delay_ns,
                    ..
                } = base.faults[k].fault
                else {
                    break;
                };
                let (current, name) = if delay {
                    (delay_ns, "delay")
                } else {
                    (window_ns, "window")
                };
                progressed |= self.search_time(current, |cut| {
                    let mut s = base.clone();
                    if let Fault::Replay {
                        window_ns,
                        delay_ns,
                        ..
                    } = &mut s.faults[k].fault
                    {
                        let slot = if delay { delay_ns } else { window_ns };
                        *slot -= cut;
                    }
                    (s, format!("replay {name} cut by {}", seconds(cut)))
                });
                if self.runs >= self.runs_max {
                    return progressed;
                }
            }
        }
        progressed
    }

    /// Moves the entries `moved` of `unit` earlier by as much as still fails.
    fn move_unit(&mut self, moved: Vec<usize>, unit: Unit, how: &str) -> bool {
        let base = self.best.clone();
        let delta_max = schedule::shift_max(&base.faults, &moved);
        let what = fault_name(&base.faults[unit.start]);
        self.search_time(delta_max, |delta| {
            let mut s = base.clone();
            s.faults = schedule::shifted(&base.faults, &moved, delta);
            (s, format!("{what} {how} by {}", seconds(delta)))
        })
    }

    /// Rounds each fault time down to the coarsest of 1 s, 100 ms, 10 ms, 1 ms that keeps the
    /// list in order and still fails, then the duration likewise (keeping every fault).
    fn round_times(&mut self) -> bool {
        let mut progressed = false;
        for k in 0..self.best.faults.len() {
            let floor = k.checked_sub(1).map_or(0, |p| self.best.faults[p].at_ns);
            let t = self.best.faults[k].at_ns;
            for quantum in schedule::ROUNDING_QUANTA_NS {
                let rounded = schedule::round_down(t, quantum);
                if rounded == t {
                    break;
                }
                if rounded < floor || self.runs >= self.runs_max {
                    continue;
                }
                let mut candidate = self.best.clone();
                candidate.faults[k].at_ns = rounded;
                let what = fault_name(&candidate.faults[k]);
                if self.try_keep(candidate, format!("{what} at {}", seconds(rounded))) {
                    progressed = true;
                    break;
                }
            }
        }
        let t = self.best.duration_ns;
        for quantum in schedule::ROUNDING_QUANTA_NS {
            let rounded = schedule::round_down(t, quantum);
            if rounded == t {
                break;
            }
            let candidate = with_duration(&self.best, rounded);
            let valid = rounded > 0
                && candidate.faults.len() == self.best.faults.len()
                && candidate.liveness == self.best.liveness;
            if valid
                && self.runs < self.runs_max
                && self.try_keep(candidate, format!("duration {}", seconds(rounded)))
            {
                progressed = true;
                break;
            }
        }
        progressed
    }

    /// Finds a large `delta` in `1..=delta_max` for which `make(delta)` still fails: the
    /// largest first, then bisection towards it, at most [`TIME_PROBES_MAX`] runs. The search is
    /// a heuristic (failing is not monotone in time), but deterministic.
    fn search_time(
        &mut self,
        delta_max: Nanos,
        make: impl Fn(Nanos) -> (ScenarioSpec, String),
    ) -> bool {
        if delta_max == 0 {
            return false;
        }
        let (candidate, step) = make(delta_max);
        if self.try_keep(candidate, step) {
            return true;
        }
        let (mut lo, mut hi) = (0, delta_max);
        let mut probes = 1;
        while hi - lo > TIME_RESOLUTION_NS && probes < TIME_PROBES_MAX && self.runs < self.runs_max
        {
            let mid = lo + (hi - lo) / 2;
            let (candidate, step) = make(mid);
            probes += 1;
            if self.try_keep(candidate, step) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo > 0
    }

    /// Binary search for the shortest duration that still fails (at 1 ms resolution).
    fn shorten(&mut self) -> bool {
        let (mut lo, mut hi) = (0u64, self.best.duration_ns);
        let min_step = 1_000_000;
        let mut progressed = false;
        while hi - lo > min_step && self.runs < self.runs_max {
            let mid = lo + (hi - lo) / 2;
            let candidate = with_duration(&self.best, mid);
            if self.try_keep(candidate, format!("duration {}", seconds(mid))) {
                hi = mid;
                progressed = true;
            } else {
                lo = mid;
            }
        }
        progressed
    }

    /// Lowers the network's stale duplication, reordering, duplication and loss probabilities (each of the default
    /// link's and the overrides'): each to 0 if that still fails, else halved while that still
    /// fails, at most [`NETWORK_HALVINGS_MAX`] times and not below [`NETWORK_PROBABILITY_MIN`].
    /// Loss comes last, so a failure that loss alone explains (the simplest story) ends with
    /// loss alone.
    fn calm_network(&mut self) -> bool {
        let mut progressed = false;
        for knob in network_knobs(&self.best.network) {
            let Some(mut value) = knob.get(&self.best.network).filter(|v| *v > 0.0) else {
                continue;
            };
            let mut candidate = self.best.clone();
            knob.set(&mut candidate.network, 0.0);
            if self.try_keep(candidate, format!("{} 0", knob.name())) {
                progressed = true;
                continue;
            }
            for _ in 0..NETWORK_HALVINGS_MAX {
                let half = value / 2.0;
                if half < NETWORK_PROBABILITY_MIN {
                    break;
                }
                let mut candidate = self.best.clone();
                knob.set(&mut candidate.network, half);
                if !self.try_keep(candidate, format!("{} {half}", knob.name())) {
                    break;
                }
                progressed = true;
                value = half;
            }
        }
        progressed
    }

    /// Binary search for the smallest value of a numeric field that still fails.
    fn fewer(
        &mut self,
        name: &str,
        get: impl Fn(&ScenarioSpec) -> Option<u64>,
        set: impl Fn(&mut ScenarioSpec, u64),
    ) -> bool {
        let Some(current) = get(&self.best) else {
            return false;
        };
        let (mut lo, mut hi) = (0u64, current);
        let mut progressed = false;
        while hi - lo > 1 && self.runs < self.runs_max {
            let mid = lo + (hi - lo) / 2;
            let mut candidate = self.best.clone();
            set(&mut candidate, mid);
            if self.try_keep(candidate, format!("{name} {mid}")) {
                hi = mid;
                progressed = true;
            } else {
                lo = mid;
            }
        }
        progressed
    }
}

/// One probability of the network that shrinking lowers.
#[derive(Clone, Copy, Debug)]
struct NetworkKnob {
    /// `None` for the default link, else the index of an override in `network.links`.
    link: Option<usize>,
    what: Probability,
}

/// Which of a link's probabilities.
#[derive(Clone, Copy, Debug)]
enum Probability {
    StaleDuplicate,
    Reorder,
    Duplicate,
    Loss,
}

impl Probability {
    /// This probability out of a link's `(loss, duplicate, reorder, stale_duplicate)`.
    fn pick<T>(self, (loss, duplicate, reorder, stale_duplicate): (T, T, T, T)) -> T {
        match self {
            Probability::StaleDuplicate => stale_duplicate,
            Probability::Reorder => reorder,
            Probability::Duplicate => duplicate,
            Probability::Loss => loss,
        }
    }
}

impl NetworkKnob {
    /// The field's path in the scenario, e.g. `network.links[0].link.loss`.
    fn name(&self) -> String {
        let what = match self.what {
            Probability::StaleDuplicate => "stale_duplicate",
            Probability::Reorder => "reorder",
            Probability::Duplicate => "duplicate",
            Probability::Loss => "loss",
        };
        match self.link {
            None => format!("network.{what}"),
            Some(i) => format!("network.links[{i}].link.{what}"),
        }
    }

    fn slot<'a>(&self, network: &'a mut NetworkConfig) -> Option<&'a mut f64> {
        let link = match self.link {
            None => (
                &mut network.loss,
                &mut network.duplicate,
                &mut network.reorder,
                &mut network.stale_duplicate,
            ),
            Some(i) => {
                let l = &mut network.links.get_mut(i)?.link;
                (
                    &mut l.loss,
                    &mut l.duplicate,
                    &mut l.reorder,
                    &mut l.stale_duplicate,
                )
            }
        };
        Some(self.what.pick(link))
    }

    fn get(&self, network: &NetworkConfig) -> Option<f64> {
        let link = match self.link {
            None => (
                &network.loss,
                &network.duplicate,
                &network.reorder,
                &network.stale_duplicate,
            ),
            Some(i) => {
                let l = &network.links.get(i)?.link;
                (&l.loss, &l.duplicate, &l.reorder, &l.stale_duplicate)
            }
        };
        Some(*self.what.pick(link))
    }

    fn set(&self, network: &mut NetworkConfig, value: f64) {
        if let Some(slot) = self.slot(network) {
            *slot = value;
        }
    }
}

/// Every probability of `network`: stale duplication, reordering, then duplication, then
/// loss, each on the default link and then on each override.
fn network_knobs(network: &NetworkConfig) -> Vec<NetworkKnob> {
    let links: Vec<Option<usize>> = std::iter::once(None)
        .chain((0..network.links.len()).map(Some))
        .collect();
    [
        Probability::StaleDuplicate,
        Probability::Reorder,
        Probability::Duplicate,
        Probability::Loss,
    ]
    .into_iter()
    .flat_map(|what| links.iter().map(move |&link| NetworkKnob { link, what }))
    .collect()
}

/// `spec` cut to `duration_ns`, with everything that lived past the new end cut too.
fn with_duration(spec: &ScenarioSpec, duration_ns: u64) -> ScenarioSpec {
    let mut s = spec.clone();
    s.duration_ns = duration_ns.max(1);
    s.faults.retain(|f| f.at_ns < s.duration_ns);
    if let Some(l) = &s.liveness
        && l.duration_ns >= s.duration_ns
    {
        s.liveness = None;
    }
    if let Some(w) = s.workload.as_mut() {
        w.stop_ns = w.stop_ns.map(|t| t.min(s.duration_ns));
    }
    s
}

/// A time for people: seconds with millisecond precision.
fn seconds(ns: Nanos) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

/// A scheduled fault's kind and target for people, e.g. `crash n2`.
fn fault_name(f: &ScheduledFault) -> String {
    let kind = serde_json::to_value(&f.fault)
        .ok()
        .and_then(|v| v["kind"].as_str().map(str::to_string))
        .unwrap_or_default();
    match f.fault.node() {
        Some(node) => format!("{kind} n{}", node.0),
        None => kind,
    }
}

/// The shrunk scenario as a standalone, readable file.
pub fn to_file_text(shrunk: &Shrunk, seed: u64) -> String {
    let mut value = serde_json::to_value(&shrunk.spec).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        // Leave out what is at its default, so the file shows what matters.
        let defaults = serde_json::to_value(sim_core::Limits::default()).unwrap_or(Value::Null);
        map.retain(|key, v| !(v.is_null() || key == "limits" && *v == defaults));
        if map.get("clocks").is_some_and(|c| {
            c["nodes"].as_array().is_some_and(Vec::is_empty) && c["skew"].is_null()
        }) {
            map.remove("clocks");
        }
        map.insert("seed".into(), Value::from(seed));
        let note = format!(
            "shrunk by dsim shrink: still fails `{}` on seed {seed} ({} runs)",
            shrunk.check, shrunk.runs
        );
        map.insert("description".into(), Value::from(note));
    }
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}
