"""The `[sizing]` / `[sizing.<step>]` sections of `arbbot.toml` (SIZING.md "Keys and defaults").

pydantic v2 models with the spec's defaults; anything else — unknown sections or keys, NaN,
infinities, wrong types (strict: `paths = 2000.0` or `enabled = 1` are refused; an integer is
accepted for a float key), out-of-range values, a lane listed twice — is refused with the key's
dotted name (`sizing.fill_model.min_fill_prob: ...`). Values the spec allows but the native engine
cannot take (arb_engine.h's ARB_SIZING_* and ARB_MONEY_FEE_MAX: paths, latencies, volatility and
drift, per-venue dollar amounts) are refused here too, with the allowed range, from the same
constants the engine checks against. `from_toml_dict(d)` takes the `[sizing]` table (or
a whole parsed file with a `sizing` key); `SizingConfig.params()` flattens what the
per-opportunity steps read into `SizingParams` (dollar amounts → µ$ rounded *up*, the
conservative side for fees, extras and minimums).

It is the `sizing` field of `arbbot.config.Settings`.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from arbbot.engine.types import INT32_MAX, INT64_MAX, MONEY_FEE_MAX
from arbbot.model import Venue
from arbbot.sizing.types import PATHS_MAX, TIME_MAX_S, VOL_MAX, SizingParams
from arbbot.units import MICROS_PER_DOLLAR, config_micros

LANES = ("intra", "cross", "bucket", "parity", "tree")
VenueName = Literal["kalshi", "polymarket", "forecastex"]

_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Unit = Annotated[float, Field(ge=0, le=1)]          # [0, 1]
UnitOpenLow = Annotated[float, Field(gt=0, le=1)]   # (0, 1]
UnitOpen = Annotated[float, Field(gt=0, lt=1)]      # (0, 1)


def _num(x: float) -> str:
    """A bound or value as written in a message: 1000000, -1000000, 0.5, 1e+300."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else repr(x)


def within(kind: type, low: float, high: float, open_low: bool = False):
    """`kind` in [low, high] — (low, high] with `open_low` — the native engine's input limits;
    out of it → "<value> is outside <range> (...)", under the key's name."""
    shown = f"{'(' if open_low else '['}{_num(low)}, {_num(high)}]"

    def check(value):
        if value > high or (value <= low if open_low else value < low):
            raise PydanticCustomError("engine_range", "{value} is outside {range} (the engine's limits)",
                                      {"value": _num(value), "range": shown})
        return value
    return Annotated[kind, AfterValidator(check)]


MONEY_MAX_USD = MONEY_FEE_MAX / MICROS_PER_DOLLAR     # $1,000,000: a per-venue amount in µ$ ≤ ARB_MONEY_FEE_MAX
Seconds = within(float, 0.0, TIME_MAX_S, open_low=True)           # latencies: (0, ARB_SIZING_TIME_MAX_S]
VenueUsd = within(float, 0.0, MONEY_MAX_USD)                      # extras and minimums, $


class SizingConfigError(ValueError):
    """Invalid `[sizing]` configuration; the message names each offending key."""


def _require_below(model: BaseModel, low: str, high: str) -> BaseModel:
    if not getattr(model, low) < getattr(model, high):
        raise ValueError(f"{low} ({getattr(model, low)}) must be below {high} ({getattr(model, high)})")
    return model


class _Step(BaseModel):
    model_config = _STRICT
    enabled: bool = True


class RobustInputs(_Step):
    window_s: NonNegative = 86_400.0
    mad_z: Positive = 3.5
    iqr_k: Positive = 1.5
    ewma_alpha: UnitOpen = 0.1
    depletion_rate: Positive = 0.5
    price_vol: within(float, 0.0, VOL_MAX, open_low=True) = 0.01


class ExecutionModel(_Step):
    pass


class FillModel(_Step):
    alpha: Positive = 19.0
    beta: Positive = 1.0
    min_fill_prob: Unit = 0.80


class VenueExtras(BaseModel):
    model_config = _STRICT
    per_order_usd: VenueUsd = 0.0
    min_per_order_usd: VenueUsd = 0.0


#: SIZING.md `min_order_usd.<venue>`: Polymarket $1 for marketable orders, the others none
MIN_ORDER_USD = {v.label: 1.0 if v is Venue.POLYMARKET else 0.0 for v in Venue}


class FeeModel(_Step):
    extras: dict[VenueName, VenueExtras] = Field(default_factory=dict)
    min_order_usd: dict[VenueName, VenueUsd] = Field(default_factory=lambda: dict(MIN_ORDER_USD))

    @field_validator("min_order_usd")
    @classmethod
    def _every_venue(cls, given: dict[str, float]) -> dict[str, float]:
        """Every venue, the spec's default where none is given (so `config show` prints them)."""
        return {venue: given.get(venue, default) for venue, default in MIN_ORDER_USD.items()}

    def min_order(self, venue: str) -> float:
        """The venue's minimum leg cost in dollars (given, else polymarket 1.0, others 0)."""
        return self.min_order_usd.get(venue, MIN_ORDER_USD.get(venue, 0.0))


class LiquidityImpact(_Step):
    exponent: Positive = 0.5
    max_edge_share: UnitOpenLow = 0.5


class CapitalLock(_Step):
    near_days: NonNegative = 14.0
    far_days: NonNegative = 60.0
    far_multiplier: UnitOpenLow = 0.75
    min_annual_return: NonNegative = 0.10

    @model_validator(mode="after")
    def _ordered(self):
        return _require_below(self, "near_days", "far_days")


