"""Polymarket adapter against the Polymarket simulator over real loopback sockets."""
from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from decimal import Decimal
from types import SimpleNamespace

import pytest
from structlog.testing import capture_logs

from arbbot.sim.engine.matching import FULL
from arbbot.sim.polymarket import ApiCreds, PolymarketSim
from arbbot.sim.scenarios import Faults, build
from arbbot.snapshot import parse_snapshot
from arbbot.venues.common import AuthError, Book, ProtocolError, Venue
from arbbot.venues.polymarket import PolymarketConfig, PolymarketVenue
from arbbot.venues.polymarket.data import PolymarketDataClient
from arbbot.venues.polymarket.schemas.gamma import json_list, parse_market
from tests.venues.conftest import wait_for

SECRET = base64.urlsafe_b64encode(b"poly-sim-secret-never-log-me-32b").decode()
PASSPHRASE = "passphrase-never-log-me"
CREDS = ApiCreds("0x" + "ab" * 20, "6f1e0c2a-0000-4000-8000-0000000000a1", SECRET, PASSPHRASE)


@contextlib.asynccontextmanager
async def poly_env(scenario="election", seed=7, faults: Faults | None = None, mutate=None, **cfg):
    sc = build(scenario, seed, faults)
    if mutate:
        mutate(sc)
    sim = PolymarketSim(sc, seed)
    sim.register_creds(CREDS)
    await sim.start()
    config = PolymarketConfig(gamma_url=sim.gamma_url, clob_url=sim.clob_url, ws_url=sim.ws_url,
                              address=CREDS.address, api_key=CREDS.api_key, api_secret=SECRET,
                              api_passphrase=PASSPHRASE, reconnect_base_s=0.02, reconnect_cap_s=0.2, **cfg)
    try:
        yield sim, config
    finally:
        await sim.stop()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def expected(sim: PolymarketSim, cond: str) -> tuple:
    """The simulator's engine state in native form, derived independently of the adapter:
    YES token bids = YES bids, YES token asks = 1 − NO bids, and vice versa."""
    m = sim.exchange.markets[cond]
    yes, no = m.levels("yes"), m.levels("no")
    desc = lambda d: tuple(sorted(d.items(), reverse=True))  # noqa: E731
    asc = lambda d: tuple(sorted(d.items()))  # noqa: E731
    return (desc(yes), asc({FULL - p: q for p, q in no.items()}),
            desc(no), asc({FULL - p: q for p, q in yes.items()}))


def as_tuple(b: Book) -> tuple:
    return b.yes_bids, b.yes_asks, b.no_bids, b.no_asks


def in_sync(dc: PolymarketDataClient, sim: PolymarketSim) -> bool:
    return all(dc.native(c).tradeable and as_tuple(dc.native(c)) == expected(sim, c) for c in dc.markets)


def by_title(sim, word):
    return next(c for c, (_e, _q, l) in sim.listings.items() if word in l.title)


# ---- discovery ------------------------------------------------------------------------------

def test_gamma_double_json_parsing():
    raw = {"conditionId": "0xbd31", "outcomes": "[\"Yes\", \"No\"]", "outcomePrices": "[\"0.20\", \"0.80\"]",
           "clobTokenIds": "[\"7132104567925221259462638553270691275033272857194253228963137931245558399256\", "
                           "\"52114319501245915516055106046884209969926127482827954674443846427813813222426\"]",
           "orderPriceMinTickSize": 0.01, "feesEnabled": True,
           "feeSchedule": {"exponent": 1, "rate": 0.04, "takerOnly": True, "rebateRate": 0.25}}
    m = parse_market(json.loads(json.dumps(raw), parse_float=Decimal))   # as the HTTP client decodes
    assert m.outcomes == ("Yes", "No") and m.outcome_prices == ("0.20", "0.80")
    assert m.token_ids[1] == "52114319501245915516055106046884209969926127482827954674443846427813813222426"
    assert json_list(["a", "b"], "x") == ("a", "b")         # already decoded: accepted
    with pytest.raises(ProtocolError):
        json_list("[\"Yes\", ", "outcomes")
    with pytest.raises(ProtocolError):
        json_list("{\"a\": 1}", "outcomes")


