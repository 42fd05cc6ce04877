"""Structural rules: relations between markets derived from venue metadata alone.

`derive_relations(listings)` returns snapshot relation objects (spec/SNAPSHOT.md; markets named
`venue:id`, Polymarket by conditionId) in a deterministic order, each with `confidence` (decimal
string) and `evidence` (`{"rule", "event", "detail"}`: which rule fired on which venue fields).
`relations_document(listings)` wraps them as `{"format": "arbbot.relations/1", "relations": [...]}`.

Rules, per event (a market's event is its venue's event id):
- **bucket, Kalshi** — an event with `mutually_exclusive: true` and ≥ 2 open markets. Kalshi
  publishes no exhaustiveness, so these buckets are never exhaustive. Confidence 1 (the venue
  states exclusivity).
- **bucket / complement, Polymarket** — a neg-risk event's open markets (exactly one YES among
  the event's outcomes). Exhaustive only when the event is not augmented, every market of the
  event was read nested in its event body (so none is missing) and all are open; an exhaustive
  pair is written as `complement`. "Open" means tradeable as listed: not closed or archived,
  and taking orders (`acceptingOrders`, `enableOrderBook` not false). In an augmented event
  (`negRiskAugmented`, or a market flagged `negRiskOther`) the "Other" market (`negRiskOther`,
  or so named) and the unnamed placeholders ("Person A", "Candidate C", …) are left out: the
  venue's own guidance is to trade named outcomes only, since "Other" changes meaning when a
  placeholder is named; the rest is a non-exhaustive bucket. Confidence 1.
- **implies / complement from strikes** — a market's YES set as an interval of the event's
  underlying value: Kalshi `strike_type` greater (> floor_strike), greater_or_equal (≥),
  less (< cap_strike), less_or_equal (≤), between (floor ≤ v ≤ cap). In one event, A ⊂ B gives
  `implies(child=A, parent=B)` for every such pair (not only neighbours: an arbitrage between
  non-adjacent strikes need not show between adjacent ones); two disjoint intervals whose union
  is the whole line give `complement`. Confidence 0.99 (both settle on one expiration value;
  the 1% is a void or revised value).
- **implies from parsed lines** — where a venue gives no structured strike (Polymarket, Kalshi
  `custom`/absent, ForecastEx titles), the title (else the subtitle) is parsed for one threshold
  with a direction ("above $100,000", "4.125% or more", "below 3%", "↑ 120k"); a Polymarket
  totals market (`line`, outcomes "Over"/"Under") is the line itself. A negation right before
  the comparator flips it ("no more than 3", "not above 4%", "won't exceed 3%" are lines below);
  any other negation in the text leaves it unparsed. Markets of one
  non-exclusive event whose texts are the same apart from the number form a ladder: a higher
  "above" line implies a lower one, a lower "below" line a higher one. Equal lines are never
  related (inclusivity is unknown in free text). ForecastEx lines must agree with the contract's
  strike. Confidence 0.9.
Closed markets take part in no relation. Trees (a parent partitioned by exclusive children)
need exactly covering intervals, which no venue field gives on its own: none are derived.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from itertools import combinations

from arbbot.mapping.listings import Listing
from arbbot.mapping.rules_file import FORMAT
from arbbot.venues.polymarket.providers import neg_risk_partition

CONF_STATED = "1"          # the venue states the structure (mutually_exclusive, negRisk)
CONF_STRIKE = "0.99"       # structured strikes of one event
CONF_PARSED = "0.9"        # thresholds parsed from titles

_KIND_ORDER = {"bucket": 0, "complement": 1, "implies": 2}
_PLACEHOLDER = re.compile(r"^(other|others|person|player|candidate|team|option|outcome|country|company|"
                          r"individual|party)(\s+[a-z0-9]{1,2})?$", re.IGNORECASE)


def relations_document(listings: list[Listing]) -> dict:
    return {"format": FORMAT, "relations": derive_relations(listings)}


def derive_relations(listings: list[Listing]) -> list[dict]:
    """Every rule's relations over `listings` (any venues), sorted: buckets, complements,
    implications, each by the names of their markets."""
    events: dict[tuple[str, str], list[Listing]] = {}      # every listed market of an event, open or not
    for listing in listings:
        if listing.event_id:
            events.setdefault((listing.venue, listing.event_id), []).append(listing)
    out: list[dict] = []
    for (venue, event_id), listed in events.items():
        members = sorted((m for m in listed if m.active), key=lambda m: m.market_id)
        if venue == "kalshi":
            out += _kalshi_bucket(event_id, members)
        elif venue == "polymarket":
            out += _polymarket_bucket(event_id, members, listed)
        out += _strike_relations(event_id, members)
        if not any(m.mutually_exclusive for m in members):
            out += _line_ladders(event_id, members)
    return sorted(out, key=_order)      # each rule relates a set of markets once: no ties


def _order(r: dict) -> tuple:
    names = r.get("members") or [r.get("child") or r["a"], r.get("parent") or r["b"]]
    return (_KIND_ORDER[r["kind"]], names)


def _evidence(rule: str, event_id: str, detail: str) -> dict:
    return {"rule": rule, "event": event_id, "detail": detail}


def _kalshi_bucket(event_id: str, members: list[Listing]) -> list[dict]:
    if len(members) < 2 or not all(m.mutually_exclusive for m in members):
        return []
    return [{"kind": "bucket", "members": [m.name for m in members], "exhaustive": False,
             "confidence": CONF_STATED,
             "evidence": _evidence("kalshi-mutually-exclusive", event_id,
                                   f"event mutually_exclusive=true, {len(members)} open markets; "
                                   "Kalshi does not state exhaustiveness")}]


def _is_placeholder(m: Listing) -> bool:
    """The augmented event's "Other" (the venue's `negRiskOther`, or so named) or an unnamed
    placeholder outcome."""
    return m.neg_risk_other or bool(_PLACEHOLDER.match((m.subtitle or m.title).strip()))


def _polymarket_bucket(event_id: str, members: list[Listing], listed: list[Listing]) -> list[dict]:
    """`members`: the event's open markets; `listed`: all of its markets that were read. One bucket
    per neg-risk group (`negRiskMarketID`) of the markets that are neg-risk themselves: an event
    may hold two races' groups, or a market beside its group ("both teams to score" beside a
    match's outcomes); taken as one exhaustive bucket, its all-NO set "paid" one more than it can."""
    augmented = any(m.neg_risk_augmented for m in listed)
    return [r for group, whole in neg_risk_partition(listed, lambda m: m.neg_risk, lambda m: m.neg_risk_market_id)
            for r in _neg_risk_group(event_id, [m for m in members if m in group], group, whole, augmented)]


