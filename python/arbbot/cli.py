"""`arbbot` command line: scan snapshots, check the installation, benchmark, run, simulate."""
from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from arbbot import __version__
from arbbot.argcheck import at_least, contracts, non_negative, port, positive

EXIT_OK, EXIT_ERROR, EXIT_INPUT = 0, 1, 2
UNIVERSE_MIN_MARKETS = 100      # the universe scenario's smallest catalog (arbbot.sim.universe.catalog.budgets)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arbbot",
        description="Arbitrage engine for binary prediction markets (Kalshi, Polymarket, ForecastEx). "
                    "Prices are exact: ticks of $0.0001, lots of 0.01 contract, money in µ$.",
        epilog="The hot path runs in Swift; ARB_ENGINE=python (or --engine python) selects the "
               "pure-Python twin, which gives identical results.")
    parser.add_argument("--version", action="version", version=f"arbbot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    scan = sub.add_parser("scan", help="find the arbitrage in a snapshot file",
                          description="Run the five detection lanes on an arbbot.snapshot/1 file and print "
                                      "the opportunities (a table, or arbbot.opportunities/1 JSON with --json). "
                                      "Exit status 2 on a malformed snapshot, with the JSON path of the problem.")
    scan.add_argument("file", help="snapshot file (JSON, format arbbot.snapshot/1); - reads standard input")
    scan.add_argument("--engine", choices=("swift", "python"), help="implementation (default: ARB_ENGINE or swift)")
    scan.add_argument("--json", action="store_true", help="print one line of arbbot.opportunities/1 JSON")
    scan.add_argument("--rules", metavar="FILE", help="also use the relations of an arbbot.relations/1 file "
                                                      "(arbbot rules); those naming absent markets are dropped")

    explain = sub.add_parser("explain", help="why each trade gets its size: the 12 sizing steps",
                             description="Size every opportunity `arbbot scan` finds in a snapshot against a fresh "
                                         "portfolio and show each sizing step's quantity, cap and note (a table, or "
                                         "arbbot.sizing/1 JSON with --json); with --db, show the sizing records "
                                         "stored with executions. Exit status 2 on bad input.")
    explain.add_argument("file", nargs="?", help="snapshot file (arbbot.snapshot/1); - reads standard input")
    explain.add_argument("--bankroll", default="10000", help="fresh portfolio's bankroll in dollars (default 10000)")
    explain.add_argument("--config", help="arbbot.toml whose [sizing] tables (and min_profit, which then replaces the "
                                          "snapshot's for the scan and the sizing) to use; only that file is read")
    explain.add_argument("--engine", choices=("swift", "python"), help="implementation (default: ARB_ENGINE or swift)")
    explain.add_argument("--db", help="order store: show stored sizing records instead of sizing a snapshot")
    explain.add_argument("--id", help="only this opportunity id")
    explain.add_argument("--execution", help="with --db: only this execution id")
    explain.add_argument("--json", action="store_true", help="print one line of arbbot.sizing/1 JSON")

    sub.add_parser("doctor", help="show which implementation each engine component uses",
                   description="Print the implementation of each hot-path component, the native module's "
                               "path, ABI version and build flags.")

    bench = sub.add_parser("bench", help="benchmark both engines on the standard U20k universe",
                           description="Build the seeded U20k universe (20,000 markets) and report p50/p95/p99 "
                                       "in µs for full_scan, incremental and decompose, Swift and Python in the "
                                       "same run, with their ratio.")
    bench.add_argument("--quick", action="store_true", help="fewer repetitions (under a minute)")
    bench.add_argument("--json", action="store_true", help="print arbbot.bench/1 JSON")
    bench.add_argument("--seed", type=int, default=20_000, help="universe seed (default 20000)")

    run = sub.add_parser("run", help="paper-trade the embedded simulator (the main job)",
                         description="Start the venue simulator on loopback, connect the real adapters, detect "
                                     "arbitrage incrementally and paper-trade it through the same execution path as "
                                     "live trading, with a live view. Same options as `arbbot live`, trading on.")
    ex = sub.add_parser("examples", help="scan the example snapshots bundled with arbbot (one per lane)",
                        description="Scan each example snapshot bundled with arbbot (one per detection lane: "
                                    "bucket, cross-venue, tree, parity, stale books) and print what `arbbot scan` "
                                    "prints for it: a quick check that the engine works.")
    ex.add_argument("--engine", choices=("swift", "python"), help="implementation (default: ARB_ENGINE or swift)")
    from arbbot.run.snapshot_command import add_parser as add_snapshot_parser
    add_snapshot_parser(sub)
    live = sub.add_parser("live", help="detect arbitrage live against the embedded simulator",
                          description="Start the venue simulator on loopback, connect the real Kalshi and "
                                      "Polymarket adapters to it, stream books through the quality gate into "
                                      "the engine incrementally and show what it finds (Ctrl-C stops).")
    _session_options(live)
    _session_options(run)
    run.add_argument("--paper", action="store_true",
                     help="paper trading on market data: books from --connect (a simulator) or --live (the real "
                          "venues: Polymarket public feeds, Kalshi with a read-only key, ForecastEx through TWS); "
                          "orders are filled locally against the streamed books after the venue's measured "
                          "latency (config: paper_latency_ms, paper_cash_usd) and never sent. Needs a --db of its "
                          "own (a paper database)")

    config = sub.add_parser("config", help="show the effective configuration (secrets masked)",
                            description="Settings come from arbbot.toml (or the file ARB_CONFIG or --config "
                                        "names) and ARB_* variables, which win over the file; every default is "
                                        "shown. Exit status 2 on a bad setting, naming it.")
    config.add_argument("action", choices=("show",),
                        help="show: print every setting as JSON, defaults included, secrets masked")
    config.add_argument("--config", metavar="TOML", help="read this arbbot.toml instead of ./arbbot.toml or "
                                                         "ARB_CONFIG (it must exist)")

    ack = sub.add_parser("ack", help="acknowledge safe mode / a drawdown stop / fee holds after checking",
                         description="Clear safe mode in the order store once an operator has dealt with the "
                                     "unhedged positions that caused it, clear a sizing drawdown stop, and "
                                     "release the markets held because a venue charged more than their fee "
                                     "schedule (check the venue's fee terms first).")
    ack.add_argument("--db", help="order store (config: db_path)")

    halt = sub.add_parser("halt", help="kill switch: stop all new trading now (creates the kill file)",
                          description="Create the kill file (config: kill_file; printed as an absolute path); "
                                      "every running bot whose kill_file is that file stops starting new executions "
                                      "until `arbbot resume`. A relative kill_file is relative to the current "
                                      "directory (run halt where the bots run, or configure an absolute path). "
                                      "Works even when the rest of the configuration does not load: kill_file is "
                                      "then read on its own (ARB_KILL_FILE, else the TOML file's kill_file line, "
                                      "else arbbot.kill), with a warning. Exit status 2 if the file cannot be "
                                      "written.")
    halt.add_argument("--reason", default="operator halt", help="written into the kill file")
    halt.add_argument("--db", help="with no kill file configured (kill_file = \"\"): keep the halt in this order "
                                   "store instead (default: config db_path); the bot trading on it stops at its "
                                   "next check and stays halted across restarts until `arbbot resume`")
    resume = sub.add_parser("resume", help="remove the kill file created by `arbbot halt`",
                            description="Remove the kill file (config: kill_file, found as `arbbot halt` finds it); "
                                        "running bots start new executions again. Nothing to do if it does not "
                                        "exist. Also clears a halt the dashboard kept in the order store (--db, "
                                        "else the configured db_path, if it exists): a bot without a kill file "
                                        "starts halted until then. Exit status 2 if either cannot be cleared.")
    resume.add_argument("--db", help="the order store whose dashboard halt to clear (default: config db_path)")

    status = sub.add_parser("status", help="risk state of an order store: safe mode, halt, daily loss, breaker",
                            description="Print safe mode, the kill switch, the risk day's realised loss and fees, "
                                        "open executions and the circuit breaker of an order store (a table, or "
                                        "arbbot.status/1 JSON with --json). Exit status 2 if the store is missing.")
    status.add_argument("--db", help="order store (config: db_path); never created")
    status.add_argument("--json", action="store_true", help="print one line of arbbot.status/1 JSON")

    rec = sub.add_parser("reconcile", help="compare the order store with the venues (exit 1 on differences)",
                         description="Read positions, working orders, fills and cash from each venue and compare "
                                     "them with the order store (a paper database: with the local fill engine's "
                                     "ledger); prints arbbot.reconcile/1 with --json. Exit 0 = "
                                     "no differences, 1 = differences, 2 = bad input or a venue that cannot be read.")
    rec.add_argument("--db", help="order store (config: db_path)")
    where = rec.add_mutually_exclusive_group()
    where.add_argument("--connect", metavar="HANDLE_FILE", help="the simulator of `arbbot sim --handle-file`")
    where.add_argument("--live", action="store_true", help="the real venues (credentials from the configuration)")
    where.add_argument("--paper", action="store_true", help="a paper database (arbbot run --paper): against the "
                       "local fill engine's ledger, each paper order re-matched against the book it was filled "
                       "from (the default for a paper database)")
    rec.add_argument("--json", action="store_true", help="print arbbot.reconcile/1 JSON")
    rec.add_argument("--accept-cash", metavar="VENUE",
                     help="after checking it at the venue: take VENUE's cash difference as money moved outside "
                          "trading (a deposit, a withdrawal, ForecastEx's incentive coupon), so reconciliation "
                          "stops reporting it; refused while that venue has any other difference or the store "
                          "changed during the reading (run `arbbot halt` first). Needs --reason; recorded in "
                          "the store's events (then `arbbot ack` clears safe mode)")
    rec.add_argument("--reason", help="why the cash moved (with --accept-cash), e.g. \"deposit 2026-12-01\"")

    from arbbot.execution.resolve_command import add_parser as add_resolve
    add_resolve(sub)
    from arbbot.mapping.rules_command import add_parser as add_rules
    add_rules(sub)
    from arbbot.mapping.match.command import add_parser as add_map
    add_map(sub)
    from arbbot.ops.reporting.command import add_parser as add_report
    add_report(sub)
    from arbbot.replay.command import add_parser as add_replay
    from arbbot.replay.tune import add_parser as add_tune
    add_replay(sub)
    add_tune(sub)
    sub.add_parser("sim", help="serve the venue simulator on loopback (arbbot sim --help)", add_help=False)
    return parser


