//! Inputs that cannot hurt the readers: deep nesting is refused at the bracket that goes too
//! deep (no stack overflow), one long line reads like many short ones, a byte-order mark is
//! skipped, and every error names the file, line and column of the token at fault.

use checker::read::{EDN_DEPTH_MAX, Format, read_str};
use checker::{History, ModelKind, ModelSpec};
use proptest::prelude::*;

/// The message of reading `text` as `format`; panics if it reads.
fn error_of(text: &str, format: Format) -> String {
    match read_str(text, "bad.txt", format) {
        Ok(history) => panic!("read {} events from bad input", history.events.len()),
        Err(err) => err.to_string(),
    }
}

/// The message starts with `bad.txt:line:column: ` and says what was expected.
fn assert_at(message: &str, line: usize, column: usize) {
    let prefix = format!("bad.txt:{line}:{column}: ");
    assert!(
        message.starts_with(&prefix),
        "{message:?} does not start with {prefix:?}"
    );
    assert!(message.contains("expected"), "{message:?}");
}

/// An EDN history whose one op has `value` as its :value.
fn edn_with_value(value: &str) -> String {
    format!("[{{:process 0, :type :invoke, :f :write, :value {value}}}]")
}

/// Where the :value of [`edn_with_value`] starts (1-based column).
const EDN_VALUE_COLUMN: usize = "[{:process 0, :type :invoke, :f :write, :value ".len() + 1;

/// A :value of vectors, maps, sets, lists, tags or discards nested 100,000 deep is refused at
/// the first form that opens level EDN_DEPTH_MAX + 1 (the op map is level 1), wherever the
/// form sits: in :value, in a field the checker does not read, or in a kv line.
#[test]
fn edn_nesting_deeper_than_the_cap_is_refused_where_it_goes_too_deep() {
    const DEEP: usize = 100_000;
    // (opening, one level's text, closing): the form that opens level 129 is the 128th.
    let shapes = [
        ("[", "[", "]"),
        ("(", "(", ")"),
        ("{:a ", "{:a ", "1}"),
        ("#{", "#{", "}"),
        ("#tag ", "#tag ", "1"),
        ("#_ ", "#_ ", "1 "),
    ];
    for (open, level, close) in shapes {
        let value = format!("{}{}", open.repeat(DEEP), close.repeat(DEEP));
        let column = EDN_VALUE_COLUMN + level.len() * (EDN_DEPTH_MAX - 1);
        let message = error_of(&edn_with_value(&value), Format::Edn);
        assert_at(&message, 1, column);
        assert!(message.contains("at most 128 levels"), "{message}");
        let ignored = format!("[{{:process 0, :type :invoke, :f :write, :error {value}}}]");
        let message = error_of(&ignored, Format::Edn);
        assert!(message.contains("at most 128 levels"), "{message}");
    }
    let kv = format!(
        "{{:process 0, :type :invoke, :f :put, :key \"k\", :value {}{}}}\n",
        "[".repeat(DEEP),
        "]".repeat(DEEP)
    );
    assert!(error_of(&kv, Format::KvEdn).contains("at most 128 levels"));
}

/// Exactly EDN_DEPTH_MAX levels read, and the value is kept whole.
#[test]
fn edn_nesting_up_to_the_cap_reads() {
    let depth = EDN_DEPTH_MAX - 1;
    let value = format!("{}7{}", "[".repeat(depth), "]".repeat(depth));
    let history = read_str(&edn_with_value(&value), "deep.edn", Format::Edn).unwrap();
    let mut value = &history.events[0].value;
    for _ in 0..depth {
        value = &value.as_list().unwrap()[0];
    }
    assert_eq!(value.as_int(), Some(7));
    let too_deep = format!("{}7{}", "[".repeat(depth + 1), "]".repeat(depth + 1));
    assert_at(
        &error_of(&edn_with_value(&too_deep), Format::Edn),
        1,
        EDN_VALUE_COLUMN + depth,
    );
}

