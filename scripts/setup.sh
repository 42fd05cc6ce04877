#!/usr/bin/env bash
# Create .venv (if missing) and install arbbot into it, building the Swift engine (arbbot._native).
# Idempotent: re-running rebuilds Swift incrementally. Needs python3 (3.11+) and swift on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
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
echo "== installing arbbot (builds the Swift engine; first build takes a minute or two)"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
.venv/bin/python -c "from arbbot import _native; print('== native engine ok: ABI', _native.abi_version(), _native.__file__)"
