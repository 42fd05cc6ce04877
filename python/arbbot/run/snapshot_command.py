"""`arbbot snapshot`: what the bot sees now, written as an `arbbot.snapshot/1` file
(spec/SNAPSHOT.md) that `arbbot scan` and `arbbot explain` read.

It opens the session `arbbot run` would (the embedded simulator by default, another process's with
`--connect`, the real venues read-only with `--live`: no order is ever sent), discovers the
markets, derives the relations (listings' rules, the mapping rows traded, `--rules`) and reads the
books: over REST at discovery, or, where the session starts from the streams' snapshots (the
universe, `--live`), from the streams until every market has one or `--wait` seconds passed. Then
it writes, in one step of the event loop (no update between two markets):

- every market with its fee schedule, lot, title and what sizing reads (`closes_at`, `event`,
  `category`); its book only while the quality gate admits it (a book held out — crossed,
  stale, awaiting its snapshot, held for a fee change — is written without one: a distrusted book
  must not reach the engine);
- the session's relations, with their confidence (the venues' listings' rules, the cross-venue
  twins generated from them when `generate_mappings` is on, the mapping rows, `--rules`);
- `params`: the per-trade cap (`max_contracts`) and `min_profit` of the configuration.

`arbbot scan` of the file finds exactly what the session's engine held at that instant.
Progress and the summary go to stderr; the file to `--out` (written whole or not at all) or
stdout. Exit status 2 on a bad option, configuration, mapping or rules file, or an unreachable
venue."""
from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from arbbot import logs
from arbbot.argcheck import unwritable
from arbbot.config import ConfigError, load_settings
from arbbot.files import write_atomic
from arbbot.snapshot import dump_snapshot
from arbbot.units import format_money, format_qty

EXIT_OK, EXIT_INPUT = 0, 2
WAIT_S = 15.0          # default: longest wait for the streams' snapshots
PROGRESS_S = 2.0       # seconds between progress lines while waiting


def session_snapshot(session, taken_at: datetime | None = None) -> dict:
    """The `arbbot.snapshot/1` object of `session` now: its markets in engine order, each with the
    book the engine holds for it (none while the quality gate holds it out), its relations and
    its cap and minimum profit."""
    from arbbot.run.live import gated_book
    pairs = [(info, gated_book(session, str(info.id))) for info in session.markets]
    params = {"min_profit": format_money(session.min_profit, trim=True)}
    if session.max_qty is not None:
        params["max_qty"] = format_qty(session.max_qty)
    return dump_snapshot(pairs, relations=list(session._relations), params=params, taken_at=taken_at)


async def _wait_for_books(session, wait_s: float, progress) -> None:
    """Until no market awaits its stream's snapshot, or `wait_s` seconds: then the markets still
    without a book are said (written without one, as empty: SNAPSHOT.md "absent means empty")."""
    from arbbot.run.live import AWAITING
    deadline = time.monotonic() + wait_s
    said = time.monotonic()
    while True:
        awaiting = sum(1 for why in session.gate.held.values() if why == AWAITING)
        if not awaiting:
            return
        if time.monotonic() >= deadline:
            progress(f"warning: --wait {wait_s:g} s ran out with {awaiting:,} of {len(session.markets):,} markets "
                     f"still without a book: written without one (as empty); a longer --wait gives them time")
            return
        if time.monotonic() - said >= PROGRESS_S:
            progress(f"waiting for books: {len(session.markets) - awaiting:,} of {len(session.markets):,}")
            said = time.monotonic()
        await asyncio.sleep(0.1)


async def _take(args, settings, rules) -> tuple[dict, object]:
    """(the snapshot, the session's own scan of the same instant)."""
    from arbbot.mapping.generate import default_cache_dir
    from arbbot.mapping.table import load_mappings
    from arbbot.run.command import _simulator
    from arbbot.run.live import LiveSession, connect_simulated_venues, default_session_mappings
    from arbbot.mapping.generate import generated_mappings_in_worker
    from arbbot.run.options import session_options

    def progress(line: str) -> None:
        print(f"arbbot snapshot: {line}", file=sys.stderr, flush=True)

    if args.live:
        from arbbot.run.real_venues import connect_real_venues
        handle, venues = None, await connect_real_venues(settings, paper=True)   # reads only: never an order
    else:
        handle, _where = _simulator(args, settings)
        logs.register_secret(handle.kalshi_private_key_pem, handle.polymarket_creds.secret,
                             handle.polymarket_creds.passphrase, handle.polymarket_private_key)
        venues = await connect_simulated_venues(handle)
    session = None
    try:
        mappings = load_mappings(args.mappings) if args.mappings else default_session_mappings()
        snapshot_start = settings.snapshot_start
        if snapshot_start is None:
            snapshot_start = bool(args.live or settings.scenario == "universe")
        session = LiveSession(venues, mappings, snapshot_start=snapshot_start,
                              tiers=False, engine=args.engine, rules=rules, **session_options(settings),
                              approved_only=args.live, generate=False, refresh_s=0,
                              cache_dir=Path(settings.mapping_cache_dir) if settings.mapping_cache_dir
                              else default_cache_dir())
        progress(f"discovering markets on {', '.join(venues)}")
        await session.discover()
        if settings.generate_mappings:                 # the cross-venue twins `arbbot run` would trade
            progress("matching the listings across venues")
            generated = await generated_mappings_in_worker(session.listings, session.cache_dir)
            session.apply_generated(generated.rows)
        if snapshot_start:
            session.start_streams()
            await _wait_for_books(session, args.wait, progress)
        snap = session_snapshot(session, datetime.now(timezone.utc))
        return snap, session.engine.scan()        # the same instant: no await in between
    finally:
        if session is not None:
            await session.close()
        else:
            for venue in venues.values():
                await venue.close()
        if handle is not None:
            handle.stop()


