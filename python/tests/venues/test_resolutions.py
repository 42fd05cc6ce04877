"""`resolutions(market_ids)`: the adapters read a market's final result from the venue's public
market data — Kalshi `GET /markets?tickers=` (finalized/settled), then `/historical/markets` for
archived markets, and a void from the account's `/portfolio/settlements`; Polymarket Gamma
`/markets?condition_ids=&closed=true` (UMA resolved or settled) — against the in-process
simulators, in batches, leaving out what is not final or not known; the paper venue passes them
on, unpaid.
Units: `yes_value` µ$ per YES lot (10,000 = $1 a contract)."""
from __future__ import annotations

import asyncio
import json

import pytest

from arbbot.execution.store import OrderStore
from arbbot.paper.ledger import PaperLedger
from arbbot.paper.venue import PaperVenue
from arbbot.sim.scenarios import Faults
from arbbot.venues.common.errors import NotFound, ProtocolError, VenueError
from arbbot.venues.common.model import OrderRequest, Resolution, Side, TimeInForce, Venue
from arbbot.venues.kalshi.common.signing import KalshiSigner
from arbbot.venues.kalshi.schemas.rest import parse_resolution, parse_settlement_resolution
from arbbot.venues.polymarket.resolution import resolution
from arbbot.venues.polymarket.schemas.gamma import parse_market
from tests.sim.venue_envs import T0_MS, kalshi, pem_pair, polymarket

H0, C25, C50, H25 = (f"KXFEDDECISION-26DEC-{k}" for k in ("H0", "C25", "C50", "H25"))


@pytest.fixture(scope="module")
def keys():
    return pem_pair()


def run(coro, limit: float = 60.0):
    return asyncio.run(asyncio.wait_for(coro, limit))


def spy(obj, name: str) -> list:
    """Record the params of every call of `obj.name` (still made)."""
    calls, real = [], getattr(obj, name)

    async def recording(path, params=None, **kw):
        calls.append((path, dict(params or {})))
        return await real(path, params, **kw)
    setattr(obj, name, recording)
    return calls


# ---- Kalshi ------------------------------------------------------------------------------------

def test_kalshi_resolutions_of_settled_markets_only(keys):
    async def main():
        async with kalshi(keys) as (sim, v, clock):
            assert await v.resolutions([H0, C25, C50]) == []
            clock.advance(90_000)
            sim.settle_market(H0, "yes")
            sim.settle_market(C25, "no")
            sim.settle_market(C50, "half")
            calls = spy(v.http, "get")
            got = await v.resolutions([H0, C25, C50, H25, "KXNOPE-26DEC-X", H0])
            at = T0_MS + 90_000
            assert got == [Resolution(Venue.KALSHI, H0, "yes", 10_000, at, paid=True),
                           Resolution(Venue.KALSHI, C25, "no", 0, at, paid=True),
                           Resolution(Venue.KALSHI, C50, "scalar", 5_000, at, paid=True)]
            # one public request, the tickers as one comma list (H25 is open: left out); the one it
            # did not return (KXNOPE, unknown) asked of the historical database, also public
            assert calls == [("/markets", {"tickers": f"{H0},{C25},{C50},{H25},KXNOPE-26DEC-X", "limit": "100"}),
                             ("/historical/markets", {"tickers": "KXNOPE-26DEC-X", "limit": "100"})]
    run(main())


def test_kalshi_resolutions_ask_at_most_100_tickers_a_request(keys):
    async def main():
        async with kalshi(keys) as (sim, v, clock):
            sim.settle_market(C25, "yes")
            sim.settle_market(H25, "no")
            ids = [f"KXUNKNOWN-{i:03d}" for i in range(150)]
            ids[20], ids[130] = C25, H25                    # one in each batch
            calls = spy(v.http, "get")
            got = await v.resolutions(ids)
            assert [(r.market_id, r.yes_value) for r in got] == [(C25, 10_000), (H25, 0)]
            sent = [p["tickers"].split(",") for path, p in calls if path == "/markets"]
            assert [len(t) for t in sent] == [100, 50] and sent[0] + sent[1] == ids
            # the 148 it did not return: asked of /historical/markets, 100 then 48
            old = [p["tickers"].split(",") for path, p in calls if path == "/historical/markets"]
            assert [len(t) for t in old] == [100, 48] and old[0] + old[1] == [t for t in ids if t not in (C25, H25)]
    run(main())


def test_kalshi_resolutions_raise_venue_errors_on_http_failure(keys):
    async def main():
        async with kalshi(keys, max_retries=0) as (sim, v, clock):
            sim.settle_market(H0, "yes")
            sim.faults = Faults(http_5xx_every=1)
            with pytest.raises(VenueError):
                await v.resolutions([H0])
    run(main())


