"""Dump markets + native books + fees to an `arbbot.snapshot/1` dict (spec/SNAPSHOT.md)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from arbbot.venues.common.model import FeeSchedule, MarketInfo, NativeBook, Venue
from arbbot.venues.common.units import fmt_money, fmt_price, fmt_qty, fmt_rate

FORMAT = "arbbot.snapshot/1"


def fees_to_json(fees: FeeSchedule) -> dict:
    out: dict[str, str] = {}
    if fees.taker_ppm:
        out["taker_rate"] = fmt_rate(fees.taker_ppm)
    if fees.maker_ppm:
        out["maker_rate"] = fmt_rate(fees.maker_ppm)
    if fees.per_contract_micros:
        out["per_contract"] = fmt_money(fees.per_contract_micros, trim=True)
    if fees.rounding_micros:
        out["rounding"] = fmt_money(fees.rounding_micros, trim=True)
    return out


def _levels(levels) -> list[list[str]]:
    return [[fmt_price(p), fmt_qty(q)] for p, q in levels if q > 0]


def book_to_json(book: NativeBook) -> dict:
    out = {"yes_bids": _levels(book.yes_bids), "no_bids": _levels(book.no_bids)}
    if book.venue is Venue.POLYMARKET:
        out["yes_asks"] = _levels(book.yes_asks)
        out["no_asks"] = _levels(book.no_asks)
    elif book.yes_asks or book.no_asks:
        raise ValueError(f"{book.venue.value}:{book.market_id}: bids-only venue has asks")
    return out


def dump_snapshot(
    markets: Iterable[tuple[MarketInfo, NativeBook | None]],
    *,
    relations: list[dict] | None = None,
    params: dict | None = None,
    taken_at: datetime | None = None,
    include_untradeable: bool = False,
) -> dict:
    """Build the snapshot dict. Books flagged untradeable are left out (their market is dumped
    without a book) unless `include_untradeable`; a stale book must not reach the engine."""
    ts = (taken_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    out_markets = []
    for info, book in markets:
        m: dict = {"venue": info.venue.value, "id": info.market_id, "title": info.title,
                   "fees": fees_to_json(info.fees), "lot": fmt_qty(info.lot_lots)}
        if book is not None and (book.tradeable or include_untradeable):
            m["book"] = book_to_json(book)
        out_markets.append(m)
    snap: dict = {"format": FORMAT, "taken_at": ts.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if params:
        snap["params"] = dict(params)
    snap["markets"] = out_markets
    if relations:
        snap["relations"] = list(relations)
    return snap
