#!/usr/bin/env bash
# What a user gets from `pip install .`: build the wheel, install it into a fresh venv, and run
# the main job and the examples from a folder outside the checkout (catches data files missing
# from the wheel, which an editable install hides). Needs what scripts/setup.sh needs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "== building the wheel"
.venv/bin/python -m pip wheel --quiet --no-deps -w "$WORK/dist" "$ROOT"
WHEEL=$(ls "$WORK"/dist/arbbot-*.whl)
echo "== installing $(basename "$WHEEL") into a fresh venv"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet "$WHEEL"
mkdir "$WORK/elsewhere"
cd "$WORK/elsewhere"
echo "== arbbot examples (outside the checkout)"
"$WORK/venv/bin/arbbot" examples > examples.txt
grep -q "fed-december" examples.txt || { cat examples.txt; echo "arbbot examples did not scan the bundled snapshots"; exit 1; }
echo "== arbbot run --duration 10 --json (outside the checkout)"
ARB_KILL_FILE="" "$WORK/venv/bin/arbbot" run --duration 10 --json --db "$WORK/elsewhere/paper.db" --metrics-port 0 > summary.json
"$WORK/venv/bin/python" - summary.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
complete = s["trading"]["executions"].get("complete", 0)
print(f"== wheel run: {s['markets']} markets, {complete} complete executions")
if complete < 1:
    sys.exit("the installed wheel's arbbot run completed no execution")
PY
