//! The judge of `scripts/mutants.sh`: a fast sweep of one protocol's library scenarios. A
//! mutant of `protocols/src` is caught when any seed of a scenario that correct code passes
//! now fails a check (or the run errors). Ignored in the ordinary suite (it is the same sweep
//! the library tests already make, wider); the script runs it with
//! `DSIM_MUTATION_PROTOCOL=raft` (and optionally `DSIM_MUTATION_SEEDS=20`).

mod common;

use scenarios::sweep::{SeedPlan, sweep};
use scenarios::{Registry, Scenario};

/// Library scenarios that exist to show a failure: correct code fails them too.
const DEMONSTRATIONS: &[&str] = &["raft-lease-drift"];

/// Scenarios larger than this are left to the library tests: gossip-10k alone takes minutes
/// per sweep, and a mutant needs seconds.
const SERVERS_MAX: u32 = 64;

#[test]
#[ignore = "run by scripts/mutants.sh for each mutant"]
fn the_protocol_passes_every_seed_of_its_library_scenarios() {
    let protocol = std::env::var("DSIM_MUTATION_PROTOCOL")
        .expect("DSIM_MUTATION_PROTOCOL names the protocol whose scenarios judge the mutant");
    let seeds: u64 =
        std::env::var("DSIM_MUTATION_SEEDS").map_or(20, |s| s.parse().expect("a count"));
    let dir = common::root().join("scenarios/library");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let registry = Registry::builtin();
    let plan = SeedPlan::parse(&format!("0..{seeds}"), None).unwrap();
    let mut judged = 0;
    let mut failures = Vec::new();
    for file in files {
        let scenario = Scenario::from_file(&file).unwrap();
        if scenario.spec.protocol.name != protocol
            || DEMONSTRATIONS.contains(&scenario.name.as_str())
            || scenario.spec.cluster.servers > SERVERS_MAX
        {
            continue;
        }
        judged += 1;
        if !failures.is_empty() {
            // Caught already: the other scenarios would only cost time.
            break;
        }
        for r in sweep(&registry, &scenario, &plan, None, &|_| {}).unwrap() {
            if !r.ok {
                let why = r
                    .error
                    .clone()
                    .or_else(|| r.failed.first().map(|c| c.name.clone()));
                failures.push(format!(
                    "{} seed {}: {}",
                    scenario.name,
                    r.seed,
                    why.unwrap_or_default()
                ));
            }
        }
    }
    assert!(judged > 0, "no library scenario runs protocol `{protocol}`");
    assert!(
        failures.is_empty(),
        "{} failing runs, first: {}",
        failures.len(),
        failures[0]
    );
}
