"""`arbbot run` / `arbbot live`: paper trading / detection against the simulator (embedded, or
another process's with `--connect`); the real venues come with `--live`.

`arbbot run --paper` trades on market data only: the venues' books come from `--connect` (a
simulator) or `--live` (the real venues: Polymarket's public feeds, Kalshi with a read-only key,
ForecastEx through TWS when configured), every order is filled by the local fill engine
(`arbbot.paper`) and none is ever sent. Its order store must be a paper database (a run refuses
to mix paper and venue trading in one `--db`). `--paper --live` needs no `--confirm-live`: no
money moves."""
from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

from arbbot import logs
from arbbot.config import LOOPBACK, ConfigError, load_settings, usd
from arbbot.units import format_money, format_qty
from arbbot.run.live import LiveSession, connect_simulated_venues, default_session_mappings
from arbbot.run.looplag import LoopLag
from arbbot.run.options import session_options
from arbbot.ops.metrics import serve_metrics
from arbbot.mapping.rules_file import RulesFileError, load_rules
from arbbot.mapping.generate import default_cache_dir
from arbbot.mapping.table import load_mappings
from arbbot.sim.spawn import SpawnError
from arbbot.venues.common.errors import VenueError

log = logs.get("run")


def _simulator(args, settings):
    """The simulator to trade against: one started here (embedded, stopped at the end) or, with
    `--connect FILE`, one already running in another process (`arbbot sim --handle-file FILE`),
    which keeps its state when this bot stops or crashes. The `universe` scenario (thousands of
    books) always runs in a child process of its own (`arbbot.sim.spawn`): the bot's event loop
    must not share an interpreter lock with the simulated books; it is stopped at the end too."""
    from arbbot.sim import load_handle, serve, spawn
    if args.connect:
        return load_handle(args.connect), f"simulator at {args.connect}"
    markets = getattr(args, "markets", None)
    if settings.scenario == "universe":
        sim = spawn("universe", settings.seed, markets=markets, step_interval=args.step or 1.0)
        size = f"{markets:,} markets" if markets else "20,000 markets"
        return sim.handle, f"simulator universe ({size})/seed {settings.seed} (process {sim.pid})"
    if markets is not None:
        raise ValueError("--markets sizes the universe scenario only (--scenario universe)")
    handle = serve(settings.scenario, settings.seed, step_interval=args.step or None)
    return handle, f"simulator {settings.scenario}/seed {settings.seed}"


def _bucket_summary(buckets) -> dict | None:
    """Bucket selection: the groups traded so far, those disabled now, and each group's posterior
    mean of producing a profitable complete execution (highest first)."""
    if buckets is None:
        return None
    now = time.time()
    means = sorted(((round(buckets.mean(g, now), 6), g) for g in buckets.groups), reverse=True)
    return {"groups": len(buckets.groups), "disabled": buckets.disabled(now),
            "posterior_mean": {g: m for m, g in means}}


def _sizing_summary(sizer) -> dict | None:
    """What the sizing pipeline did: opportunities sized, sized to > 0, rejects and lowerings by
    step, the distinct final quantities (contracts → count) and its time per opportunity."""
    if sizer is None:
        return None
    st = sizer.stats
    return {"sized": st.sized, "traded": st.traded, "rejected": dict(sorted(st.rejected.items())),
            "lowered": dict(sorted(st.lowered.items())),
            "quantities": {format_qty(q): n for q, n in sorted(st.quantities.items())},
            "sizing_us": _percentiles_us(st.elapsed_ns)}


def _percentiles_us(samples_ns) -> dict | None:
    """{"p50": µs, "p99": µs} of nanosecond samples (None without samples)."""
    from arbbot.ops.stats import quantile
    if not samples_ns:
        return None
    return {"p50": round(quantile(samples_ns, 0.5) / 1e3, 1), "p99": round(quantile(samples_ns, 0.99) / 1e3, 1),
            "n": len(samples_ns)}


