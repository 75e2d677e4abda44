//! The readers: good input in every format, format detection, and bad input rejected with the
//! file, line and column and what was expected — never a panic.

use checker::history::{Event, EventKind, OpFn, Value};
use checker::read::{Format, detect, read_str};
use checker::{CheckError, ModelKind, ModelSpec, ReadError};

/// Reads `text` and returns the error's message; panics if it reads.
fn error_of(text: &str, format: Format) -> String {
    match read_str(text, "bad.txt", format) {
        Ok(history) => panic!(
            "read {} events from bad input {text:?}",
            history.events.len()
        ),
        Err(err) => err.to_string(),
    }
}

/// The lines of a history's events.
fn lines(history: &checker::History) -> Vec<u32> {
    history.positions.iter().map(|at| at.line).collect()
}

/// The message names the file, line and column, and says what was expected.
fn assert_located(message: &str, line: usize, column: usize) {
    let prefix = format!("bad.txt:{line}:{column}: ");
    assert!(
        message.starts_with(&prefix),
        "{message:?} does not start with {prefix:?}"
    );
    assert!(
        message.contains("expected"),
        "{message:?} does not say what was expected"
    );
}

/// dsim JSON Lines: the documented example reads, blank lines are skipped, and an event
/// round-trips through serde.
#[test]
fn jsonl_reads_and_round_trips() {
    let text = "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":3,\"value\":5,\"time\":1200}\n\n\
                {\"process\":0,\"type\":\"ok\",\"f\":\"cas\",\"key\":\"k\",\"value\":[1,2],\"time\":1300}\n";
    let history = read_str(text, "h.jsonl", Format::Auto).unwrap();
    assert_eq!(history.events.len(), 2);
    assert_eq!(lines(&history), vec![1, 3]);
    let first = &history.events[0];
    assert_eq!(
        *first,
        Event {
            process: 0,
            kind: EventKind::Invoke,
            f: OpFn::Write,
            key: Some(Value::Int(3)),
            value: Value::Int(5),
            time: 1200
        }
    );
    assert_eq!(
        history.events[1].value,
        Value::List(vec![Value::Int(1), Value::Int(2)])
    );
    let json = serde_json::to_string(first).unwrap();
    assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), *first);
}

/// Bad JSON Lines: broken JSON, an unknown type, an unknown f, a float value, time going back,
/// an unknown field.
#[test]
fn jsonl_rejects_bad_lines() {
    let ok = "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"time\":5}\n";
    let cases = [
        ("{\"process\":0,\"type\":\"invoke\"", 1),
        (
            "{\"process\":0,\"type\":\"begin\",\"f\":\"read\",\"value\":null,\"time\":1}",
            1,
        ),
        (
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"frob\",\"value\":null,\"time\":1}",
            1,
        ),
        (
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1.5,\"time\":1}",
            1,
        ),
        (
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"time\":1,\"colour\":1}",
            1,
        ),
    ];
    for (text, line) in cases {
        let message = error_of(text, Format::Jsonl);
        assert!(
            message.starts_with(&format!("bad.txt:{line}:")),
            "{message}"
        );
        assert!(message.contains("expected"), "{message}");
    }
    let back_in_time = format!(
        "{ok}{{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"time\":4}}\n"
    );
    let message = error_of(&back_in_time, Format::Jsonl);
    assert!(message.starts_with("bad.txt:2:"), "{message}");
    assert!(message.contains("time >= 5"), "{message}");
    // The column points into the line: here at the bad value.
    let message = error_of(
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1.5,\"time\":1}",
        Format::Jsonl,
    );
    assert!(message.contains(":1:"), "{message}");
}

/// Jepsen EDN: vectors, lists and bare streams with comments, commas and extra keys read the
/// same; nemesis ops are skipped.
#[test]
fn edn_reads_vectors_lists_and_streams() {
    let body = "{:process 0, :type :invoke, :f :write, :value 3, :time 10, :index 0}\n\
                ; a comment\n\
                {:process :nemesis, :type :info, :f :start, :value nil}\n\
                {:process 0, :type :ok, :f :write, :value 3 :error nil}";
    for text in [format!("[{body}]"), format!("({body})"), body.to_owned()] {
        let history = read_str(&text, "h.edn", Format::Auto).unwrap();
        assert_eq!(history.events.len(), 2, "{text}");
        assert_eq!(history.skipped, 1);
        assert_eq!(history.events[0].time, 10);
        assert_eq!(lines(&history), vec![1, 4]);
    }
}

