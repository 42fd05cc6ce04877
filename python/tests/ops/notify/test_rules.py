"""Event → notification rules on their own (no store, no network)."""
from __future__ import annotations

from arbbot.ops.notify.rules import EventRules, HaltState


def ev(kind, seq=1, ts_ms=1_000, execution_id=None, **data):
    return {"seq": seq, "ts_ms": ts_ms, "kind": kind, "execution_id": execution_id, "data": data}


def test_a_drift_alert_that_disabled_the_lane_says_so():
    rules = EventRules(HaltState(False))
    n = rules.apply(ev("drift_alert", lane="bucket", expected_micros=8_870_000, realised_micros=-18_530_000,
                       gap_micros=27_400_000, executions=5, disabled=True))
    assert n.title == "Drift on lane bucket"
    assert n.text == ("Realised $-18.530000 vs expected $8.870000 over 5 executions (gap $27.400000). The lane no "
                      "longer trades until a person puts it back (dashboard or arbbot.toml).")
    assert n.data == {"seq": 1, "event": "drift_alert", "lane": "bucket", "expected_micros": 8_870_000,
                      "realised_micros": -18_530_000, "gap_micros": 27_400_000, "executions": 5, "disabled": True}


def test_a_fee_mismatch_says_what_was_charged_and_what_no_longer_trades():
    rules = EventRules(HaltState(False))
    reason = ("kalshi charged $0.52 for order x1-L0E0 on kalshi:E-A where its fee schedule gives $0.18: the fee "
              "terms changed unseen (event E)")
    n = rules.apply(ev("fee_mismatch", markets=["kalshi:E-A", "kalshi:E-B"], reason=reason, market="kalshi:E-A",
                       client_order_id="x1-L0E0", charged_micros=520_000, modelled_micros=180_000, event="E"))
    assert (n.kind, n.severity, n.title) == ("fee_hold", "warning", "Fees above the schedule on kalshi:E-A")
    assert n.text == reason + ". 2 market(s) no longer trade until `arbbot ack`."
    assert (n.data["charged_micros"], n.data["modelled_micros"], n.data["markets"]) == (520_000, 180_000, ["kalshi:E-A", "kalshi:E-B"])


def test_breaker_openings_per_breaker_name():
    rules = EventRules(HaltState(False), breakers={"executions": "open"})
    kinds = [rules.apply(ev("breaker", name=name, state=state, failures=f, opened_at_ms=0))
             for name, state, f in [("executions", "open", 4), ("venue:kalshi", "open", 3),
                                    ("executions", "half_open", 4), ("executions", "open", 5),
                                    ("executions", "closed", 0), ("executions", "closed", 1)]]
    assert [(n.data["name"], n.data["failures"]) for n in kinds if n] == [("venue:kalshi", 3), ("executions", 5)]


def test_other_events_are_ignored():
    rules = EventRules(HaltState(False))
    assert [rules.apply(ev(k)) for k in ("execution_complete", "execution_unwound", "safe_mode_acknowledged",
                                         "loss_booked", "config_changed", "flag")] == [None] * 6


def test_halt_merges_file_and_events():
    h = HaltState(False)
    assert h.file(True, 1, "k").kind == "halt"
    assert h.event(True, 2, {}) is None                  # already halted by the file
    assert h.file(False, 3, "k") is None                 # the dashboard's halt still holds
    n = h.event(False, 4, {"who": "ops"})
    assert (n.kind, n.severity, n.ts_ms, n.data) == ("resume", "info", 4, {"source": "dashboard", "who": "ops"})
