"""Team names → one code, so "Lakers", "Los Angeles Lakers", "Los Angeles L" and "LAL" compare equal.

NBA only (the simulator's and the venues' documented examples); a team outside the table keeps
its own words, which still compare equal when both venues spell it alike.
"""
from __future__ import annotations

import re

# code: (city, nickname); Kalshi writes a shared city with the nickname's initial ("Los Angeles L")
NBA: dict[str, tuple[str, str]] = {
    "ATL": ("atlanta", "hawks"), "BOS": ("boston", "celtics"), "BKN": ("brooklyn", "nets"),
    "CHA": ("charlotte", "hornets"), "CHI": ("chicago", "bulls"), "CLE": ("cleveland", "cavaliers"),
    "DAL": ("dallas", "mavericks"), "DEN": ("denver", "nuggets"), "DET": ("detroit", "pistons"),
    "GSW": ("golden state", "warriors"), "HOU": ("houston", "rockets"), "IND": ("indiana", "pacers"),
    "LAC": ("los angeles", "clippers"), "LAL": ("los angeles", "lakers"), "MEM": ("memphis", "grizzlies"),
    "MIA": ("miami", "heat"), "MIL": ("milwaukee", "bucks"), "MIN": ("minnesota", "timberwolves"),
    "NOP": ("new orleans", "pelicans"), "NYK": ("new york", "knicks"), "OKC": ("oklahoma city", "thunder"),
    "ORL": ("orlando", "magic"), "PHI": ("philadelphia", "76ers"), "PHX": ("phoenix", "suns"),
    "POR": ("portland", "trail blazers"), "SAC": ("sacramento", "kings"), "SAS": ("san antonio", "spurs"),
    "TOR": ("toronto", "raptors"), "UTA": ("utah", "jazz"), "WAS": ("washington", "wizards"),
}
_SHARED_CITY = {"los angeles"}          # Kalshi writes "New York" for the Knicks, "Brooklyn" for the Nets


def _names() -> dict[str, str]:
    out: dict[str, str] = {}
    for code, (city, nick) in NBA.items():
        out[f"{city} {nick}"] = code
        out[nick] = code
        out[code.lower()] = code
        if city in _SHARED_CITY:
            out[f"{city} {nick[0]}"] = code
        else:
            out[city] = code
    return out


NAMES = _names()
_RE = re.compile(r"(?<![\w])(" + "|".join(re.escape(n) for n in sorted(NAMES, key=len, reverse=True)) + r")(?![\w])")


def canonical_teams(text: str) -> str:
    """Lower-case `text` with every known team mention replaced by its lower-case code ("lal")."""
    return _RE.sub(lambda m: NAMES[m.group(1)].lower(), text.lower())


def find_teams(text: str) -> list[tuple[int, int, str]]:
    """(start, end, code) of each team mention in `text` (any case)."""
    return [(m.start(), m.end(), NAMES[m.group(1)]) for m in _RE.finditer(text.lower())]


def blank_teams(text: str) -> str:
    """`text` with each team mention replaced by spaces (same length)."""
    for start, end, _ in find_teams(text):
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def team_code(name: str) -> str:
    """One side of a matchup → its code, or the side's own words, normalised."""
    return " ".join(canonical_teams(name).replace("the ", " ").split())
