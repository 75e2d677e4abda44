//! Scenario files and saved runs cannot hurt dsim: every bad input the inputs issue listed ends
//! with exit 0, 1 or 2, a located message where the input is bad, within 20 s and under 2 GB
//! (each run is watched: killed past 20 s, its peak resident memory read while it runs).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

/// How long one run may take, and how much memory.
const WALL_MAX: Duration = Duration::from_secs(20);
const RSS_KB_MAX: u64 = 2_000_000;

/// What a watched run of the binary did.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    peak_rss_kb: u64,
}

/// Runs `dsim ARGS` under the watchdog; panics if it runs too long or too big, or crashes.
fn dsim(args: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_dsim"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .expect("dsim runs");
    let started = Instant::now();
    let mut peak_rss_kb = 0;
    let status = loop {
        if let Some(status) = child.wait_timeout(Duration::from_millis(20)).unwrap() {
            break status;
        }
        peak_rss_kb = peak_rss_kb.max(peak_rss_of(child.id()));
        if started.elapsed() > WALL_MAX || peak_rss_kb > RSS_KB_MAX {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "dsim {args:?} ran {:.1} s, peak {peak_rss_kb} kB: killed",
                started.elapsed().as_secs_f64()
            );
        }
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    let outcome = Outcome {
        code: status.code(),
        stdout: read(&out_path),
        stderr: read(&err_path),
        peak_rss_kb,
    };
    assert!(
        matches!(outcome.code, Some(0..=2)),
        "dsim {args:?} exited with {:?}:\n{}",
        outcome.code,
        outcome.stderr
    );
    outcome
}

/// The peak resident set of a running process, from /proc (0 where there is none).
fn peak_rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A scenario file in a fresh directory.
struct ScenarioFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn scenario(bytes: impl AsRef<[u8]>) -> ScenarioFile {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, bytes).unwrap();
    ScenarioFile { _dir: dir, path }
}

/// Runs `text` as a scenario and expects exit 2 with a located error naming `field`; returns
/// the error.
fn refused(text: &str, field: &str) -> String {
    let file = scenario(text);
    let out = dsim(&["run", file.path.to_str().unwrap()]);
    assert_eq!(out.code, Some(2), "{text}: {}{}", out.stdout, out.stderr);
    let field = format!("field `{field}`");
    assert!(
        out.stderr.contains("bad.json:") && out.stderr.contains(&field),
        "{text}: expected a located error about {field}, got {}",
        out.stderr
    );
    let after_file = out.stderr.split("bad.json:").nth(1).unwrap_or_default();
    let mut position = after_file.split(':');
    let (line, column) = (position.next(), position.next());
    assert!(
        line.is_some_and(|l| l.parse::<u32>().is_ok())
            && column.is_some_and(|c| c.parse::<u32>().is_ok()),
        "no line and column in {}",
        out.stderr
    );
    out.stderr
}

#[test]
fn a_bank_with_2_to_the_63_accounts_is_refused() {
    let err = refused(
        r#"{"protocol": {"name": "twopc", "options": {"keys": 9223372036854775000}},
            "workload": {"clients": 3}}"#,
        "protocol.options.keys",
    );
    assert!(err.contains("allowed: 2 to 1000"), "{err}");
    refused(
        r#"{"protocol": {"name": "twopc", "options": {"workload": "rw", "keys": 9223372036854775807}}}"#,
        "protocol.options.keys",
    );
}

#[test]
fn four_billion_servers_or_clients_are_refused() {
    let err = refused(
        r#"{"protocol": {"name": "pingpong"}, "cluster": {"servers": 4294967295}}"#,
        "cluster.servers",
    );
    assert!(
        err.contains("4294967295 is out of range; allowed: 1 to 100000"),
        "{err}"
    );
    refused(
        r#"{"protocol": {"name": "register"}, "cluster": {"servers": 1},
            "workload": {"clients": 4294967295}}"#,
        "workload.clients",
    );
}