def _session_options(p: argparse.ArgumentParser) -> None:
    """Options shared by `arbbot run` and `arbbot live` (a live session against the simulator)."""
    p.add_argument("--scenario", help="simulator scenario: fed, election, sports, forecastex, crypto, politics, "
                   "weather, all, or universe (20,000 books in a simulator process of its own) (config: scenario)")
    p.add_argument("--markets", type=at_least(UNIVERSE_MIN_MARKETS),
                   help=f"books of the universe scenario (default 20,000; at least {UNIVERSE_MIN_MARKETS})")
    p.add_argument("--seed", type=int, help="simulator seed (config: seed; 0 matches the shipped mappings)")
    p.add_argument("--duration", type=positive,
                   help="seconds to run, > 0 (default: until Ctrl-C; with --json, 10 s)")
    p.add_argument("--mappings", help="cross-venue mapping CSV, traded under the twins the session generates from the listings (default: none)")
    p.add_argument("--rules", metavar="FILE", help="also use the relations of an arbbot.relations/1 file")
    p.add_argument("--stale-after", type=positive, help="seconds without an update before a book is held out")
    p.add_argument("--cooldown", type=non_negative, help="seconds before the same opportunity is reported again")
    p.add_argument("--step", type=non_negative, default=0.2,
                   help="simulator seconds between price-process steps (0: prices never move on their own)")
    p.add_argument("--engine", choices=("swift", "python"), help="implementation (default: ARB_ENGINE or swift)")
    p.add_argument("--metrics-port", type=port, help="Prometheus port on loopback (config: metrics_port; 0 = any free)")
    p.add_argument("--trade", action="store_true",
                   help="paper-trade what it finds against the simulator (order store: --db / config db_path)")
    p.add_argument("--db", help="SQLite order store for --trade (config: db_path)")
    p.add_argument("--max-contracts", type=contracts,
                   help="per-trade cap in contracts, 0.01 to 1000000 (config: max_contracts, default 50)")
    p.add_argument("--json", action="store_true", help="no live view; print a JSON summary at the end")
    p.add_argument("--dashboard-port", type=port, help="web dashboard port on loopback (config: dashboard_port, "
                   "default 8787, a free one if the default is taken; a port you set must be free; 0 = any free port)")
    p.add_argument("--no-dashboard", action="store_true", help="do not serve the web dashboard")
    p.add_argument("--record", metavar="FILE", help="write what the venues send (discovery, every book update, "
                   "raw frames) to FILE, an arbbot.recording/1 JSONL file for `arbbot replay`; FILE must not exist")
    p.add_argument("--log-json", action="store_true",
                   help="log events (opportunities, orders, executions, recovery) as JSON lines on stderr")
    p.add_argument("--connect", metavar="HANDLE_FILE",
                   help="use a simulator running in another process (arbbot sim --handle-file HANDLE_FILE), which "
                        "keeps its state across bot restarts, instead of starting one")
    p.add_argument("--live", action="store_true",
                   help="the REAL venues (credentials: arbbot config show): their market data; `run` (or "
                        "`live --trade`) trades them with real money and needs --confirm-live too")
    p.add_argument("--confirm-live", action="store_true", help="confirm that --live may place real orders")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _utf8_output()
    if argv[:1] == ["sim"]:                 # the simulator parses its own options
        return _sim(argv[1:])
    from arbbot.terminate import EXIT_TERMINATED, Terminated, sigterm_raises
    try:
        with sigterm_raises():
            return _command(argv)
    except Terminated:
        print("terminated", file=sys.stderr)
        return EXIT_TERMINATED


