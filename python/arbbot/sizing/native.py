"""The per-opportunity chain in the Swift engine (arb_size / arb_size_batch through
`arbbot._native.size_batch`): packs `SizingInput`s and `SizingParams` into arb_engine.h's sizing
records and decodes the engine's records into the very same `SizingResult` dataclasses the pure
twin (`steps.size_opportunity`) returns.

Layouts (little-endian, no padding: every record is 8-byte aligned by construction) mirror
arb_sizing_input / _leg / _params / _result / _leg_out; `_check_layout` compares their sizes
with the compiled engine's once. Checks the C records cannot carry are made here, in the twin's
order: an empty leg list (ARB_E_LENGTH) before a bad id (ARB_E_ARGUMENT); an input with a value
its C field cannot hold gets the twin's error for it (the field's own code), ARB_E_ARGUMENT when
the twin has none.
"""
from __future__ import annotations

import struct
from array import array
from dataclasses import fields
from itertools import chain
from typing import Sequence

from arbbot.engine.select import native_module
from arbbot.engine.types import EngineInputError, Status
from arbbot.model import Venue
from arbbot.sizing import steps
from arbbot.sizing.rng import seed_from_id
from arbbot.sizing.types import (
    PER_OPPORTUNITY, VENUE_COUNT, CapitalLockInputs, CapUnit, ExecutionModelInputs, FeeModelInputs, FillModelInputs,
    KellyInputs, LiquidityImpactInputs, MonteCarloInputs, MonteCarloResult, Outcome, Priced, Reason, SizingInput,
    SizingParams, SizingResult, Step, StepResult,
)

INPUT = struct.Struct("<QqqQqQqddqqd" + "qqdq" * VENUE_COUNT)
LEG = struct.Struct("<iiiiqqqqqdd")
PARAMS = struct.Struct("<ddqIiddd" + "q" * 3 * VENUE_COUNT + "d" * 6 + "qdq" + "d" * 4)
STEP_FORMAT = "iiqqdii"
RESULT_HEAD = "<qqiidqq"                 # arb_sizing_result before its seven step records
RESULT = struct.Struct(RESULT_HEAD + STEP_FORMAT * 7 + "q" + "q" * 3 + "d" * 6 + "q" * 6 + "d" + "d" * 5 + "ii"
                       + "qQdddddq" + "d" + "d" * 9 + "qq")
# the seven step records' outcomes alone (each record's second field), in computation order
CHAIN_OUTCOMES = struct.Struct(f"<{struct.calcsize(RESULT_HEAD)}x"
                               + f"4xi{struct.calcsize('<' + STEP_FORMAT) - 8}x" * 7)
LEG_OUT = struct.Struct("<ddddqqqqqqdddd")

_STEP_BITS = {"execution_model": Step.EXECUTION_MODEL, "fill_model": Step.FILL_MODEL, "fee_model": Step.FEE_MODEL,
              "liquidity_impact": Step.LIQUIDITY_IMPACT, "capital_lock": Step.CAPITAL_LOCK,
              "monte_carlo": Step.MONTE_CARLO, "kelly": Step.KELLY}
_STEPS = {int(s): s for s in Step}
_OUTCOMES, _UNITS, _REASONS = tuple(Outcome), tuple(CapUnit), tuple(Reason)
_SKIPPED = int(Outcome.SKIPPED)
_PER_OPPORTUNITY = PER_OPPORTUNITY      # arb_sizing_result.steps order (computation order)
_RECORD = tuple(7 + 7 * i for i in range(7))   # where each step record starts in RESULT
_flat = chain.from_iterable               # a ladder's levels → price, qty, price, qty, ...
_INT, _VENUE_TYPES = {int}, (int, Venue)
_layout_checked = False
_last_params: tuple = (None, b"")     # (SizingParams, its packed bytes)
_last_venues: tuple = (None, [])      # (VenueStats tuple, its arb_sizing_input fields)


def _check_layout(native) -> None:
    global _layout_checked
    sizes = ((INPUT, native.SIZING_INPUT_SIZE), (LEG, native.SIZING_LEG_SIZE), (PARAMS, native.SIZING_PARAMS_SIZE),
             (RESULT, native.SIZING_RESULT_SIZE), (LEG_OUT, native.SIZING_LEG_OUT_SIZE))
    for packer, size in sizes:
        if packer.size != size:
            raise RuntimeError(f"arbbot._native sizing record of {size} bytes, native.py packs {packer.size}: "
                               "rebuild the engine (pip install -e .)")
    _layout_checked = True


