#!/usr/bin/env bash
# Fuzz campaigns with dsim-fuzz (scenarios/src/bin/dsim-fuzz; see scenarios/fuzz/README.md).
#
#   scripts/fuzz.sh TARGET SECONDS [OPTIONS]   a campaign of SECONDS against TARGET
#   scripts/fuzz.sh TARGET --execs N [OPTIONS] a campaign of N executions
#   scripts/fuzz.sh all SECONDS [OPTIONS]      every target in turn, SECONDS each
#   scripts/fuzz.sh replay TARGET PATH...      run saved inputs and say how each ends
#   scripts/fuzz.sh list                       the targets and their seed folders
#   scripts/fuzz.sh --afl TARGET SECONDS [AFL OPTIONS]
#                                              the same target under AFL++ (coverage-guided)
#
# Targets: scenario, history-jsonl, history-edn, history-etcd-log, history-kv-edn,
# history-auto (reading and validation only, fast), build, check, run (what dsim does next). OPTIONS go to `dsim-fuzz campaign` (--seed S to repeat a campaign,
# --hang-secs, --mem-cap-mb, --big-seeds, --minimise-secs, --findings DIR; see --help).
# Prints executions, executions per second and findings; new findings are minimised and saved
# under scenarios/fuzz/findings/open/TARGET/ with a note. Exit status: 0 nothing new, 1 a new
# finding, 2 bad arguments.
#
# Needs only cargo (stable): it builds dsim-fuzz in release mode first. Campaigns run at
# nice 10 (DSIM_FUZZ_NICE to change it); the seeds include ../shared/histories when present.
# --afl installs cargo-afl 0.18.2 if it is missing (it builds AFL++ for this rustc; make and a
# C compiler are needed), builds dsim-fuzz-afl with it under target/afl, and runs afl-fuzz
# (5 s hang limit, 2 GiB memory limit) on the target's seeds of at most 64 KiB, copied to a
# temporary folder; it prints AFL++'s executions, speed, coverage, crashes and hangs, which it
# keeps under target/afl/out/TARGET/default/ (replay them with `replay TARGET DIR`).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
}

afl_campaign() {
  local target="${1:?scripts/fuzz.sh --afl TARGET SECONDS}"
  local seconds="${2:?scripts/fuzz.sh --afl TARGET SECONDS}"
  shift 2
  if ! cargo afl --version >/dev/null 2>&1; then
    cargo install cargo-afl --locked --version 0.18.2 >&2
  fi
  # Builds AFL++ for this rustc unless it was built already (then it says so and fails).
  cargo afl config --build >/dev/null 2>&1 || true
  local dir="${CARGO_TARGET_DIR:-target}/afl"
  CARGO_TARGET_DIR="$dir" cargo afl build --release --locked -p scenarios --features afl \
    --bin dsim-fuzz-afl >&2
  afl_seeds="$(mktemp -d)"
  trap 'rm -rf "$afl_seeds"' EXIT
  "$bin" seeds "$target" "$afl_seeds" --max-bytes 65536
  local out="$dir/out/$target"
  mkdir -p "$out"
  # The coverage map this binary needs (dsim is larger than AFL++'s default map).
  local map_size
  map_size="$(AFL_DUMP_MAP_SIZE=1 "$dir/release/dsim-fuzz-afl" 2>/dev/null | tail -n 1 || true)"
  AFL_MAP_SIZE="$map_size" AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
    DSIM_FUZZ_TARGET="$target" \
    nice -n "${DSIM_FUZZ_NICE:-10}" cargo afl fuzz -i "$afl_seeds" -o "$out" -V "$seconds" \
    -t 5000 -m 2048 "$@" "$dir/release/dsim-fuzz-afl" </dev/null >"$out/afl-fuzz.log" 2>&1 || {
    tail -n 20 "$out/afl-fuzz.log" >&2
    return 2
  }
  echo "dsim-fuzz-afl: $target: AFL++ after ${seconds} s (log: $out/afl-fuzz.log):"
  grep -E '^(execs_done|execs_per_sec|corpus_count|bitmap_cvg|saved_crashes|saved_hangs) ' \
    "$out/default/fuzzer_stats"
  local found
  found=$(find "$out/default/crashes" "$out/default/hangs" -type f -name 'id:*' | wc -l)
  if [ "$found" -gt 0 ]; then
    echo "crashes and hangs: $out/default/crashes, $out/default/hangs"
    return 1
  fi
}

if [ $# -eq 0 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  usage
  exit 2
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "scripts/fuzz.sh: cargo is needed (https://rustup.rs), then run this again." >&2
  exit 2
fi

cargo build --release --locked -p scenarios --bin dsim-fuzz >&2
bin="${CARGO_TARGET_DIR:-target}/release/dsim-fuzz"
run() { nice -n "${DSIM_FUZZ_NICE:-10}" "$bin" "$@"; }

case "$1" in
  --afl)
    shift
    afl_campaign "$@"
    ;;
  list)
    exec "$bin" list
    ;;
  replay)
    shift
    run replay "$@"
    ;;
  all)
    shift
    seconds="${1:?scripts/fuzz.sh all SECONDS}"
    shift
    status=0
    for target in $("$bin" list | awk '{print $1}'); do
      run campaign "$target" --seconds "$seconds" "$@" || status=$?
    done
    exit "$status"
    ;;
  *)
    target="$1"
    shift
    if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
      seconds="$1"
      shift
      run campaign "$target" --seconds "$seconds" "$@"
    else
      run campaign "$target" "$@"
    fi
    ;;
esac
