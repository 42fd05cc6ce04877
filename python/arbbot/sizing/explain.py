"""`arbbot explain`: size every opportunity of a snapshot against a fresh portfolio (or show the
records stored with executions) and say, step by step, why each trade got its size.

Snapshot mode: the opportunities `arbbot scan` finds, in its output order, each sized
independently against the same fresh portfolio (`portfolio.fresh`: the bankroll over the venues
of the snapshot's markets in file order), every estimate at its prior, T from `taken_at` and the
legs' `closes_at`, `min_profit` the snapshot's unless the config file sets one — then the file's,
for the engine's scan as well as the sizing (SIZING.md keys table: one min_profit).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from arbbot.engine import scan
from arbbot.engine.types import LEVEL_QTY_MAX
from arbbot.model import Venue
from arbbot.sizing.config import SizingConfig
from arbbot.sizing.pipeline import Chain, TradeSizing, size_trade
from arbbot.sizing.portfolio import fresh
from arbbot.sizing.record import document
from arbbot.sizing.steps import size_opportunity
from arbbot.sizing.trade import LegMarket, relation_confidence, trade_from_opportunity
from arbbot.snapshot import Snapshot, decode_json, parse_snapshot

DEFAULT_BANKROLL = 10_000_000_000      # µ$: $10,000
DEFAULT_DAILY_LOSS_CAP_USD = 50.0


class ExplainError(ValueError):
    """Bad input to `arbbot explain` (message ready for the user)."""


@dataclass(frozen=True)
class ExplainConfig:
    """What `--config F` gives: the `[sizing]` tables, and `min_profit` / `daily_loss_cap_usd` when set."""
    sizing: SizingConfig = SizingConfig()
    min_profit: int | None = None          # µ$
    daily_loss_cap_usd: float = DEFAULT_DAILY_LOSS_CAP_USD


def load_config(path: str | None) -> ExplainConfig:
    """Validate an `arbbot.toml` file (only that file: no environment, no ARB_CONFIG)."""
    if path is None:
        return ExplainConfig()
    from arbbot.config import ConfigError, Settings, read_toml, usd, validate_file_dict
    try:
        data = read_toml(path)
    except ConfigError as exc:
        raise ExplainError(str(exc)) from None
    try:
        settings: Settings = validate_file_dict(data)
    except ConfigError as exc:
        raise ExplainError(f"{path}: {exc}") from None
    min_profit = usd(settings.min_profit) if "min_profit" in data else None
    return ExplainConfig(settings.sizing, min_profit, settings.daily_loss_cap_usd)


def read_snapshot(text: str) -> tuple[Snapshot, dict]:
    """Parse a snapshot (`arbbot scan`'s reader: `decode_json`, `parse_snapshot`); SnapshotError
    with the JSON path, never another exception."""
    obj = decode_json(text)
    snapshot = parse_snapshot(obj)
    return snapshot, obj


def leg_markets(snapshot: Snapshot, obj: dict) -> dict[str, LegMarket]:
    """Every market by `venue:id` with its `closes_at`, `event`, `category` (`parse_snapshot`
    checked them, and `taken_at`)."""
    out = {}
    for market, raw in zip(snapshot.universe.markets, obj["markets"]):
        out[market.name] = LegMarket(market.venue, market.fees, market.lot, market.book, raw.get("closes_at"),
                                     raw.get("event"), raw.get("category"))
    return out


def explain_snapshot(snapshot: Snapshot, obj: dict, *, bankroll: int = DEFAULT_BANKROLL,
                     config: ExplainConfig = ExplainConfig(), engine: str | None = None,
                     chain: Chain = size_opportunity) -> list[TradeSizing]:
    """Size every opportunity of the snapshot (scan order) against one fresh portfolio."""
    markets = leg_markets(snapshot, obj)
    universe = snapshot.universe
    if config.min_profit is not None:          # `--config` overrides params.min_profit: scan and sizing
        universe = replace(universe, min_profit=config.min_profit)
    if universe.max_qty is None or universe.max_qty > LEVEL_QTY_MAX:
        # the sizing takes at most a million contracts (10^8 lots) per trade: an opportunity deeper
        # than that (duplicate levels add up) is sized from the engine's million, not refused
        universe = replace(universe, max_qty=LEVEL_QTY_MAX)
    venues: list[Venue] = list(dict.fromkeys(m.venue for m in universe.markets))
    portfolio = fresh(bankroll, venues)
    cfg = config.sizing
    min_profit = universe.min_profit
    out = []
    for opp in scan(universe, engine=engine).opportunities:
        trade = trade_from_opportunity(opp, markets, confidence=relation_confidence(universe, opp),
                                       decided_at=snapshot.taken_at, unknown_days=cfg.unknown_days,
                                       min_profit=min_profit)
        out.append(size_trade(trade, portfolio, cfg, now_s=0.0, daily_loss_cap_usd=config.daily_loss_cap_usd,
                              chain=chain))
    return out


def json_line(records: list[dict]) -> str:
    """One line of compact `arbbot.sizing/1` JSON, then a newline."""
    return json.dumps(document(records), separators=(",", ":"), ensure_ascii=False) + "\n"


def print_records(records: list[dict], source: str, console: Any = None) -> None:
    """Rich tables: per opportunity, the twelve steps with qty, cap and note."""
    import sys

    from rich.console import Console
    from rich.table import Table
    console = console or Console(width=None if sys.stdout.isatty() else 200)
    n = len(records)
    console.print(f"[bold]{source}[/bold]: {n} opportunit{'y' if n == 1 else 'ies'} sized")
    for r in records:
        note = f" — {r['note']}" if "note" in r else ""
        console.print(f"[bold]{r['id']}[/bold] {r['lane']}: engine {r['engine_qty']} → final "
                      f"[bold]{r['final_qty']}[/bold] contracts, profit ${r['profit']}, bound by {r['bound_by']}{note}")
        table = Table(header_style="bold")
        for column in ("step", "qty", "cap", "note"):
            table.add_column(column, justify="right" if column in ("qty", "cap") else "left")
        for s in r["steps"]:
            table.add_row(s["step"], s["qty"], s.get("cap", ""), s["note"])
        console.print(table)
