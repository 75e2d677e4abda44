//! The result of one run: checks, statistics, metrics and the trace hash, as a JSON summary for
//! machines and a short text for people.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sim_core::CheckResult;

pub use crate::linearizable::Counterexample;
use serde::Serialize;
use sim_core::{
    CoverageSummary, FaultRecord, FaultSource, HistoryEvent, NemesisConfig, PointRecord,
    ScheduledFault, Stats, Violation,
};

/// Everything a run produced that a caller may want.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// The scenario's name.
    pub scenario: String,
    /// The protocol run.
    pub protocol: String,
    /// The seed used.
    pub seed: u64,
    /// Whether every check passed.
    pub ok: bool,
    /// The rolling hash of the whole trace.
    #[serde(serialize_with = "hex")]
    pub trace_hash: u64,
    /// Counters.
    pub stats: Stats,
    /// Wall-clock time the run took (measured outside the simulation).
    pub wall_ns: u64,
    /// Wall-clock time the checks took after the run.
    pub check_wall_ns: u64,
    /// Each check's verdict.
    pub checks: Vec<CheckResult>,
    /// Protocol metrics and client latency percentiles.
    pub metrics: BTreeMap<String, f64>,
    /// The first violations reported during the run.
    pub violations: Vec<Violation>,
    /// Which faults fired and what they affected.
    pub coverage: CoverageSummary,
    /// The nemesis in force (for a swarm nemesis, the profile drawn from the seed).
    pub nemesis: Option<NemesisConfig>,
    /// What this seed drew for each field of the scenario's `swarm` section.
    pub swarm: BTreeMap<String, serde_json::Value>,
    /// The buggify points the protocol asked about, by name: enabled in this run or not, and
    /// how often they fired (empty when buggify is off).
    pub buggify: BTreeMap<String, PointRecord>,
    /// The client history.
    #[serde(skip)]
    pub history: Vec<HistoryEvent>,
    /// Every fault applied, with its origin and effect.
    #[serde(skip)]
    pub fault_records: Vec<FaultRecord>,
    /// The operation a failed linearizability check could not place, if it failed with one.
    #[serde(skip)]
    pub counterexample: Option<Counterexample>,
}

fn hex<S: serde::Serializer>(hash: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{hash:016x}"))
}

/// The summary printed by `--json` and written to `summary.json`.
#[derive(Serialize)]
pub struct Summary<'a> {
    scenario: &'a str,
    protocol: &'a str,
    seed: u64,
    ok: bool,
    trace_hash: String,
    events: u64,
    sim_ms: f64,
    wall_ms: f64,
    check_ms: f64,
    events_per_sec: f64,
    sim_to_wall_ratio: f64,
    checks: &'a [CheckResult],
    metrics: &'a BTreeMap<String, f64>,
    stats: &'a Stats,
    violations: &'a [Violation],
    coverage: &'a CoverageSummary,
    nemesis: Option<&'a NemesisConfig>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    swarm: &'a BTreeMap<String, serde_json::Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    buggify: &'a BTreeMap<String, PointRecord>,
    /// The SHA-256 of every other file `dsim run --out` wrote, by name (only in summary.json).
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<BTreeMap<String, String>>,
}

impl Summary<'_> {
    /// The summary with the digests of the files written beside it.
    pub fn with_files(self, files: BTreeMap<String, String>) -> Self {
        Self {
            files: Some(files),
            ..self
        }
    }
}

