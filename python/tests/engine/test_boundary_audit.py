"""Hostile values at the engine boundary, through both engines: the same result or the same
EngineInputError (code and index), never a raw Python exception, never float money.

Each case is one the boundary audit found the two engines disagreeing on (or the Swift path
leaking OverflowError / TypeError / struct.error); the expected code is the field's own
(arb_engine.h's table): a price is PRICE, a quantity QTY, a rate RATE, a lot LOT, a relation
kind KIND, money MONEY, a market index MARKET, a venue VENUE, a packed book that is not an int64
buffer ARGUMENT, its counts LENGTH, and evaluate's amounts ARGUMENT (its own code for qty 0).
"""
from __future__ import annotations

import dataclasses
from array import array

import numpy as np
import pytest

from arbbot.engine import (
    Book, Engine, EngineInputError, FeeSchedule, Market, Relation, RelationKind, Status, Universe, Venue,
    decompose, decompose_packed, evaluate, order_fee,
)
from arbbot.model import Side
from arbbot.sizing import robust, robust_native
from arbbot.sizing.config import SizingConfigError, from_toml_dict
from arbbot.sizing.robust import History, RobustParams
from arbbot.sizing.select import size_opportunity
from arbbot.sizing.types import SizingInput, SizingLeg

from ..conftest import require_native

ENGINES = ("swift", "python")


def outcome(fn):
    """The value, ("error", status, index) for an EngineInputError, or the raw exception's type."""
    try:
        return fn()
    except EngineInputError as exc:
        return ("error", exc.status, exc.index)
    except Exception as exc:   # noqa: BLE001  a raw exception is the failure these tests look for
        return ("raw", type(exc).__name__)


def on_both(call):
    """`call(engine)`'s outcome on each engine; they must agree."""
    require_native()
    swift, python = (outcome(lambda: call(name)) for name in ENGINES)
    assert swift == python
    return swift


def error(status: Status, index: int = -1) -> tuple:
    return ("error", status, index)


# ---- 1. decompose_packed: the twin checks the packed book as the glue does -----------------------

GOOD = [0, 1, 0, 1, 5_000, 10, 4_000, 10]
BAD_PACKED = {
    "counts do not match the pairs": (array("q", [0, 2, 0, 1, 5_000, 10, 4_000, 10]), error(Status.LENGTH)),
    "negative count": (array("q", [-1, 1, 0, 1, 5_000, 10, 4_000, 10]), error(Status.LENGTH)),
    "count past 2^40": (array("q", [0, 2**41, 0, 0]), error(Status.LENGTH)),
    "shorter than its counts": (array("q", [0, 1]), error(Status.LENGTH)),
    "uint64": (np.array(GOOD, dtype=np.uint64), error(Status.ARGUMENT)),
    "int32": (np.array(GOOD, dtype=np.int32), error(Status.ARGUMENT)),
    "float64": (np.array(GOOD, dtype=np.float64), error(Status.ARGUMENT)),
    "big-endian": (np.array(GOOD, dtype=">i8"), error(Status.ARGUMENT)),
    "strided": (np.array([[v, 9] for v in GOOD], dtype=np.int64)[:, 0], error(Status.ARGUMENT)),
    "a list": (list(GOOD), error(Status.ARGUMENT)),
}


@pytest.mark.parametrize("case", BAD_PACKED)
def test_a_bad_packed_book_is_refused_alike(case):
    packed, expected = BAD_PACKED[case]
    assert on_both(lambda engine: decompose_packed(1, packed, engine=engine)) == expected
    universe = Universe((Market(Venue.POLYMARKET, "A", FeeSchedule(), 1),))
    assert on_both(lambda engine: Engine(universe, engine=engine).update_packed(0, packed)) == expected


