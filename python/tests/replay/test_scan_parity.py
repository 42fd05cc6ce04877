"""`arbbot._native.Scanner` (Swift) against the twin `arbbot.replay.scan.PyScanner`: the same
`feed` results, bursts, samples (floats to the bit), names and counters, and the same types, on
hand-written lines covering every branch of the grammar, on every split of a small recording into
two chunks, on hypothesis-generated recordings fed in random chunks (stopped lines read the
general way and handed to `add`, or skipped), and on a real recording when one is at hand.

Examples per hypothesis test: HYPOTHESIS_PROFILE=ci → 2,000; default 300; `deep` → 20,000.
"""
from __future__ import annotations

import gc
import gzip
import itertools
import json
import os
import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbbot import _native
from arbbot.replay.scan import VENUES, PyScanner

settings.register_profile("default", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

Scanner = _native.Scanner
REAL = "/tmp/prof/r10headm.jsonl.gz"
REAL_LINES = 200_000


# ---- lines ------------------------------------------------------------------------------------

def book(at, venue="kalshi", market="K-1", sides=((), (), (), ()), tradeable=True, reason="") -> bytes:
    """A book line in the recorder's form (json.dumps, compact: what `RECORD` takes)."""
    rec = {"recv_ts_ms": at, "kind": "book", "venue": venue, "market": market,
           "book": [[list(level) for level in side] for side in sides], "tradeable": tradeable, "reason": reason}
    return json.dumps(rec, separators=(",", ":")).encode() + b"\n"


def raw(at, kind="ws", venue="kalshi") -> bytes:
    if kind == "ws":
        rec = {"recv_ts_ms": at, "kind": "ws", "venue": venue, "frame": json.dumps({"type": "delta", "book": [[1, 2]]})}
    else:
        rec = {"recv_ts_ms": at, "kind": "rest", "method": "GET", "path": "/markets", "status": 200, "body": "{}"}
    return json.dumps(rec, separators=(",", ":")).encode() + b"\n"


S1 = (((4_000, 100), (3_900, 50)), ((6_100, 70),), ((5_900, 80), (5_800, 10)), ((6_000, 30),))
S2 = (((4_100, 100),), ((6_000, 20),), ((5_950, 90),), ((6_050, 0),))
MANY = tuple(tuple((p, (p * 7) % 1_000) for p in range(k * 1_000, k * 1_000 + 400, 10)) for k in range(4))


# ---- exact comparison -------------------------------------------------------------------------

def canon(x):
    """Structure, types and values; floats by their bits (float.hex)."""
    t = type(x)
    if t is float:
        return ("float", x.hex())
    if t in (list, tuple):
        return (t.__name__, tuple(canon(v) for v in x))
    return (t.__name__, x)


def assert_same(native, twin):
    if canon(native) != canon(twin):
        assert native == twin                     # the readable diff first
        assert canon(native) == canon(twin)       # same values, other types or float bits


# ---- the reader's loop (arbbot.replay.format.Recording._bursts) ------------------------------

def general(scanner, line: bytes, add: bool, trace: list) -> None:
    """A stopped line read the general way: a book (in time) goes to `add` when `add`."""
    try:
        rec = json.loads(line)
    except ValueError:
        trace.append(("skip", line))
        return
    if not (isinstance(rec, dict) and rec.get("kind") == "book"):
        trace.append(("skip", line))
        return
    at, last = rec["recv_ts_ms"], scanner.last
    if not add or (last is not None and at < last) or len(rec["book"]) > 4:
        trace.append(("skip", line))     # (the twin records a 5-sided book before it raises)
        return
    try:
        scanner.add(at, rec["venue"], rec["market"], rec["book"], rec["tradeable"], rec["reason"])
    except (ValueError, TypeError):      # a level that is not a pair of numbers
        trace.append(("error", line))
        return
    trace.append(("add", line))


def drive(scanner, chunks, seed: int = 0, add_every: float = 1.0) -> list:
    """Feed `chunks` as the reader does (tail carried over); everything observable, in order."""
    rng = random.Random(seed)
    trace, tail = [], b""
    for chunk in chunks:
        data = tail + chunk if tail else chunk
        pos = 0
        while True:
            result = scanner.feed(data, pos)
            trace.append(("feed", result))
            pos, _, stopped = result
            if not stopped:
                break
            end = data.index(b"\n", pos) + 1
            general(scanner, data[pos:end], rng.random() < add_every, trace)
            pos = end
        tail = data[pos:]
        trace.append(("take", scanner.take()))
    if tail:
        general(scanner, tail, rng.random() < add_every, trace)
    trace.append(("finish", scanner.finish()))
    trace.append(("state", list(scanner.names), scanner.last, scanner.frames, scanner.books))
    return trace


def bursts_of(trace) -> list:
    return [b for kind, *rest in trace if kind in ("take", "finish") for b in rest[0]]


def both(chunks, seed=0, add_every=1.0):
    native, twin = drive(Scanner(), chunks, seed, add_every), drive(PyScanner(), chunks, seed, add_every)
    assert_same(native, twin)
    return native


# ---- hand-written lines -----------------------------------------------------------------------

VALID = [
    book(1_000, sides=S1),
    book(1_000, "polymarket", "0xabc", S2, reason="snapshot"),
    book(1_000, sides=S2, tradeable=False, reason="crossed: bid >= ask (2 levels) ~!#$%&'()*+-./:;<=>?@[]^_`{|}"),
    book(1_001, "forecastex", "FX 1", ((), (), (), ())),
    book(1_001, market="K-2", sides=MANY),
    book(1_500, sides=(((0, 0),), ((10_000, 5),), (), ((0, 1),))),
    book(999_999_999_999_999_999, market="K-3", sides=(((10_000, 100_000_000),), (), (), ())),   # the levels' bounds
]
RAW = [raw(1_000), raw(1_000, "rest"), b'{"recv_ts_ms":7,"kind":"ws"}\n', b'{"recv_ts_ms":-7,"kind":"rest","x":1}\n',
       b'{"recv_ts_ms":"x","kind":"ws"\n',
       b'{"recv_ts_ms":1234567890123,"z":0,"kind":"rest"}\n']
STOP = [
    b'{"format":"arbbot.recording/1","mappings":"recorded","venues":{}}\n',
    b"\n",
    b"   \n",
    book(2_000, market='K"1'),                                 # escaped quote
    book(2_000, market="K\\1"),                                # escaped backslash
    book(2_000, market="Kévin"),                               # \u00e9
    book(2_000, reason="tab\there"),
    book(2_000, market=""),                                    # empty market
    book(2_000, venue="betfair"),
    book(2_000, venue="Kalshi"),
    book(2_000, venue="kalshix"),
    book(2_000).replace(b"2000", b"02000"),                    # leading zero
    book(0).replace(b'"recv_ts_ms":0', b'"recv_ts_ms":00'),
    book(2_000, sides=(((1, 2),), (), (), ())).replace(b"[[1,2]]", b"[[01,2]]"),
    book(2_000, sides=(((1, 2),), (), (), ())).replace(b"[[1,2]]", b"[[1,02]]"),
    book(1_234_567_890_123_456_789),                           # 19 digits
    book(2_000, sides=(((1_234_567_890_123_456_789, 1),), (), (), ())),
    book(2_000, sides=(((10_001, 1),), (), (), ())),           # beyond the engine's bounds: the general path
    book(2_000, sides=((), (), ((1, 100_000_001),), ())),      # names the line (a superseded book's too)
    book(2_000, sides=(((999_999_999_999_999_999, 999_999_999_999_999_999),), (), (), ())),
    book(2_000, sides=(((-1, 2),), (), (), ())),               # negative
    book(2_000, sides=(((1, -2),), (), (), ())),
    book(2_000, sides=(((1.5, 2),), (), (), ())),
    book(2_000, sides=((), (), ())),                           # 3 sides
    book(2_000, sides=((), (), (), (), ())),                   # 5 sides
    book(2_000, sides=(((1, 2, 3),), (), (), ())),
    book(2_000).replace(b":true", b":True"),
    book(2_000).replace(b'"reason":""}', b'"reason":"","x":1}'),
    book(2_000).replace(b"\n", b"\r\n"),
    book(2_000).replace(b",", b", ", 1),
    book(2_000).replace(b"[[],[],[],[]]", b"[[], [],[],[]]"),
    book(2_000, reason="\x7f"),
    book(2_000).replace(b'"reason":""', b'"reason":"\xc3\xa9"'),
    b'{"recv_ts_ms":1,"kind":"listed","venue":"kalshi","markets":[]}\n',
    b'{"recv_ts_ms":1,"kind":"wsx"}\n',
    b'{"recv_ts_ms":1,"kind":"ws}\n',
    b'{"recv_ts_ms":1,"kind":"re"}\n',
    b'{"recv_ts_ms":1,"xxxxxxxxxxxxxxxxxxxxxxxx":1,"kind":"ws"}\n',   # ,"kind":" past the 48-byte window
    b'{"recv_ts_ms":1,"kind":"book","kind":"ws"}\n',                    # the first ,"kind":" decides
    b' {"recv_ts_ms":1,"kind":"ws"}\n',
]


@pytest.mark.parametrize("line", VALID + RAW, ids=lambda b: b[:60].decode(errors="replace"))
def test_taken_lines(line):
    trace = both([line])
    assert trace[0] == ("feed", (len(line), 1, False))


@pytest.mark.parametrize("line", STOP, ids=lambda b: b[:60].decode(errors="replace"))
def test_stopped_lines(line):
    trace = both([book(1_000, sides=S1) + line + book(5_000, sides=S2)])
    assert trace[0] == ("feed", (len(book(1_000, sides=S1)), 1, True))


def test_window_boundary():
    """`,"kind":"` ending exactly at pos + 48 is found; one byte later it is not."""
    for pad in range(10, 30):
        line = b'{"recv_ts_ms":1,"' + b"x" * pad + b'":1,"kind":"ws"}\n'
        k = line.index(b',"kind":"')
        trace = both([line])
        assert trace[0][1][2] == (k + 9 > 48), (pad, k)


def test_time_going_back_stops_and_equal_time_does_not():
    data = book(2_000, sides=S1) + book(2_000, sides=S2) + book(1_999, sides=S1) + book(2_001, sides=S1)
    trace = both([data])
    first = len(book(2_000, sides=S1)) + len(book(2_000, sides=S2))
    assert trace[0] == ("feed", (first, 2, True))
    both([data], add_every=0.0)


def test_incomplete_last_line_and_start_offsets():
    data = b"".join(VALID[:4]) + RAW[0] + VALID[4][:50]
    for start in (0, 1, len(VALID[0]), len(VALID[0]) + 3, len(data) - 10, len(data), len(data) + 5):
        n, t = Scanner(), PyScanner()
        assert_same(n.feed(data, start), t.feed(data, start))
        assert_same(n.feed(data, start=0), t.feed(data))
        assert_same((n.take(), n.finish(), n.names, n.last, n.frames, n.books),
                    (t.take(), t.finish(), t.names, t.last, t.frames, t.books))


def test_buffer_types():
    data = b"".join(VALID)
    expected = drive(PyScanner(), [data])
    for wrap in (bytes, bytearray, memoryview, lambda d: memoryview(b"xx" + d)[2:]):
        s = Scanner()
        assert s.feed(wrap(data)) == expected[0][1]
        assert_same(s.finish(), expected[1][1] + expected[2][1])


def test_every_split_of_a_small_recording():
    lines = [VALID[0], RAW[0], VALID[1], STOP[0], book(1_000, sides=S2), VALID[2], book(1_700, sides=S1), STOP[3],
             RAW[1], book(2_100, "polymarket", "0xabc", S1), book(2_100, sides=S2, reason="r"),
             book(2_100, "polymarket", "0xdef", S2), STOP[1], book(3_400, sides=((), (), (), ()))]
    data = b"".join(lines)
    whole = drive(PyScanner(), [data])
    for k in range(len(data) + 1):
        split = both([data[:k], data[k:]], seed=k)
        assert_same(bursts_of(split), bursts_of(whole))
        assert_same(split[-1], whole[-1])


def test_samples_worked_example():
    """Depletion at the best effective ask and throttled mids, with the twin's floats."""
    lines = [
        book(1_000, sides=(((4_000, 100),), ((6_000, 50),), (), ())),           # yes ask 6000 x50, no ask 6000 x100
        book(1_400, sides=(((4_000, 100),), ((6_000, 20),), (), ())),           # 30 of 50 taken
        book(1_900, sides=(((4_000, 100),), ((6_100, 20),), (), ())),           # the rest gone: 50 of 50
        book(2_050, sides=(((4_100, 100),), ((6_100, 20),), (), ())),           # second 1 closes: 50 / 50; new mid
        book(2_999, sides=(((4_200, 100),), ((6_100, 20),), (), ())),           # mid moved, < 1 s after: none
        book(3_100, sides=(((4_200, 100),), ((6_100, 20),), (), ())),           # unchanged mid: none
        book(3_060, sides=(((4_300, 100),), ((6_100, 20),), (), ())).replace(b"3060", b"3500"),
    ]
    trace = both([b"".join(lines)])
    samples = [s for b in bursts_of(trace) for s in b[3]]
    assert samples == [(1, 0, 0, 1.0, 0.5),
                       (0, 0, 0, 1.0, 1.0), (0, 0, 1, 1.0, 0.0), (1, 0, 0, 2.05, 0.51),
                       (0, 0, 1, 2.0, 0.0),          # second 2: only the NO ask changed (to better prices)
                       (1, 0, 0, 3.1, 0.515)]


def test_add_shapes_and_errors():
    n, t = Scanner(), PyScanner()
    for s in (n, t):
        s.add(5, "kalshi", "A", [], True, "")
        s.add(5, "kalshi", "A", [[(4_000, 1)]], 1, "x")
        s.add(6, "polymarket", "B", ([[4_000, 1], (3_000, 2)], (), [(6_000, 3)]), 0, "y")
        s.add(6, "other venue", "é \"\\ \udcff", [[("12", 3.7)], [(True, False)]], [], "\udc80")
        s.add(2_000, "kalshi", "A", [[(-5, -7)], [(-10, 2)], [(-3, 1)], [(9, -1)]], True, "")
        s.add(-3_001, "kalshi", "A", [[(1, 2)], [(3, 4)], [(5, 6)], [(7, 8)]], True, "")
        s.add(2**62, "kalshi", "A", [[(2**62, 2**62 - 1)], [(-(2**62), 2**62)], (), ()], True, "")
        s.add(2**62 + 1, "kalshi", "A", [[(2**62, 2**62 - 1)], [(-(2**62), 2**61)], (), ()], True, "")
    assert_same((n.finish(), n.names, n.last, n.frames, n.books), (t.finish(), t.names, t.last, t.frames, t.books))
    bad = [
        ((2**63, "kalshi", "A", [], True, ""), OverflowError),
        ((1, "kalshi", "A", [[(2**63, 1)]], True, ""), OverflowError),
        ((1, "kalshi", "A", [[(1, -(2**63) - 1)]], True, ""), OverflowError),
        ((1, "kalshi", "A", [(), (), (), (), ()], True, ""), ValueError),
        ((1, "kalshi", "A", [[(1, 2, 3)]], True, ""), ValueError),
        ((1, "kalshi", "A", [[(1,)]], True, ""), ValueError),
        ((1, "kalshi", "A", 5, True, ""), TypeError),
        ((1, "kalshi", "A", [[5]], True, ""), TypeError),
        ((1, "kalshi", "A", [[("x", 1)]], True, ""), ValueError),
        ((1, "kalshi", "A", [[(None, 1)]], True, ""), TypeError),
        ((1.5, "kalshi", "A", [], True, ""), TypeError),
        ((1, b"kalshi", "A", [], True, ""), TypeError),
        # sums past int64: the effective ask (10,000 - bid), the tie's sizes, the mid
        ((3_000, "kalshi", "Z", [[(-(2**63) + 5, 1)], (), (), ()], True, ""), OverflowError),
        ((3_000, "kalshi", "Z", [[(6_000, 2**62 * 3 // 2)], (), (), [(4_000, 2**62 * 3 // 2)]], True, ""),
         OverflowError),
        ((3_000, "kalshi", "Z", [[(2**63 - 1, 1)], [(100, 2)], (), ()], True, ""), OverflowError),
    ]
    before = (n.names[:], n.last, n.books)
    for args, error in bad:
        with pytest.raises(error):
            n.add(*args)
    assert (n.names, n.last, n.books) == before              # a refused book leaves no trace
    assert n.finish() == []


def test_depletion_overflow_stops_the_feed():
    """Quantities past the engine's bound never take the fast path (the general path refuses their
    line); for `add`, the native scanner still guards its arithmetic: a best ask whose size goes
    from 2^63 − 1 to −2 at one price (removed past int64) raises OverflowError, nothing changed."""
    lines = [book(1_000, sides=((), ((5_000, 2**63 - 1),), (), ())), book(1_500, sides=((), ((5_000, -2),), (), ())),
             book(2_000, sides=((), ((5_000, 1),), (), ()))]
    n, t = Scanner(), PyScanner()
    data = b"".join(lines)
    assert n.feed(data) == t.feed(data, 0) == (0, 0, True)
    recs = [json.loads(line) for line in lines]
    rec = recs[0]
    n.add(rec["recv_ts_ms"], rec["venue"], rec["market"], rec["book"], rec["tradeable"], rec["reason"])
    rec = recs[1]                                                          # 2^63 − 1 − (−2) taken at 50¢
    with pytest.raises(OverflowError):
        n.add(rec["recv_ts_ms"], rec["venue"], rec["market"], rec["book"], rec["tradeable"], rec["reason"])
    assert n.books == 1


def test_no_crash_on_hostile_use():
    s = Scanner()
    with pytest.raises(ValueError):
        s.feed(b"", -1)
    with pytest.raises(TypeError):
        s.feed("text")
    with pytest.raises(TypeError):
        s.feed(None)
    with pytest.raises((TypeError, BufferError, ValueError)):
        s.feed(memoryview(b"abcdef")[::2])
    with pytest.raises(AttributeError):
        s.names = []
    with pytest.raises(AttributeError):
        s.last = 5
    assert s.feed(b"") == (0, 0, False) and s.feed(b"abc", 99) == (99, 0, False)

    class Evil:
        def __int__(self):
            return s.feed(b"")        # re-entry while add converts: refused, not a crash
    with pytest.raises(RuntimeError):
        s.add(1, "kalshi", "A", [[(Evil(), 1)]], True, "")
    s.names.append(s)                 # a cycle through the scanner: collected
    del s
    gc.collect()


# ---- hypothesis-generated recordings ---------------------------------------------------------

MARKETS = ("A", "B", "KX-1", "0x5e1f", "M N")
prices = st.one_of(st.integers(0, 10_000), st.sampled_from([0, 1, 5_000, 9_999, 10_000, 20_000]))
qtys = st.one_of(st.integers(0, 300), st.sampled_from([0, 0, 1, 100, 10**6, 10**17]))
sides = st.lists(st.lists(st.tuples(prices, qtys), max_size=4).map(tuple), min_size=4, max_size=4).map(tuple)


@st.composite
def recordings(draw):
    at = draw(st.sampled_from([0, 999, 1_000, 1_795_864_998_229]))
    lines = []
    for _ in range(draw(st.integers(1, 40))):
        at += draw(st.sampled_from([0, 0, 0, 1, 2, 500, 999, 1_000, 1_001]))
        kind = draw(st.sampled_from(["book"] * 6 + ["ws", "rest", "other", "loose", "back", "blank"]))
        venue, market = draw(st.sampled_from(VENUES)), draw(st.sampled_from(MARKETS))
        if kind == "book":
            lines.append(book(at, venue, market, draw(sides), draw(st.booleans()),
                              draw(st.sampled_from(["", "", "snapshot", "r/1 x"]))))
        elif kind in ("ws", "rest"):
            lines.append(raw(at, kind, venue))
        elif kind == "other":
            lines.append(json.dumps({"recv_ts_ms": at, "kind": "listed", "venue": venue}).encode() + b"\n")
        elif kind == "loose":                     # a book the general path reads (json.dumps' spaces)
            rec = {"recv_ts_ms": at, "kind": "book", "venue": venue, "market": market,
                   "book": [list(map(list, s)) for s in draw(sides)], "tradeable": True, "reason": ""}
            lines.append(json.dumps(rec).encode() + b"\n")
        elif kind == "back":
            lines.append(book(at - draw(st.integers(1, 2_000)), venue, market, draw(sides)))
        else:
            lines.append(b"\n")
    data = b"".join(lines)
    if draw(st.booleans()):
        data = data[:-1]                          # an incomplete last line
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
    return chunks, draw(st.integers(0, 2**32)), draw(st.sampled_from([0.0, 0.5, 1.0]))


# an eighth of the profile's examples (250 in CI: ≈ 90 ms each, mostly drawing the recording)
@settings(max_examples=max(50, settings().max_examples // 8), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(recordings())
def test_generated_recordings(case):
    chunks, seed, add_every = case
    both(chunks, seed, add_every)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(-(2**62), 2**62), st.sampled_from(VENUES[:2]), st.sampled_from(MARKETS[:2]),
                          st.lists(st.lists(st.tuples(st.integers(-(2**61), 2**61), st.integers(-(2**61), 2**61)),
                                            max_size=2), max_size=4)), max_size=12))
def test_added_books_with_large_values(books):
    """Python's int / int is correctly rounded for any size: so is the Swift one (at / 1000,
    removed / start size, mid2 / 2 past 2^53)."""
    n, t = Scanner(), PyScanner()
    for at, venue, market, sds in sorted(books, key=lambda b: b[0]):
        errors = []
        for s in (n, t):
            try:
                s.add(at, venue, market, sds, True, "")
            except OverflowError:
                errors.append(s)
        if errors:                                # Python's ints do not overflow; Swift refuses cleanly
            assert errors == [n]
            return
    assert_same((n.finish(), n.names, n.last, n.books), (t.finish(), t.names, t.last, t.books))


# ---- a real recording -------------------------------------------------------------------------

@pytest.mark.skipif(not os.path.exists(REAL), reason=f"{REAL} is not here (not in the repository)")
def test_real_recording():
    with gzip.open(REAL, "rb") as fh:
        fh.readline()                                 # the header (the reader reads it apart)
        data = b"".join(itertools.islice(fh, REAL_LINES))
    chunk = 1 << 20                                   # arbbot.replay.format.READ_BUFFER
    chunks = [data[k:k + chunk] for k in range(0, len(data), chunk)]
    lines = data.count(b"\n")
    results, seconds = {}, {}
    for name, cls in (("swift", Scanner), ("python", PyScanner)):
        t0 = time.perf_counter()
        results[name] = drive(cls(), chunks)
        seconds[name] = time.perf_counter() - t0
    native, twin = results["swift"], results["python"]
    assert native == twin
    for a, b in zip(bursts_of(native)[:300], bursts_of(twin)[:300]):
        assert_same(a, b)
    assert_same(native[-1], twin[-1])
    del results, native, twin

    def stream(scanner) -> tuple[float, float]:       # the reader's loop, bursts dropped: (all, feed alone)
        t0, tail, feeding = time.perf_counter(), b"", 0.0
        for c in chunks:
            buf = tail + c if tail else c
            t1 = time.perf_counter()
            end, _, stopped = scanner.feed(buf)
            feeding += time.perf_counter() - t1
            assert not stopped
            tail = buf[end:]
            scanner.take()
        scanner.finish()
        return (time.perf_counter() - t0) / lines * 1e6, feeding / lines * 1e6
    (streamed, feed_only), (py_streamed, py_feed) = stream(Scanner()), stream(PyScanner())
    print(f"\n{lines} lines: per line, bursts kept: swift {seconds['swift'] / lines * 1e6:.2f} µs, python "
          f"{seconds['python'] / lines * 1e6:.2f} µs; bursts dropped: swift {streamed:.2f} µs (feed alone "
          f"{feed_only:.2f} µs), python {py_streamed:.2f} µs (feed alone {py_feed:.2f} µs)")


def test_the_scanners_samples_are_the_sessions():
    """A replay takes its sizing samples from the scanner, a live session from
    `StreamSamples.on_book`: the same samples from the same books. Since session 22 the session
    leaves out untradeable books (they may be missing updates) and reads a Polymarket token's own
    asks only (the other token's bids mirror them: adding them counted the same depth twice); the
    scanners used to sample every book with 1 − the other bid added on every venue."""
    from arbbot.model import Book, MarketId, Venue
    from arbbot.replay.scan import DEPLETION, MID
    from arbbot.run.samples import StreamSamples
    rng = random.Random(7)
    books = []
    for k in range(400):
        venue, market = rng.choice([("polymarket", "0xP"), ("kalshi", "K-1")])
        side = lambda: tuple(sorted({(rng.choice((3_900, 4_000, 4_100)), rng.choice((0, 20, 50, 100)))}))   # noqa: E731
        books.append((1_000 + 97 * k, venue, market, tuple(side() for _ in range(4)), rng.random() > 0.2))
    both([b"".join(book(at, v, m, sides, t) for at, v, m, sides, t in books)])     # the Swift scanner: the twin's
    scanned: dict = {}
    live = StreamSamples(persist=False)
    for at, venue, market, sides, tradeable in books:
        live.on_book(f"{venue}:{market}", Book(*sides, market=MarketId(Venue.parse(venue), market), tradeable=tradeable),
                     at / 1000)
    live.on_book("kalshi:K-1", Book(market=MarketId(Venue.KALSHI, "K-1")), 10**6)            # close the last
    live.on_book("polymarket:0xP", Book(market=MarketId(Venue.POLYMARKET, "0xP")), 10**6)    # seconds of both
    scanner = PyScanner()
    for at, venue, market, sides, tradeable in books + [(10**9, "kalshi", "K-1", ((),) * 4, True),
                                                        (10**9, "polymarket", "0xP", ((),) * 4, True)]:
        scanner.add(at, venue, market, sides, tradeable, "")
    for venue, _at, _deliveries, samples in scanner.finish():
        for kind, index, side, t, value in samples:
            name = ":".join(scanner.names[index])
            key = (name, side) if kind == DEPLETION else name
            scanned.setdefault((kind, key), []).append((t, value))
    expected = {(DEPLETION, (name, 0 if s.label == "yes" else 1)): list(ring) for (name, s), ring in live.depletion.items()}
    expected.update({(MID, name): list(ring) for name, ring in live.mids.items()})
    assert {k: v for k, v in scanned.items() if v} == {k: v for k, v in expected.items() if v}
    assert any(k[0] == DEPLETION and k[1][0].startswith("polymarket") for k in scanned)