def test_fees_are_read_conservatively_when_gamma_leaves_fields_out():
    """VENUES.md: read `feeSchedule` per market, take the conservative reading. A schedule stating
    rate 0.04 is charged when `feesEnabled` is absent (40,000 ppm), not when it is false; a
    schedule without a rate is never read as 0 (the market is skipped); neither field: no fee."""
    from decimal import Decimal
    from arbbot.venues.polymarket.providers import Unrepresentable, fee_schedule

    def market(**fields):
        raw = {"conditionId": "0xc", "outcomes": '["Yes","No"]', "clobTokenIds": '["1","2"]', **fields}
        return parse_market(raw)
    rate = {"rate": Decimal("0.04"), "exponent": 1, "takerOnly": True}
    assert fee_schedule(market(feeSchedule=rate)).taker_rate_ppm == 40_000
    assert fee_schedule(market(feesEnabled=False, feeSchedule=rate)).taker_rate_ppm == 0
    assert fee_schedule(market()).taker_rate_ppm == 0
    with pytest.raises(Unrepresentable, match="without a rate"):
        fee_schedule(market(feesEnabled=True, feeSchedule={"exponent": 1}))


def test_a_market_not_taking_orders_is_not_active():
    """Past its end a market awaits resolution `closed: false` but `acceptingOrders: false`; one
    without a CLOB has `enableOrderBook: false`: discovery lists neither as active (tradeable).
    An "Other" flagged `negRiskOther` makes its group augmented (not exhaustive)."""
    from arbbot.venues.polymarket.providers import market_info
    base = {"conditionId": "0x1", "outcomes": "[\"Yes\", \"No\"]", "clobTokenIds": "[\"1\", \"2\"]",
            "active": True, "closed": False}
    assert market_info(parse_market(base)).active
    assert market_info(parse_market({**base, "acceptingOrders": True, "enableOrderBook": True})).active
    assert not market_info(parse_market({**base, "acceptingOrders": False})).active
    assert not market_info(parse_market({**base, "enableOrderBook": False})).active
    assert not parse_market(base).neg_risk_augmented and parse_market({**base, "negRiskOther": True}).neg_risk_augmented


def test_the_yes_token_is_the_yes_outcomes_whatever_its_place():
    """`clobTokenIds` follow `outcomes`. Listed ["No", "Yes"], the YES token is the second one:
    before, the first was taken as YES whatever it was, so a `same` twin became an inverse (a
    naked bet). A matchup (["Lakers", "Celtics"]) keeps the first outcome as YES; Yes without No
    is refused."""
    from arbbot.venues.polymarket.providers import Unrepresentable, market_info
    base = {"conditionId": "0x1", "clobTokenIds": "[\"t0\", \"t1\"]", "active": True, "closed": False}
    for outcomes, yes, no in (('["Yes", "No"]', "t0", "t1"), ('["No", "Yes"]', "t1", "t0"),
                              ('["no", "YES"]', "t1", "t0"), ('["Lakers", "Celtics"]', "t0", "t1")):
        info = market_info(parse_market({**base, "outcomes": outcomes}))
        assert (info.yes_token, info.no_token) == (yes, no), outcomes
    with pytest.raises(Unrepresentable, match="Yes/No without the other"):
        market_info(parse_market({**base, "outcomes": '["Yes", "Maybe"]'}))


def test_discovery_fees_exponent_skip_and_buckets(caplog):
    def mutate(sc):
        fed = next(e for e in sc.events if e.event_id == "KXFEDDECISION-26DEC")
        next(l for l in fed.questions[2].listings if l.venue == "polymarket").fee_exponent = 2
        nyk = next(e for e in sc.events if "NYK" in e.event_id)
        nyk.questions[0].listings[1].fee_ppm = 0

    async def main():
        async with poly_env("all", mutate=mutate) as (sim, cfg):
            v = PolymarketVenue(cfg)
            with caplog.at_level(logging.WARNING, logger="arbbot.venues.polymarket"):
                markets = {m.market_id: m for m in await v.discover_markets()}
            assert len(markets) == 18 and v.provider.skipped["fee_exponent"] == 1
            assert any("exponent 2" in r.getMessage() for r in caplog.records)
            lal = markets[by_title(sim, "LAL vs. BOS")]
            l = sim.listings[lal.market_id][2]
            assert (lal.yes_token, lal.no_token) == (l.yes_token, l.no_token)
            assert dict(lal.extra)["outcomes"] == '["LAL", "BOS"]'
            assert lal.fees.taker_rate_ppm == 30_000 and lal.fees.maker_rate_ppm == 0 and lal.fees.rounding == 10
            assert lal.lot_lots == 1 and lal.tick_ticks == 100 and lal.venue is Venue.POLYMARKET
            nyk = markets[by_title(sim, "NYK vs. MIA")]
            assert nyk.fees.taker_rate_ppm == 0 and nyk.fees.rounding == 10
            events = {e.title: e for e in await v.discover_events()}
            mayor, nominee = events["2026 mayoral election"], events["2026 party nominee (augmented)"]
            assert mayor.mutually_exclusive and mayor.exhaustive and len(mayor.market_ids) == 4
            assert nominee.mutually_exclusive and not nominee.exhaustive        # trap 6: implicit "Other"
            fed = events["Fed decision December 2026"]
            assert len(fed.market_ids) == 3 and not fed.exhaustive             # a member was skipped
            rel = {len(r["members"]): r for r in v.relations()}
            assert rel[4]["exhaustive"] is True and rel[3]["kind"] == "bucket"
            # nominee (augmented, with "Other" and a placeholder), fed (a member skipped); mayor, Ohio senate
            assert sorted(r["exhaustive"] for r in v.relations()) == [False, False, True, True]
            await v.close()
    run(main())


