#!/usr/bin/env bash
# Set up, then run every test: Swift unit tests (no Python needed) and pytest
# (golden cases, Swift/Python parity on 2,000+ generated universes, fuzzing, CLI, venues).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== swift test"
swift test
echo "== pytest"
HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci} .venv/bin/python -m pytest "$@"
echo "== wheel: pip install of the built wheel, arbbot run/examples from outside the checkout"
bash scripts/wheel_check.sh
