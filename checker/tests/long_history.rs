//! A very long history with little concurrency is checked with a search whose memory is
//! bounded by the concurrency, not by the length: the stack never exceeds one segment.

use checker::history::{Event, EventKind, History, OpFn, Value};
use checker::search::SEGMENT_OPS;
use checker::{CheckOptions, Limits, ModelKind, ModelSpec, Verdict, check_history};

/// Operations in the long history.
const LONG_OPS: usize = 1_000_000;
/// Processes, so at most this many calls are open at once.
const PROCESSES: u64 = 3;

/// A register history of `ops` calls by [`PROCESSES`] clients, each call taking effect when it
/// returns (so the history is linearizable): writes of fresh values and reads, with calls
/// overlapping at random (a fixed-seed generator, so every run builds the same history).
fn register_history(ops: usize) -> History {
    register_history_with(ops, usize::MAX)
}

/// [`register_history`] where every `odd_every`th call ends oddly: a write with `info` (it
/// took effect, but the client does not know), a read with `fail`.
fn register_history_with(ops: usize, odd_every: usize) -> History {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut open: Vec<Option<(OpFn, Value)>> = vec![None; PROCESSES as usize];
    let mut register = Value::Nil;
    let mut events = Vec::with_capacity(ops * 2);
    let (mut invoked, mut written) = (0, 0);
    while invoked < ops || open.iter().any(Option::is_some) {
        let process = next() % PROCESSES;
        let time = events.len() as u64;
        let event = |kind, f, value| Event {
            process,
            kind,
            f,
            key: None,
            value,
            time,
        };
        match open[process as usize].take() {
            None if invoked < ops => {
                invoked += 1;
                let call = if next() % 2 == 0 {
                    written += 1;
                    (OpFn::Write, Value::Int(written))
                } else {
                    (OpFn::Read, Value::Nil)
                };
                events.push(event(EventKind::Invoke, call.0, call.1.clone()));
                open[process as usize] = Some(call);
            }
            None => {}
            Some((OpFn::Write, value)) => {
                register = value.clone();
                let kind = match (written as usize).is_multiple_of(odd_every) {
                    true => EventKind::Info,
                    false => EventKind::Ok,
                };
                events.push(event(kind, OpFn::Write, value));
            }
            Some((f, _)) if (invoked + 1).is_multiple_of(odd_every) => {
                events.push(event(EventKind::Fail, f, Value::Nil))
            }
            Some((f, _)) => events.push(event(EventKind::Ok, f, register.clone())),
        }
    }
    History::from_events("long", events)
}

/// A million calls with concurrency 3 are linearizable, and the stack stays within one
/// segment; a single corrupted read near the end is found.
#[test]
fn million_ops_checked_with_bounded_stack() {
    let mut history = register_history(LONG_OPS);
    let spec = ModelSpec::new(ModelKind::Register);
    let report = check_history(&history, &spec, &CheckOptions::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Linearizable, "{:?}", report.reason);
    let stats = report.partitions[0].stats;
    // Calls overlapping one call's interval: more than the processes, far fewer than the calls.
    assert!(stats.live_ops <= 64, "{stats:?}");
    assert!(stats.stack_max <= SEGMENT_OPS + stats.live_ops, "{stats:?}");
    assert!(stats.frontier_max >= 1, "searched in segments: {stats:?}");

    let last_read = history
        .events
        .iter()
        .rposition(|e| e.kind == EventKind::Ok && e.f == OpFn::Read)
        .unwrap();
    history.events[last_read].value = Value::Int(-1);
    let report = check_history(&history, &spec, &CheckOptions::default()).unwrap();
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    // The explanation names a call at the corrupted read (it, or a call concurrent with it).
    let explanation = report.explanation.unwrap();
    assert!(explanation.op.id + 64 >= LONG_OPS, "{}", explanation.op);
}

/// The check holds at most a bound of operations that follows the concurrency and the
/// segment size, not the length: 4x longer histories hold no more, with `info` and `fail`
/// calls in them; and it still finds a corrupted read near the end of the longer one.
#[test]
fn operations_held_do_not_grow_with_length() {
    const SEGMENT: usize = 1024;
    let spec = ModelSpec::new(ModelKind::Register);
    let options = CheckOptions {
        limits: Limits {
            segment_ops: SEGMENT,
            ..Limits::default()
        },
        ..CheckOptions::default()
    };
    let held = |history: &History| {
        let report = check_history(history, &spec, &options).unwrap();
        assert_eq!(report.verdict, Verdict::Linearizable, "{:?}", report.reason);
        assert!(
            report.partitions[0].parts > 10,
            "cut into parts: {report:?}"
        );
        report.held_ops_max
    };
    let short = held(&register_history_with(50_000, 20_011));
    let mut long_history = register_history_with(200_000, 20_011);
    let long = held(&long_history);
    // A segment, the calls in flight and the open writes (one per 40,000 calls).
    assert!(short <= SEGMENT * 2 + 64, "{short}");
    assert!(
        long <= short + 32,
        "50k ops held {short} at most, 200k held {long}"
    );

    let last_read = long_history
        .events
        .iter()
        .rposition(|e| e.kind == EventKind::Ok && e.f == OpFn::Read)
        .unwrap();
    long_history.events[last_read].value = Value::Int(-1);
    let report = check_history(&long_history, &spec, &options).unwrap();
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    assert!(report.explanation.unwrap().op.id + 64 >= 200_000);
}

/// An open write that one part placed (a read saw it) stays placed in later parts: a read of
/// its value after another write overwrote it is not linearizable however finely the history
/// is cut, and is linearizable when the overwrite never happened.
#[test]
fn an_open_write_takes_effect_at_most_once_across_parts() {
    let event = |process, kind, f, value: Option<i64>| Event {
        process,
        kind,
        f,
        key: None,
        value: value.map_or(Value::Nil, Value::Int),
        time: 0,
    };
    let history = |overwrite: bool| {
        let mut events = vec![
            event(9, EventKind::Invoke, OpFn::Write, Some(1)),
            event(9, EventKind::Info, OpFn::Write, Some(1)),
            event(0, EventKind::Invoke, OpFn::Read, None),
            event(0, EventKind::Ok, OpFn::Read, Some(1)),
        ];
        if overwrite {
            events.push(event(0, EventKind::Invoke, OpFn::Write, Some(2)));
            events.push(event(0, EventKind::Ok, OpFn::Write, Some(2)));
        }
        for _ in 0..3 {
            events.push(event(0, EventKind::Invoke, OpFn::Read, None));
            events.push(event(
                0,
                EventKind::Ok,
                OpFn::Read,
                Some(if overwrite { 2 } else { 1 }),
            ));
        }
        events.push(event(0, EventKind::Invoke, OpFn::Read, None));
        events.push(event(0, EventKind::Ok, OpFn::Read, Some(1)));
        History::from_events("twice", events)
    };
    let spec = ModelSpec::new(ModelKind::Register);
    for segment_ops in [1, 2, 3, SEGMENT_OPS] {
        let options = CheckOptions {
            limits: Limits {
                segment_ops,
                ..Limits::default()
            },
            ..CheckOptions::default()
        };
        let verdict = |overwrite| check_history(&history(overwrite), &spec, &options).unwrap();
        let report = verdict(true);
        assert_eq!(
            report.verdict,
            Verdict::NotLinearizable,
            "segment_ops {segment_ops}"
        );
        if segment_ops == 1 {
            assert!(report.partitions[0].parts > 2, "{report:?}");
        }
        assert_eq!(
            verdict(false).verdict,
            Verdict::Linearizable,
            "segment_ops {segment_ops}"
        );
    }
}
