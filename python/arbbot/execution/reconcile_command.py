"""`arbbot reconcile --db D (--connect HANDLE | --live | --paper) [--json]`: the store against the
venues; a paper database (`arbbot run --paper`) against its paper ledger and the local fill engine
(the default for one, and the only choice: its orders never reached a venue)."""
from __future__ import annotations

import asyncio
import json
import sys

from arbbot.venues.common.errors import VenueError

RECONCILE_CLIENT_OFFSET = 2      # IB client id offset: a running bot holds FORECASTEX_CLIENT_ID


async def _venues(args, settings) -> dict[str, object]:
    if args.live:
        from arbbot.run.real_venues import connect_real_venues
        return await connect_real_venues(settings, client_id_offset=RECONCILE_CLIENT_OFFSET)
    from arbbot.run.live import FORECASTEX_CLIENT_ID, connect_simulated_venues
    from arbbot.sim import load_handle
    return await connect_simulated_venues(load_handle(args.connect),
                                          forecastex_client_id=FORECASTEX_CLIENT_ID + RECONCILE_CLIENT_OFFSET)


def _paper_choice(args, store) -> str | None:
    """Why these flags do not fit this store (None: they do)."""
    paper_db = store.trading_mode() == "paper"
    if paper_db and (args.connect or args.live):
        return (f"{store.path} is a paper database (arbbot run --paper): its orders never reached a venue; "
                "reconcile it without --connect/--live")
    if getattr(args, "paper", False) and not paper_db:
        return f"{store.path} is not a paper database: reconcile it with --connect HANDLE_FILE or --live"
    if not paper_db and not (args.connect or args.live):
        return "one of --connect HANDLE_FILE or --live is required (or --paper for a paper database)"
    return None


async def _report(args, settings, store) -> dict:
    from arbbot.execution.reconcile import reconcile, reconcile_paper
    if store.trading_mode() == "paper":
        from arbbot.paper.ledger import PaperLedger
        return await reconcile_paper(store, PaperLedger(store, 0))
    venues = await _venues(args, settings)
    try:
        if not venues:
            raise ValueError("no venue to reconcile (no credentials configured)")
        return await reconcile(store, venues)
    finally:
        for venue in venues.values():
            await venue.close()


def _print_table(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table
    kind = " (paper: against the local fill engine)" if report.get("paper") else ""
    table = Table(title=f"reconcile{kind}: {report['differences']} difference(s)")
    for col in ("venue", "positions (venue/store)", "open orders", "fills", "cash moved µ$"):
        table.add_column(col)
    for name, v in report["venues"].items():
        table.add_row(name, f"{len(v['positions']['venue'])}/{len(v['positions']['store'])}",
                      f"{v['open_orders']['venue']}/{v['open_orders']['store']}",
                      f"{v['fills']['venue']}/{v['fills']['store']}",
                      f"{v['cash_moved_micros']['venue']}/{v['cash_moved_micros']['store']}")
    console = Console()
    console.print(table)
    for name, v in report["venues"].items():
        for d in v["differences"]:
            console.print(f"{name}: {d['what']} {d['id']}: venue {d['venue']}, store {d['store']}")


def main(args) -> int:
    import sqlite3

    from arbbot import logs
    from arbbot.config import ConfigError, load_settings
    from arbbot.execution.schema import SchemaError
    from arbbot.execution.store import OrderStore
    from arbbot.ops.reporting.load import StoreError, connect_ro
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"arbbot reconcile: {exc}", file=sys.stderr)
        return 2
    logs.register_secret(*settings.secret_values())     # --live reads the venues with them
    path = args.db or settings.db_path
    try:
        connect_ro(path).close()            # `arbbot report`'s check: read-only, a non-store is left as it is
        store = OrderStore(path, create=False)
    except (StoreError, SchemaError, FileNotFoundError) as exc:
        print(f"arbbot reconcile: {exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:
        print(f"arbbot reconcile: {path} is not a usable order store: {exc}", file=sys.stderr)
        return 2
    wrong = _paper_choice(args, store)
    if wrong:
        store.close()
        print(f"arbbot reconcile: {wrong}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(_report(args, settings, store))
    except (VenueError, ValueError, OSError) as exc:
        print(f"arbbot reconcile: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    if args.json:
        print(json.dumps(report))
    else:
        _print_table(report)
    return 1 if report["differences"] else 0
