"""The example snapshots the package bundles and the tests read are copies of ../shared/examples
(the source), made by scripts/sync_examples.py and never edited by hand."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
spec = importlib.util.spec_from_file_location("sync_examples", ROOT / "scripts" / "sync_examples.py")
sync = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sync)


@pytest.mark.skipif(not sync.SOURCE.is_dir(), reason="../shared/examples is not beside this checkout")
def test_copies_are_identical_to_the_shared_examples():
    pairs = sync.copies()
    assert len(pairs) >= 12                     # 4+ examples: snapshot + expected in tests, snapshot in package
    stale = [str(c.relative_to(ROOT)) for s, c in pairs if not c.exists() or c.read_bytes() != s.read_bytes()]
    assert stale == [], f"run `python scripts/sync_examples.py`: {stale}"
    assert sync.main(["--check"]) == 0
