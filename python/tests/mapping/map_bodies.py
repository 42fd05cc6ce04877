"""Saved listing bodies for `arbbot map` tests (`arbbot map` and `arbbot map --review`): a
Bitcoin threshold twin, a game whose YES is the other team (inverse), and a look-alike that
settles at another station (LaGuardia vs Central Park), Kalshi and Polymarket shapes."""
from __future__ import annotations

import argparse

from arbbot.mapping.match.command import add_parser

BTC_COND = "0x" + "ab" * 32
GAME_COND = "0x" + "cd" * 32
TRAP_COND = "0x" + "ef" * 32

KALSHI = {"markets": [
    {"ticker": "KXBTCD-26DEC31-T100000", "event_ticker": "KXBTCD-26DEC31", "title": "Will Bitcoin be above $100,000 on Dec 31, 2026?",
     "rules_primary": "If the Coinbase BTC-USD price at 4 PM ET on December 31, 2026 is above $100,000, the market resolves to Yes.",
     "close_time": "2026-12-31T21:00:00Z", "status": "active", "strike_type": "greater", "floor_strike": 100000},
    {"ticker": "KXNBAGAME-26DEC02LALBOS-BOS", "event_ticker": "KXNBAGAME-26DEC02LALBOS", "title": "Los Angeles L at Boston Winner?",
     "yes_sub_title": "Boston", "close_time": "2026-12-02T03:00:00Z", "status": "active"},
    {"ticker": "KXHIGHNY-26NOV30-T60", "event_ticker": "KXHIGHNY-26NOV30", "title": "Will the high temp in NYC be above 60° on Nov 30, 2026?",
     "rules_primary": "Highest temperature in Central Park per the NWS Climatological Report.",
     "close_time": "2026-11-30T23:59:00Z", "status": "active", "strike_type": "greater", "floor_strike": 60},
], "cursor": ""}
POLYMARKET = [
    {"conditionId": BTC_COND, "question": "Bitcoin above $100k on December 31?", "endDate": "2026-12-31T21:00:00Z",
     "description": "Resolves Yes if the Coinbase BTC/USD close at 4 PM ET on December 31, 2026 is higher than $100,000.",
     "outcomes": "[\"Yes\", \"No\"]", "active": True, "closed": False},
    {"conditionId": GAME_COND, "question": "Lakers vs. Celtics", "endDate": "2026-12-02T03:00:00Z",
     "outcomes": "[\"Lakers\", \"Celtics\"]", "active": True, "closed": False},
    {"conditionId": TRAP_COND, "question": "Highest temperature in NYC on Nov 30: above 60°F?", "endDate": "2026-11-30T23:59:00Z",
     "description": "Resolves by the highest temperature at LaGuardia Airport on Weather Underground.",
     "active": True, "closed": False},
]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="arbbot")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["map", *argv])


TWINS_KALSHI = {"markets": KALSHI["markets"][:2], "cursor": ""}      # without the look-alike
TWINS_POLYMARKET = POLYMARKET[:2]