# ---- packing --------------------------------------------------------------------------------------

def pack_params(p: SizingParams) -> bytes:
    """arb_sizing_params; the last settings object packed is remembered (by identity: the same
    frozen SizingParams is passed call after call)."""
    global _last_params
    last = _last_params                 # one read: threads may replace it
    if p is last[0]:
        return last[1]
    packed = _pack_params(p)
    _last_params = (p, packed)
    return packed


def _pack_params(p: SizingParams) -> bytes:
    for name in ("per_order_extra", "min_per_order", "min_order"):
        if len(getattr(p, name)) != VENUE_COUNT:
            raise EngineInputError(Status.LENGTH, f"{name} must have {VENUE_COUNT} entries")
    enabled = 0
    for name, step in _STEP_BITS.items():
        if getattr(p, name):
            enabled |= 1 << int(step)
    try:
        return PARAMS.pack(p.leg_latency_s, p.round_trip_s, p.min_samples, enabled, 0, p.alpha, p.beta,
                           p.min_fill_prob, *p.per_order_extra, *p.min_per_order, *p.min_order, p.exponent,
                           p.max_edge_share, p.near_days, p.far_days, p.far_multiplier, p.min_annual_return, p.paths,
                           p.drift, p.max_requote, p.cvar_level, p.var_level, p.kelly_multiplier, p.sigma)
    except struct.error as exc:
        raise EngineInputError(Status.ARGUMENT, f"a sizing setting does not fit the engine's types: {exc}") from None


def pack_inputs(inputs: Sequence[SizingInput]) -> tuple[bytes, bytes, array]:
    """(arb_sizing_input records, arb_sizing_leg records, shared level pairs). Each input's `legs`
    field holds its first leg's index; level_start indexes the shared level array. A leg value the
    twin checks (venue, fees, ladder) that is not a plain int (a bool, a float), or any value its C
    field cannot hold, is refused as the twin refuses it (`_refusal`)."""
    records, legs, levels = bytearray(), bytearray(), array("q")
    n_legs = 0
    for inp in inputs:
        try:
            records += _input_record(inp, n_legs, len(inp.legs))
            for leg in inp.legs:
                fees = leg.fees
                values = [fees.taker_rate_ppm, fees.per_contract, fees.rounding, *_flat(leg.ladder)]
                if not (_INT.issuperset(map(type, values)) and type(leg.venue) in _VENUE_TYPES):
                    steps.check_input(inp)          # the twin's error, if it has one
                start = len(levels) // 2
                levels.extend(values[3:])
                legs += LEG.pack(leg.venue, leg.lot, fees.taker_rate_ppm, 0, fees.per_contract, fees.rounding,
                                 start, len(leg.ladder), leg.best_bid, leg.depletion_rate, leg.price_vol)
        except (struct.error, OverflowError, TypeError) as exc:
            raise _refusal(inp, exc) from None
        n_legs += len(inp.legs)
    return bytes(records), bytes(legs), levels


def _refusal(inp: SizingInput, exc: Exception) -> EngineInputError:
    """The error for an input whose records cannot be packed: the twin's (`steps.check_input`: its
    field's own code and leg), or ARGUMENT when the twin takes a value the C field cannot hold."""
    try:
        steps.check_input(inp)
    except EngineInputError as error:
        return error
    return EngineInputError(Status.ARGUMENT, f"a sizing input does not fit the engine's types: {exc}")


def _venue_fields(venues: tuple) -> list:
    """The arb_sizing_input venue fields of `venues`; the last tuple packed is remembered (by
    identity: a running bot passes the same VenueStats tuple until its portfolio is re-read)."""
    global _last_venues
    last = _last_venues                  # one read: threads may replace it
    if venues is last[0]:
        return last[1]
    fields = []
    for st in venues:
        if bool in (type(st.fills), type(st.attempts), type(st.latency_samples)):
            raise EngineInputError(Status.ARGUMENT, f"venue stats {st!r}: counts must be integers, not bools")
        fields += (st.fills, st.attempts, st.latency_s, st.latency_samples)
    _last_venues = (venues, fields)
    return fields


# ---- decoding -------------------------------------------------------------------------------------

