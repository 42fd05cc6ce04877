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
echo "== installing arbbot (builds the Swift engine; first build takes a minute or two)"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
.venv/bin/python -c "from arbbot import _native; print('== native engine ok: ABI', _native.abi_version(), _native.__file__)"
# the editable install leaves arbbot's own modules uncompiled: write their bytecode once, so each
# process (the bot, the simulator, every test's subprocess) starts without compiling ~230 modules,
# even where PYTHONDONTWRITEBYTECODE is set (it stops Python writing the cache, not reading it)
.venv/bin/python -m compileall -q python/arbbot
