"""The matcher on listings written as the venues write them today (Kalshi `GET /markets`, Gamma
`/events`), where the two venues word the same market differently: Kalshi's generic league titles
("Pro Basketball Champion?", the city as the outcome) against Polymarket's league and trophy
("win the 2026 NBA Finals", the team's name), an Oscar, a season ("2025–26"), a tennis match ("Will Jannik Sinner win the Sinner vs Alcaraz
match?" against "Sinner vs. Alcaraz"); games as "Dallas at Washington Winner?" against
"Cowboys vs. Commanders" (outcomes the team names, the day in the ids: `KXNFLGAME-25DEC25DALWAS`,
`nfl-dal-was-2025-12-25`); a Fed decision's ladder ("Cut 25bps" against "25 bps decrease"); a
bitcoin high on different price sources. Data: tests/mapping/data/shapes_*.json."""
from __future__ import annotations

from pathlib import Path

from arbbot.mapping.listings import load_listings
from arbbot.mapping.match.matcher import match
from arbbot.mapping.match.teams import canonical_titles

DATA = Path(__file__).parent / "data"


def _pairs(min_confidence: float) -> dict[str, tuple[str, float, tuple[str, ...]]]:
    listings = {"kalshi": load_listings("kalshi", [str(DATA / "shapes_kalshi_markets.json")]),
                "polymarket": load_listings("polymarket", [str(DATA / "shapes_gamma_events.json")])}
    return {p.ids[0]: (p.ids[1], p.confidence, p.reasons) for p in match(listings, min_confidence)}


def test_league_titles_and_rate_ladders_pair_at_high_confidence():
    pairs = _pairs(0.9)
    assert {k: v[0] for k, v in pairs.items()} == {
        "KXNBA-26-OKC": "0xbb01", "KXNBA-26-BOS": "0xbb02",          # Oklahoma City = Thunder, Boston = Celtics
        "KXFEDDECISION-25DEC-H0": "0xaa03",                           # hold = no change
        "KXFEDDECISION-25DEC-C25": "0xaa02",                          # cut 25bps = 25 bps decrease
        "KXNFLGAME-25DEC25DALWAS-DAL": "0xdd01",                      # Dallas = Cowboys (YES: Cowboys)
        "KXNFLGAME-25DEC25DALWAS-WAS": "0xdd01",                      # Washington: the other side
        "KXNHLGAME-25DEC27NYRNYI-NYR": "0xee01",                      # New York R = Rangers (NHL, not Texas's)
        "KXPRESPERSON-28-JVAN": "0x01", "KXPRESPERSON-28-GNEW": "0x02",  # "the next presidential election" = 2028
        "KXOSCARPIC-26-ONE": "0x03",                                  # Oscar = the 98th Academy Awards
        "KXEPL-26-ARS": "0x04",                                       # the 2025–26 season is no threshold 26
        "KXATPMATCH-25NOV16SINALC-SIN": "0x11",                       # "Will Jannik Sinner win the Sinner vs …"
        "KXATPMATCH-25NOV16SINALC-ALC": "0x11",                       # … and Alcaraz: the other side
        "KXGOVSHUT-26JAN30": "0x12"}                                  # "by Jan 30" = "by January 30"
    assert all(conf >= 0.9 for _, conf, _ in pairs.values())
    assert "same outcome cut" in pairs["KXFEDDECISION-25DEC-C25"][2]
    assert "same game day 2025-12-25" in pairs["KXNFLGAME-25DEC25DALWAS-DAL"][2]
    listings = {"kalshi": load_listings("kalshi", [str(DATA / "shapes_kalshi_markets.json")]),
                "polymarket": load_listings("polymarket", [str(DATA / "shapes_gamma_events.json")])}
    relations = {p.ids[0]: p.relation for p in match(listings, 0.9)}
    assert relations["KXNFLGAME-25DEC25DALWAS-DAL"] == "same" and relations["KXNFLGAME-25DEC25DALWAS-WAS"] == "inverse"
    # a player is named by the last word too: YES on Alcaraz against a market whose YES is Sinner
    assert relations["KXATPMATCH-25NOV16SINALC-SIN"] == "same" and relations["KXATPMATCH-25NOV16SINALC-ALC"] == "inverse"


