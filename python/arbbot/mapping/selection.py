"""Bucket selection by Thompson sampling: which bucket groups deserve attention and capital.

A *bucket group* is one bucket relation, named by its member markets (`venue:id`, sorted, joined
by `|`). Every execution of a bucket-lane opportunity is one trial of its group: a success when
the execution completed with a positive locked-in profit, else a failure (aborted, unwound,
naked, or complete at a loss). Per group a Beta posterior on "produces a profitable complete
execution":

    Beta(alpha + s, beta + f)

with `s`, `f` the success and failure counts discounted over time: both halve every
`half_life_s` seconds (so a group's record from last month weighs little against today's). A
group with `max_consecutive_failures` failures in a row is disabled for `disable_s` seconds; it
then gets one trial (a success clears the streak, a failure disables it again).

`priority(groups)` orders groups by one Thompson draw each (seeded RNG: reproducible), the order
the scale issue's subscription tiers consume; `allowed(group)` is what the trader asks before
trading a bucket opportunity. State lives in the order store's `bucket_groups` table (schema v4),
so a restart resumes it. Times are Unix seconds.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

DEFAULT_ALPHA = 1.0         # Beta(1, 1): no opinion before the first trial
DEFAULT_BETA = 1.0


@dataclass(frozen=True, slots=True)
class GroupStats:
    """One group's discounted record at `updated_s` (counts decay from then on)."""
    successes: float = 0.0
    failures: float = 0.0
    consecutive_failures: int = 0
    disabled_until_s: float = 0.0
    updated_s: float = 0.0

    def decayed(self, now_s: float, half_life_s: float) -> "GroupStats":
        """The counts as of `now_s` (× 0.5 per `half_life_s` elapsed; never grows)."""
        factor = 0.5 ** (max(0.0, now_s - self.updated_s) / half_life_s)
        return GroupStats(self.successes * factor, self.failures * factor, self.consecutive_failures,
                          self.disabled_until_s, max(now_s, self.updated_s))


def group_key(members: list[str]) -> str:
    """The group name of a bucket relation: its member markets sorted, joined by `|`."""
    return "|".join(sorted(members))


class BucketSelector:
    """Thompson sampling over bucket groups, persisted in `store` (an OrderStore)."""

    def __init__(self, store, *, half_life_s: float = 7 * 86_400.0, max_consecutive_failures: int = 5,
                 disable_s: float = 86_400.0, alpha: float = DEFAULT_ALPHA, beta: float = DEFAULT_BETA,
                 seed: int = 0) -> None:
        if half_life_s <= 0 or disable_s < 0 or max_consecutive_failures < 1 or alpha <= 0 or beta <= 0:
            raise ValueError("bucket selection: half_life_s > 0, disable_s ≥ 0, max_consecutive_failures ≥ 1, "
                             "alpha > 0 and beta > 0 are required")
        self.store = store
        self.half_life_s = half_life_s
        self.max_consecutive_failures = max_consecutive_failures
        self.disable_s = disable_s
        self.alpha, self.beta = alpha, beta
        self.rng = random.Random(seed)
        self.groups: dict[str, GroupStats] = {
            key: GroupStats(s, f, streak, disabled_ms / 1000, updated_ms / 1000)
            for key, s, f, streak, disabled_ms, updated_ms in store.bucket_groups()}

    def stats(self, group: str, now_s: float) -> GroupStats:
        return self.groups.get(group, GroupStats(updated_s=now_s)).decayed(now_s, self.half_life_s)

    def mean(self, group: str, now_s: float) -> float:
        """The posterior mean (alpha + s) / (alpha + s + beta + f)."""
        st = self.stats(group, now_s)
        return (self.alpha + st.successes) / (self.alpha + st.successes + self.beta + st.failures)

    def allowed(self, group: str, now_s: float) -> bool:
        """False while the group is disabled after a run of failures."""
        return now_s >= self.groups.get(group, GroupStats()).disabled_until_s

    def record(self, group: str, success: bool, now_s: float) -> GroupStats:
        """One trial's outcome; persisted at once."""
        st = self.stats(group, now_s)
        streak = 0 if success else st.consecutive_failures + 1
        disabled = now_s + self.disable_s if streak >= self.max_consecutive_failures else 0.0
        new = GroupStats(st.successes + (1.0 if success else 0.0), st.failures + (0.0 if success else 1.0),
                         streak, disabled, now_s)
        self.groups[group] = new
        self.store.save_bucket_group(group, new.successes, new.failures, new.consecutive_failures,
                                     int(new.disabled_until_s * 1000), int(now_s * 1000))
        return new

    def revise(self, group: str, was_success: bool, success: bool, now_s: float) -> GroupStats:
        """A trial recorded as `was_success` turned out `success` (its execution was re-hedged after
        a venue reverted fills): its count moves to the other outcome (never below 0), and the
        failure streak and disabling follow as for a new trial. Persisted at once."""
        st = self.stats(group, now_s)
        if was_success == success:
            return st
        self.groups[group] = GroupStats(max(0.0, st.successes - (1.0 if was_success else 0.0)),
                                        max(0.0, st.failures - (0.0 if was_success else 1.0)),
                                        st.consecutive_failures, st.disabled_until_s, st.updated_s)
        return self.record(group, success, now_s)

    def priority(self, groups: list[str], now_s: float) -> list[str]:
        """`groups` by one Thompson draw each, highest first (disabled groups last, in order)."""
        draws = []
        for g in groups:
            st = self.stats(g, now_s)
            draw = self.rng.betavariate(self.alpha + st.successes, self.beta + st.failures)
            draws.append((not self.allowed(g, now_s), -draw, g))
        return [g for _, _, g in sorted(draws)]

    def disabled(self, now_s: float) -> list[str]:
        return sorted(g for g in self.groups if not self.allowed(g, now_s))
