"""A Kalshi simulator with a planted parity arbitrage and the real adapter pointed at it."""
from __future__ import annotations

import asyncio
import json

from arbbot.engine import FeeSchedule, Market, Book, Relation, RelationKind, Universe, Venue, scan
from arbbot.execution import Route
from arbbot.sim import Faults, serve
from arbbot.venues.kalshi import KalshiConfig, KalshiVenue

EV = "KXNBAGAME-26NOV30LALBOS"
A, B = f"{EV}-LAL", f"{EV}-BOS"          # complement pair: exactly one is YES


def start_sim(faults: Faults | None = None):
    """Sports scenario, no random price steps, 100 contracts a level (the tests' prices and cash are
    worked out on it); LAL requoted around 40¢ so YES LAL + YES BOS < $1."""
    h = serve("sports", seed=3, faults=faults, step_interval=None, depth="fixed")

    def plant():
        sim = h.kalshi
        _e, _q, listing = sim.listings[A]
        sim.process.quote(listing, 4000)
    h.loop.call_soon_threadsafe(plant)
    fut = asyncio.run_coroutine_threadsafe(asyncio.sleep(0), h.loop)
    fut.result(5)
    return h


def take_b_asks(h) -> None:
    """On the simulator's loop: B's YES asks are all taken (the house's NO bids on B go; its YES bid
    stays at 40¢): leg 1 can be neither bought as planned nor completed at any price, so the
    executor must unwind leg 0. (A mere re-price of B would not do: completing at the new price
    may lose less than unwinding, and the executor then completes.)"""
    from arbbot.sim.engine.matching import HOUSE
    sim = h.kalshi
    _e, _q, listing = sim.listings[B]
    sim.process.ex.cancel_all(HOUSE, listing.market_id)
    sim.process.ex.place(HOUSE, listing.market_id, "yes", "buy", 4000, 10_000)


def sim_config(h) -> dict:
    return {"rest_url": h.urls["kalshi_rest"], "ws_url": h.urls["kalshi_ws"], "key_id": h.kalshi_key_id,
            "private_key_pem": h.kalshi_private_key_pem.decode()}


def venue(cfg: dict) -> KalshiVenue:
    return KalshiVenue(KalshiConfig(rest_url=cfg["rest_url"], ws_url=cfg["ws_url"], key_id=cfg["key_id"],
                                    private_key_pem=cfg["private_key_pem"].encode()))


def routes(v: KalshiVenue) -> dict:
    return {f"kalshi:{A}": Route(v, A), f"kalshi:{B}": Route(v, B)}


async def opportunity(v: KalshiVenue, max_qty: int = 1000):
    """Scan the two live books with the engine (python twin) and return the parity opportunity."""
    fees = FeeSchedule(taker_rate_ppm=70_000, rounding=10_000)
    mk = []
    for t in (A, B):
        b = await v.fetch_book(t)
        mk.append(Market(Venue.KALSHI, t, fees, 100, Book(yes_bids=b.yes_bids, no_bids=b.no_bids)))
    u = Universe(tuple(mk), (Relation(RelationKind.COMPLEMENT, (0, 1)),), max_qty=max_qty)
    opps = [o for o in scan(u, engine="python").opportunities if o.kind.label == "yes_a_yes_b"]
    assert opps, "the planted parity arbitrage was not found"
    return opps[0]


def dump_opp(o) -> str:
    return json.dumps({"id": o.id, "lane": int(o.lane), "kind": int(o.kind), "qty": o.qty, "payout": o.payout,
                       "cost": o.cost, "fee": o.fee, "profit": o.profit,
                       "legs": [[l.market, int(l.side), l.qty, l.worst_price, l.cost, l.fee] for l in o.legs]})


def load_opp(s: str):
    from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side
    d = json.loads(s)
    legs = tuple(Leg(m, Side(sd), q, w, c, f) for m, sd, q, w, c, f in d["legs"])
    return Opportunity(d["id"], Lane(d["lane"]), Kind(d["kind"]), d["qty"], d["payout"], d["cost"], d["fee"],
                       d["profit"], legs)