def test_kalshi_resolutions_find_archived_markets_in_the_historical_database(keys):
    async def main():
        async with kalshi(keys) as (sim, v, clock):
            clock.advance(30_000)
            sim.settle_market(H0, "no")
            sim.settle_market(C50, "half")
            clock.advance(30_000)
            sim.settle_market(C25, "yes")
            # settled before the cutoff: archived (H0, C50), C25 stays live
            assert sim.archive_settled_before(T0_MS + 40_000) == [H0, C50]
            calls = spy(v.http, "get")
            got = await v.resolutions([H0, C25, C50, H25])
            assert got == [Resolution(Venue.KALSHI, C25, "yes", 10_000, T0_MS + 60_000, paid=True),
                           Resolution(Venue.KALSHI, H0, "no", 0, T0_MS + 30_000, paid=True),
                           Resolution(Venue.KALSHI, C50, "scalar", 5_000, T0_MS + 30_000, paid=True)]
            assert calls == [("/markets", {"tickers": f"{H0},{C25},{C50},{H25}", "limit": "100"}),
                             ("/historical/markets", {"tickers": f"{H0},{C50}", "limit": "100"})]
    run(main())


def test_kalshi_resolutions_take_a_historical_404_as_none_there(keys):
    async def main():
        async with kalshi(keys) as (sim, v, clock):
            sim.settle_market(H0, "yes")
            real, asked = v.http.get, []

            async def no_history(path, params=None, **kw):
                if path == "/historical/markets":
                    asked.append(params["tickers"])
                    raise NotFound("kalshi GET /historical/markets: HTTP 404", venue="kalshi", status=404)
                return await real(path, params, **kw)
            v.http.get = no_history
            assert await v.resolutions([H0, "KXGONE-1"]) == [Resolution(Venue.KALSHI, H0, "yes", 10_000, T0_MS,
                                                                         paid=True)]
            assert asked == ["KXGONE-1"]
    run(main())


async def _buy_yes(v, ticker: str, lots: int) -> int:
    """Buy `lots` YES lots at up to 0.99 (IOC); the µ$ they cost."""
    o = await v.place_order(OrderRequest(ticker, Side.YES, 9_900, lots, tif=TimeInForce.IOC))
    assert o.filled_lots == lots
    return o.cost_micros


def test_kalshi_a_void_resolves_from_the_account_settlements(keys):
    async def main():
        async with kalshi(keys) as (sim, v, clock):
            cost = await _buy_yes(v, H0, 300)
            assert cost == 1_620_000                       # 3 YES at 0.54
            acct = sim.exchange.accounts["user"]
            cash = acct.balance
            clock.advance(45_000)
            sim.settle_market(H0, "void")
            assert acct.balance - cash == 1_620_000 and acct.positions[H0] == 0   # the cost returned
            sim.settle_market(C25, "void")               # held nothing there: no settlement of ours
            calls = spy(v.http, "get")
            got = await v.resolutions([H0, C25])
            assert got == [Resolution(Venue.KALSHI, H0, "void", None, T0_MS + 45_000, paid=True)]
            assert calls == [("/markets", {"tickers": f"{H0},{C25}", "limit": "100"}),
                             ("/portfolio/settlements", {"ticker": H0, "limit": "100"}),
                             ("/portfolio/settlements", {"ticker": C25, "limit": "100"})]
            # what it read: revenue = the 3 contracts' cost, in cents
            body = (await v.http.get("/portfolio/settlements", {"ticker": H0}, auth=True))["settlements"]
            assert [(s["market_result"], s["revenue"], s["value"]) for s in body] == [("void", 162, None)]
            # archived as well: found in the historical database, then in the settlements
            sim.archive_market(H0)
            assert await v.resolutions([H0]) == [Resolution(Venue.KALSHI, H0, "void", None, T0_MS + 45_000,
                                                            paid=True)]
    run(main())


def test_kalshi_a_void_is_left_out_quietly_without_credentials(keys):
    async def main():
        async with kalshi(keys) as (sim, v, clock):
            await _buy_yes(v, H0, 100)
            sim.settle_market(H0, "void")
            sim.settle_market(C25, "no")
            signer, v.http.signer = v.http.signer, None   # paper trading without a key
            calls = spy(v.http, "get")
            assert await v.resolutions([H0, C25]) == [Resolution(Venue.KALSHI, C25, "no", 0, T0_MS, paid=True)]
            assert [path for path, _p in calls] == ["/markets"]
            v.http.signer = KalshiSigner("not-a-registered-key", keys[0])   # refused (401): left out too
            assert await v.resolutions([H0, C25]) == [Resolution(Venue.KALSHI, C25, "no", 0, T0_MS, paid=True)]
            v.http.signer = signer                        # with one: the void is read from our settlements
            assert await v.resolutions([H0]) == [Resolution(Venue.KALSHI, H0, "void", None, T0_MS, paid=True)]
    run(main())