# ---- books ------------------------------------------------------------------------------

def test_fetch_book_exact():
    async def main():
        async with poly_env() as (sim, cfg):
            v = PolymarketVenue(cfg)
            await v.discover_markets()
            alv = by_title(sim, "ALV")
            b = await v.fetch_book(alv)
            # fair 41¢, half-spread 2¢, three levels of 100/200/300 contracts; asks are the token's own
            assert b.yes_bids == ((3900, 10_000), (3800, 20_000), (3700, 30_000))
            assert b.yes_asks == ((4300, 10_000), (4400, 20_000), (4500, 30_000))
            assert b.no_bids == ((5700, 10_000), (5600, 20_000), (5500, 30_000))
            assert b.no_asks == ((6100, 10_000), (6200, 20_000), (6300, 30_000))
            assert b.tradeable and as_tuple(b) == expected(sim, alv)
            await v.close()
    run(main())


def test_stream_snapshot_price_changes_trades_and_tick_change():
    async def main():
        async with poly_env() as (sim, cfg):
            v = PolymarketVenue(cfg)
            markets = await v.discover_markets()
            dc = v.data_client(markets)
            dc.start()
            await wait_for(lambda: in_sync(dc, sim), what="initial snapshots")
            for _ in range(4):
                sim.process.step()
                await wait_for(lambda: in_sync(dc, sim), what="books after a step")
            # a taker eats part of ALV's best YES ask: the level shrinks, deeper levels stay (trap 2)
            alv = by_title(sim, "ALV")
            before = dc.native(alv)
            best_px, best_q = before.yes_asks[0]
            sim.exchange.account("taker", 10**12)
            sim.exchange.place("taker", alv, "yes", "buy", best_px, 2_500, tif="ioc")
            await wait_for(lambda: in_sync(dc, sim) and dc.books[sim.listings[alv][2].yes_token].last_trade_price
                           == f"{best_px / 10_000:g}", what="book after a trade")
            after = dc.native(alv)
            assert after.yes_asks[0] == (best_px, best_q - 2_500) and after.yes_asks[1:] == before.yes_asks[1:]
            assert after.no_bids[0] == (FULL - best_px, best_q - 2_500)
            # a tick-size change is tracked, so later hashes still verify
            sim.change_tick_size(alv, 10)
            sim.exchange.place("taker", alv, "yes", "buy", before.yes_bids[0][0] + 10, 500)
            await wait_for(lambda: in_sync(dc, sim), what="book after a tick change")
            assert dc.books[sim.listings[alv][2].yes_token].tick_size == "0.001"
            assert dc.hash_mismatches == 0 and dc.resnapshots == 0 and dc.unverified_changes == 0
            await dc.close()
            await v.close()
    run(main())


def _fault_run(faults: Faults, steps: int, **cfg):
    async def main():
        async with poly_env(faults=faults, **cfg) as (sim, cfg_):
            v = PolymarketVenue(cfg_)
            markets = await v.discover_markets()
            dc = v.data_client(markets)
            seen_bad: list[str] = []
            # every update, as the feed's reader publishes it (the queue coalesces a distrusted
            # book with the recovered one that follows)
            dc.feed.on_update = lambda u: None if u.book.tradeable else seen_bad.append(u.book.reason)

            dc.start()
            await wait_for(lambda: in_sync(dc, sim), what="initial snapshots")
            for _ in range(steps):
                sim.process.step()
                await wait_for(lambda: in_sync(dc, sim), what="recovered books", timeout=15)
            stats = dict(mismatch=dc.hash_mismatches, resnap=dc.resnapshots, malformed=dc.malformed,
                         connects=dc.ws.connects, bad=seen_bad,
                         dropped=sum(c.dropped for c in sim.connections))
            await dc.close()
            await v.close()
            return stats
    return run(main())


