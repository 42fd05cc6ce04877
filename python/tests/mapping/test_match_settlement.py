"""The settlement check: every look-alike trap is rejected, a flipped matchup is `inverse`, and
the same question written differently passes."""
from __future__ import annotations

from decimal import Decimal

import pytest

from arbbot.mapping.listings import Listing
from arbbot.mapping.match.features import Features
from arbbot.mapping.match.settlement import check


def K(title: str, **kw) -> Listing:
    return Listing("kalshi", "KX-" + str(abs(hash(title)) % 10**8), "E", title, **kw)


def P(title: str, **kw) -> Listing:
    return Listing("polymarket", "0x" + str(abs(hash(title)) % 10**8), "1", title, **kw)


def verdict(a: Listing, b: Listing):
    return check(Features.of(a), Features.of(b))


@pytest.mark.parametrize("a, b, reason", [
    (K("Will Bitcoin hit $150,000 before May 1, 2026?"), P("Will Bitcoin hit $150k by March 31, 2026?"),
     "date differs: 2026-04-30 vs 2026-03-31"),
    (K("Will the Fed cut rates by 25bps at the January 2027 meeting?"),
     P("Fed decreases interest rates by 25 bps after March 2027 meeting?"), "date differs: 2027-1-? vs 2027-3-?"),
    (K("Will Bitcoin be above $100,000 on Dec 31, 2026?"), P("Bitcoin above $105k on December 31, 2026?"),
     "threshold differs: 100000 vs 105000"),
    (K("Will the high temp in Miami be above 30° on Aug 2, 2026?", rules="Yes if the high at Miami International is above 30°C."),
     P("Miami high on Aug 2, 2026: above 30°F?"), "unit differs: 30°c vs 30°f"),
    (K("Will Bitcoin be $120,000 or above on Jun 30, 2026?"), P("Bitcoin above $120,000 on June 30, 2026?"),
     "comparator differs: ge vs gt"),
    (K("Unemployment rate in December 2026?", subtitle="4.5% or above", strike_type="greater_or_equal",
       floor_strike=Decimal("4.5")), P("US unemployment above 4.5% for December 2026?"), "comparator differs: ge vs gt"),
    # the subtitle's "82° or above" (≥ 82) is strike `greater` 81: read together, never 82 with `greater` (> 82)
    (K("Highest temperature in NYC on Dec 2, 2026?", subtitle="82° or above", strike_type="greater",
       floor_strike=Decimal("81")), P("Will the highest temperature in NYC be above 82°F on December 2, 2026?"),
     "comparator differs: ge vs gt"),
    (K("Highest temperature in NYC on Dec 2, 2026?", strike_type="greater", floor_strike=Decimal("81")),
     P("Will the highest temperature in NYC be above 82°F on December 2, 2026?"), "threshold differs: 81 vs 82"),
    (K("Will Scottie Scheffler finish top 5 at the 2027 Masters?"), P("Scottie Scheffler top 10 at the 2027 Masters?"),
     "outcome set differs: top 5 vs top 10"),
    (K("Arsenal vs. Chelsea: exact score 2-1?"), P("Arsenal vs. Chelsea: Arsenal -1.5 spread"),
     "outcome kind differs: exact_score vs spread"),
    (K("Lakers vs. Celtics: total points over 220.5?"), P("Lakers vs. Celtics", outcomes=("Lakers", "Celtics")),
     "outcome kind differs: total vs winner"),
    (K("Will the high temp in NYC be above 60° on Nov 30, 2026?", rules="Highest temperature in Central Park per the NWS."),
     P("Highest temperature in NYC on Nov 30, 2026: above 60°F?", rules="Per Weather Underground, LaGuardia Airport."),
     "resolution source differs: KNYC vs KLGA"),
    (K("Will Bitcoin be above $100,000 on Dec 31, 2026?", rules="Per the CF Benchmarks BRTI."),
     P("Bitcoin above $100k on December 31, 2026?", rules="Per the Binance BTC/USDT 1m candle."),
     "resolution source differs: cfbenchmarks vs binance"),
    (K("Will ALV win the 2026 mayoral election?"), P("Will BRK win the 2026 mayoral election?"),
     "different subject: alv vs brk"),
    (K("Fed holds rates at the December 2026 meeting?"), P("Fed hikes after the December 2026 meeting?"),
     "different outcome: hold vs hike"),
    (K("Los Angeles L at Boston Winner?", subtitle="Los Angeles L", closes_at="2026-12-02T03:00:00Z"),
     P("Lakers vs. Celtics", outcomes=("Lakers", "Celtics"), closes_at="2027-02-10T03:00:00Z"),
     "different game day: closes 2026-12-02 vs 2027-02-10"),
])
def test_trap_rejected_with_its_reason(a: Listing, b: Listing, reason: str) -> None:
    v = verdict(a, b)
    assert not v.ok
    assert reason in v.rejects