#[test]
fn clusters_whose_state_cannot_fit_in_memory_are_refused_before_they_run() {
    refused(
        r#"{"protocol": {"name": "raft"}, "cluster": {"servers": 1000000}}"#,
        "cluster.servers",
    );
    refused(
        r#"{"protocol": {"name": "raft"}, "cluster": {"servers": 101}}"#,
        "cluster.servers",
    );
    let err = refused(
        r#"{"protocol": {"name": "gossip"}, "cluster": {"servers": 100000}}"#,
        "cluster.servers",
    );
    assert!(
        err.contains("more than limits.memory_bytes_max = 2.0 GB")
            && err.contains("raise `limits.memory_bytes_max`"),
        "{err}"
    );
}

#[test]
fn one_nanosecond_timers_are_refused() {
    let cases = [
        (
            r#"{"protocol": {"name": "raft", "options": {"heartbeat_ns": 1}}}"#,
            "protocol.options.heartbeat_ns",
        ),
        (
            r#"{"protocol": {"name": "chain", "options": {"heartbeat_ns": "1ns"}}, "cluster": {"servers": 4}}"#,
            "protocol.options.heartbeat_ns",
        ),
        (
            r#"{"protocol": {"name": "register", "options": {"resend_ns": "1ns"}}, "cluster": {"servers": 1}, "workload": {"clients": 2}}"#,
            "protocol.options.resend_ns",
        ),
        (
            r#"{"protocol": {"name": "twopc", "options": {"resend_ns": 1}}}"#,
            "protocol.options.resend_ns",
        ),
        (
            r#"{"protocol": {"name": "raft", "options": {"client_retry_ns": 1}}}"#,
            "protocol.options.client_retry_ns",
        ),
        (
            r#"{"protocol": {"name": "gossip", "options": {"gossip_interval_ns": 1}}}"#,
            "protocol.options.gossip_interval_ns",
        ),
        (
            r#"{"protocol": {"name": "raft"}, "nemesis": {"interval_ns_mean": "1ns"}}"#,
            "nemesis.interval_ns_mean",
        ),
    ];
    for (text, field) in cases {
        let err = refused(text, field);
        assert!(err.contains("1 ns (1 ns) is out of range"), "{err}");
    }
}

#[test]
fn two_billion_balls_in_flight_are_refused() {
    refused(
        r#"{"protocol": {"name": "pingpong", "options": {"in_flight": 2147483648}}}"#,
        "protocol.options.in_flight",
    );
}

#[test]
fn a_thousand_hours_or_2_to_the_63_nanoseconds_are_refused() {
    let err = refused(
        r#"{"protocol": {"name": "pingpong"}, "duration_ns": "1000h"}"#,
        "duration_ns",
    );
    assert!(
        err.contains("(1000 h) is out of range; allowed: 1 ns to 24 h"),
        "{err}"
    );
    refused(
        r#"{"protocol": {"name": "pingpong"}, "duration_ns": 9223372036854775808}"#,
        "duration_ns",
    );
}