def _retyping(cls: type) -> type:
    """A fast constructor (positional fields) for the frozen, slotted dataclass `cls`. The frozen
    __init__ stores every field through object.__setattr__ (≈ 0.1 µs each; a decoded chain has
    about 115 fields, most of `decode`'s time); this class has the very same slots, stores them
    plainly, then retypes the instance to `cls` (CPython allows __class__ assignment between
    classes of one layout). What it returns is an ordinary `cls`: its type, ==, hash, repr and
    immutability are `cls`'s (tests/sizing/test_native_decode.py)."""
    names = tuple(f.name for f in fields(cls))
    source = (f"def __init__(self, {', '.join(names)}):\n" + "".join(f"    self.{n} = {n}\n" for n in names)
              + "    self.__class__ = cls\n")
    scope = {"cls": cls}
    exec(source, scope)
    return type(f"_{cls.__name__}Retyped", (), {"__slots__": names, "__init__": scope["__init__"]})


(_ExecutionModelInputs, _FillModelInputs, _FeeModelInputs, _Priced, _LiquidityImpactInputs, _CapitalLockInputs,
 _MonteCarloResult, _MonteCarloInputs, _KellyInputs, _StepResult, _SizingResult) = map(_retyping, (
    ExecutionModelInputs, FillModelInputs, FeeModelInputs, Priced, LiquidityImpactInputs, CapitalLockInputs,
    MonteCarloResult, MonteCarloInputs, KellyInputs, StepResult, SizingResult))


def decode(rec: bytes, offset: int, legs_out: bytes) -> SizingResult:
    """One arb_sizing_result (at `offset` in `rec`) and its leg records → SizingResult. The
    engine writes the seven step records in PER_OPPORTUNITY order; a skipped step has no inputs."""
    r = RESULT.unpack_from(rec, offset)
    engine_qty, qty, rejected_by, bound_by, fill, leg_start, n_legs = r[:7]
    size = LEG_OUT.size
    rows = list(LEG_OUT.iter_unpack(memoryview(legs_out)[leg_start * size:(leg_start + n_legs) * size]))
    cols = tuple(zip(*rows))            # one tuple per arb_sizing_leg_out field, leg order
    n_batches = r[56]
    mc = _MonteCarloResult(*r[80:88]) if r[78] else None
    ran = [r[k + 1] != _SKIPPED for k in _RECORD]
    inputs = (
        _ExecutionModelInputs(cols[0], cols[1], cols[2], cols[3]) if ran[0] else None,
        _FillModelInputs(r[58:57 + n_batches], r[64:63 + n_batches], fill) if ran[1] else None,
        (_FeeModelInputs(_Priced(r[66], cols[4], cols[5], cols[6], *r[67:71]), cols[7], cols[8], r[71])
         if ran[2] else None),
        _liquidity(r[72], rows, cols[9]) if ran[3] else None,
        _CapitalLockInputs(*r[73:78]) if ran[4] else None,
        _MonteCarloInputs(mc, r[88]) if ran[5] else None,
        _KellyInputs(*r[89:95], r[79] == 1, *r[95:100]) if ran[6] else None,
    )
    steps = tuple([_StepResult(step, r[k + 2], r[k + 3], _OUTCOMES[r[k + 1]], None if r[k + 5] == 0 else r[k + 4],
                               _UNITS[r[k + 5]], _REASONS[r[k + 6]], i)
                   for step, k, i in zip(_PER_OPPORTUNITY, _RECORD, inputs)])
    return _SizingResult(engine_qty, qty, _STEPS.get(rejected_by), _STEPS.get(bound_by), steps, fill, mc)


def _liquidity(g: float, rows: list[tuple], rank: tuple[int, ...]) -> LiquidityImpactInputs:
    """Step 6's inputs: the later legs (later_rank ≥ 0) in batch order, then their values."""
    later = sorted((k, j) for j, k in enumerate(rank) if k >= 0)
    if not later:
        return _LiquidityImpactInputs(g, (), (), (), (), ())
    order = tuple(j for _, j in later)
    depth, half, fill, cap = zip(*[rows[j][10:14] for j in order])
    return _LiquidityImpactInputs(g, order, depth, half, fill, cap)


# ---- calls ----------------------------------------------------------------------------------------

def _call(inputs: Sequence[SizingInput], params: SizingParams) -> tuple[bytes, bytes]:
    """The engine's result and leg records for `inputs` (not empty); errors as `size_batch`."""
    native = native_module()
    if not _layout_checked:
        _check_layout(native)
    try:
        packed_params = pack_params(params)
    except EngineInputError as exc:
        exc.opportunity = 0
        raise
    try:
        records, legs, levels = pack_inputs(inputs)
    except EngineInputError as exc:
        exc.opportunity = _failing(inputs)
        raise
    if not inputs:
        return b"", b""
    try:
        return native.size_batch(records, legs, levels, packed_params)
    except native.NativeError as exc:
        code, message, index, opportunity = exc.args
        error = EngineInputError(Status(code), f"opportunity {opportunity}: {message}", index)
        error.opportunity = opportunity
        raise error from None


