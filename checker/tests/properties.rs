//! Property tests: the fast search against real sequential executions and against a
//! brute-force checker on small random histories (with open `info` calls and failed casts).

mod common;

use checker::history::{Event, EventKind, History, OpFn, Value};
use checker::model::{Kv, Register};
use checker::{CheckOptions, Verdict, check_with_model};
use common::brute_force;
use proptest::prelude::*;

/// One generated call: what it does, when it runs, and how it ends.
#[derive(Clone, Debug)]
struct Call {
    f: OpFn,
    input: Value,
    /// Start and length of its interval; the linearization point is inside it.
    start: u64,
    length: u64,
    /// 0 ok, 1 info (took effect), 2 info (did not), 3 never completes (took effect).
    ending: u8,
}

fn call() -> impl Strategy<Value = Call> {
    call_in(3, 6)
}

/// Calls on values `0..values`, ending ok with weight `ok` against 1 for each other ending.
fn call_in(values: i64, ok: u32) -> impl Strategy<Value = Call> {
    (
        0u8..3,
        0i64..values,
        0i64..values,
        0u64..40,
        1u64..40,
        prop_oneof![ok => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)],
    )
        .prop_map(|(f, a, b, start, length, ending)| {
            let (f, input) = match f {
                0 => (OpFn::Read, Value::Nil),
                1 => (OpFn::Write, Value::Int(a)),
                _ => (OpFn::Cas, Value::List(vec![Value::Int(a), Value::Int(b)])),
            };
            Call {
                f,
                input,
                start,
                length,
                ending,
            }
        })
}

/// Runs the calls sequentially in the order of their linearization points (each call's point
/// is the middle of its interval) and records the history a client would see. A cas that
/// finds another value fails (`fail`, or `ok false` as etcd reports it, by `false_as_ok`).
fn execute(calls: &[Call], false_as_ok: bool) -> History {
    // (time, order, event); times are spread out so that no two events tie.
    let mut timed: Vec<(u64, usize, Event)> = Vec::new();
    let mut order: Vec<usize> = (0..calls.len()).collect();
    let point = |c: &Call| c.start * 4 + c.length * 2;
    order.sort_by_key(|&i| (point(&calls[i]), i));
    let mut state = Value::Int(0);
    for (process, &i) in order.iter().enumerate() {
        let c = &calls[i];
        let event = |kind, value| Event {
            process: process as u64,
            kind,
            f: c.f,
            key: None,
            value,
            time: 0,
        };
        timed.push((c.start * 4, i, event(EventKind::Invoke, c.input.clone())));
        let applies = c.ending != 2;
        let (kind, value) = match &c.f {
            OpFn::Read => (EventKind::Ok, state.clone()),
            OpFn::Write => {
                if applies {
                    state = c.input.clone();
                }
                (EventKind::Ok, c.input.clone())
            }
            _ => {
                let pair = c.input.as_list().unwrap();
                if pair[0] == state {
                    if applies {
                        state = pair[1].clone();
                    }
                    (EventKind::Ok, c.input.clone())
                } else if false_as_ok {
                    (EventKind::Ok, Value::Bool(false))
                } else {
                    (EventKind::Fail, c.input.clone())
                }
            }
        };
        let end = (c.start + c.length) * 4 + 1;
        match c.ending {
            0 => timed.push((end, i, event(kind, value))),
            // A failed cas never took effect: report it as failed even when "info".
            _ if kind == EventKind::Fail => timed.push((end, i, event(kind, value))),
            1 | 2 => timed.push((end, i, event(EventKind::Info, Value::Nil))),
            _ => {}
        }
    }
    timed.sort_by_key(|(time, i, _)| (*time, *i));
    let events = timed.into_iter().enumerate().map(|(n, (_, _, mut e))| {
        e.time = n as u64;
        e
    });
    History::from_events("generated", events.collect())
}

fn register() -> Register {
    Register {
        initial: Value::Int(0),
        cas: true,
    }
}

fn fast(history: &History) -> Verdict {
    check_with_model(
        &register(),
        "cas-register",
        history,
        &CheckOptions::default(),
    )
    .unwrap()
    .verdict
}

fn slow(history: &History) -> bool {
    brute_force(&register(), &history.operations().unwrap())
}

