#!/usr/bin/env bash
# Set up, then run arbbot on the embedded default. Extra arguments go to `arbbot run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/arbbot run "$@"
