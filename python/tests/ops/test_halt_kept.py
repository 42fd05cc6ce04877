"""A dashboard halt that no kill file holds (kill_file = "", or the file cannot be written) is
kept in the order store: a restarted bot starts halted, `arbbot status` shows it, and the
dashboard's resume or `arbbot resume` clears it.

Before (a review, session 37), such a halt lived in the bot's memory only: after a restart the bot
traded again, and `arbbot status` said `halted: false` even while the running bot was halted."""
from __future__ import annotations

import json
import types

from arbbot.cli import main
from arbbot.config import load_settings
from arbbot.execution import OrderStore
from arbbot.ops import status as status_mod
from arbbot.ops.control import Controls
from arbbot.risk import KillSwitch, RiskGates


def _bot(db, settings):
    store = OrderStore(str(db))
    gates = RiskGates(KillSwitch(settings.kill_file or None, store=store))     # as attach_paper_trader builds it
    return store, gates, Controls(settings, trader=types.SimpleNamespace(gates=gates, store=store))


def test_a_dashboard_halt_without_a_kill_file_survives_a_restart_until_resumed(in_tmp, capsys):
    settings = load_settings(kill_file="")
    db = in_tmp / "o.db"
    store, gates, controls = _bot(db, settings)
    assert controls.halt("dashboard session x", "news pending") == {"halted": "kill switch: news pending"}
    assert gates.stops() == ["kill switch: news pending"]
    assert status_mod.collect(store, settings).to_json()["halted"] is True
    store.close()

    store, gates, controls = _bot(db, settings)                   # restart: the same store
    assert gates.stops() == ["kill switch: news pending"]
    assert main(["status", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["halted"] is True
    assert main(["status", "--db", str(db)]) == 0
    assert "news pending (halted from the dashboard" in capsys.readouterr().out
    assert controls.resume("dashboard session y") == {"halted": None}
    assert gates.stops() == []
    store.close()

    store, gates, _controls = _bot(db, settings)                  # and it stays resumed
    assert gates.stops() == [] and status_mod.collect(store, settings).to_json()["halted"] is False
    store.close()


def test_arbbot_resume_clears_a_halt_kept_in_the_store(in_tmp, monkeypatch, capsys):
    monkeypatch.setenv("ARB_KILL_FILE", "")
    monkeypatch.setenv("ARB_DB_PATH", str(in_tmp / "o.db"))
    settings = load_settings()
    store, gates, controls = _bot(in_tmp / "o.db", settings)
    controls.halt("dashboard session x", "stop")
    assert gates.stops() == ["kill switch: stop"]
    assert main(["resume"]) == 0                     # another connection, as from another process
    out = capsys.readouterr().out
    assert out.startswith(f"resumed: cleared the dashboard halt kept in {in_tmp / 'o.db'} (stop)")
    assert gates.stops() == []                       # the running bot sees it at its next check
    store.close()
    store, gates, _controls = _bot(in_tmp / "o.db", settings)
    assert gates.stops() == []
    assert [e["kind"] for e in store.events() if e["kind"] in ("halted", "resumed")] == ["halted", "resumed"]
    store.close()
    # nothing kept, no kill file configured: as before
    assert main(["resume"]) == 2
    assert "kill_file is empty" in capsys.readouterr().err
    assert main(["resume", "--db", str(in_tmp / "missing.db")]) == 2


def test_a_kill_file_halt_keeps_nothing_in_the_store(in_tmp):
    settings = load_settings(kill_file=str(in_tmp / "arbbot.kill"))
    store, gates, controls = _bot(in_tmp / "o.db", settings)
    controls.halt("dashboard session x", "files hold it")
    assert (in_tmp / "arbbot.kill").read_text() == "files hold it\n"
    assert store.flags("halt") == {}
    store.close()


def test_arbbot_halt_without_a_kill_file_keeps_the_halt_in_the_store(in_tmp, monkeypatch, capsys):
    """With `kill_file = ""`, `arbbot halt` refused ("kill_file is empty"): nothing could halt a bot
    from the command line. Now it keeps the halt in the order store: the running bot stops at its
    next check, a restarted one starts halted, `arbbot resume` clears it."""
    monkeypatch.setenv("ARB_KILL_FILE", "")
    monkeypatch.setenv("ARB_DB_PATH", str(in_tmp / "o.db"))
    settings = load_settings()
    store, gates, _controls = _bot(in_tmp / "o.db", settings)
    assert gates.stops() == []
    assert main(["halt", "--reason", "news\npending"]) == 0
    assert capsys.readouterr().out.startswith(f"halted: kept in {in_tmp / 'o.db'} (no kill file configured)")
    assert gates.stops() == ["kill switch: news pending"]              # the running bot, at its next check
    store.close()
    store, gates, _controls = _bot(in_tmp / "o.db", settings)          # restarted: still halted
    assert gates.stops() == ["kill switch: news pending"]
    assert main(["resume"]) == 0 and gates.stops() == []
    store.close()
    # no store either: as before
    assert main(["halt", "--db", str(in_tmp / "missing.db")]) == 2
    (in_tmp / "o.db").unlink()
    for extra in ("o.db-wal", "o.db-shm"):
        (in_tmp / extra).unlink(missing_ok=True)
    assert main(["halt"]) == 2 and "kill_file is empty" in capsys.readouterr().err