/// Bad EDN: unclosed vector, a map missing :type, a bad :type, a bad :f, a set as value,
/// trailing garbage, a float, something that is not a map. Each names the line and column of
/// the token at fault (the map itself for a missing entry).
#[test]
fn edn_rejects_bad_input() {
    let cases: [(&str, usize, usize); 8] = [
        ("[{:process 0, :type :invoke, :f :read, :value nil}", 1, 51),
        (
            "[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 1, :f :read}]",
            2,
            2,
        ),
        (
            "[\n  {:process 0, :type :begin, :f :read, :value nil}]",
            2,
            22,
        ),
        ("{:process 0, :type :invoke, :f :frob, :value nil}", 1, 32),
        (
            "[{:process 0, :type :invoke, :f :write, :value #{1}}]",
            1,
            48,
        ),
        (
            "[{:process 0, :type :invoke, :f :read, :value nil}] junk",
            1,
            53,
        ),
        (
            "[{:process 0, :type :invoke, :f :write, :value 1.5}]",
            1,
            48,
        ),
        (
            "[{:process 0, :type :invoke, :f :read, :value nil} 42]",
            1,
            52,
        ),
    ];
    for (text, line, column) in cases {
        assert_located(&error_of(text, Format::Edn), line, column);
    }
}

/// etcd logs: tabs and runs of spaces; `:fail :cas` is a cas that returned false;
/// `:fail :read :timed-out` does not constrain; `:info` leaves the call open.
#[test]
fn etcd_reads_both_separators_and_translates_fails() {
    let text = "INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]\n\
                INFO  jepsen.util - 1   :fail   :cas    [1 2]\n\
                INFO  jepsen.util - 2\t:invoke\t:read\tnil\n\
                INFO  jepsen.util - 2\t:fail\t:read\t:timed-out\n\
                INFO  jepsen.util - 3\t:invoke\t:write\t4\n\
                INFO  jepsen.util - 3\t:info\t:write\t:timed-out\n";
    let history = read_str(text, "h.log", Format::Auto).unwrap();
    let kinds: Vec<EventKind> = history.events.iter().map(|e| e.kind).collect();
    use EventKind::*;
    assert_eq!(kinds, vec![Invoke, Ok, Invoke, Fail, Invoke, Info]);
    assert_eq!(history.events[1].value, Value::Bool(false));
    let ops = history.operations().unwrap();
    assert_eq!(ops.len(), 2, "the timed-out read is dropped");
    assert!(ops[1].is_pending());
}

/// Bad etcd lines: wrong prefix, bad process, bad type, bad f, bad value, unclosed pair,
/// missing value.
#[test]
fn etcd_rejects_bad_lines() {
    let cases = [
        ("WARN  jepsen.util - 1\t:invoke\t:read\tnil", 1),
        ("INFO  jepsen.util - x\t:invoke\t:read\tnil", 21),
        ("INFO  jepsen.util - 1\t:start\t:read\tnil", 23),
        ("INFO  jepsen.util - 1\t:invoke\t:frob\tnil", 31),
        ("INFO  jepsen.util - 1\t:invoke\t:write\tfour", 38),
        ("INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2", 40),
        ("INFO  jepsen.util - 1\t:invoke\t:write", 37),
    ];
    for (text, column) in cases {
        assert_located(
            &error_of(
                &format!("INFO  jepsen.util - 0\t:invoke\t:read\tnil\n{text}"),
                Format::EtcdLog,
            ),
            2,
            column,
        );
    }
}

/// Porcupine kv lines read with their keys; bad lines are rejected with their position.
#[test]
fn kv_lines_read_and_reject() {
    let text = "{:process 3, :type :invoke, :f :append, :key \"9\", :value \"x 3 0 y\"}\n\
                {:process 3, :type :ok, :f :append, :key \"9\", :value \"x 3 0 y\"}\n";
    let history = read_str(text, "kv.txt", Format::KvEdn).unwrap();
    assert_eq!(history.events[0].key, Some(Value::Str("9".into())));
    assert_located(
        &error_of(
            &format!("{text}{{:process 3, :type :invoke, :f :get, :key \"9\", :value nil}} extra"),
            Format::KvEdn,
        ),
        3,
        60,
    );
    assert_located(
        &error_of(
            &format!("{text}  {{:process 3, :type :invoke, :f :get, :key \"9\""),
            Format::KvEdn,
        ),
        3,
        48,
    );
    assert_located(
        &error_of(
            &format!("{text}{{:process 3, :type :done, :f :get, :key \"9\"}}"),
            Format::KvEdn,
        ),
        3,
        20,
    );
}

