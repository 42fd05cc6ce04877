"""The whole sizing pipeline (SIZING.md "Order"): 5 → 1, 2, 3, 6, 7, 8, 4 → 9 → 10 → 11 → 12, then
the final re-price.

    sizing = size_trade(trade, portfolio, cfg, now_s=time.time())
    sizing.qty            # lots to send (0 = do not trade)
    sizing.steps          # all twelve StepResults in computation order

Before the chain (they do not depend on q): the estimates (step 5), the lane bankroll (step 9) and
the loss budget (step 10), which the chain's Monte Carlo reads. The per-opportunity chain is a
parameter (`chain`, default the Python twin) so the Swift twin can be selected.

The decision (qty, profit, bound_by, note, the re-priced trade) is made from the steps' quantities
and outcomes; the twelve step records (`sizing.steps`) are assembled on first access, from the
same values, so a caller that only trades (a running bot) does not build the records of the
per-opportunity chain (`native.size_lazy` decodes them from the engine's bytes when asked).
"""
from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Callable, Iterable

from arbbot.engine.types import Lane
from arbbot.model import Venue
from arbbot.sizing.config import SizingConfig
from arbbot.sizing.portfolio import Portfolio
from arbbot.sizing.portfolio_steps import (
    RobustRecord, drawdown_manager, exposure_manager, lane_allocator, lane_bankroll, loss_budget, loss_cap,
    robust_step, skipped,
)
from arbbot.sizing.pricing import lot_of, reprice
from arbbot.engine.select import implementation
from arbbot.sizing import robust, robust_native
from arbbot.sizing.robust import History, RobustParams
from arbbot.sizing.steps import size_opportunity
from arbbot.sizing.trade import Trade, TradeLeg
from arbbot.units import format_qty
from arbbot.sizing.types import (
    ORDER, Outcome, Priced, SizingInput, SizingLeg, SizingParams, SizingResult, StepResult, VenueStats,
)

Chain = Callable[[SizingInput, SizingParams], SizingResult]
REPRICE = "re-price"
ENGINE = "engine"
MAX_STEP_DOWN = 1_000        # lots the final re-price may step down
_LABELS = tuple(s.label for s in ORDER)


class TradeSizing:
    """The pipeline's answer for one trade. `qty` lots (0 = dropped / rejected); `profit` µ$ of the
    re-priced trade at `qty` (0 when dropped); `bound_by` the label of the last step that lowered
    the quantity, "engine" if none, "re-price" if the final re-price dropped the trade (SIZING.md
    "Explain"; a re-price that only stepped the quantity down says so in `note`).

    Immutable, compared and hashed by its fields as a frozen dataclass would be. `steps` may be
    given as a callable that builds the tuple: it is called once, on first access. `outcomes`:
    each step's Outcome in `ORDER` (what the decision and the counters read, without `steps`)."""
    __slots__ = ("id", "lane", "engine_qty", "qty", "profit", "bound_by", "note", "_steps", "priced", "loss_budget",
                 "outcomes")
    FIELDS = ("id", "lane", "engine_qty", "qty", "profit", "bound_by", "note", "steps", "priced", "loss_budget")

    def __init__(self, id: str, lane: Lane, engine_qty: int, qty: int, profit: int, bound_by: str, note: str,
                 steps, priced: Priced | None, loss_budget: float, outcomes: tuple[Outcome, ...] | None = None
                 ) -> None:
        put = object.__setattr__
        put(self, "id", id)
        put(self, "lane", lane)
        put(self, "engine_qty", engine_qty)
        put(self, "qty", qty)
        put(self, "profit", profit)
        put(self, "bound_by", bound_by)
        put(self, "note", note)
        if not callable(steps):
            steps = tuple(steps)
        put(self, "_steps", steps)
        put(self, "priced", priced)
        put(self, "loss_budget", loss_budget)
        put(self, "outcomes", tuple(s.outcome for s in self.steps) if outcomes is None else outcomes)

    @property
    def steps(self) -> tuple[StepResult, ...]:
        """All twelve StepResults, SIZING.md computation order."""
        steps = self._steps
        if not isinstance(steps, tuple):
            steps = tuple(steps())
            object.__setattr__(self, "_steps", steps)
        return steps

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return f"TradeSizing({', '.join(f'{name}={getattr(self, name)!r}' for name in self.FIELDS)})"

    def __reduce__(self):                    # copy / pickle: the records built, as values
        return TradeSizing, (*self._values(), self.outcomes)

    def __setattr__(self, name, value):
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        raise FrozenInstanceError(f"cannot delete field {name!r}")


