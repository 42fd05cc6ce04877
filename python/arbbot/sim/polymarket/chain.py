"""Simulated on-chain settlement of Polymarket's trades (`Faults.poly_trade_fail_every`).

The CLOB matches a trade at once, then the operator settles it on chain
(docs.polymarket.com/developers/CLOB/trades/trades-overview): MATCHED, MINED, CONFIRMED; or, when
its transaction reverts, RETRYING and at last FAILED: no tokens and no cash moved. GET
/data/trades lists the same trade id with its status as it changes. A trade here is what GET
/data/trades lists as one: a taker order's match, every maker it met (`server.get_trades`), its id
the first engine trade id of that match.

While the fault is off every trade is CONFIRMED at once (nothing tracked). While it is on, each
trade that involves a non-house account is counted when it matches; every Nth (`_Trade.fails`)
goes MATCHED → RETRYING (half of `poly_trade_fail_after_s`) → FAILED (all of it), when the engine
reverts every one of its fills (`Exchange.revert`); the others go MATCHED → MINED → CONFIRMED on the
same timing. Timers run in real time on the event loop, as the match delay's do.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from arbbot.sim.engine.matching import HOUSE, FillEvent

MATCHED, MINED, CONFIRMED, RETRYING, FAILED = "MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED"


@dataclass
class _Trade:
    """One taker order's match as it happens (its fills arrive maker, taker, maker, taker…)."""
    taker_order: str                         # engine order id of the taker
    trade_id: str                            # the CLOB trade's id: its first engine trade id
    fills: list[FillEvent] = field(default_factory=list)
    counted: bool = False                    # counted as a non-house account's trade (its fate decided)


class TradeChain:
    """The settlement status of every trade of one simulated Polymarket (`status`), and the
    reverts of those that fail. `sim` gives `faults` and `exchange`."""

    def __init__(self, sim) -> None:
        self.sim = sim
        self.statuses: dict[str, str] = {}   # CLOB trade id → status while not CONFIRMED (others are)
        self.counted = 0                     # trades of non-house accounts while the fault was on
        self._maker: FillEvent | None = None  # the maker fill just emitted: its taker fill follows
        self._current: _Trade | None = None
        self._timers: list[asyncio.TimerHandle] = []

    def status(self, trade_id: str) -> str:
        """GET /data/trades `status` of the CLOB trade `trade_id`."""
        return self.statuses.get(trade_id, CONFIRMED)

    def on_event(self, ev: object) -> None:
        """An engine event (listener): each fill joins its taker order's trade; the trade is
        counted, and its fate decided, once a fill of a non-house account joins it."""
        every = self.sim.faults.poly_trade_fail_every
        if not every or not isinstance(ev, FillEvent):
            return
        if not ev.is_taker:
            self._maker = ev
            return
        maker, self._maker = self._maker, None
        trade = self._current
        if trade is None or trade.taker_order != ev.order.order_id:
            trade = self._current = _Trade(ev.order.order_id, ev.trade_id)
        trade.fills += [f for f in (maker, ev) if f is not None]
        if not trade.counted and any(f.order.account != HOUSE for f in trade.fills):
            trade.counted = True
            self.counted += 1
            self._schedule(trade, fails=self.counted % every == 0)

    def _schedule(self, trade: _Trade, fails: bool) -> None:
        after = self.sim.faults.poly_trade_fail_after_s
        self.statuses[trade.trade_id] = MATCHED
        loop = asyncio.get_running_loop()
        self._timers = [t for t in self._timers if not t.cancelled() and t.when() > loop.time()]
        self._timers.append(loop.call_later(after / 2, self.statuses.__setitem__, trade.trade_id,
                                            RETRYING if fails else MINED))
        self._timers.append(loop.call_later(after, self._final, trade, fails))

    def _final(self, trade: _Trade, fails: bool) -> None:
        """The trade's final status; a failed one's fills (all of them: the match is over by now)
        are reverted."""
        if fails:
            self.sim.exchange.revert(trade.fills)
            self.statuses[trade.trade_id] = FAILED
        else:
            del self.statuses[trade.trade_id]

    def close(self) -> None:
        """Cancel the pending status changes (the simulator stops)."""
        for t in self._timers:
            t.cancel()
        self._timers.clear()
