"""Listings read from the venues' own API bodies (hand-written to the documented shapes in
spec/VENUES.md and reference/), and malformed files named by file and JSON path."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from arbbot.mapping.listings import Listing, ListingError, load_listings

DATA = Path(__file__).parent / "data"


def by_id(listings: list[Listing]) -> dict[str, Listing]:
    return {x.market_id: x for x in listings}


def test_kalshi_events_with_nested_markets_carry_event_and_strike_fields():
    got = by_id(load_listings("kalshi", [str(DATA / "kalshi_events.json")]))
    assert len(got) == 7
    t40 = got["KXHIGHNY-26DEC01-T40"]
    assert (t40.venue, t40.event_id, t40.series, t40.category) == \
        ("kalshi", "KXHIGHNY-26DEC01", "KXHIGHNY", "Climate and Weather")
    assert t40.title == "Will the high temp in NYC be <40° on Dec 1, 2026?" and t40.subtitle == "39° or below"
    assert t40.event_title == "Highest temperature in NYC on Dec 1, 2026?"
    assert t40.rules.startswith("If the highest temperature recorded in Central Park")
    assert t40.closes_at == "2026-12-02T04:59:00Z"
    assert (t40.strike_type, t40.floor_strike, t40.cap_strike) == ("less", None, Decimal(40))
    assert t40.mutually_exclusive is True and t40.in_event_body and t40.active
    assert got["KXHIGHNY-26DEC01-B38.5"].active is False                       # status finalized
    btc = got["KXBTCD-26DEC3117-T99999.99"]
    assert btc.floor_strike == Decimal("99999.99") and btc.mutually_exclusive is False
    assert btc.name == "kalshi:KXBTCD-26DEC3117-T99999.99"


def test_kalshi_markets_pages_take_event_fields_from_an_events_file():
    alone = by_id(load_listings("kalshi", [str(DATA / "kalshi_markets.json")]))
    assert alone["KXFEDDECISION-26DEC-H0"].mutually_exclusive is None         # event not listed
    got = by_id(load_listings("kalshi", [str(DATA / "kalshi_markets.json"), str(DATA / "kalshi_events_fed.json")]))
    h0 = got["KXFEDDECISION-26DEC-H0"]
    assert h0.mutually_exclusive is True and not h0.in_event_body
    assert h0.closes_at == "2026-12-09T23:55:00Z"                              # -05:00 offset → UTC
    assert h0.rules.endswith("Changes announced outside the meeting are not counted.")
    assert h0.event_title == "Fed decision in December 2026?" and h0.strike_type == "structured"
    assert got["KXFEDDECISION-26DEC-C25"].floor_strike is None                 # null tolerated


def test_polymarket_gamma_events_and_markets_bodies():
    got = by_id(load_listings("polymarket", [str(DATA / "gamma_events.json"), str(DATA / "gamma_markets.json")]))
    assert len(got) == 15
    a1 = got["0xa1"]
    assert (a1.event_id, a1.series, a1.subtitle) == ("16085", "fed-decision-in-december-2026", "25 bps decrease")
    assert a1.neg_risk and a1.mutually_exclusive and a1.in_event_body        # the event body copy wins
    assert a1.outcomes == ("Yes", "No") and a1.tokens[0].startswith("7132104567925221")
    assert a1.neg_risk_market_id.startswith("0x5f65aa") and a1.closes_at == "2026-12-09T19:00:00Z"
    a4 = got["0xa4"]                                                           # from /markets, events[0]
    assert a4.event_id == "16085" and a4.neg_risk and not a4.in_event_body
    assert got["0xb3"].neg_risk_augmented and got["0xb3"].subtitle == "Person C"
    assert got["0xd3"].active is False                                        # closed
    lal = got["0xe1"]
    assert lal.outcomes == ("Lakers", "Celtics") and lal.line is None and lal.mutually_exclusive is False


def test_forecastex_contract_list_pairs_yes_and_no_into_the_adapters_ids():
    got = by_id(load_listings("forecastex", [str(DATA / "forecastex_contracts.json")]))
    assert sorted(got) == ["FF-20261216-3.875", "FF-20261216-4.125", "GCE-20251231-40500"]  # 4.375 has no NO
    ff = got["FF-20261216-3.875"]
    assert (ff.event_id, ff.series, ff.tokens) == ("FF-20261216", "FF", ("713900000", "713900001"))
    assert ff.floor_strike == Decimal("3.875") and ff.closes_at == "2026-12-16T23:59:59Z"
    assert ff.title == "Fed funds target upper bound above 3.875% after Dec 2026?"
    assert ff.subtitle == "FF Dec16'26 3.875 YES"
    assert got["FF-20261216-4.125"].title == "Fed funds target upper bound above 4.125% after Dec 2026?"


def test_the_forecastex_id_is_the_adapters():
    from arbbot.venues.forecastex.client import IBContract
    from arbbot.venues.forecastex.venue import market_id
    assert market_id(IBContract(1, "GCE", "20251231", "40500", "C")) in \
        by_id(load_listings("forecastex", [str(DATA / "forecastex_contracts.json")]))


@pytest.mark.parametrize("venue, body, path", [
    ("kalshi", {"markets": [{"ticker": "K1", "event_ticker": "E"}, {"event_ticker": "E"}]}, "markets[1].ticker"),
    ("kalshi", {"events": [{"event_ticker": "E", "markets": [{"ticker": 5}]}]}, "events[0].markets[0].ticker"),
    ("kalshi", {"events": [{"event_ticker": "E", "mutually_exclusive": "yes"}]}, "events[0].mutually_exclusive"),
    ("kalshi", {"markets": [{"ticker": "K", "event_ticker": "E", "floor_strike": "high"}]}, "markets[0].floor_strike"),
    ("kalshi", {"series": []}, "$"),
    ("polymarket", [{"conditionId": "0x1", "outcomes": "[\"Yes\""}], "[0].outcomes"),
    ("polymarket", {"data": [{"id": "1", "markets": [{"conditionId": 7}]}]}, "data[0].markets[0].conditionId"),
    ("polymarket", [{"question": "no id"}], "[0]"),
    ("forecastex", [{"conId": "x", "symbol": "FF"}], "[0].conId"),
    ("forecastex", [{"conId": 1, "symbol": "FF", "lastTradeDateOrContractMonth": "Dec26", "strike": 1, "right": "C"}],
     "[0].lastTradeDateOrContractMonth"),
    ("forecastex", {"contracts": []}, "$"),
])
def test_malformed_files_name_the_file_and_the_json_path(tmp_path, venue, body, path):
    f = tmp_path / "page2.json"
    f.write_text(json.dumps(body))
    with pytest.raises(ListingError) as info:
        load_listings(venue, [str(f)])
    assert info.value.file == str(f) and info.value.path == path
    assert str(info.value).startswith(f"{f}: {path}: ")


def test_unreadable_and_non_json_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"markets": [')
    with pytest.raises(ListingError, match=r"bad\.json: not JSON"):
        load_listings("kalshi", [str(bad)])
    with pytest.raises(ListingError, match="missing.json"):
        load_listings("kalshi", [str(tmp_path / "missing.json")])
