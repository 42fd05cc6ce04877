"""The live terminal view of a session (rich)."""
from __future__ import annotations

import time

from rich.console import Group
from rich.table import Table
from rich.text import Text

from arbbot.run.live import LiveSession
from arbbot.units import format_money, format_qty


def render(session: LiveSession, elapsed_s: float, source: str, *, real_money: bool = False) -> Group:
    """The live view. `real_money`: the bot trades the real venues (never called paper trading)."""
    st = session.stats
    p50, p99 = st.latency_percentiles_us()
    trading = "LIVE TRADING (real money)" if real_money else "paper trading"
    head = Text.assemble(
        ("arbbot " + (trading if getattr(session, "trader", None) else "live detection"), "bold red" if real_money else "bold"),
        f"  {source}  engine {session.engine_choice}  {elapsed_s:5.1f}s  ",
        (f"{session.healthy()}/{len(session.markets)} books healthy", "green" if not session.held else "yellow"),
        f"  {st.book_updates:,} updates  detect p50 {p50:.1f} µs p99 {p99:.1f} µs")
    lanes = Table(title="opportunities found (deduped)", show_edge=False)
    for lane in ("intra", "cross", "bucket", "parity", "tree"):
        lanes.add_column(lane, justify="right")
    lanes.add_row(*(str(st.found.get(lane, 0)) for lane in ("intra", "cross", "bucket", "parity", "tree")))
    recent = Table(title="latest", show_edge=False)
    for column in ("id", "lane", "kind", "qty", "profit $", "legs"):
        recent.add_column(column)
    for _, opp in list(st.recent)[:8]:
        # Text, not str: ids from the venues are shown as they are, never read as rich markup
        recent.add_row(Text(str(opp.id)), opp.lane.label, opp.kind.label, format_qty(opp.qty), format_money(opp.profit),
                       Text(", ".join(f"{leg.side.label.upper()} {leg.market}" for leg in opp.legs)))
    parts = [head, lanes, recent]
    trader = getattr(session, "trader", None)
    if trader is not None:
        t = trader.stats
        safe = trader.store.safe_mode()
        parts.append(Text.assemble(
            (f"{trading}  ", "bold red" if real_money else "bold"),
            f"executions {dict(t.executions) or '{}'}  skipped {dict(t.skipped) or '{}'}  ",
            (f"locked-in ${format_money(t.locked_in)}  realised ${format_money(t.realised)}", "green"),
            ("" if safe is None else f"  SAFE MODE: {safe} (arbbot ack)", "bold red")))
        gates = trader.gates
        breaker = gates.breaker.state.value if gates.breaker is not None else "-"
        kill = gates.kill.reason() if gates.kill is not None else None
        parts.append(Text.assemble(f"risk: breaker {breaker}  ", ("KILL SWITCH  " if kill else "", "bold red"),
                                   f"daily realised ${format_money(gates.loss.realised) if gates.loss else '-'}  ",
                                   "exposure " + ", ".join(f"{v} ${format_money(a)}" for v, a in
                                                          sorted(gates.exposure.venue.items())) if gates.exposure else ""))
        if trader.sizer is not None:
            z = trader.sizer.stats
            steps = ", ".join(f"{k} {n}" for k, n in sorted(z.rejected.items())) or "-"
            lowered = ", ".join(f"{k} {n}" for k, n in sorted(z.lowered.items())) or "-"
            parts.append(Text(f"sizing: sized {z.sized}  traded {z.traded}  rejected by [{steps}]  "
                              f"lowered by [{lowered}]"))
        if trader.buckets is not None and trader.buckets.groups:
            now = time.time()
            top = sorted(trader.buckets.groups, key=lambda g: -trader.buckets.mean(g, now))[:3]
            parts.append(Text(f"buckets: {len(trader.buckets.groups)} groups traded, "
                              f"{len(trader.buckets.disabled(now))} disabled; best "
                              + ", ".join(f"{g.split('|')[0]}… {trader.buckets.mean(g, now):.2f}" for g in top)))
        in_flight = "executing" if trader.busy else "idle"
        parts.append(Text(f"orders: {in_flight}"))
        for xid, state, reason in t.last[:4]:
            parts.append(Text(f"  {xid}  {state}  {reason}"))
    if session.held:
        parts.append(Text("held out: " + ", ".join(f"{n} ({why})" for n, why in list(session.held.items())[:6]), "yellow"))
    if session.errors:
        parts.append(Text("errors: " + "; ".join(session.errors[-3:]), "red"))
    return Group(*parts)