/// JSON nested past serde_json's limit (128 open brackets, the event's own among them) is
/// refused with its line and column.
#[test]
fn jsonl_nesting_deeper_than_the_cap_is_refused_where_it_goes_too_deep() {
    let prefix = "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":";
    let line = format!(
        "{prefix}{}{},\"time\":1}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let message = error_of(&line, Format::Jsonl);
    assert_at(&message, 1, prefix.len() + 127);
    assert!(message.contains("recursion limit"), "{message}");
}

/// 10 MB of `[` (or `{`) is refused at once: no op map, or too deep.
#[test]
fn ten_megabytes_of_open_brackets_are_refused() {
    let brackets = "[".repeat(10 << 20);
    let message = error_of(&brackets, Format::Auto);
    assert_at(&message, 1, 2);
    assert!(message.contains("an op map"), "{message}");
    let braces = "{".repeat(10 << 20);
    assert_at(&error_of(&braces, Format::Edn), 1, 129);
    let message = error_of(&braces, Format::Auto);
    assert!(message.starts_with("bad.txt:1:1: cannot tell"), "{message}");
    let in_value = edn_with_value(&brackets);
    assert_at(
        &error_of(&in_value, Format::Edn),
        1,
        EDN_VALUE_COLUMN + EDN_DEPTH_MAX - 1,
    );
}

/// About 4 MB of ops on one line read as the same events as one op per line (in time linear
/// in the size: 0.17 s against 0.11 s by hand, where the old reader took over 30 s), each
/// placed at its own column.
#[test]
fn one_long_line_reads_like_one_op_per_line() {
    let mut ops = Vec::new();
    let mut size = 0;
    let mut i = 0u64;
    while size < 4 << 20 {
        for kind in ["invoke", "ok"] {
            let op = format!(
                "{{:process {}, :type :{kind}, :f :write, :value {i}, :note \"é\"}}",
                i % 5
            );
            size += op.len() + 1;
            ops.push(op);
        }
        i += 1;
    }
    let one_line = format!("[{}]", ops.join(" "));
    let per_line = format!("[{}]", ops.join("\n "));
    let long = read_str(&one_line, "one.edn", Format::Auto).unwrap();
    let short = read_str(&per_line, "many.edn", Format::Auto).unwrap();
    assert_eq!(long.events, short.events);
    assert_eq!(long.events.len(), ops.len());
    let mut column = 2;
    for (at, op) in long.positions.iter().zip(&ops) {
        assert_eq!((at.line, at.column as usize), (1, column));
        column += op.chars().count() + 1;
    }
    let lines: Vec<u32> = short.positions.iter().map(|at| at.line).collect();
    assert_eq!(lines, (1..=ops.len() as u32).collect::<Vec<_>>());
}

/// A UTF-8 byte-order mark before any format reads as if it were not there, detected or named,
/// and columns on line 1 count from after it.
#[test]
fn a_byte_order_mark_is_skipped_in_every_format() {
    let samples = [
        (
            Format::Jsonl,
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1,\"time\":1}\n\
             {\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1,\"time\":2}\n",
        ),
        (
            Format::Edn,
            "[{:process 0, :type :invoke, :f :write, :value 1}\n {:process 0, :type :ok, :f :write, :value 1}]\n",
        ),
        (
            Format::EtcdLog,
            "INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\t1\n",
        ),
        (
            Format::KvEdn,
            "{:process 0, :type :invoke, :f :put, :key \"1\", :value \"x\"}\n{:process 0, :type :ok, :f :put, :key \"1\", :value \"x\"}\n",
        ),
    ];
    for (format, text) in samples {
        let plain = read_str(text, "plain", format).unwrap();
        let marked = format!("\u{feff}{text}");
        for read_as in [format, Format::Auto] {
            let history = read_str(&marked, "bom", read_as)
                .unwrap_or_else(|e| panic!("{format} as {read_as}: {e}"));
            assert_eq!(history.events, plain.events, "{format} as {read_as}");
            assert_eq!(history.positions, plain.positions, "{format} as {read_as}");
        }
        assert_eq!(
            checker::read::detect(&marked, "bom").unwrap(),
            if format == Format::KvEdn {
                Format::Edn
            } else {
                format
            }
        );
    }
    assert_at(&error_of("\u{feff}hello", Format::Auto), 1, 1);
    assert_at(
        &error_of(&format!("\u{feff}{}", edn_with_value("1.5")), Format::Edn),
        1,
        EDN_VALUE_COLUMN,
    );
}

/// Malformed input in each format, and events that do not pair, each with the line and column
/// of the token at fault.
#[test]
fn every_error_names_the_line_and_column_of_the_token_at_fault() {
    let jsonl = "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"time\":5}\n";
    let cases: &[(Format, &str, usize, usize)] = &[
        // JSON Lines: cut short, a bad type, a bad f, a float, an unknown field, a missing
        // field, not UTF-8 inside a string, time going back.
        (Format::Jsonl, "{\"process\":0,\"type\":\"invoke\"", 1, 29),
        (
            Format::Jsonl,
            "{\"process\":0,\"type\":\"begin\",\"f\":\"read\",\"value\":null,\"time\":1}",
            1,
            21,
        ),
        (
            Format::Jsonl,
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"frob\",\"value\":null,\"time\":1}",
            1,
            34,
        ),
        (
            Format::Jsonl,
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1.5,\"time\":1}",
            1,
            50,
        ),
        (
            Format::Jsonl,
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"time\":1,\"colour\":1}",
            1,
            63,
        ),
        (
            Format::Jsonl,
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}",
            1,
            53,
        ),
        (
            Format::Jsonl,
            "{\"process\":\"é\",\"type\":\"invoke\"}",
            1,
            12,
        ),
        (
            Format::Jsonl,
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"time\":5}\n\
             {\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"time\":4}",
            2,
            54,
        ),
        // EDN: an unclosed string, a bad escape, a mismatched closer, a key twice, a key
        // without a value, a negative time, a huge integer, a ratio, a bad number, a bare
        // `:`, a bare `#`, a map inside a vector, a string :type, a negative process, a
        // character, a map as :key, a wrapper closed by the wrong delimiter.
        (Format::Edn, &edn_with_value("\"abc}]"), 1, 56),
        (Format::Edn, &edn_with_value("\"a\\qc\""), 1, 50),
        (
            Format::Edn,
            "[{:process 0, :type :invoke, :f :write, :value 1]",
            1,
            49,
        ),
        (
            Format::Edn,
            "[{:process 0, :type :invoke, :type :ok, :f :write}]",
            1,
            30,
        ),
        (
            Format::Edn,
            "[{:process 0, :type :invoke, :f :write, :value}]",
            1,
            47,
        ),
        (
            Format::Edn,
            "[{:process 0, :type :invoke, :f :write, :time -1}]",
            1,
            47,
        ),
        (Format::Edn, &edn_with_value("99999999999999999999"), 1, 48),
        (Format::Edn, &edn_with_value("1/2"), 1, 48),
        (Format::Edn, &edn_with_value("1x"), 1, 48),
        (Format::Edn, &edn_with_value(":"), 1, 48),
        (Format::Edn, &edn_with_value("# "), 1, 48),
        (Format::Edn, &edn_with_value("[1 {:a 2}]"), 1, 51),
        (
            Format::Edn,
            "[{:process 0, :type \"invoke\", :f :write}]",
            1,
            21,
        ),
        (
            Format::Edn,
            "[{:process -1, :type :invoke, :f :write}]",
            1,
            12,
        ),
        (Format::Edn, &edn_with_value("\\a"), 1, 48),
        (
            Format::Edn,
            "[{:process 0, :type :invoke, :f :write, :key {:a 1}}]",
            1,
            46,
        ),
        (
            Format::Edn,
            "[{:process 0, :type :invoke, :f :write, :value 1})",
            1,
            50,
        ),
        (
            Format::Edn,
            "; a comment\n\n  [{:process 0,\n    :type :invoke, :f :frob}]",
            4,
            23,
        ),
        // kv lines: two maps on a line, an unclosed map, an unclosed string, not a map.
        (
            Format::KvEdn,
            "{:process 0, :type :invoke, :f :get, :key \"1\"} {:process 0}",
            1,
            48,
        ),
        (
            Format::KvEdn,
            "{:process 0, :type :invoke, :f :get, :key \"1\"",
            1,
            46,
        ),
        (
            Format::KvEdn,
            "{:process 0, :type :invoke, :f :get, :key \"1}",
            1,
            46,
        ),
        (Format::KvEdn, "  [:process 0]", 1, 3),
        // etcd logs: a bad integer in a pair, a pair of three, an integer too large.
        (
            Format::EtcdLog,
            "INFO  jepsen.util - 1\t:invoke\t:cas\t[1 x]",
            1,
            39,
        ),
        (
            Format::EtcdLog,
            "INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2 3]",
            1,
            36,
        ),
        (
            Format::EtcdLog,
            "INFO  jepsen.util - 1\t:invoke\t:write\t99999999999999999999",
            1,
            38,
        ),
        // Detection: the first line that says something, at its first character.
        (Format::Auto, "\n\n   hello", 3, 4),
        (Format::Auto, "; only a comment\n\t<xml/>", 2, 2),
    ];
    for &(format, text, line, column) in cases {
        let message = error_of(text, format);
        assert_at(&message, line, column);
    }
    let jsonl_back = format!("{jsonl}{jsonl}");
    assert!(read_str(&jsonl_back, "ok", Format::Jsonl).is_ok());
}