def with_estimates(trade: Trade, history: History, now_s: float, cfg: SizingConfig,
                   memo: dict | None = None) -> tuple[SizingInput, RobustRecord]:
    """Step 5: the trade's input with ρ per leg, s per leg (its market's), and venue stats
    (latency median — samples 0 when it is the prior, so `round_trip_s` is used — and raw fill
    counts); plus the record explain lists. `memo`: estimates already computed from this same
    `history` (a running bot keeps one per portfolio refresh, so each estimate is cleaned once
    per refresh, its window ending at the first opportunity sized after it)."""
    legs, venues, record = _estimates(trade, history, now_s, cfg, {} if memo is None else memo)
    ti = trade.input
    return SizingInput(ti.id, ti.payout, ti.qty, legs, ti.confidence, ti.days_to_close, ti.min_profit, ti.equity,
                       ti.loss_budget, venues), record()


def _estimates(trade: Trade, history: History, now_s: float, cfg: SizingConfig, memo: dict
               ) -> tuple[tuple[SizingLeg, ...], tuple[VenueStats, ...], Callable[[], RobustRecord]]:
    """`with_estimates`' values: the legs with ρ and s, the venue stats, and what makes the record."""
    values, venues, record = leg_estimates(trade.legs, history, now_s, cfg, memo)
    legs = tuple(SizingLeg(leg.venue, leg.lot, leg.fees, leg.ladder, leg.best_bid, rho, s)
                 for leg, (rho, s) in zip(trade.input.legs, values))
    return legs, venues, lambda: record(leg.venue for leg in legs)


def leg_estimates(trade_legs: tuple[TradeLeg, ...], history: History, now_s: float, cfg: SizingConfig, memo: dict
                  ) -> tuple[list[tuple[float, float]], tuple[VenueStats, ...],
                             Callable[[Iterable[Venue]], RobustRecord]]:
    """Step 5 for the legs (market, side): (ρ, s) per leg, the venue stats, and what makes the
    record from the legs' venues. Read from `memo` when already estimated."""
    rp = memo.get("params")
    if rp is None:
        rp = memo["params"] = RobustParams.from_config(cfg)
        # the Swift estimates unless ARB_ENGINE_ESTIMATES / ARB_ENGINE say python: chosen per refresh
        memo["estimator"] = robust_native if implementation("estimates") == "swift" else robust
    estimator = memo["estimator"]
    venue_stats = memo.get("venues")         # (VenueStats per Venue, latency Estimate per Venue)
    if venue_stats is None:
        lat, stats = {}, []
        for v in Venue:
            est = memo.get(("latency", v))
            if est is None:
                est = memo[("latency", v)] = estimator.latency(history, v, now_s, rp)
            fills, attempts = history.fills.get(v, (0, 0))
            stats.append(VenueStats(fills, attempts, est.value, 0 if est.prior else est.samples))
            lat[v] = est
        venue_stats = memo["venues"] = (tuple(stats), lat)
    venues, lat = venue_stats
    values, depletion, vol = [], [], {}
    for meta in trade_legs:
        market = meta.market
        rho = memo.get(("rho", market, meta.side))
        if rho is None:
            rho = memo[("rho", market, meta.side)] = estimator.depletion_rate(history, market, meta.side, now_s, rp)
        s = vol.get(market)
        if s is None:
            s = memo.get(("vol", market))
            if s is None:
                s = memo[("vol", market)] = estimator.price_volatility(history, market, now_s, rp)
            vol[market] = s
        values.append((rho.value, s.value))
        depletion.append(rho)
    fills = history.fills

    def record(leg_venues: Iterable[Venue]) -> RobustRecord:
        used = tuple(dict.fromkeys(leg_venues))
        return RobustRecord(tuple((v, lat[v]) for v in used), tuple(depletion), tuple(vol.items()),
                            tuple((v, *fills.get(v, (0, 0))) for v in used))
    return values, venues, record


