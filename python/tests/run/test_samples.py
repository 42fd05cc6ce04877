"""Depletion and volatility samples from streamed books, hand-computed."""
from __future__ import annotations

from types import SimpleNamespace

from arbbot.model import Book, MarketId, Side, Venue
from arbbot.replay.scan import MID
from arbbot.run.live import pack
from arbbot.run.samples import DEPLETION, StreamSamples


def book(yes_bids=(), yes_asks=(), no_bids=(), no_asks=()) -> Book:
    return Book(tuple(yes_bids), tuple(yes_asks), tuple(no_bids), tuple(no_asks))


def test_depletion_is_removed_size_over_the_size_at_the_start_of_the_second():
    s = StreamSamples()
    # Kalshi-style book (bids only): YES ask = $1 − best NO bid = 6000 ticks, 1,000 lots
    s.on_packed("k:M", pack(book(yes_bids=[(3900, 500)], no_bids=[(4000, 1000)])), 100.0)
    s.on_packed("k:M", pack(book(yes_bids=[(3900, 500)], no_bids=[(4000, 700)])), 100.4)    # 300 taken
    s.on_packed("k:M", pack(book(yes_bids=[(3900, 500)], no_bids=[(4000, 600)])), 100.9)    # 100 more
    s.on_packed("k:M", pack(book(yes_bids=[(3900, 500)], no_bids=[(4000, 600)])), 101.2)    # next second
    assert list(s.depletion[("k:M", Side.YES)]) == [(100.0, 0.4)]   # (300 + 100) / 1,000
    # the NO side's best ask ($1 − 3900 = 6100, 500 lots) never changed: a sample of 0
    assert list(s.depletion[("k:M", Side.NO)]) == [(100.0, 0.0)]


def test_a_best_ask_that_moves_worse_counts_its_whole_level_as_removed():
    s = StreamSamples()
    s.on_packed("p:M", pack(book(yes_asks=[(5000, 200), (5100, 800)])), 10.0)
    s.on_packed("p:M", pack(book(yes_asks=[(5000, 50), (5100, 800)])), 10.5)     # 150 removed
    s.on_packed("p:M", pack(book(yes_asks=[(5100, 800)])), 10.7)                  # last 50 gone: ask 5100
    s.on_packed("p:M", pack(book(yes_asks=[(5100, 300)])), 11.1)                  # next second begins at 800
    s.on_packed("p:M", pack(book(yes_asks=[(5100, 300)])), 12.0)
    assert list(s.depletion[("p:M", Side.YES)]) == [(10.0, 1.0), (11.0, 500 / 800)]


def test_a_requote_through_worse_asks_within_a_second_removes_nothing():
    """A venue moves a book one level at a time: a re-quote from 6000 to 5900 passes through 6100 and
    through no ask at all for a few microseconds. Only the second's start and end count (each
    in-between state counted the whole level again: a market re-quoting once a second read as a
    depletion rate of 14/s in the simulator)."""
    s = StreamSamples()
    s.on_packed("p:M", pack(book(yes_asks=[(6000, 400), (6100, 100)])), 50.0)
    s.on_packed("p:M", pack(book(yes_asks=[(6100, 100)])), 50.2)                   # 6000 level cancelled
    s.on_packed("p:M", pack(book()), 50.2)                                          # 6100 too
    s.on_packed("p:M", pack(book(yes_asks=[(5900, 300)])), 50.2)                    # the new, better ask
    s.on_packed("p:M", pack(book(yes_asks=[(5900, 300)])), 51.0)
    s.on_packed("p:M", pack(book(yes_asks=[(5900, 300)], yes_bids=[(5000, 10)])), 52.5)   # a bid only
    s.on_packed("p:M", pack(book(yes_asks=[(6000, 300)], yes_bids=[(5000, 10)])), 53.1)   # 5900 gone
    s.on_packed("p:M", pack(book(yes_asks=[(6000, 300)], yes_bids=[(5000, 10)])), 54.0)
    # second 50: 0 of 400 gone (a better ask is left); 51 and 52: the ask did not change, no sample;
    # 53: the 5900 ask it began with is gone
    assert list(s.depletion[("p:M", Side.YES)]) == [(50.0, 0.0), (53.0, 1.0)]


