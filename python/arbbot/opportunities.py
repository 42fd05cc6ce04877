"""The `arbbot.opportunities/1` document (spec/SNAPSHOT.md "Opportunities")."""
from __future__ import annotations

import json

from arbbot.engine.types import ScanResult
from arbbot.units import format_money, format_price, format_qty

FORMAT = "arbbot.opportunities/1"


def to_document(result: ScanResult, engine: str) -> dict:
    """Keys in the spec's order; money 6 decimals, prices 4, quantities shortest."""
    return {
        "format": FORMAT,
        "engine": engine,
        "opportunities": [
            {
                "id": o.id, "lane": o.lane.label, "kind": o.kind.label, "qty": format_qty(o.qty),
                "payout": format_money(o.payout), "cost": format_money(o.cost),
                "fee": format_money(o.fee), "profit": format_money(o.profit),
                "legs": [
                    {"market": leg.market, "side": leg.side.label, "qty": format_qty(leg.qty),
                     "worst_price": format_price(leg.worst_price), "cost": format_money(leg.cost),
                     "fee": format_money(leg.fee)}
                    for leg in o.legs
                ],
            }
            for o in result.opportunities
        ],
        "untradeable": [{"market": name, "reason": "crossed"} for name in result.untradeable],
    }


def to_json_line(result: ScanResult, engine: str) -> str:
    """One line of compact JSON (no spaces after , and :), then a newline."""
    return json.dumps(to_document(result, engine), separators=(",", ":"), ensure_ascii=False) + "\n"
