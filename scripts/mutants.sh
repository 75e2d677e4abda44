#!/usr/bin/env bash
# Mutation score of one protocol, measured the way issue 13 asks: cargo-mutants lists the
# mutants of protocols/src/<protocol>, a seeded random sample of them is applied one at a time,
# and each is judged only by a sweep of that protocol's library scenarios
# (scenarios/tests/mutation_sweep.rs, SEEDS seeds each), not by the whole suite. (cargo-mutants
# 27 runs only the mutated package's tests, and the judge lives in scenarios, so this script
# applies its diffs itself.) A full run builds once per mutant, too slow for 2 cores.
#
#   scripts/mutants.sh PROTOCOL [SAMPLE] [SEED] [SEEDS]
#   scripts/mutants.sh raft 40 1 20      # 40 mutants of protocols/src/raft/, sample seed 1, 20 seeds
#
# Prints the score with a 95% Wilson interval and lists the missed mutants, which a person then
# judges (an equivalent mutant is not a miss); a mutant that does not build is left out. It
# edits protocols/src in place and restores each file with `git checkout` (commit or stash
# your own changes to protocols/src first). Results: target/mutants/PROTOCOL/. Not run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
protocol=${1:?usage: scripts/mutants.sh PROTOCOL [SAMPLE] [SEED] [SEEDS]}
sample=${2:-40}
seed=${3:-1}
seeds=${4:-20}
version=27.1.0

if ! cargo mutants --version 2>/dev/null | grep -q "$version"; then
  echo "scripts/mutants.sh: installing cargo-mutants $version" >&2
  cargo install --locked --version "$version" cargo-mutants
fi
case "$protocol" in
  register | pingpong) files="protocols/src/$protocol.rs" ;;
  raft | chain | gossip | twopc) files="protocols/src/$protocol/**/*.rs" ;;
  *) echo "unknown protocol $protocol (register, raft, chain, gossip, twopc)" >&2; exit 2 ;;
esac
if [ -n "$(git status --porcelain -- protocols/src)" ]; then
  echo "protocols/src has uncommitted changes; commit or stash them first" >&2
  exit 2
fi
out=target/mutants/$protocol
mkdir -p "$out"
cargo mutants --list --json --diff --package protocols --file "$files" > "$out/all.json"
cargo test --quiet -p scenarios --test mutation_sweep --no-run

DSIM_MUTATION_PROTOCOL=$protocol DSIM_MUTATION_SEEDS=$seeds \
python3 - "$out" "$sample" "$seed" <<'PY'
import json, math, pathlib, random, subprocess, sys
out, sample, seed = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
mutants = json.loads((out / "all.json").read_text())
random.Random(seed).shuffle(mutants)
picked = mutants[:sample]
print(f"{len(mutants)} mutants; judging a sample of {len(picked)} (seed {seed})", flush=True)
judge = ["cargo", "test", "--quiet", "-p", "scenarios", "--test", "mutation_sweep", "--", "--ignored"]
results = {"caught": [], "missed": [], "unviable": [], "timeout": []}
for i, m in enumerate(picked, 1):
    path = m["file"]
    subprocess.run(["patch", "--quiet", path], input=m["diff"], text=True, check=True)
    try:
        build = subprocess.run(judge[:7] + ["--no-run"], capture_output=True, text=True)
        if build.returncode != 0:
            verdict = "unviable"
        else:
            try:
                run = subprocess.run(judge, capture_output=True, text=True, timeout=600)
                verdict = "caught" if run.returncode != 0 else "missed"
            except subprocess.TimeoutExpired:
                verdict = "timeout"
    finally:
        subprocess.run(["git", "checkout", "--quiet", "--", path], check=True)
    results[verdict].append(m["name"])
    print(f"[{i}/{len(picked)}] {verdict:8} {m['name']}", flush=True)
(out / "results.json").write_text(json.dumps(results, indent=1))
k = len(results["caught"]) + len(results["timeout"])
n = k + len(results["missed"])
if n == 0:
    sys.exit("no viable mutant was judged")
z, p = 1.96, k / n
centre = (p + z * z / (2 * n)) / (1 + z * z / n)
half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
print(f"score {k}/{n} = {100 * p:.1f}% (95% interval {100 * (centre - half):.1f}-{100 * (centre + half):.1f}%); "
      f"{len(results['unviable'])} unviable (did not build) left out")
for name in results["missed"]:
    print("  missed:", name)
PY