/// Events that do not pair, and ops the model refuses, are named by line and column, also
/// with several ops on one line.
#[test]
fn pairing_and_model_errors_name_the_column() {
    let pairs = [
        (
            "[{:process 0, :type :invoke, :f :write, :value 1} {:process 0 :type :invoke :f :write :value 2}]",
            "bad.txt:1:51: process 0 invokes while its call from line 1 is still open",
        ),
        (
            "[{:process 0, :type :invoke, :f :write, :value 1}\n   {:process 1 :type :ok :f :write :value 2}]",
            "bad.txt:2:4: process 1 completes a call it never invoked",
        ),
        (
            "[{:process 0, :type :invoke, :f :write, :value 1} {:process 0 :type :ok :f :read :value 2}]",
            "bad.txt:1:51: process 0 completes read, expected write",
        ),
    ];
    for (text, head) in pairs {
        let history = read_str(text, "bad.txt", Format::Edn).unwrap();
        let message = history.operations().unwrap_err().to_string();
        assert!(message.starts_with(head), "{message}");
        let message = check(&history, ModelKind::Register);
        assert!(message.starts_with(head), "{message}");
    }
    let txn = read_str(
        "[{:process 0, :type :invoke, :f :read, :value nil} {:process 1, :type :invoke, :f :txn, :value []}]",
        "bad.txt",
        Format::Edn,
    )
    .unwrap();
    let message = check(&txn, ModelKind::CasRegister);
    assert!(message.starts_with("bad.txt:1:52: p1 txn"), "{message}");
}

