"""Copy the example snapshots and their expected answers from ../shared/examples (the source)
into the package (`python/arbbot/examples/`, snapshots only: `arbbot examples` scans them) and
the tests (`python/tests/data/examples/`). Never edit those copies by hand: run this script;
`python/tests/engine/test_examples_synced.py` fails while they differ.

    python scripts/sync_examples.py [--check]
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "examples"
PACKAGE = ROOT / "python" / "arbbot" / "examples"
TESTS = ROOT / "python" / "tests" / "data" / "examples"


def copies() -> list[tuple[Path, Path]]:
    """(source, copy) for every file the package and the tests take from ../shared/examples."""
    out = []
    for src in sorted(SOURCE.glob("*.json")):
        out.append((src, TESTS / src.name))
        if src.name.endswith(".snapshot.json"):
            out.append((src, PACKAGE / src.name))
    return out


def main(argv: list[str]) -> int:
    if not SOURCE.is_dir():
        print(f"sync_examples: {SOURCE} not found (the shared specs sit beside the checkout)", file=sys.stderr)
        return 2
    stale = [(s, c) for s, c in copies() if not c.exists() or c.read_bytes() != s.read_bytes()]
    if "--check" in argv:
        for s, c in stale:
            print(f"out of date: {c.relative_to(ROOT)} (source {s})")
        return 1 if stale else 0
    for s, c in stale:
        shutil.copyfile(s, c)
        print(f"copied {s.name} → {c.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
