"""The C boundary: hostile arguments raise Python exceptions and never crash the interpreter.

The fuzz test runs in a subprocess so that a crash (SIGILL from a Swift trap, SIGSEGV) shows up
as a failing return code instead of killing pytest.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from array import array

import numpy as np
import pytest

from arbbot.engine.native import LEG_RECORD, OPPORTUNITY_RECORD, decode_opportunities, pack_universe
from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side, Status

from .builders import KALSHI_FEES, market, universe


def native_status(native, fn, *args, **kwargs) -> int:
    with pytest.raises(native.NativeError) as info:
        fn(*args, **kwargs)
    code, message, _ = info.value.args
    assert isinstance(message, str) and message
    return code


def test_abi_and_messages(native):
    assert native.abi_version() == 4
    assert native.OPPORTUNITY_SIZE == 64 and native.LEG_SIZE == 40
    assert (OPPORTUNITY_RECORD.size, LEG_RECORD.size) == (native.OPPORTUNITY_SIZE, native.LEG_SIZE)
    for code in range(18):
        assert isinstance(native.status_message(code), str) and native.status_message(code)
    assert native.status_message(12345) and native.status_message(-7)


def test_decompose_buffer_checks(native):
    ok = array("q", [5_000, 100])
    assert native.decompose(0, ok, (1, 0, 0, 0))[2][2] == -1   # quote: no NO bid
    with pytest.raises(TypeError):
        native.decompose(0, [5_000, 100], (1, 0, 0, 0))                # a list is not a buffer
    with pytest.raises(TypeError):
        native.decompose(0, np.array([5_000.0, 100.0]), (1, 0, 0, 0))  # float64
    with pytest.raises(TypeError):
        native.decompose(0, array("i", [5_000, 100]), (1, 0, 0, 0))    # int32
    with pytest.raises(TypeError):
        native.decompose(0, np.arange(8, dtype=np.int64)[::2], (2, 0, 0, 0))   # not contiguous
    assert native_status(native, native.decompose, 0, ok, (1, 0, 0)) == Status.LENGTH
    assert native_status(native, native.decompose, 0, ok, (2, 0, 0, 0)) == Status.LENGTH
    assert native_status(native, native.decompose, 0, ok, (-1, 2, 0, 0)) == Status.LENGTH
    assert native_status(native, native.decompose, 99, ok, (1, 0, 0, 0)) == Status.VENUE
    assert native_status(native, native.decompose, 0, ok, (0, 1, 0, 0)) == Status.BIDS_ONLY
    assert native_status(native, native.decompose, 1, array("q", [-5, 1]), (0, 1, 0, 0)) == Status.PRICE
    big = np.array([5_000, 10**9] * 200, dtype=np.int64)     # > 64 levels: heap path in the glue
    assert native_status(native, native.decompose, 1, big, (0, 200, 0, 0)) == Status.QTY
    many = np.array([[p, 1] for p in range(0, 10_000, 25)], dtype=np.int64).ravel()
    yes, no, quote = native.decompose(1, many, (0, 400, 0, 0))
    assert len(yes) == 400 and yes[0] == (0, 1) and yes[-1] == (9_975, 1) and no == ()


def test_engine_construction_checks(native):
    u = universe([market("kalshi", "A", KALSHI_FEES, yes_bids=[["0.4", "1"]]),
                  market("kalshi", "B", KALSHI_FEES, no_bids=[["0.4", "1"]])],
                 [{"kind": "same", "a": "kalshi:A", "b": "kalshi:B"}])
    good = pack_universe(u)
    native.Engine(**good)

    def broken(**changes):
        return native_status(native, native.Engine, **{**good, **changes})

    assert broken(lot=array("i", [100])) == Status.LENGTH
    assert broken(book_levels=array("q", [4_000, 100])) == Status.LENGTH
    assert broken(name_offsets=array("q", [0, 9, 4])) == Status.NAME
    assert broken(name_offsets=array("q", [0, 4, 999])) == Status.NAME
    assert broken(rel_offsets=array("q", [0, 3])) == Status.LENGTH
    assert broken(rel_members=array("i", [0, 7])) == Status.MARKET
    assert broken(rel_members=array("i", [1, 1])) == Status.RELATION
    assert broken(rel_kind=array("i", [42])) == Status.KIND
    assert broken(venue=array("i", [0, 5])) == Status.VENUE
    assert broken(lot=array("i", [100, 50])) == Status.LOT
    assert broken(max_qty=-2) == Status.QTY
    assert broken(min_profit=-1) == Status.MONEY
    with pytest.raises(TypeError):
        native.Engine(**{k: v for k, v in good.items() if k != "names"})
    engine = native.Engine(**good)
    assert native_status(native, engine.update, 2, array("q"), (0, 0, 0, 0)) == Status.MARKET
    assert native_status(native, engine.update, -1, array("q"), (0, 0, 0, 0)) == Status.MARKET
    assert native_status(native, engine.update, 0, array("q", [1, 1]), (0, 1, 0, 0)) == Status.BIDS_ONLY
    opps, legs, untradeable = engine.update(0, array("q", [4_000, 100]), (1, 0, 0, 0))
    assert (opps, legs, untradeable) == (b"", b"", ())
    # the packed form: the four counts, then the pairs, in one int64 buffer
    assert engine.update(0, array("q", [1, 0, 0, 0, 4_000, 100])) == (b"", b"", ())
    assert native_status(native, engine.update, 0, array("q", [0, 0, 0])) == Status.LENGTH
    assert native_status(native, engine.update, 0, array("q", [1, 0, 0, 0])) == Status.LENGTH
    assert native_status(native, engine.update, 0, array("q", [-1, 1, 0, 0, 4_000, 100])) == Status.LENGTH
    assert native_status(native, engine.update, 0, array("q", [0, 1, 0, 0, 1, 1])) == Status.BIDS_ONLY
    assert native_status(native, engine.update, 9, array("q", [0, 0, 0, 0])) == Status.MARKET
    with pytest.raises(TypeError):
        engine.update(0, array("i", [0, 0, 0, 0]))


FUZZ = textwrap.dedent("""
    import random, sys
    from array import array
    from arbbot import _native as n
    rng = random.Random(int(sys.argv[1]))
    handled = 0
    def value():
        return rng.choice([0, 1, -1, 100, 10_000, 10_001, 2**31 - 1, -2**31, 2**62, -2**63, 10**8, 10**8 + 1,
                           rng.randint(-2**63, 2**63 - 1), rng.randint(-20, 20_000)])
    def arr(code, k):
        return array(code, [max(-2**31, min(2**31 - 1, value())) if code == "i" else value() for _ in range(k)])
    for i in range(int(sys.argv[2])):
        try:
            kind = rng.randrange(5)
            if kind == 0:
                k = rng.randrange(6)
                counts = [rng.randrange(3) for _ in range(4)]
                if rng.random() < 0.3:
                    counts[rng.randrange(4)] = value()
                n.decompose(rng.randrange(-1, 4), arr("q", 2 * k), counts)
            elif kind == 1:
                n.order_fee(value(), value(), value(), arr("q", 2 * rng.randrange(5)))
            elif kind == 2:
                n.evaluate(value(), value(), value(), value(), rng.uniform(-1, 2), rng.random(),
                           rng.choice([0.0, 1.0, float("nan"), float("inf"), -1.0]), rng.uniform(-1, 1))
            else:
                m = rng.randrange(4)
                r = rng.randrange(3)
                counts = array("q", [rng.randrange(3) for _ in range(4 * m)])
                members = arr("i", rng.randrange(7))
                offsets = sorted(rng.randrange(len(members) + 1) for _ in range(r - 1)) if r else []
                kwargs = dict(venue=arr("i", m), lot=array("i", [rng.choice([1, 100, 7]) for _ in range(m)]),
                    taker_rate_ppm=arr("i", m), per_contract=arr("q", m), rounding=arr("q", m),
                    book_counts=counts, book_levels=arr("q", 2 * sum(counts)), names=b"ab" * m,
                    name_offsets=array("q", [0] + [2 * (j + 1) for j in range(m)]),
                    rel_kind=array("i", [rng.randrange(-1, 9) for _ in range(r)]), rel_exhaustive=arr("i", r),
                    rel_offsets=array("q", ([0] + offsets + [len(members)]) if r else [0]),
                    rel_members=members if r else array("i"), max_qty=value(), min_profit=value())
                if rng.random() < 0.2:
                    key = rng.choice(list(kwargs))
                    kwargs[key] = arr("q", rng.randrange(4)) if not isinstance(kwargs[key], int) else value()
                e = n.Engine(**kwargs)
                e.scan()
                for _ in range(3):
                    k = rng.randrange(4)
                    e.update(rng.randrange(-1, m + 1), arr("q", 2 * k), [k, 0, 0, 0])
        except (n.NativeError, TypeError, ValueError, OverflowError):
            handled += 1
    print("survived", handled)