@pytest.mark.parametrize("fields, want", [
    ({"market_result": "void", "value": None}, ("void", None, 1_790_863_200_000)),
    ({"market_result": "yes", "value": 100}, ("yes", 10_000, 1_790_863_200_000)),
    ({"market_result": "no", "value": 0}, ("no", 0, 1_790_863_200_000)),
    ({"market_result": "scalar", "value": 37}, ("scalar", 3_700, 1_790_863_200_000)),
    ({"market_result": "void", "settled_time": "later"}, ("void", None, 0)),
])
def test_kalshi_settlement_results(fields, want):
    raw = {"ticker": "KXT-1", "event_ticker": "KXT", "yes_count_fp": "3.00", "no_count_fp": "0.00",
           "yes_total_cost_dollars": "1.800000", "no_total_cost_dollars": "0.000000", "revenue": 180,
           "settled_time": "2026-10-01T14:00:00Z", "fee_cost": "0.0000", **fields}
    r = parse_settlement_resolution(raw)
    assert (r.result, r.yes_value, r.resolved_ms, r.market_id, r.paid) == (*want, "KXT-1", True)


@pytest.mark.parametrize("value", [None, 101, -1, "50", True])
def test_kalshi_a_scalar_settlement_without_a_readable_value_is_a_protocol_error(value):
    with pytest.raises(ProtocolError):
        parse_settlement_resolution({"ticker": "KXT-1", "market_result": "scalar", "value": value})


def _market(**kw) -> dict:
    return {"ticker": "KXT-1", "event_ticker": "KXT", "status": "finalized", "result": "yes",
            "settlement_value_dollars": "1.0000", "settlement_ts": "2026-10-01T14:00:00Z", **kw}


@pytest.mark.parametrize("fields, want", [
    ({}, ("yes", 10_000, 1_790_863_200_000)),
    ({"status": "settled", "result": "no", "settlement_value_dollars": "0.0000"}, ("no", 0, 1_790_863_200_000)),
    ({"result": "scalar", "settlement_value_dollars": "0.2500"}, ("scalar", 2_500, 1_790_863_200_000)),
    ({"result": "scalar", "settlement_value_dollars": "0.5"}, ("scalar", 5_000, 1_790_863_200_000)),
    ({"result": "void", "settlement_value_dollars": None}, ("void", None, 1_790_863_200_000)),
    ({"settlement_ts": None}, ("yes", 10_000, 0)),
    ({"settlement_ts": "yesterday"}, ("yes", 10_000, 0)),
])
def test_kalshi_final_results(fields, want):
    r = parse_resolution(_market(**fields))
    assert (r.result, r.yes_value, r.resolved_ms, r.market_id, r.paid) == (*want, "KXT-1", True)


@pytest.mark.parametrize("fields", [
    {"status": "determined"}, {"status": "disputed"}, {"status": "amended"}, {"status": "closed"},
    {"status": "active", "result": ""}, {"result": ""}, {"result": "maybe"},
])
def test_kalshi_results_not_final_are_left_out(fields):
    assert parse_resolution(_market(**fields)) is None


@pytest.mark.parametrize("value", [None, "1.5", "0.12345", 0.5, "half"])
def test_kalshi_a_scalar_without_a_readable_value_is_a_protocol_error(value):
    with pytest.raises(ProtocolError):
        parse_resolution(_market(result="scalar", settlement_value_dollars=value))


# ---- Polymarket --------------------------------------------------------------------------------

def test_polymarket_resolutions_of_resolved_markets_only():
    async def main():
        async with polymarket() as (sim, v, clock):
            await v.discover_markets()
            alv, brk, cho, dvs = sim.event_conds["mayor-2026"]
            assert await v.resolutions([alv]) == []
            clock.advance(7_000)
            for cond, result in ((alv, "yes"), (brk, "no"), (cho, "half")):
                sim.settle_market(cond, result)
            calls = spy(v.http, "gamma")
            got = await v.resolutions([alv, brk, cho, dvs, "0x" + "00" * 32])
            at = T0_MS + 7_000
            assert got == [Resolution(Venue.POLYMARKET, alv, "yes", 10_000, at, paid=False),
                           Resolution(Venue.POLYMARKET, brk, "no", 0, at, paid=False),
                           Resolution(Venue.POLYMARKET, cho, "scalar", 5_000, at, paid=False)]
            assert calls == [("/markets", {"condition_ids": [alv, brk, cho, dvs, "0x" + "00" * 32],
                                           "closed": "true", "limit": "5"})]
    run(main())


