//! Client-side metrics computed from the history: operation latency percentiles (from an HDR
//! histogram) and throughput.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use sim_core::{EventType, HistoryEvent, SimConfig};

/// Latency percentiles of completed operations (ms) and ok throughput (ops per simulated second).
pub fn client_metrics(history: &[HistoryEvent], config: &SimConfig) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    if history.is_empty() {
        return out;
    }
    // One hour at three significant digits: far beyond any timeout, small enough to stay cheap.
    let Ok(mut histogram) = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3) else {
        return out;
    };
    let mut invoked: BTreeMap<u64, u64> = BTreeMap::new();
    let mut ok = 0u64;
    for e in history {
        match e.kind {
            EventType::Invoke => {
                invoked.insert(e.process, e.time);
            }
            EventType::Ok | EventType::Fail => {
                if let Some(start) = invoked.remove(&e.process) {
                    let _ = histogram.record(e.time.saturating_sub(start).max(1));
                }
                ok += u64::from(e.kind == EventType::Ok);
            }
            EventType::Info => {
                invoked.remove(&e.process);
            }
        }
    }
    if histogram.is_empty() {
        return out;
    }
    for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
        out.insert(
            format!("latency_ms_{name}"),
            histogram.value_at_quantile(q) as f64 / 1e6,
        );
    }
    out.insert("latency_ms_max".into(), histogram.max() as f64 / 1e6);
    let seconds = config.duration_ns as f64 / 1e9;
    out.insert("throughput_ok_per_sec".into(), ok as f64 / seconds);
    out
}
