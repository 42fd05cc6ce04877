"""`arbbot reconcile --db D (--connect HANDLE | --live | --paper) [--json] [--accept-cash VENUE --reason
TEXT]`: the store against the venues; a paper database (`arbbot run --paper`) against its paper
ledger and the local fill engine (the default for one, and the only choice: its orders never
reached a venue). `--accept-cash`: an operator's word that a venue's cash difference is money moved
outside trading (a deposit, a withdrawal, a coupon): the venue's cash baseline moves by it."""
from __future__ import annotations

import asyncio
import json
import sys

from arbbot.units import format_money
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


def accept_cash(store, report: dict, venue: str, reason: str, seq_before: int) -> str:
    """Move `venue`'s cash baseline by its cash difference in `report` (read while the store's
    latest event was `seq_before`), so that reconciliation counts that money as the venue's from
    the start; an event `cash_accepted` records the amount and `reason`, and the difference leaves
    `report`. Refused (ValueError) when the venue has any other difference (a cash gap beside a
    fill or position gap is most likely that fill, not a deposit), when it has no cash difference,
    or when the store changed while the venues were read (an execution's money in flight)."""
    section = report["venues"].get(venue)
    if section is None:
        raise ValueError(f"--accept-cash {venue}: no such venue here ({', '.join(report['venues']) or 'none'})")
    others = [d for d in section["differences"] if d["what"] != "cash"]
    if others:
        raise ValueError(f"--accept-cash {venue}: refused: {venue} has {len(others)} other difference(s) "
                         f"(first: {others[0]['what']} {others[0]['id']}); a cash gap beside them is not known "
                         "to be money moved outside trading")
    cash = section["cash_moved_micros"]
    if cash["venue"] is None or not any(d["what"] == "cash" for d in section["differences"]):
        raise ValueError(f"--accept-cash {venue}: {venue} has no cash difference")
    if store.event_seq() != seq_before or store.count_executions(("executing",)):
        raise ValueError(f"--accept-cash {venue}: refused: the store changed while the venues were read (an "
                         "execution ran); run `arbbot halt`, then reconcile again")
    delta = cash["venue"] - cash["store"] - section["resolved_micros"]["redeemed"]
    baseline = store.cash_baseline(venue)
    store.set_cash_baseline(venue, baseline + delta)
    store.add_event("cash_accepted", venue=venue, amount_micros=delta, reason=reason, baseline_before=baseline,
                    baseline_after=baseline + delta)
    section["differences"] = others
    cash["store"] += delta
    report["differences"] = sum(len(s["differences"]) for s in report["venues"].values())
    sign = "+" if delta >= 0 else "-"
    return (f"arbbot reconcile: {venue}: accepted {sign}${format_money(abs(delta))} of cash moved outside "
            f"trading ({reason}); baseline ${format_money(baseline)} → ${format_money(baseline + delta)}")


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


def _accept_choice(args, store) -> str | None:
    """Why --accept-cash / --reason do not fit (None: they do)."""
    accept, reason = getattr(args, "accept_cash", None), getattr(args, "reason", None)
    if reason is not None and not accept:
        return "--reason goes with --accept-cash VENUE"
    if not accept:
        return None
    if store.trading_mode() == "paper":
        return "--accept-cash: a paper database's cash is its ledger's; nothing moves outside trading"
    if not (reason or "").strip():
        return "--accept-cash needs --reason TEXT (why the cash moved: a deposit, a withdrawal, a coupon)"
    return None


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
    wrong = _paper_choice(args, store) or _accept_choice(args, store)
    if wrong:
        store.close()
        print(f"arbbot reconcile: {wrong}", file=sys.stderr)
        return 2
    accepted = None
    try:
        seq_before = store.event_seq()
        report = asyncio.run(_report(args, settings, store))
        if getattr(args, "accept_cash", None):
            accepted = accept_cash(store, report, args.accept_cash, args.reason, seq_before)
    except (VenueError, ValueError, OSError) as exc:
        print(f"arbbot reconcile: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    if accepted:
        print(accepted, file=sys.stderr)
    if args.json:
        print(json.dumps(report))
    else:
        _print_table(report)
    return 1 if report["differences"] else 0
