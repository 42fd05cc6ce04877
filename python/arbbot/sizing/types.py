"""Flat value types of the per-opportunity sizing pipeline (SIZING.md steps 1, 2, 3, 6, 7, 8, 4).

Every type here maps onto a C struct of the future Swift twin: integers for money (µ$),
quantities (lots), prices (ticks) and fee rates (ppm); IEEE doubles only for the quantities
SIZING.md states as probabilities, rates, times or dollars-per-contract estimates. Per-leg and
per-venue values are fixed-order tuples (C arrays); a leg's ladder is a tuple of (price ticks,
qty lots) levels (a flattened level array with offset/count in C).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from arbbot.model import FeeSchedule, Labelled, Level, Venue

VENUE_COUNT = 3   # per-venue arrays are indexed by `Venue` (kalshi 0, polymarket 1, forecastex 2)
# Input limits (arb_engine.h ARB_SIZING_*): they keep every double of the chain finite and every µ$
# amount inside int64 in the Swift twin.
PATHS_MAX = 10_000_000          # Monte Carlo paths
TIME_MAX_S = 1.0e6              # latencies, s
VOL_MAX = 1.0e6                 # price_vol ($/√s) and |drift| ($/s)
MONEY_MAX = 2**62               # µ$: payout at q0, and Σ exact fees at q0 + legs × 2 × MONEY_FEE_MAX


class Step(Labelled):
    """The twelve steps, numbered as in SIZING.md; `label` is the TOML section / explain key."""
    EXECUTION_MODEL = 1
    FILL_MODEL = 2
    FEE_MODEL = 3
    KELLY = 4
    ROBUST_INPUTS = 5
    LIQUIDITY_IMPACT = 6
    CAPITAL_LOCK = 7
    MONTE_CARLO = 8
    LANE_ALLOCATOR = 9
    LOSS_CAP = 10
    EXPOSURE_MANAGER = 11
    DRAWDOWN_MANAGER = 12


#: SIZING.md's computation order of all twelve steps.
ORDER: tuple[Step, ...] = (Step.ROBUST_INPUTS, Step.EXECUTION_MODEL, Step.FILL_MODEL, Step.FEE_MODEL,
                           Step.LIQUIDITY_IMPACT, Step.CAPITAL_LOCK, Step.MONTE_CARLO, Step.KELLY,
                           Step.LANE_ALLOCATOR, Step.LOSS_CAP, Step.EXPOSURE_MANAGER, Step.DRAWDOWN_MANAGER)
#: The per-opportunity steps this module (and the Swift twin) runs, in computation order.
PER_OPPORTUNITY: tuple[Step, ...] = (Step.EXECUTION_MODEL, Step.FILL_MODEL, Step.FEE_MODEL,
                                     Step.LIQUIDITY_IMPACT, Step.CAPITAL_LOCK, Step.MONTE_CARLO, Step.KELLY)


class Outcome(IntEnum):
    KEPT = 0        # ran, q_out = q_in
    LOWERED = 1     # ran, q_out < q_in
    REJECTED = 2    # ran, q_out = 0
    DISABLED = 3    # `enabled = false`: q_out = q_in, values still computed
    SKIPPED = 4     # an earlier step rejected: q_out = 0, nothing computed


class CapUnit(IntEnum):
    NONE = 0        # no cap (a test, +inf, or nothing to bound)
    CONTRACTS = 1   # `cap` is a quantity in contracts (before floor_lot)
    DOLLARS = 2     # `cap` is a dollar bound X (explain prints it with 6 decimals)


class Reason(Labelled):
    """Why a step rejected or has no cap (explain turns it into the `note`)."""
    NONE = 0
    CAP_BELOW_LOT = 1          # floor_lot(cap) = 0
    CAP_INVALID = 2            # NaN or negative cap: fail closed
    FILL_PROB_LOW = 3          # f < min_fill_prob
    PROFIT_LOW = 4             # profit after fees and extras < min_profit
    VENUE_MINIMUM = 5          # a leg's cost below its venue's min_order_usd
    EDGE_NONPOSITIVE = 6       # g ≤ 0
    NO_LATER_LEGS = 7          # liquidity impact: nothing is re-quoted
    NO_IMPACT = 8              # liquidity impact: every later leg has f = 1 or a = 0
    CLOSED = 9                 # T ≤ 0
    RETURN_LOW = 10            # annualised return below min_annual_return
    MEAN_NONPOSITIVE = 11      # Monte Carlo mean PnL ≤ 0
    CVAR_NONPOSITIVE = 12      # Monte Carlo CVaR ≤ 0: no cap
    PI_ZERO = 13               # Kelly: π = 0 (or g ≤ 0)
    SHRUNK_ZERO = 14           # Kelly: shrunk fraction 0
    CAPITAL_ONLY = 15          # Kelly: L = 0, the bound is the equity E
    BOUND_BELOW_LOT = 16       # a dollar bound that not even one lot fits
    REJECTED_EARLIER = 17      # skipped: rejected by an earlier step


# ---- inputs ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SizingLeg:
    """One leg, in the opportunity's leg order (the order legs are sent).

    `ladder`: the bought side's effective ask ladder, ascending, one level per price (ticks, lots).
    `best_bid`: the bought side's best effective bid, ticks (0 when the side has none).
    `depletion_rate`: ρ per second for (market, side); `price_vol`: s in $/√s for the market —
    step 5's estimates (or their priors), handed in."""
    venue: Venue
    lot: int                    # lots: 100 (1 contract) or 1 (0.01)
    fees: FeeSchedule
    ladder: tuple[Level, ...]
    best_bid: int
    depletion_rate: float
    price_vol: float


