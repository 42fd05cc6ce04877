"""Polymarket trades as fills: their settlement status and the fill ids made from their ids.

A trade is matched by the CLOB and then settled on chain by the operator
(docs.polymarket.com/developers/CLOB/trades/trades-overview, "Statuses"): MATCHED (sent to the
executor service), MINED (in a block, no finality yet), CONFIRMED (final: "strong probabilistic
finality and was successful"), RETRYING (the transaction failed, by a revert or a reorg, and is
resubmitted), FAILED (final: "failed and is not being retried"). GET /data/trades and the user
channel send the same trade id again with each new status. A FAILED trade moved no tokens and no
cash, yet the order it matched keeps its `size_matched` (GET /data/order: "ghost fills",
py-clob-client-v2 #34; after the V2 cutover 12 of 34 matched BUYs failed, py-clob-client #338).
py-clob-client-v2 (1.2.1, `client.py` `_wait_for_resolved_trades`) polls a posted order's
trades by id until each carries a transaction hash or is FAILED, and drops the FAILED ones.
"""
from __future__ import annotations

from arbbot.venues.common.model import Settlement

FINAL_STATUS, FAILED_STATUS = "CONFIRMED", "FAILED"     # the two terminal trade statuses
PART = ":"                  # a fill id `<trade id>:<part>`: one of a trade's parts (`fill_id`)


def trade_settlement(trade: dict) -> Settlement:
    """A CLOB trade's `status` (any case) → `Settlement`: CONFIRMED final, FAILED failed, anything
    else (MATCHED, MINED, RETRYING, a status this adapter does not know, none) pending: watched
    until it is one of the two."""
    status = str(trade.get("status") or "").upper()
    if status == FINAL_STATUS:
        return Settlement.FINAL
    if status == FAILED_STATUS:
        return Settlement.FAILED
    return Settlement.PENDING


def fill_id(trade_id: str, part: int, parts: int) -> str:
    """The id of our fill `part` (0-based) of a trade split into `parts` fills of ours (a taker's
    match of several makers, `venue.taker_parts`; our maker orders in it): the trade's id when it
    is one fill, else `<trade id>:<part>`."""
    return trade_id if parts == 1 else f"{trade_id}{PART}{part}"


def trade_id_of(fill_id_: str) -> str:
    """The id of the trade a fill id (`fill_id`) was made from."""
    head, sep, tail = fill_id_.rpartition(PART)
    return head if sep and tail.isdigit() else fill_id_