def _stack_dumps_on_sigusr1() -> None:
    """`kill -USR1 PID` writes every thread's stack to stderr (faulthandler: works even while the
    event loop is stuck in a C call), for diagnosing a bot that does not answer."""
    import faulthandler
    if hasattr(signal, "SIGUSR1"):
        try:
            faulthandler.register(signal.SIGUSR1, all_threads=True)
        except (AttributeError, ValueError, OSError):   # stderr without a file descriptor (embedded, tests)
            pass


async def _final_reconcile(trader) -> None:
    """Reconcile once more at the end of a run, so the summary says whether the store and the
    venues agree (`trading.reconcile_differences`)."""
    from arbbot.venues.common.errors import VenueError
    try:
        await trader.reconcile_now()
    except VenueError as exc:
        log.warning("reconcile.failed", error=str(exc))


async def _serve_dashboard(args, settings, session, trader):
    """The web dashboard (arbbot.ops.dashboard): on by default for `arbbot run`, for `arbbot
    live` only with --dashboard-port; off with --no-dashboard. How its URL is shown:
    `_announce_dashboard`. The built-in port, when taken, falls back to a free one (warned); a
    port the operator chose (--dashboard-port, dashboard_port, ARB_DASHBOARD_PORT) that is taken
    is a ValueError (`arbbot run: …`, exit 2)."""
    port = getattr(args, "dashboard_port", None)
    if getattr(args, "no_dashboard", False) or not (args.trade or port is not None):
        return None
    if port is not None and not 0 <= port <= 65535:
        raise ValueError(f"--dashboard-port {port}: expected 0-65535 (0 = any free port)")
    from arbbot.ops.dashboard import serve_dashboard
    dashboard = await serve_dashboard(settings, session, trader, port=port, db_path=args.db or settings.db_path,
                                      spawn=session.spawn)
    given = bool(settings.dashboard_token.get_secret_value())
    token = _announce_dashboard(dashboard, token_given=given, log_json=settings.log_json)
    log.info("dashboard.start", url=dashboard.url, port=dashboard.port, token=token)
    return dashboard


def _announce_dashboard(dashboard, *, token_given: bool, log_json: bool, stderr=None, open_tty=None) -> str:
    """Show where the dashboard is; returns how its token was handled (for the `dashboard.start`
    log event). The URL with the token is shown on an interactive terminal only, never where it
    could be kept (a file, a pipe, journald, `docker logs`, nohup.out):

    - the token came from ARB_DASHBOARD_TOKEN (the operator knows it): never shown; stderr gets the
      URL and `?token=` to add;
    - a generated token: the login URL goes to stderr when stderr is a terminal (and carries no
      JSON lines: not --log-json), else to the controlling terminal (/dev/tty) if there is one;
      with neither, stderr gets the URL without it and how to sign in (set ARB_DASHBOARD_TOKEN
      and start again: a generated token is shown nowhere else).

    `stderr` (default sys.stderr) and `open_tty` (default: open /dev/tty for writing; OSError
    without a controlling terminal) are for tests."""
    stderr = sys.stderr if stderr is None else stderr
    open_tty = open_tty or (lambda: open("/dev/tty", "w"))
    if token_given:
        _say(stderr, f"arbbot: dashboard {dashboard.url} (sign in with {dashboard.url}?token=<ARB_DASHBOARD_TOKEN>)")
        return "ARB_DASHBOARD_TOKEN"
    line = f"arbbot: dashboard {dashboard.login_url}"
    if not log_json and _is_terminal(stderr):
        _say(stderr, line)
        return "generated, shown on the terminal"
    try:
        with open_tty() as tty:
            tty.write(line + "\n")
        shown = True
    except OSError:                     # no controlling terminal (systemd, docker, a closed session)
        shown = False
    if not log_json:                    # stderr still says where the dashboard is, never its token
        _say(stderr, f"arbbot: dashboard {dashboard.url} (its token is shown on the terminal only)" if shown else
                     f"arbbot: dashboard {dashboard.url} (its token is shown on a terminal only; set "
                     f"ARB_DASHBOARD_TOKEN, at least 16 characters, and sign in with ?token=<ARB_DASHBOARD_TOKEN>)")
    return ("generated, shown on the terminal" if shown
            else "generated, not shown (no terminal): set ARB_DASHBOARD_TOKEN")


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):      # closed, or not a file
        return False


