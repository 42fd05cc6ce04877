"""URL → payload shape, the three payloads, backoff delays and Retry-After (no network)."""
from __future__ import annotations

import email.utils

import pytest

from arbbot.ops.notify import FORMAT, Backoff, Notification, detect_shape, parse_target, payload
from arbbot.ops.notify.delivery import retry_after_s

N = Notification("drift", "warning", 1_773_144_000_000, "Drift on lane 2", "Realised $1.00 vs expected $7.00.",
                 {"lane": 2, "gap_micros": 6_000_000})


@pytest.mark.parametrize("url, shape", [
    ("https://hooks.slack.com/services/T000/B000/XXXXXXXX", "slack"),
    ("https://discord.com/api/webhooks/123/abcDEF", "discord"),
    ("https://discordapp.com/api/webhooks/123/abcDEF", "discord"),
    ("https://discord.com/channels/123/456", "json"),          # not a webhook path
    ("https://alerts.example.com/arbbot", "json"),
    ("http://127.0.0.1:9000/hook", "json"),
])
def test_the_shape_follows_the_url(url, shape):
    assert detect_shape(url) == shape
    assert parse_target(0, url).shape == shape
    assert parse_target(0, url).url == url


@pytest.mark.parametrize("prefix", ["slack", "discord", "json"])
def test_a_prefix_forces_the_shape_and_is_not_sent(prefix):
    t = parse_target(3, f"{prefix}+http://127.0.0.1:9000/x?k=1")
    assert (t.shape, t.url, t.label) == (prefix, "http://127.0.0.1:9000/x?k=1", f"webhook#3({prefix})")
    assert parse_target(0, "json+https://hooks.slack.com/services/T/B/X").shape == "json"


def test_the_url_is_a_secret_it_never_shows_in_errors_or_reprs():
    with pytest.raises(ValueError) as err:
        parse_target(1, "ftp://user:hunter2hunter2@host/x")
    assert "hunter2" not in str(err.value) and "notify_webhooks[1]" in str(err.value)
    t = parse_target(0, "https://hooks.slack.com/services/T000/B000/SECRETSECRET")
    assert "SECRET" not in repr(t) and "SECRET" not in t.label


def test_payload_shapes():
    slack = payload(parse_target(0, "https://hooks.slack.com/services/T/B/X"), N)
    assert slack == {"text": "*Drift on lane 2*\nRealised $1.00 vs expected $7.00."}
    discord = payload(parse_target(0, "https://discord.com/api/webhooks/1/x"), N)
    assert discord == {"content": "**Drift on lane 2**\nRealised $1.00 vs expected $7.00.",
                       "allowed_mentions": {"parse": []}}
    plain = payload(parse_target(0, "https://example.com/h"), N)
    assert plain == {"format": FORMAT, "kind": "drift", "severity": "warning", "ts_ms": 1_773_144_000_000,
                     "title": "Drift on lane 2", "text": "Realised $1.00 vs expected $7.00.",
                     "data": {"lane": 2, "gap_micros": 6_000_000}}


def test_discord_content_is_clipped_to_2000_characters():
    long = Notification("safe_mode", "critical", 0, "t", "x" * 5000)
    body = payload(parse_target(0, "discord+http://127.0.0.1:1/x"), long)
    assert len(body["content"]) == 2000 and body["content"].endswith("…")


def test_backoff_doubles_up_to_the_cap_with_bounded_jitter():
    b = Backoff(base_s=1.0, max_s=10.0, jitter=0.2)
    assert [b.delay(n, rand=lambda: 0.5) for n in (1, 2, 3, 4, 5, 6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert b.delay(1, rand=lambda: 0.0) == pytest.approx(0.8)      # −20 %
    assert b.delay(2, rand=lambda: 1.0) == pytest.approx(2.4)      # +20 %
    assert b.delay(1, retry_after_s=7.0, rand=lambda: 0.5) == 7.0  # the server's wish wins when longer
    assert b.delay(1, retry_after_s=900.0, rand=lambda: 0.5) == 300.0   # ... up to retry_after_max_s


def test_retry_after_seconds_or_http_date():
    assert retry_after_s("3") == 3.0
    assert retry_after_s(" 0 ") == 0.0
    assert retry_after_s(None) is None and retry_after_s("soon") is None
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert retry_after_s(date, now_s=1_000_000) == pytest.approx(30.0)
    assert retry_after_s(date, now_s=2_000_000) == 0.0
