#!/usr/bin/env bash
# Fuzz campaigns with dsim-fuzz (scenarios/src/bin/dsim-fuzz; see scenarios/fuzz/README.md).
#
#   scripts/fuzz.sh TARGET SECONDS [OPTIONS]   a campaign of SECONDS against TARGET
#   scripts/fuzz.sh TARGET --execs N [OPTIONS] a campaign of N executions
#   scripts/fuzz.sh all SECONDS [OPTIONS]      every target in turn, SECONDS each
#   scripts/fuzz.sh replay TARGET PATH...      run saved inputs and say how each ends
#   scripts/fuzz.sh list                       the targets and their seed folders
#
# Targets: scenario, history-jsonl, history-edn, history-etcd-log, history-kv-edn,
# history-auto, run. OPTIONS go to `dsim-fuzz campaign` (--seed S to repeat a campaign,
# --hang-secs, --mem-cap-mb, --big-seeds, --minimise-secs, --findings DIR; see --help).
# Prints executions, executions per second and findings; new findings are minimised and saved
# under scenarios/fuzz/findings/open/TARGET/ with a note. Exit status: 0 nothing new, 1 a new
# finding, 2 bad arguments.
#
# Needs only cargo (stable): it builds dsim-fuzz in release mode first. Campaigns run at
# nice 10 (DSIM_FUZZ_NICE to change it); the seeds include ../shared/histories when present.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
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
