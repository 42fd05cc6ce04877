"""Team names → one code, so "Lakers", "Los Angeles Lakers", "Los Angeles L" and "LAL" compare equal;
league titles → one spelling, so Kalshi's "Pro Basketball Champion?" and Polymarket's "win the
2026 NBA Finals" name the same title.

Teams of the four US leagues. A city names several teams across leagues (Dallas: Mavericks,
Cowboys, Stars), so a listing's league is read first (`league_of`: Kalshi's series ticker
`KXNFLGAME…`, Polymarket's event slug `nfl-…`, or the league named in the question) and only
its table is used; a listing with no league uses the NBA table (the simulator's games). NBA
codes are bare ("LAL"), the others carry their league ("NFL-DAL"). Kalshi writes a city two
teams of one league share with the nickname's initial ("Los Angeles L", "New York G", "Chicago
WS"). A team outside the tables keeps its own words, which still compare equal when both
venues spell it alike.
"""
from __future__ import annotations

import re

# code: (city, nickname)
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

NFL: dict[str, tuple[str, str]] = {
    "ARI": ("arizona", "cardinals"), "ATL": ("atlanta", "falcons"), "BAL": ("baltimore", "ravens"),
    "BUF": ("buffalo", "bills"), "CAR": ("carolina", "panthers"), "CHI": ("chicago", "bears"),
    "CIN": ("cincinnati", "bengals"), "CLE": ("cleveland", "browns"), "DAL": ("dallas", "cowboys"),
    "DEN": ("denver", "broncos"), "DET": ("detroit", "lions"), "GB": ("green bay", "packers"),
    "HOU": ("houston", "texans"), "IND": ("indianapolis", "colts"), "JAX": ("jacksonville", "jaguars"),
    "KC": ("kansas city", "chiefs"), "LV": ("las vegas", "raiders"), "LAC": ("los angeles", "chargers"),
    "LAR": ("los angeles", "rams"), "MIA": ("miami", "dolphins"), "MIN": ("minnesota", "vikings"),
    "NE": ("new england", "patriots"), "NO": ("new orleans", "saints"), "NYG": ("new york", "giants"),
    "NYJ": ("new york", "jets"), "PHI": ("philadelphia", "eagles"), "PIT": ("pittsburgh", "steelers"),
    "SF": ("san francisco", "49ers"), "SEA": ("seattle", "seahawks"), "TB": ("tampa bay", "buccaneers"),
    "TEN": ("tennessee", "titans"), "WAS": ("washington", "commanders"),
}
NHL: dict[str, tuple[str, str]] = {
    "ANA": ("anaheim", "ducks"), "BOS": ("boston", "bruins"), "BUF": ("buffalo", "sabres"),
    "CGY": ("calgary", "flames"), "CAR": ("carolina", "hurricanes"), "CHI": ("chicago", "blackhawks"),
    "COL": ("colorado", "avalanche"), "CBJ": ("columbus", "blue jackets"), "DAL": ("dallas", "stars"),
    "DET": ("detroit", "red wings"), "EDM": ("edmonton", "oilers"), "FLA": ("florida", "panthers"),
    "LAK": ("los angeles", "kings"), "MIN": ("minnesota", "wild"), "MTL": ("montreal", "canadiens"),
    "NSH": ("nashville", "predators"), "NJD": ("new jersey", "devils"), "NYI": ("new york", "islanders"),
    "NYR": ("new york", "rangers"), "OTT": ("ottawa", "senators"), "PHI": ("philadelphia", "flyers"),
    "PIT": ("pittsburgh", "penguins"), "SJS": ("san jose", "sharks"), "SEA": ("seattle", "kraken"),
    "STL": ("st. louis", "blues"), "TBL": ("tampa bay", "lightning"), "TOR": ("toronto", "maple leafs"),
    "UTA": ("utah", "mammoth"), "VAN": ("vancouver", "canucks"), "VGK": ("vegas", "golden knights"),
    "WSH": ("washington", "capitals"), "WPG": ("winnipeg", "jets"),
}
MLB: dict[str, tuple[str, str]] = {
    "ARI": ("arizona", "diamondbacks"), "ATL": ("atlanta", "braves"), "BAL": ("baltimore", "orioles"),
    "BOS": ("boston", "red sox"), "CHC": ("chicago", "cubs"), "CWS": ("chicago", "white sox"),
    "CIN": ("cincinnati", "reds"), "CLE": ("cleveland", "guardians"), "COL": ("colorado", "rockies"),
    "DET": ("detroit", "tigers"), "HOU": ("houston", "astros"), "KC": ("kansas city", "royals"),
    "LAA": ("los angeles", "angels"), "LAD": ("los angeles", "dodgers"), "MIA": ("miami", "marlins"),
    "MIL": ("milwaukee", "brewers"), "MIN": ("minnesota", "twins"), "NYM": ("new york", "mets"),
    "NYY": ("new york", "yankees"), "ATH": ("sacramento", "athletics"), "PHI": ("philadelphia", "phillies"),
    "PIT": ("pittsburgh", "pirates"), "SD": ("san diego", "padres"), "SF": ("san francisco", "giants"),
    "SEA": ("seattle", "mariners"), "STL": ("st. louis", "cardinals"), "TB": ("tampa bay", "rays"),
    "TEX": ("texas", "rangers"), "TOR": ("toronto", "blue jays"), "WSH": ("washington", "nationals"),
}


