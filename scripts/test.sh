#!/usr/bin/env bash
# Set up, then run every test: Swift unit tests (no Python needed) and pytest
# (golden cases, Swift/Python parity on 2,000+ generated universes, fuzzing, CLI, venues).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp() { echo "== $* ($(date +%H:%M:%S))"; }   # each phase's start time, for the CI log
stamp setup
bash scripts/setup.sh
# the dashboard's browser tests drive Debian's headless Chromium (python/tests/ops/dashboard)
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "== installing chromium (apt) for the dashboard browser tests"
    SUDO=""
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
    if ! { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
           --no-install-recommends chromium >/dev/null; }; then
      echo "== could not install chromium with apt-get; the dashboard browser tests will be skipped" >&2
    fi
  else
    echo "== apt-get not available: install chromium yourself, or the dashboard browser tests are skipped" >&2
  fi
fi
stamp swift test
swift test
stamp pytest
# bytecode caches written once and read by every test's subprocesses (the bot, the simulator):
# with PYTHONDONTWRITEBYTECODE set, each of them compiled the package again (≈ 0.3 s a process) and
# pytest rewrote every test module on each run (collection 13 s → 5 s)
unset PYTHONDONTWRITEBYTECODE
# one worker per core (pytest-xdist): most whole-bot tests wait on their bot and simulator, so two
# workers on two cores halve the suite's time (≈ 25 → 12 min here); ARB_TEST_WORKERS=0 runs it in
# one process
HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci} .venv/bin/python -m pytest -n "${ARB_TEST_WORKERS:-auto}" \
  --durations=20 "$@"
stamp "wheel: pip install of the built wheel, arbbot run/examples from outside the checkout"
bash scripts/wheel_check.sh
stamp done
