#!/usr/bin/env bash
# Mutation score of one protocol, measured the way issue 13 asks: cargo-mutants lists the
# mutants of protocols/src/<protocol>, a seeded random sample of them is judged, each only by a
# sweep of that protocol's library scenarios (scenarios/tests/mutation_sweep.rs, SEEDS seeds
# each), not by the whole suite.
#
#   scripts/mutants.sh PROTOCOL [SAMPLE] [SEED] [SEEDS]
#   scripts/mutants.sh raft 60 1 20      # 60 mutants of protocols/src/raft/, sample seed 1, 20 seeds
#   DSIM_MUTANTS_REV=746e92a scripts/mutants.sh raft   # the same, of an older commit
#
# One build serves the whole sample (mutant schemata): scripts/mutants-schemata writes every
# sampled mutant into a copy of the committed tree (git HEAD) at once, each behind a switch
# that `DSIM_MUTANT=ID` turns on, and the judge runs once per mutant. (cargo-mutants itself
# builds once per mutant, over a minute each here; its version 27 also runs only the mutated
# package's tests, and the judge lives in scenarios.) A mutant that does not compile is found
# by `cargo check` and left out as unviable, as is one the schema could not place.
#
# Prints the score with a 95% Wilson interval and lists the missed mutants, which a person then
# judges (an equivalent mutant is not a miss). Results: target/mutants/PROTOCOL/ (sample.json,
# results.json). Not run by CI. Needs python3; installs cargo-mutants if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
protocol=${1:?usage: scripts/mutants.sh PROTOCOL [SAMPLE] [SEED] [SEEDS]}
sample=${2:-60}
seed=${3:-1}
seeds=${4:-20}
rev=${DSIM_MUTANTS_REV:-HEAD}
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
repo=$PWD
out=$repo/target/mutants/$protocol
copy=$repo/target/mutants/src
mkdir -p "$out"
export CARGO_TARGET_DIR=$repo/target/mutants/target
(cd scripts/mutants-schemata && cargo build --release --locked --quiet)
schemata=$CARGO_TARGET_DIR/release/mutants-schemata

# The committed tree (HEAD, or DSIM_MUTANTS_REV), listed and copied: the score is of a commit,
# not of a working tree.
rm -rf "$copy" && mkdir -p "$copy"
git archive "$rev" | tar -x -C "$copy"
# The population is the implementation, not its oracle: the checks, monitors, experiments and
# metrics are what judges a mutant, and a mutant of a check that correct code passes anyway
# proves nothing about the tests.
oracle='(^|[ :])(metrics|footprint|server_bytes|end_checks|liveness|bugs|converged|quiet_from|state_agreement|log_matching_at_end|difference|servers|master_of)( ->| with|$)'
(cd "$copy" && cargo mutants --list --json --package protocols --file "$files" \
  --exclude '**/checks.rs' --exclude '**/monitor.rs' --exclude '**/experiment.rs' \
  --exclude '**/session.rs' --exclude-re "$oracle") > "$out/all.json"
git rev-parse "$rev" > "$out/commit"

python3 - "$out" "$copy" "$schemata" "$sample" "$seed" "$seeds" "$protocol" <<'PY'
import json, math, os, pathlib, random, re, subprocess, sys
out, copy, schemata = map(pathlib.Path, sys.argv[1:4])
sample, seed, seeds, protocol = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7]
mutants = json.loads((out / "all.json").read_text())
random.Random(seed).shuffle(mutants)
picked = mutants[:sample]
for i, m in enumerate(picked):
    m["id"] = i
    m.pop("diff", None)
(out / "sample.json").write_text(json.dumps(picked, indent=1))
print(f"{len(mutants)} mutants; a sample of {len(picked)} (seed {seed})", flush=True)

files = sorted({m["file"] for m in picked})
originals = {f: (copy / f).read_text() for f in files}
lib = copy / "protocols/src/lib.rs"
lib.write_text(lib.read_text() + """
/// Whether mutant `id` of scripts/mutants.sh's schema is on (`DSIM_MUTANT=id`).
#[doc(hidden)]
pub fn mutant_active(id: u32) -> bool {
    static ACTIVE: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    *ACTIVE.get_or_init(|| std::env::var("DSIM_MUTANT").ok().and_then(|v| v.parse().ok())) == Some(id)
}
""")
marker = re.compile(r"mutant_active\((\d+)u32\)")

def offset(text, line, column):
    lines = text.split("\n")
    return sum(len(l) + 1 for l in lines[: line - 1]) + column - 1