/// The message of checking `history`; panics if it checks.
fn check(history: &History, model: ModelKind) -> String {
    checker::check_history(history, &ModelSpec::new(model), &Default::default())
        .map(|report| format!("checked: {:?}", report.verdict))
        .unwrap_or_else(|err| err.to_string())
}

/// Characters that mean something in one format or another, to mutate histories with.
const SPECIAL: &[&str] = &[
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    "#{",
    "#_",
    "#",
    "\"",
    "\\",
    "\\u",
    ";",
    ":",
    ",",
    " ",
    "\n",
    "\t",
    "nil",
    "-",
    "1.5",
    "99999999999999999999",
    "é",
    "\u{feff}",
    "\r\n",
    ":process",
    ":type",
    ":invoke",
    ":value",
    "\"process\"",
    "INFO",
];

/// The public histories' shapes, one small sample each.
const SAMPLES: &[&str] = &[
    "[{:process 0, :type :invoke, :f :cas, :value [1 2], :time 5}\n {:process :nemesis, :type :info, :f :start, :value nil}\n {:process 0, :type :ok, :f :cas, :value [1 2] :index 3}]",
    "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"k\",\"value\":1,\"time\":1}\n{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"key\":\"k\",\"value\":1,\"time\":2}\n",
    "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]\nINFO  jepsen.util - 3   :fail   :cas   [1 4]\n",
    "{:process 3, :type :invoke, :f :append, :key \"9\", :value \"x 3 0 y\"}\n{:process 3, :type :ok, :f :append, :key \"9\", :value \"x 3 0 y\"}\n",
    "{:index 2 :type :invoke, :value [[:append 255 8] [:r 253 nil]]}\n; a comment\n{:index 3 :type :ok, :value [[:append 255 8] [:r 253 [1 3 4]]]}",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Mutated histories read or fail with `file:line:column: expected ...`, in every format,
    /// and never panic.
    #[test]
    fn mutated_histories_never_panic_and_errors_are_located(
        sample in 0..SAMPLES.len(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..SPECIAL.len(), 0u8..3), 1..6),
        format in 0..Format::NAMES.len(),
    ) {
        let mut text = SAMPLES[sample].to_owned();
        for (at, special, kind) in edits {
            let mut at = at.index(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match kind {
                0 => text.insert_str(at, SPECIAL[special]),
                1 => {
                    let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
                    text.replace_range(at..end, "");
                }
                _ => text.truncate(at),
            }
        }
        let format = Format::NAMES[format].1;
        if let Err(err) = read_str(&text, "bad.txt", format) {
            let message = err.to_string();
            let located = message
                .strip_prefix("bad.txt:")
                .and_then(|rest| rest.split_once(':'))
                .and_then(|(line, rest)| Some((line.parse::<usize>().ok()?, rest.split_once(':')?)))
                .and_then(|(line, (column, _))| Some((line, column.parse::<usize>().ok()?)));
            prop_assert!(
                matches!(located, Some((line, column)) if line >= 1 && column >= 1),
                "{message}"
            );
        }
    }
}