def test_near_misses_stay_below_the_threshold_or_are_rejected():
    pairs = _pairs(0.0)
    # a hike of exactly 25 bps (a bucket of Kalshi's ladder) is not "25+ bps": cautioned, not traded
    partner, conf, reasons = pairs["KXFEDDECISION-25DEC-H25"]
    assert partner == "0xaa04" and conf < 0.9 and "caution: comparator stated on one side only" in reasons
    # the BRTI above 149,999.99 is not a Binance high of 150,000: no pair at all
    assert "KXBTCMAXY-25-DEC31-149999.99" not in pairs
    # Central Park is not LaGuardia (Polymarket's NYC temperatures settle at LaGuardia)
    assert "KXHIGHNY-25DEC01-B56.5" not in pairs
    # "more than 25 bps" has no partner worded alike enough to pass (50+ bps is a different line)
    assert pairs.get("KXFEDDECISION-25DEC-C26", ("", 0.0))[1] < 0.9


def test_league_titles_in_one_spelling_and_conference_titles_left_alone():
    assert canonical_titles("Pro Basketball Champion? Boston") == "NBA Champion? Boston"
    assert canonical_titles("Will the Oklahoma City Thunder win the 2026 NBA Finals?") == \
        "Will the Oklahoma City Thunder win the 2026 NBA Champion?"
    assert canonical_titles("Will the Chiefs win Super Bowl 2026?") == "Will the Chiefs win the 2026 NFL Champion?"
    assert canonical_titles("Super Bowl LXI champion: Kansas City Chiefs?") == "NFL Champion: Kansas City Chiefs?"
    assert canonical_titles("Stanley Cup 2026 winner: Florida Panthers") == "2026 NHL Champion: Florida Panthers"
    assert canonical_titles("Will the Knicks make the NBA Finals?") == "Will the Knicks make the NBA Finals?"
    assert canonical_titles("Will the Chiefs win the AFC Championship?") == "Will the Chiefs win the AFC Champion?"
    assert canonical_titles("Pro football: most passing yards") == "Pro football: most passing yards"
    assert canonical_titles("Best Picture at the 98th Academy Awards?") == "Best Picture at Oscars?"
    assert canonical_titles("win the 2025–26 English Premier League") == "win the 2026 English Premier League"
    assert canonical_titles("between 2025-27 units") == "between 2025-27 units"       # not a season


def test_team_names_by_league():
    from arbbot.mapping.match.teams import canonical_teams, league_of
    assert league_of("", "KXNFLGAME-25DEC25DALWAS", "") == "NFL" and league_of("nhl-nyr-nyi-2025-12-27", "", "") == "NHL"
    assert league_of("", "E", "Will the Chiefs win the NFL Champion?") == "NFL" and league_of("", "E", "Heat wave?") is None
    assert league_of("mlbb-m6-world-championship", "", "") is None and league_of("KXNBA", "", "") == "NBA"
    assert canonical_teams("Dallas at Washington", "NFL") == "nfl-dal at nfl-was"
    assert canonical_teams("Dallas at Washington") == "dal at was"                     # NBA: Mavericks, Wizards
    assert canonical_teams("Dallas Stars vs. Texas Rangers", "NHL") == "nhl-dal vs. texas nhl-nyr"
    assert canonical_teams("New York Y at Chicago WS", "MLB") == "mlb-nyy at mlb-cws"
    # abbreviations only in capitals: "was" and "ten" are words
    assert canonical_teams("It was TEN to one", "NFL") == "it was nfl-ten to one"