def _passes(inp: SizingInput, params: SizingParams, priced: Priced) -> bool:
    """The final re-price's test: profit ≥ min_profit and (fee_model on) every leg ≥ its venue minimum."""
    if priced.profit < inp.min_profit:
        return False
    return not params.fee_model or all(
        cost >= params.min_order[int(leg.venue)] for cost, leg in zip(priced.leg_cost, inp.legs))


def final_reprice(inp: SizingInput, params: SizingParams, qty: int,
                  priced_at: Callable[[int], Priced] | None = None) -> Priced | None:
    """The largest q ≤ qty, stepping down one lot at a time (at most 1,000 lots), whose re-priced
    trade passes `_passes`; None when there is none. `priced_at(q)`: `reprice(inp, params, q)`,
    when the caller keeps the trades it already re-priced."""
    lot = lot_of(inp)
    for k in range(MAX_STEP_DOWN + 1):
        q = qty - k * lot
        if q <= 0:
            return None
        priced = reprice(inp, params, q) if priced_at is None else priced_at(q)
        if _passes(inp, params, priced):
            return priced
    return None


def memo_budget(confidence: float, portfolio: Portfolio, cfg: SizingConfig, daily_loss_cap_usd: float, memo: dict
                ) -> tuple[float, float]:
    """Step 10's (budget, left) for `confidence` (`loss_budget`), memoised per refresh in `memo`."""
    found = memo.get(("budget", confidence, daily_loss_cap_usd))
    if found is None:
        found = memo[("budget", confidence, daily_loss_cap_usd)] = loss_budget(confidence, portfolio, cfg,
                                                                             daily_loss_cap_usd)
    return found