impl RunReport {
    /// The faults the nemesis applied in this run, as a fixed schedule (in time order).
    pub fn nemesis_schedule(&self) -> impl Iterator<Item = ScheduledFault> + '_ {
        self.fault_records
            .iter()
            .filter(|r| r.applied && matches!(r.source, FaultSource::Nemesis { .. }))
            .map(|r| ScheduledFault {
                at_ns: r.at_ns,
                fault: r.fault.clone(),
            })
    }

    /// The machine-readable summary.
    pub fn summary(&self) -> Summary<'_> {
        Summary {
            scenario: &self.scenario,
            protocol: &self.protocol,
            seed: self.seed,
            ok: self.ok,
            trace_hash: format!("{:016x}", self.trace_hash),
            events: self.stats.events,
            sim_ms: self.stats.sim_time_ns as f64 / 1e6,
            wall_ms: self.wall_ns as f64 / 1e6,
            check_ms: self.check_wall_ns as f64 / 1e6,
            events_per_sec: self.stats.events_per_sec(self.wall_ns),
            sim_to_wall_ratio: self.stats.sim_to_wall_ratio(self.wall_ns),
            checks: &self.checks,
            metrics: &self.metrics,
            stats: &self.stats,
            violations: &self.violations,
            coverage: &self.coverage,
            nemesis: self.nemesis.as_ref(),
            swarm: &self.swarm,
            buggify: &self.buggify,
            files: None,
        }
    }

    /// The human-readable summary.
    pub fn to_text(&self) -> String {
        let s = &self.stats;
        let mut out = String::new();
        let failed = self.checks.iter().filter(|c| !c.ok).count();
        let verdict = if self.ok {
            format!("PASS ({} checks passed)", self.checks.len())
        } else {
            format!("FAIL ({failed} of {} checks failed)", self.checks.len())
        };
        let _ = writeln!(
            out,
            "scenario  {} ({}, seed {})",
            self.scenario, self.protocol, self.seed
        );
        let _ = writeln!(out, "result    {verdict}");
        for c in &self.checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            let _ = writeln!(out, "  {mark} {:<24} {}", c.name, c.detail);
        }
        let _ = writeln!(
            out,
            "run       {} events in {:.3} s wall: {:.2} M events/s; {:.1} s simulated ({:.0}x real time); checked in {:.1} ms",
            s.events,
            self.wall_ns as f64 / 1e9,
            s.events_per_sec(self.wall_ns) / 1e6,
            s.sim_time_ns as f64 / 1e9,
            s.sim_to_wall_ratio(self.wall_ns),
            self.check_wall_ns as f64 / 1e6,
        );
        let _ = writeln!(
            out,
            "messages  sent {} delivered {} dropped {} (loss {}, partition {}, node down {}) duplicated {}",
            s.messages_sent,
            s.messages_delivered,
            s.messages_dropped(),
            s.messages_dropped_loss,
            s.messages_dropped_partition,
            s.messages_dropped_node_down,
            s.messages_duplicated,
        );
        if s.messages_stale + s.messages_held + s.messages_replayed > 0 {
            let _ = writeln!(
                out,
                "late      stale duplicates {} held {} replayed {}",
                s.messages_stale, s.messages_held, s.messages_replayed,
            );
        }
        if s.ops_invoked > 0 {
            let m = |k: &str| self.metrics.get(k).copied().unwrap_or(f64::NAN);
            let _ = writeln!(
                out,
                "ops       invoked {} ok {} fail {} info {}; latency ms p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}",
                s.ops_invoked,
                s.ops_ok,
                s.ops_fail,
                s.ops_info,
                m("latency_ms_p50"),
                m("latency_ms_p90"),
                m("latency_ms_p99"),
                m("latency_ms_max"),
            );
        }
        let other: Vec<String> = self
            .metrics
            .iter()
            .filter(|(k, _)| !k.starts_with("latency_ms_"))
            .map(|(k, v)| {
                format!("{k} {v:.6}")
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string()
            })
            .collect();
        if !other.is_empty() {
            let _ = writeln!(out, "metrics   {}", other.join(", "));
        }
        if !self.coverage.by_kind.is_empty() {
            let kinds: Vec<String> = self
                .coverage
                .by_kind
                .iter()
                .map(|(kind, t)| {
                    let mut text = format!("{kind} {}/{}", t.affected, t.fired);
                    if t.messages_dropped > 0 {
                        text.push_str(&format!(" dropped {}", t.messages_dropped));
                    }
                    if t.messages_held > 0 {
                        text.push_str(&format!(" held {}", t.messages_held));
                    }
                    if t.messages_replayed > 0 {
                        text.push_str(&format!(" replayed {}", t.messages_replayed));
                    }
                    if t.time_ns > 0 {
                        text.push_str(&format!(" {:.1}s", t.time_ns as f64 / 1e9));
                    }
                    text
                })
                .collect();
            let _ = writeln!(out, "faults    (affected/fired) {}", kinds.join(", "));
        }
        if let Some(n) = &self.nemesis {
            let kinds: Vec<String> = n.kinds.iter().map(|k| format!("{k:?}")).collect();
            let _ = writeln!(
                out,
                "nemesis   {} every {:.2} s on average, lasting {:.2}-{:.2} s",
                kinds.join("+"),
                n.interval_ns_mean as f64 / 1e9,
                n.duration_ns_min as f64 / 1e9,
                n.duration_ns_max as f64 / 1e9
            );
        }
        if !self.swarm.is_empty() {
            let drawn: Vec<String> = self.swarm.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(out, "swarm     {}", drawn.join(", "));
        }
        if !self.buggify.is_empty() {
            let points: Vec<String> = self
                .buggify
                .iter()
                .map(|(name, p)| match p.enabled {
                    true => format!("{name} fired {}/{}", p.fired, p.calls),
                    false => format!("{name} off"),
                })
                .collect();
            let _ = writeln!(out, "buggify   {}", points.join(", "));
        }
        for flag in &self.coverage.flagged {
            let _ = writeln!(out, "  flagged: {flag}");
        }
        let _ = writeln!(out, "trace     hash {:016x}", self.trace_hash);
        out
    }
}
