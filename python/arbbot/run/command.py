"""`arbbot live`: detection against the embedded simulator (or, later, the real venues)."""
from __future__ import annotations

import asyncio
import json
import sys
import time

from arbbot.config import ConfigError, load_settings
from arbbot.run.live import LiveSession, default_session_mappings, simulated_venues
from arbbot.run.metrics import serve_metrics
from arbbot.run.mapping import load_mappings


async def _run(args, settings) -> dict:
    from arbbot.sim import serve
    handle = serve(settings.scenario, settings.seed, step_interval=args.step)
    metrics = None
    try:
        mappings = load_mappings(args.mappings) if args.mappings else default_session_mappings()
        session = LiveSession(simulated_venues(handle), mappings, stale_after_s=settings.stale_after_s,
                              cooldown_s=settings.cooldown_s, engine=args.engine)
        session.max_qty = int(round(args.max_contracts * 100))
        await session.discover()
        trader = None
        if args.trade:
            from arbbot.run.trader import attach_paper_trader
            trader = await attach_paper_trader(session, args.db or settings.db_path)
            session.trader = trader
        metrics, _ = serve_metrics(session, settings.metrics_host, settings.metrics_port)
        session.start_streams()
        started = time.monotonic()
        source = (f"simulator {settings.scenario}/seed {settings.seed}  "
                  f"metrics http://{settings.metrics_host}:{metrics.server_port}/metrics")
        try:
            if args.json:
                await asyncio.sleep(args.duration or 10.0)
            else:
                from rich.live import Live
                from arbbot.run.view import render
                with Live(render(session, 0.0, source), refresh_per_second=4, transient=False) as live:
                    while args.duration is None or time.monotonic() - started < args.duration:
                        await asyncio.sleep(0.25)
                        live.update(render(session, time.monotonic() - started, source))
        finally:
            for task in session._tasks:
                task.cancel()
            if trader is not None:
                await trader.drain()
            await session.close()
        st = session.stats
        p50, p99 = st.latency_percentiles_us()
        return {"format": "arbbot.live-summary/1", "engine": session.engine_choice, "markets": len(session.markets),
                "relations": len(session.universe.relations), "book_updates": st.book_updates,
                "found": dict(st.found), "held_out": dict(st.held_out), "detect_p50_us": round(p50, 3),
                "detect_p99_us": round(p99, 3), "errors": session.errors,
                "current_opportunities": [o.id for o in session.current_opportunities()],
                "metrics_port": metrics.server_port,
                "trading": None if trader is None else {
                    "executions": dict(trader.stats.executions), "skipped": dict(trader.stats.skipped),
                    "locked_in_usd": trader.stats.locked_in / 1e6, "realised_usd": trader.stats.realised / 1e6,
                    "safe_mode": trader.store.safe_mode()}}
    finally:
        if metrics is not None:
            metrics.shutdown()
        handle.stop()


def main(args) -> int:
    try:
        settings = load_settings(scenario=args.scenario, seed=args.seed, stale_after_s=args.stale_after,
                                 cooldown_s=args.cooldown, metrics_port=args.metrics_port)
    except ConfigError as exc:
        print(f"arbbot live: {exc}", file=sys.stderr)
        return 2
    try:
        summary = asyncio.run(_run(args, settings))
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 0
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['book_updates']:,} book updates; found {summary['found']}; "
              f"detect p50 {summary['detect_p50_us']} µs, p99 {summary['detect_p99_us']} µs")
    return 0 if not summary["errors"] else 1
