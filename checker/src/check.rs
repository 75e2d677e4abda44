//! The entry points: check a history (or dsim's in-memory events) against a model and get a
//! verdict, per-partition results and, when it is not linearizable, an explanation.

use std::collections::BTreeSet;
use std::time::Instant;

use serde::Serialize;

use crate::error::CheckError;
use crate::explain::{Explanation, OpRef};
use crate::history::{Event, History, Operation, Value};
use crate::model::{Kv, Model, ModelKind, ModelSpec, MultiRegister, Register, Set};
use crate::partition::{self, RunMode};
use crate::search::{Limits, Outcome, SearchStats};

/// How to check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckOptions {
    /// Bounds on the search.
    pub limits: Limits,
    /// Check partitions in parallel (rayon). Off gives the same explanation on every run even
    /// when several keys fail, as a deterministic simulation run wants.
    pub parallel: bool,
    /// Stop the other partitions once one is not linearizable (their verdicts are then
    /// `unknown`, cancelled). Off decides every partition.
    pub stop_on_first_failure: bool,
}

impl Default for CheckOptions {
    fn default() -> CheckOptions {
        CheckOptions {
            limits: Limits::default(),
            parallel: true,
            stop_on_first_failure: true,
        }
    }
}

/// Whether a history is linearizable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Some order of the operations explains every result.
    Linearizable,
    /// No order does.
    NotLinearizable,
    /// Undecided: a limit was reached (the report says which).
    Unknown,
}

impl Verdict {
    /// The name used in reports: `linearizable`, `not-linearizable`, `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable => "not-linearizable",
            Verdict::Unknown => "unknown",
        }
    }
}

/// The result of checking one partition (one key).
#[derive(Clone, Debug, Serialize)]
pub struct PartitionReport {
    /// The key (`None`: operations without a key).
    pub key: Option<Value>,
    /// Its operations.
    pub ops: usize,
    /// Its verdict.
    pub verdict: Verdict,
    /// Why it is `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Search counters.
    pub stats: SearchStats,
    /// Ids of its operations, for the HTML timeline.
    #[serde(skip)]
    pub op_ids: Vec<usize>,
}

/// The result of a check.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The overall verdict: not linearizable if any partition is not, unknown if any is
    /// undecided, linearizable otherwise.
    pub verdict: Verdict,
    /// Why it is `unknown` (the first undecided partition's reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The model's name.
    pub model: String,
    /// Operations checked (failed calls excluded).
    pub ops: usize,
    /// Per-partition results, in key order.
    pub partitions: Vec<PartitionReport>,
    /// Time spent checking (reading excluded), in milliseconds.
    pub elapsed_ms: f64,
    /// For a history that is not linearizable: the first failing partition's explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
}

/// Checks a history read from a file against one of the built-in models.
pub fn check_history(
    history: &History,
    spec: &ModelSpec,
    options: &CheckOptions,
) -> Result<CheckReport, CheckError> {
    let initial = spec.initial.clone();
    let name = spec.kind.name();
    match spec.kind {
        ModelKind::Register => check_with_model(
            &Register {
                initial: initial.unwrap_or_default(),
                cas: false,
            },
            name,
            history,
            options,
        ),
        ModelKind::CasRegister => check_with_model(
            &Register {
                initial: initial.unwrap_or_default(),
                cas: true,
            },
            name,
            history,
            options,
        ),
        ModelKind::Kv => {
            let initial = initial.unwrap_or(Value::Str(String::new()));
            check_with_model(&Kv { initial }, name, history, options)
        }
        ModelKind::MultiRegister => check_with_model(
            &MultiRegister {
                initial: initial.unwrap_or_default(),
            },
            name,
            history,
            options,
        ),
        ModelKind::Set => {
            let initial: BTreeSet<Value> = match initial {
                Some(Value::List(items)) => items.into_iter().collect(),
                Some(Value::Nil) | None => BTreeSet::new(),
                Some(one) => BTreeSet::from([one]),
            };
            check_with_model(&Set { initial }, name, history, options)
        }
    }
}

/// Checks dsim's in-memory client history (events in time order) against a built-in model.
pub fn check_events(
    events: &[Event],
    spec: &ModelSpec,
    options: &CheckOptions,
) -> Result<CheckReport, CheckError> {
    check_history(
        &History::from_events("history", events.to_vec()),
        spec,
        options,
    )
}

/// Checks a history against any [`Model`]; `name` labels the report.
pub fn check_with_model<M: Model>(
    model: &M,
    name: &str,
    history: &History,
    options: &CheckOptions,
) -> Result<CheckReport, CheckError> {
    let start = Instant::now();
    let ops = history.operations()?;
    for op in &ops {
        model.validate(op).map_err(|message| CheckError::Model {
            source_name: history.source.clone(),
            line: op.line,
            op: op.to_string(),
            message,
        })?;
    }
    let partitions = partition::split(&ops);
    let mode = RunMode {
        parallel: options.parallel,
        stop_on_first_failure: options.stop_on_first_failure,
    };
    let deadline = options.limits.timeout.map(|timeout| start + timeout);
    let results = partition::check_all(model, &partitions, &options.limits, mode, deadline);

    let mut explanation = None;
    let mut reports = Vec::with_capacity(partitions.len());
    for (partition, (outcome, stats)) in partitions.iter().zip(results) {
        let (verdict, reason) = match outcome {
            Outcome::Linearizable => (Verdict::Linearizable, None),
            Outcome::Unknown(reason) => (Verdict::Unknown, Some(reason)),
            Outcome::NotLinearizable(failure) => {
                if explanation.is_none() {
                    explanation = Some(Explanation {
                        key: partition.key.clone(),
                        op: OpRef::of(&ops[failure.blocking]),
                        prefix: failure
                            .prefix
                            .iter()
                            .map(|&id| OpRef::of(&ops[id]))
                            .collect(),
                        states_before: failure.states,
                    });
                }
                (Verdict::NotLinearizable, None)
            }
        };
        reports.push(PartitionReport {
            key: partition.key.clone(),
            ops: partition.ops.len(),
            verdict,
            reason,
            stats,
            op_ids: partition.ops.iter().map(|op| op.id).collect(),
        });
    }
    let (verdict, reason) = overall(&reports);
    Ok(CheckReport {
        verdict,
        reason,
        model: name.to_owned(),
        ops: ops.len(),
        partitions: reports,
        elapsed_ms: start.elapsed().as_secs_f64() * 1e3,
        explanation,
    })
}

/// Not linearizable beats unknown beats linearizable.
fn overall(reports: &[PartitionReport]) -> (Verdict, Option<String>) {
    if reports
        .iter()
        .any(|r| r.verdict == Verdict::NotLinearizable)
    {
        return (Verdict::NotLinearizable, None);
    }
    match reports.iter().find(|r| r.verdict == Verdict::Unknown) {
        Some(report) => {
            let key = report
                .key
                .as_ref()
                .map(|k| format!("key {k}: "))
                .unwrap_or_default();
            (
                Verdict::Unknown,
                Some(format!(
                    "{key}{}",
                    report.reason.clone().unwrap_or_default()
                )),
            )
        }
        None => (Verdict::Linearizable, None),
    }
}

/// The operations of a report's partitions, for callers that only kept the report.
pub fn partition_ops<'a>(report: &PartitionReport, ops: &'a [Operation]) -> Vec<&'a Operation> {
    report.op_ids.iter().filter_map(|&id| ops.get(id)).collect()
}