/// Changes the result of the `nth` ok read (mod their count) to another value; false if none.
fn corrupt(history: &mut History, nth: usize, to: i64) -> bool {
    let reads: Vec<usize> = (0..history.events.len())
        .filter(|&i| history.events[i].kind == EventKind::Ok && history.events[i].f == OpFn::Read)
        .collect();
    if reads.is_empty() {
        return false;
    }
    let event = &mut history.events[reads[nth % reads.len()]];
    event.value = if event.value == Value::Int(to) {
        Value::Int(to + 1)
    } else {
        Value::Int(to)
    };
    true
}

/// A kv run: each call `(f, start, length, ending, seen)` takes effect at the middle of its
/// interval; appends and puts write a token of their own, so gets see real interleavings. A get
/// then reports the value seen by get number `seen` instead (when `seen` names one), so the
/// history may or may not be linearizable. Endings: 0 ok, 1 info (took effect), 2 info (did
/// not).
fn kv_run(calls: &[(u8, u64, u64, u8, usize)]) -> History {
    let point = |&(_, start, length, _, _): &(u8, u64, u64, u8, usize)| start * 4 + length * 2;
    let mut order: Vec<usize> = (0..calls.len()).collect();
    order.sort_by_key(|&i| (point(&calls[i]), i));
    let mut state = String::new();
    let mut seen = vec![String::new(); calls.len()];
    for &i in &order {
        let (f, _, _, ending, _) = calls[i];
        let token = format!("{}{i}", if f == 2 { "P" } else { "a" });
        match (f, ending) {
            (0, _) => seen[i] = state.clone(),
            (_, 2) => {}
            (1, _) => state.push_str(&token),
            _ => state = token,
        }
    }
    let gets: Vec<usize> = (0..calls.len()).filter(|&i| calls[i].0 == 0).collect();
    let mut timed = Vec::new();
    for (i, &(f, start, length, ending, other)) in calls.iter().enumerate() {
        let token = format!("{}{i}", if f == 2 { "P" } else { "a" });
        let (f, input) = match f {
            0 => (OpFn::Get, Value::Nil),
            1 => (OpFn::Append, Value::Str(token)),
            _ => (OpFn::Put, Value::Str(token)),
        };
        let event = |kind, value, time| Event {
            process: i as u64,
            kind,
            f,
            key: None,
            value,
            time,
        };
        timed.push((start * 4, i, event(EventKind::Invoke, input.clone(), 0)));
        let end = (start + length) * 4 + 1;
        if f == OpFn::Get {
            let shown = gets.get(other).map_or(i, |&g| g);
            timed.push((
                end,
                i,
                event(EventKind::Ok, Value::Str(seen[shown].clone()), 0),
            ));
        } else if ending == 0 {
            timed.push((end, i, event(EventKind::Ok, input, 0)));
        } else {
            timed.push((end, i, event(EventKind::Info, Value::Nil, 0)));
        }
    }
    timed.sort_by_key(|(time, i, _)| (*time, *i));
    History::from_events("kv", timed.into_iter().map(|(_, _, e)| e).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Searched in tiny segments (the long-history mode), the verdicts stay those of brute force,
    /// on registers with open calls and on kv runs.
    #[test]
    fn segments_agree_with_brute_force(calls in prop::collection::vec(call(), 1..8), results in prop::collection::vec(0i64..4, 8), kv in prop::collection::vec((0u8..3, 0u64..24, 1u64..24, prop_oneof![4 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)], 0usize..12), 1..9), segment_ops in 1usize..4) {
        let mut options = CheckOptions::default();
        options.limits.segment_ops = segment_ops;
        let mut history = execute(&calls, true);
        let mut results = results.into_iter().cycle();
        for event in &mut history.events {
            if event.kind == EventKind::Ok && event.f == OpFn::Read {
                event.value = Value::Int(results.next().unwrap());
            }
        }
        let expected = if slow(&history) { Verdict::Linearizable } else { Verdict::NotLinearizable };
        let verdict = check_with_model(&register(), "cas-register", &history, &options).unwrap().verdict;
        prop_assert_eq!(verdict, expected);
        let history = kv_run(&kv);
        let model = Kv { initial: Value::Str(String::new()) };
        let expected = if brute_force(&model, &history.operations().unwrap()) { Verdict::Linearizable } else { Verdict::NotLinearizable };
        let verdict = check_with_model(&model, "kv", &history, &options).unwrap().verdict;
        prop_assert_eq!(verdict, expected);
    }

    /// On kv runs with unique tokens, open calls and gets that may report another get's value,
    /// the fast search (with its lookahead and unobserved-state merging) agrees with brute force.
    #[test]
    fn kv_runs_agree_with_brute_force(calls in prop::collection::vec((0u8..3, 0u64..24, 1u64..24, prop_oneof![4 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)], 0usize..12), 1..9)) {
        let history = kv_run(&calls);
        let model = Kv { initial: Value::Str(String::new()) };
        let expected = if brute_force(&model, &history.operations().unwrap()) { Verdict::Linearizable } else { Verdict::NotLinearizable };
        let verdict = check_with_model(&model, "kv", &history, &CheckOptions::default()).unwrap().verdict;
        prop_assert_eq!(verdict, expected);
    }

    /// A history recorded from a real sequential execution is linearizable.
    #[test]
    fn real_executions_are_linearizable(calls in prop::collection::vec(call(), 1..40), false_as_ok: bool) {
        let history = execute(&calls, false_as_ok);
        prop_assert_eq!(fast(&history), Verdict::Linearizable);
    }

    /// With one read's result corrupted, the history is rejected unless brute force finds
    /// another order that explains it.
    #[test]
    fn corrupted_reads_are_rejected(calls in prop::collection::vec(call(), 1..8), nth: usize, to in 0i64..3, false_as_ok: bool) {
        let mut history = execute(&calls, false_as_ok);
        if corrupt(&mut history, nth, to) {
            let expected = if slow(&history) { Verdict::Linearizable } else { Verdict::NotLinearizable };
            prop_assert_eq!(fast(&history), expected);
        }
    }

    /// On small random histories (arbitrary results, open calls, failed casts) the fast search
    /// and brute force always agree.
    #[test]
    fn fast_agrees_with_brute_force(calls in prop::collection::vec(call(), 1..8), results in prop::collection::vec(0i64..4, 8), false_as_ok: bool) {
        let mut history = execute(&calls, false_as_ok);
        let mut results = results.into_iter().cycle();
        for event in &mut history.events {
            if event.kind == EventKind::Ok && event.f == OpFn::Read {
                event.value = Value::Int(results.next().unwrap());
            }
        }
        let expected = if slow(&history) { Verdict::Linearizable } else { Verdict::NotLinearizable };
        prop_assert_eq!(fast(&history), expected);
    }

    /// With many open calls on many values (so most writes are never read), dropping the open
    /// calls nobody could see never changes a verdict.
    #[test]
    fn unseen_open_calls_agree_with_brute_force(calls in prop::collection::vec(call_in(6, 1), 1..9), results in prop::collection::vec(0i64..6, 8), false_as_ok: bool) {
        let mut history = execute(&calls, false_as_ok);
        let mut results = results.into_iter().cycle();
        for event in &mut history.events {
            if event.kind == EventKind::Ok && event.f == OpFn::Read && results.next().is_some_and(|r| r < 3) {
                event.value = Value::Int(results.next().unwrap_or(0));
            }
        }
        let expected = if slow(&history) { Verdict::Linearizable } else { Verdict::NotLinearizable };
        prop_assert_eq!(fast(&history), expected);
    }

    /// The kv model with appends (and its prefix lookahead) agrees with brute force too.
    #[test]
    fn kv_appends_agree_with_brute_force(ops in prop::collection::vec((0u8..3, 0u64..30, 1u64..30, 0usize..4), 1..7)) {
        let tokens = ["a", "b", "ab", ""];
        let mut timed = Vec::new();
        for (process, (f, start, length, t)) in ops.iter().enumerate() {
            let (f, input, output) = match f {
                0 => (OpFn::Get, Value::Nil, Value::Str(tokens[*t].repeat(1 + process % 2))),
                1 => (OpFn::Append, Value::Str(tokens[*t].into()), Value::Str(tokens[*t].into())),
                _ => (OpFn::Put, Value::Str(tokens[*t].into()), Value::Str(tokens[*t].into())),
            };
            let event = |kind, value, time| (time, Event { process: process as u64, kind, f, key: None, value, time });
            timed.push(event(EventKind::Invoke, input, start * 4));
            timed.push(event(EventKind::Ok, output, (start + length) * 4 + 1));
        }
        timed.sort_by_key(|(time, e)| (*time, e.process));
        let history = History::from_events("kv", timed.into_iter().map(|(_, e)| e).collect());
        let model = Kv { initial: Value::Str(String::new()) };
        let expected = if brute_force(&model, &history.operations().unwrap()) { Verdict::Linearizable } else { Verdict::NotLinearizable };
        let verdict = check_with_model(&model, "kv", &history, &CheckOptions::default()).unwrap().verdict;
        prop_assert_eq!(verdict, expected);
    }
}
