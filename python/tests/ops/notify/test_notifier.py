"""From the order store and the kill file to webhooks: each kind exactly once, with the right
payload per shape; nothing old re-sent at start; the daily loss cap once per risk day; no secret
in any payload or log line."""
from __future__ import annotations

import io
import json

import pytest

from arbbot import logs
from arbbot.execution.store import OrderStore
from arbbot.ops.notify import FORMAT
from tests.risk.trades import Clock, fill, two_leg_opportunity, unwound_losing_3_25, utc_s

T0 = utc_s("2026-03-10 12:00:00")


def naked_losing_4_24(store, xid: str) -> None:
    """Leg 0 bought 1,000 lots YES kalshi:A at 42¢ + $0.04 fee, leg 1 never filled: naked, −$4.24."""
    store.create_execution(xid, two_leg_opportunity(f"opp-{xid}"))
    fill(store, xid, 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy", qty=1_000, price=4_200,
         fee=40_000)
    store.set_execution_state(xid, "naked", "leg 1 rejected; unwind failed")


def plain(receiver, path="/hook") -> list[dict]:
    bodies = [r.body for r in receiver.on(path)]
    assert all(b["format"] == FORMAT for b in bodies)
    return bodies


def test_each_kind_is_sent_exactly_once_as_plain_json(notify, receiver, store, kill_file):
    clock = Clock(T0)
    store._clock_ms = clock.ms
    n = notify(clock=clock)
    store.enter_safe_mode("leg 1 rejected; unwind failed")
    naked_losing_4_24(store, "x1")
    store.save_breaker_state("executions", "open", 3, 1_773_144_000_000, 30_000)
    store.save_breaker_state("executions", "open", 4, 1_773_144_001_000, 30_000)   # still open: not new
    store.add_event("drift_alert", lane=2, expected_micros=7_000_000, realised_micros=1_000_000,
                    gap_micros=6_000_000, executions=5)
    store.add_event("loss_booked", "x1", state="naked", loss=1, total=1)          # not a notification
    receiver.wait_for("/hook", 4)
    kill_file.write_text("halt\n")
    receiver.wait_for("/hook", 5)
    stats = n.stop(2.0)
    bodies = plain(receiver)
    assert [b["kind"] for b in bodies] == ["safe_mode", "naked", "breaker_open", "drift", "halt"]
    safe, naked, breaker, drift, halt = bodies
    assert safe["severity"] == "critical" and safe["title"] == "Safe mode entered"
    assert safe["ts_ms"] == clock.ms() and safe["data"]["reason"] == "leg 1 rejected; unwind failed"
    assert "leg 1 rejected; unwind failed" in safe["text"] and "arbbot ack" in safe["text"]
    assert naked["title"] == "Execution x1 left naked" and naked["data"]["execution_id"] == "x1"
    assert naked["data"]["legs"] == [{"market": "kalshi:A", "side": "yes", "qty": 1_000, "worst_price": 4_200},
                                     {"market": "polymarket:B", "side": "no", "qty": 1_000, "worst_price": 5_000}]
    assert "kalshi:A yes, polymarket:B no" in naked["text"]
    assert breaker["data"] | {"seq": 0} == {"seq": 0, "event": "breaker", "name": "executions", "failures": 3,
                                            "opened_at_ms": 1_773_144_000_000}
    assert breaker["title"] == "Circuit breaker 'executions' opened" and breaker["severity"] == "warning"
    assert drift["title"] == "Drift on lane 2"
    assert drift["text"] == "Realised $1.000000 vs expected $7.000000 over 5 executions (gap $6.000000)."
    assert drift["data"]["gap_micros"] == 6_000_000 and drift["data"]["lane"] == 2
    assert halt["title"] == "Trading halted" and halt["data"]["kill_file"] == str(kill_file)
    assert (stats["notifications"], stats["sent"], stats["failed"], stats["dropped"]) == (5, 5, 0, 0)


