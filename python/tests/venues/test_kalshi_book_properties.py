"""Property tests: any valid delta stream applied to a snapshot equals the book rebuilt from a
fresh snapshot; any lost frame is detected as a gap."""
from __future__ import annotations

import asyncio
import json

from hypothesis import given, settings, strategies as st

from arbbot.venues.kalshi.book import KalshiBook, SeqTracker
from arbbot.venues.kalshi.data import KalshiDataClient

T = "KXTEST-1"
prices = st.integers(1, 99).map(lambda c: c * 100)
book_st = st.dictionaries(prices, st.integers(1, 10_000), max_size=8)


@st.composite
def stream(draw):
    """A start book per side and a valid delta stream (never drives a level below 0)."""
    state = {"yes": dict(draw(book_st)), "no": dict(draw(book_st))}
    start = {s: dict(v) for s, v in state.items()}
    deltas = []
    for _ in range(draw(st.integers(0, 40))):
        side = draw(st.sampled_from(["yes", "no"]))
        p = draw(prices)
        cur = state[side].get(p, 0)
        d = draw(st.integers(-cur, 5_000).filter(lambda x: x != 0))
        state[side][p] = cur + d
        if state[side][p] == 0:
            del state[side][p]
        deltas.append((side, p, d))
    return start, deltas, state


def _fmt(p):
    return f"{p // 10_000}.{p % 10_000:04d}"


def _lots(n):
    sign = "-" if n < 0 else ""
    n = abs(n)
    return f"{sign}{n // 100}.{n % 100:02d}"


def _snap_frame(seq, book):
    msg = {"market_ticker": T, "market_id": "m"}
    for side in ("yes", "no"):
        if book[side]:
            msg[f"{side}_dollars_fp"] = [[_fmt(p), _lots(q)] for p, q in sorted(book[side].items())]
    return json.dumps({"type": "orderbook_snapshot", "sid": 1, "seq": seq, "msg": msg})


def _delta_frame(seq, side, p, d):
    return json.dumps({"type": "orderbook_delta", "sid": 1, "seq": seq, "msg": {
        "market_ticker": T, "price_dollars": _fmt(p), "delta_fp": _lots(d), "side": side, "ts_ms": 1}})


@settings(max_examples=150, deadline=None)
@given(stream())
def test_deltas_equal_fresh_snapshot(case):
    start, deltas, final = case

    async def main():
        a = KalshiDataClient("ws://127.0.0.1:9/x", None, [T])
        b = KalshiDataClient("ws://127.0.0.1:9/x", None, [T])
        await a.on_frame(_snap_frame(1, start), 0)
        for i, (side, p, d) in enumerate(deltas):
            await a.on_frame(_delta_frame(i + 2, side, p, d), 0)
        await b.on_frame(_snap_frame(1, final), 0)
        na, nb = a.books[T].native(), b.books[T].native()
        assert na.tradeable and (na.yes_bids, na.no_bids) == (nb.yes_bids, nb.no_bids)
        assert a.gaps == 0
    asyncio.run(main())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=60))
def test_any_lost_frame_is_a_gap(steps):
    """Sequence numbers advancing by `steps` (1 = contiguous): a gap is reported iff a step > 1."""
    t = SeqTracker()
    seq, gaps = 1, 0
    assert t.check(7, seq) == "ok"
    for s in steps:
        seq += s
        r = t.check(7, seq)
        assert r == ("ok" if s == 1 else "gap")
        gaps += r == "gap"
        assert t.check(7, seq) == "stale"           # a duplicate is never applied
    assert gaps == sum(1 for s in steps if s > 1)


@settings(max_examples=100, deadline=None)
@given(book_st, st.integers(1, 99).map(lambda c: c * 100), st.integers(1, 20_000))
def test_overdrawn_level_flags_book(levels, p, extra):
    b = KalshiBook(T)
    b.apply_snapshot(list(levels.items()), [])
    b.apply_delta("yes", p, -(levels.get(p, 0) + extra))
    assert not b.tradeable


@settings(max_examples=150, deadline=None)
@given(stream(), st.lists(st.sampled_from(["yes", "no"]), max_size=6))
def test_the_levels_after_every_frame_are_the_model_books_best_first(case, resnapshots):
    """After every snapshot and every delta, `native()`'s two sides equal the model's book sorted
    by price, highest first, under the book's own MarketId."""
    start, deltas, _ = case
    book = KalshiBook(T)
    model = {s: dict(v) for s, v in start.items()}

    def check():
        native = book.native()
        for side, levels in (("yes", native.yes_bids), ("no", native.no_bids)):
            assert levels == tuple(sorted(model[side].items(), key=lambda lv: -lv[0]))
        assert native.market is book.market and str(native.market) == f"kalshi:{T}"

    book.apply_snapshot(tuple(model["yes"].items()), tuple(model["no"].items()))
    check()
    for i, (side, p, d) in enumerate(deltas):
        if model[side].get(p, 0) + d < 0:        # drawn before a snapshot emptied that side
            continue
        book.apply_delta(side, p, d)
        model[side][p] = model[side].get(p, 0) + d
        if not model[side][p]:
            del model[side][p]
        check()
        if i < len(resnapshots):          # a snapshot in the middle, one side emptied, replaces both
            model[resnapshots[i]] = {}
            book.apply_snapshot(tuple(model["yes"].items()), tuple(model["no"].items()))
            check()
