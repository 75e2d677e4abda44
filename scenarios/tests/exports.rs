//! The ShiViz log and the Perfetto trace checked against the rules of the tools that read them
//! (neither tool can run here). ShiViz (DistributedClocks/shiviz, js/model/parser.js and
//! js/model/modelGraph.js): the log is cut into events by the user's regular expression with
//! the `g` and `m` flags; each clock is a JSON object holding the event's own host; each host's
//! own entry counts its events 1, 2, 3, ... in log order; every host a clock names has at least
//! that many events; and each event's parents are the events whose entries grew, so a clock must
//! be exactly the merge of the host's previous clock and its message's send. Perfetto
//! (google/perfetto, src/trace_processor/importers/json/): `ts` and `dur` are microseconds and
//! `displayTimeUnit` must not rescale them; `X` needs `dur`; a thread-scoped instant needs a
//! `tid`; an event may not hold a top-level array (the tokenizer rejects it while scanning for
//! `ts`); a v2 flow starts at the one slice with `flow_out` and ends at slices with `flow_in`
//! sharing its `bind_id`; metadata events name threads and the process.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};

/// Runs `dsim run scenarios/library/NAME --out DIR`.
fn run_out(name: &str, dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let file: PathBuf = root.join("scenarios/library").join(name);
    let out = Command::new(env!("CARGO_BIN_EXE_dsim"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
        ])
        .output()
        .expect("dsim runs");
    assert_eq!(out.status.code(), Some(0), "{name} passes");
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The run's trace events.
fn trace(dir: &Path) -> Vec<Value> {
    read(dir, "trace.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// One ShiViz event: host, clock, text.
struct ShivizEvent {
    host: String,
    clock: BTreeMap<String, u64>,
    text: String,
}

/// Cuts the log into events as ShiViz does: the documented expression applied globally to the
/// trimmed text. JavaScript reads a `{` that starts no quantifier as a literal; Rust's regex
/// crate wants it escaped, which is the only change made to the expression.
fn parse_shiviz(log: &str) -> Vec<ShivizEvent> {
    let pattern = scenarios::export_shiviz::SHIVIZ_REGEX
        .replace('{', r"\{")
        .replace('}', r"\}");
    let re = regex::Regex::new(&format!("(?m){pattern}")).unwrap();
    let text = log.trim();
    let events: Vec<ShivizEvent> = re
        .captures_iter(text)
        .map(|c| {
            let clock: Map<String, Value> = serde_json::from_str(&c["clock"])
                .unwrap_or_else(|e| panic!("clock is JSON: {e}: {}", &c["clock"]));
            let clock = clock
                .into_iter()
                .map(|(h, n)| (h, n.as_u64().expect("clock entries are counts")))
                .collect();
            ShivizEvent {
                host: c["host"].to_string(),
                clock,
                text: c["event"].to_string(),
            }
        })
        .collect();
    assert_eq!(
        events.len() * 2,
        text.lines().count(),
        "the expression captures every event, two lines each"
    );
    events
}

fn merge(into: &mut BTreeMap<String, u64>, other: &BTreeMap<String, u64>) {
    for (h, &n) in other {
        let mine = into.entry(h.clone()).or_insert(0);
        *mine = (*mine).max(n);
    }
}

/// The message id of a ShiViz event text written for a send (`send #ID ...`) or a receive
/// (`nT <- nF #ID: ...`).
fn message_id(text: &str, receive: bool) -> Option<u64> {
    let rest = if receive {
        let (_, rest) = text.split_once(" <- ")?;
        rest.split_once(" #")?.1
    } else {
        text.split_once(" send #")?.1
    };
    rest.split([' ', ':']).next()?.parse().ok()
}

/// Applies ShiViz's rules and the exactness rule to a log; returns (receives, sends) checked.
fn check_shiviz(log: &str) -> (usize, usize) {
    let events = parse_shiviz(log);
    let mut count: HashMap<&str, u64> = HashMap::new();
    for e in &events {
        *count.entry(&e.host).or_default() += 1;
        let own = e.clock.get(&e.host).copied();
        assert_eq!(
            own,
            Some(count[e.host.as_str()]),
            "the own entry of {} counts its events 1, 2, 3, ...: {}",
            e.host,
            e.text
        );
    }
    for e in &events {
        for (h, &n) in &e.clock {
            let known = count.get(h.as_str()).copied().unwrap_or(0);
            assert!(
                n >= 1 && n <= known,
                "{h}:{n} names no event of {h} ({known} events)"
            );
        }
    }
    let mut last: HashMap<&str, BTreeMap<String, u64>> = HashMap::new();
    let mut sent: HashMap<u64, BTreeMap<String, u64>> = HashMap::new();
    let (mut receives, mut sends) = (0, 0);
    for e in &events {
        let mut expected = last.get(e.host.as_str()).cloned().unwrap_or_default();
        let receive = e.text.contains(" <- ");
        if receive {
            let id = message_id(&e.text, true).expect("a receive names its message");
            let send = sent
                .get(&id)
                .unwrap_or_else(|| panic!("#{id} received before sent"));
            merge(&mut expected, send);
            receives += 1;
        }
        *expected.entry(e.host.clone()).or_insert(0) += 1;
        assert_eq!(
            e.clock, expected,
            "the clock of `{}` at {} is the previous one merged with its send only",
            e.text, e.host
        );
        if let Some(id) = message_id(&e.text, false) {
            assert!(
                sent.insert(id, e.clock.clone()).is_none(),
                "#{id} sent once"
            );
            sends += 1;
        }
        last.insert(&e.host, e.clock.clone());
    }
    (receives, sends)
}

/// Exact clocks with duplicates (one send, two receives) and several same-instant messages
/// from one sender to one receiver, as the register scenario's lossy, duplicating network has.
#[test]
fn shiviz_clocks_are_exact_with_duplicates_and_same_instant_sends() {
    let dir = tempfile::tempdir().unwrap();
    run_out("register.json", dir.path());
    let trace = trace(dir.path());
    let mut deliveries: HashMap<u64, u32> = HashMap::new();
    let mut same_instant: HashMap<(u64, u64, u64), Vec<u64>> = HashMap::new();
    for e in trace.iter().filter(|e| e["event"] == "deliver") {
        let id = e["msg_id"].as_u64().unwrap();
        *deliveries.entry(id).or_default() += 1;
        let key = (
            e["from"].as_u64().unwrap(),
            e["to"].as_u64().unwrap(),
            e["sent_ns"].as_u64().unwrap(),
        );
        let ids = same_instant.entry(key).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    assert!(
        deliveries.values().any(|&n| n == 2),
        "the run duplicates a message"
    );
    assert!(
        same_instant.values().any(|ids| ids.len() > 1),
        "the run has two messages with the same sender, receiver and send time"
    );
    let (receives, sends) = check_shiviz(&read(dir.path(), "shiviz.log"));
    let delivered: u32 = deliveries.values().sum();
    assert_eq!(receives, delivered as usize, "one receive per delivery");
    assert!(sends >= deliveries.len());
}

#[test]
fn shiviz_rules_hold_for_a_raft_run_with_partitions() {
    let dir = tempfile::tempdir().unwrap();
    run_out("raft-partitions.json", dir.path());
    let (receives, sends) = check_shiviz(&read(dir.path(), "shiviz.log"));
    assert!(receives > 1000 && sends >= receives / 2);
}

#[test]
fn the_shiviz_checker_rejects_a_clock_that_misses_its_send() {
    let good =
        "n0 {\"n0\":1}\nt=1ns send #0 to n1: x\nn1 {\"n0\":1,\"n1\":1}\nt=2ns n1 <- n0 #0: x\n";
    assert_eq!(check_shiviz(good), (1, 1));
    let bad = good.replace("{\"n0\":1,\"n1\":1}", "{\"n1\":1}");
    assert!(std::panic::catch_unwind(|| check_shiviz(&bad)).is_err());
    let skipped = good.replace("{\"n0\":1}", "{\"n0\":2}");
    assert!(std::panic::catch_unwind(|| check_shiviz(&skipped)).is_err());
}

/// Applies Perfetto's JSON rules to a trace file; returns the number of flows.
fn check_perfetto(text: &str, trace: &[Value]) -> usize {
    let doc: Value = serde_json::from_str(text).unwrap();
    assert!(
        doc.get("displayTimeUnit").is_none(),
        "some Perfetto versions read displayTimeUnit as the unit of ts"
    );
    let events = doc["traceEvents"].as_array().expect("traceEvents array");
    let mut named_threads = std::collections::BTreeSet::new();
    let mut flow_out: HashMap<u64, (f64, u64)> = HashMap::new();
    let mut flow_in: HashMap<u64, Vec<(f64, u64)>> = HashMap::new();
    let mut last_ts: HashMap<u64, f64> = HashMap::new();
    for e in events {
        let obj = e.as_object().expect("each event is an object");
        assert!(
            obj.values().all(|v| !v.is_array()),
            "no top-level arrays: {e}"
        );
        let ph = e["ph"].as_str().expect("ph is a string");
        assert!(e["name"].is_string(), "{e}");
        let pid = e["pid"].as_u64().expect("pid");
        let tid = e["tid"].as_u64().expect("tid");
        assert!(pid <= u64::from(u32::MAX) && tid <= u64::from(u32::MAX));
        let ts = e["ts"].as_f64().expect("ts is a number");
        assert!(ts >= 0.0);
        match ph {
            "M" => {
                assert!(matches!(
                    e["name"].as_str(),
                    Some("thread_name" | "process_name")
                ));
                assert!(e["args"]["name"].is_string(), "{e}");
                if e["name"] == "thread_name" {
                    named_threads.insert(tid);
                }
                continue;
            }
            "X" => assert!(
                e["dur"].as_f64().is_some_and(|d| d >= 0.0),
                "X needs dur: {e}"
            ),
            "i" | "I" => assert!(
                matches!(e["s"].as_str(), Some("t" | "p" | "g")),
                "instant scope: {e}"
            ),
            other => panic!("phase {other} is not one we write: {e}"),
        }
        let previous = last_ts.insert(tid, ts).unwrap_or(0.0);
        assert!(ts >= previous, "ts goes back on tid {tid}: {e}");
        if let Some(id) = e.get("bind_id") {
            let id = id.as_u64().expect("numeric bind_id");
            assert_eq!(ph, "X", "flows bind to slices: {e}");
            let (out, inn) = (e["flow_out"] == true, e["flow_in"] == true);
            assert!(out != inn, "one direction per slice: {e}");
            if out {
                assert!(
                    flow_out.insert(id, (ts, tid)).is_none(),
                    "one start per flow {id}"
                );
            } else {
                flow_in.entry(id).or_default().push((ts, tid));
            }
        }
    }
    for (tid, _) in last_ts {
        assert!(named_threads.contains(&tid), "thread {tid} is named");
    }
    // Flow ends, and their times in microseconds, against the trace in nanoseconds.
    let delivered: HashMap<u64, Vec<(u64, u64, u64)>> = trace
        .iter()
        .filter(|e| e["event"] == "deliver")
        .fold(HashMap::new(), |mut m, e| {
            m.entry(e["msg_id"].as_u64().unwrap()).or_default().push((
                e["sent_ns"].as_u64().unwrap(),
                e["time"].as_u64().unwrap(),
                e["to"].as_u64().unwrap(),
            ));
            m
        });
    assert_eq!(
        flow_in.len(),
        delivered.len(),
        "a flow per delivered message"
    );
    for (id, ends) in &flow_in {
        let &(start_ts, _) = flow_out
            .get(id)
            .unwrap_or_else(|| panic!("flow {id} has no start"));
        let expected = &delivered[id];
        assert_eq!(ends.len(), expected.len());
        for (&(ts, tid), &(sent_ns, time_ns, to)) in ends.iter().zip(expected) {
            assert_eq!(tid, to);
            assert_eq!(
                (start_ts * 1e3).round() as u64,
                sent_ns,
                "ts in microseconds"
            );
            assert_eq!((ts * 1e3).round() as u64, time_ns, "ts in microseconds");
        }
    }
    flow_in.len()
}

#[test]
fn perfetto_rules_hold_with_duplicates_and_partitions() {
    for name in ["register.json", "raft-partitions.json"] {
        let dir = tempfile::tempdir().unwrap();
        run_out(name, dir.path());
        let flows = check_perfetto(&read(dir.path(), "trace.perfetto.json"), &trace(dir.path()));
        assert!(flows > 100, "{name}: {flows} flows");
    }
}

#[test]
fn the_perfetto_checker_rejects_a_rescaled_or_unpaired_trace() {
    let slice = |id: u64, dir: &str, ts: f64| {
        serde_json::json!({"name": "m", "ph": "X", "dur": 0, "pid": 1, "tid": 0, "ts": ts,
            "bind_id": id, dir: true})
    };
    let meta = serde_json::json!({"name": "thread_name", "ph": "M", "pid": 1, "tid": 0, "ts": 0,
        "args": {"name": "n0"}});
    let trace = vec![
        serde_json::json!({"event": "deliver", "msg_id": 0, "sent_ns": 1000,
        "time": 3000, "to": 0}),
    ];
    let doc = |events: Vec<Value>| serde_json::json!({ "traceEvents": events });
    let good = doc(vec![
        meta.clone(),
        slice(0, "flow_out", 1.0),
        slice(0, "flow_in", 3.0),
    ]);
    assert_eq!(check_perfetto(&good.to_string(), &trace), 1);
    let mut rescaled = good.clone();
    rescaled["displayTimeUnit"] = "ms".into();
    assert!(std::panic::catch_unwind(|| check_perfetto(&rescaled.to_string(), &trace)).is_err());
    let unpaired = doc(vec![meta.clone(), slice(0, "flow_in", 3.0)]);
    assert!(std::panic::catch_unwind(|| check_perfetto(&unpaired.to_string(), &trace)).is_err());
    let nanos = doc(vec![
        meta,
        slice(0, "flow_out", 1000.0),
        slice(0, "flow_in", 3000.0),
    ]);
    assert!(std::panic::catch_unwind(|| check_perfetto(&nanos.to_string(), &trace)).is_err());
}