@dataclass(frozen=True, slots=True)
class VenueStats:
    """Per-venue history (step 5's output): IOC fill outcomes (raw counts, never cleaned) and the
    cleaned median order latency with the number of raw samples behind it."""
    fills: int = 0
    attempts: int = 0
    latency_s: float = 0.0
    latency_samples: int = 0


@dataclass(frozen=True, slots=True)
class SizingInput:
    """One opportunity and the portfolio values the per-opportunity steps read.

    `id`: the opportunity id (16 hex digits; also the Monte Carlo seed). `payout`: P, dollars
    per contract of the leg set (1, N − 1 or k). `qty`: q0, the engine's quantity in lots.
    `confidence`: c in [0, 1]. `days_to_close`: T (see `days_to_close()`); `min_profit` µ$;
    `equity`: E in µ$; `loss_budget`: step 10's budget in dollars (computed before the chain);
    `venues`: one VenueStats per `Venue` code."""
    id: str
    payout: int
    qty: int
    legs: tuple[SizingLeg, ...]
    confidence: float
    days_to_close: float
    min_profit: int
    equity: int
    loss_budget: float
    venues: tuple[VenueStats, ...] = (VenueStats(), VenueStats(), VenueStats())


@dataclass(frozen=True, slots=True)
class SizingParams:
    """The `[sizing]` settings the per-opportunity steps read, flattened (see `config.py`).
    Per-venue arrays are indexed by `Venue`; money in µ$."""
    leg_latency_s: float = 0.05
    round_trip_s: float = 0.15
    min_samples: int = 20
    execution_model: bool = True
    fill_model: bool = True
    fee_model: bool = True
    liquidity_impact: bool = True
    capital_lock: bool = True
    monte_carlo: bool = True
    kelly: bool = True
    alpha: float = 19.0
    beta: float = 1.0
    min_fill_prob: float = 0.80
    per_order_extra: tuple[int, ...] = (0, 0, 0)       # µ$ per order, per venue
    min_per_order: tuple[int, ...] = (0, 0, 0)         # µ$ per order, per venue
    min_order: tuple[int, ...] = (0, 1_000_000, 0)     # µ$ of leg cost, per venue
    exponent: float = 0.5
    max_edge_share: float = 0.5
    near_days: float = 14.0
    far_days: float = 60.0
    far_multiplier: float = 0.75
    min_annual_return: float = 0.10
    paths: int = 2000
    drift: float = 0.0
    max_requote: int = 100
    cvar_level: float = 0.95
    var_level: float = 0.99
    kelly_multiplier: float = 0.5
    sigma: float = 0.02

    def enabled(self, step: Step) -> bool:
        return getattr(self, step.label)


# ---- per-step inputs (the explain output's "inputs it used") -----------------------------------

@dataclass(frozen=True, slots=True)
class Priced:
    """The trade re-priced at `qty` lots: per leg (worst price ticks, cost µ$, fee µ$ incl. extras
    when fee_model is enabled), totals in µ$, and g, K in dollars per contract."""
    qty: int
    worst: tuple[int, ...]
    leg_cost: tuple[int, ...]
    leg_fee: tuple[int, ...]
    payout: int
    cost: int
    fee: int
    profit: int

    @property
    def contracts(self) -> float:
        return self.qty / 100

    @property
    def g(self) -> float:
        return self.profit / (self.qty / 100) / 1e6

    @property
    def k(self) -> float:
        return (self.cost + self.fee) / (self.qty / 100) / 1e6