def test_a_breaker_that_opens_again_after_half_open_is_sent_again(notify, receiver, store):
    store.save_breaker_state("executions", "open", 3, 1_000, 30_000)       # open before the start: known
    n = notify()
    store.save_breaker_state("executions", "open", 4, 2_000, 30_000)       # same opening
    store.save_breaker_state("executions", "half_open", 4, 2_000, 30_000)
    store.save_breaker_state("executions", "open", 5, 40_000, 30_000)      # the trial failed: a new opening
    store.save_breaker_state("executions", "closed", 0, 40_000, 30_000)
    n.stop(2.0)
    assert [(b["kind"], b["data"]["failures"]) for b in plain(receiver)] == [("breaker_open", 5)]


def test_slack_and_discord_shapes(notify, receiver, store):
    n = notify(("/slack",), prefix="slack+")
    n2 = notify(("/discord",), prefix="discord+")
    store.add_event("drift_alert", lane=1, expected_micros=3_000_000, realised_micros=-500_000,
                    gap_micros=3_500_000, executions=8)
    n.stop(2.0), n2.stop(2.0)
    text = "Realised $-0.500000 vs expected $3.000000 over 8 executions (gap $3.500000)."
    assert [r.body for r in receiver.on("/slack")] == [{"text": f"*Drift on lane 1*\n{text}"}]
    assert [r.body for r in receiver.on("/discord")] == [{"content": f"**Drift on lane 1**\n{text}",
                                                          "allowed_mentions": {"parse": []}}]
    assert receiver.on("/slack")[0].headers["content-type"] == "application/json"


def test_old_events_are_not_sent_at_start(notify, receiver, store):
    store.enter_safe_mode("before the start")
    store.add_event("drift_alert", lane=1, expected_micros=1, realised_micros=0, gap_micros=1, executions=5)
    n = notify()
    store.enter_safe_mode("after the start")
    n.stop(2.0)
    assert [(b["kind"], b["data"]["reason"]) for b in plain(receiver)] == [("safe_mode", "after the start")]


def test_a_store_created_after_the_start_is_read_from_its_first_event(notify, receiver, store_path):
    n = notify()                                  # no file yet: nothing is created by the notifier
    import os
    assert not os.path.exists(store_path)
    s = OrderStore(store_path)
    try:
        s.enter_safe_mode("recovery found leg 0 filled")
        receiver.wait_for("/hook", 1)
    finally:
        n.stop(2.0)
        s.close()
    assert [b["data"]["reason"] for b in plain(receiver)] == ["recovery found leg 0 filled"]


def test_halt_by_file_and_by_dashboard_event_is_one_notification_each_way(notify, receiver, store, kill_file):
    n = notify()
    store.add_event("halted", who="dashboard")
    receiver.wait_for("/hook", 1)
    kill_file.write_text("halt\n")                # the dashboard also writes the file: same halt
    kill_file.unlink()
    store.add_event("resumed", who="dashboard")
    receiver.wait_for("/hook", 2)
    kill_file.write_text("maintenance window\n")  # `arbbot halt --reason ...` again, file only
    receiver.wait_for("/hook", 3)
    n.stop(2.0)
    bodies = plain(receiver)
    assert [(b["kind"], b["severity"]) for b in bodies] == [("halt", "warning"), ("resume", "info"),
                                                            ("halt", "warning")]
    assert bodies[0]["data"]["who"] == "dashboard" and bodies[2]["data"]["kill_file"] == str(kill_file)
    assert bodies[2]["data"]["reason"] == "maintenance window"
    assert bodies[2]["text"] == ("arbbot stopped opening new trades (kill file: maintenance window); `arbbot resume` "
                                 "or the dashboard resumes it.")


def test_a_kill_file_present_at_start_is_not_sent_its_removal_is(notify, receiver, store, kill_file):
    kill_file.write_text("halt\n")
    n = notify()
    kill_file.unlink()
    receiver.wait_for("/hook", 1)
    n.stop(2.0)
    assert [b["kind"] for b in plain(receiver)] == ["resume"]