def _neg_risk_group(event_id: str, members: list[Listing], listed: list[Listing], whole: bool,
                    augmented: bool) -> list[dict]:
    """One neg-risk group's bucket: `members` its open markets, `listed` all of its markets read,
    `whole`: the group is known whole (`neg_risk_partition`)."""
    dropped = [m for m in members if augmented and _is_placeholder(m)]
    kept = [m for m in members if m not in dropped]
    if len(kept) < 2:
        return []
    complete = whole and all(m.in_event_body and m.active for m in listed) and len(kept) == len(listed)
    exhaustive = complete and not augmented
    detail = f"negRisk=true, {len(kept)} open markets"
    if augmented:
        detail += ", negRiskAugmented=true (implicit Other: not exhaustive)"
        if dropped:
            detail += "; left out: " + ", ".join(m.subtitle or m.title for m in dropped)
    elif not complete:
        detail += "; not every market of the event was read open in its event body: not exhaustive"
    else:
        detail += ", event listed whole, not augmented: exhaustive"
    evidence = _evidence("polymarket-neg-risk", event_id, detail)
    if exhaustive and len(kept) == 2:
        return [{"kind": "complement", "a": kept[0].name, "b": kept[1].name, "confidence": CONF_STATED,
                 "evidence": evidence}]
    return [{"kind": "bucket", "members": [m.name for m in kept], "exhaustive": exhaustive,
             "confidence": CONF_STATED, "evidence": evidence}]


# ---- strikes as intervals -------------------------------------------------------------------