def size_batch(inputs: Sequence[SizingInput], params: SizingParams = SizingParams()) -> list[SizingResult]:
    """Size every opportunity in one engine call. An invalid one raises EngineInputError (status,
    leg index) with `.opportunity` = its position, as the twin's `select.size_batch` does."""
    rec, legs_out = _call(inputs, params)
    if not inputs:
        return []
    return [decode(rec, i * RESULT.size, legs_out) for i in range(len(inputs))]


class LazyResult:
    """One opportunity's chain result with the fields of a `SizingResult` (equal to `decode`'s)
    read from the engine's record at once, except `steps`: the seven step records (and the inputs
    each used) are decoded on first access. `outcomes`: the seven steps' Outcomes, in order —
    what the pipeline's decision reads. `result()`: the very `SizingResult` `decode` builds."""
    __slots__ = ("engine_qty", "qty", "rejected_by", "bound_by", "fill", "monte_carlo", "outcomes", "_rec",
                 "_legs_out", "_result")

    def __init__(self, rec: bytes, legs_out: bytes) -> None:
        r = RESULT.unpack_from(rec, 0)
        self.engine_qty, self.qty, self.fill = r[0], r[1], r[4]
        self.rejected_by, self.bound_by = _STEPS.get(r[2]), _STEPS.get(r[3])
        self.monte_carlo = _MonteCarloResult(*r[80:88]) if r[78] else None
        self.outcomes = tuple([_OUTCOMES[r[k + 1]] for k in _RECORD])
        self._rec, self._legs_out, self._result = rec, legs_out, None

    def result(self) -> SizingResult:
        found = self._result
        if found is None:
            found = self._result = decode(self._rec, 0, self._legs_out)
        return found

    @property
    def steps(self) -> tuple[StepResult, ...]:
        return self.result().steps


def size_lazy(inp: SizingInput, params: SizingParams = SizingParams()) -> LazyResult:
    """`size_opportunity` with the step records decoded on demand (`LazyResult`); errors the same."""
    return LazyResult(*_call((inp,), params))


def pack_head(head: SizingInput, n_legs: int) -> bytes:
    """One arb_sizing_input for `head` with `n_legs` legs whose records the engine fills in
    (`Engine.size_legs`: the legs / levels fields are left 0); errors as `pack_inputs`'."""
    try:
        return _input_record(head, 0, n_legs)
    except (struct.error, OverflowError) as exc:
        raise EngineInputError(Status.ARGUMENT, f"a sizing input does not fit the engine's types: {exc}") from None


def _input_record(inp: SizingInput, first_leg: int, n_legs: int) -> bytes:
    """`inp`'s arb_sizing_input, its `legs` field holding `first_leg`. Checks in the twin's order:
    a bad id (only with legs: the engine reports an empty leg list first) ARGUMENT, then the venue
    list's size LENGTH; struct.error / OverflowError for a value its C field cannot hold."""
    if n_legs:
        try:
            seed = seed_from_id(inp.id)
        except ValueError as exc:
            raise EngineInputError(Status.ARGUMENT, str(exc)) from None
    else:
        seed = 0
    if len(inp.venues) != VENUE_COUNT:
        raise EngineInputError(Status.LENGTH, f"venues must have {VENUE_COUNT} entries")
    if not (type(inp.payout) is int and type(inp.qty) is int and type(inp.min_profit) is int
            and type(inp.equity) is int):
        steps.check_input(inp)       # a bool the C field would read as 0 / 1: the twin's ARGUMENT
    return INPUT.pack(seed, inp.payout, inp.qty, first_leg, n_legs, 0, 0, inp.confidence, inp.days_to_close,
                      inp.min_profit, inp.equity, inp.loss_budget, *_venue_fields(inp.venues))


def _failing(inputs: Sequence[SizingInput]) -> int:
    """The position of the first input that does not pack on its own."""
    for k, inp in enumerate(inputs):
        try:
            pack_inputs((inp,))
        except EngineInputError:
            return k
    return -1


def size_opportunity(inp: SizingInput, params: SizingParams = SizingParams()) -> SizingResult:
    """One opportunity through the engine; errors as the twin's `steps.size_opportunity`."""
    return size_batch((inp,), params)[0]