/// A run that is allowed but would go on for hours is ended by the default events budget,
/// counted in events (so where it stops is the same on every machine), with a verdict that
/// names the limit and how to raise it.
#[test]
fn a_day_of_ping_pong_ends_at_the_events_budget() {
    let file = scenario(r#"{"protocol": {"name": "pingpong"}, "duration_ns": "24h"}"#);
    let out = dsim(&["run", file.path.to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("FAIL run-completed")
            && out.stdout.contains("limit `events_max` (10000000) reached")
            && out.stdout.contains("raise `limits.events_max`"),
        "{}",
        out.stdout
    );
}

/// Clients that resend every 10 us over hour-long links fill the queue: the run ends at the
/// queue's bound, and the queue's buffer never outgrows it.
#[test]
fn a_message_storm_ends_at_the_queue_bound_within_memory() {
    let file = scenario(
        r#"{"protocol": {"name": "register", "options": {"resend_ns": "10us"}},
            "cluster": {"servers": 1}, "workload": {"clients": 100},
            "network": {"latency": {"kind": "constant", "ns": "1h"}}, "duration_ns": "24h"}"#,
    );
    let out = dsim(&["run", file.path.to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("limit `queue_len_max` (1000000) reached"),
        "{}",
        out.stdout
    );
    assert!(out.peak_rss_kb < 1_000_000, "peak {} kB", out.peak_rss_kb);
}

#[test]
fn a_queue_too_small_to_start_names_its_field() {
    let err = refused(
        r#"{"protocol": {"name": "pingpong"}, "limits": {"queue_len_max": 1}}"#,
        "limits.queue_len_max",
    );
    assert!(err.contains("the run starts with 3 events"), "{err}");
}

#[test]
fn a_file_that_is_not_utf8_is_refused_at_its_first_bad_byte() {
    let file =
        scenario(b"{\"protocol\": {\"name\": \"pingpong\"},\n \"description\": \"caf\xe9\"}");
    let out = dsim(&["run", file.path.to_str().unwrap()]);
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr
            .contains("bad.json:2:21: not UTF-8: byte 0xe9 at offset 55"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_oversized_file_names_its_size_and_the_limit() {
    let mut text = b"{\"protocol\": {\"name\": \"pingpong\"}}".to_vec();
    text.resize(16 * 1024 * 1024 + 1, b' ');
    let file = scenario(text);
    let out = dsim(&["run", file.path.to_str().unwrap()]);
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr
            .contains("the file is 16777217 bytes; scenario files of at most 16777216 bytes"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let file =
        scenario("\u{feff}{\"protocol\": {\"name\": \"pingpong\"}, \"duration_ns\": \"1s\"}");
    let out = dsim(&["run", file.path.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

/// A run of `register.json` saved with `--out`, with `args` added.
fn saved_run_with(args: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let register = Path::new(env!("CARGO_MANIFEST_DIR")).join("library/register.json");
    let mut all = vec![
        "run",
        register.to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let out = dsim(&all);
    assert!(matches!(out.code, Some(0 | 1)), "{}", out.stderr);
    dir
}

fn saved_run() -> tempfile::TempDir {
    saved_run_with(&["--seed", "5"])
}

fn replay(dir: &Path) -> Outcome {
    dsim(&["replay", dir.to_str().unwrap()])
}

#[test]
fn an_untouched_saved_run_replays_with_every_digest_checked() {
    let dir = saved_run();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    let files = summary["files"]
        .as_object()
        .expect("summary.json records digests");
    assert_eq!(files.len(), 6, "{files:?}");
    assert!(
        files
            .values()
            .all(|d| d.as_str().unwrap().starts_with("sha256:"))
    );
    let out = replay(dir.path());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("every saved file is intact"),
        "{}",
        out.stderr
    );
    // A failing run (its report highlights an operation) and a run verified for determinism
    // replay just as exactly.
    let register = Path::new(env!("CARGO_MANIFEST_DIR")).join("library/register.json");
    let buggy = tempfile::tempdir().unwrap();
    let file = buggy.path().join("buggy.json");
    let text = std::fs::read_to_string(register).unwrap().replace(
        "\"resend_ns\": \"20ms\"",
        "\"resend_ns\": \"20ms\", \"bugs\": [\"no_dedup\"]",
    );
    std::fs::write(&file, text).unwrap();
    let failing = buggy.path().join("out");
    let out = dsim(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        failing.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    let verified = saved_run_with(&["--seed", "1", "--verify-determinism"]);
    for saved in [failing.as_path(), verified.path()] {
        let out = replay(saved);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
    }
}

/// Editing a read's value in history.jsonl, truncating trace.jsonl, deleting a file or
/// changing the summary each make the replay fail, naming the file (and where it differs).
#[test]
fn a_tampered_saved_run_is_named_file_by_file() {
    let dir = saved_run();
    let history = dir.path().join("history.jsonl");
    let text = std::fs::read_to_string(&history).unwrap();
    let (i, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("\"type\":\"ok\"") && l.contains("\"f\":\"read\""))
        .expect("an ok read");
    let value = serde_json::from_str::<serde_json::Value>(line).unwrap()["value"].clone();
    let edited_line = line.replace(&format!("\"value\":{value}"), "\"value\":424242");
    assert_ne!(edited_line, line);
    std::fs::write(&history, text.replacen(line, &edited_line, 1)).unwrap();
    let out = replay(dir.path());
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains(&format!(
            "history.jsonl: edited after the run: its digest is not the one recorded in \
             summary.json (first difference at line {}",
            i + 1
        )),
        "{}",
        out.stderr
    );

    let dir = saved_run();
    let trace = dir.path().join("trace.jsonl");
    let len = std::fs::metadata(&trace).unwrap().len();
    File::options()
        .write(true)
        .open(&trace)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let out = replay(dir.path());
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("trace.jsonl: edited after the run")
            && out.stderr.contains("it ends first"),
        "{}",
        out.stderr
    );

    let dir = saved_run();
    std::fs::remove_file(dir.path().join("history.jsonl")).unwrap();
    let out = replay(dir.path());
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("history.jsonl: missing"),
        "{}",
        out.stderr
    );

    let dir = saved_run();
    std::fs::remove_file(dir.path().join("scenario.json")).unwrap();
    let out = replay(dir.path());
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("scenario.json: missing"),
        "{}",
        out.stderr
    );

    let dir = saved_run();
    let summary_path = dir.path().join("summary.json");
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    summary["stats"]["ops_ok"] = serde_json::json!(1_000_000);
    std::fs::write(&summary_path, summary.to_string()).unwrap();
    let out = replay(dir.path());
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("summary.json: field `stats` is"),
        "{}",
        out.stderr
    );
}

/// A directory saved before digests were recorded still replays: its files are compared with
/// the re-run's, which catches an edit just the same.
#[test]
fn a_saved_run_without_digests_is_compared_with_the_rerun() {
    let dir = saved_run();
    let summary_path = dir.path().join("summary.json");
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    summary.as_object_mut().unwrap().remove("files");
    std::fs::write(&summary_path, summary.to_string()).unwrap();
    let out = replay(dir.path());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("records no file digests"),
        "{}",
        out.stderr
    );
    let history = dir.path().join("history.jsonl");
    let text = std::fs::read_to_string(&history).unwrap();
    std::fs::write(&history, text.replacen("\"ok\"", "\"fail\"", 1)).unwrap();
    let out = replay(dir.path());
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr
            .contains("history.jsonl: differs from what the re-run writes"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_directory_that_is_not_a_saved_run_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = replay(dir.path());
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("summary.json: missing"),
        "{}",
        out.stderr
    );
}

/// The late-delivery shapes' values are held to their ranges like every other, with the
/// file, line, column and field: a hold's spread, a replay's window and nodes, the nemesis's
/// crash blips and durations, a link's stale duplicates.
#[test]
fn late_delivery_values_out_of_range_are_located() {
    let fault = |fault: &str| {
        format!(
            r#"{{"protocol": {{"name": "raft"}}, "faults": [{{"at_ns": "1s", "fault": {fault}}}]}}"#
        )
    };
    let err = refused(
        &fault(
            r#"{"kind": "hold", "partition": {"pattern": "halves"}, "release_spread_ns": "1000h"}"#,
        ),
        "faults[0].fault.release_spread_ns",
    );
    assert!(err.contains("allowed: 0 ns to 24 h"), "{err}");
    refused(
        &fault(r#"{"kind": "replay", "window_ns": "25h", "delay_ns": "1s"}"#),
        "faults[0].fault.window_ns",
    );
    refused(
        &fault(r#"{"kind": "replay", "from": 7, "window_ns": "1s", "delay_ns": "1s"}"#),
        "faults[0].fault.from",
    );
    refused(
        &fault(r#"{"kind": "hold", "partition": {"pattern": "isolate", "node": 9}}"#),
        "faults[0].fault.partition.node",
    );
    let nemesis =
        |nemesis: &str| format!(r#"{{"protocol": {{"name": "raft"}}, "nemesis": {nemesis}}}"#);
    refused(
        &nemesis(r#"{"crash_blip_ns_min": "60ms", "crash_blip_ns_max": "50ms"}"#),
        "nemesis.crash_blip_ns_min",
    );
    refused(
        &nemesis(r#"{"duration_dist": {"kind": "pareto", "min_ns": "1ms", "shape": 0}}"#),
        "nemesis.duration_dist.shape",
    );
    refused(
        &nemesis(r#"{"kinds": ["crash_blips"]}"#),
        "nemesis.kinds[0]",
    );
    refused(
        r#"{"protocol": {"name": "raft"}, "network": {"stale_duplicate": 2}}"#,
        "network.stale_duplicate",
    );
}
