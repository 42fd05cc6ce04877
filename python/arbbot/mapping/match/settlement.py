"""Settlement check: do two look-alike listings pay on the same event? Structured fields only.

`check(a, b)` rejects a pair whose YES sides settle on different facts — a different date or
deadline, a deadline against a point in time ("by Dec 31" vs "on Dec 31"), another time of day,
threshold (sign included) or unit, comparator ("X or above" vs "above X"), outcome set (top 5
vs top 10, exact score vs spread, a narrowing word such as "intraday" or "nominee" on one side
only), a question negated on one side only, resolution source or weather station, what a
postponed or cancelled event resolves to, what a tie or draw resolves to (for an `inverse` pair:
the opposite outcome), a different subject, a game on another day (or with no day at all to
tell it from the teams' other games), another deadline for a question that names no date of its
own — and flips the relation to `inverse` when a matchup's YES is on the other team. A field
stated on one side only, or a date named to the day on one side and only to the month or year
on the other, is not a rejection but a `caution`: the rules may still agree, and the scorer
keeps a cautioned pair from auto-approval.

Deadlines (`_deadlines`): a question without a date in its title ("Will the US government shut
down?") is asked until its deadline: the one its rules state (`Features.deadline`), else its
close date. Two such deadlines more than DEADLINE_SLACK_DAYS apart are different questions (YES
on one and NO on the other in the gap): rejected when both sides' rules state them, a caution
when a side has only its close time (venues close some markets days after the question's
deadline).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arbbot.mapping.match.features import DateRef, Features

CLOSE_DAYS_CAUTION = 7    # close dates further apart than this (days) are a caution (dated questions)
# Deadlines of an undated question that are this many days apart (or fewer) are the same deadline:
# close times are UTC dates while the venues' deadlines are US local days (23:59 ET on D is 03:59 or
# 04:59 UTC on D + 1), and "before D" is read as D - 1, so one instant can read as two adjacent days.
# Two days apart is a whole day in which one leg is YES and the other NO.
DEADLINE_SLACK_DAYS = 1
_TIE_INVERSE = {"yes": "no", "no": "yes"}   # an inverse pair hedges a tie when YES on one is NO on the other
GAME_DAYS_APART = 3       # a matchup whose close dates are further apart (days) is another game
_TIMING = {"by": "by the date (any time until)", "on": "on the date"}


@dataclass
class Verdict:
    relation: str = "same"                         # same | inverse (meaningful when not rejected)
    rejects: list[str] = field(default_factory=list)
    cautions: list[str] = field(default_factory=list)
    agreements: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejects


def check(a: Features, b: Features) -> Verdict:
    v = Verdict()
    _dates(a, b, v)
    if a.timing and b.timing and a.timing != b.timing:
        v.rejects.append(f"timing differs: {_TIMING[a.timing]} vs {_TIMING[b.timing]}")
    _times(a, b, v)
    _values(a, b, v)
    if a.negated != b.negated:
        v.rejects.append("question negated on one side only")
    if a.comparator and b.comparator and a.comparator != b.comparator:
        v.rejects.append(f"comparator differs: {a.comparator} vs {b.comparator}")
    elif a.comparator and b.comparator and a.values:
        v.agreements.append(f"same comparator {a.comparator}")
    elif (a.comparator or b.comparator) and a.values and b.values:
        # "25+ bps" against a bare "25 bps" (in a bucket ladder: exactly 25): maybe a subset
        v.cautions.append("comparator stated on one side only")
    if a.kind and b.kind and a.kind != b.kind:
        v.rejects.append(f"outcome kind differs: {a.kind} vs {b.kind}")
    if a.top_n is not None and b.top_n is not None and a.top_n != b.top_n:
        v.rejects.append(f"outcome set differs: top {a.top_n} vs top {b.top_n}")
    _sources(a, b, v)
    _orientation(a, b, v)
    if a.actions and b.actions and a.actions != b.actions:
        v.rejects.append(f"different outcome: {', '.join(sorted(a.actions))} vs {', '.join(sorted(b.actions))}")
    elif a.actions and b.actions:
        v.agreements.append(f"same outcome {', '.join(sorted(a.actions))}")
    _void(a, b, v)
    _tie(a, b, v)
    if a.qualifiers != b.qualifiers:
        v.rejects.append(f"outcome qualifier on one side: {', '.join(sorted(a.qualifiers ^ b.qualifiers))}")
    only_a, only_b = _own_names(a, b), _own_names(b, a)
    if only_a and only_b and not (a.subject and b.subject):
        v.rejects.append(f"different subject: {', '.join(sorted(only_a))} vs {', '.join(sorted(only_b))}")
    if a.subject and b.subject:
        _game_days(a, b, v)
    elif not a.dates and not b.dates:
        _deadlines(a, b, v)
    elif a.close_day and b.close_day and abs((a.close_day - b.close_day).days) > CLOSE_DAYS_CAUTION:
        v.cautions.append(f"close dates {a.close_day} vs {b.close_day}")
    return v


def _deadlines(a: Features, b: Features, v: Verdict) -> None:
    """Neither question names a date: each is asked until its deadline, the one its rules state
    or else its close date (see the module docstring)."""
    da, db = a.deadline or a.close_day, b.deadline or b.close_day
    if not da or not db or abs((da - db).days) <= DEADLINE_SLACK_DAYS:
        return
    text = (f"deadline differs: {da} ({'rules' if a.deadline else 'close'}) vs "
            f"{db} ({'rules' if b.deadline else 'close'})")
    if a.deadline and b.deadline:
        v.rejects.append(text)
    else:
        v.cautions.append(text)


def _game_days(a: Features, b: Features, v: Verdict) -> None:
    """Two matchups of the same teams are one game only on the same day (the same two teams
    meet again). The day as the venues state it decides (on one side only: cautioned); else
    their close dates; with nothing to compare the pair is rejected."""
    if a.game_day and b.game_day:
        if abs((a.game_day - b.game_day).days) > 1:
            v.rejects.append(f"different game day: {a.game_day} vs {b.game_day}")
        else:
            v.agreements.append(f"same game day {a.game_day}")
    elif a.game_day or b.game_day:         # (a close date is no game day: venues close days to weeks after)
        v.cautions.append("game day stated on one side only")
    elif a.close_day and b.close_day:
        if abs((a.close_day - b.close_day).days) > GAME_DAYS_APART:
            v.rejects.append(f"different game day: closes {a.close_day} vs {b.close_day}")
        else:
            v.agreements.append(f"close dates agree ({a.close_day}, {b.close_day})")
    else:
        v.rejects.append("game day unknown: no date tells this game from the teams' others")


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _own_names(a: Features, b: Features) -> set[str]:
    """a's names that b's question never mentions (plurals folded: "Republicans" ~ "Republican")."""
    words = {_stem(t) for t in b.tokens} | {_stem(w) for n in b.names for w in n.split()}
    return {n for n in a.names if not all(_stem(w) in words for w in n.split())}


def _compatible(x: DateRef, y: DateRef) -> bool:
    """Equal where both name the part: (2026, 12, None) fits (2026, 12, 16)."""
    return all(p is None or q is None or p == q for p, q in zip(x, y))


def _fmt(d: DateRef) -> str:
    y, m, dd = d
    if y and m and dd:
        return date(y, m, dd).isoformat()
    return "-".join(str(p) if p is not None else "?" for p in d)


def _grain(d: DateRef) -> int:
    """How finely a date is named: 0 a year, 1 a month, 2 a day."""
    return 2 if d[2] is not None else (1 if d[1] is not None else 0)


def _dates(a: Features, b: Features, v: Verdict) -> None:
    if not a.dates or not b.dates:
        if a.dates or b.dates:
            v.cautions.append("date stated on one side only")
        return
    if all(any(_compatible(x, y) for y in b.dates) for x in a.dates) and \
            all(any(_compatible(y, x) for x in a.dates) for y in b.dates):
        if {_grain(d) for d in a.dates} == {_grain(d) for d in b.dates}:
            v.agreements.append(f"same date {', '.join(_fmt(d) for d in a.dates)}")
        else:     # "in December 2026" (any day of it?) against "on December 16, 2026"
            v.cautions.append(f"date named to another precision: {', '.join(_fmt(d) for d in a.dates)} vs "
                              f"{', '.join(_fmt(d) for d in b.dates)}")
    else:
        v.rejects.append(f"date differs: {', '.join(_fmt(d) for d in a.dates)} vs "
                         f"{', '.join(_fmt(d) for d in b.dates)}")


def _times(a: Features, b: Features, v: Verdict) -> None:
    """Times of day: the same clock times, and the same zone where both state one."""
    if not a.times or not b.times:
        if a.times or b.times:
            v.cautions.append("time of day stated on one side only")
        return
    zones_a, zones_b = {z for _, z in a.times if z}, {z for _, z in b.times if z}
    if {c for c, _ in a.times} != {c for c, _ in b.times} or (zones_a and zones_b and zones_a != zones_b):
        v.rejects.append(f"time of day differs: {_clock(a.times)} vs {_clock(b.times)}")
    else:
        v.agreements.append(f"same time of day {_clock(a.times)}")


def _clock(times: frozenset[tuple[str, str]]) -> str:
    return ", ".join(f"{c} {z}".strip() for c, z in sorted(times))


def _void(a: Features, b: Features, v: Verdict) -> None:
    """What a postponed or cancelled event resolves to, as each side's rules say."""
    if a.void and b.void:
        if a.void != b.void:
            v.rejects.append(f"void rule differs: {', '.join(sorted(a.void))} vs {', '.join(sorted(b.void))}")
        else:
            v.agreements.append(f"same void rule {', '.join(sorted(a.void))}")
    elif a.void or b.void:
        v.cautions.append(f"void rule stated on one side only: {', '.join(sorted(a.void or b.void))}")


