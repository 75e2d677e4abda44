//! Reports: the explanation of a failure (text and JSON), the HTML page, and the in-memory
//! API that `dsim run` uses.

mod common;

use checker::history::{Event, EventKind, OpFn, Value};
use checker::{CheckOptions, ModelKind, ModelSpec, Verdict, check_events, render_html};
use common::check_file;

fn event(process: u64, kind: EventKind, f: OpFn, key: i64, value: Value, time: u64) -> Event {
    Event {
        process,
        kind,
        f,
        key: Some(Value::Int(key)),
        value,
        time,
    }
}

/// Knossos' rethink-fail-minimal: the explanation names the read of 3, the prefix (the write
/// of 0) and the state just before it, in text and JSON.
#[test]
fn explanation_names_the_op_prefix_and_states() {
    let spec = ModelSpec::new(ModelKind::CasRegister).with_initial(Value::Int(0));
    let report = check_file(
        "knossos/cas-register/rethink-fail-minimal.edn",
        &spec,
        &CheckOptions::default(),
    );
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    let explanation = report.explanation.as_ref().unwrap();
    assert_eq!(explanation.op.text, "p1 read -> 3");
    assert_eq!(explanation.op.line, 4);
    let prefix: Vec<&str> = explanation
        .prefix
        .iter()
        .map(|op| op.text.as_str())
        .collect();
    assert_eq!(prefix, vec!["p0 write 0 -> ok"]);
    assert_eq!(explanation.states_before, vec!["0".to_owned()]);
    let text = explanation.to_string();
    assert!(
        text.contains("cannot linearize p1 read -> 3 (line 4)"),
        "{text}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["verdict"], "not-linearizable");
    assert_eq!(json["explanation"]["op"]["text"], "p1 read -> 3");
    assert!(json["elapsed_ms"].is_number() && json["ops"] == 4 && json["partitions"].is_array());
}

/// The HTML page is self-contained: one tab per partition, one row per process, the failing
/// operation highlighted, no network references.
#[test]
fn html_page_is_self_contained() {
    let events = vec![
        event(
            0,
            EventKind::Invoke,
            OpFn::Put,
            1,
            Value::Str("a".into()),
            10,
        ),
        event(0, EventKind::Ok, OpFn::Put, 1, Value::Str("a".into()), 20),
        event(1, EventKind::Invoke, OpFn::Get, 1, Value::Nil, 30),
        event(1, EventKind::Ok, OpFn::Get, 1, Value::Str("<b>".into()), 40),
        event(
            2,
            EventKind::Invoke,
            OpFn::Put,
            2,
            Value::Str("c".into()),
            50,
        ),
    ];
    let report = check_events(
        &events,
        &ModelSpec::new(ModelKind::Kv),
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    assert_eq!(report.partitions.len(), 2);
    let history = checker::History::from_events("t", events);
    let page = render_html("t <history>", &history.operations().unwrap(), &report);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(page.matches("class=\"panel\"").count(), 2);
    assert_eq!(page.matches("class=\"tab ").count(), 2);
    assert!(page.contains("op blocking"));
    assert!(page.contains("&lt;b&gt;") && !page.contains("<b>"));
    assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("src="));
}

/// dsim's in-memory events check directly; keys are independent, and stopping at the first
/// failure can be turned off to decide every key.
#[test]
fn check_events_decides_every_key_on_request() {
    let mut events = Vec::new();
    for key in 0..4 {
        let seen = if key == 2 { 7 } else { 1 };
        events.push(event(
            key as u64,
            EventKind::Invoke,
            OpFn::Write,
            key,
            Value::Int(1),
            key as u64 * 10,
        ));
        events.push(event(
            key as u64,
            EventKind::Ok,
            OpFn::Write,
            key,
            Value::Int(1),
            key as u64 * 10 + 1,
        ));
        events.push(event(
            9,
            EventKind::Invoke,
            OpFn::Read,
            key,
            Value::Nil,
            key as u64 * 10 + 2,
        ));
        events.push(event(
            9,
            EventKind::Ok,
            OpFn::Read,
            key,
            Value::Int(seen),
            key as u64 * 10 + 3,
        ));
    }
    let options = CheckOptions {
        stop_on_first_failure: false,
        parallel: false,
        ..CheckOptions::default()
    };
    let spec = ModelSpec::new(ModelKind::Register);
    let report = check_events(&events, &spec, &options).unwrap();
    let verdicts: Vec<Verdict> = report.partitions.iter().map(|p| p.verdict).collect();
    use Verdict::*;
    assert_eq!(
        verdicts,
        vec![Linearizable, Linearizable, NotLinearizable, Linearizable]
    );
    assert_eq!(report.explanation.unwrap().key, Some(Value::Int(2)));
}

/// Identical open writes are interchangeable: 30 timed-out writes of 3 values give at most
/// 11^3 counts of used writes times 4 states, not 2^30 subsets.
#[test]
fn many_identical_open_calls_stay_cheap() {
    let mut events = Vec::new();
    for p in 0..30u64 {
        let value = Value::Int((p % 3) as i64);
        events.push(Event {
            process: p,
            kind: EventKind::Invoke,
            f: OpFn::Write,
            key: None,
            value,
            time: p,
        });
    }
    events.push(Event {
        process: 1000,
        kind: EventKind::Invoke,
        f: OpFn::Read,
        key: None,
        value: Value::Nil,
        time: 400,
    });
    events.push(Event {
        process: 1000,
        kind: EventKind::Ok,
        f: OpFn::Read,
        key: None,
        value: Value::Int(2),
        time: 401,
    });
    events.push(Event {
        process: 1001,
        kind: EventKind::Invoke,
        f: OpFn::Read,
        key: None,
        value: Value::Nil,
        time: 402,
    });
    events.push(Event {
        process: 1001,
        kind: EventKind::Ok,
        f: OpFn::Read,
        key: None,
        value: Value::Int(7),
        time: 403,
    });
    let report = check_events(
        &events,
        &ModelSpec::new(ModelKind::Register),
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    let configurations = report.partitions[0].stats.configurations;
    assert!(
        configurations <= 11 * 11 * 11 * 4,
        "{configurations} configurations"
    );
}