class MonteCarlo(_Step):
    paths: within(int, 1, PATHS_MAX) = 2000
    drift: within(float, -VOL_MAX, VOL_MAX) = 0.0
    max_requote: int = Field(100, ge=0, le=INT64_MAX)    # arb_sizing_params holds it as an int64
    cvar_level: UnitOpen = 0.95


class Kelly(_Step):
    kelly_multiplier: UnitOpenLow = 0.5
    sigma: Positive = 0.02


class LaneAllocator(_Step):
    lanes: list[Literal["intra", "cross", "bucket", "parity", "tree"]] = Field(default_factory=lambda: list(LANES))
    window_days: int = Field(30, ge=1)
    min_days: int = Field(7, ge=2)
    sharpe_floor: Positive = 0.1

    @field_validator("lanes")
    @classmethod
    def _once_each(cls, lanes: list[str]) -> list[str]:
        """An empty list is allowed (step 9 rejects every opportunity); a repeated lane is not."""
        twice = [lane for lane in dict.fromkeys(lanes) if lanes.count(lane) > 1]
        if twice:
            raise PydanticCustomError("duplicate_lane", "lists {lane} more than once; name each lane at most once",
                                      {"lane": repr(twice[0])})
        return lanes


class LossCap(_Step):
    loss_budget_usd: NonNegative = 25.0
    gamma: NonNegative = 2.0
    var_level: UnitOpen = 0.99


class ExposureManager(_Step):
    max_venue_usd: NonNegative = 5000.0
    max_event_usd: NonNegative = 1000.0
    max_market_usd: NonNegative = 500.0
    max_category_usd: NonNegative | None = None


class DrawdownManager(_Step):
    caution_pct: NonNegative = 5.0
    halt_pct: NonNegative = 10.0
    caution_multiplier: Unit = 0.5
    reset: Literal["ack", "day"] = "ack"

    @model_validator(mode="after")
    def _ordered(self):
        return _require_below(self, "caution_pct", "halt_pct")


class SizingConfig(BaseModel):
    """`[sizing]`: shared keys, then one sub-table per step (the table itself has no `enabled`)."""
    model_config = _STRICT
    leg_latency_s: Seconds = 0.05
    round_trip_s: Seconds = 0.15
    min_samples: int = Field(20, ge=1, le=INT32_MAX)      # arb_robust_params holds it as an int32
    unknown_days: Positive = 30.0
    robust_inputs: RobustInputs = RobustInputs()
    execution_model: ExecutionModel = ExecutionModel()
    fill_model: FillModel = FillModel()
    fee_model: FeeModel = FeeModel()
    liquidity_impact: LiquidityImpact = LiquidityImpact()
    capital_lock: CapitalLock = CapitalLock()
    monte_carlo: MonteCarlo = MonteCarlo()
    kelly: Kelly = Kelly()
    lane_allocator: LaneAllocator = LaneAllocator()
    loss_cap: LossCap = LossCap()
    exposure_manager: ExposureManager = ExposureManager()
    drawdown_manager: DrawdownManager = DrawdownManager()

    def params(self) -> SizingParams:
        """The flat values the per-opportunity steps read."""
        fee = self.fee_model
        venues = [v.label for v in Venue]
        extras = [fee.extras.get(v, VenueExtras()) for v in venues]
        return SizingParams(
            leg_latency_s=self.leg_latency_s, round_trip_s=self.round_trip_s, min_samples=self.min_samples,
            execution_model=self.execution_model.enabled, fill_model=self.fill_model.enabled,
            fee_model=fee.enabled, liquidity_impact=self.liquidity_impact.enabled,
            capital_lock=self.capital_lock.enabled, monte_carlo=self.monte_carlo.enabled,
            kelly=self.kelly.enabled,
            alpha=self.fill_model.alpha, beta=self.fill_model.beta, min_fill_prob=self.fill_model.min_fill_prob,
            per_order_extra=tuple(config_micros(e.per_order_usd) for e in extras),
            min_per_order=tuple(config_micros(e.min_per_order_usd) for e in extras),
            min_order=tuple(config_micros(fee.min_order(v)) for v in venues),
            exponent=self.liquidity_impact.exponent, max_edge_share=self.liquidity_impact.max_edge_share,
            near_days=self.capital_lock.near_days, far_days=self.capital_lock.far_days,
            far_multiplier=self.capital_lock.far_multiplier,
            min_annual_return=self.capital_lock.min_annual_return,
            paths=self.monte_carlo.paths, drift=self.monte_carlo.drift, max_requote=self.monte_carlo.max_requote,
            cvar_level=self.monte_carlo.cvar_level, var_level=self.loss_cap.var_level,
            kelly_multiplier=self.kelly.kelly_multiplier, sigma=self.kelly.sigma)


def from_toml_dict(data: dict | None) -> SizingConfig:
    """Validate a parsed `[sizing]` table (or a whole file's dict holding one under `sizing`).
    Raises SizingConfigError naming every offending key as `sizing.<section>.<key>`."""
    if data is None:
        data = {}
    if "sizing" in data and isinstance(data["sizing"], dict) and len(data) == 1:
        data = data["sizing"]
    try:
        return SizingConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"] if not str(p).startswith("function-after"))
            problems.append(f"sizing{'.' + loc if loc else ''}: {e['msg']}")
        raise SizingConfigError("; ".join(problems)) from None