def test_mids_are_recorded_on_change_at_most_once_a_second_and_queued_for_the_store():
    s = StreamSamples()
    s.on_packed("p:M", pack(book(yes_bids=[(4800, 10)], yes_asks=[(5200, 10)])), 0.0)     # mid 0.5
    s.on_packed("p:M", pack(book(yes_bids=[(4800, 10)], yes_asks=[(5200, 10)])), 1.5)     # unchanged
    s.on_packed("p:M", pack(book(yes_bids=[(4900, 10)], yes_asks=[(5300, 10)])), 4.0)     # mid 0.51
    s.on_packed("p:M", pack(book(yes_bids=[(4850, 10)], yes_asks=[(5250, 10)])), 4.5)     # too soon
    s.on_packed("p:M", pack(book(yes_bids=[(4850, 10)], yes_asks=[(5250, 10)])), 5.0)     # mid 0.505
    assert list(s.mids["p:M"]) == [(0.0, 0.5), (4.0, 0.51), (5.0, 0.505)]
    queued = s.drain()
    assert [q for q in queued if q[0] == "mid"] == [("mid", "p:M", 0.0, 0.5), ("mid", "p:M", 4.0, 0.51),
                                                    ("mid", "p:M", 5.0, 0.505)]
    assert ("depletion", "p:M#yes", 0.0, 0.0) in queued and s.drain() == []


def test_a_sample_ring_keeps_the_newest_in_order_in_16_bytes_a_sample():
    import sys

    from arbbot.run.samples import SampleRing
    ring = SampleRing(maxlen=4)
    assert list(ring) == [] and len(ring) == 0
    for k in range(1, 11):
        ring.append((float(k), k / 10))
        assert list(ring) == [(float(j), j / 10) for j in range(max(1, k - 3), k + 1)]
    assert len(ring) == 4
    assert list(SampleRing(ring, maxlen=2)) == [(9.0, 0.9), (10.0, 1.0)]
    full = SampleRing(((float(t), 0.5) for t in range(512)), maxlen=512)
    assert len(full) == 512 and sys.getsizeof(full._data) < 512 * 16 + 200


def test_scanned_samples_go_to_the_rings_of_wanted_markets_only():
    """A replay's scanned samples: into the same rings `on_packed` fills, keyed by (market, side)
    and market; a market not streamed yet is left out until it is (then its samples count)."""
    mids = [MarketId(Venue.KALSHI, "A"), MarketId(Venue.POLYMARKET, "B")]
    source = SimpleNamespace(mids=mids, names=[str(m) for m in mids])
    s = StreamSamples()
    wanted = {"A"}
    s.add_scanned([(DEPLETION, 0, 0, 5.0, 0.25), (DEPLETION, 0, 1, 5.0, 0.5), (MID, 0, 0, 5.2, 0.41),
                   (DEPLETION, 1, 0, 5.0, 1.0), (MID, 1, 0, 5.3, 0.6)], source, wanted)
    assert {k: list(v) for k, v in s.depletion.items()} == {("kalshi:A", Side.YES): [(5.0, 0.25)],
                                                             ("kalshi:A", Side.NO): [(5.0, 0.5)]}
    assert {k: list(v) for k, v in s.mids.items()} == {"kalshi:A": [(5.2, 0.41)]}
    wanted.add("B")                              # streamed from now on
    s.add_scanned([(DEPLETION, 1, 0, 6.0, 0.75), (DEPLETION, 0, 0, 6.0, 0.125), (MID, 1, 0, 6.3, 0.62)],
                  source, wanted)
    assert list(s.depletion[("polymarket:B", Side.YES)]) == [(6.0, 0.75)]
    assert list(s.depletion[("kalshi:A", Side.YES)]) == [(5.0, 0.25), (6.0, 0.125)]
    assert list(s.mids["polymarket:B"]) == [(6.3, 0.62)]
    assert s.drain() == [("depletion", "kalshi:A#yes", 5.0, 0.25), ("depletion", "kalshi:A#no", 5.0, 0.5),
                         ("mid", "kalshi:A", 5.2, 0.41), ("depletion", "polymarket:B#yes", 6.0, 0.75),
                         ("depletion", "kalshi:A#yes", 6.0, 0.125), ("mid", "polymarket:B", 6.3, 0.62)]


def test_size_taken_at_the_best_ask_counts_though_refilled_within_the_second():
    """60 of 100 taken, refilled, 30 more taken: 90 of the 100 the second began with left (ρ's
    "size traded + removed"), though the level ends as large as it began."""
    s = StreamSamples()
    s.on_packed("p:M", pack(book(yes_asks=[(5000, 100)])), 60.0)
    s.on_packed("p:M", pack(book(yes_asks=[(5000, 40)])), 60.1)
    s.on_packed("p:M", pack(book(yes_asks=[(5000, 100)])), 60.2)
    s.on_packed("p:M", pack(book(yes_asks=[(5000, 70)])), 60.3)
    s.on_packed("p:M", pack(book(yes_asks=[(5000, 100)])), 61.0)         # second 61 began at 70: refilled
    s.on_packed("p:M", pack(book(yes_asks=[(5000, 60)])), 61.5)          # 40 taken
    s.on_packed("p:M", pack(book(yes_asks=[(5100, 500)])), 61.6)         # the other 60 gone: worse ask
    s.on_packed("p:M", pack(book(yes_asks=[(5100, 500)])), 62.0)
    assert list(s.depletion[("p:M", Side.YES)]) == [(60.0, 0.9), (61.0, 100 / 70)]
