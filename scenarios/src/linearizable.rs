//! The `linearizable` check: the run's client history judged by [`History::check`] under the
//! model the protocol names, as a check result for the report. A failed
//! check also says which operation it could not place, by its index in the run's history, so the
//! report can point at it without parsing the check's text.

use sim_core::{CheckReport, CheckResult, History, HistoryCheckError, ModelKind, Verdict};

const NAME: &str = "linearizable";

/// The operation a failed linearizability check could not place after the longest
/// linearizable prefix it found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counterexample {
    /// Index in the run's client history of the operation's invocation.
    pub invoke_index: usize,
    /// The operation as the checker prints it, e.g. `p3 read 0 -> 7`.
    pub text: String,
}

/// Judges `history` under `model`; when it is not linearizable, also the operation the checker
/// could not place. A history in which no operation completed fails: nothing was checked.
pub fn check(model: Option<ModelKind>, history: &History) -> (CheckResult, Option<Counterexample>) {
    let Some(model) = model else {
        let detail = "this protocol's client history has no linearizability model";
        return (CheckResult::fail(NAME, detail), None);
    };
    match history.check(model) {
        Err(e @ HistoryCheckError::NothingCompleted { .. }) => {
            (CheckResult::fail(NAME, e.to_string()), None)
        }
        Err(e) => {
            let detail = format!("the history could not be checked: {e}");
            (CheckResult::fail(NAME, detail), None)
        }
        Ok(report) => {
            let counterexample = counterexample(history, &report);
            (verdict(model.name(), report), counterexample)
        }
    }
}

fn verdict(model: &str, report: CheckReport) -> CheckResult {
    // No wall-clock time here: a check's detail is part of the run's deterministic record
    // (summary.json, report.html), which a replay compares byte for byte.
    let summary = format!(
        "{} ops over {} key(s), {model} model",
        report.ops,
        report.partitions.len(),
    );
    match report.verdict {
        Verdict::Linearizable => CheckResult::pass(NAME, summary),
        Verdict::NotLinearizable => {
            let why = report.explanation.map_or(String::new(), |e| e.to_string());
            CheckResult::fail(NAME, format!("NOT linearizable: {summary}. {why}"))
        }
        Verdict::Unknown => {
            let reason = report.reason.unwrap_or_default();
            CheckResult::fail(NAME, format!("unknown (undecided): {reason}; {summary}"))
        }
    }
}

/// Maps the explanation's operation id (an index among the checker's operations, failed calls
/// left out) back to its invocation in the history. Pairs the history a second time, but only
/// for a failed check.
fn counterexample(history: &History, report: &CheckReport) -> Option<Counterexample> {
    let op = &report.explanation.as_ref()?.op;
    let history = history.to_checker("history");
    let ops = history.operations().ok()?;
    let found = ops.iter().find(|o| o.id == op.id)?;
    Some(Counterexample {
        invoke_index: found.call,
        text: op.text.clone(),
    })
}
