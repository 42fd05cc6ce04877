"""Proposed pairs as the mapping CSV (table.HEADER + `reasons`) or `arbbot.mappings/1` JSON.

The CSV reads back with `arbbot.mapping.table.parse_mappings` once the `reasons` column is
dropped; `reasons` joins the pair's reasons with "; ". Confidence: a decimal in [0, 1] with at
most 6 places (table's unit), the same number in both formats.
"""
from __future__ import annotations

import csv
import io
import json

from arbbot import units
from arbbot.mapping.match.matcher import Pair
from arbbot.mapping.table import HEADER

FORMAT = "arbbot.mappings/1"
CSV_HEADER = [*HEADER, "reasons"]


def confidence_text(confidence: float) -> str:
    return units.format_decimal(round(confidence * 1_000_000), 6)


def to_csv(pairs: list[Pair]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for p in pairs:
        writer.writerow([*p.ids, p.relation, confidence_text(p.confidence), "; ".join(p.reasons)])
    return buf.getvalue()


def to_json(pairs: list[Pair]) -> str:
    return json.dumps({"format": FORMAT, "pairs": [
        {"kalshi_ticker": p.ids[0], "polymarket_condition_id": p.ids[1], "forecastex_conid": p.ids[2],
         "relation": p.relation, "confidence": confidence_text(p.confidence), "reasons": list(p.reasons)}
        for p in pairs]}, indent=1)
