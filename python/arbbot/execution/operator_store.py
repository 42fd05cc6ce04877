"""Opening the order store an operator command writes to (`arbbot ack`, `arbbot resolve`)."""
from __future__ import annotations

import sqlite3
import sys


def open_for_operator(command: str, db: str | None):
    """The `OrderStore` at `db`, else at the configuration's `db_path`: never created, and a file
    that is not an order store is left as it is (`arbbot report`'s read-only check first). None
    after printing why to stderr as `arbbot COMMAND: …` (the command then exits 2)."""
    from arbbot.config import ConfigError, load_settings
    from arbbot.execution.schema import SchemaError
    from arbbot.execution.store import OrderStore
    from arbbot.ops.reporting.load import StoreError, connect_ro
    path = db
    try:
        path = db or load_settings().db_path
        connect_ro(path).close()
        return OrderStore(path, create=False)
    except (ConfigError, StoreError, SchemaError, FileNotFoundError) as exc:
        print(f"arbbot {command}: {exc}", file=sys.stderr)
    except sqlite3.DatabaseError as exc:
        print(f"arbbot {command}: {path} is not a usable order store: {exc}", file=sys.stderr)
    return None