def warn_remote_binds(settings, dashboard: bool, stderr=None) -> list[str]:
    """A loud warning for each server the operator opted to expose beyond loopback
    (ARB_ALLOW_REMOTE_DASHBOARD / _METRICS): both speak plain HTTP. Returns the lines said."""
    stderr = sys.stderr if stderr is None else stderr
    lines = []
    if dashboard and settings.dashboard_host not in LOOPBACK:
        lines.append(f"arbbot: WARNING: the dashboard listens on {settings.dashboard_host} over plain HTTP: its token "
                     "and session cookie cross the network in clear text, and anyone who has them can trade and "
                     "change settings; keep it on 127.0.0.1 and reach it through an SSH tunnel "
                     "(ssh -L PORT:127.0.0.1:PORT host) or a TLS proxy")
    if settings.metrics_host not in LOOPBACK:
        lines.append(f"arbbot: WARNING: the metrics listen on {settings.metrics_host} without authentication: "
                     "anyone who reaches the port reads PnL, positions and risk state")
    for line in lines:
        _say(stderr, line)
    return lines


def _say(stream, line: str) -> None:
    print(line, file=stream, flush=True)


class _NoSimulator:
    def stop(self) -> None:
        return None


def _paper(args) -> bool:
    return bool(getattr(args, "paper", False))


async def _venues(args, settings):
    """(simulator handle, where the data comes from, venue name → VenueClient, paper ledger or None)."""
    paper = _paper(args)
    if args.live:
        from arbbot.run.real_venues import connect_real_venues
        handle, venues = _NoSimulator(), await connect_real_venues(settings, paper=paper or not args.trade)
        where = ("LIVE market data, PAPER fills (no order is sent)" if paper else
                 "LIVE venues (real money)" if args.trade else "LIVE market data (detection only: no order is sent)")
    else:
        handle, where = _simulator(args, settings)
        logs.register_secret(handle.kalshi_private_key_pem, handle.polymarket_creds.secret,
                             handle.polymarket_creds.passphrase, handle.polymarket_private_key,
                             handle.kalshi_key_id, handle.polymarket_creds.api_key)
        venues = await connect_simulated_venues(handle)
        if paper:
            where += ": market data only, PAPER fills (no order is sent)"
    recorder = getattr(args, "recorder", None)
    if recorder is not None:          # --record: what the venues send, before any paper wrapper
        venues = {name: recorder.wrap(name, venue) for name, venue in venues.items()}
    ledger = None
    if paper:
        from arbbot.paper import open_ledger, paper_venues
        try:
            ledger = open_ledger(args.db or settings.db_path, usd(settings.paper_cash_usd),
                                 durability=settings.store_durability)
        except BaseException:
            for venue in venues.values():
                await venue.close()
            handle.stop()
            raise
        venues = paper_venues(venues, ledger, latency_ms=settings.paper_latency_ms)
    return handle, where, venues, ledger