def test_bad_hash_ends_in_resnapshot_and_correct_book():
    s = _fault_run(Faults(poly_bad_hash_every=5), steps=4)
    assert s["mismatch"] >= 1 and s["resnap"] >= 1
    assert any(r == "yes token: hash mismatch" or r == "no token: hash mismatch" for r in s["bad"])


def test_dropped_frame_is_caught_by_hash_or_periodic_refresh():
    s = _fault_run(Faults(poly_drop_every=7), steps=4, resnapshot_interval_s=0.3)
    assert s["dropped"] >= 1 and s["mismatch"] >= 1 and s["resnap"] >= 1


def test_malformed_frame_and_disconnects_recover():
    s = _fault_run(Faults(ws_malformed_every=9), steps=3)
    assert s["malformed"] >= 1 and s["resnap"] >= 1
    s = _fault_run(Faults(ws_disconnect_after=25), steps=3)
    assert s["connects"] >= 2 and "yes token: disconnected" in s["bad"]


# ---- auth, logs, snapshot ---------------------------------------------------------------

def test_l2_auth_and_no_secrets_in_logs(caplog):
    async def main():
        async with poly_env() as (sim, cfg):
            v = PolymarketVenue(cfg)
            await v.discover_markets()
            assert await v.orders() == []
            assert (await v.balance()).cash_micros == 10_000 * 1_000_000
            for bad in (dict(api_secret=base64.urlsafe_b64encode(b"w" * 32).decode()),
                        dict(api_passphrase="wrong"), dict(api_key="00000000-0000-4000-8000-000000000000")):
                vb = PolymarketVenue(PolymarketConfig(**{**cfg.__dict__, **bad}))
                with pytest.raises(AuthError) as ei:
                    await vb.balance()
                assert ei.value.status == 401 and SECRET not in str(ei.value)
                await vb.close()
            nocreds = PolymarketVenue(PolymarketConfig(gamma_url=cfg.gamma_url, clob_url=cfg.clob_url))
            with pytest.raises(AuthError):
                await nocreds.orders()
            await nocreds.close()
            assert SECRET not in repr(cfg) and PASSPHRASE not in repr(cfg) and SECRET not in repr(v.http.signer)
            await v.close()
    with caplog.at_level(logging.DEBUG):
        run(main())
    text = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert caplog.records
    assert SECRET not in text and PASSPHRASE not in text and "POLY_SIGNATURE" not in text


def test_snapshot_dump_parses():
    async def main():
        async with poly_env("all") as (sim, cfg):
            v = PolymarketVenue(cfg)
            markets = await v.discover_markets()
            books = {m.market_id: await v.fetch_book(m.market_id) for m in markets}
            snap = v.snapshot(books)
            await v.close()
            return snap
    snap = run(main())
    parsed = parse_snapshot(json.loads(json.dumps(snap)))
    assert len(parsed.titles) == 19
    m0 = snap["markets"][0]
    assert m0["fees"] == {"taker_rate": "0.05", "rounding": "0.00001"} and m0["lot"] == "0.01"
    assert set(m0["book"]) == {"yes_bids", "yes_asks", "no_bids", "no_asks"}
    assert sorted(r["exhaustive"] for r in snap["relations"]) == [False, True, True, True]


def test_crossed_token_book_is_untradeable():
    from arbbot.venues.polymarket.book import TokenBook, native_book
    from arbbot.venues.polymarket.schemas.ws import BookMsg
    yes, no = TokenBook("y", "0xm"), TokenBook("n", "0xm")
    yes.apply_snapshot(BookMsg("y", "0xm", "1", "", (("0.45", "10"),), (("0.47", "5"),)))
    no.apply_snapshot(BookMsg("n", "0xm", "1", "", (("0.53", "5"),), (("0.55", "10"),)))
    assert native_book("0xm", yes, no).tradeable
    yes.apply_change("BUY", "0.47", "3")           # own best bid = own best ask: our copy is stale
    b = native_book("0xm", yes, no)
    assert not b.tradeable and b.reason == "yes token book crossed"
    # a side's asks are its own token's asks; the other token's bids are never added
    assert b.yes_asks == ((4700, 500),) and b.no_asks == ((5500, 1000),)


