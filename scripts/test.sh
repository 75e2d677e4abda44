#!/usr/bin/env bash
# The whole test suite, browser test included: installs Debian's Chromium if it is missing (as
# root, with apt-get), then runs `cargo test --workspace --locked` with DSIM_REQUIRE_BROWSER=1,
# so the report.html tests in scenarios/tests/browser.rs fail rather than skip without a browser.
# Arguments replace `--workspace` (e.g. `scripts/test.sh -p scenarios --test browser`). The
# workspace includes examples/abd, the example protocol, so its build and tests run here too.
set -euo pipefail
cd "$(dirname "$0")/.."

have_chromium() {
  if [ -n "${DSIM_CHROMIUM:-}" ]; then
    [ -f "$DSIM_CHROMIUM" ]
  else
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
  fi
}

if ! have_chromium; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "scripts/test.sh: installing Debian's chromium (for scenarios/tests/browser.rs)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends chromium
  else
    echo "scripts/test.sh: no Chromium found, and installing one needs root and apt-get." >&2
    echo "  Install it (Debian/Ubuntu: sudo apt-get install --no-install-recommends chromium)," >&2
    echo "  or point DSIM_CHROMIUM at a Chromium or Chrome binary, then run this again." >&2
    exit 1
  fi
fi

if [ $# -eq 0 ]; then
  set -- --workspace
fi
DSIM_REQUIRE_BROWSER=1 exec cargo test --locked "$@"
