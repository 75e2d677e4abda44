//! The fuzz harness (`dsim-fuzz`, scenarios/src/bin/dsim-fuzz) in CI: every saved corpus input
//! and every fixed finding replays clean (no panic, abort, hang or memory blow-up; errors are
//! fine), and a short seeded campaign of every target finds nothing that is not already an
//! open finding. Open findings (scenarios/fuzz/findings/open/) are skipped by the replay: they
//! are bugs not fixed yet; once one is fixed, its files move to scenarios/fuzz/findings/TARGET/
//! and this test keeps it fixed.

use std::path::{Path, PathBuf};
use std::process::Command;

const FUZZ: &str = env!("CARGO_BIN_EXE_dsim-fuzz");

/// Every target, with the executions its CI campaign runs: about 2–10 s each on this 2-core
/// machine (under a minute in all). The hang limits are the defaults (5 s, 20 s for `run`):
/// the slowest clean input of these campaigns took 1.7 s here.
const TARGETS: [(&str, u64); 9] = [
    ("scenario", 20_000),
    ("history-jsonl", 20_000),
    ("history-edn", 20_000),
    ("history-etcd-log", 20_000),
    ("history-kv-edn", 20_000),
    ("history-auto", 20_000),
    ("build", 1500),
    ("check", 3000),
    ("run", 400),
];

/// The seed every CI campaign uses: the same inputs each run, so that a new finding is a
/// change in dsim, not in luck.
const CI_SEED: &str = "14";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fuzz(args: &[&str]) -> (bool, String) {
    let output = Command::new(FUZZ)
        .args(args)
        .output()
        .expect("dsim-fuzz runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The targets whose saved inputs another target replays too: `build` reads scenarios as
/// `scenario` does, and `check` reads histories of every format.
fn replayed_targets(target: &str) -> Vec<&str> {
    match target {
        "build" => vec!["build", "scenario"],
        "check" => TARGETS
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| t.starts_with("history-") || *t == "check")
            .collect(),
        _ => vec![target],
    }
}

/// The saved inputs of a target that must replay clean: its corpus and its fixed findings
/// (and those of the targets it reads the inputs of).
fn saved_inputs(target: &str) -> Vec<PathBuf> {
    let fuzz_dir = repo().join("scenarios/fuzz");
    replayed_targets(target)
        .into_iter()
        .flat_map(|t| {
            [
                fuzz_dir.join("corpus").join(t),
                fuzz_dir.join("findings").join(t),
            ]
        })
        .filter(|dir| {
            std::fs::read_dir(dir).is_ok_and(|mut entries| {
                entries.any(|e| e.is_ok_and(|e| !e.path().to_string_lossy().ends_with(".note")))
            })
        })
        .collect()
}

#[test]
fn every_saved_corpus_input_and_fixed_finding_replays_clean() {
    // A bug once found and fixed stays fixed; our own seeds never become findings.
    let mut replayed = 0;
    for (target, _) in TARGETS {
        let dirs = saved_inputs(target);
        if dirs.is_empty() {
            continue;
        }
        let mut args = vec!["replay", target];
        let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        args.extend(dirs.iter().map(String::as_str));
        let (ok, text) = fuzz(&args);
        println!("{text}");
        assert!(ok, "{target}: a saved input is not clean:\n{text}");
        replayed += 1;
    }
    assert!(replayed > 0, "no saved inputs found under scenarios/fuzz");
}

/// Targets whose seeds are only the public histories, which a checkout without
/// `../shared/histories` does not have.
const SHARED_SEEDS_ONLY: [&str; 3] = ["history-edn", "history-etcd-log", "history-kv-edn"];

#[test]
fn a_short_seeded_campaign_of_each_target_finds_nothing_new() {
    // The same 124,900 inputs every run end cleanly, or as a bug already on file.
    let scratch = tempfile::tempdir().expect("temporary folder");
    let findings = scratch.path().display().to_string();
    let shared = repo().join("../shared/histories").is_dir();
    for (target, execs) in TARGETS {
        if !shared && SHARED_SEEDS_ONLY.contains(&target) {
            eprintln!("{target}: skipped, no ../shared/histories to seed it");
            continue;
        }
        let execs_arg = execs.to_string();
        let (ok, text) = fuzz(&[
            "campaign",
            target,
            "--execs",
            &execs_arg,
            "--seed",
            CI_SEED,
            "--minimise-secs",
            "0",
            "--findings",
            &findings,
        ]);
        println!("{text}");
        assert!(
            ok,
            "{target}: the CI campaign found something new (reproduce with `dsim-fuzz generate \
             {target} --seed {CI_SEED} --index N`):\n{text}"
        );
        assert!(
            text.contains(&format!("{target}: {execs} executions")),
            "{target}: the campaign did not run all {execs} executions:\n{text}"
        );
    }
}
