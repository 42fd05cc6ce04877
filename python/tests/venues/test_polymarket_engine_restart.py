"""Polymarket's matching-engine restart (docs.polymarket.com/trading/matching-engine): ~90 s during
which every order-related CLOB endpoint answers HTTP 425 Too Early ("not a permanent error: back
off and retry"), then 2 minutes of post-only mode (non-post-only orders refused).

Before, the transport took a 425 for an ordinary answer: `POST /order` raised a plain
OrderRejected and reads a VenueError, the books stayed tradeable, so the bot kept sending
executions whose Polymarket leg was refused (each unwinding its other legs at a loss), and a
Polymarket leg to unwind spent its 6 attempts in ~3.4 s and ended naked, in safe mode. Now a 425
refuses an order as `VenueUnavailable` (nothing placed), is retried on a read, holds every book
until the post-only mode is over, and an unwind waits for the venue without spending attempts.

The simulator plays the restart with `Faults.poly_restart_s` / `poly_post_only_s` (short windows
here), the adapter's hold constants are shortened by monkeypatching.
"""
from __future__ import annotations

import asyncio
import logging
import time

import pytest

from arbbot.execution import Executor, ExecutorConfig, OrderStore, Route
from arbbot.sim.polymarket.orders import POST_ONLY, POST_ONLY_MODE
from arbbot.sim.scenarios import Faults
from arbbot.venues.common.errors import OrderRejected, TransportError, VenueUnavailable
from arbbot.venues.common.model import OrderRequest, OrderStatus, Side, TimeInForce
from arbbot.venues.polymarket import venue as poly_venue
from tests.execution.test_buys_by_amount import _books, _markets, _opportunity
from tests.sim.venue_envs import polymarket, until
from tests.venues.test_fallback import Consumer

HELD = poly_venue.RESTARTING


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def _order(cond: str, **kw) -> OrderRequest:
    """A marketable BUY of 10 YES shares at 0.99 ($9.90): one the venue takes when it is up."""
    return OrderRequest(cond, Side.YES, kw.pop("price", 9_900), 1_000, tif=kw.pop("tif", TimeInForce.IOC), **kw)


def _placed(sim) -> list:
    """The account's orders the simulated venue holds (any state)."""
    return [o for o in sim.exchange.orders.values() if o.account == "trader"]


@pytest.fixture
def short_hold(monkeypatch):
    """The adapter's restart hold shortened: probes every 0.05–0.1 s, held 0.8 s after 425s stop."""
    monkeypatch.setattr(poly_venue, "RESTART_PROBE_S", 0.05)
    monkeypatch.setattr(poly_venue, "RESTART_PROBE_CAP_S", 0.1)
    monkeypatch.setattr(poly_venue, "RESTART_HOLD_S", 0.8)


# ---- (a) the transport -------------------------------------------------------------------------

def test_an_order_during_the_restart_is_refused_as_unavailable_after_one_request(monkeypatch):
    """`POST /order` answered 425: VenueUnavailable (an OrderRejected: every caller takes it as a
    refusal) after exactly one request, with a retry hint, and nothing placed at the venue."""
    monkeypatch.setattr(poly_venue, "RESTART_PROBE_S", 60.0)     # no probe during the test
    async def main():
        async with polymarket() as (sim, v, _clock):
            cond = (await v.discover_markets())[0].market_id
            sim.faults = Faults(poly_restart_s=60.0)
            before = sim.requests
            with pytest.raises(VenueUnavailable) as refused:
                await v.place_order(_order(cond))
            assert sim.requests - before == 1
            assert isinstance(refused.value, OrderRejected)
            assert refused.value.status == 425 and refused.value.retry_after == 1.0
            assert _placed(sim) == [] and sim.desk.ids == {}
    run(main())


def test_reads_during_a_short_restart_are_retried_and_succeed_after_it(short_hold):
    """`GET /data/orders` and `GET /data/order/{id}` answered 425 for 0.3 s: retried with backoff
    within the read's retry budget, answered once the engine is back (its post-only mode serves
    reads). A GTC order placed before is read as it is."""
    async def main():
        async with polymarket(max_retries=40) as (sim, v, _clock):
            cond = (await v.discover_markets())[0].market_id
            resting = await v.place_order(_order(cond, price=100, tif=TimeInForce.GTC))
            sim.faults = Faults(poly_restart_s=0.3, poly_post_only_s=5.0)
            retries = v.http.retries
            assert [o.order_id for o in await v.orders()] == [resting.order_id]
            assert v.http.retries > retries and sim.engine_state() == POST_ONLY
            sim.faults = Faults(poly_restart_s=0.3, poly_post_only_s=5.0)
            found = await v.order(resting.order_id)
            assert found.order_id == resting.order_id and found.status is OrderStatus.RESTING
    run(main())


