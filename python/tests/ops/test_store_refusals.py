"""Operator commands given a file that is not a usable order store — a foreign SQLite database, an
empty file, a corrupt file, a store of a newer schema, a foreign schema with no schema version —
refuse it the way `arbbot status` and `arbbot report` do: exit 2, one line on stderr naming the
file (no traceback), and the file left byte for byte as it was (never initialised as a store)."""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from arbbot.cli import main
from arbbot.execution.schema import LATEST
from arbbot.execution.store import OrderStore


def foreign(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE foo (x)")
    db.execute("INSERT INTO foo VALUES (1)")
    db.commit()
    db.close()


def empty(path: Path) -> None:
    path.write_bytes(b"")


def corrupt(path: Path) -> None:
    path.write_bytes(b"SQLite format 3\0" + b"this is not a database at all " * 200)


def garbage(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 20)


def newer(path: Path) -> None:
    OrderStore(str(path)).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO schema_version VALUES (99, 'from the future', 0)")
    db.commit()
    db.close()


def _database(path: Path, *statements: str) -> None:
    """A SQLite database made by running `statements`."""
    db = sqlite3.connect(path)
    for sql in statements:
        db.execute(sql)
    db.commit()
    db.close()


def no_version(path: Path) -> None:
    """A foreign schema that borrows two of the store's table names (no version recorded)."""
    _database(path, "CREATE TABLE schema_version (version int, description text, applied_ms int)",
              "CREATE TABLE executions (x)")


def odd_version(path: Path) -> None:
    """Another tool's database with a `meta` table whose schema_version is not a whole number."""
    _database(path, "CREATE TABLE meta (key text, value text)", "INSERT INTO meta VALUES ('schema_version', '1.2.3')")


def text_version(path: Path) -> None:
    _database(path, "CREATE TABLE schema_version (version)", "INSERT INTO schema_version VALUES ('abc')")


FILES = {
    "foreign": (foreign, "is not an arbbot order store (no schema version)"),
    "empty": (empty, "is not an arbbot order store (no schema version)"),
    "corrupt": (corrupt, "is not a usable order store: file is not a database"),
    "garbage": (garbage, "is not a usable order store: file is not a database"),
    "newer": (newer, f"schema version 99 is newer than this arbbot supports ({LATEST})"),
    "no_version": (no_version, "is not an arbbot order store (no schema version)"),
    # before (CLI review, session 33): int('1.2.3') ended status, report and ack in a traceback
    "odd_version": (odd_version, "not an arbbot order store: its meta.schema_version is '1.2.3', not a version number"),
    "text_version": (text_version, "not an arbbot order store: its schema_version is 'abc', not a version number"),
}
COMMANDS = {
    "explain": ["explain", "--db", "{db}"],
    "explain --json": ["explain", "--db", "{db}", "--json", "--id", "abc"],
    "ack": ["ack", "--db", "{db}"],
    "reconcile --paper": ["reconcile", "--db", "{db}", "--paper"],
    "reconcile --paper --json": ["reconcile", "--db", "{db}", "--paper", "--json"],
    "reconcile --connect": ["reconcile", "--db", "{db}", "--connect", "{handle}"],
    "status": ["status", "--db", "{db}", "--json"],             # the reference behaviour
    "report": ["report", "--db", "{db}", "--json"],
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", list(FILES))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_file_that_is_not_a_usable_store_is_refused_and_left_unchanged(tmp_path, capsys, monkeypatch, command,
                                                                          kind):
    monkeypatch.chdir(tmp_path)
    make, why = FILES[kind]
    db = tmp_path / f"{kind}.db"
    make(db)
    before = digest(db)
    siblings = sorted(p.name for p in tmp_path.iterdir())
    argv = [a.format(db=db, handle=tmp_path / "no-such-handle.json") for a in COMMANDS[command]]
    capsys.readouterr()
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err, err
    name = argv[0]
    assert err.startswith(f"arbbot {name}: ") and str(db) in err and why in err, err
    assert digest(db) == before, "the file was changed"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == siblings
    if kind != "newer":                 # nothing created in a foreign database
        tables = None if kind in ("corrupt", "garbage") else \
            {r[0] for r in sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True).execute("SELECT name FROM sqlite_master")}
        assert tables is None or tables == {"empty": set(), "foreign": {"foo"}, "odd_version": {"meta"},
                                            "text_version": {"schema_version"},
                                            "no_version": {"schema_version", "executions"}}[kind]


def test_a_real_store_still_works(tmp_path, capsys):
    """The check refuses only what is not a store: a fresh order store is explained and acked."""
    db = tmp_path / "orders.db"
    OrderStore(str(db)).close()
    assert main(["explain", "--db", str(db), "--json"]) == 0
    assert capsys.readouterr().out == '{"format":"arbbot.sizing/1","opportunities":[]}\n'
    assert main(["ack", "--db", str(db)]) == 0
    assert capsys.readouterr().out == "not in safe mode, no drawdown stop, no fee hold: nothing to acknowledge\n"
    assert main(["reconcile", "--db", str(db), "--paper"]) == 2          # a store, but not a paper one
    assert capsys.readouterr().err == f"arbbot reconcile: {db} is not a paper database: reconcile it with " \
                                      "--connect HANDLE_FILE or --live\n"


@pytest.mark.parametrize("damage,why", [
    ("UPDATE executions SET legs = 'not json'", "execution c1: its planned legs are damaged ('not json')"),
    ("UPDATE executions SET legs = '[1,2]'", "execution c1: its planned legs are damaged ('[1,2]')"),
    ("INSERT INTO events (ts_ms, kind, data) VALUES (7, 'drift_alert', 'garbage')",
     "the drift alert event of 7 ms is damaged ('garbage')"),
])
def test_a_damaged_row_in_a_real_store_is_named_by_report(tmp_path, capsys, damage, why):
    """`arbbot report` over a store with one damaged row. Before (CLI review, session 33): a
    JSONDecodeError or AttributeError traceback (status, explain and ack read the same file)."""
    from tests.risk.trades import complete_profitable
    db = tmp_path / "orders.db"
    store = OrderStore(str(db))
    complete_profitable(store)
    store.close()
    raw = sqlite3.connect(db)
    raw.execute(damage)
    raw.commit()
    raw.close()
    capsys.readouterr()
    assert main(["report", "--db", str(db), "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err and err == f"arbbot report: {why}\n"