def test_rest_retries_429_and_5xx():
    async def main():
        async with poly_env(faults=Faults(http_429_every=2, http_429_retry_after=0.05)) as (sim, cfg):
            v = PolymarketVenue(cfg)
            assert len(await v.discover_markets()) == 7
            assert v.http.retries >= 1
            await v.close()
        async with poly_env(faults=Faults(http_5xx_every=3)) as (sim, cfg):
            v = PolymarketVenue(cfg)
            await v.discover_markets()
            b = await v.fetch_book(by_title(sim, "BRK"))
            assert b.tradeable and as_tuple(b) == expected(sim, by_title(sim, "BRK")) and v.http.retries >= 1
            await v.close()
    run(main())


# ---- orders (V2, signed by py-clob-client-v2, verified by the simulator) ---------------------

PRIV = "0x" + "5a" * 32


def trading_venue(sim, cfg, api_key: str, account: str) -> tuple[PolymarketVenue, PolymarketConfig]:
    """A venue trading as simulator account `account` with L2 key `api_key`, signing with PRIV."""
    from py_clob_client_v2.signer import Signer
    address = Signer(PRIV, 137).address()
    sim.register_creds(ApiCreds(address, api_key, SECRET, PASSPHRASE, account))
    cfg = PolymarketConfig(**{**cfg.__dict__, "address": address, "api_key": api_key, "private_key": PRIV})
    return PolymarketVenue(cfg), cfg


def test_order_lifecycle_and_pre_send_rules():
    from arbbot.venues.common import Action, OrderRejected, OrderRequest, OrderStatus, Side, TimeInForce

    async def main():
        async with poly_env() as (sim, cfg):
            v, cfg = trading_venue(sim, cfg, "9d3e1f00-0000-4000-8000-0000000000b2", "trader")
            await v.discover_markets()
            alv = by_title(sim, "ALV")
            acct = sim.exchange.accounts["trader"]
            # taker buy at the best YES ask (0.43 × 100 contracts resting): filled
            o = await v.place_order(OrderRequest(alv, Side.YES, 4300, 2_500))
            assert (o.status, o.filled_lots, o.remaining_lots, o.cost_micros) == (OrderStatus.FILLED, 2_500, 0, 10_750_000)
            assert acct.positions[alv] == 2_500
            # resting bid, listed, then cancelled
            r = await v.place_order(OrderRequest(alv, Side.YES, 3000, 1_000))
            assert r.status is OrderStatus.RESTING and r.remaining_lots == 1_000 and r.order_id.startswith("0x")
            assert [(x.order_id, x.side, x.price_ticks, x.remaining_lots) for x in await v.orders()] == \
                   [(r.order_id, Side.YES, 3000, 1_000)]
            c = await v.cancel_order(r.order_id)
            assert c.status is OrderStatus.CANCELED and await v.orders() == []
            # FAK larger than the two best levels: partial fill, remainder killed
            f = await v.place_order(OrderRequest(alv, Side.YES, 4400, 40_000, tif=TimeInForce.IOC))
            assert (f.status, f.filled_lots) == (OrderStatus.CANCELED, 7_500 + 20_000)
            # FOK that cannot fill: the venue refuses it
            with pytest.raises(OrderRejected, match="FOK orders are fully filled or killed"):
                await v.place_order(OrderRequest(alv, Side.NO, 3000, 500, tif=TimeInForce.FOK))
            # selling YES = crossing the YES bids
            s = await v.place_order(OrderRequest(alv, Side.YES, 3900, 1_000, action=Action.SELL))
            assert s.status is OrderStatus.FILLED and acct.positions[alv] == 2_500 + 27_500 - 1_000
            # rules enforced before sending: nothing reaches the venue
            n = len(sim.desk.ids)
            for bad, why in ((OrderRequest(alv, Side.YES, 4350, 1_000), "tick"),
                             (OrderRequest(alv, Side.YES, 4300, 400), "minimum"),
                             (OrderRequest(alv, Side.YES, 100, 600, tif=TimeInForce.IOC), r"\$1"),
                             (OrderRequest(alv, Side.YES, 0, 1_000), "tick")):
                with pytest.raises(OrderRejected, match=why):
                    await v.place_order(bad)
            assert len(sim.desk.ids) == n
            await v.close()
            # an order signed by a key other than the API key's address is refused by the venue
            other = PolymarketVenue(PolymarketConfig(**{**cfg.__dict__, "private_key": "0x" + "6b" * 32}))
            await other.discover_markets()
            with pytest.raises(OrderRejected, match="invalid signature"):
                await other.place_order(OrderRequest(alv, Side.YES, 3000, 1_000))
            await other.close()
    run(main())