def test_the_daily_loss_cap_is_sent_once_per_risk_day(notify, receiver, store):
    clock = Clock(T0)
    store._clock_ms = clock.ms
    n = notify(clock=clock, cap_usd=5.0)
    naked_losing_4_24(store, "a")                 # $4.24 < $5
    receiver.wait_for("/hook", 2)                 # (the naked notification, and safe mode its state entered)
    unwound_losing_3_25(store, "b")               # $7.49 ≥ $5: reached
    receiver.wait_for("/hook", 3)
    unwound_losing_3_25(store, "c")               # $10.74: same day, not again
    clock.t += 86_400                             # the next risk day
    naked_losing_4_24(store, "d")                 # $4.24 < $5 (safe mode still on: only the naked one)
    receiver.wait_for("/hook", 4)
    unwound_losing_3_25(store, "e")               # $7.49: reached again, new day
    receiver.wait_for("/hook", 5)
    n.stop(2.0)
    caps = [b for b in plain(receiver) if b["kind"] == "daily_loss_cap"]
    day = int(utc_s("2026-03-10 00:00:00") * 1000)
    assert [(c["data"]["loss_micros"], c["data"]["cap_micros"], c["data"]["day_start_ms"]) for c in caps] == [
        (7_490_000, 5_000_000, day), (7_490_000, 5_000_000, day + 86_400_000)]
    assert caps[0]["text"] == ("Realised loss $7.490000 reached the cap of $5.000000: no new trades until the next "
                               "risk day.")
    assert caps[0]["severity"] == "critical" and caps[0]["ts_ms"] == int(T0 * 1000)
    assert [b["kind"] for b in plain(receiver)].count("naked") == 2


def test_a_cap_already_reached_at_start_is_not_sent_again(notify, receiver, store):
    clock = Clock(T0)
    store._clock_ms = clock.ms
    naked_losing_4_24(store, "a")
    naked_losing_4_24(store, "b")
    n = notify(clock=clock, cap_usd=5.0)
    unwound_losing_3_25(store, "c")
    n.stop(2.0)
    assert plain(receiver) == []


@pytest.fixture
def captured_logs():
    stream = io.StringIO()
    logs.configure(json=True, stream=stream)
    yield stream
    logs.configure(json=False)


def test_no_secret_in_payloads_or_logs(notify, receiver, store, captured_logs):
    secret = "sk-live-0123456789abcdef"
    logs.register_secret(secret)
    other_hook = receiver.url("/other/TOKEN-abcdefgh-1234")
    n = notify(urls=[receiver.url("/hook"), f"slack+{receiver.url('/slack')}", other_hook])
    store.enter_safe_mode(f"venue said: bad key {secret}; retry at {other_hook}")
    store.add_event("drift_alert", lane=1, expected_micros=1, realised_micros=0, gap_micros=1, executions=5,
                    note=f"token={secret}")
    stats = n.stop(2.0)
    assert stats["sent"] == 6
    raws = [r.raw.decode() for r in receiver.requests]
    assert len(raws) == 6
    for raw in raws:
        assert secret not in raw and "TOKEN-abcdefgh" not in raw and str(receiver.port) not in raw
    safe = plain(receiver)[0]
    assert safe["data"]["reason"] == "venue said: bad key ********; retry at ********"
    assert plain(receiver)[1]["data"]["note"] == "token=********"
    lines = captured_logs.getvalue().splitlines()
    events = [json.loads(line)["event"] for line in lines]
    assert events.count("notify.sent") == 6 and "notify.start" in events
    assert not any(secret in line or "TOKEN-abcdefgh" in line or "/hook" in line or "/slack" in line
                   for line in lines)
    assert any('"webhook": "webhook#1(slack)"' in line for line in lines)


def test_a_webhook_that_is_not_http_is_refused_at_load_without_showing_it(receiver):
    from arbbot.config import ConfigError, load_settings
    with pytest.raises(ConfigError) as refused:
        load_settings(notify_webhooks=[receiver.url("/hook"), "mailto:ops-secret-address@example.com"])
    assert "notify_webhooks[1] is not an http(s) URL" in str(refused.value)
    assert "ops-secret-address" not in str(refused.value)
