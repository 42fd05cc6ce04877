"""Bucket selection (Thompson sampling): discounted Beta posteriors, failure streaks that disable a
group for a while, persistence across a reopened store, and the priority order."""
from __future__ import annotations

import pytest

from arbbot.execution.store import OrderStore
from arbbot.mapping.selection import BucketSelector, GroupStats, group_key

DAY = 86_400.0
A = group_key(["kalshi:FED-H0", "kalshi:FED-C25", "kalshi:FED-C50"])
B = group_key(["polymarket:0xaa", "polymarket:0xbb"])


@pytest.fixture
def store(tmp_path):
    s = OrderStore(str(tmp_path / "sel.db"))
    yield s
    s.close()


def test_group_key_is_order_free():
    assert group_key(["b:2", "a:1"]) == group_key(["a:1", "b:2"]) == "a:1|b:2"


def test_counts_halve_every_half_life_and_the_posterior_mean_follows(store):
    sel = BucketSelector(store, half_life_s=DAY)
    for _ in range(3):
        sel.record(A, True, 1_000.0)
    sel.record(A, False, 1_000.0)
    # Beta(1 + 3, 1 + 1): mean 4/6
    assert sel.mean(A, 1_000.0) == pytest.approx(4 / 6, rel=1e-12)
    # one half-life later: s = 1.5, f = 0.5 → (1 + 1.5) / (2 + 2) = 0.625
    assert sel.stats(A, 1_000.0 + DAY) == GroupStats(1.5, 0.5, 1, 0.0, 1_000.0 + DAY)
    assert sel.mean(A, 1_000.0 + DAY) == pytest.approx(2.5 / 4, rel=1e-12)
    # a new success then adds a whole count on top of the decayed ones
    after = sel.record(A, True, 1_000.0 + DAY)
    assert (after.successes, after.failures, after.consecutive_failures) == (2.5, 0.5, 0)


def test_a_failure_streak_disables_the_group_then_one_trial_is_allowed(store):
    sel = BucketSelector(store, max_consecutive_failures=3, disable_s=3_600.0)
    sel.record(A, False, 10.0)
    sel.record(A, True, 11.0)                    # a success resets the streak
    for t in (12.0, 13.0):
        sel.record(A, False, t)
    assert sel.allowed(A, 14.0)                  # two in a row: still allowed
    sel.record(A, False, 14.0)                   # the third: disabled for an hour
    assert not sel.allowed(A, 15.0) and sel.disabled(15.0) == [A]
    assert sel.allowed(A, 14.0 + 3_600.0)        # the trial after the pause
    sel.record(A, False, 14.0 + 3_600.0)         # fails again: disabled again at once
    assert not sel.allowed(A, 15.0 + 3_600.0)
    assert sel.allowed(B, 15.0)                  # other groups are untouched
    assert [e["kind"] for e in store.events() if e["kind"] == "bucket_disabled"] == ["bucket_disabled"] * 2


def test_state_survives_a_restart(tmp_path):
    path = str(tmp_path / "persist.db")
    store = OrderStore(path)
    sel = BucketSelector(store, max_consecutive_failures=2, disable_s=600.0)
    sel.record(A, True, 100.0)
    sel.record(B, False, 100.0)
    sel.record(B, False, 101.0)
    store.close()
    again = OrderStore(path)
    sel2 = BucketSelector(again, max_consecutive_failures=2, disable_s=600.0)
    assert sel2.stats(A, 100.0) == GroupStats(1.0, 0.0, 0, 0.0, 100.0)
    assert not sel2.allowed(B, 200.0) and sel2.allowed(B, 701.0)
    again.close()


def test_priority_prefers_groups_that_made_money_and_puts_disabled_ones_last(store):
    sel = BucketSelector(store, max_consecutive_failures=4, seed=7)
    good, bad, off = "g:1|g:2", "b:1|b:2", "o:1|o:2"
    for t in range(20):
        sel.record(good, True, float(t))
        sel.record(bad, t % 4 == 0, float(t))    # 5 of 20, never 4 failures in a row
    sel.record(off, True, 27.0)
    for t in (28.0, 29.0, 30.0, 31.0):           # four failures in a row: disabled
        sel.record(off, False, t)
    assert sel.disabled(32.0) == [off] and sel.allowed(bad, 32.0)
    firsts = [sel.priority([bad, off, good], 32.0)[0] for _ in range(200)]
    assert firsts.count(good) >= 190            # Beta(21, 1) vs Beta(6, 16): good wins almost always
    assert all(sel.priority([off, bad, good], 32.0)[-1] == off for _ in range(20))
    # seeded: two selectors with the same seed draw the same orders
    one = BucketSelector(store, max_consecutive_failures=4, seed=11)
    two = BucketSelector(store, max_consecutive_failures=4, seed=11)
    orders = [one.priority([bad, good, off], 32.0) for _ in range(30)]
    assert orders == [two.priority([bad, good, off], 32.0) for _ in range(30)]
    assert {tuple(o) for o in orders} == {(good, bad, off), (bad, good, off)} or {tuple(o) for o in orders} == {
        (good, bad, off)}


@pytest.mark.parametrize("kwargs", [{"half_life_s": 0}, {"max_consecutive_failures": 0}, {"alpha": 0},
                                    {"disable_s": -1}])
def test_bad_settings_are_refused(store, kwargs):
    with pytest.raises(ValueError, match="bucket selection"):
        BucketSelector(store, **kwargs)