def test_the_order_id_is_the_hash_for_the_signers_chain():
    """An order signed for Amoy (chain 80002) is reported, before sending, under the EIP-712 hash
    of chain 80002's domain — the one its signature recovers to the signer from; the Polygon hash
    of the same order differs (a lost answer would be looked up under an id the venue never had)."""
    from types import SimpleNamespace
    from py_clob_client_v2.signer import Signer
    from arbbot.venues.common import OrderRequest, Side, TimeInForce
    from arbbot.venues.polymarket.execution import PolymarketExecutionClient
    from arbbot.venues.polymarket.order_hash import order_hash, recover_signer

    class Http:
        async def clob_post(self, path, payload, auth=False):
            sent.append(payload)
            return {"success": True, "orderID": "0x0", "status": "matched", "makingAmount": "10",
                    "takingAmount": "20"}
    sent, reported = [], []
    market = SimpleNamespace(market_id="0xc", yes_token="1", no_token="2", tick_ticks=100, extra=(), neg_risk=False)
    cfg = PolymarketConfig(private_key=PRIV, chain_id=80002)
    client = PolymarketExecutionClient(Http(), cfg, SimpleNamespace(markets={"0xc": market}))
    client.on_order_id = lambda coid, oid: reported.append((coid, oid))
    asyncio.run(client.place(OrderRequest("0xc", Side.YES, 5000, 2_000, tif=TimeInForce.IOC, client_order_id="c1")))
    order = sent[0]["order"]
    assert reported == [("c1", order_hash(order, False, 80002))]
    assert recover_signer(order, False, 80002) == Signer(PRIV, 80002).address()
    assert order_hash(order, False, 137) != reported[0][1] and recover_signer(order, False, 137) != Signer(PRIV, 80002).address()


def test_orders_follow_a_tick_size_change():
    """After `tick_size_change` 0.01 → 0.001 on ALV, a bid at 30.1¢ (off the old grid) is checked,
    signed and accepted on the new one; the adapter's rules (`market_info`, what the executor prices
    unwinds on) carry the new tick. Before: refused locally, "off the 100-tick grid"."""
    from arbbot.venues.common import OrderRequest, OrderStatus, Side

    async def main():
        async with poly_env() as (sim, cfg):
            v, _ = trading_venue(sim, cfg, "9d3e1f00-0000-4000-8000-0000000000b4", "ticks")
            markets = await v.discover_markets()
            alv = by_title(sim, "ALV")
            assert v.market_info(alv).tick_ticks == 100
            dc = v.data_client(markets)
            dc.start()
            await wait_for(lambda: in_sync(dc, sim), what="initial snapshots")
            sim.change_tick_size(alv, 10)
            await wait_for(lambda: v.market_info(alv).tick_ticks == 10, what="the new tick")
            o = await v.place_order(OrderRequest(alv, Side.YES, 3010, 1_000))
            listed = [(x.order_id, x.price_ticks) for x in await v.orders()]
            await dc.close()
            await v.close()
            return o, listed
    o, listed = run(main())
    assert o.status is OrderStatus.RESTING and listed == [(o.order_id, 3010)]


def test_a_gamma_reload_stating_the_old_tick_does_not_undo_a_tick_size_change():
    """The CLOB moves ALV to 0.001 (`tick_size_change`); Gamma's listing still states 0.01 when the
    markets are read again (its `orderPriceMinTickSize` lags the CLOB). Before, the reload put the
    market back on the 0.01 grid: the adapter refused a bid at 30.1¢ the CLOB takes (and, the other
    way round, would have signed prices off the CLOB's grid). Now the CLOB's last word stands."""
    from arbbot.venues.common import OrderRequest, OrderStatus, Side

    async def main():
        async with poly_env() as (sim, cfg):
            v, _ = trading_venue(sim, cfg, "9d3e1f00-0000-4000-8000-0000000000b6", "ticks")
            markets = await v.discover_markets()
            alv = by_title(sim, "ALV")
            dc = v.data_client(markets)
            dc.start()
            await wait_for(lambda: in_sync(dc, sim), what="initial snapshots")
            sim.change_tick_size(alv, 10)
            await wait_for(lambda: v.market_info(alv).tick_ticks == 10, what="the new tick")
            listed = sim.market_json

            def lagging(cond):                              # Gamma still lists ALV's old tick
                listing = sim.listings[cond][2]
                now, listing.tick = listing.tick, (100 if cond == alv else listing.tick)
                try:
                    return listed(cond)
                finally:
                    listing.tick = now
            sim.market_json = lagging
            reloaded = {m.market_id: m for m in await v.discover_markets()}
            o = await v.place_order(OrderRequest(alv, Side.YES, 3010, 1_000))
            await dc.close()
            await v.close()
            return reloaded[alv].tick_ticks, v.market_info(alv).tick_ticks, o
    listed_tick, tick, o = run(main())
    assert (listed_tick, tick) == (10, 10)
    assert o.status is OrderStatus.RESTING and o.price_ticks == 3010


