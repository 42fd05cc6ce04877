"""The sizing pipeline's persistent state, read from and written to the order store: step 5's
samples and fill outcomes, per-lane daily realised PnL, the drawdown peak / stop latch, and the
loss budgets of trades in flight. A restart resumes from these (SIZING.md: "The peak and the tier
persist across restarts"). `portfolio()` assembles the whole `Portfolio` a running bot sizes against."""
from __future__ import annotations

from typing import Mapping

from arbbot.engine.types import Lane
from arbbot.model import MarketId, Side, Venue
from arbbot.sizing.config import SizingConfig
from arbbot.sizing.portfolio import DrawdownState, Exposure, Portfolio, advance, day_start_ms, tier, with_drawdown
from arbbot.sizing.robust import History

DAY_MS = 86_400_000


def history(store, now_ms: int, cfg: SizingConfig, newest: int | None = None) -> History:
    """Step 5's raw samples of the last `window_s` (times in seconds since the epoch; with
    `newest`, each key's newest that many) and all fill outcomes."""
    since = now_ms - int(cfg.robust_inputs.window_s * 1000)
    latency = {Venue.parse(k): v for k, v in store.estimate_samples("latency", since, newest).items()}
    depletion = {}
    for key, samples in store.estimate_samples("depletion", since, newest).items():
        market, _, side = key.rpartition("#")
        depletion[(market, Side.parse(side))] = samples
    mids = store.estimate_samples("mid", since, newest)
    fills = {Venue.parse(v): counts for v, counts in store.fill_outcomes().items()}
    return History(latency, depletion, mids, fills)


def lane_pnl(store, now_ms: int, cfg: SizingConfig, day_start_utc: str) -> dict[Lane, tuple[int, ...]]:
    """Per lane, the daily realised PnL (µ$) of the risk days in the last `window_days` days."""
    start = day_start_ms(now_ms, day_start_utc)
    since = start - (cfg.lane_allocator.window_days - 1) * DAY_MS
    return {Lane(code): days for code, days in store.lane_daily_pnl(since, start).items()}


def _state(row) -> DrawdownState:
    return DrawdownState() if row is None else DrawdownState(row[0], row[2])


def drawdown_state(store) -> DrawdownState:
    """The persisted peak and stop latch (a fresh store: peak 0, no stop)."""
    return _state(store.drawdown())


def observe_equity(store, equity: int, now_ms: int, cfg: SizingConfig, day_start_utc: str) -> DrawdownState:
    """Advance the drawdown state with the current equity (µ$) and persist it with its tier (read
    and written in one store transaction: an operator's ack is never overwritten)."""
    dm = cfg.drawdown_manager

    def step(row):
        state = advance(_state(row), equity, now_ms, halt_pct=dm.halt_pct, reset=dm.reset, day_start_utc=day_start_utc)
        return state.peak, equity, state.stopped_ms, tier(state.peak, equity, state.stopped, dm.caution_pct, dm.halt_pct)

    peak, _, stopped_ms, _ = store.update_drawdown(step)
    return DrawdownState(peak, stopped_ms)


# executions whose positions are still held: every terminal state (an unwound or aborted one may
# be left holding lots: dust under a venue's minimum, an over-fill; one flat holds nothing)
HELD_STATES = ("complete", "naked", "unwound", "aborted")
INFLIGHT_STATES = ("executing",)


def _add(book: dict, key, held: int = 0, inflight: int = 0) -> None:
    e = book.get(key, Exposure())
    book[key] = Exposure(e.held + held, e.inflight + inflight)


def exposures(store, meta: Mapping[str, tuple[str | None, str | None]]) -> tuple[dict, dict, dict, dict]:
    """Held and in-flight cost in µ$ per venue, market, event and category. Held: terminal
    executions' entry fills (cost + fee) for the lots still held (`HELD_STATES`), fees added;
    in flight: executing executions' planned legs (cost + fee). `meta[market]` = (event, category);
    a market missing from it counts for the event and category recorded with the execution's leg
    when it was created (`OrderStore.market_meta`), else (an older row) for its venue and itself only."""
    per_market: dict[str, Exposure] = {}
    recorded: dict[str, tuple[str | None, str | None]] = {}      # market → (event, category) of its legs
    held: dict[str, int] = {}
    for market, cost, fee, event, category in store.held_legs(HELD_STATES):
        held[market] = held.get(market, 0) + cost + fee
        if event is not None or category is not None:
            recorded[market] = (event, category)
    for market in sorted(held):                   # by market, as `held_cost_by_market`
        _add(per_market, market, held=held[market])
    for x in store.executions(INFLIGHT_STATES):
        for leg in x.legs:
            _add(per_market, leg["market"], inflight=leg["cost"] + leg["fee"])
            if leg.get("event") is not None or leg.get("category") is not None:
                recorded[leg["market"]] = (leg.get("event"), leg.get("category"))
    venues: dict[Venue, Exposure] = {}
    events: dict[str, Exposure] = {}
    categories: dict[str, Exposure] = {}
    for market, e in per_market.items():
        _add(venues, MarketId.parse(market).venue, e.held, e.inflight)
        event, category = meta[market] if market in meta else recorded.get(market, (None, None))
        if event is not None:
            _add(events, event, e.held, e.inflight)
        if category is not None:
            _add(categories, category, e.held, e.inflight)
    return venues, per_market, events, categories


def portfolio(store, *, cash: Mapping[Venue, int], equity: int, now_ms: int, cfg: SizingConfig,
              day_start_utc: str, meta: Mapping[str, tuple[str | None, str | None]],
              samples: History | None = None) -> Portfolio:
    """The portfolio at `now_ms`: free cash per venue and equity E (µ$, from the venues), the
    persisted peak and stop (call `observe_equity` first to advance them), exposures, today's
    realised loss, the budgets in flight, per-lane daily PnL and step 5's samples (`samples`: the
    caller's own, e.g. a running session's in memory, with the store's fill outcomes; else all
    read from the store)."""
    venues, markets, events, categories = exposures(store, meta)
    p = Portfolio(cash=dict(cash), equity=equity, peak=equity, venues=venues, markets=markets, events=events,
                  categories=categories,
                  realised_loss_today=store.daily_loss(day_start_ms(now_ms, day_start_utc)),
                  inflight_budgets=store.inflight_loss_budgets(), lane_pnl=lane_pnl(store, now_ms, cfg, day_start_utc),
                  history=history(store, now_ms, cfg) if samples is None else
                  History(samples.latency, samples.depletion, samples.mids,
                          {Venue.parse(v): c for v, c in store.fill_outcomes().items()}))
    return with_drawdown(p, drawdown_state(store))
