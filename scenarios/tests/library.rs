//! Every library scenario keeps its verdict and its exact trace hash. A changed hash means the
//! simulation of that scenario changed: if the change is deliberate, re-bless the table with
//! `DSIM_BLESS=1 cargo test -p scenarios --test library -- --nocapture` and paste what it prints.

use std::path::Path;

use scenarios::{RunOptions, Scenario};

/// Scenarios too long for the test suite, and why.
const SKIPPED: &[(&str, &str)] = &[(
    "gossip-10k.json",
    "10,000 members run for seconds; see the gossip tests for 1,000",
)];

/// `pingpong.json` is the 600-second throughput benchmark; its golden entry covers 10 seconds.
const PINGPONG_TEST_DURATION_NS: u64 = 10_000_000_000;

/// (file, passes on its own seed, trace hash).
const GOLDEN: &[(&str, bool, &str)] = &[
    ("2pc-bank-crash.json", true, "c82dd545975984bd"),
    ("2pc-blocking.json", true, "5b8926c28675671d"),
    ("2pc-clock-skew.json", true, "66df3e4176de450e"),
    ("2pc-coordinator-crash.json", true, "16ea5eee5f04a9c3"),
    ("2pc-lossy.json", true, "08404d63f52bd5f8"),
    ("2pc-partitions.json", true, "1db570f42d7ff66e"),
    ("2pc-pauses.json", true, "9aa2f39e56f647b6"),
    ("2pc-replayed-prepare.json", true, "8253c8ae722e9973"),
    ("2pc-rw-nemesis.json", true, "5b780fced3e67ab0"),
    ("chain-clock-skew.json", true, "5528bd59c61f985a"),
    ("chain-crash-recovery.json", true, "ebee8e2293d2d371"),
    ("chain-late-delivery.json", true, "4dc76d115bbbaa8c"),
    ("chain-lossy.json", true, "a7c3e100d92955b2"),
    ("chain-middle-failure.json", true, "2164cd6651327c7f"),
    ("chain-nemesis.json", true, "4a7aa17bd4e2a643"),
    ("chain-partitions.json", true, "1d26935de1b6dedd"),
    ("chain-pauses.json", true, "a8eac5e4116f93e6"),
    ("chain-stale-tail.json", true, "8afeeb505842015b"),
    ("chain-tail-reorder.json", true, "5cfb0e29d1b3371e"),
    ("gossip-clock-skew.json", true, "d92fb21c5e1f9fa9"),
    ("gossip-crash.json", true, "7203a3dfbfcaf3d4"),
    ("gossip-lossy.json", true, "4f57dcd313074d1f"),
    ("gossip-partitions.json", true, "2bea5f868745fe19"),
    ("gossip-pauses.json", true, "c8561ba8818ffc60"),
    ("pingpong.json", true, "630f708f9e4f9349"),
    ("raft-clock-skew.json", true, "58de48b07368badf"),
    ("raft-crash-recovery.json", true, "b34e16c1d067ee4a"),
    ("raft-figure8.json", true, "5175a48f0f1acdfb"),
    ("raft-late-delivery.json", true, "c330c713db92564f"),
    ("raft-lease-drift.json", true, "644932e450184c95"),
    ("raft-lossy.json", true, "9064a47ff8124f74"),
    ("raft-nemesis.json", true, "562e83b1bbadfe89"),
    ("raft-partitions.json", true, "9121a8f8d67c6d47"),
    ("raft-pauses.json", true, "3c1945669ebbe1a3"),
    ("raft-restart-storm.json", true, "8c4769abba1fea03"),
    ("raft-stale-round-replies.json", true, "b919b05188f6736a"),
    ("raft-swarm.json", true, "1aaac04168e894e9"),
    ("register-crash-storm.json", true, "9f441e09b780bfcd"),
    ("register.json", true, "65a070efbdd1988d"),
];

fn library() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("library");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".json") && !SKIPPED.iter().any(|(s, _)| s == n))
        .collect();
    names.sort();
    names
}

fn run(name: &str) -> (bool, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("library")
        .join(name);
    let mut scenario = Scenario::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
    if name == "pingpong.json" {
        scenario.spec.duration_ns = PINGPONG_TEST_DURATION_NS;
    }
    let report =
        scenarios::run(&scenario, &RunOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    (report.ok, format!("{:016x}", report.trace_hash))
}

#[test]
fn library_scenarios_keep_their_verdicts_and_trace_hashes() {
    let bless = std::env::var_os("DSIM_BLESS").is_some();
    let mut mismatches = Vec::new();
    let mut table = String::new();
    for name in library() {
        let (ok, hash) = run(&name);
        table.push_str(&format!("    (\"{name}\", {ok}, \"{hash}\"),\n"));
        match GOLDEN.iter().find(|(n, _, _)| *n == name) {
            Some((_, want_ok, want_hash)) if (*want_ok, *want_hash) == (ok, hash.as_str()) => {}
            Some((_, want_ok, want_hash)) => mismatches.push(format!(
                "{name}: expected ok={want_ok} hash {want_hash}, got ok={ok} hash {hash}"
            )),
            None => mismatches.push(format!("{name}: no golden entry (ok={ok} hash {hash})")),
        }
    }
    for (name, ..) in GOLDEN {
        if !library().iter().any(|n| n == name) {
            mismatches.push(format!("{name}: golden entry for a scenario that is gone"));
        }
    }
    if bless {
        println!("const GOLDEN: &[(&str, bool, &str)] = &[\n{table}];");
        return;
    }
    assert!(
        mismatches.is_empty(),
        "{}\n(re-bless deliberately with DSIM_BLESS=1)",
        mismatches.join("\n")
    );
}

#[test]
fn every_library_scenario_passes_on_its_own_seed() {
    // Scenarios that exist to show a failure (raft-lease-drift: lease reads under clock drift)
    // fail on other seeds, which their protocol's tests sweep; on their own seed all pass.
    let failing: Vec<&str> = GOLDEN
        .iter()
        .filter(|(_, ok, _)| !ok)
        .map(|(n, ..)| *n)
        .collect();
    assert!(failing.is_empty(), "{failing:?}");
}

#[test]
fn every_library_scenario_builds_without_running_and_build_refuses_what_a_run_refuses() {
    // Registry::build is a run's checks without the run: same acceptance, same errors.
    let registry = scenarios::Registry::builtin();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("library");
    for name in library() {
        let scenario = Scenario::from_file(dir.join(&name)).unwrap_or_else(|e| panic!("{e}"));
        registry
            .build(&scenario, Some(7))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let bad_option = r#"{"protocol": {"name": "raft", "options": {"no_such_option": 1}}}"#;
    let scenario = Scenario::parse(bad_option, "bad.json").unwrap();
    let built = registry.build(&scenario, None).unwrap_err().to_string();
    let ran = registry
        .run(&scenario, &RunOptions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(built, ran);
    assert!(built.contains("protocol.options"), "{built}");
    let unknown = r#"{"protocol": {"name": "rafft"}}"#;
    let scenario = Scenario::parse(unknown, "unknown.json").unwrap();
    let built = registry.build(&scenario, None).unwrap_err().to_string();
    assert!(built.contains("did you mean `raft`"), "{built}");
}