def main(args) -> int:
    """The `arbbot snapshot` command. Returns the exit status."""
    from arbbot.mapping.rules_file import RulesFileError, load_rules
    from arbbot.sim.spawn import SpawnError
    from arbbot.venues.common.errors import VenueError

    try:
        settings = load_settings(scenario=args.scenario, seed=args.seed, max_contracts=args.max_contracts)
    except ConfigError as exc:
        print(f"arbbot snapshot: {exc}", file=sys.stderr)
        return EXIT_INPUT
    logs.configure(json=settings.log_json)
    logs.register_secret(*settings.secret_values())     # --live reads the venues with them
    if args.out and args.out != "-" and Path(args.out).is_file() and not args.force:   # not /dev/stdout, a pipe
        print(f"arbbot snapshot: {args.out} exists (--force replaces it)", file=sys.stderr)
        return EXIT_INPUT
    problem = unwritable(args.out) if args.out and args.out != "-" else None
    if problem:                                   # said now, not after the whole discovery
        print(f"arbbot snapshot: --out {args.out}: {problem}", file=sys.stderr)
        return EXIT_INPUT
    try:
        rules = load_rules(args.rules) if args.rules else None
    except RulesFileError as exc:
        print(f"arbbot snapshot: {exc}", file=sys.stderr)
        return EXIT_INPUT
    # Ctrl-C / SIGINT stops it even when started from a shell that ignores SIGINT for background
    # jobs (asyncio installs its handler only over the default one), as `arbbot run` does
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        snap, found = asyncio.run(_take(args, settings, rules))
    except KeyboardInterrupt:
        print("arbbot snapshot: stopped, nothing written", file=sys.stderr)
        return 1
    except (ValueError, VenueError, SpawnError, OSError) as exc:
        print(f"arbbot snapshot: {exc}", file=sys.stderr)
        return EXIT_INPUT
    # a venue's JSON may carry a lone UTF-16 surrogate ("\\ud83d": half an emoji) in a title, which
    # UTF-8 cannot encode: written as "?" (before: a traceback after the whole run)
    data = (json.dumps(snap, indent=1, ensure_ascii=False) + "\n").encode("utf-8", "replace")
    if args.out and args.out != "-":
        try:
            write_atomic(args.out, data)
        except OSError as exc:
            print(f"arbbot snapshot: cannot write {args.out}: {exc}", file=sys.stderr)
            return EXIT_INPUT
    else:
        sys.stdout.write(data.decode())
    with_books = sum(1 for m in snap["markets"] if "book" in m)
    print(f"arbbot snapshot: {len(snap['markets']):,} markets ({with_books:,} with books), "
          f"{len(snap.get('relations', [])):,} relations, {len(found.opportunities)} opportunit"
          f"{'y' if len(found.opportunities) == 1 else 'ies'} now → {args.out or 'stdout'}", file=sys.stderr)
    return EXIT_OK


def add_parser(sub) -> None:
    """The `arbbot snapshot` sub-command's options."""
    from arbbot.argcheck import at_least, contracts, positive
    from arbbot.cli import UNIVERSE_MIN_MARKETS
    p = sub.add_parser("snapshot", help="write what the bot sees now as an arbbot.snapshot/1 file",
                       description="Discover the markets, derive the relations and read the books as `arbbot run` "
                                   "does (the embedded simulator by default; --connect another process's; --live "
                                   "the real venues, read only: no order is ever sent), then write them as one "
                                   "arbbot.snapshot/1 file that `arbbot scan` and `arbbot explain` read. Books the "
                                   "quality gate holds out are written without a book.")
    p.add_argument("-o", "--out", metavar="FILE", help="write the snapshot here (default: standard output)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--scenario", help="simulator scenario (config: scenario; universe: 20,000 books)")
    p.add_argument("--markets", type=at_least(UNIVERSE_MIN_MARKETS),
                   help=f"books of the universe scenario (default 20,000; at least {UNIVERSE_MIN_MARKETS})")
    p.add_argument("--seed", type=int, help="simulator seed (config: seed)")
    p.add_argument("--connect", metavar="HANDLE_FILE",
                   help="a simulator running in another process (arbbot sim --handle-file HANDLE_FILE)")
    p.add_argument("--live", action="store_true", help="the real venues, read only (credentials from the configuration)")
    p.add_argument("--mappings", help="cross-venue mapping CSV (default: the shipped one for the simulator)")
    p.add_argument("--rules", metavar="FILE", help="also use the relations of an arbbot.relations/1 file")
    p.add_argument("--max-contracts", type=contracts, help="params.max_qty (config: max_contracts)")
    p.add_argument("--wait", type=positive, default=WAIT_S,
                   help=f"seconds to wait for the streams' book snapshots (universe, --live; default {WAIT_S:g})")
    p.add_argument("--engine", choices=("swift", "python"), help="implementation (default: ARB_ENGINE or swift)")
    p.set_defaults(step=0)