@dataclass(frozen=True, slots=True)
class ExecutionModelInputs:
    depth: tuple[float, ...]          # D_k, contracts at prices ≤ worst fill at q_in
    rate: tuple[float, ...]           # ρ_k per s
    time: tuple[float, ...]           # t_k, s (the leg's batch time)
    left: tuple[float, ...]           # D_k × exp(−ρ_k t_k)


@dataclass(frozen=True, slots=True)
class FillModelInputs:
    batch_venue: tuple[int, ...]      # venue of each later batch, send order
    batch_fill: tuple[float, ...]     # f_v of each later batch
    f: float                          # Π over later batches (1 when none)


@dataclass(frozen=True, slots=True)
class FeeModelInputs:
    priced: Priced                    # at q_in, extras included (when enabled)
    exact_fee: tuple[int, ...]        # per leg, the ARBITRAGE.md fee before extras, µ$
    min_order: tuple[int, ...]        # per leg, its venue's minimum leg cost, µ$
    min_profit: int                   # µ$


@dataclass(frozen=True, slots=True)
class LiquidityImpactInputs:
    g: float                          # $ per contract at q_in
    later_legs: tuple[int, ...]       # leg indices (0-based) outside batch 1
    depth: tuple[float, ...]          # D_k (undecayed), contracts, per later leg
    half_spread: tuple[float, ...]    # a_k, $, per later leg
    fill: tuple[float, ...]           # f_{v(k)}, per later leg
    leg_cap: tuple[float, ...]        # per later leg, contracts (inf = no cap from it)


@dataclass(frozen=True, slots=True)
class CapitalLockInputs:
    days: float                       # T
    regime: float                     # r
    g: float
    k: float
    annual_return: float              # r × (g / K) × 365 / max(T, 1) (NaN when T ≤ 0)


@dataclass(frozen=True, slots=True)
class MonteCarloResult:
    """Per-contract legging-risk statistics over `paths` paths at step 8's q_in (dollars)."""
    paths: int
    seed: int
    mean: float
    p_loss: float
    cvar: float                       # at cvar_level
    var: float                        # at var_level (step 10's)
    l_leg: float                      # mean max(0, −PnL) over paths where a later batch missed
    missed: int                       # paths where some later batch missed its quote


@dataclass(frozen=True, slots=True)
class MonteCarloInputs:
    result: MonteCarloResult
    budget: float                     # step 10's budget, $


@dataclass(frozen=True, slots=True)
class KellyInputs:
    confidence: float                 # c
    fill: float                       # f
    pi: float                         # c f + (1 − c)/2
    loss: float                       # L, $ per contract
    l_leg: float
    sigma: float                      # the σ used
    sigma_from_posterior: bool        # True when σ = c × sd(f) by the delta method
    ev: float
    kelly: float
    shrunk: float
    equity: int                       # E, µ$
    bound: int                        # the dollar bound in µ$ (floor(X·1e6 + 1e-9)); -1 = none


StepInputs = (ExecutionModelInputs | FillModelInputs | FeeModelInputs | LiquidityImpactInputs
              | CapitalLockInputs | MonteCarloInputs | KellyInputs)


# ---- outputs --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StepResult:
    step: Step
    qty_in: int                       # lots
    qty: int                          # lots after the step (explain's `qty`)
    outcome: Outcome
    cap: float | None                 # contracts or dollars (`cap_unit`); None = no cap
    cap_unit: CapUnit
    reason: Reason
    inputs: StepInputs | None         # None when skipped

    @property
    def rejected(self) -> bool:
        return self.outcome is Outcome.REJECTED


@dataclass(frozen=True, slots=True)
class SizingResult:
    """The per-opportunity chain: `qty` after step 4 (kelly) in lots, 0 when rejected."""
    engine_qty: int
    qty: int
    rejected_by: Step | None
    bound_by: Step | None             # the last step that lowered the quantity (None = engine)
    steps: tuple[StepResult, ...]     # the seven steps in computation order
    fill: float                       # f (step 2), for later steps
    monte_carlo: MonteCarloResult | None   # for step 10 (VaR); None when the chain stopped earlier