def _tie(a: Features, b: Features, v: Verdict) -> None:
    """What a tie or draw resolves to, as each side's rules say: the same outcome for a `same`
    pair; for an `inverse` pair the opposite one (No on one side must be Yes on the other; 50-50
    and a refund are their own opposites), else a tie leaves one leg unpaid."""
    if a.tie and b.tie:
        want = b.tie if v.relation == "same" else frozenset(_TIE_INVERSE.get(x, x) for x in b.tie)
        rules = f"{', '.join(sorted(a.tie))} vs {', '.join(sorted(b.tie))}"
        if a.tie != want:
            v.rejects.append(f"tie rule differs: {rules}" + (" (inverse pair)" if v.relation == "inverse" else ""))
        else:
            v.agreements.append(f"tie rules hedge: {rules}")
    elif a.tie or b.tie:
        v.cautions.append(f"tie rule stated on one side only: {', '.join(sorted(a.tie or b.tie))}")


def _num(x: Decimal) -> str:
    return format(x.normalize(), "f")


def _values(a: Features, b: Features, v: Verdict) -> None:
    if not a.values or not b.values:
        if a.values or b.values:
            v.cautions.append("threshold stated on one side only")
        return
    av, bv = {x for _, x in a.values}, {x for _, x in b.values}
    if av != bv:
        v.rejects.append(f"threshold differs: {', '.join(map(_num, sorted(av)))} vs {', '.join(map(_num, sorted(bv)))}")
        return
    units_a = {x: u for u, x in a.values if u}
    units_b = {x: u for u, x in b.values if u}
    clash = [x for x in units_a if x in units_b and units_a[x] != units_b[x]]
    if clash:
        x = clash[0]
        v.rejects.append(f"unit differs: {_num(x)}{units_a[x]} vs {_num(x)}{units_b[x]}")
    else:
        v.agreements.append(f"same threshold {', '.join(map(_num, sorted(av)))}")


def _sources(a: Features, b: Features, v: Verdict) -> None:
    sa, sb = a.stations or a.sources, b.stations or b.sources
    if sa and sb:
        if sa & sb:
            v.agreements.append(f"same source {', '.join(sorted(sa & sb))}")
        else:
            v.rejects.append(f"resolution source differs: {', '.join(sorted(sa))} vs {', '.join(sorted(sb))}")
    elif sa or sb:
        v.cautions.append("resolution source stated on one side only")


def _orientation(a: Features, b: Features, v: Verdict) -> None:
    if not a.subject or not b.subject:
        if a.subject or b.subject:
            v.cautions.append("matchup on one side only")
        return
    if a.subject == b.subject and a.opponent == b.opponent:
        v.agreements.append(f"YES on {a.subject.upper()} on both")
    elif a.subject == b.opponent and a.opponent == b.subject:
        v.relation = "inverse"
        v.agreements.append(f"YES on {a.subject.upper()} vs on {b.subject.upper()}: inverse")
    else:
        v.rejects.append(f"different matchup: {a.subject} vs {a.opponent} / {b.subject} vs {b.opponent}")
