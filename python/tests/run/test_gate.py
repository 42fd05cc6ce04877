"""The book gate's sweeps read only the books old enough to matter: `last_seen` is kept oldest
first (an update moves its market to the end), and `older_than` / `stale` / `quiet` stop at the
first book that is recent enough. Checked against a full scan on random update sequences."""
from __future__ import annotations

from hypothesis import given, strategies as st

from arbbot.quality.gate import BookGate

NAMES = [f"kalshi:M{k}" for k in range(8)]

# a step: (seconds the clock moves forward, market updated, trusted, a sweep with this `after`)
steps = st.lists(st.tuples(st.integers(0, 20), st.sampled_from(NAMES), st.booleans(), st.integers(0, 40)),
                 max_size=60)


@given(steps)
def test_sweeps_find_exactly_the_books_a_full_scan_finds(seq):
    now = [0.0]
    gate = BookGate(stale_after_s=30.0, clock=lambda: now[0])
    times: dict[str, float] = {}
    held: dict[str, str] = {}
    for dt, name, trusted, after in seq:
        now[0] += dt
        assert gate.admit(name, trusted, "" if trusted else "gap") is trusted
        times[name] = now[0]
        if trusted:
            held.pop(name, None)
        else:
            held[name] = "gap"
        old = [n for n, t in times.items() if now[0] - t > after]
        assert sorted(gate.older_than(after)) == sorted(old)
        ages = [times[n] for n in gate.older_than(after)]
        assert ages == sorted(ages)                                               # oldest first
        assert gate.quiet() == sum(1 for n, t in times.items() if now[0] - t > 30 and n not in held)
    newly = gate.stale(lambda n: n.endswith("1"))          # M1's stream is live: quiet, not stale
    assert sorted(newly) == sorted(n for n, t in times.items()
                                   if now[0] - t > 30 and n not in held and not n.endswith("1"))
    assert all(gate.held[n] == "stale" for n in newly)


def test_an_update_moves_its_book_to_the_end():
    now = [0.0]
    gate = BookGate(stale_after_s=30.0, clock=lambda: now[0])
    for name in ("a", "b", "c"):
        gate.admit(name, True)
        now[0] += 10
    gate.admit("a", True)                       # a: 30 s, b: 10 s, c: 20 s
    now[0] += 15                                # a 15, b 35, c 25 s ago
    assert list(gate.last_seen) == ["b", "c", "a"]
    assert gate.older_than(20) == ["b", "c"] and gate.older_than(30) == ["b"]
    assert gate.stale() == ["b"] and gate.held == {"b": "stale"}
    gate.seen("b")                              # noted now (as a market joining is): newest again
    assert gate.older_than(20) == ["c"]