/// Detection picks each format from its first line, and refuses what it does not know.
#[test]
fn detection() {
    assert_eq!(detect("{\"process\":0}", "f").unwrap(), Format::Jsonl);
    assert_eq!(
        detect("; comment\n[{:process 0}]", "f").unwrap(),
        Format::Edn
    );
    assert_eq!(
        detect("{:process 0, :key \"1\"}", "f").unwrap(),
        Format::Edn
    );
    assert_eq!(detect("(\n{:process 0})", "f").unwrap(), Format::Edn);
    assert_eq!(
        detect("INFO  jepsen.util - 0\t:invoke\t:read\tnil", "f").unwrap(),
        Format::EtcdLog
    );
    let err = detect("hello", "f").unwrap_err();
    assert!(matches!(err, ReadError::UnknownFormat { .. }));
    assert!(err.to_string().contains("--format"));
    assert_eq!("kv-edn".parse::<Format>().unwrap(), Format::KvEdn);
    assert!(
        "yaml"
            .parse::<Format>()
            .unwrap_err()
            .contains("expected one of")
    );
}

/// Invalid UTF-8 and missing files are errors, not panics.
#[test]
fn bad_files() {
    let dir = std::env::temp_dir().join(format!("checker-readers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bin.jsonl");
    let first = b"{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"time\":1}\n";
    std::fs::write(&path, [&first[..], b"\xff\xfe"].concat()).unwrap();
    let message = checker::read::read_file(&path, Format::Auto)
        .unwrap_err()
        .to_string();
    assert!(message.contains(":2:1: expected UTF-8"), "{message}");
    let missing = checker::read::read_file(&dir.join("missing.edn"), Format::Auto).unwrap_err();
    assert!(matches!(missing, ReadError::Io { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Events that do not pair, and ops a model does not accept, are errors naming the line.
#[test]
fn pairing_and_model_errors() {
    let double = "[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0, :type :invoke, :f :read, :value nil}]";
    let history = read_str(double, "d.edn", Format::Edn).unwrap();
    let message = history.operations().unwrap_err().to_string();
    assert!(
        message.starts_with("d.edn:2:") && message.contains("line 1"),
        "{message}"
    );
    let orphan = read_str(
        "[{:process 0, :type :ok, :f :read, :value 1}]",
        "o.edn",
        Format::Edn,
    )
    .unwrap();
    assert!(
        orphan
            .operations()
            .unwrap_err()
            .to_string()
            .contains("expected an invoke")
    );
    let other_key = "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n{:process 0, :type :ok, :f :get, :key \"2\", :value \"x\"}\n";
    let history = read_str(other_key, "k.txt", Format::KvEdn).unwrap();
    let expected = "k.txt:2:1: process 0 completes get on key \"2\", expected get on key \"1\"";
    assert_eq!(history.operations().unwrap_err().to_string(), expected);
    let err = checker::check_history(
        &history,
        &ModelSpec::new(ModelKind::Kv),
        &Default::default(),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), expected);
    let txn = read_str(
        "[{:process 0, :type :invoke, :f :txn, :value []}]",
        "t.edn",
        Format::Edn,
    )
    .unwrap();
    let err = checker::check_history(
        &txn,
        &ModelSpec::new(ModelKind::CasRegister),
        &Default::default(),
    )
    .unwrap_err();
    assert!(matches!(err, CheckError::Model { line: 1, .. }), "{err}");
    assert!(
        err.to_string().contains("accepts read, write, cas only"),
        "{err}"
    );
}

/// The EDN reader goes form by form over lines: a map may span lines, strings may hold
/// brackets, semicolons and escaped quotes, and comments may sit between and inside forms;
/// errors after such forms still name their own line.
#[test]
fn edn_forms_span_lines() {
    let text = "; header\n[{:process 0, :type :invoke,\n  :f :write, ; the call\n  :value \"a]b;c\\\"}\"}\n {:process 0, :type :ok, :f :write, :value \"a]b;c\\\"}\"}\n\n(junk)]";
    let message = error_of(text, Format::Edn);
    assert_located(&message, 7, 1);
    let good = text.replace("\n\n(junk)", "");
    let history = read_str(&good, "h.edn", Format::Auto).unwrap();
    assert_eq!(lines(&history), vec![2, 5]);
    assert_eq!(history.events[1].value, Value::Str("a]b;c\"}".to_owned()));
}

/// A bad line deep in a long file is reported with its own line and column, read as a stream.
#[test]
fn stream_reports_a_bad_line_deep_in_a_file() {
    let mut text = String::new();
    for i in 0..5000 {
        text.push_str(&format!(
            "{{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":{i},\"time\":{i}}}\n"
        ));
    }
    text.push_str(
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":x,\"time\":9999}\n",
    );
    let mut stream =
        checker::read::EventStream::new(text.as_bytes(), "big.jsonl", Format::Auto).unwrap();
    assert_eq!(
        stream.by_ref().take(5000).filter(Result::is_ok).count(),
        5000
    );
    let err = stream.next().unwrap().unwrap_err().to_string();
    assert!(err.starts_with("big.jsonl:5001:50: expected"), "{err}");
    assert!(stream.next().is_none());
}
