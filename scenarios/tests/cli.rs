//! The `dsim` binary as a user meets it: exit codes, JSON output, artefacts, determinism across
//! processes, and clear errors for bad scenario files.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{buggy_register_file, root};

fn library(name: &str) -> PathBuf {
    root().join("scenarios/library").join(name)
}

fn dsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dsim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("dsim runs")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn register() -> String {
    library("register.json").display().to_string()
}

#[test]
fn a_passing_run_exits_zero_and_prints_a_summary() {
    let out = dsim(&["run", &register()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("PASS") && text.contains("linearizable") && text.contains("events/s"),
        "{text}"
    );
}

#[test]
fn json_output_has_the_documented_fields() {
    let out = dsim(&["run", &register(), "--seed", "3", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    for field in [
        "seed",
        "trace_hash",
        "events",
        "sim_ms",
        "wall_ms",
        "events_per_sec",
        "checks",
        "ok",
    ] {
        assert!(v.get(field).is_some(), "missing {field} in {v}");
    }
    assert_eq!(v["seed"], 3);
    assert_eq!(v["ok"], true);
    assert_eq!(v["sim_ms"], 24_000.0);
    let checks = v["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "linearizable" && c["ok"] == true)
    );
    assert!(v["events"].as_u64().unwrap() > 1000);
}

#[test]
fn the_same_seed_gives_the_same_trace_hash_in_separate_processes() {
    let a = json(&dsim(&["run", &register(), "--seed", "11", "--json"]));
    let b = json(&dsim(&["run", &register(), "--seed", "11", "--json"]));
    let c = json(&dsim(&["run", &register(), "--seed", "12", "--json"]));
    assert_eq!(a["trace_hash"], b["trace_hash"]);
    assert_eq!(a["events"], b["events"]);
    assert_ne!(a["trace_hash"], c["trace_hash"]);
}

#[test]
fn verify_determinism_runs_twice_and_reports_agreement() {
    let out = dsim(&["run", &register(), "--verify-determinism", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let check = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "determinism")
        .cloned()
        .unwrap();
    assert_eq!(check["ok"], true, "{check}");
}

#[test]
fn out_dir_gets_history_trace_summary_and_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let out = dsim(&["run", &register(), "--out", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let history = std::fs::read_to_string(dir.path().join("history.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(history.lines().next().unwrap()).unwrap();
    for field in ["process", "type", "f", "key", "value", "time"] {
        assert!(
            first.get(field).is_some(),
            "history line lacks {field}: {first}"
        );
    }
    let trace = std::fs::read_to_string(dir.path().join("trace.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = trace
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.iter().any(|e| e["event"] == "deliver"));
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "fault" && e["fault"]["kind"] == "crash")
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["ok"], true);
    assert!(dir.path().join("scenario.json").exists());
}

/// Writes `text` to a temporary scenario file and runs it.
fn run_text(text: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, text).unwrap();
    let out = dsim(&["run", path.to_str().unwrap()]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const GOOD: &str = r#"{
  "duration_ns": "1s",
  "protocol": { "name": "register" },
  "cluster": { "servers": 1 },
  "network": { "loss": 0.0 },
  "workload": { "clients": 2 }
}"#;

#[test]
fn a_minimal_file_runs() {
    let (code, err) = run_text(GOOD);
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn malformed_json_is_rejected_with_line_and_column() {
    let (code, err) =
        run_text("{\n  \"duration_ns\": \"1s\",\n  \"protocol\": { \"name\": \"register\" \n}");
    assert_eq!(code, Some(2));
    assert!(err.contains("bad.json:4:"), "{err}");
    assert!(err.contains("invalid JSON"), "{err}");
}

#[test]
fn a_misspelt_field_is_named_with_a_suggestion() {
    let (code, err) = run_text(&GOOD.replace("\"loss\"", "\"los\""));
    assert_eq!(code, Some(2));
    assert!(err.contains("bad.json:5:"), "{err}");
    assert!(
        err.contains("unknown field `los`") && err.contains("did you mean `loss`?"),
        "{err}"
    );
}

#[test]
fn a_bad_value_names_the_field_path() {
    let (code, err) = run_text(&GOOD.replace("\"loss\": 0.0", "\"loss\": 1.5"));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("network.loss") && err.contains("1.5 is out of range; allowed: 0 to 1"),
        "{err}"
    );
    let (code, err) = run_text(&GOOD.replace("\"1s\"", "\"1 fortnight\""));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("bad.json:2:") && err.contains("duration_ns") && err.contains("unknown unit"),
        "{err}"
    );
}

#[test]
fn an_unknown_protocol_or_bug_is_rejected_with_the_allowed_names() {
    let (code, err) = run_text(&GOOD.replace("\"name\": \"register\"", "\"name\": \"registr\""));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("protocol.name") && err.contains("did you mean `register`?"),
        "{err}"
    );
    let with_bug = GOOD.replace(
        "{ \"name\": \"register\" }",
        "{ \"name\": \"register\", \"options\": { \"bugs\": [\"no_dedupe\"] } }",
    );
    let (code, err) = run_text(&with_bug);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("protocol.options.bugs") && err.contains("did you mean `no_dedup`?"),
        "{err}"
    );
}

#[test]
fn semantic_errors_point_at_their_field() {
    let faulty = GOOD.replace("\"workload\"", "\"faults\": [{\"at_ns\": 0, \"fault\": {\"kind\": \"crash\", \"node\": 7}}],\n  \"workload\"");
    let (code, err) = run_text(&faulty);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("faults[0].fault.node") && err.contains("n7"),
        "{err}"
    );
    let (code, err) = run_text(&GOOD.replace("\"servers\": 1", "\"servers\": 2"));
    assert_eq!(code, Some(2));
    assert!(err.contains("cluster.servers"), "{err}");
}

#[test]
fn a_missing_file_or_bad_flag_exits_two() {
    let out = dsim(&["run", "does/not/exist.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does/not/exist.json"));
    assert_eq!(
        dsim(&["run", &register(), "--seed", "banana"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn list_shows_protocols_bugs_and_the_library() {
    let out = dsim(&["list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text.contains("register") && text.contains("no_dedup"),
        "{text}"
    );
    assert!(
        text.contains("pingpong") && !text.contains("INVALID"),
        "{text}"
    );
}

fn histories() -> PathBuf {
    root().join("../shared/histories")
}

/// `dsim check FILE --model MODEL --json`, which must exit 0 (linearizable): its JSON.
fn check_json_ok(file: &Path, model: &str) -> serde_json::Value {
    let out = dsim(&["check", file.to_str().unwrap(), "--model", model, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

#[test]
fn check_gives_the_published_verdicts_with_their_exit_codes() {
    let good = histories().join("porcupine/etcd/etcd_002.log");
    let bad = histories().join("porcupine/etcd/etcd_000.log");
    let v = check_json_ok(&good, "cas-register");
    assert_eq!(v["verdict"], "linearizable");
    for field in ["partitions", "ops", "elapsed_ms"] {
        assert!(v.get(field).is_some(), "missing {field} in {v}");
    }
    let out = dsim(&["check", bad.to_str().unwrap(), "--model", "cas-register"]);
    assert_eq!(out.status.code(), Some(1));
    let knossos = histories().join("knossos/cas-register/bad-analysis.edn");
    let out = dsim(&[
        "check",
        knossos.to_str().unwrap(),
        "--model",
        "cas-register",
        "--initial",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

/// A directory is checked file by file, one line each, exit status the worst verdict; a
/// directory with no files in it is bad input that names its subdirectories.
#[test]
fn check_takes_a_directory_and_rejects_one_without_histories() {
    let cas = histories().join("knossos/cas-register");
    let args = ["--model", "cas-register", "--initial", "0"];
    let out = dsim(&[&["check", cas.to_str().unwrap()][..], &args].concat());
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("bad-analysis.edn: not-linearizable"),
        "{text}"
    );
    let knossos = histories().join("knossos");
    let out = dsim(&[&["check", knossos.to_str().unwrap()][..], &args].concat());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no history files") && err.contains("cas-register, multi-register"),
        "{err}"
    );
}

/// A history that cannot be read (a symlink loop, a file that fails on read) is bad input
/// whose error names the file and says why, and a missing one says it is missing.
#[test]
fn check_names_a_history_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let looped = dir.path().join("loop.edn");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    let mut cases = vec![
        (looped.clone(), "cannot read"),
        (dir.path().join("missing.edn"), "no such file"),
    ];
    if cfg!(target_os = "linux") {
        // Opens, then fails on the first read (EIO).
        cases.push((PathBuf::from("/proc/self/mem"), "cannot read"));
    }
    for (path, why) in cases {
        let out = dsim(&["check", path.to_str().unwrap(), "--model", "register"]);
        assert_eq!(out.status.code(), Some(2), "{}", path.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("{}: {why}", path.display())),
            "{}: {err}",
            path.display()
        );
    }
}

#[test]
fn check_rejects_a_malformed_history_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    std::fs::write(&path, "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"time\":1}\n{\"process\":0,\"type\":\"okay\"}\n").unwrap();
    let out = dsim(&["check", path.to_str().unwrap(), "--model", "register"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("h.jsonl:2:"), "{err}");
}

/// A bad line deep in a long history (read as it is checked, with parts of it already searched)
/// still stops the check with the file, line and column, exit 2, in text and JSON; the same
/// history without the bad line is linearizable with few operations held.
#[test]
fn check_rejects_a_bad_line_in_the_middle_of_a_long_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.jsonl");
    let mut text = String::new();
    for i in 0..40_000u64 {
        let (call, ret) = (2 * i, 2 * i + 1);
        text.push_str(&format!(
            "{{\"process\":{p},\"type\":\"invoke\",\"f\":\"write\",\"value\":{i},\"time\":{call}}}\n\
             {{\"process\":{p},\"type\":\"ok\",\"f\":\"write\",\"value\":{i},\"time\":{ret}}}\n",
            p = i % 3
        ));
    }
    std::fs::write(&path, &text).unwrap();
    let held = check_json_ok(&path, "register")["held_ops_max"]
        .as_u64()
        .unwrap();
    assert!(held < 40_000, "{held}");

    let mut lines: Vec<&str> = text.lines().collect();
    lines[60_000] = "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1,,\"time\":5}";
    std::fs::write(&path, lines.join("\n")).unwrap();
    for json_flag in [false, true] {
        let mut args = vec!["check", path.to_str().unwrap(), "--model", "register"];
        if json_flag {
            args.push("--json");
        }
        let out = dsim(&args);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("long.jsonl:60001:48: expected"), "{err}");
    }
}

#[test]
fn sweep_reports_failing_seeds_with_repro_commands_and_shards_merge() {
    let dir = tempfile::tempdir().unwrap();
    let buggy = buggy_register_file(dir.path());
    let buggy = buggy.to_str().unwrap();
    let out = dsim(&["sweep", buggy, "--seeds", "0..6", "--jobs", "2"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("6 seeds run, 0 passed, 6 failed"),
        "{text}"
    );
    assert!(
        text.contains(&format!("dsim run {buggy} --seed 0")),
        "{text}"
    );
    let shard = |k: &str| {
        let out = dsim(&["sweep", buggy, "--seeds", "0..6", "--shard", k, "--json"]);
        let path = dir
            .path()
            .join(format!("shard-{}.jsonl", k.replace('/', "-")));
        std::fs::write(&path, &out.stdout).unwrap();
        path.display().to_string()
    };
    let (a, b) = (shard("0/2"), shard("1/2"));
    let merged = dsim(&["sweep", "--merge", &a, &b, "--json"]);
    let seeds: Vec<u64> = String::from_utf8_lossy(&merged.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seed"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seeds, [0, 1, 2, 3, 4, 5]);
    let good = dsim(&["sweep", &register(), "--seeds", "0..4"]);
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    assert_eq!(
        dsim(&["sweep", &register(), "--seeds", "4..4"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn replay_reproduces_a_saved_run_and_notices_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let out = dsim(&[
        "run",
        &register(),
        "--seed",
        "5",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let replay = dsim(&["replay", dir.path().to_str().unwrap()]);
    assert_eq!(
        replay.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    assert!(String::from_utf8_lossy(&replay.stderr).contains("same trace hash"));
    let summary_path = dir.path().join("summary.json");
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    summary["seed"] = serde_json::json!(6);
    std::fs::write(&summary_path, summary.to_string()).unwrap();
    let replay = dsim(&["replay", dir.path().to_str().unwrap()]);
    assert_eq!(replay.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&replay.stderr).contains("DIFFERENT"));
    assert_eq!(dsim(&["replay", "/nonexistent"]).status.code(), Some(2));
}

#[test]
fn shrink_writes_a_smaller_scenario_that_still_fails_the_same_check() {
    let dir = tempfile::tempdir().unwrap();
    let buggy = buggy_register_file(dir.path());
    let out_file = dir.path().join("small.json");
    let out = dsim(&[
        "shrink",
        buggy.to_str().unwrap(),
        "--seed",
        "0",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let small: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert!(
        small["duration_ns"].as_u64().unwrap() < 20_000_000_000,
        "{small}"
    );
    assert!(small["faults"].as_array().map_or(0, Vec::len) <= 4);
    let rerun = dsim(&["run", out_file.to_str().unwrap(), "--json"]);
    assert_eq!(
        rerun.status.code(),
        Some(1),
        "the shrunk file must still fail on its own seed"
    );
    let v = json(&rerun);
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "linearizable" && c["ok"] == false)
    );
    let passing = dsim(&["shrink", &register(), "--seed", "0"]);
    assert_eq!(passing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&passing.stderr).contains("does not fail"));
}
