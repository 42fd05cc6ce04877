"""Text normalisation shared by features, blocking and scoring.

`normalize(text)` lower-cases, maps aliases to one canonical spelling (so "FOMC", "Federal
Reserve" and "Fed" compare equal, and "25bp" equals "25 bps"), and keeps words, numbers and
the symbols that carry meaning in a market question (%, $, °, +). `tokens(text)` is the list of
content tokens: stop words dropped, order kept.
"""
from __future__ import annotations

import re

# alias → canonical token(s); applied to whole words after lower-casing, longest alias first
ALIASES: dict[str, str] = {
    "federal reserve": "fed", "fomc": "fed", "federal open market committee": "fed",
    "fed funds rate": "fed funds", "federal funds rate": "fed funds", "federal funds": "fed funds",
    "interest rates": "rates", "interest rate": "rates", "rate": "rates",
    "basis points": "bp", "basis point": "bp", "bps": "bp",
    "decrease": "cut", "decreases": "cut", "cuts": "cut",
    "increase": "hike", "increases": "hike", "raise": "hike", "raises": "hike", "hikes": "hike",
    "holds": "hold", "unchanged": "hold", "no change": "hold", "pause": "hold", "pauses": "hold",
    "btc": "bitcoin", "eth": "ethereum", "sol": "solana",
    "u.s.": "us", "united states": "us", "usa": "us",
    "beats": "beat", "defeats": "beat", "defeat": "beat", "wins": "win", "won": "win",
    "versus": "vs", "vs.": "vs", "v.": "vs",
    "cpi": "inflation", "consumer price index": "inflation",
    "year-over-year": "yoy", "year over year": "yoy", "month-over-month": "mom", "month over month": "mom",
    "highest": "high", "lowest": "low",
    "nyc": "new york city", "new york city": "new york city",
    "degrees fahrenheit": "°f", "fahrenheit": "°f", "degrees": "°", "celsius": "°c",
    "percent": "%", "per cent": "%", "percentage points": "%",
}
STOP = frozenset("""
a an the will be is are was were of in on at to for by before after or and than this that with
as any its it if yes no market question resolve resolves resolved does do did has have what which
who whom from into end ending close closes meeting official officially
""".split())

_ALIAS_RE = re.compile(r"(?<![\w.])(" + "|".join(re.escape(a) for a in sorted(ALIASES, key=len, reverse=True))
                       + r")(?![\w])")
_TOKEN_RE = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)*|[%$°+]")
_NUM_UNIT_SPLIT = re.compile(r"(\d)(bps|bp|k|m|b|%)\b")


def normalize(text: str) -> str:
    """Lower-case text with aliases replaced and numbers split from glued units ("25bp" → "25 bp")."""
    low = text.lower().replace("’", "'").replace("–", "-").replace("—", "-")
    low = _NUM_UNIT_SPLIT.sub(r"\1 \2", low)
    return _ALIAS_RE.sub(lambda m: ALIASES[m.group(1)], low)


def tokens(text: str) -> list[str]:
    """Content tokens of `text` after `normalize` (stop words dropped; "1,000" → "1000")."""
    out = []
    for tok in _TOKEN_RE.findall(normalize(text)):
        tok = tok.replace(",", "").removesuffix("'s")
        if tok not in STOP:
            out.append(tok)
    return out
