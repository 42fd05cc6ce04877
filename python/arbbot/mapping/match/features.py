"""Structured settlement fields read from one `Listing`: what its YES pays on.

`Features.of(listing)` extracts, from the question (title + outcome subtitle), the venue's
structured strike fields and the rules text:
- `dates`: the dates the question names, each `(year, month, day)` with None for an unnamed
  part; "before D" is stored as the day before D (so "before May 1" equals "by April 30"),
  "end of 2026" as December 31; impossible dates ("February 30") are dropped;
- `timing`: how YES ties to those dates: "by" (any time until: "by", "before", "until"), "on"
  (at that point: "on", "at", "as of"), "" when the text does not say;
- `times`: times of day the question names, `("17:00", "ET")` (zone "" when unstated);
- `values`: the thresholds, as `(unit, Decimal)` with units made canonical ("25 bp" →
  ("%", 0.25), "$100k" → ("$", 100000)), signed ("above -1%" is -1); numbers that are dates or
  times of day are not thresholds;
- `comparator`: gt, ge, lt, le, between or "" (the text's or Kalshi's `strike_type`);
- `kind`: winner, spread, total, exact_score, top or "" — with `top_n` for "top N";
- `sources`: named resolution sources or weather stations (canonical ids);
- `subject` / `opponent`: for a matchup, the side YES is on and the other side (team codes);
- `names`: proper names in the question (teams as codes) and the asset a price question is
  about, to tell ALV's market from BRK's and gold's from silver's;
- `actions`: a rate decision's direction (cut, hike, hold);
- `qualifiers`: words that narrow the outcome (intraday, worldwide, final, nominee, …);
- `negated`: the question is negated ("Will the Fed not cut …"; "no more than" is a comparator);
- `void`: what the rules say a postponed or cancelled event resolves to (no, yes, 50-50, void,
  price);
- `tie`: what the rules say a tie or draw resolves to (same names as `void`);
- `deadline`: the deadline the rules state (`_rules_deadline`): the latest full date after "by",
  "before", "until", "no later than", "on or before" (a time of day may stand between: "by 11:59 PM
  ET on Feb 5"), or the close date when they say "before the market closes"; None when unstated.
  For a question without a date of its own this is its deadline (settlement compares it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from arbbot.mapping.listings import Listing
from arbbot.mapping.match.normalize import normalize, tokens
from arbbot.mapping.match.teams import blank_teams, canonical_titles, coded_teams, find_teams, is_team, league_of, team_code

MONTHS = {m: i for i, ms in enumerate(
    ["jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july",
     "aug august", "sep sept september", "oct october", "nov november", "dec december"], start=1)
    for m in ms.split()}
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?" \
         r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_MON = _MONTH.replace("(jan", "(?P<mon>jan", 1)   # the month, captured
_BEFORE = r"(?P<before>before |prior to |until )?"
_DATE_RES = [   # first match wins a span; a day range "December 5-12, 2026" names both ends
    re.compile(_MON + r" (?P<d0>\d{1,2}) ?- ?(?P<d>\d{1,2})(?:,? (?P<y>20\d\d))?\b"),
    re.compile(_BEFORE + r"(?P<y>20\d\d)-(?P<m>\d\d)-(?P<d>\d\d)"),
    re.compile(_BEFORE + _MON + r" (?P<d>\d{1,2})(?:st|nd|rd|th)?(?:,? (?P<y>20\d\d))?\b"),
    re.compile(_BEFORE + r"(?P<d>\d{1,2})(?:st|nd|rd|th)? " + _MON
               + r"(?:,? (?P<y>20\d\d))?\b"),
    re.compile(_BEFORE + _MON + r",? (?P<y>20\d\d)\b"),
    re.compile(r"(?P<before>before |prior to )?(?:(?P<end>end of )|in |by |during )?(?P<y>20\d\d)\b"),
]
ACTIONS = frozenset({"cut", "hike", "hold"})
# lower-case subjects that name what a price question is about (normalised spellings)
ASSETS = frozenset("""bitcoin ethereum solana xrp dogecoin cardano litecoin avalanche gold silver platinum copper oil
crude brent wti gas gasoline wheat corn soybeans""".split())
# words that narrow what YES pays on; one on one side only is a different question
QUALIFIERS = frozenset("""intraday worldwide domestic global international final finals semifinal semifinals nominee
nomination primary runoff electoral popular conference division playoff playoffs mvp core headline yoy mom advance
preliminary revised average high low""".split())
DateRef = tuple[int | None, int | None, int | None]

# canonical resolution sources and weather stations: phrase (normalised text) → id
SOURCES: dict[str, str] = {
    "central park": "KNYC", "knyc": "KNYC", "laguardia": "KLGA", "la guardia": "KLGA", "klga": "KLGA",
    "jfk": "KJFK", "kennedy airport": "KJFK", "newark": "KEWR", "o'hare": "KORD", "ohare": "KORD",
    "midway": "KMDW", "lax": "KLAX", "los angeles international": "KLAX", "downtown los angeles": "KCQT",
    "miami international": "KMIA", "austin bergstrom": "KAUS", "camp mabry": "KATT", "denver international": "KDEN",
    "philadelphia international": "KPHL",
    "coinbase": "coinbase", "binance": "binance", "kraken": "kraken", "coingecko": "coingecko",
    "coinmarketcap": "coinmarketcap", "cf benchmarks": "cfbenchmarks", "brti": "cfbenchmarks",
    "chainlink": "chainlink", "pyth": "pyth",
    "bureau of labor statistics": "bls", "bls": "bls", "bureau of economic analysis": "bea",
    "cme fedwatch": "cme", "associated press": "ap", "decision desk": "ddhq", "fox news": "foxnews",
    "nws climatological report": "nws", "national weather service": "nws", "noaa": "nws",
}
_SOURCE_RE = re.compile(r"(?<![\w])(" + "|".join(re.escape(s) for s in sorted(SOURCES, key=len, reverse=True))
                        + r")(?![\w])")
_STATIONS = {v for v in SOURCES.values() if v.startswith("K")}

_CMP = [   # first match wins: inclusive forms before the strict ones they contain
    ("between", re.compile(r"\bbetween\b|\d\s?(?:-|to)\s?\$?\d")),
    ("ge", re.compile(r"\bor (?:more|above|higher|greater|over)\b|\bat least\b|\d\s?\+|≥"
                      r"|\b(?:no|not) (?:less|fewer) than\b")),
    ("le", re.compile(r"\bor (?:less|below|lower|fewer|under)\b|\bat most\b|≤|\b(?:no|not) more than\b")),
    ("gt", re.compile(r"\b(?:above|over|more than|greater than|higher than|exceeds?|exceeding)\b|>")),
    ("lt", re.compile(r"\b(?:below|under|less than|lower than|fewer than)\b|<")),
]
_STRIKE_TYPE = {"greater": "gt", "greater_or_equal": "ge", "less": "lt", "less_or_equal": "le", "between": "between"}
_KINDS = [
    ("exact_score", re.compile(r"\b(?:exact|correct|final) score\b")),
    ("spread", re.compile(r"\bspread\b|\bby more than\b|\bwin by\b|\bcover\b|\bmargin\b|[+-]\d+\.5\b")),
    ("total", re.compile(r"\btotal\b|\bover/under\b|\bo/u\b|\bcombined\b")),
    ("top", re.compile(r"\btop \d+\b")),
    ("winner", re.compile(r"\bbeat\b|\bwin\b|\bwinner\b|\bvs\b")),
]
# a minus sign counts after a space, "(" or the start, never after a number ("3 - 4", "3-4": a range)
_NUM_RE = re.compile(r"(?P<cur>\$)?\s?(?:(?<![^\s(])(?<!\d\s)(?P<sign>[-−]))?(?P<n>\d+(?:,\d{3})*(?:\.\d+)?)"
                     r"\s?(?P<mult>k|m|b|thousand|million|billion|trillion)?\b"
                     r"\s?\+?\s?(?P<unit>%|bp|°f|°c|°|¢|cents?)?")
_MULT = {"k": 10**3, "thousand": 10**3, "m": 10**6, "million": 10**6, "b": 10**9, "billion": 10**9,
         "trillion": 10**12}
# the words right before a date: a deadline (YES if it happens any time until) or a point in time
_TIMING = re.compile(r"\b(?:(?P<by>by|before|prior to|until|no later than)|(?P<on>on|at|as of))"
                     r" (?:the )?(?:end of )?$")
_ZONES = {"et": "ET", "est": "ET", "edt": "ET", "ct": "CT", "cst": "CT", "cdt": "CT", "mt": "MT", "mst": "MT",
          "mdt": "MT", "pt": "PT", "pst": "PT", "pdt": "PT", "utc": "UTC", "gmt": "UTC"}
_TIME_RE = re.compile(r"(?<![\w:.,$])(?:(?P<h>1[0-2]|0?[1-9])(?::(?P<m>[0-5]\d))? ?(?P<half>[ap])\.?m\b\.?"
                      r"|(?P<h24>[01]?\d|2[0-3]):(?P<m24>[0-5]\d)(?![\d:])|(?P<word>noon|midnight)\b)"
                      r"(?: ?(?P<zone>" + "|".join(_ZONES) + r")\b)?")
# "no more than" and the like are comparators (`_CMP`), not a negated question
_NEGATION = re.compile(r"\b(?:not|never|no)\b(?!\.? ?\d)|n't\b")
_NEGATED_CMP = re.compile(r"\b(?:no|not) (?:more|less|fewer) than\b")
# rules clauses about an event that does not happen as planned, and what YES then pays
_VOID_EVENT = re.compile(r"postpone|cancel|delay|called off|abandon|suspend|reschedul"
                         r"|not (?:be )?(?:held|played|completed)|(?:does|do|did) not (?:take place|occur)")
# rules clauses about a tie or draw ("tie-break", "tied to", "drawn into" are not one)
_TIE_EVENT = re.compile(r"\b(?:ties?|tied|draw)\b(?!-?break)(?! (?:to|for|into)\b)")
# where a tie sentence breaks into clauses: "Yes if A wins, and No if B wins or the game is tied"
_CLAUSE_SPLIT = re.compile(r"\s*[,;:]\s*(?:(?:and|but|otherwise|while|whereas)\s+)?|\s+(?:and|but|otherwise|while|whereas)\s+")
_LEADING_OUTCOME = re.compile(r"^(?:(?:it|this market|the market|market) )?(?:(?:will )?(?:resolve|settle)[sd]? )?"
                              r"(?:to |as )?[\"“']?(yes|no)\b")
# the words before a date in the rules that make it a deadline; a time of day may stand between
# ("by 11:59 pm et on february 5, 2026"); "on or before" is read as "by" first
_DEADLINE_LEAD = re.compile(r"\b(?:by|before|prior to|until|till|no later than)"
                            r"(?: (?:\d{1,2}(?::\d\d)? ?[ap]\.?m\.?|noon|midnight)(?: [a-z]{2,3}\b)?,?(?: on)?)?"
                            r" (?:the )?(?:end of )?$")
# the rules tie the deadline to the listing's own close ("before the market closes")
_CLOSE_DEADLINE = re.compile(r"\b(?:by|before|prior to|until) (?:the )?(?:market closes|market close|market's close"
                             r"|close of (?:the|this) market|market closing)\b")
_VOID_OUTCOMES = [
    ("50-50", re.compile(r"\b50 ?[-/] ?50\b|\bfifty[- ]fifty\b|\$?0?\.50 per share")),
    ("no", re.compile(r"\b(?:resolve|settle)[sd]? (?:to |as )?[\"“']?no\b")),
    ("yes", re.compile(r"\b(?:resolve|settle)[sd]? (?:to |as )?[\"“']?yes\b")),
    ("void", re.compile(r"\brefund|\bvoid(?:ed)?\b|\binvalid\b")),
    ("price", re.compile(r"\blast traded price\b|\bfair (?:market )?(?:price|value)\b")),
]
_MATCHUP = [   # (pattern, whether both sides must be known teams: "A at B" is also ordinary English)
    # "Will Jannik Sinner win the Sinner vs Alcaraz match?": YES on X, one of the two sides
    (re.compile(r"^(?:will )?(?:the )?(?P<x>.+?) win (?:the )?(?P<a>.+?) vs (?:the )?(?P<b>.+?)"
                r"(?: (?:match|game|fight|bout|final|finals|semifinal|semifinals))?(?: on \w.*| in \w.*| - .*)?\??$"), False),
    (re.compile(r"^(?:will )?(?:the )?(?P<a>.+?) (?:beat|win against|win over|to beat) (?:the )?(?P<b>.+?)"
                r"(?: on \w.*| in \w.*| by .*)?\??$"), False),
    (re.compile(r"^(?:will )?(?:the )?(?P<a>.+?) vs (?:the )?(?P<b>.+?)(?: winner)?(?: on \w.*| - .*)?\??$"), False),
    (re.compile(r"^(?:will )?(?:the )?(?P<a>.+?) (?:at|@) (?:the )?(?P<b>.+?)(?: winner)?(?: on \w.*| - .*)?\??$"), True),
]
_MAX_SIDE_WORDS = 4
_NAME_RE = re.compile(r"(?<![\w'])([A-Z][A-Za-z0-9.'&-]*)")
_NOT_NAMES = frozenset(m for m in MONTHS) | frozenset(
    "will the a an yes no fed us who what when which how in on at by before after is are be does do "
    "monday tuesday wednesday thursday friday saturday sunday winner game match total over under "
    "highest lowest high low temperature price close above below market et pm am utc".split())


@dataclass(frozen=True)
class Features:
    name: str                          # venue:id
    venue: str
    text: str                          # title + subtitle, as written
    rules: str
    tokens: frozenset[str]             # content tokens of title + subtitle (normalised)
    dates: tuple[DateRef, ...]
    values: tuple[tuple[str, Decimal], ...]   # sorted (unit, value); unit "" when unstated
    comparator: str
    kind: str
    top_n: int | None
    sources: frozenset[str]
    subject: str                       # matchup side YES is on ("" if not a matchup)
    opponent: str
    names: frozenset[str]
    actions: frozenset[str]            # a rate decision's direction: cut, hike, hold
    qualifiers: frozenset[str]         # words that narrow the outcome (intraday, worldwide, final, nominee…)
    close_day: date | None             # the listing's close date (UTC)
    league: str = "NBA"                # whose team names the question uses (`teams.league_of`; NBA unless stated)
    league_stated: bool = False        # the listing's ids or question name its league
    game_day: date | None = None       # a game's day as the venue states it (`_game_day`); matchups only
    timing: str = ""                   # by | on | "": a deadline or a point in time (`_dates`)
    times: frozenset[tuple[str, str]] = frozenset()   # times of day: ("17:00", "ET"), zone "" when unstated
    negated: bool = False              # the question is negated ("… not cut …")
    void: frozenset[str] = frozenset() # what a postponed / cancelled event resolves to, per the rules
    tie: frozenset[str] = frozenset()  # what a tie / draw resolves to, per the rules
    deadline: date | None = None       # the deadline the rules state (`_rules_deadline`), None when unstated

    @classmethod
    def of(cls, listing: Listing) -> "Features":
        text = listing.title
        if listing.subtitle and listing.subtitle.lower() not in text.lower():
            text = f"{text} {listing.subtitle}"
        text = canonical_titles(text)
        stated = league_of(listing.series, listing.event_id, text)
        league = stated or "NBA"
        close = date.fromisoformat(listing.closes_at[:10]) if listing.closes_at else None
        norm = normalize(text)
        dates, timing, undated = _dates(norm, close)
        times, undated = _times(undated)
        values, comparator = _threshold(listing, undated)
        subject, opponent = _matchup(normalize(canonical_titles(listing.title)), listing, league)   # (the outcome apart)
        kind = next((k for k, rx in _KINDS if rx.search(norm)), "winner" if subject else "")
        top = re.search(r"\btop (\d+)\b", norm)
        if top:   # "top 5" is the outcome set, not a threshold
            values = tuple(v for v in values if v != ("", Decimal(top.group(1))))
        sources = frozenset(SOURCES[m] for m in _SOURCE_RE.findall(
            normalize(" ".join((text, listing.rules, listing.resolution_source)))))
        words = frozenset(tokens(text))
        return cls(listing.name, listing.venue, text, listing.rules, words, dates, values, comparator, kind,
                   int(top.group(1)) if top else None, sources, subject, opponent,
                   _names(text, listing.title, league) | (words & ASSETS), words & ACTIONS, words & QUALIFIERS,
                   close, league, stated is not None, _game_day(listing, dates) if subject else None,
                   timing=timing, times=times, negated=bool(_NEGATION.search(_NEGATED_CMP.sub(" ", norm))),
                   void=_void(listing.rules), tie=_tie(listing.rules), deadline=_rules_deadline(listing.rules, close))

    @property
    def embedding_text(self) -> str:
        """What the embedding model reads: the question, with its teams as their codes when the
        listing states its league or is a game (the model knows neither that Dallas is the
        Cowboys nor that "New York R" is the Rangers; elsewhere a team name may be a plain word:
        "heat", "magic")."""
        return coded_teams(self.text, self.league) if self.league_stated or self.subject else self.text

    @property
    def stations(self) -> frozenset[str]:
        return self.sources & _STATIONS


def _dates(norm: str, close: date | None) -> tuple[tuple[DateRef, ...], str, str]:
    """The dates in normalised text (impossible ones dropped), their timing ("by" when any of
    them is a deadline, else "on" when any is a point in time, else ""), and the text with the
    dates blanked out (for number parsing)."""
    mentions, rest = _date_mentions(norm, close)
    timings = {timing for _, _, timing in mentions}
    timing = "by" if "by" in timings else ("on" if "on" in timings else "")
    return tuple(dict.fromkeys(d for _, d, _ in mentions)), timing, rest


def _date_mentions(norm: str, close: date | None) -> tuple[list[tuple[int, DateRef, str]], str]:
    """Each date in normalised text as (position of its first named part, date, timing), in text
    order, impossible ones dropped ("before D" already the day before D), and the text with the
    dates blanked out. A date without a year takes the text's first year, else the close's."""
    found: list[tuple[int, DateRef, bool, str]] = []    # (position, date, "before" it, timing)
    rest = norm
    for rx in _DATE_RES:
        for m in rx.finditer(rest):
            g = m.groupdict()
            before = bool(g.get("before"))
            start = min(m.start(k) for k in ("mon", "d0", "d", "m", "y") if g.get(k))
            lead = _TIMING.search(norm, 0, start)
            timing = "by" if before or (lead and lead.group("by")) else ("on" if lead else "")
            year = int(g["y"]) if g.get("y") else None
            month = MONTHS[g["mon"].rstrip(".")] if g.get("mon") else (int(g["m"]) if g.get("m") else None)
            day = int(g["d"]) if g.get("d") else None
            if g.get("end"):                 # "end of 2026" is its last day
                month, day = 12, 31
            if g.get("d0"):
                found.append((start, (year, month, int(g["d0"])), False, timing))
            found.append((start, (year, month, day), before, timing))
        rest = rx.sub(lambda m: " " * len(m.group(0)), rest)
    years = [y for _, (y, _m, _d), _b, _t in found if y]
    default_year = years[0] if years else (close.year if close else None)
    out = []
    for pos, (year, month, day), before, timing in sorted(found):
        year = year if year is not None else (default_year if month else None)
        if not _is_date(year, month, day):
            continue
        out.append((pos, _day_before(year, month, day) if before else (year, month, day), timing))
    return out, rest


def _is_date(year: int | None, month: int | None, day: int | None) -> bool:
    """The named parts fit a calendar date ("February 29" without a year: a leap year's)."""
    try:
        date(year or 2000, month or 1, day or 1)
    except ValueError:
        return False
    return True


def _day_before(year: int | None, month: int | None, day: int | None) -> DateRef:
    """The last day strictly before the named date ("before 2027" → 2026-12-31)."""
    if year is None:
        return (None, month, day - 1 if day and day > 1 else None)
    start = date(year, month or 1, day or 1)
    prev = start - timedelta(days=1)
    return (prev.year, prev.month, prev.day)


def _values(undated: str, bare_degree: str = "°") -> tuple[tuple[str, Decimal], ...]:
    """(unit, value) of each number that is not a date; a bare "°" stays `bare_degree`."""
    out = set()
    for m in _NUM_RE.finditer(undated):
        value = Decimal(m.group("n").replace(",", "")) * (-1 if m.group("sign") else 1)
        unit = (m.group("unit") or "").rstrip("s")
        if m.group("mult"):
            value *= _MULT[m.group("mult")]
        if unit == "bp":
            unit, value = "%", value / 100
        elif unit in ("¢", "cent"):
            unit, value = "$", value / 100
        elif unit == "°":
            unit = bare_degree
        if m.group("cur"):
            unit = "$"
        out.add((unit, value.normalize()))
    return tuple(sorted(out))


def _with_rules_units(values: tuple[tuple[str, Decimal], ...], rules: str) -> tuple[tuple[str, Decimal], ...]:
    """A threshold written without a unit ("above 30°") takes the unit the rules give the same
    number ("above 30°C"); a bare "°" left over is Fahrenheit (the US venues' default)."""
    if not any(u in ("", "°") for u, _ in values):
        return values
    stated = {x: u for u, x in _values(_dates(normalize(rules), None)[2], bare_degree="°") if u not in ("", "°")}
    return tuple(sorted({(stated.get(x, "°f" if u == "°" else u) if u in ("", "°") else u, x) for u, x in values}))


def _threshold(listing: Listing, undated: str) -> tuple[tuple[tuple[str, Decimal], ...], str]:
    """(values, comparator) from one source, never mixed: the question's words when they state
    both ("82° or above": ≥ 82), else the venue's structured strike (Kalshi `greater` with floor
    81: > 81), else what there is. Mixed, a Kalshi "82° or above" (strike `greater` 81) read as
    "> 82" and was paired `same` with a Polymarket "above 82°F", which says NO at 82."""
    text_values, text_cmp = _with_rules_units(_values(undated), listing.rules), _comparator(undated)
    strikes, strike_cmp = _strike_values(listing), _STRIKE_TYPE.get(listing.strike_type, "")
    if text_values and text_cmp:
        return text_values, text_cmp
    if strikes and strike_cmp:
        return strikes, strike_cmp
    if text_values:
        return text_values, text_cmp
    return strikes, strike_cmp


def _strike_values(listing: Listing) -> tuple[tuple[str, Decimal], ...]:
    """Kalshi floor/cap strikes, the ForecastEx strike, Polymarket's `line`: unit unknown, sign kept."""
    vals = {v for v in (listing.floor_strike, listing.cap_strike, listing.line) if v is not None}
    return tuple(sorted(("", v.normalize()) for v in vals))


def _times(undated: str) -> tuple[frozenset[tuple[str, str]], str]:
    """The times of day in the text as ("HH:MM", zone) (24-hour; zone "" when unstated), and
    the text with them blanked out ("5 pm" is no threshold of 5)."""
    out = set()
    for m in _TIME_RE.finditer(undated):
        if m.group("word"):
            hour, minute = (12 if m.group("word") == "noon" else 0), 0
        elif m.group("half"):
            hour, minute = int(m.group("h")) % 12 + (12 if m.group("half") == "p" else 0), int(m.group("m") or 0)
        else:
            hour, minute = int(m.group("h24")), int(m.group("m24"))
        out.add((f"{hour:02d}:{minute:02d}", _ZONES.get(m.group("zone") or "", "")))
    return frozenset(out), _TIME_RE.sub(lambda m: " " * len(m.group(0)), undated)


def _void(rules: str) -> frozenset[str]:
    """What the rules' sentences about a postponed, cancelled or otherwise void event say YES
    resolves to: no, yes, 50-50, void (refunded) or price (a fair or last traded price)."""
    out = set()
    for sentence in re.split(r"(?<=[.;!?])\s+", normalize(rules)):
        if _VOID_EVENT.search(sentence):
            out.update(name for name, rx in _VOID_OUTCOMES if rx.search(sentence))
    return frozenset(out)


def _tie(rules: str) -> frozenset[str]:
    """What the rules say YES resolves to when the game or contest ends in a tie or draw: no,
    yes, 50-50, void (refunded) or price. Read per clause: the clause naming the tie ("…, and No
    if B wins or the game is tied": no), else the nearest clause that names an outcome, the next
    one first ("If the game ends in a tie, the market resolves to No"; "Yes if A wins, otherwise
    No, including a tie": no)."""
    out: set[str] = set()
    for sentence in re.split(r"(?<=[.;!?])\s+", normalize(rules)):
        if not _TIE_EVENT.search(sentence):
            continue
        clauses = [c.strip() for c in _CLAUSE_SPLIT.split(sentence)]
        said = [_clause_outcomes(c) for c in clauses]
        for i, clause in enumerate(clauses):
            if not _TIE_EVENT.search(clause):
                continue
            near = [said[j] for d in range(len(clauses)) for j in (i + d, i - d) if 0 <= j < len(clauses) and said[j]]
            out |= near[0] if near else set()
    return frozenset(out)


def _clause_outcomes(clause: str) -> set[str]:
    """Outcomes a clause names: "resolves to No", "50-50", "refund", or a bare leading "No" ("No if B wins")."""
    found = {name for name, rx in _VOID_OUTCOMES if rx.search(clause)}
    lead = _LEADING_OUTCOME.match(clause)
    return found | {lead.group(1)} if lead else found


def _rules_deadline(rules: str, close: date | None) -> date | None:
    """The deadline the rules state: the latest full date written as a deadline ("before Feb 6,
    2026" is Feb 5; "by 11:59 PM ET on February 5, 2026" is Feb 5), or the close date where they
    tie the question to the market's close ("before the market closes"). Sentences about a
    postponed or cancelled event are skipped (their dates are the void rule's, not the
    question's). None when the rules state none."""
    found: list[date] = []
    for sentence in re.split(r"(?<=[.;!?])\s+", normalize(rules).replace("on or before", "by")):
        if not sentence or _VOID_EVENT.search(sentence):
            continue
        if close and _CLOSE_DEADLINE.search(sentence):
            found.append(close)
        mentions, _ = _date_mentions(sentence, close)
        for pos, (y, m, d), timing in mentions:
            if y and m and d and (timing == "by" or _DEADLINE_LEAD.search(sentence, 0, pos)):
                found.append(date(y, m, d))
    return max(found) if found else None


def _comparator(undated: str) -> str:
    return next((name for name, rx in _CMP if rx.search(undated)), "")


_KALSHI_DAY = re.compile(r"-(\d\d)(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)(\d\d)")    # KXNFLGAME-25DEC25DALWAS
_SLUG_DAY = re.compile(r"-(20\d\d)-(\d\d)-(\d\d)(?:-|$)")       # nfl-dal-was-2025-12-25, mlb-sd-laa-2026-04-17-moneyline
_START_DAY = re.compile(r"^(20\d\d)-(\d\d)-(\d\d)")             # gameStartTime "2026-04-18 01:38:00+00"


def _game_day(listing: Listing, dates: tuple[DateRef, ...]) -> date | None:
    """The day a game is played, as the venue states it: the one full date its question names
    ("… on Dec 3, 2026?"), Kalshi's event ticker (YYMONDD), Polymarket's event or market slug
    (…-YYYY-MM-DD…), else its `gameStartTime` (UTC: the evening's games fall on the next day).
    Close times are no guide: Kalshi closes a game's market up to two weeks after it,
    Polymarket's `endDate` is a week after it."""
    full = [d for d in dates if all(d)]
    if len(full) == 1:
        y, mo, d = full[0]
        return date(y, mo, d)        # type: ignore[arg-type]
    if listing.venue == "kalshi":
        found = [_KALSHI_DAY.search(listing.event_id or listing.market_id)]
        parts = [(2000 + int(m.group(1)), MONTHS[m.group(2).lower()], int(m.group(3))) for m in found if m]
    elif listing.venue == "polymarket":
        found = [_SLUG_DAY.search(listing.series), _SLUG_DAY.search(listing.slug), _START_DAY.match(listing.game_start)]
        parts = [(int(m.group(1)), int(m.group(2)), int(m.group(3))) for m in found if m]
    else:
        return None
    for y, mo, d in parts:
        try:
            return date(y, mo, d)
        except ValueError:             # not a calendar day
            continue
    return None


def _matchup(norm: str, listing: Listing, league: str) -> tuple[str, str]:
    """(subject, opponent) team codes (or a player's words) for a head-to-head question, ("", "")
    otherwise. YES is on the side a Kalshi `yes_sub_title`, the question's "Will X win …" or the
    first non-Yes/No Polymarket outcome names, else the first side written. A side is named by
    its code or by its last word ("Carlos Alcaraz" is the side "Alcaraz")."""
    text = norm.replace("?", "").strip()
    for rx, teams_only in _MATCHUP:
        m = rx.match(text)
        if not m or any(len(m.group(k).split()) > _MAX_SIDE_WORDS for k in ("a", "b")):
            continue
        a, b = team_code(m.group("a"), league), team_code(m.group("b"), league)
        if teams_only and not (is_team(a, league) and is_team(b, league)):
            continue
        first_outcome = listing.outcomes[0] if listing.outcomes and listing.outcomes[0].lower() not in ("yes", "no") else ""
        for named in (listing.subtitle, m.groupdict().get("x") or "", first_outcome):   # the first that names a side
            code = team_code(named, league) if named else ""
            on_a, on_b = _names_side(code, a), _names_side(code, b)
            if on_a != on_b:
                return (b, a) if on_b else (a, b)
        return a, b
    return "", ""


def _names_side(name: str, side: str) -> bool:
    """`name` (a code or words) is the matchup side `side`: the same code, or the same last word."""
    return bool(name) and (name == side or name.split()[-1] == side.split()[-1])


def _names(text: str, title: str, league: str) -> frozenset[str]:
    """Team codes, then capitalised words and codes (after a leading question word), minus
    calendar and question words, each normalised ("BTC" → "bitcoin")."""
    out = {code.lower() for _, _, code in find_teams(text, league)}
    rest = blank_teams(text, league)
    first = title.split(" ", 1)[0].lower()
    if first in _NOT_NAMES:
        rest = rest.split(" ", 1)[1] if " " in rest else ""
    for m in _NAME_RE.finditer(rest):
        low = normalize(m.group(1).strip(".'-")).removesuffix("'s")
        if low in _NOT_NAMES or len(low) < 2 or low[0].isdigit():
            continue
        out.add(low)
    return frozenset(out)