def size_trade(trade: Trade, portfolio: Portfolio, cfg: SizingConfig, *, now_s: float,
               daily_loss_cap_usd: float = 50.0, chain: Chain = size_opportunity,
               params: SizingParams | None = None, memo: dict | None = None) -> TradeSizing:
    """Size one trade against `portfolio` (SIZING.md). `now_s`: the decision time in the samples'
    clock (seconds), for step 5's window; T is already in `trade.input`. `params`: `cfg.params()`,
    when the caller keeps it; `memo`: step 5's estimates of this portfolio's history
    (`with_estimates`). `chain` returns a SizingResult, or an object with its fields whose `steps`
    are built on access plus `outcomes` (the seven steps' Outcomes: `native.size_lazy`). Raises
    EngineInputError on an input the chain refuses."""
    params = cfg.params() if params is None else params
    memo = {} if memo is None else memo
    ti = trade.input
    # per refresh, step 5 for an opportunity id (which names its leg set) and step 10's budget for
    # a confidence are computed once: a bot sizes the same few opportunities again and again
    found = memo.get(("legs", ti.id))
    if found is None:
        found = memo[("legs", ti.id)] = leg_estimates(trade.legs, portfolio.history, now_s, cfg, memo)
    estimates, venues, record = found
    budget, left = memo_budget(ti.confidence, portfolio, cfg, daily_loss_cap_usd, memo)
    lane = memo.get(("lane", trade.lane))    # the same for every trade of a lane until the portfolio changes
    if lane is None:
        lane = memo[("lane", trade.lane)] = lane_bankroll(trade.lane, portfolio, cfg)
    legs = tuple(SizingLeg(leg.venue, leg.lot, leg.fees, leg.ladder, leg.best_bid, rho, s)
                 for leg, (rho, s) in zip(ti.legs, estimates))
    inp = SizingInput(ti.id, ti.payout, ti.qty, legs, ti.confidence, ti.days_to_close, ti.min_profit,
                      portfolio.equity, budget, venues)
    result = chain(inp, params)
    robust_enabled = cfg.robust_inputs.enabled
    chain_outcomes = getattr(result, "outcomes", None)
    if chain_outcomes is None:
        chain_outcomes = tuple(s.outcome for s in result.steps)
    outcomes = [Outcome.KEPT if robust_enabled else Outcome.DISABLED, *chain_outcomes]
    tail: list[StepResult] = []              # steps 9–12 as run (after a reject: none, skipped below)
    q = result.qty
    repriced: dict[int, Priced] = {}         # q lots → the trade re-priced at q (steps 9–11, the final re-price)

    def priced_at(x: int) -> Priced:
        found = repriced.get(x)
        if found is None:
            found = repriced[x] = reprice(inp, params, x)
        return found

    if result.rejected_by is None:
        lot = lot_of(inp)

        def capital(x: int) -> int:
            priced = priced_at(x)
            return priced.cost + priced.fee

        def leg_capital(x: int) -> tuple[int, ...]:
            priced = priced_at(x)
            return tuple(c + f for c, f in zip(priced.leg_cost, priced.leg_fee))

        portfolio_steps = (
            lambda q_in: lane_allocator(q_in, lot, capital, lane, cfg),
            lambda q_in: loss_cap(q_in, lot, capital, inp.confidence, result.monte_carlo.var, budget, left, cfg),
            lambda q_in: exposure_manager(q_in, lot, leg_capital, trade, portfolio, cfg),
            lambda q_in: drawdown_manager(q_in, lot, portfolio, cfg),
        )
        for portfolio_step in portfolio_steps:
            if q == 0:
                break
            step = portfolio_step(q)
            tail.append(step)
            outcomes.append(step.outcome)
            q = step.qty
    outcomes.extend([Outcome.SKIPPED] * (len(ORDER) - len(outcomes)))

    def steps() -> list[StepResult]:
        built = [robust_step(inp.qty, record(leg.venue for leg in inp.legs), robust_enabled), *result.steps, *tail]
        built.extend(skipped(s) for s in ORDER[len(built):])
        return built
    return finish(trade.lane, inp.id, inp.qty, steps, tuple(outcomes), q, budget,
                  lambda x: final_reprice(inp, params, x, priced_at))


def finish(lane: Lane, id: str, engine_qty: int, steps: Callable[[], list[StepResult]], outcomes: tuple[Outcome, ...],
           q: int, budget: float, final: Callable[[int], Priced | None]) -> TradeSizing:
    """The decision for opportunity `id` of `lane` (engine quantity q0 = `engine_qty`): bound_by,
    the note (empty unless a step rejected or the re-price acted) and the final re-price `final(q)`
    (`final_reprice`'s answer for q) when no step rejected. `outcomes`: the twelve steps' Outcomes
    in ORDER (`steps()` builds their records)."""
    bound_by, rejected = ENGINE, None
    for label, outcome in zip(_LABELS, outcomes):
        if outcome is Outcome.LOWERED:
            bound_by = label
        elif outcome is Outcome.REJECTED:
            bound_by = label
            if rejected is None:
                rejected = label
    if rejected is not None:
        return TradeSizing(id, lane, engine_qty, 0, 0, bound_by, f"rejected by {rejected}",
                           steps, None, budget, outcomes)
    priced = final(q)
    if priced is None:
        note = (f"re-price: no quantity from {format_qty(q)} contracts down by up to {MAX_STEP_DOWN:,} lots passes "
                f"min_profit and the venue minimums; dropped")
        return TradeSizing(id, lane, engine_qty, 0, 0, REPRICE, note, steps, None, budget, outcomes)
    if priced.qty < q:
        note = f"re-price stepped down from {format_qty(q)} to {format_qty(priced.qty)} contracts"
        return TradeSizing(id, lane, engine_qty, priced.qty, priced.profit, bound_by, note, steps,
                           priced, budget, outcomes)
    return TradeSizing(id, lane, engine_qty, priced.qty, priced.profit, bound_by, "", steps, priced,
                       budget, outcomes)


__all__ = ["Chain", "TradeSizing", "final_reprice", "finish", "leg_estimates", "size_trade", "with_estimates"]
