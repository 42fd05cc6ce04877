"""Human-readable scan output (rich tables); the JSON form lives in arbbot.opportunities."""
from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from arbbot.engine.types import ScanResult
from arbbot.snapshot import Snapshot
from arbbot.units import format_money, format_price, format_qty


def print_scan(result: ScanResult, snapshot: Snapshot, engine: str, source: str, console: Console | None = None) -> None:
    """The scan as a table. Text from the snapshot or the command line (the file's name, market
    ids) is printed as it is, never read as rich markup (`[/]` in an id stopped the printing)."""
    console = console or Console(width=None if sys.stdout.isatty() else 160)
    n = len(result.opportunities)
    total = sum(o.profit for o in result.opportunities)
    console.print(Text.assemble((source, "bold"), f": {len(snapshot.universe.markets)} markets, "
                                f"{len(snapshot.universe.relations)} relations, engine {engine} → ",
                                (str(n), "bold"), f" opportunit{'y' if n == 1 else 'ies'}, profit ${format_money(total)}"))
    if result.opportunities:
        table = Table(show_lines=False, header_style="bold")
        for column in ("id", "lane", "kind", "qty", "legs (side market @ worst price)", "cost $", "fee $", "profit $"):
            table.add_column(column, justify="right" if column.endswith("$") or column == "qty" else "left",
                             no_wrap=column == "id")
        for o in result.opportunities:
            legs = "\n".join(f"{leg.side.label.upper():>3} {leg.market} @ {format_price(leg.worst_price)}" for leg in o.legs)
            table.add_row(o.id, o.lane.label, o.kind.label, format_qty(o.qty), Text(legs),
                          format_money(o.cost), format_money(o.fee), Text(format_money(o.profit), style="green"))
        console.print(table)
    if result.untradeable:
        console.print(Text.assemble(("untradeable (crossed or locked book, stale): ", "yellow"),
                                    ", ".join(result.untradeable)))