@pytest.mark.parametrize("subtitle, relation", [("Boston", "inverse"), ("Los Angeles L", "same")])
def test_matchup_orientation_follows_the_yes_side(subtitle: str, relation: str) -> None:
    v = verdict(K("Los Angeles L at Boston Winner?", subtitle=subtitle, closes_at="2026-12-02T03:00:00Z"),
                P("Lakers vs. Celtics", outcomes=("Lakers", "Celtics"), closes_at="2026-12-02T03:00:00Z"))
    assert v.ok and v.relation == relation
    # with no day on either side the pair cannot be told from the teams' other games
    undated = verdict(K("Los Angeles L at Boston Winner?", subtitle=subtitle), P("Lakers vs. Celtics", outcomes=("Lakers", "Celtics")))
    assert not undated.ok and undated.rejects == ["game day unknown: no date tells this game from the teams' others"]


@pytest.mark.parametrize("subtitle, relation", [("Jannik Sinner", "same"), ("Carlos Alcaraz", "inverse")])
def test_a_player_named_in_full_is_the_side_of_his_last_name(subtitle: str, relation: str) -> None:
    v = verdict(K("Sinner vs Alcaraz Winner?", subtitle=subtitle, closes_at="2025-11-17T03:00:00Z"),
                P("Sinner vs. Alcaraz", outcomes=("Sinner", "Alcaraz"), closes_at="2025-11-17T03:00:00Z"))
    assert v.ok and v.relation == relation


@pytest.mark.parametrize("title, relation", [("Will Golden State win New York vs Golden State on Dec 1, 2026?", "inverse"),
                                             ("Will New York win New York vs Golden State on Dec 1, 2026?", "same")])
def test_an_outcome_that_names_no_side_leaves_yes_to_the_question(title: str, relation: str) -> None:
    """A `yes_sub_title` that is no team (here the question's key) does not decide the side: the
    question's "Will X win" does (it defaulted to the first side written, pairing Golden State's
    market `same` with "Knicks vs. Warriors")."""
    v = verdict(K(title, subtitle="KXNBAGAME-26DEC01NYKGSW-X"),
                P("Knicks vs. Warriors", outcomes=("Knicks", "Warriors"), series="nba-nyk-gsw-2026-12-01"))
    assert v.ok and v.relation == relation


def test_beat_phrasing_flipped_is_inverse() -> None:
    v = verdict(K("Will the Heat beat the Knicks on Dec 3, 2026?"), P("Knicks vs. Heat", outcomes=("Knicks", "Heat")))
    assert v.ok and v.relation == "inverse"