def test_polymarket_resolutions_ask_at_most_50_markets_a_request():
    async def main():
        async with polymarket() as (sim, v, clock):
            conds = list(sim.listings)
            sim.settle_market(conds[0], "no")
            ids = ["0x%064x" % i for i in range(60)]
            ids[55] = conds[0]                               # in the second batch
            calls = spy(v.http, "gamma")
            got = await v.resolutions(ids)
            assert [(r.market_id, r.result) for r in got] == [(conds[0], "no")]
            assert [len(p["condition_ids"]) for _path, p in calls] == [50, 10]
    run(main())


def test_polymarket_resolutions_raise_venue_errors_on_http_failure():
    async def main():
        async with polymarket(max_retries=0) as (sim, v, clock):
            sim.faults = Faults(http_5xx_every=1)
            with pytest.raises(VenueError):
                await v.resolutions([next(iter(sim.listings))])
    run(main())


def _gamma(**kw) -> dict:
    return {"conditionId": "0xc1", "closed": True, "umaResolutionStatus": "resolved", "outcomes": '["Yes", "No"]',
            "clobTokenIds": '["111", "222"]', "outcomePrices": '["1", "0"]',
            "closedTime": "2026-10-01 14:00:00+00", **kw}


@pytest.mark.parametrize("fields, yes_token, want", [
    ({}, "", ("yes", 10_000, 1_790_863_200_000)),
    ({"umaResolutionStatus": "settled"}, "", ("yes", 10_000, 1_790_863_200_000)),
    ({"umaResolutionStatus": "settled", "outcomePrices": '["0.5", "0.5"]'}, "", ("scalar", 5_000, 1_790_863_200_000)),
    ({"outcomePrices": '["0", "1"]'}, "111", ("no", 0, 1_790_863_200_000)),
    ({"outcomePrices": '["0.5", "0.5"]'}, "", ("scalar", 5_000, 1_790_863_200_000)),
    ({}, "222", ("no", 0, 1_790_863_200_000)),           # the YES token listed second: its price is the second
    ({"closedTime": "2026-10-01T14:00:00Z"}, "", ("yes", 10_000, 1_790_863_200_000)),
    ({"closedTime": None}, "", ("yes", 10_000, 0)),
    ({"closedTime": "soon"}, "", ("yes", 10_000, 0)),
    # not discovered: YES is the "Yes" outcome wherever Gamma lists it (the first was taken: flipped)
    ({"outcomes": '["No", "Yes"]'}, "", ("no", 0, 1_790_863_200_000)),
    ({"outcomes": '["Lakers", "Celtics"]'}, "", ("yes", 10_000, 1_790_863_200_000)),
])
def test_polymarket_final_results(fields, yes_token, want):
    r = resolution(parse_market(_gamma(**fields)), yes_token)
    assert (r.result, r.yes_value, r.resolved_ms, r.market_id, r.paid) == (*want, "0xc1", False)


@pytest.mark.parametrize("fields", [
    {"closed": False}, {"umaResolutionStatus": "proposed"}, {"umaResolutionStatus": "disputed"},
    {"umaResolutionStatus": "requested"}, {"umaResolutionStatus": None},
    {"closed": False, "umaResolutionStatus": "settled"},
    {"outcomePrices": '["0.99", "0.01"]'}, {"outcomePrices": '["1", "1"]'},
    {"outcomePrices": '["0.999999", "0.000001"]'}, {"outcomePrices": '["1"]'}, {"outcomePrices": ""},
    {"clobTokenIds": '["111", "222", "333"]', "outcomePrices": '["1", "0", "0"]'},
    {"outcomes": '["Yes", "Maybe"]'},                 # one of Yes/No without the other: not a binary we know
])
def test_polymarket_results_not_final_are_left_out(fields):
    assert resolution(parse_market(_gamma(**fields))) is None


# ---- paper -------------------------------------------------------------------------------------

def test_paper_venue_passes_resolutions_on_and_only_where_the_adapter_has_them(keys, tmp_path):
    class NoResults:
        venue = "forecastex"

    async def main():
        store = OrderStore(str(tmp_path / "paper.db"))
        store.claim_trading_mode("paper")
        ledger = PaperLedger(store, 1_000_000_000)
        try:
            async with kalshi(keys) as (sim, v, clock):
                paper = PaperVenue(v, ledger)
                sim.settle_market(H0, "yes")
                assert await paper.resolutions([H0, C25]) == [     # the ledger is paid as Kalshi pays
                    Resolution(Venue.KALSHI, H0, "yes", 10_000, T0_MS, paid=True)]
            assert not hasattr(PaperVenue(NoResults(), ledger), "resolutions")
        finally:
            store.close()
    run(main())


def test_gamma_market_keeps_the_resolution_fields():
    m = parse_market(_gamma())
    assert (m.uma_resolution_status, m.closed_time, json.loads('["1", "0"]')) == \
        ("resolved", "2026-10-01 14:00:00+00", list(m.outcome_prices))
