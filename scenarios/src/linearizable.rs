//! The `linearizable` check: the client history through the checker crate.

use protocols::CheckResult;
use sim_core::HistoryEvent;

/// Judges `history` under `model`.
pub fn check(model: Option<&str>, history: &[HistoryEvent]) -> CheckResult {
    let _ = history;
    CheckResult::fail(
        "linearizable",
        format!("checker not wired yet (model {model:?})"),
    )
}