class _League:
    """One league's spellings → code, and the patterns that find them: names and cities in any
    case, abbreviations ("LAL", "NYY") only in capitals ("was", "ten", "car" are words)."""

    def __init__(self, league: str, table: dict[str, tuple[str, str]]) -> None:
        prefix = "" if league == "NBA" else f"{league}-"
        self.codes = {prefix + code for code in table}
        cities = [city for city, _ in table.values()]
        names: dict[str, str] = {}
        for code, (city, nick) in table.items():
            code = prefix + code
            names[f"{city} {nick}"] = code
            names[nick] = code
            if cities.count(city) > 1:           # "Los Angeles L", "Chicago WS" / "Chicago W"
                names[f"{city} {nick[0]}"] = code
                names[f"{city} {''.join(w[0] for w in nick.split())}"] = code
            else:
                names[city] = code
        self.names = names
        self.abbreviations = {code: prefix + code for code in table if len(code) >= 3}
        self.rx = re.compile(r"(?<![\w])(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
                             + r")(?![\w])")
        self.abbreviation_rx = re.compile(r"(?<![\w])(" + "|".join(sorted(self.abbreviations)) + r")(?![\w])")

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, code) of each mention in `text`, in order."""
        found = [(m.start(), m.end(), self.abbreviations[m.group(1)]) for m in self.abbreviation_rx.finditer(text)]
        low = text.lower()
        taken = [(a, b) for a, b, _ in found]
        for m in self.rx.finditer(low):
            if not any(a < m.end() and m.start() < b for a, b in taken):
                found.append((m.start(), m.end(), self.names[m.group(1)]))
        return sorted(found)


LEAGUES = {name: _League(name, table) for name, table in (("NBA", NBA), ("NFL", NFL), ("NHL", NHL), ("MLB", MLB))}
_LEAGUE_IN_ID = re.compile(r"^KX(NBA|NFL|NHL|MLB)|^(nba|nfl|nhl|mlb)-")     # KXNFLGAME…, nfl-dal-was-…
_LEAGUE_IN_TEXT = re.compile(r"\b(nba|nfl|nhl|mlb)\b", re.IGNORECASE)


def league_of(series: str, event_id: str, text: str) -> str | None:
    """The league a listing states it is about: its series ticker / event slug / event id,
    else the one its (canonical) question names; None when it names none."""
    for ident in (series, event_id):
        m = _LEAGUE_IN_ID.match(ident or "")
        if m:
            return (m.group(1) or m.group(2)).upper()
    m = _LEAGUE_IN_TEXT.search(text)
    return m.group(1).upper() if m else None


def canonical_teams(text: str, league: str = "NBA") -> str:
    """Lower-case `text` with every known team mention replaced by its lower-case code ("lal")."""
    return coded_teams(text, league).lower()


def coded_teams(text: str, league: str = "NBA") -> str:
    """`text` with every known team mention replaced by its code ("Dallas at Washington" →
    "NFL-DAL at NFL-WAS"), the rest as written."""
    out, at = [], 0
    for start, end, code in LEAGUES[league].find(text):
        out += [text[at:start], code]
        at = end
    return "".join(out) + text[at:]


def find_teams(text: str, league: str = "NBA") -> list[tuple[int, int, str]]:
    """(start, end, code) of each team mention in `text` (names any case, abbreviations in capitals)."""
    return LEAGUES[league].find(text)


def blank_teams(text: str, league: str = "NBA") -> str:
    """`text` with each team mention replaced by spaces (same length)."""
    for start, end, _ in find_teams(text, league):
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def team_code(name: str, league: str = "NBA") -> str:
    """One side of a matchup → its code, or the side's own words, normalised."""
    return " ".join(canonical_teams(name, league).replace("the ", " ").split())


def is_team(code: str, league: str = "NBA") -> bool:
    return code.upper() in LEAGUES[league].codes


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
_ACADEMY_AWARDS = re.compile(r"\b(?:the )?(?:\d+(?:st|nd|rd|th) )?academy awards?\b", re.IGNORECASE)
_SEASON = re.compile(r"\b(20\d\d)[-–/](\d\d)\b")          # "2025–26": a season, not a number


def _title(m: re.Match, prefix: str) -> str:
    year = m.group("y0") or m.group("y1")
    return f"{prefix}{year + ' ' if year else ''}{_LEAGUE[m.group('t').lower()]} Champion"


def _season(m: re.Match) -> str:
    start, end = int(m.group(1)), int(m.group(2))
    return str(start + 1) if (start + 1) % 100 == end else m.group(0)


def canonical_titles(text: str) -> str:
    """`text` with titles in one spelling: "Pro Basketball Champion" → "NBA Champion",
    "win the 2026 NBA Finals" / "win Super Bowl 2026" → "win the 2026 NBA / NFL Champion",
    "Super Bowl LXI champion" → "NFL Champion", "the 98th Academy Awards" → "Oscars"; a season
    "2025–26" is the year it ends in ("2026", as Kalshi's `KXEPL-26`), not a number 26."""
    text = _SEASON.sub(_season, text)
    text = _ACADEMY_AWARDS.sub("Oscars", text)
    text = _PRO_LEAGUE.sub(lambda m: _LEAGUE[m.group(1).lower()], text)
    text = _WIN_TROPHY.sub(lambda m: _title(m, "win the "), text)
    text = _TROPHY_CHAMPION.sub(lambda m: _title(m, ""), text)
    return _CHAMPIONSHIP.sub("Champion", text)
