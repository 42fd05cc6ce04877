"""Build universes for tests from snapshot-style values (decimal strings), through the parser."""
from __future__ import annotations

from arbbot.snapshot import parse_snapshot

KALSHI_FEES = {"taker_rate": "0.07", "maker_rate": "0.0175", "rounding": "0.01"}
POLY_FEES = {"taker_rate": "0.03", "rounding": "0.00001"}


def market(venue: str, mid: str, fees: dict | None = None, lot: str | None = None, **book) -> dict:
    """A snapshot market; book sides as keyword lists of [price, size] strings."""
    out = {"venue": venue, "id": mid, "book": book}
    if fees is not None:
        out["fees"] = fees
    if lot is not None:
        out["lot"] = lot
    elif venue == "polymarket":
        out["lot"] = "0.01"
    return out


def snapshot(markets, relations=(), **params) -> dict:
    return {"format": "arbbot.snapshot/1", "params": params, "markets": list(markets),
            "relations": list(relations)}


def universe(markets, relations=(), **params):
    return parse_snapshot(snapshot(markets, relations, **params)).universe