@pytest.mark.parametrize("a, b", [
    (K("Will Bitcoin hit $150,000 before May 1, 2026?"), P("Will Bitcoin reach $150k by April 30, 2026?")),
    (K("Will the Fed cut rates by 25bps at the June 2026 meeting?"), P("Fed decreases interest rates by 25 bps after June 2026 meeting?")),
    (K("Will the Fed hold rates at the Jan 2027 FOMC meeting?"), P("No change in Fed interest rates after January 2027 meeting?")),
    (K("Unemployment rate at or above 4.5% in December 2026?"), P("US unemployment 4.5% or higher for December 2026?")),
    (K("Will Solana close 2026 below $100?"), P("SOL under $100 at end of 2026?")),
    (K("Will Republicans win the House in the 2026 midterms?"), P("Which party will win the House in 2026? Republican")),
    (K("Will the high temp in NYC be above 60° on Nov 30, 2026?", rules="Central Park, per the NWS Climatological Report."),
     P("Highest temperature in NYC on Nov 30: above 60°F?", rules="Central Park station on Weather Underground.")),
])
def test_same_question_written_differently_passes(a: Listing, b: Listing) -> None:
    v = verdict(a, b)
    assert v.ok, v.rejects
    assert v.relation == "same"


def test_structured_strike_speaks_when_the_title_has_no_number() -> None:
    fed = Listing("forecastex", "FF-20261216-4", "FF-20261216", "Fed Funds Target December 2026",
                  floor_strike=Decimal("4"))
    assert verdict(K("Fed funds rate above 4.00% after the Dec 2026 meeting?"), fed).ok
    other = Listing("forecastex", "FF-20261216-4.25", "FF-20261216", "Fed Funds Target December 2026",
                    floor_strike=Decimal("4.25"))
    assert "threshold differs: 4 vs 4.25" in verdict(K("Fed funds rate above 4.00% after the Dec 2026 meeting?"), other).rejects


def test_one_sided_fields_are_cautions_not_rejections() -> None:
    v = verdict(K("Will Bitcoin be above $100,000 on Dec 31, 2026?", rules="Per Coinbase BTC-USD."),
                P("Bitcoin above $100k on December 31, 2026?"))
    assert v.ok
    assert v.cautions == ["resolution source stated on one side only"]


@pytest.mark.parametrize("a, b, reason", [
    (K("Will the Nasdaq close above 25,000 on Mar 31, 2027?"), P("Nasdaq above 25,000 on March 31, 2027 (intraday high)?"),
     "outcome qualifier on one side: high, intraday"),
    (K("Will CPI rise more than 0.3% in November 2026?"), P("Will CPI rise more than 0.3% year-over-year in November 2026?"),
     "outcome qualifier on one side: yoy"),
    (K("Will CPI inflation be above 3% in November 2026?"), P("Will core CPI inflation be above 3% in November 2026?"),
     "outcome qualifier on one side: core"),
    (K("Will the high temperature in NYC be above 50° on Dec 2, 2026?"),
     P("Will the low temperature in NYC be above 50° on Dec 2, 2026?"), "outcome qualifier on one side: high, low"),
    (K("Will the advance estimate of Q3 2026 GDP growth be above 2%?"), P("Will Q3 2026 GDP growth be above 2%?"),
     "outcome qualifier on one side: advance"),
    (K("Will Gavin Newsom be the 2028 Democratic presidential nominee?"), P("Will Gavin Newsom win the 2028 presidential election?"),
     "outcome qualifier on one side: nominee"),
    (K("Will gold be above $4,000 per ounce on Jun 30, 2026?"), P("Silver above $4,000 on June 30, 2026?"),
     "different subject: gold vs silver"),
])
def test_narrowing_words_and_lower_case_subjects(a: Listing, b: Listing, reason: str) -> None:
    assert reason in verdict(a, b).rejects


def test_day_range_and_possessive_read_alike() -> None:
    assert verdict(K("Will Elon Musk tweet more than 400 times from Dec 5 to Dec 12, 2026?"),
                   P("Elon Musk # of tweets December 5-12, 2026: more than 400?")).ok
    assert verdict(K("Will Spotify's top song on Dec 1, 2026 be by Taylor Swift?"),
                   P("Top Spotify song on December 1, 2026: Taylor Swift?")).ok