def test_a_read_during_a_long_restart_fails_as_a_transport_error():
    """Past the read's retry budget the 425 is a TransportError (transient: callers retry later),
    not a refusal."""
    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            sim.faults = Faults(poly_restart_s=60.0)
            with pytest.raises(TransportError) as failed:
                await v.orders()
            assert failed.value.status == 425 and not isinstance(failed.value, OrderRejected)
    run(main())


# ---- (b) the venue holds its books -------------------------------------------------------------

def test_a_425_holds_every_book_until_the_post_only_mode_is_over(short_hold, caplog):
    """One 425 (an order sent as the restart starts): every streamed book, and a fetched one, is
    held at once and stays held through the restart and its post-only mode (the adapter asks an
    order endpoint until 425s stop, then waits the hold out); then released. Held and released
    are logged once each, however many 425s came."""
    caplog.set_level(logging.INFO, logger="arbbot.venues.polymarket.venue")

    async def main():
        async with polymarket() as (sim, v, _clock):
            ids = [m.market_id for m in await v.discover_markets()]
            c = Consumer(v.stream_books(ids))
            await until(lambda: all(i in c.latest and c.latest[i].tradeable for i in ids), what="books")
            sim.faults = Faults(poly_restart_s=0.6, poly_post_only_s=0.6)
            for _ in range(2):
                with pytest.raises(VenueUnavailable):
                    await v.place_order(_order(ids[0]))
            await until(lambda: all(not c.latest[i].tradeable for i in ids), what="held books")
            assert {c.latest[i].reason for i in ids} == {HELD} and v.outage == HELD
            assert all(c.latest[i].yes_bids or c.latest[i].no_bids for i in ids)      # levels kept
            fetched = await v.fetch_book(ids[0])
            assert (fetched.tradeable, fetched.reason) == (False, HELD)
            await until(lambda: sim.engine_state() == POST_ONLY, what="post-only mode")
            assert v.outage == HELD and not any(c.latest[i].tradeable for i in ids)
            await until(lambda: all(c.latest[i].tradeable for i in ids), timeout=10, what="books released")
            assert sim.engine_state() == "" and v.outage == ""
            assert (await v.fetch_book(ids[0])).tradeable
            c.task.cancel()
    run(main())
    logged = [r.getMessage() for r in caplog.records]
    assert sum("every book held" in m for m in logged) == 1
    assert sum("books released" in m for m in logged) == 1


def test_a_refusal_in_the_post_only_mode_is_part_of_the_restart(short_hold, monkeypatch):
    """Once 425s stop the engine takes post-only orders only: an IOC order refused then (HTTP 503,
    code post_only_mode, as the venue documents) is VenueUnavailable with the venue's retry delay,
    and holds the books; a post-only GTC order rests and is cancelled."""
    monkeypatch.setattr(poly_venue, "RESTART_HOLD_S", 30.0)
    async def main():
        async with polymarket() as (sim, v, _clock):
            cond = (await v.discover_markets())[0].market_id
            sim.faults = Faults(poly_restart_s=0.3, poly_post_only_s=30.0)
            with pytest.raises(VenueUnavailable):
                await v.place_order(_order(cond))
            await until(lambda: sim.engine_state() == POST_ONLY, what="post-only mode")
            with pytest.raises(VenueUnavailable) as refused:
                await v.place_order(_order(cond))
            assert refused.value.status == 503 and POST_ONLY_MODE in str(refused.value)
            assert refused.value.code == "post_only_mode" and 1 <= refused.value.retry_after <= 30
            rests = await v.place_order(_order(cond, price=100, tif=TimeInForce.GTC, post_only=True))
            assert rests.status is OrderStatus.RESTING
            assert (await v.cancel_order(rests.order_id)).status is OrderStatus.CANCELED
            assert v.outage == HELD
    run(main())


# ---- (c) an unwind through the restart ---------------------------------------------------------

