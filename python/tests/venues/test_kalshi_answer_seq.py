"""Kalshi's answers to `update_subscription` carry the subscription's sid and a seq (AsyncAPI:
`{"id": 123, "sid": 456, "seq": 222, "type": "ok"}`; the Go SDK's tests answer add_markets with
ok seq 222 and then the new market's snapshot seq 223). If that number is taken from the sid's
book sequence, the next book frame jumps one: before, every add_markets (and delete_markets)
then read as a lost frame and resynced every book of the subscription. A jump over numbers only
answers carried is no gap now; a number no frame carried still is; and if the answers' numbers
are not the sid's own, a book frame numbered like one is still in sequence."""
from __future__ import annotations

import json

from arbbot.venues.kalshi.book import SeqTracker
from tests.venues.test_kalshi_data_session28 import _streaming, run, snapshot_asks, snapshots, yes_delta


def ok(cid: int, seq: int, sid: int = 2) -> str:
    return json.dumps({"id": cid, "sid": sid, "seq": seq, "type": "ok", "msg": {"market_tickers": ["A", "B", "C"]}})


def test_an_answer_numbered_in_the_sequence_is_no_lost_frame():
    async def main():
        c = await _streaming(["A", "B", "C"])           # snapshots seq 1..3
        await c.on_frame(ok(7, 4), 0)                    # the answer takes 4
        await c.on_frame(yes_delta(5, "A", lots="5.00"), 0)
        assert (c.gaps, snapshot_asks(c.ws)) == (0, [])
        assert all(c.native(t).tradeable for t in "ABC") and c.native("A").yes_bids == ((4000, 10_500),)
        # a book frame lost after an answer is still a gap: 6 (answer), 7 lost, 8 arrives
        await c.on_frame(ok(8, 6), 0)
        await c.on_frame(yes_delta(8, "B"), 0)
        assert c.gaps == 1 and snapshot_asks(c.ws) == [["A", "B", "C"]]
        await c.close()
    run(main())


def test_an_answer_numbered_apart_from_the_books_moves_nothing():
    """The other reading of Kalshi's example: the answer repeats the sid's last number (as the
    simulator sends it) or the next one without taking it; the book frame numbered next applies."""
    async def main():
        c = await _streaming(["A", "B", "C"])
        await c.on_frame(ok(7, 3), 0)                    # the last book frame's number
        await c.on_frame(ok(8, 4), 0)                    # the next one's, not taken
        await c.on_frame(yes_delta(4, "A", lots="5.00"), 0)
        await c.on_frame(yes_delta(5, "B", lots="7.00"), 0)
        assert (c.gaps, snapshot_asks(c.ws)) == (0, [])
        assert c.native("A").yes_bids == ((4000, 10_500),) and c.native("B").yes_bids == ((4000, 10_700),)
        await c.close()
    run(main())


def test_the_tracker_forgets_answers_behind_it_and_per_sid():
    t = SeqTracker()
    assert [t.check(1, n) for n in (1, 2)] == ["ok", "ok"]
    t.answered(1, 3)
    t.answered(1, 2)                                    # behind: not kept
    t.answered(9, 5)                                    # a sid not seen yet: nothing to skip in
    assert t.check(1, 4) == "ok" and t._answers[1] == set()
    t.answered(1, 5)
    assert t.check(1, 7) == "gap"                       # 6 was carried by no frame
    t.answered(2, 1)
    assert t.check(2, 1) == "ok"                        # the first frame of sid 2 starts it
    t.reset()
    assert t._answers == {} and t.check(1, 100) == "ok"