""")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fuzz_native_module_never_crashes(native, seed):
    proc = subprocess.run([sys.executable, "-c", FUZZ, str(seed), "4000"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"native module crashed (return code {proc.returncode}): {proc.stderr[-2000:]}"
    handled = int(proc.stdout.split()[-1])
    assert 1_000 < handled <= 4_000     # most random inputs are invalid and must be rejected cleanly


def test_decoding_the_engines_records():
    """Two opportunities and their three legs, as the engine writes them (little-endian, packed)."""
    opps = (OPPORTUNITY_RECORD.pack(0xFEDCBA9876543210, 1, 1, 500, 5_000_000, 4_700_000, 120_000, 180_000, 0, 2)
            + OPPORTUNITY_RECORD.pack(7, 2, 5, 100, 1_000_000, 930_000, 0, 70_000, 2, 1))     # cross; bucket
    legs = (LEG_RECORD.pack(1, 0, 500, 4_300, 0, 2_150_000, 60_000) + LEG_RECORD.pack(0, 1, 500, 5_200, 0, 2_550_000, 60_000)
            + LEG_RECORD.pack(2, 0, 100, 9_300, 0, 930_000, 0))
    names = ["kalshi:A", "polymarket:B", "kalshi:C"]
    assert decode_opportunities(opps, legs, names) == (
        Opportunity("fedcba9876543210", Lane.CROSS, Kind.YES_A_NO_B, 500, 5_000_000, 4_700_000, 120_000, 180_000,
                    (Leg("polymarket:B", Side.YES, 500, 4_300, 2_150_000, 60_000),
                     Leg("kalshi:A", Side.NO, 500, 5_200, 2_550_000, 60_000))),
        Opportunity("0000000000000007", Lane.BUCKET, Kind.ALL_NO, 100, 1_000_000, 930_000, 0, 70_000,
                    (Leg("kalshi:C", Side.YES, 100, 9_300, 930_000, 0),)))
    assert decode_opportunities(b"", b"", names) == ()
