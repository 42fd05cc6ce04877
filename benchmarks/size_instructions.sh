#!/usr/bin/env bash
# Instructions executed by one native sizing call: `arbbot bench`'s size_raw (the bench's sizing
# opportunity, 2,000 Monte Carlo paths, prepacked buffers), counted by valgrind's callgrind.
# Unlike timings, the count repeats exactly whatever else the machine is doing, so it compares
# two builds of the engine on a noisy machine. The call is made 20 times; the count is the last
# one's (the first call's one-time setup excluded), with its five most expensive functions (self).
#
#   bash benchmarks/size_instructions.sh            # needs valgrind (apt-get install valgrind)
#   bash benchmarks/size_instructions.sh DIR/arbbot # another build's package folder (A/B)
#   TOP=25 bash benchmarks/size_instructions.sh     # list 25 functions instead of 5
#
# valgrind 3.19 cannot read the DWARF 5 debug info Swift emits, so the package is copied to a
# temporary folder and the copy's native library is measured with its debug info stripped.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
command -v valgrind >/dev/null || { echo "size_instructions: valgrind not found" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "${1:-python/arbbot}" "$tmp/arbbot"
strip --strip-debug "$tmp"/arbbot/_native*.so
cat > "$tmp/call.py" <<'PY'
from arbbot.bench.runner import sizing_opportunity
from arbbot.engine.select import native_module
from arbbot.sizing import SizingParams
from arbbot.sizing import native as sizing_native

native = native_module()
packed = (*sizing_native.pack_inputs((sizing_opportunity(),)), sizing_native.pack_params(SizingParams()))
for _ in range(20):
    native.size_batch(*packed)
PY
PYTHONPATH="$tmp" valgrind --tool=callgrind --toggle-collect=py_size_batch --zero-before=py_size_batch \
  --callgrind-out-file="$tmp/out" "$PY" "$tmp/call.py" 2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
echo "instructions in one size_batch call: $(sed -n 's/^summary: //p' "$tmp/out")"
demangle() { if command -v swift >/dev/null; then swift demangle --simplified; else cat; fi; }
callgrind_annotate --threshold=100 "$tmp/out" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | grep -F "$tmp" \
  | head -${TOP:-5} | sed -E "s# \[$tmp/[^]]*\]##; s#\?\?\?:##" | demangle
