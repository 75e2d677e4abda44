//! `dsim check` cannot be hurt by its input: deep nesting, megabytes of brackets and one-line
//! histories end quickly with a located error or a verdict, a byte-order mark is accepted,
//! every error names file:line:column, a search that would run for hours ends with exit 3
//! through the default budget, and `--timeout` refuses what is not a sane number of seconds.
//! Each run has a watchdog: a hang fails the test instead of stalling it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wait_timeout::ChildExt as _;

/// How long any one `dsim check` here may take (the bound for a bad input).
const WATCHDOG: Duration = Duration::from_secs(20);

/// What a finished `dsim` run said.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs `dsim` with `args`, killing it (and failing) after [`WATCHDOG`].
fn dsim(args: &[&str]) -> Ran {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dsim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dsim starts");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    // Drained on their own threads, so a chatty run cannot block on a full pipe.
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = child.wait_timeout(WATCHDOG).expect("waits");
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("dsim {args:?} still running after {WATCHDOG:?}");
    };
    Ran {
        code: status.code(),
        stdout: out.join().expect("stdout read"),
        stderr: err.join().expect("stderr read"),
        elapsed: start.elapsed(),
    }
}

/// A scratch directory for this test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dsim-check-inputs-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `text` to `dir/name` and gives the path as a string.
fn write(dir: &Path, name: &str, text: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Exit 2, and stderr starts with `path:line:column: ` and says what was expected.
fn assert_refused_at(ran: &Ran, path: &str, line: usize, column: usize) {
    assert_eq!(
        ran.code,
        Some(2),
        "stdout {} stderr {}",
        ran.stdout,
        ran.stderr
    );
    let prefix = format!("{path}:{line}:{column}: ");
    assert!(
        ran.stderr.starts_with(&prefix),
        "{:?} does not start with {prefix:?}",
        ran.stderr
    );
    assert!(ran.stderr.contains("expected"), "{}", ran.stderr);
}

/// The op map prefix whose :value starts at [`VALUE_COLUMN`].
const OP_PREFIX: &str = "[{:process 0, :type :invoke, :f :write, :value ";
const VALUE_COLUMN: usize = OP_PREFIX.len() + 1;

/// A :value nested 100,000 vectors or maps deep (a stack overflow before) is refused at the
/// bracket that opens level 129, at once and in little memory.
#[test]
fn deeply_nested_edn_values_are_refused_where_they_go_too_deep() {
    let dir = scratch("deep");
    let vectors = format!(
        "{OP_PREFIX}{}{}}}]\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let path = write(&dir, "vectors.edn", vectors.as_bytes());
    let ran = dsim(&["check", &path, "--model", "register"]);
    assert_refused_at(&ran, &path, 1, VALUE_COLUMN + 127);
    assert!(ran.stderr.contains("at most 128 levels"), "{}", ran.stderr);
    let maps = format!(
        "{OP_PREFIX}{}1{}}}]\n",
        "{:a ".repeat(100_000),
        "}".repeat(100_000)
    );
    let path = write(&dir, "maps.edn", maps.as_bytes());
    let ran = dsim(&["check", &path, "--model", "register"]);
    assert_refused_at(&ran, &path, 1, VALUE_COLUMN + 4 * 127);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// 10 MB of `[` (2.55 GB and 10 s before) is refused at its second bracket.
#[test]
fn ten_megabytes_of_open_brackets_are_refused_at_once() {
    let dir = scratch("brackets");
    let path = write(&dir, "brackets.edn", "[".repeat(10 << 20).as_bytes());
    let ran = dsim(&["check", &path, "--model", "register"]);
    assert_refused_at(&ran, &path, 1, 2);
    assert!(ran.stderr.contains("an op map"), "{}", ran.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A 4 MB EDN history on one line (quadratic before: 9.7 s) gives the same verdict and
/// operation count as the same ops one per line.
#[test]
fn a_one_line_history_checks_like_one_op_per_line() {
    let dir = scratch("one-line");
    let mut ops = Vec::new();
    let mut size = 0;
    let mut i = 0u64;
    while size < 4 << 20 {
        let process = i % 5;
        for kind in ["invoke", "ok"] {
            let op = format!("{{:process {process}, :type :{kind}, :f :write, :value {i}}}");
            size += op.len() + 1;
            ops.push(op);
        }
        i += 1;
    }
    let one = write(&dir, "one.edn", format!("[{}]", ops.join(" ")).as_bytes());
    let many = write(
        &dir,
        "many.edn",
        format!("[{}]", ops.join("\n ")).as_bytes(),
    );
    let verdicts: Vec<serde_json::Value> = [one, many]
        .iter()
        .map(|path| {
            let ran = dsim(&["check", path, "--model", "register", "--json"]);
            assert_eq!(ran.code, Some(0), "{}", ran.stderr);
            serde_json::from_str(&ran.stdout).unwrap()
        })
        .collect();
    assert_eq!(verdicts[0]["ops"], (ops.len() / 2) as u64);
    assert_eq!(verdicts[0]["ops"], verdicts[1]["ops"]);
    assert_eq!(verdicts[0]["verdict"], verdicts[1]["verdict"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A file that starts with a UTF-8 byte-order mark is checked like one without, in every
/// format (such files failed "cannot tell the history format" before).
#[test]
fn a_byte_order_mark_is_accepted_in_every_format() {
    let dir = scratch("bom");
    let files = [
        (
            "h.jsonl",
            "register",
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1,\"time\":1}\n\
             {\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1,\"time\":2}\n",
        ),
        (
            "h.edn",
            "register",
            "[{:process 0, :type :invoke, :f :write, :value 1}\n {:process 0, :type :ok, :f :write, :value 1}]\n",
        ),
        (
            "h.log",
            "cas-register",
            "INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\t1\n",
        ),
        (
            "h.txt",
            "kv",
            "{:process 0, :type :invoke, :f :put, :key \"1\", :value \"x\"}\n{:process 0, :type :ok, :f :put, :key \"1\", :value \"x\"}\n",
        ),
    ];
    for (name, model, text) in files {
        let path = write(&dir, name, format!("\u{feff}{text}").as_bytes());
        let ran = dsim(&["check", &path, "--model", model]);
        assert_eq!(ran.code, Some(0), "{name}: {}", ran.stderr);
        assert!(
            ran.stdout.contains(": linearizable (1 ops"),
            "{}",
            ran.stdout
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Bad input in each format, events that do not pair, and a file in no format: exit 2 with
/// file:line:column of the token at fault.
#[test]
fn every_error_names_file_line_and_column() {
    let dir = scratch("errors");
    let cases: [(&str, &str, &str, usize, usize); 8] = [
        (
            "type.jsonl",
            "register",
            "{\"process\":0,\"type\":\"begin\",\"f\":\"read\",\"value\":null,\"time\":1}\n",
            1,
            21,
        ),
        (
            "type.edn",
            "register",
            "[\n  {:process 0, :type :begin, :f :read, :value nil}]",
            2,
            22,
        ),
        (
            "float.edn",
            "register",
            "[{:process 0, :type :invoke, :f :write, :value 1.5}]",
            1,
            VALUE_COLUMN,
        ),
        (
            "pair.edn",
            "register",
            "[{:process 0, :type :invoke, :f :write, :value 1} {:process 0 :type :invoke :f :write :value 2}]",
            1,
            51,
        ),
        (
            "value.log",
            "cas-register",
            "INFO  jepsen.util - 1\t:invoke\t:write\tfour\n",
            1,
            38,
        ),
        (
            "line.txt",
            "kv",
            "{:process 0, :type :invoke, :f :get, :key \"1\"} extra\n",
            1,
            48,
        ),
        ("unknown.txt", "register", "\n\n   hello\n", 3, 4),
        ("bom.txt", "register", "\u{feff}hello\n", 1, 1),
    ];
    for (name, model, text, line, column) in cases {
        let path = write(&dir, name, text.as_bytes());
        let ran = dsim(&["check", &path, "--model", model]);
        assert_refused_at(&ran, &path, line, column);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// 30 concurrent writes, then a read of the first value: a search that ran for 150+ s before.
fn overlapping_writes(dir: &Path) -> String {
    let mut lines = Vec::new();
    for p in 0..30 {
        lines.push(format!(
            "{{\"process\":{p},\"type\":\"invoke\",\"f\":\"write\",\"value\":{p},\"time\":{p}}}"
        ));
    }
    for p in 0..30 {
        lines.push(format!(
            "{{\"process\":{p},\"type\":\"ok\",\"f\":\"write\",\"value\":{p},\"time\":{}}}",
            100 + p
        ));
    }
    lines.push(
        "{\"process\":30,\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"time\":300}".into(),
    );
    lines.push("{\"process\":30,\"type\":\"ok\",\"f\":\"read\",\"value\":0,\"time\":301}".into());
    write(dir, "overlap31.jsonl", (lines.join("\n") + "\n").as_bytes())
}

/// The state budget ends the 31-operation search with exit 3, the reason and how to raise it
/// (a small budget here: the default of 2,000,000 takes this debug build some 20 s; that it is
/// the default is pinned by the unit test `the_default_budget_applies` and by --help).
#[test]
fn the_state_budget_ends_a_search_that_would_run_for_hours() {
    let dir = scratch("budget");
    let path = overlapping_writes(&dir);
    let ran = dsim(&[
        "check",
        &path,
        "--model",
        "register",
        "--budget-states",
        "20000",
    ]);
    assert_eq!(ran.code, Some(3), "{} {}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout
            .contains("unknown because: visited search_budget_states = 20000 configurations"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("--budget-states"), "{}", ran.stdout);
    let ran = dsim(&[
        "check",
        &path,
        "--model",
        "register",
        "--budget-states",
        "20000",
        "--json",
    ]);
    assert_eq!(ran.code, Some(3));
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(report["verdict"], "unknown");
    assert_eq!(report["ops"], 31);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The wall-clock limit ends a search whatever its budget.
#[test]
fn the_timeout_ends_a_search_whatever_its_budget() {
    let dir = scratch("timeout");
    let path = overlapping_writes(&dir);
    let ran = dsim(&[
        "check",
        &path,
        "--model",
        "register",
        "--timeout",
        "0.5",
        "--budget-states",
        "18446744073709551615",
    ]);
    assert_eq!(ran.code, Some(3), "{} {}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains("the time limit ran out"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("--timeout"), "{}", ran.stdout);
    assert!(ran.elapsed < Duration::from_secs(10), "{:?}", ran.elapsed);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `dsim check --help` states the default bounds.
#[test]
fn help_states_the_default_bounds() {
    let ran = dsim(&["check", "--help"]);
    assert_eq!(ran.code, Some(0));
    for promise in [
        "[default: 60]",
        "[default: 2000000]",
        "from 0.001 to 604800",
        "3 to 6 s",
    ] {
        assert!(ran.stdout.contains(promise), "{promise} in {}", ran.stdout);
    }
}

/// `--timeout` refuses what is not a number of seconds from 0.001 to 604800 (1e20 panicked,
/// NaN and inf meant "no limit"), and `--budget-states` refuses 0, naming the flag: exit 2.
#[test]
fn bad_limits_are_refused_naming_the_flag_and_the_range() {
    let dir = scratch("limits");
    let path = write(
        &dir,
        "h.jsonl",
        b"{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"time\":1}\n",
    );
    for bad in ["1e20", "NaN", "inf", "-inf", "-1", "0", "604801", "soon"] {
        let ran = dsim(&["check", &path, "--model", "register", "--timeout", bad]);
        assert_eq!(ran.code, Some(2), "{bad}: {}", ran.stderr);
        assert!(
            ran.stderr.contains("--timeout") && ran.stderr.contains("from 0.001 to 604800"),
            "{bad}: {}",
            ran.stderr
        );
    }
    let ran = dsim(&[
        "check",
        &path,
        "--model",
        "register",
        "--budget-states",
        "0",
    ]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("--budget-states"), "{}", ran.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}