def _utf8_output() -> None:
    """Standard output and error in UTF-8 whatever the locale or PYTHONIOENCODING says: the JSON
    output is UTF-8 (spec/SNAPSHOT.md), and a market id outside the locale's charset stopped
    `arbbot scan --json` with a UnicodeEncodeError traceback."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")


def _command(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)     # inside: building it imports the commands (Ctrl-C may land there)
        if args.command == "scan":
            return _scan(args)
        if args.command == "explain":
            from arbbot.sizing.explain_command import main as explain_main
            return explain_main(args)
        if args.command == "doctor":
            from arbbot.doctor import report
            print(report())
            return EXIT_OK
        if args.command == "bench":
            from arbbot.bench.runner import main as bench_main
            return bench_main(quick=args.quick, as_json=args.json, seed=args.seed)
        if args.command == "config":
            import json as _json
            from arbbot.config import ConfigError, load_settings
            try:
                shown = load_settings(config_file=args.config).masked()
            except ConfigError as exc:
                print(f"arbbot config: {exc}", file=sys.stderr)
                return EXIT_INPUT
            try:                            # strict JSON: never `Infinity` / `NaN` (the settings refuse them)
                text = _json.dumps(shown, indent=1, allow_nan=False)
            except ValueError as exc:
                print(f"arbbot config: cannot show the settings as JSON: {exc}", file=sys.stderr)
                return EXIT_INPUT
            print(text)
            return EXIT_OK
        if args.command == "ack":
            from arbbot.execution.operator_store import open_for_operator
            from arbbot.execution.recovery import acknowledge
            store = open_for_operator("ack", args.db)
            if store is None:
                return EXIT_INPUT
            try:
                reason = store.safe_mode()
                cleared = acknowledge(store)
                lines = [f"safe mode cleared ({reason})"] if reason else []
                lines += [f"acknowledged {execution}" for execution in cleared]
                if store.clear_drawdown_stop():
                    lines.append("drawdown stop cleared; the equity peak restarts at the last equity")
                lines += [f"fee hold released: {market}" for market in store.clear_fee_holds()]
                print("\n".join(lines) if lines else "not in safe mode, no drawdown stop, no fee hold: nothing to "
                                                      "acknowledge")
            finally:
                store.close()
            return EXIT_OK
        if args.command in ("halt", "resume"):
            return _kill_switch(args)
        if args.command == "status":
            from arbbot.ops.status import main as status_main
            return status_main(args.db, as_json=args.json)
        if args.command == "reconcile":
            from arbbot.execution.reconcile_command import main as reconcile_main
            return reconcile_main(args)
        if args.command == "live":
            from arbbot.run.command import main as live_main
            return live_main(args)
        if args.command == "run":
            from arbbot.run.command import main as live_main
            args.trade = True
            return live_main(args)
        if args.command == "snapshot":
            from arbbot.run.snapshot_command import main as snapshot_main
            return snapshot_main(args)
        if args.command == "examples":
            return _examples(args)
        if args.command == "resolve":
            from arbbot.execution.resolve_command import main as resolve_main
            return resolve_main(args)
        if args.command == "rules":
            from arbbot.mapping.rules_command import main as rules_main
            return rules_main(args)
        if args.command == "map":
            from arbbot.mapping.match.command import main as map_main
            return map_main(args)
        if args.command == "tune":
            from arbbot.replay.tune import main as tune_main
            return tune_main(args)
        if args.command == "replay":
            from arbbot.replay.command import main as replay_main
            return replay_main(args)
        if args.command == "report":
            from arbbot.ops.reporting.command import main as report_main
            return report_main(args)
        _parser().print_help()
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


def _halt_store(args, settings):
    """(path, the order store a halt is kept in: --db, else the configured db_path if it exists),
    or (None, None) when there is none to look in, or (EXIT_INPUT, None) when it cannot be opened
    (said on stderr as `arbbot halt|resume: …`)."""
    path = getattr(args, "db", None)
    if path is None:
        if settings is None or not Path(settings.db_path).is_file():
            return None, None
        path = settings.db_path
    from arbbot.execution.operator_store import open_for_operator
    store = open_for_operator(args.command, path)
    return (path, store) if store is not None else (EXIT_INPUT, None)


def _halt_stored(args, settings) -> int | None:
    """`arbbot halt` with no kill file: the halt kept in the order store (--db, else the configured
    db_path if it exists), as the dashboard keeps one (`KillSwitch` flag; a running bot on that
    store sees it at its next check). EXIT_OK when kept (said on stdout), EXIT_INPUT when the store
    cannot be opened, None when there is no store to keep it in."""
    from arbbot import logs
    from arbbot.risk.killswitch import HALT_FLAG, clean_reason
    path, store = _halt_store(args, settings)
    if store is None:
        return path
    logs.register_secret(*(settings.secret_values() if settings is not None else ()))
    reason = clean_reason(args.reason)
    try:
        store.set_flag(HALT_FLAG, reason, "arbbot halt")
        store.add_event("halted", who="arbbot halt", reason=reason)
    finally:
        store.close()
    print(f"halted: kept in {path} (no kill file configured): the bot trading on it starts no new executions "
          f"(arbbot resume to undo)")
    return EXIT_OK


def _resume_stored(args, settings) -> int | None:
    """Clear a dashboard halt kept in the order store (`KillSwitch` flag): EXIT_OK when one was
    cleared (said on stdout), None when there was none or no store to look in, EXIT_INPUT when
    the store named by --db cannot be opened (said on stderr)."""
    from arbbot.risk.killswitch import HALT_FLAG, stored_halt
    path, store = _halt_store(args, settings)
    if store is None:
        return path
    try:
        reason = stored_halt(store)
        if reason is None:
            return None
        store.set_flag(HALT_FLAG, "", "arbbot resume")
        store.add_event("resumed", who="arbbot resume")
    finally:
        store.close()
    print(f"resumed: cleared the dashboard halt kept in {path} ({reason}); a bot running on it trades again")
    return EXIT_OK


def _kill_switch(args) -> int:
    """`arbbot halt` / `resume`. The kill switch must work whatever else is wrong with the
    configuration: when it does not load, `kill_file` is read on its own (a warning says so)."""
    import os
    from arbbot import logs
    from arbbot.config import ConfigError, kill_file_alone, load_settings
    from arbbot.risk.killswitch import clean_reason
    name = f"arbbot {args.command}"
    try:
        settings = load_settings()
        value = settings.kill_file
    except ConfigError as exc:
        settings = None
        value, source = kill_file_alone()
        print(f"{name}: warning: the configuration does not load ({exc}); kill_file {value!r} read on its own "
              f"from {source}", file=sys.stderr)
    if args.command == "resume":
        stored = _resume_stored(args, settings)
        if stored == EXIT_INPUT:
            return EXIT_INPUT
        if not value and stored == EXIT_OK:
            return EXIT_OK
    elif not value:
        stored = _halt_stored(args, settings)
        if stored is not None:
            return stored
    if not value:
        print(f"{name}: kill_file is empty: no kill file configured (set ARB_KILL_FILE or kill_file in "
              f"arbbot.toml)", file=sys.stderr)
        return EXIT_INPUT
    if "\x00" in value:               # read on its own (a TOML "\u0000"): no file can have that name
        print(f"{name}: kill_file {value!r} contains a NUL character: no file can have that name", file=sys.stderr)
        return EXIT_INPUT
    path = Path(os.path.abspath(value))
    if path.is_dir():
        print(f"{name}: kill_file {path} is a directory", file=sys.stderr)
        return EXIT_INPUT
    relative = "" if os.path.isabs(value) else \
        (f"\n(kill_file {value!r} is relative to the current directory: a bot started in another directory "
         f"watches its own {value})")
    if args.command == "halt":
        try:            # a secret typed as the reason is redacted (without a configuration, none is known)
            logs.register_secret(*(settings.secret_values() if settings is not None else ()))
        except OSError:
            pass            # its key file unreadable: the halt must go through all the same
        try:
            path.write_text(clean_reason(args.reason) + "\n")   # one line, bounded, secrets redacted
        except OSError as exc:
            print(f"{name}: cannot write kill file {path}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_INPUT
        print(f"halted: wrote {path}; running bots whose kill_file is this file start no new executions "
              f"(arbbot resume to undo){relative}")
    elif path.exists():
        try:
            path.unlink()
        except OSError as exc:
            print(f"{name}: cannot remove kill file {path}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_INPUT
        print(f"resumed: removed {path}{relative}")
    else:
        print(f"not halted: {path} does not exist{relative}")
    return EXIT_OK


def _sim(argv: list[str]) -> int:
    from arbbot.sim import cli_main
    try:
        return cli_main(argv)
    except KeyboardInterrupt:
        return EXIT_OK


def _scan(args) -> int:
    from arbbot.engine import EngineInputError, implementation, scan, scan_packed
    from arbbot.engine.select import EngineSelectionError
    from arbbot.opportunities import to_json_line
    from arbbot.snapshot import SnapshotError, load_snapshot, load_snapshot_packed, read_snapshot_data

    rules_errors: tuple = ()
    if args.rules:
        from arbbot.mapping.rules_file import RulesFileError
        rules_errors = (RulesFileError,)
    try:
        engine = implementation("lanes", args.engine)
        packed = None
        if engine == "swift" and args.json and not args.rules and args.file != "-":
            # The Swift engine's buffers straight from the file; None: load_snapshot decides.
            packed = load_snapshot_packed(args.file)
        if packed is not None:
            result = scan_packed(packed.buffers, packed.names)
        else:
            if args.file == "-":    # the bytes, read as a file's (load_snapshot) would be
                snapshot = read_snapshot_data(sys.stdin.buffer.read())
            else:
                snapshot = load_snapshot(args.file)
            if args.rules:
                snapshot = _with_rules(snapshot, args.rules)
            result = scan(snapshot.universe, engine=engine)
    except MemoryError:                       # /dev/zero, a file larger than the machine's memory
        print(f"arbbot scan: {args.file}: too large to read into this machine's memory", file=sys.stderr)
        return EXIT_INPUT
    except SnapshotError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    except rules_errors as exc:
        print(f"arbbot scan: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except (EngineInputError, EngineSelectionError) as exc:
        print(f"arbbot scan: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if args.json:
        sys.stdout.write(to_json_line(result, engine))
    else:
        from arbbot.report import print_scan
        print_scan(result, snapshot, engine, source=args.file)
    return EXIT_OK


def _with_rules(snapshot, path: str):
    """`snapshot` with the relations of the rules file at `path` that apply to its markets
    appended (arbbot.mapping.rules_file); the count of dropped ones goes to stderr."""
    from dataclasses import replace

    from arbbot.mapping.rules_file import load_rules, merge_rules, relation_key
    from arbbot.snapshot import parse_relations

    u = snapshot.universe
    names = [m.name for m in u.markets]
    existing = [relation_key(r.kind.label, [names[i] for i in r.members], r.exhaustive) for r in u.relations]
    added, dropped = merge_rules(load_rules(path), set(names), existing)
    if dropped:
        print(f"arbbot scan: {dropped} relation(s) of {path} name markets not in the snapshot; dropped",
              file=sys.stderr)
    return replace(snapshot, universe=replace(u, relations=u.relations + parse_relations(added, u.markets)))


def _examples(args) -> int:
    from arbbot.engine import implementation, scan
    from arbbot.report import print_scan
    from arbbot.snapshot import load_snapshot

    engine = implementation("lanes", args.engine)
    files = sorted(p for p in resources.files("arbbot.examples").iterdir() if p.name.endswith(".snapshot.json"))
    for path in files:
        with resources.as_file(path) as real:
            snapshot = load_snapshot(real)
        print_scan(scan(snapshot.universe, engine=engine), snapshot, engine, source=path.name)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
