"""Trades and portfolios shared by the pipeline tests (built on scenarios.py's hand-checked inputs)."""
from __future__ import annotations

from dataclasses import replace

from hypothesis import strategies as st

from arbbot.engine.types import Lane
from arbbot.model import Side, Venue
from arbbot.sizing.config import from_toml_dict
from arbbot.sizing.portfolio import Exposure, Portfolio
from arbbot.sizing.trade import Trade, TradeLeg
from tests.sizing.scenarios import cross, parity
from tests.sizing.strategies import opportunities

SIDES = (Side.YES, Side.NO)


def as_trade(inp, lane: Lane = Lane.CROSS, events=None, categories=None) -> Trade:
    """A trade over `inp`'s legs: leg j trades market `<venue>:M<j>`, YES then NO alternately."""
    legs = tuple(TradeLeg(f"{leg.venue.label}:M{j}", SIDES[j % 2], (events or {}).get(j), (categories or {}).get(j))
                 for j, leg in enumerate(inp.legs))
    return Trade(lane, legs, inp)


def parity_trade(**kw) -> Trade:
    """Scenario B (two Kalshi markets, 50 contracts, c = 0.9) on the parity lane, both in event E."""
    return as_trade(parity(), Lane.PARITY, events={0: "E", 1: "E"}, **kw)


def cross_trade() -> Trade:
    return as_trade(cross(), Lane.CROSS)


def portfolio(dollars: int, venues=(Venue.KALSHI, Venue.POLYMARKET, Venue.FORECASTEX), **kw) -> Portfolio:
    micros = dollars * 1_000_000
    return Portfolio(cash={v: micros for v in venues}, equity=micros, peak=micros, **kw)


@st.composite
def trades(draw):
    inp = draw(opportunities())
    lane = draw(st.sampled_from(list(Lane)))
    events = {j: draw(st.sampled_from(["E1", "E2"])) for j in range(len(inp.legs)) if draw(st.booleans())}
    categories = {j: "C" for j in range(len(inp.legs)) if draw(st.booleans())}
    return as_trade(inp, lane, events, categories)


@st.composite
def configs(draw):
    """`[sizing]` tables with random portfolio-step limits (Monte Carlo kept short)."""
    lanes = draw(st.lists(st.sampled_from([lane.label for lane in Lane]), min_size=1, max_size=5, unique=True))
    caution = draw(st.floats(0, 50))
    return from_toml_dict({
        "monte_carlo": {"paths": draw(st.integers(1, 60))},
        "fill_model": {"min_fill_prob": draw(st.floats(0, 0.9))},
        "capital_lock": {"min_annual_return": draw(st.floats(0, 0.3))},
        "lane_allocator": {"lanes": lanes, "min_days": 2, "sharpe_floor": draw(st.floats(0.01, 1))},
        "loss_cap": {"loss_budget_usd": draw(st.floats(0, 100)), "gamma": draw(st.floats(0, 4))},
        "exposure_manager": {"max_venue_usd": draw(st.floats(0, 20_000)), "max_event_usd": draw(st.floats(0, 5_000)),
                             "max_market_usd": draw(st.floats(0, 5_000)),
                             "max_category_usd": draw(st.floats(0, 5_000))},
        "drawdown_manager": {"caution_pct": caution, "halt_pct": caution + draw(st.floats(0.1, 50)),
                             "caution_multiplier": draw(st.floats(0, 1))},
    })


@st.composite
def portfolios(draw):
    cash = {v: draw(st.integers(0, 10_000_000_000)) for v in Venue}
    equity = draw(st.integers(0, 20_000_000_000))
    lane_pnl = {lane: tuple(draw(st.lists(st.integers(-5_000_000, 5_000_000), max_size=10))) for lane in Lane}
    exposures = {m: Exposure(draw(st.integers(0, 600_000_000)), draw(st.integers(0, 100_000_000)))
                 for m in draw(st.lists(st.sampled_from(["kalshi:M0", "polymarket:M1", "forecastex:M2"]), unique=True))}
    return Portfolio(cash=cash, equity=equity, peak=equity + draw(st.integers(0, 5_000_000_000)),
                     markets=exposures, realised_loss_today=draw(st.integers(0, 60_000_000)),
                     inflight_budgets=draw(st.integers(0, 30_000_000)), lane_pnl=lane_pnl)


def scaled(p: Portfolio, k: int) -> Portfolio:
    """k times the bankroll (cash, equity, peak): the same drawdown."""
    return replace(p, cash={v: c * k for v, c in p.cash.items()}, equity=p.equity * k, peak=p.peak * k)