async def _run(args, settings, rules: list[dict] | None = None) -> dict:
    """`rules`: relations of a `--rules` file, merged into the session's at discovery."""
    handle, where, venues, ledger = await _venues(args, settings)
    paper = ledger is not None
    metrics = dashboard = notifier = None
    try:
        mappings = load_mappings(args.mappings) if args.mappings else default_session_mappings()
        snapshot_start = settings.snapshot_start
        if snapshot_start is None:           # thousands of books: never one REST fetch per book at start
            snapshot_start = bool(args.live or paper or settings.scenario == "universe")
        session = LiveSession(venues, mappings, snapshot_start=snapshot_start,
                              tiers=snapshot_start if settings.tiers is None else settings.tiers,
                              slow_poll_s=settings.slow_poll_s,
                              stream_caps={"forecastex": settings.forecastex_market_data_lines // 2},
                              engine=args.engine, rules=rules, **session_options(settings),
                              approved_only=args.live and not paper, generate=settings.generate_mappings,
                              refresh_s=settings.listings_refresh_s,
                              cache_dir=Path(settings.mapping_cache_dir) if settings.mapping_cache_dir
                              else default_cache_dir())
        if session.mappings_left_out:
            print(f"arbbot: {sum(session.mappings_left_out.values())} mapping row(s) left out, "
                  f"{len(session.mappings)} traded: {session.mappings_left_out_text}", file=sys.stderr)
        await session.discover()
        recorder = getattr(args, "recorder", None)
        if recorder is not None:
            recorder.start(mappings=session.mappings, rules=rules)   # the header: what discovery found, the
            # user's traded mapping rows and rules (a replay trades them too), then the records so far
            session.on_generated = lambda g: recorder.mappings(g.digest, g.rows)    # a replay reads them back
            session.on_listed = recorder.listed                                    # as do listing refreshes
            session.on_repriced = recorder.repriced
            session.on_listings = recorder.listings
        if session.rules_dropped:
            print(f"arbbot: {session.rules_dropped} relation(s) of {args.rules} name markets not discovered; "
                  f"dropped ({session.rules_added} added)", file=sys.stderr)
        for row, missing in session.mappings_undiscovered:      # each one, like a file error: by its line
            where = f"{args.mappings}:{row.line}" if row.line is not None else "a generated mapping row"
            rest = "the row's other markets are still related" if len(row.names()) - len(missing) >= 2 \
                else "the row is not traded"
            print(f"arbbot: {where}: {', '.join(missing)} not discovered; {rest}", file=sys.stderr)
        if session.contradictory:
            print(f"arbbot: {len(session.contradictory)} relation(s) contradict others (two markets would be both "
                  "the same and inverse) and are not traded: "
                  + "; ".join(f"{r['kind']}({r.get('a')}, {r.get('b')}) from {source}" if "a" in r
                              else f"{r['kind']} {r.get('members')} from {source}"
                              for r, source in session.contradictory), file=sys.stderr)
        trader = None
        if args.trade:
            from arbbot.ops.notify import start_notifier
            from arbbot.run.trader import attach_paper_trader
            notifier = start_notifier(settings, args.db or settings.db_path)    # before recovery: its events count
            trader = await attach_paper_trader(session, args.db or settings.db_path, settings)
        try:
            metrics, _ = serve_metrics(session, settings.metrics_host, settings.metrics_port,
                                       fallback="metrics_port" not in settings.model_fields_set)
            dashboard = await _serve_dashboard(args, settings, session, trader)
            warn_remote_binds(settings, dashboard is not None)
        except BaseException:
            await session.close()       # e.g. a dashboard port refused: the venues' connections closed
            raise                       # before the simulator stops, not dropped under them
        session.start_streams()
        if trader is not None:
            session.spawn(trader.reconcile_every(settings.reconcile_interval_s), name="reconcile")
            session.spawn(trader.resolve_every(settings.resolution_poll_s), name="resolve")
        loop_lag = LoopLag(during=None if trader is None else lambda: (trader.refreshes, trader.refreshing))
        session.spawn(loop_lag.watch(), name="loop-lag")
        session.loop_lag = loop_lag                   # the metrics endpoint reads it too
        started = time.monotonic()
        source = f"{where}  metrics http://{settings.metrics_host}:{metrics.server_port}/metrics"
        log.info("run.start", source=where, paper=paper, engine=session.engine_choice, markets=len(session.markets),
                 relations=len(session.universe.relations), trading=trader is not None,
                 db=(args.db or settings.db_path) if trader else None, metrics_port=metrics.server_port,
                 dashboard_port=dashboard.port if dashboard else None)
        interrupted = False
        try:
            try:
                if args.json:
                    await asyncio.sleep(args.duration or 10.0)
                else:
                    from rich.live import Live
                    from arbbot.ops.view import render
                    real_money = bool(args.live) and not paper
                    with Live(render(session, 0.0, source, real_money=real_money), refresh_per_second=4,
                              transient=False) as live:
                        while args.duration is None or time.monotonic() - started < args.duration:
                            await asyncio.sleep(0.25)
                            live.update(render(session, time.monotonic() - started, source, real_money=real_money))
            except asyncio.CancelledError:
                # Ctrl-C or SIGTERM: asyncio.run cancels this task once. The bot stops as at the end
                # of --duration (drain, reconcile, close) and reports the run; a second Ctrl-C
                # stops at once (KeyboardInterrupt, no report)
                if asyncio.current_task().uncancel():
                    raise
                interrupted = True
        finally:
            log.info("run.stopping", executing=trader is not None and trader.busy)
            feeds = session.feed_stats()          # as they ran: closing the streams switches feeds to polling
            healthy_after = session.time_to_healthy_s
            if dashboard is not None:
                dashboard.stop()
            await session.stop_tasks()
            if trader is not None:
                await trader.drain()
                log.info("run.drained")
                await _final_reconcile(trader)
                log.info("run.reconciled", differences=trader.reconcile_differences)
            await session.close()
            log.info("run.closed")
        if recorder is not None:
            recorder.close()                  # all written: the summary counts what the file holds
        notifications = await asyncio.to_thread(notifier.stop, 2.0) if notifier is not None else None
        st = session.stats
        p50, p99 = st.latency_percentiles_us()
        unrelated = sum(1 for row, missing in session.mappings_undiscovered if len(row.names()) - len(missing) < 2)
        return {"format": "arbbot.live-summary/1", "paper": paper, "engine": session.engine_choice,
                "interrupted": interrupted,           # stopped by Ctrl-C / SIGTERM before --duration
                "markets": len(session.markets),
                "relations": len(session.universe.relations), "book_updates": st.book_updates,
                # traded: rows relating at least one discovered pair; undiscovered: rows naming a
                # market not discovered (those with no pair left are not traded); contradictory:
                # relations left out for contradicting others; closed: markets closed mid-session
                "mappings": {"traded": len(session.mappings) - unrelated,
                             "left_out": dict(session.mappings_left_out),
                             "undiscovered": len(session.mappings_undiscovered),
                             "contradictory": len(session.contradictory), "closed_markets": len(session.closed),
                             "generated": session.generation, "listings_refreshes": session.refreshes},
                "structural_relations": session.structural,
                "books_healthy": session.healthy(), "books_quiet": session.gate.quiet(),
                "tiers": {"venues": session.tiers.counts() if session.tiers else {}, "promoted": session.promoted},
                "found": dict(st.found), "held_out": dict(st.held_out), "detect_p50_us": round(p50, 3),
                "detect_p99_us": round(p99, 3), "errors": session.errors,
                # how late the loop ran what was due (a frame waits that long before its parse starts);
                # "during": the samples that overlapped a portfolio refresh
                "loop_lag_ms": loop_lag.summary(),
                "current_opportunities": [o.id for o in session.current_opportunities()],
                "metrics_port": metrics.server_port, "dashboard_port": dashboard.port if dashboard else None,
                "recording": recorder.summary() if recorder is not None else None,
                # start → every book healthy (None: some book never was); per venue: stream or poll,
                # the coalescing queue's depth (now, max, capacity), updates coalesced, polls, re-snapshots
                "time_to_healthy_s": healthy_after, "feeds": feeds,
                "notifications": notifications,
                "trading": None if trader is None else {
                    # paper: every execution was filled by the local fill engine; no order was sent
                    "mode": "paper" if paper else "venue",
                    "paper": {name: v.summary() for name, v in session.venues.items()} if paper else None,
                    "executions": dict(trader.stats.executions), "skipped": dict(trader.stats.skipped),
                    # money: exact dollars with 6 decimals (never a float), and µ$ integers
                    "locked_in_usd": format_money(trader.stats.locked_in),
                    "realised_usd": format_money(trader.stats.realised),
                    "locked_in_micros": trader.stats.locked_in, "realised_micros": trader.stats.realised,
                    "safe_mode": trader.store.safe_mode(),
                    "orders_outcome_unknown": trader.executor.outcome_unknown,
                    "decision_to_first_order_us": _percentiles_us(trader.executor.first_order_ns),
                    "refresh_us": _percentiles_us(trader.refresh_ns),   # each portfolio refresh, wall time
                    "rest_requotes": trader.executor.rest_requotes,
                    "sizing": _sizing_summary(trader.sizer),
                    "buckets": _bucket_summary(trader.buckets),
                    "drift": trader.drift.summary() if trader.drift is not None else None,
                    "reconcile_differences": trader.reconcile_differences,
                    "recovery": {"adopted": len(trader.recovery.adopted), "missing": len(trader.recovery.missing),
                                 "executions": trader.recovery.executions, "naked": trader.recovery.naked}}}
    finally:
        if notifier is not None:
            notifier.stop(0.5)                  # idempotent; bounded even if a webhook hangs
        if dashboard is not None:
            dashboard.stop()                    # idempotent
        if metrics is not None:
            metrics.shutdown()
        if ledger is not None:
            ledger.close()
        if getattr(args, "recorder", None) is not None:
            args.recorder.close()
        handle.stop()          # no-op for a simulator in another process (--connect)


def _live_refusal(args, settings) -> str | None:
    """Why `--live` may not start (None: credentials present and confirmed)."""
    from arbbot.run.real_venues import missing_credentials
    if args.connect:
        return "--live and --connect are exclusive (--connect is a simulator)"
    data_only = _paper(args) or not args.trade       # market data only: no order is sent
    missing = missing_credentials(settings, paper=data_only)
    if len(missing) == 3:
        return ("no venue credentials configured; set " +
                "; ".join(f"{v}: {', '.join('ARB_' + n.upper() for n in names)}" for v, names in missing.items()))
    if data_only:
        return None                      # nothing to confirm
    if not args.confirm_live:
        return "real orders need explicit confirmation: add --confirm-live"
    return None


def _paper_refusal(args) -> str | None:
    """Why `--paper` may not start with these flags (None: it may)."""
    if not (args.connect or args.live):
        return ("--paper needs market data: --connect HANDLE_FILE (a simulator's, arbbot sim --handle-file) or "
                "--live (the real venues'; no order is sent)")
    if args.connect and args.live:
        return "--live and --connect are exclusive (--connect is a simulator)"
    if args.confirm_live:
        return "--confirm-live confirms real orders; --paper sends none (drop it)"
    return None


def _db_refusal(path: str, paper: bool, embedded: bool = False) -> tuple[str | None, str | None]:
    """(why the order store at `path` may not take this run, None if it may; where an earlier
    store was moved to, None if it was not). Paper and venue trading never share a database, nor
    do an embedded simulator's orders and those of venues that outlive a run
    (`OrderStore.claim_venues`). A store holding an earlier embedded simulator's orders (its
    venues ended with its run) is moved aside for an embedded run, which starts a new one. The
    store is claimed for paper trading when `paper`, and for the venues the run trades."""
    import sqlite3
    from arbbot.execution.store import EMBEDDED, LASTING, PAPER, VENUE, OrderStore
    from arbbot.execution import store_lock
    from arbbot.execution.store_lock import StoreBusy
    aside = None
    for _ in range(2):                                # again once after moving an earlier store aside
        try:
            store = OrderStore(path, exclusive=True)  # another process trading with it: refused now
        except StoreBusy as exc:
            return str(exc), aside
        except (ValueError, sqlite3.Error, OSError) as exc:
            return f"order store {path}: {exc}", aside
        store_lock.claim(path)                        # held past the close below, until the store is moved
        try:
            try:
                store.claim_trading_mode(PAPER if paper else VENUE)
                refusal = store.claim_venues(EMBEDDED if embedded else LASTING)
            except ValueError as exc:
                return str(exc), aside
            finally:
                store.close()
            if refusal != "set aside":
                return refusal, aside
            if not embedded or aside is not None:
                return (f"order store {path} holds orders sent to an embedded simulator, gone with its run: "
                        "use another --db"), aside
            try:
                aside = _set_aside(path)
            except OSError as exc:
                return (f"order store {path} holds an earlier embedded simulator's orders and cannot be moved "
                        f"aside: {exc}"), None
        finally:
            store_lock.release(path)
    return None, aside


def _set_aside(path: str) -> str:
    """Move the store at `path` (with its -wal / -shm files) to `path.YYYYmmdd-HHMMSS` (a free
    name); returns where it went."""
    import os
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside, n = f"{path}.{stamp}", 1
    while os.path.exists(aside):
        n += 1
        aside = f"{path}.{stamp}-{n}"
    os.rename(path, aside)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.rename(path + suffix, aside + suffix)
    return aside


def main(args) -> int:
    name = "run" if args.trade else "live"
    try:
        settings = load_settings(scenario=args.scenario, seed=args.seed, stale_after_s=args.stale_after,
                                 cooldown_s=args.cooldown, metrics_port=args.metrics_port,
                                 max_contracts=args.max_contracts, log_json=args.log_json or None)
    except ConfigError as exc:
        print(f"arbbot {name}: {exc}", file=sys.stderr)
        return 2
    logs.configure(json=settings.log_json)
    logs.register_secret(*settings.secret_values())     # keys, key ids, the dashboard token
    if _paper(args):
        refusal = _paper_refusal(args)
        if refusal:
            print(f"arbbot {name} --paper refused: {refusal}", file=sys.stderr)
            return 2
    if args.live:
        refusal = _live_refusal(args, settings)
        if refusal:
            print(f"arbbot {name} --live refused: {refusal}", file=sys.stderr)
            return 2
        if _paper(args):
            from arbbot.run.real_venues import missing_credentials
            for venue, names in missing_credentials(settings, paper=True).items():
                print(f"arbbot {name} --paper: {venue} left out (set {', '.join('ARB_' + n.upper() for n in names)})",
                      file=sys.stderr)
    try:
        rules = load_rules(args.rules) if args.rules else None
    except RulesFileError as exc:
        print(f"arbbot {name}: {exc}", file=sys.stderr)
        return 2
    if args.trade:
        path = args.db or settings.db_path
        refusal, aside = _db_refusal(path, _paper(args), embedded=not (args.connect or args.live))
        if aside:
            print(f"arbbot {name}: {path} held an earlier run's orders on an embedded simulator, whose venues "
                  f"ended with it: moved to {aside}; this run starts a new store (a simulator started with "
                  "`arbbot sim --handle-file F`, traded with --connect F, keeps its state across runs)",
                  file=sys.stderr)
        if refusal:
            print(f"arbbot {name}: {refusal}", file=sys.stderr)
            return 2
    if getattr(args, "record", None):
        from arbbot.replay.recorder import SessionRecorder
        source = "live" if args.live else ("connect" if args.connect else "simulator")
        try:
            args.recorder = SessionRecorder(args.record, "paper-" + source if _paper(args) else source)
        except ValueError as exc:
            print(f"arbbot {name}: {exc}", file=sys.stderr)
            return 2
    _stack_dumps_on_sigusr1()
    # Ctrl-C / SIGINT always stops the bot cleanly, even when started from a shell that ignores
    # SIGINT for background jobs (asyncio only installs its handler over the default one); SIGTERM
    # (kill, a service manager) stops it the same way, through whatever handles SIGINT then
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda signum, frame: signal.getsignal(signal.SIGINT)(signum, frame))
    try:
        summary = asyncio.run(_run(args, settings, rules))
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 1 if _recording_failed(args, name) else 0
    except (ValueError, VenueError, SpawnError) as exc:   # an unusable --connect handle or mapping file, a
        # venue unreachable, a universe simulator that did not start
        print(f"arbbot {name}: {exc}", file=sys.stderr)
        return 2
    log.info("run.stop", **{k: summary[k] for k in ("book_updates", "found", "held_out", "errors", "trading")})
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"\n{summary['book_updates']:,} book updates; found {summary['found']}; "
              f"detect p50 {summary['detect_p50_us']} µs, p99 {summary['detect_p99_us']} µs")
    if summary["interrupted"]:
        log.info("run.interrupted")             # the --json summary says it too ("interrupted")
        if not settings.log_json:               # (--log-json: stderr holds JSON lines only)
            print("stopped", file=sys.stderr)
    recording_failed = _recording_failed(args, name)
    return 1 if summary["errors"] or recording_failed else 0


def _recording_failed(args, name: str) -> bool:
    """A `--record` file that could not be written whole: said on stderr."""
    recorder = getattr(args, "recorder", None)
    if recorder is None or recorder.error is None:
        return False
    print(f"arbbot {name}: --record {recorder.path}: writing failed ({recorder.error}); the recording is "
          f"incomplete: {recorder.books:,} book and {recorder.frames:,} raw records written", file=sys.stderr)
    return True
