"""A completion is held to the limits its trade was admitted under.

When a later leg's edge went after earlier legs filled, the executor still buys it at the book now
if that loses less than unwinding (`_cheaper_to_complete`), at any ask up to $1. The trader had
checked only the planned leg against the exposure caps and the venue's cash, so a completion could
breach both: in a reproduced case, leg 1 planned at $5.00 (the $5 per-market cap, and all of
Polymarket's cash) was bought for $7.50. Now the executor asks the trader's `completion_room`
first; refused, the filled legs are unwound as when completing does not pay. Units: lots (100 a
contract), ticks ($0.0001), µ$."""
from __future__ import annotations

from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side as ESide
from arbbot.execution import Executor, OrderStore
from arbbot.risk.gates import RiskGates
from arbbot.risk.limits import ExposureLimits
from arbbot.run.trader import PaperTrader
from tests.execution.test_executor_review_fixes import leg1_moves, quote

CAP = 5_000_000                          # µ$ per market

# leg 0: 1,000 lots Kalshi NO at 48¢ ($4.80); leg 1: 1,000 lots Polymarket YES planned at 50¢ ($5.00)
PLANNED = Opportunity("00000000000000aa", Lane.CROSS, Kind(0), 1_000, 10_000_000, 9_800_000, 0, 200_000,
                      (Leg("kalshi:K1", ESide.NO, 1_000, 4_800, 4_800_000, 0),
                       Leg("polymarket:P1", ESide.YES, 1_000, 5_000, 5_000_000, 0)))


def trader(tmp_path, cash: dict[str, int], per_market: int | None = CAP) -> PaperTrader:
    store = OrderStore(str(tmp_path / "t.db"))
    ex = Executor(store, {})
    t = PaperTrader(ex, RiskGates(exposure=ExposureLimits(per_market=per_market)), {}, store)
    t.cash = cash
    assert ex.room == t.completion_room                  # the trader wires it
    return t


def test_the_room_of_a_completion_is_the_caps_and_cash_the_trade_was_admitted_under(tmp_path):
    t = trader(tmp_path, {"kalshi": 100_000_000, "polymarket": 6_000_000})
    assert t.completion_room(PLANNED, 1, 5_000_000) is None           # the plan itself
    assert t.completion_room(PLANNED, 1, 4_000_000) is None           # cheaper than planned
    assert t.completion_room(PLANNED, 1, 7_500_000) == \
        "exposure on market polymarket:P1: 0 + 7500000 µ$ > 5000000 µ$"
    t.gates.exposure.per_market = None                                  # no cap: the venue's cash
    assert t.completion_room(PLANNED, 1, 7_500_000) == "balance: polymarket has $6.00, needs $7.50"
    assert t.completion_room(PLANNED, 1, 6_000_000) is None
    t.gates.exposure.add([PLANNED.legs[0]], lambda m: m)                # another execution holds $4.80 on K1
    t.gates.exposure.per_market = CAP
    assert t.completion_room(PLANNED, 1, 5_100_000) == \
        "exposure on market kalshi:K1: 4800000 + 4800000 µ$ > 5000000 µ$"


def test_a_completion_beyond_the_cap_is_refused_and_the_filled_leg_unwound(tmp_path):
    """Leg 0 fills 10 Kalshi NO at 48¢; then Kalshi's NO bid falls to 20¢ (unwinding it brings at
    most $2.00) and Polymarket YES jumps to 75¢ (completing: $10 − $7.50 = $2.50 for leg 1). Without
    a room check leg 1 was bought for $7.50 on a $5-capped market; with the trader's, it is not
    sent and leg 0 is sold."""
    room = trader(tmp_path, {"kalshi": 100_000_000, "polymarket": 100_000_000}).completion_room
    res, safe, _fills, kal, poly = leg1_moves(tmp_path, quote(8000, 8000), quote(7500, 7500),
                                              setup=lambda ex: setattr(ex, "room", room))
    assert (res.state, res.filled, safe) == ("unwound", {0: 0, 1: 0}, None)
    assert poly.sent == [] and kal.sent == [("no", "buy", 1_000), ("no", "sell", 1_000)]
    assert res.reason == ("edge gone on polymarket:P1 before leg 1; completing it refused: exposure on market "
                          "polymarket:P1: 0 + 7500000 µ$ > 5000000 µ$")


def test_without_a_room_check_the_completion_goes_through(tmp_path):
    """The same books with no trader (`room` None, as a bare executor): leg 1 bought at 75¢."""
    res, safe, _fills, _kal, poly = leg1_moves(tmp_path, quote(8000, 8000), quote(7500, 7500))
    assert (res.state, safe) == ("complete", None) and poly.sent == [("yes", "buy", 1_000)]
