//! The single-server register: linearizable under loss, duplication, reordering, crash-recovery
//! and pauses; each switched-on bug is caught by the checker within a few seeds.

use scenarios::{RunOptions, Scenario};

const SEEDS: u64 = 20;

fn library() -> Scenario {
    Scenario::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/library/register.json"
    ))
    .unwrap()
}

fn with_bug(bug: &str) -> Scenario {
    let text = library().text.replace(
        "\"resend_ns\": \"20ms\"",
        &format!("\"resend_ns\": \"20ms\", \"bugs\": [\"{bug}\"]"),
    );
    assert!(text.contains(bug), "the library file changed shape");
    Scenario::parse(&text, &format!("register+{bug}")).unwrap()
}

/// Seeds among 0..SEEDS on which the scenario fails, and the names of the failed checks.
fn failing(scenario: &Scenario) -> Vec<(u64, Vec<String>)> {
    (0..SEEDS)
        .filter_map(|seed| {
            let report = scenarios::run(
                scenario,
                &RunOptions {
                    seed: Some(seed),
                    ..Default::default()
                },
            )
            .unwrap();
            (!report.ok).then(|| {
                (
                    seed,
                    report
                        .checks
                        .iter()
                        .filter(|c| !c.ok)
                        .map(|c| c.name.clone())
                        .collect(),
                )
            })
        })
        .collect()
}

#[test]
fn the_correct_register_passes_every_seed() {
    assert_eq!(failing(&library()), vec![]);
}

#[test]
fn no_dedup_is_caught_by_the_linearizability_check() {
    let fails = failing(&with_bug("no_dedup"));
    assert!(!fails.is_empty(), "no seed in 0..{SEEDS} found the bug");
    assert!(
        fails.iter().all(|(_, checks)| checks == &["linearizable"]),
        "{fails:?}"
    );
}

#[test]
fn reply_before_sync_loses_acknowledged_writes_in_the_crash() {
    let fails = failing(&with_bug("reply_before_sync"));
    assert!(!fails.is_empty(), "no seed in 0..{SEEDS} found the bug");
}
