"""Polymarket shadow books: one full book per outcome token, and the market's native book.

`price_change` carries the new *absolute* size of one level (0 removes it): the shadow book sets
that level, it never "overwrites the best ask" (VENUES.md trap 2). The venue's strings are kept
per level so the book `hash` can be recomputed and compared after every change.

There are no sequence numbers, so a REST book is ordered against the stream by the venue's
timestamps (ms strings), or where one is missing by whether anything arrived during the read
(`note`, `is_current`): a REST read older than a stream update must never replace it.
"""
from __future__ import annotations

import hashlib
import json

from arbbot.venues.common.model import Book, MarketId, Venue
from arbbot.units import TICKS_PER_DOLLAR, lots_held, price_ticks, share_micros
from arbbot.venues.polymarket.schemas.ws import BookMsg

Lvl = tuple[int, str, str]          # (whole lots, price string, size string: up to 6 decimals)


def summary_hash(market: str, asset_id: str, timestamp: str, bids, asks, min_order_size: str,
                 tick_size: str, neg_risk: bool, last_trade_price: str) -> str:
    """SHA-1 hex over the compact JSON of the book with hash "" (the venue's key order)."""
    payload = {"market": market, "asset_id": asset_id, "timestamp": timestamp, "hash": "",
               "bids": [{"price": p, "size": s} for p, s in bids],
               "asks": [{"price": p, "size": s} for p, s in asks],
               "min_order_size": min_order_size, "tick_size": tick_size, "neg_risk": neg_risk,
               "last_trade_price": last_trade_price}
    return hashlib.sha1(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")).hexdigest()


class TokenBook:
    def __init__(self, asset_id: str, market: str = "") -> None:
        self.asset_id = asset_id
        self.market = market
        self.bids: dict[int, Lvl] = {}
        self.asks: dict[int, Lvl] = {}
        self.min_order_size: str | None = None
        self.tick_size: str | None = None
        self.neg_risk: bool | None = None
        self.last_trade_price: str | None = None
        self.tradeable = False
        self.reason = "no snapshot yet"
        self.version = 0                # stream messages and REST books taken for this token so far
        self.ts_ms = -1                 # venue time (ms) of the newest of them that carried one; -1: none
        self.snapshot_ms = -1           # venue time (ms) of the whole book applied last; -1: none or unstamped

    def note(self, timestamp: str) -> None:
        """A message or book for this token stamped `timestamp` (venue ms; "" when absent) was
        taken: applied, or received and not applicable (its book is re-fetched)."""
        self.version += 1
        ms = int(timestamp) if timestamp.isdigit() else -1
        if ms > self.ts_ms:
            self.ts_ms = ms

    def is_current(self, msg: BookMsg, version: int) -> bool:
        """True if REST book `msg`, whose read began when this book was at `version`, misses
        nothing this book has: never when its timestamp is before the newest one taken; else
        when nothing was taken since the read began, or when its timestamp is after all of them
        (a message stamped the same millisecond may or may not be in it)."""
        ms = int(msg.timestamp) if msg.timestamp.isdigit() else -1
        if 0 <= ms < self.ts_ms:
            return False
        return self.version == version or ms > self.ts_ms >= 0

    @staticmethod
    def _side(levels) -> dict[int, Lvl]:
        """A level of under one lot (dust a 6-decimal fill left) is kept for the hash, not traded."""
        out: dict[int, Lvl] = {}
        for p, s in levels:
            t, u = price_ticks(p), share_micros(s)
            if u > 0:
                out[t] = (lots_held(u), p, s)
        return out

    def apply_snapshot(self, msg: BookMsg) -> bool:
        """Replace the book. Returns False (and flags the book) if the snapshot's own hash fails."""
        self.bids, self.asks = self._side(msg.bids), self._side(msg.asks)
        self.snapshot_ms = int(msg.timestamp) if msg.timestamp.isdigit() else -1
        if msg.market:
            self.market = msg.market
        for k in ("min_order_size", "tick_size", "neg_risk", "last_trade_price"):
            if getattr(msg, k) is not None:
                setattr(self, k, getattr(msg, k))
        if msg.hashable:
            want = summary_hash(msg.market, msg.asset_id, msg.timestamp, msg.bids, msg.asks, msg.min_order_size,
                                msg.tick_size, msg.neg_risk, msg.last_trade_price)
            if want != msg.hash:
                self.invalidate("snapshot hash mismatch")
                return False
        self.tradeable, self.reason = True, ""
        return True

    def apply_change(self, side: str, price: str, size: str) -> None:
        book = self.bids if side == "BUY" else self.asks
        t, u = price_ticks(price), share_micros(size)
        if u == 0:
            book.pop(t, None)
        else:
            book[t] = (lots_held(u), price, size)

    def predates_snapshot(self, timestamp: str) -> bool:
        """True if a change stamped `timestamp` (venue ms) is older than the whole book applied
        last: that book already has it (a change still in flight when a REST book was read)."""
        return timestamp.isdigit() and int(timestamp) < self.snapshot_ms

    def best_differs(self, best_bid: str, best_ask: str) -> bool:
        """True if the venue's best bid or ask after a change (`price_change`'s `best_bid` /
        `best_ask`; "" when not sent: not compared) is not this book's (every level, dust included,
        as the venue counts them). A side the venue states empty is written as a price no order can
        have: a bid of 0, an ask of 1 (the venue's own example: `"best_ask": "1"`); this book must
        have none there either."""
        if best_bid:                          # (once per price change: no per-call closures)
            ticks = price_ticks(best_bid)
            if (bool(self.bids) if ticks <= 0 else not self.bids or max(self.bids) != ticks):
                return True
        if best_ask:
            ticks = price_ticks(best_ask)
            if (bool(self.asks) if ticks >= TICKS_PER_DOLLAR else not self.asks or min(self.asks) != ticks):
                return True
        return False

    def can_hash(self) -> bool:
        return None not in (self.min_order_size, self.tick_size, self.neg_risk, self.last_trade_price)

    def hash_at(self, timestamp: str) -> str:
        """The hash the venue would send for this book at `timestamp` (bids ascending, asks
        descending: best level last)."""
        bids = [(v[1], v[2]) for _k, v in sorted(self.bids.items())]
        asks = [(v[1], v[2]) for _k, v in sorted(self.asks.items(), reverse=True)]
        return summary_hash(self.market, self.asset_id, timestamp, bids, asks, self.min_order_size or "",
                            self.tick_size or "", bool(self.neg_risk), self.last_trade_price or "")

    def invalidate(self, reason: str) -> None:
        self.tradeable, self.reason = False, reason

    def bid_levels(self) -> tuple[tuple[int, int], ...]:
        """(ticks, lots) best first; levels of dust left out."""
        return tuple((p, v[0]) for p, v in sorted(self.bids.items(), reverse=True) if v[0])

    def ask_levels(self) -> tuple[tuple[int, int], ...]:
        return tuple((p, v[0]) for p, v in sorted(self.asks.items()) if v[0])


def native_book(market_id: str, yes: TokenBook, no: TokenBook) -> Book:
    """Engine form: each side's own token book (never the other token's bids, spec/ARBITRAGE.md).
    Bids best-first (descending), asks best-first (ascending). Untradeable while either token
    book is distrusted, or when a token's own best bid ≥ its own best ask (a crossed copy is stale)."""
    yb, ya, nb, na = yes.bid_levels(), yes.ask_levels(), no.bid_levels(), no.ask_levels()
    tradeable, reason = True, ""
    for name, tb in (("yes", yes), ("no", no)):
        if not tb.tradeable:
            tradeable, reason = False, f"{name} token: {tb.reason}"
            break
    if tradeable:
        for name, b, a in (("yes", yb, ya), ("no", nb, na)):
            if b and a and b[0][0] >= a[0][0]:
                tradeable, reason = False, f"{name} token book crossed"
                break
    return Book(yes_bids=yb, yes_asks=ya, no_bids=nb, no_asks=na, market=MarketId(Venue.POLYMARKET, market_id),
                tradeable=tradeable, reason=reason)