@dataclass(frozen=True)
class _Interval:
    """The YES set of a market on the real line: lo/hi None = unbounded; *_in = bound included."""
    lo: Decimal | None
    lo_in: bool
    hi: Decimal | None
    hi_in: bool

    def within(self, o: "_Interval") -> bool:
        """self ⊆ o."""
        if o.lo is not None:
            if self.lo is None or self.lo < o.lo or (self.lo == o.lo and self.lo_in and not o.lo_in):
                return False
        if o.hi is not None:
            if self.hi is None or self.hi > o.hi or (self.hi == o.hi and self.hi_in and not o.hi_in):
                return False
        return True

    def complements(self, o: "_Interval") -> bool:
        """self and o are disjoint and cover the line: one is (−∞, x) or (−∞, x], the other the rest."""
        for low, high in ((self, o), (o, self)):
            if low.lo is None and low.hi is not None and high.hi is None and high.lo == low.hi \
                    and low.hi_in != high.lo_in:
                return True
        return False

    def describe(self) -> str:
        lo = "(-inf" if self.lo is None else ("[" if self.lo_in else "(") + str(self.lo)
        hi = "+inf)" if self.hi is None else str(self.hi) + ("]" if self.hi_in else ")")
        return f"{lo}, {hi}"


def strike_interval(m: Listing) -> _Interval | None:
    """A Kalshi market's YES set from `strike_type`, `floor_strike`, `cap_strike`; None when
    the fields do not define one (functional, custom, structured, or a bound missing)."""
    t, f, c = m.strike_type, m.floor_strike, m.cap_strike
    if m.venue != "kalshi":
        return None
    if t in ("greater", "greater_or_equal") and f is not None:
        return _Interval(f, t == "greater_or_equal", None, False)
    if t in ("less", "less_or_equal") and c is not None:
        return _Interval(None, False, c, t == "less_or_equal")
    if t == "between" and f is not None and c is not None and f <= c:
        return _Interval(f, True, c, True)
    return None


def _strike_relations(event_id: str, members: list[Listing]) -> list[dict]:
    spans = [(m, i) for m in members if (i := strike_interval(m)) is not None]
    out = []
    for (a, ia), (b, ib) in combinations(spans, 2):
        fields = f"{a.market_id} {a.strike_type} {ia.describe()}; {b.market_id} {b.strike_type} {ib.describe()}"
        if ia.complements(ib):
            out.append({"kind": "complement", "a": a.name, "b": b.name, "confidence": CONF_STRIKE,
                        "evidence": _evidence("kalshi-strikes", event_id, f"disjoint and covering: {fields}")})
        elif ia.within(ib) != ib.within(ia):
            child, parent = (a, b) if ia.within(ib) else (b, a)
            out.append({"kind": "implies", "child": child.name, "parent": parent.name, "confidence": CONF_STRIKE,
                        "evidence": _evidence("kalshi-strikes", event_id,
                                              f"{child.market_id} YES set within {parent.market_id}'s: {fields}")})
    return out


# ---- thresholds parsed from titles ------------------------------------------------------------

_NUMBER = (r"\$?\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\d.,]\d)"
           r"(?:\s?(?P<mult>k|m|bn|b|million|billion|thousand)(?![a-z]))?")
_UP_WORDS = r"above|over|more than|greater than|higher than|exceeds?|exceeding|at least|↑|>=?|≥"
_DOWN_WORDS = r"below|under|less than|fewer than|lower than|at most|↓|<=?|≤"
_UP_SUFFIX = r"or more|or higher|or above|or greater|\+"
_DOWN_SUFFIX = r"or less|or lower|or below|or fewer"
_NEGATION = r"no|not|never|\w+n['’]t"          # "no more than 3" is at most 3; "won't exceed 3%" at most 3%
# "above 4.125%", "not exceed 3%", "↑ 120k" / "4.125% or more", "100k+" (a unit may sit between number and suffix)
_PREFIXED = re.compile(rf"(?<!\w)(?:(?P<neg>{_NEGATION})\s+)?(?P<word>{_UP_WORDS}|{_DOWN_WORDS})\s*{_NUMBER}",
                       re.IGNORECASE)
_NEGATED = re.compile(rf"(?<!\w)(?:{_NEGATION})(?!\w)", re.IGNORECASE)
_SUFFIXED = re.compile(rf"(?<![\w.,]){_NUMBER}\s*(?:%|°[FC]?|bps|bp)?\s*(?P<word>{_UP_SUFFIX}|{_DOWN_SUFFIX})(?!\w)",
                       re.IGNORECASE)
