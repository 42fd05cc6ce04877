"""`arbbot resolve`: the markets an order store holds, their recorded results, and an operator's
record of a result the venue does not publish (ForecastEx: the TWS API gives no result; IB pays
at expiry).

    arbbot resolve [--db D] [--json]                      list: held markets, recorded results
    arbbot resolve [--db D] MARKET RESULT [--unpaid] [--replace]

MARKET is the engine name `venue:id` of a market the store has traded; RESULT is `yes`, `no`,
`void` (positions returned at cost) or a YES payout in dollars per contract (`0.5`: a 50/50
split). A recorded market's lots are no longer exposure, and a naked execution's loss is booked
again at what its lots paid; a running bot picks the record up at its next resolution poll
(`resolution_poll_s`). `--unpaid`: the venue has not paid it out yet (the position is still at
the venue; always so in a paper database, whose ledger the venue never pays). A market already
recorded keeps its result unless `--replace`.

Exit status 0 on success, 2 on bad input (an unknown market, a bad result, a missing store).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from arbbot.units import TICKS_PER_DOLLAR, UnitError, format_money, parse_price

EXIT_OK, EXIT_INPUT = 0, 2
FORMAT = "arbbot.resolutions/1"


def add_parser(sub) -> None:
    p = sub.add_parser("resolve", help="list held markets and their results; record a result the venue does not "
                                       "publish (ForecastEx)",
                       description="Without MARKET: list the markets the order store's executions hold lots in "
                                   "and the results recorded for them (by the bot from the venues, or by an "
                                   "operator). With MARKET RESULT: record that market's final result, so its lots "
                                   "stop counting as exposure and a naked execution's loss is booked at what they "
                                   "paid (a running bot picks it up at its next resolution poll). Exit status 2 on "
                                   "bad input.")
    p.add_argument("market", nargs="?", help="venue:id of a market the store has traded "
                                              "(e.g. forecastex:FF-20261216-4.00)")
    p.add_argument("result", nargs="?", help="yes | no | void (returned at cost) | the YES payout in dollars per "
                                             "contract, 0 to 1 (0.5 = a 50/50 split)")
    p.add_argument("--db", help="order store (config: db_path); never created")
    p.add_argument("--unpaid", action="store_true", help="the venue still holds the position (not paid out yet)")
    p.add_argument("--replace", action="store_true", help="correct a result already recorded")
    p.add_argument("--json", action="store_true", help="print arbbot.resolutions/1 JSON")


def parse_result(text: str) -> tuple[str, int | None]:
    """RESULT → (result, µ$ a YES lot pays): yes 10,000, no 0, void None, a dollar value → scalar
    (a YES lot pays the value's ticks: $1 a contract = 10,000 ticks = 10,000 µ$ a lot)."""
    word = text.strip().lower()
    if word in ("yes", "no"):
        return word, TICKS_PER_DOLLAR if word == "yes" else 0
    if word == "void":
        return "void", None
    value = parse_price(word)
    return ("yes", value) if value == TICKS_PER_DOLLAR else ("no", 0) if value == 0 else ("scalar", value)


def listing(store) -> dict:
    """arbbot.resolutions/1: held markets (venue → ids) and every recorded resolution."""
    return {"format": FORMAT,
            "held": {venue: sorted(ids) for venue, ids in sorted(store.held_markets().items())},
            "resolved": [{"market": r.market, "result": r.result,
                          "yes_value_usd": None if r.yes_value is None else format_money(r.yes_value * 100),
                          "paid": r.paid, "source": r.source, "resolved_ms": r.resolved_ms,
                          "recorded_ms": r.recorded_ms} for r in store.resolutions().values()]}


def main(args: argparse.Namespace) -> int:
    from arbbot.execution.operator_store import open_for_operator
    from arbbot.model import MarketId
    from arbbot.venues.common.model import Resolution

    if (args.market is None) != (args.result is None):
        print("arbbot resolve: give both MARKET and RESULT, or neither to list", file=sys.stderr)
        return EXIT_INPUT
    store = open_for_operator("resolve", args.db)
    if store is None:
        return EXIT_INPUT
    try:
        if args.market is None:
            return _print(listing(store), args.json)
        try:
            market = MarketId.parse(args.market)
            result, yes_value = parse_result(args.result)
        except (ValueError, UnitError) as exc:
            print(f"arbbot resolve: {exc}", file=sys.stderr)
            return EXIT_INPUT
        if not store.has_traded(str(market)):
            print(f"arbbot resolve: {market} is not a market this store has traded", file=sys.stderr)
            return EXIT_INPUT
        # a paper database's ledger plays the venue and is paid only by the bot (`LedgerAccount.settle`)
        paid = not args.unpaid and store.trading_mode() != "paper"
        res = Resolution(market.venue, market.id, result, yes_value, int(time.time() * 1000), paid=paid)
        if not store.record_resolution(res, source="operator", replace=args.replace):
            have = store.resolutions()[str(market)]
            print(f"arbbot resolve: {market} is already recorded as {have.result} ({have.source}); "
                  "--replace to correct it", file=sys.stderr)
            return EXIT_INPUT
        print(f"recorded {market}: {result}" + ("" if yes_value is None else
                                                f", a YES contract pays ${format_money(yes_value * 100)}"))
        return EXIT_OK
    finally:
        store.close()


def _print(doc: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps(doc))
        return EXIT_OK
    print("held, unresolved: " + (", ".join(f"{v}:{m}" for v, ids in doc["held"].items() for m in ids) or "none"))
    for r in doc["resolved"]:
        value = "at cost" if r["yes_value_usd"] is None else f"YES pays ${r['yes_value_usd']}"
        print(f"{r['market']}: {r['result']} ({value}; {'paid' if r['paid'] else 'not paid yet'}; {r['source']})")
    return EXIT_OK
