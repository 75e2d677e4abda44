//! The example's scenario under many seeds, through the same registry and sweep the command
//! line uses: correct ABD passes every seed, and the skipped write-back fails some.

use abd::Abd;
use scenarios::sweep::{SeedPlan, sweep};
use scenarios::{Registry, Scenario};

const SEEDS: &str = "0..40";

fn scenario(bugs: &str) -> Scenario {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/abd-nemesis.json");
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.replace(
        r#""name": "abd" }"#,
        &format!(r#""name": "abd", "options": {{ "bugs": [{bugs}] }} }}"#),
    );
    Scenario::parse(&text, path).unwrap()
}

fn failing_seeds(scenario: &Scenario) -> Vec<u64> {
    let mut registry = Registry::new();
    registry.protocol::<Abd>();
    let plan = SeedPlan::parse(SEEDS, None).unwrap();
    let results = sweep(&registry, scenario, &plan, Some(1), &|_| {}).unwrap();
    assert!(results.iter().all(|r| r.error.is_none()), "{results:?}");
    results.iter().filter(|r| !r.ok).map(|r| r.seed).collect()
}

#[test]
fn correct_abd_passes_every_seed_of_its_nemesis_scenario() {
    assert_eq!(failing_seeds(&scenario("")), Vec::<u64>::new());
}

#[test]
fn a_sweep_finds_the_skipped_write_back() {
    let failing = failing_seeds(&scenario(r#""skip_read_write_back""#));
    assert!(!failing.is_empty(), "no seed of {SEEDS} found the bug");
}