async def _pair_execution(sim, v, tmp_path, on_step) -> tuple:
    """Markets A, B with their books (A's YES bid 0.44) and execution "x" of the pair through the
    executor, unwind attempts 0.05 s apart, `on_step(sim, step)` at each step: (result, store, A)."""
    await v.discover_markets()
    a, b = _markets(sim)
    _books(sim, a, b, a_yes_bid=4_400)
    store = OrderStore(tmp_path / "o.db")
    ex = Executor(store, {f"polymarket:{c}": Route(v, c, v.provider.markets[c]) for c in (a, b)},
                  config=ExecutorConfig(unwind_pause_s=0.05, unwind_pause_cap_s=0.05),
                  on_step=lambda step: on_step(sim, step))
    res = await ex.execute(_opportunity(f"polymarket:{a}", f"polymarket:{b}"), execution_id="x")
    return res, store, a


def test_a_polymarket_leg_to_unwind_during_the_restart_waits_for_the_venue_and_ends_unwound(tmp_path, short_hold):
    """Leg 0 (A's YES, 30,000 lots) fills; the engine restarts then (0.6 s of 425s, 0.6 s post-only)
    and leg 1's order is refused 425. Leg 0 must be unwound: with unwind attempts 0.05 s apart
    (all six inside the restart: before, each was refused and the execution ended naked, in safe
    mode), the executor now sends nothing while the venue is held, and after it one sale unwinds
    the leg: `unwound`, no safe mode."""
    sent: list[tuple[str, str]] = []                # (step, the simulated engine's state then)

    def on_step(sim, step: str) -> None:
        if step == "filled:L0":
            sim.faults = Faults(poly_restart_s=0.6, poly_post_only_s=0.6)
        sent.append((step, sim.engine_state()))

    async def main():
        async with polymarket() as (sim, v, _clock):
            began = time.monotonic()
            res, store, a = await _pair_execution(sim, v, tmp_path, on_step)
            took = time.monotonic() - began
            intents = [(i.leg, i.role, i.attempt, i.action, i.filled_qty, i.state) for i in store.intents("x")]
            refusal = next(i.error for i in store.intents("x") if i.leg == 1)
            safe = store.safe_mode()
            store.close()
            return res, intents, refusal, safe, sim.exchange.accounts["trader"].positions.get(a, 0), took
    res, intents, refusal, safe, held_a, took = run(main())
    assert res.state == "unwound" and res.filled == {0: 0, 1: 0} and safe is None
    assert intents == [(0, "entry", 0, "buy", 30_000, "filled"), (1, "entry", 0, "buy", 0, "rejected"),
                       (0, "unwind", 0, "sell", 30_000, "filled")]
    assert "HTTP 425" in refusal and held_a == 0
    # the one unwind order was sent once the restart and its post-only mode were over
    assert ("unwind_intent:L0", "") in sent and not any(s.startswith("unwind") and st for s, st in sent)
    assert took < 20


def test_an_unwind_refused_as_unavailable_is_sent_again_under_a_new_order_id(tmp_path, short_hold):
    """As above, but leg 1 is refused the ordinary way and the restart begins as the first unwind
    order leaves: that order is refused 425 (VenueUnavailable). The unwind waits and sends again,
    at the same attempt (the same slippage) and under a new client order id. Before (crash review,
    session 33), it reused x-L0U0: the store's unique intent key refused the write, the execution
    erred and ended naked in safe mode, leg 0's 30,000 lots never sold."""
    restarted = []

    def on_step(sim, step: str) -> None:
        if step == "filled:L0":
            sim.faults = Faults(order_reject_every=1)                 # leg 1: an ordinary rejection
        elif step == "unwind_intent:L0" and not restarted:
            restarted.append(step)
            sim.faults = Faults(poly_restart_s=0.6, poly_post_only_s=0.6)

    async def main():
        async with polymarket() as (sim, v, _clock):
            res, store, a = await _pair_execution(sim, v, tmp_path, on_step)
            intents = [(i.client_order_id, i.action, i.price, i.filled_qty, i.state) for i in store.intents("x")]
            safe = store.safe_mode()
            store.close()
            return res, intents, safe, sim.exchange.accounts["trader"].positions.get(a, 0)
    res, intents, safe, held_a = run(main())
    assert (res.state, res.filled, res.errored, safe, held_a) == ("unwound", {0: 0, 1: 0}, False, None, 0)
    assert [(coid, state) for coid, _a, _p, _q, state in intents] == [
        ("x-L0E0", "filled"), ("x-L1E0", "rejected"), ("x-L0U0", "rejected"), ("x-L0U1", "filled")]
    assert intents[2][2] == intents[3][2]               # the same price: the attempt was not spent