_MULT = {"k": 1000, "thousand": 1000, "m": 10**6, "million": 10**6, "b": 10**9, "bn": 10**9, "billion": 10**9}


@dataclass(frozen=True)
class Line:
    up: bool            # True: YES when the value is above the line; False: below it
    value: Decimal      # the line, multipliers applied ("120k" → 120000)
    template: str       # the title with the number replaced by "#"


def parse_line(title: str) -> Line | None:
    """The one directional threshold in `title`, or None (none, more than one, or a negation
    anywhere but right before the comparator: "will not be above 3%" is not read). A minus sign
    right before the number is its sign ("-10°F or below": −10; its template keeps the sign)."""
    found = list(_PREFIXED.finditer(title)) + list(_SUFFIXED.finditer(title))
    if len(found) != 1:
        return None
    m = found[0]
    negated = m.re is _PREFIXED and m.group("neg") is not None
    if len(_NEGATED.findall(title)) != int(negated):  # a negation the comparator does not own
        return None
    word = m.group("word").lower()
    up = bool(re.fullmatch(f"{_UP_WORDS}|{_UP_SUFFIX}", word)) != negated
    value = Decimal(m.group("num").replace(",", ""))
    start, end = m.span("num")
    before = title[:start]
    before = before[:-1] if before.endswith("$") else before      # "$-5" as "-$5"
    if before.endswith(("-", "−")):
        ahead = before[:-1][-1:]
        if ahead.isalnum():
            return None                   # "3-5% or more": a range or a hyphen, not a sign
        if ahead in ("", " ", "(", "$"):
            value = -value                # "-5°F or below" (read as 5, its ladder's implications reversed)
    # a dash apart from the number ("July - 25+ bps cut") separates, it signs nothing
    if m.group("mult"):
        value *= _MULT[m.group("mult").lower()]
        end = m.span("mult")[1]
    return Line(up, value, f"{title[:start]}#{title[end:]}")


def _line_of(m: Listing) -> Line | None:
    if strike_interval(m) is not None:
        return None                                   # structured strikes decide (above)
    line = _totals_line(m) or parse_line(m.title) or parse_line(m.subtitle)
    if line is not None and m.venue == "forecastex" and m.floor_strike is not None \
            and line.value != m.floor_strike:
        return None                                   # the title does not state the contract's strike
    return line


def _totals_line(m: Listing) -> Line | None:
    """A Polymarket totals market: `line` set and the first (YES) outcome "Over" or "Under";
    the template is the question with the line's text replaced (absent from it: no line)."""
    if m.line is None or len(m.outcomes) != 2 or m.outcomes[0].lower() not in ("over", "under"):
        return None
    text = _num(m.line)
    if m.title.count(text) != 1:
        return None
    return Line(m.outcomes[0].lower() == "over", m.line, f"{m.outcomes[0]}|{m.title.replace(text, '#')}")


def _line_ladders(event_id: str, members: list[Listing]) -> list[dict]:
    groups: dict[tuple[bool, str], list[tuple[Listing, Line]]] = {}
    for m in members:
        line = _line_of(m)
        if line is not None:
            groups.setdefault((line.up, line.template), []).append((m, line))
    out = []
    for (up, template), rungs in groups.items():
        for (a, la), (b, lb) in combinations(rungs, 2):
            if la.value == lb.value:
                continue
            # "above": the higher line implies the lower; "below": the lower implies the higher
            (child, lc), (parent, lp) = ((a, la), (b, lb)) if (la.value > lb.value) == up else ((b, lb), (a, la))
            out.append({"kind": "implies", "child": child.name, "parent": parent.name, "confidence": CONF_PARSED,
                        "evidence": _evidence(f"{child.venue}-title-lines", event_id,
                                              f"'{template}' {'above' if up else 'below'} {_num(lc.value)} "
                                              f"implies {'above' if up else 'below'} {_num(lp.value)}")})
    return out


def _num(value: Decimal) -> str:
    """A decimal as plain digits, no exponent or trailing zeros ("1500000000", "3.875")."""
    return format(value.normalize(), "f")