def test_a_tick_size_change_missed_by_the_stream_is_read_from_the_next_whole_book():
    """ALV's tick moves 0.01 → 0.001 while no connection hears it (before the stream starts, as
    during an outage): its `tick_size_change` is never sent again. Every whole book states the
    tick (`tick_size`): the stream's first snapshot and a REST book both carry 0.001. Before, the
    adapter kept checking and signing on 0.01; now its rules follow the book."""
    async def main():
        async with poly_env() as (sim, cfg):
            v, _ = trading_venue(sim, cfg, "9d3e1f00-0000-4000-8000-0000000000b7", "missed")
            markets = await v.discover_markets()
            alv = by_title(sim, "ALV")
            assert v.market_info(alv).tick_ticks == 100
            sim.change_tick_size(alv, 10)                   # no connection to hear it
            dc = v.data_client(markets)
            dc.start()
            await wait_for(lambda: in_sync(dc, sim), what="initial snapshots")
            streamed = v.market_info(alv).tick_ticks
            sim.change_tick_size(alv, 100)
            for c in list(sim.connections):                 # … and back, unheard again
                sim.connections.discard(c)
            await dc.refresh_book(alv)
            polled = v.market_info(alv).tick_ticks
            await dc.close()
            await v.close()
            return streamed, polled
    assert run(main()) == (10, 100)


def test_an_orders_fills_carry_its_fee_rounded_once_per_order():
    """Taker fee 4 %: a FAK over two levels whose fills' raw fees both have sub-$0.00001 parts
    (9,300 lots at 43¢ → $0.911772, 520 at 44¢ → $0.0512512): rounded up per order the venue
    charges $0.96303, rounding each fill on its own would say $0.96304. The fills' fees add up to
    what the venue charged."""
    from arbbot.venues.common import OrderRequest, Side, TimeInForce

    async def main():
        async with poly_env() as (sim, cfg):
            v, _ = trading_venue(sim, cfg, "9d3e1f00-0000-4000-8000-0000000000b3", "fees")
            await v.discover_markets()
            alv = by_title(sim, "ALV")
            await v.place_order(OrderRequest(alv, Side.YES, 4300, 700, tif=TimeInForce.IOC))   # 100 contracts at 43¢: 93 left
            # the fills it is priced on cost $42.278 (spent at the limit, $43.21 would buy 731 lots at 44¢)
            f = await v.place_order(OrderRequest(alv, Side.YES, 4400, 9_820, tif=TimeInForce.IOC,
                                                 spend_micros=9_300 * 4300 + 520 * 4400))
            fills = await v.fills()
            await v.close()
            return f, fills, sim.exchange.accounts["fees"].fees_paid[alv]
    f, fills, charged = run(main())
    mine = [(x.price_ticks, x.qty_lots, x.fee_micros) for x in fills if x.order_id == f.order_id]
    assert [(p, q) for p, q, _ in mine] == [(4300, 9_300), (4400, 520)]
    assert sum(fee for _, _, fee in mine) == 963_030 and sum(x.fee_micros for x in fills) == charged


def test_record_and_replay_market_channel(tmp_path):
    from arbbot.replay.format import raw_records
    from arbbot.replay.recorder import SessionRecorder
    path = tmp_path / "poly.jsonl"

    async def main():
        async with poly_env() as (sim, cfg):
            rec = SessionRecorder(path, "simulator")
            v = PolymarketVenue(cfg, recorder=rec.raw)
            markets = await v.discover_markets()
            dc = v.data_client(markets)
            dc.start()
            await wait_for(lambda: in_sync(dc, sim), what="initial snapshots")
            for _ in range(3):
                sim.process.step()
                await wait_for(lambda: in_sync(dc, sim), what="books after a step")
            assert await v.orders() == []
            live = {mid: dc.native(mid) for mid in dc.markets}
            await dc.close()
            await v.close()
            rec.close()
            replayed = PolymarketDataClient("ws://127.0.0.1:9/unused", markets, None)
            n = 0
            for r in raw_records(path):
                if r["kind"] == "ws" and r["venue"] == "polymarket":
                    await replayed.on_frame(r["frame"], r["recv_ts_ms"])
                    n += 1
            assert n > 3 and {mid: replayed.native(mid) for mid in replayed.markets} == live
            raw = path.read_bytes()
            assert SECRET.encode() not in raw and PASSPHRASE.encode() not in raw and b"POLY_SIGNATURE" not in raw
    run(main())


