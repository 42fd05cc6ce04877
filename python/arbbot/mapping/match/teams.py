"""Team names → one code, so "Lakers", "Los Angeles Lakers", "Los Angeles L" and "LAL" compare equal;
league titles → one spelling, so Kalshi's "Pro Basketball Champion?" and Polymarket's "win the
2026 NBA Finals" name the same title.

Team codes: NBA only (the simulator's and the venues' documented examples); a team outside the
table keeps its own words, which still compare equal when both venues spell it alike.
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


# Kalshi names the US leagues generically ("Pro Football Champion?"); Polymarket by league and
# trophy ("win Super Bowl 2026", "win the 2026 NBA Finals", "Super Bowl LXI champion"). All become
# "<LEAGUE> Champion", capitalised so that it stays a name. Only *winning* the final is the title:
# "make the NBA Finals" or "reach the Super Bowl" (a conference title) is left as written.
_LEAGUE = {"basketball": "NBA", "football": "NFL", "hockey": "NHL", "baseball": "MLB",
           "nba finals": "NBA", "nba final": "NBA", "super bowl": "NFL", "stanley cup": "NHL", "world series": "MLB"}
_PRO_LEAGUE = re.compile(r"\bpro (basketball|football|hockey|baseball)(?= champion)", re.IGNORECASE)
_TROPHY = r"(?P<t>nba finals?|super bowl|stanley cup|world series)(?: (?:(?P<y1>20\d\d)|[lxvi]+\b))?"
_WIN_TROPHY = re.compile(r"\bwin (?:the )?(?:(?P<y0>20\d\d) )?" + _TROPHY, re.IGNORECASE)
_TROPHY_CHAMPION = re.compile(r"\b(?:(?P<y0>20\d\d) )?" + _TROPHY + r" (?:champions?|championship|winner)\b",
                              re.IGNORECASE)
_CHAMPIONSHIP = re.compile(r"\bchampionship\b", re.IGNORECASE)


def _title(m: re.Match, prefix: str) -> str:
    year = m.group("y0") or m.group("y1")
    return f"{prefix}{year + ' ' if year else ''}{_LEAGUE[m.group('t').lower()]} Champion"


def canonical_titles(text: str) -> str:
    """`text` with league titles in one spelling: "Pro Basketball Champion" → "NBA Champion",
    "win the 2026 NBA Finals" / "win Super Bowl 2026" → "win the 2026 NBA / NFL Champion",
    "Super Bowl LXI champion" → "NFL Champion"."""
    text = _PRO_LEAGUE.sub(lambda m: _LEAGUE[m.group(1).lower()], text)
    text = _WIN_TROPHY.sub(lambda m: _title(m, "win the "), text)
    text = _TROPHY_CHAMPION.sub(lambda m: _title(m, ""), text)
    return _CHAMPIONSHIP.sub("Champion", text)