@pytest.mark.parametrize("packed", [array("q", GOOD), np.array(GOOD, dtype=np.int64)])
def test_a_packed_book_decomposes_to_python_ints(packed):
    assert on_both(lambda engine: decompose_packed(1, packed, engine=engine)).quote.overround == -1_000
    for engine in ENGINES:
        d = decompose_packed(1, packed, engine=engine)
        assert all(type(x) is int for x in (*d.yes[0], *d.no[0], d.quote.mid, d.quote.overround))


def test_explicit_counts_are_checked_alike():
    universe = Universe((Market(Venue.POLYMARKET, "A", FeeSchedule(), 1),))
    pairs = array("q", [5_000, 10])
    for counts, expected in [((0, 1, 0), error(Status.LENGTH)), ((0, 2, 0, 0), error(Status.LENGTH)),
                             ((0, 1.0, 0, 0), error(Status.ARGUMENT)), ((0, 2**64, 0, 0), error(Status.LENGTH))]:
        assert on_both(lambda engine: Engine(universe, engine=engine).update_packed(0, pairs, counts)) == expected


# ---- 2. min_samples: capped in the config, refused alike by both step-5 estimators ---------------

def test_min_samples_past_int32_is_refused_at_load_naming_the_key():
    assert from_toml_dict({"min_samples": 2**31 - 1}).min_samples == 2**31 - 1
    with pytest.raises(SizingConfigError, match=r"sizing\.min_samples"):
        from_toml_dict({"min_samples": 2**31})


@pytest.mark.parametrize("min_samples", [2**31, 2**63, -1, True, 3.0])
@pytest.mark.parametrize("samples", [((1.0, 0.1), (2.0, 0.2)), ()])
def test_robust_estimates_refuse_a_min_samples_the_abi_cannot_hold_alike(min_samples, samples):
    require_native()
    history, p = History(latency={Venue.KALSHI: samples}), RobustParams(min_samples=min_samples)
    got = {outcome(lambda: estimator.latency(history, Venue.KALSHI, 3.0, p)) for estimator in (robust, robust_native)}
    assert got == {error(Status.ARGUMENT)}


def test_a_robust_setting_that_does_not_pack_is_an_engine_input_error():
    require_native()
    history = History(latency={Venue.KALSHI: ((1.0, 0.1),)})
    assert outcome(lambda: robust_native.latency(history, Venue.KALSHI, 3.0, RobustParams(mad_z=None))) == \
        error(Status.ARGUMENT)


# ---- 3. wrong types and out-of-range values: the field's own code on both engines ----------------

KALSHI = FeeSchedule(70_000, 0, 10_000)
FEE_CASES = [
    (KALSHI, [(5_000.0, 100)], error(Status.PRICE)),
    (KALSHI, [(5_000, 100.5)], error(Status.QTY)),
    (KALSHI, [(True, 100)], error(Status.PRICE)),
    (KALSHI, [(float("nan"), 1)], error(Status.PRICE)),
    (KALSHI, [(2**63, 1)], error(Status.PRICE)),
    (KALSHI, [(5_000, 2**63)], error(Status.QTY)),
    (FeeSchedule(70_000.5, 0, 1), [(1, 1)], error(Status.RATE)),
    (FeeSchedule(2**31, 0, 1), [(1, 1)], error(Status.RATE)),
    (FeeSchedule(2**63, 0, 1), [(1, 1)], error(Status.RATE)),
    (FeeSchedule(0, 2**63, 1), [(1, 1)], error(Status.MONEY)),
    (FeeSchedule(0, 0, 2**64), [(1, 1)], error(Status.MONEY)),
    (FeeSchedule(0, 0, True), [(1, 1)], error(Status.MONEY)),
    (FeeSchedule(2**31, 0, 1), [(5_000.0, 1)], error(Status.RATE)),     # the schedule first, as the twin
]


@pytest.mark.parametrize("schedule, fills, expected", FEE_CASES)
def test_order_fee_refuses_bad_types_and_ranges_alike(schedule, fills, expected):
    assert on_both(lambda engine: order_fee(schedule, fills, engine=engine)) == expected