def write_schema(ids):
    for f, text in originals.items():
        (copy / f).write_text(text)
    chosen = [m for m in picked if m["id"] in ids]
    run = subprocess.run([str(schemata), str(copy)], input=json.dumps(chosen),
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout)

def blame(messages):
    """The ids of the mutants the compile errors point at."""
    ids = set()
    for msg in messages:
        spans = [s for s in msg.get("spans", []) if s.get("is_primary")]
        if not spans:
            continue
        s = spans[0]
        text = (copy / s["file_name"]).read_text()
        lo = offset(text, s["line_start"], s["column_start"])
        hi = offset(text, s["line_end"], s["column_end"])
        inside = [int(x.group(1)) for x in marker.finditer(text, lo, hi)]
        before = [int(x.group(1)) for x in marker.finditer(text, 0, lo)]
        if inside:
            ids.update(inside)
        elif before:
            ids.add(before[-1])
        else:
            sys.exit(f"cannot tell which mutant breaks the build: {msg['rendered']}")
    return ids

viable = {m["id"] for m in picked}
unviable, unplaced = set(), set()
while True:
    placed = write_schema(viable)
    unplaced |= set(placed["unplaced"])
    viable -= unplaced
    check = subprocess.run(["cargo", "check", "--quiet", "--locked", "-p", "protocols",
                            "--message-format=json"], cwd=copy, capture_output=True, text=True)
    errors = []
    for line in check.stdout.splitlines():
        record = json.loads(line)
        if record.get("reason") == "compiler-message" and record["message"]["level"] == "error":
            errors.append(record["message"])
    if check.returncode == 0:
        break
    broken = blame(errors)
    if not broken:
        sys.exit("the schema does not build:\n" + check.stderr[-3000:])
    unviable |= broken
    viable -= broken
print(f"{len(viable)} viable; {len(unviable)} do not compile; {len(unplaced)} not placed by the schema",
      flush=True)

build = subprocess.run(["cargo", "test", "--locked", "-p", "scenarios", "--test", "mutation_sweep",
                        "--no-run", "--message-format=json"], cwd=copy, capture_output=True,
                       text=True)
artifacts = [json.loads(l) for l in build.stdout.splitlines()]
if build.returncode != 0:
    rendered = [a["message"]["rendered"] for a in artifacts
                if a.get("reason") == "compiler-message" and a["message"]["level"] == "error"]
    sys.exit("the judge does not build:\n" + "".join(rendered)[-6000:] + build.stderr[-1000:])
judge = next(a["executable"] for a in artifacts
             if a.get("executable") and a["target"]["kind"] == ["test"])
env = dict(os.environ, DSIM_MUTATION_PROTOCOL=protocol, DSIM_MUTATION_SEEDS=seeds)

def judged(mutant_id):
    e = dict(env)
    if mutant_id is not None:
        e["DSIM_MUTANT"] = str(mutant_id)
    try:
        run = subprocess.run([judge, "--ignored", "--quiet"], env=e, capture_output=True,
                             text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    why = next((l for l in (run.stdout + run.stderr).splitlines() if "failing runs" in l), "")
    return ("caught" if run.returncode != 0 else "missed"), why.strip()

verdict, why = judged(None)
if verdict != "missed":
    sys.exit(f"the original code does not pass its own judge: {why}")
results = {"caught": [], "missed": [], "timeout": [],
           "unviable": [m["name"] for m in picked if m["id"] in unviable],
           "unplaced": [m["name"] for m in picked if m["id"] in unplaced]}
order = [m for m in picked if m["id"] in viable]
for i, m in enumerate(order, 1):
    verdict, why = judged(m["id"])
    results[verdict].append(m["name"] if verdict != "caught" else f"{m['name']} -- {why}")
    print(f"[{i}/{len(order)}] {verdict:8} {m['name']}", flush=True)
(out / "results.json").write_text(json.dumps(results, indent=1))
k = len(results["caught"]) + len(results["timeout"])
n = k + len(results["missed"])
if n == 0:
    sys.exit("no viable mutant was judged")
z, p = 1.96, k / n
centre = (p + z * z / (2 * n)) / (1 + z * z / n)
half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
print(f"score {k}/{n} = {100 * p:.1f}% (95% interval {100 * (centre - half):.1f}-{100 * (centre + half):.1f}%); "
      f"{len(results['timeout'])} of the caught by timeout; {len(unviable)} unviable and "
      f"{len(unplaced)} unplaced left out")
for name in results["missed"]:
    print("  missed:", name)
PY
