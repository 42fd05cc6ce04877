"""The `arbbot explain` command: argument checks, the two modes, exit codes (0 ok, 2 bad input).
Every error is one line on stderr, never a traceback."""
from __future__ import annotations

import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from arbbot.engine.types import INT64_MAX

EXIT_OK, EXIT_INPUT = 0, 2


def _fail(message: str) -> int:
    print(f"arbbot explain: {message}", file=sys.stderr)
    return EXIT_INPUT


BANKROLL_MAX = INT64_MAX           # µ$: the engines hold equity as an int64


def _bankroll(text: str) -> int:
    """Dollars (a decimal with at most 6 places, ≥ 0) → µ$."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"--bankroll {text!r} is not a number of dollars") from None
    if not value.is_finite() or value < 0 or value * 1_000_000 != (value * 1_000_000).to_integral_value():
        raise ValueError(f"--bankroll {text!r} must be dollars ≥ 0 with at most 6 decimals")
    micros = int(value * 1_000_000)
    if micros > BANKROLL_MAX:
        raise ValueError(f"--bankroll {text!r} is above ${BANKROLL_MAX // 1_000_000:,} (equity is µ$ in an int64)")
    return micros


def main(args) -> int:
    from arbbot.engine import EngineInputError, implementation
    from arbbot.engine.select import EngineSelectionError
    from arbbot.sizing.explain import ExplainError, json_line, print_records

    if args.db is not None:
        if args.file is not None:
            return _fail("give either a snapshot file or --db, not both")
        return _from_db(args)
    if args.execution is not None:
        return _fail("--execution needs --db")
    if args.file is None:
        return _fail("give a snapshot file (or --db with stored records)")
    from arbbot.sizing.explain import explain_snapshot, load_config, read_snapshot
    from arbbot.sizing.record import trade_record
    from arbbot.snapshot import SnapshotError
    try:
        bankroll = _bankroll(args.bankroll)
        config = load_config(args.config)
        engine = implementation("lanes", args.engine)
        if args.file == "-":
            text = sys.stdin.read()
        else:
            try:
                text = Path(args.file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SnapshotError("$", f"cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}") from None
        snapshot, obj = read_snapshot(text)
        from arbbot.sizing.select import size_opportunity
        eval_engine = implementation("eval", args.engine)
        sizings = explain_snapshot(snapshot, obj, bankroll=bankroll, config=config, engine=engine,
                                   chain=lambda inp, params: size_opportunity(inp, params, engine=eval_engine))
    except SnapshotError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    except (ExplainError, EngineInputError, EngineSelectionError, ValueError) as exc:
        return _fail(str(exc))
    records = [trade_record(s) for s in sizings if args.id is None or s.id == args.id]
    if args.id is not None and not records:
        return _fail(f"no opportunity {args.id} in {args.file}")
    if args.json:
        sys.stdout.write(json_line(records))
    else:
        print_records(records, args.file)
    return EXIT_OK


_RECORD_TEXT = ("id", "lane", "engine_qty", "final_qty", "profit", "bound_by")   # strings every record has
_STEP_TEXT = ("step", "qty", "note")


def _damage(record) -> str | None:
    """What makes a stored record unfit to show (SIZING.md's opportunity object: its text fields
    and twelve steps), or None."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not an object"
    missing = [k for k in _RECORD_TEXT if not isinstance(record.get(k), str)]
    if missing:
        return f"no text {', '.join(missing)}"
    steps = record.get("steps")
    if not isinstance(steps, list) or len(steps) != 12:
        return "its steps are not a list of twelve"
    for k, step in enumerate(steps):
        if not isinstance(step, dict) or any(not isinstance(step.get(f), str) for f in _STEP_TEXT) \
                or not isinstance(step.get("cap", ""), str):
            return f"step {k + 1} is not a step object"
    return None


def _from_db(args) -> int:
    import sqlite3

    from arbbot.execution.schema import SchemaError
    from arbbot.execution.store import OrderStore
    from arbbot.ops.reporting.load import StoreError, connect_ro
    from arbbot.sizing.explain import json_line, print_records

    try:
        connect_ro(args.db).close()         # `arbbot report`'s check: read-only, a non-store is left as it is
        store = OrderStore(args.db, create=False)
    except (StoreError, SchemaError, FileNotFoundError, ValueError) as exc:
        return _fail(str(exc))
    except sqlite3.DatabaseError as exc:
        return _fail(f"{args.db} is not a usable order store: {exc}")
    try:
        rows = store.sizing_records(execution_id=args.execution, opportunity_id=args.id)
    except sqlite3.DatabaseError as exc:
        return _fail(f"{args.db} is not a usable order store: {exc}")
    except ValueError as exc:            # a record that is not JSON
        return _fail(f"{args.db} is a damaged order store: a sizing record is not JSON ({exc})")
    finally:
        store.close()
    for execution_id, record in rows:
        problem = _damage(record)
        if problem is not None:
            return _fail(f"{args.db} is a damaged order store: the sizing record of execution {execution_id} "
                         f"is not an arbbot.sizing/1 opportunity ({problem})")
    if (args.id or args.execution) and not rows:
        return _fail("no stored sizing record matches " + (f"execution {args.execution}" if args.execution
                                                           else f"opportunity {args.id}"))
    records = [record for _, record in rows]
    if args.json:
        sys.stdout.write(json_line(records))
    else:
        print_records(records, args.db)
    return EXIT_OK