def test_prepare_orders_loads_the_signer_before_the_first_order():
    """`prepare_orders()` (run at start, before trading) builds the signer and signs one order
    that is never sent, so the first real order neither imports py-clob-client (1–2 s of CPU that
    held the GIL from the event loop) nor builds the signer; the venue saw no order from it."""
    from arbbot.venues.common import OrderRequest, OrderStatus, Side

    async def main():
        async with poly_env() as (sim, cfg):
            v, cfg = trading_venue(sim, cfg, "9d3e1f00-0000-4000-8000-0000000000c3", "trader")
            await v.discover_markets()
            assert v.exec._builder is None
            await v.prepare_orders()
            builder = v.exec._builder
            assert builder is not None and sim.exchange.accounts["trader"].positions == {}
            alv = by_title(sim, "ALV")
            o = await v.place_order(OrderRequest(alv, Side.YES, 4300, 2_500))
            assert o.status is OrderStatus.FILLED and v.exec._builder is builder
            # without a private key: the modules are loaded, no signer is built, nothing raises
            keyless = PolymarketVenue(PolymarketConfig(**{**cfg.__dict__, "private_key": ""}))
            await keyless.prepare_orders()
            assert keyless.exec._builder is None
    run(main())


def test_a_venue_that_cannot_prepare_is_logged_and_the_others_still_prepare():
    from arbbot.run.trader import prepare_orders

    class Prepares:
        prepared = False

        async def prepare_orders(self):
            self.prepared = True

    class Fails:
        async def prepare_orders(self):
            raise ValueError("bad private key")

    ok, bad = Prepares(), Fails()
    with capture_logs() as events:
        run(prepare_orders({"polymarket": bad, "kalshi": ok, "forecastex": object()}))
    assert ok.prepared
    assert [(e["event"], e["venue"], e["error"]) for e in events] == [
        ("venue.prepare_failed", "polymarket", "ValueError: bad private key")]


def test_neg_risk_buckets_are_the_events_groups_of_neg_risk_markets():
    """An event flagged neg-risk may hold a market that is not ("both teams to score" beside the
    match's three outcomes) or two races' groups: each group of neg-risk markets by its
    negRiskMarketID is a bucket, exhaustive only when known whole. As one exhaustive bucket, the
    all-NO set was said to pay one more than it can."""
    from arbbot.venues.polymarket.providers import neg_risk_groups
    from arbbot.venues.polymarket.schemas.gamma import parse_event

    def market(cid, group, neg=True):
        return {"conditionId": cid, "negRisk": neg, "negRiskMarketID": group, "outcomes": '["Yes", "No"]',
                "clobTokenIds": f'["{cid}1", "{cid}2"]', "outcomePrices": '["0.5", "0.5"]'}

    def groups(markets, **event):
        ev = parse_event({"id": "1", "negRisk": True, "markets": markets, **event})
        return neg_risk_groups(ev, {gm.condition_id: SimpleNamespace(market_id=gm.condition_id, active=True)
                                    for gm in ev.markets})
    match = [market(c, "0xm") for c in ("ARS", "DRAW", "CHE")] + [market("BTTS", "", neg=False)]
    assert groups(match) == [(("ARS", "DRAW", "CHE"), False)]                  # not every market is of it
    assert groups(match[:3]) == [(("ARS", "DRAW", "CHE"), True)]
    races = [market("GAD", "0xg"), market("GAR", "0xg"), market("OHD", "0xo"), market("OHR", "0xo")]
    assert groups(races) == [(("GAD", "GAR"), True), (("OHD", "OHR"), True)]
    races[3]["negRiskMarketID"] = ""                                             # of unknown group: none whole
    assert groups(races) == [(("GAD", "GAR"), False), (("OHD",), False)]
    assert groups(match[:3], negRiskAugmented=True) == [(("ARS", "DRAW", "CHE"), False)]