@pytest.mark.parametrize("args", [
    (2**63, 1, 1, 1, 1, 1, 0, 0), (1, -2**63 - 1, 1, 1, 1, 1, 0, 0), (1.5, 1, 1, 1, 1, 1, 0, 0),
    (1, 1.0, 1, 1, 1, 1, 0, 0), (True, 1, 1, 1, 1, 1, 0, 0), (100, 1, 1, "1", 1, 1, 0, 0),
])
def test_evaluate_refuses_amounts_that_are_not_int64_ints_alike(args):
    assert on_both(lambda engine: evaluate(*args, engine=engine)) == error(Status.ARGUMENT)


@pytest.mark.parametrize("venue, book, expected", [
    (1, Book(no_asks=((2**64, 1),)), error(Status.PRICE)),
    (1, Book(no_asks=((10.0, 1),)), error(Status.PRICE)),
    (1, Book(no_asks=((10, 1.5),)), error(Status.QTY)),
    (1, Book(no_asks=((True, True),)), error(Status.PRICE)),
    (1, Book(no_asks=((10, 2**63),)), error(Status.QTY)),
    (True, Book(), error(Status.VENUE)),
    (1.0, Book(), error(Status.VENUE)),
    (2**40, Book(), error(Status.VENUE)),
    (7, Book(no_asks=((10.0, 1),)), error(Status.VENUE)),           # the venue first, as the twin
])
def test_decompose_refuses_bad_types_and_ranges_alike(venue, book, expected):
    assert on_both(lambda engine: decompose(venue, book, engine=engine)) == expected


M = Market(Venue.POLYMARKET, "A", FeeSchedule(0, 0, 1), 1, Book(yes_asks=((4_000, 5),), no_asks=((5_000, 5),)))
N = dataclasses.replace(M, id="B")
UNIVERSES = {
    "rate 2^31": (Universe((dataclasses.replace(M, fees=FeeSchedule(2**31, 0, 1)),)), error(Status.RATE, 0)),
    "rate -2^31 - 1": (Universe((dataclasses.replace(M, fees=FeeSchedule(-2**31 - 1, 0, 1)),)), error(Status.RATE, 0)),
    "rate True": (Universe((M, dataclasses.replace(N, fees=FeeSchedule(True, 0, 1)))), error(Status.RATE, 1)),
    "per_contract 2^63": (Universe((dataclasses.replace(M, fees=FeeSchedule(0, 2**63, 1)),)), error(Status.MONEY, 0)),
    "lot 2^31": (Universe((dataclasses.replace(M, lot=2**31),)), error(Status.LOT, 0)),
    "lot True": (Universe((dataclasses.replace(M, lot=True),)), error(Status.LOT, 0)),
    "lot 1.0": (Universe((dataclasses.replace(M, lot=1.0),)), error(Status.LOT, 0)),
    "price 2^63": (Universe((dataclasses.replace(M, book=Book(yes_asks=((2**63, 5),))),)), error(Status.PRICE, 0)),
    "qty 2^63 in market 1": (Universe((M, dataclasses.replace(N, book=Book(yes_asks=((5, 2**63),))))),
                             error(Status.QTY, 1)),
    "price 4000.0 in market 1": (Universe((M, dataclasses.replace(N, book=Book(yes_asks=((4_000.0, 5),))))),
                                 error(Status.PRICE, 1)),
    "member 2^31": (Universe((M, N), (Relation(RelationKind.SAME, (0, 2**31)),)), error(Status.MARKET, 0)),
    "member True": (Universe((M, N), (Relation(RelationKind.SAME, (0, True)),)), error(Status.MARKET, 0)),
    "kind 2^31": (Universe((M, N), (Relation(2**31, (0, 1)),)), error(Status.KIND, 0)),
    "kind 1.0": (Universe((M, N), (Relation(1.0, (0, 1)),)), error(Status.KIND, 0)),
    "max_qty 2^63": (Universe((M,), (), max_qty=2**63), error(Status.QTY)),
    "max_qty 0.5": (Universe((M,), (), max_qty=0.5), error(Status.QTY)),
    "max_qty -1": (Universe((M,), (), max_qty=-1), error(Status.QTY)),
    "min_profit 2^63": (Universe((M,), (), min_profit=2**63), error(Status.MONEY)),
    "min_profit 1.0": (Universe((M,), (), min_profit=1.0), error(Status.MONEY)),
    "a bad lot before a bad book": (Universe((dataclasses.replace(M, lot=50), dataclasses.replace(
        N, book=Book(yes_asks=((2**63, 5),))))), error(Status.LOT, 0)),
}


@pytest.mark.parametrize("case", UNIVERSES)
def test_a_universe_value_the_abi_cannot_carry_gets_its_fields_code_and_index_alike(case):
    universe, expected = UNIVERSES[case]
    assert on_both(lambda engine: Engine(universe, engine=engine).scan()) == expected


F = FeeSchedule(70_000, 0, 10_000)


def _leg(ladder=((4_000, 1_000), (4_100, 5_000)), **changes) -> SizingLeg:
    return dataclasses.replace(SizingLeg(Venue.KALSHI, 100, F, ladder, 0, 0.1, 0.001), **changes)


BASE = SizingInput("0123456789abcdef", 1, 1_000, (_leg(), _leg(((5_000, 2_000),))), 0.99, 3.0, 1, 10**10, 100.0)


@pytest.mark.parametrize("inp, expected", [
    (dataclasses.replace(BASE, legs=(_leg(((4_000.0, 1_000), (4_100, 5_000))), BASE.legs[1])), error(Status.PRICE, 0)),
    (dataclasses.replace(BASE, legs=(BASE.legs[0], _leg(((5_000, True),)))), error(Status.QTY, 1)),
    (dataclasses.replace(BASE, legs=(BASE.legs[0], _leg(fees=FeeSchedule(True, 0, 1)))), error(Status.RATE, 1)),
    (dataclasses.replace(BASE, legs=(_leg(venue=1.0), BASE.legs[1])), error(Status.VENUE, 0)),
    (dataclasses.replace(BASE, legs=(_leg(venue=True), BASE.legs[1])), error(Status.VENUE, 0)),
    (dataclasses.replace(BASE, qty=2**63), error(Status.QTY)),
    (dataclasses.replace(BASE, payout=2**63), error(Status.OVERFLOW)),
])
def test_a_sizing_input_the_records_cannot_carry_gets_the_twins_error(inp, expected):
    assert on_both(lambda engine: size_opportunity(inp, engine=engine)) == expected


# ---- 4. Engine.update: the market first, Swift's index convention, no bool or float --------------

@pytest.mark.parametrize("market, expected", [
    (1, error(Status.MARKET, 1)), (-1, error(Status.MARKET, -1)), (2**31, error(Status.MARKET, 2**31)),
    (True, error(Status.MARKET)), (1.0, error(Status.MARKET)), ("nope", error(Status.MARKET)),
])
def test_a_bad_market_is_refused_alike_with_swifts_index(market, expected):
    universe = Universe((M,))
    assert on_both(lambda engine: Engine(universe, engine=engine).update(market, Book())) == expected
    assert on_both(lambda engine: Engine(universe, engine=engine).update(market, Book(no_asks=((1.5, 1),)))) == expected
    if not isinstance(market, str):
        packed = array("q", [0, 0, 0, 0])
        assert on_both(lambda engine: Engine(universe, engine=engine).update_packed(market, packed)) == expected
        assert on_both(lambda engine: Engine(universe, engine=engine).update_packed(market, [0])) == expected


def test_a_market_given_by_its_index_still_updates_alike():
    universe = Universe((M, N), (Relation(RelationKind.SAME, (0, 1)),))
    book = Book(yes_asks=((3_000, 5),), no_asks=((5_000, 5),))
    got = on_both(lambda engine: Engine(universe, engine=engine).update(1, book))
    assert got.opportunities and all(leg.side in (Side.YES, Side.NO) for o in got.opportunities for leg in o.legs)
