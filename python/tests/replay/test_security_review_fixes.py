"""`--record` files, from an operational security review: created owner-only (0600, whatever the
umask: they hold the account's REST answers), with every `owner` (Polymarket names the owning
API key in trades and orders) masked as key ids are shown, and REST answers scrubbed of the
registered secrets; a recording so written still replays."""
from __future__ import annotations

import gzip
import json
import os
import re
import secrets

import pytest

from arbbot import logs
from arbbot.model import Book, MarketId, Venue
from arbbot.replay.command import run_replays
from arbbot.replay.format import raw_records, read_recording
from arbbot.replay.recorder import SessionRecorder

BOOK = Book(((4_000, 100),), ((4_100, 100),), market=MarketId(Venue.KALSHI, "M1"))
API_KEY = "a2d1b36d-f072-4d66-948f-6eac5769bda9"
# a Polymarket /data/trades answer as the simulator (and Polymarket) sends it: our taker trade, the
# maker's order under the other account's key
TRADES = json.dumps({"data": [{
    "id": "t1", "taker_order_id": "0x39ab", "asset_id": "6989", "side": "BUY", "size": "29", "price": "0.5",
    "status": "CONFIRMED", "owner": API_KEY, "maker_address": "0xabc", "trader_side": "TAKER",
    "maker_orders": [{"order_id": "o-676", "owner": "5f0e2c1a-0000-4000-8000-00000000beef", "matched_amount": "29"},
                     {"order_id": "o-677", "owner": "house", "matched_amount": "1"}]}],
    "next_cursor": "LTE=", "limit": 100, "count": 1}, separators=(", ", ": "))
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _text(path) -> str:
    opened = gzip.open(path, "rt", encoding="utf-8") if str(path).endswith(".gz") else open(path, encoding="utf-8")
    with opened as fh:
        return fh.read()


@pytest.mark.parametrize("name", ["r.jsonl", "r.jsonl.gz"])
def test_a_recording_is_created_owner_only_whatever_the_umask(tmp_path, name):
    path = tmp_path / name
    old = os.umask(0o022)
    try:
        rec = SessionRecorder(path, "test")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o600          # before anything is written
    rec.start()
    rec.book("kalshi", BOOK)
    rec.close()
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_recording(path).books == 1               # and it reads (a .gz stream ended properly)
    with pytest.raises(ValueError, match="the file exists"):
        SessionRecorder(path, "test")                    # still never overwritten


@pytest.mark.parametrize("name", ["o.jsonl", "o.jsonl.gz"])
def test_owner_api_keys_are_masked_as_key_ids_are_shown(tmp_path, name):
    path = tmp_path / name
    rec = SessionRecorder(path, "test")
    rec.start()
    rec.raw({"kind": "rest", "venue": "polymarket", "method": "GET", "path": "/data/trades", "status": 200,
             "body": TRADES})
    rec.raw({"kind": "ws", "venue": "polymarket", "frame": json.dumps({"event_type": "trade", "owner": API_KEY})})
    rec.raw({"kind": "rest", "venue": "kalshi", "method": "GET", "path": "/portfolio/balance", "status": 200,
             "body": '{"balance": 1000000}'})
    rec.close()
    text = _text(path)
    assert API_KEY not in text and "5f0e2c1a-0000" not in text and not UUID.search(text)
    rest, ws, other = list(raw_records(path))
    trade = json.loads(rest["body"])["data"][0]
    assert trade["owner"] == "a2d1********"              # config.mask_key_id: ours still told apart
    assert [m["owner"] for m in trade["maker_orders"]] == ["5f0e********", "********"]
    assert (trade["size"], trade["price"], trade["maker_orders"][0]["matched_amount"]) == ("29", "0.5", "29")
    assert {k: v for k, v in rest.items() if k not in ("body", "recv_ts_ms")} == {
        "kind": "rest", "venue": "polymarket", "method": "GET", "path": "/data/trades", "status": 200}
    assert json.loads(ws["frame"]) == {"event_type": "trade", "owner": "a2d1********"}
    assert other["body"] == '{"balance": 1000000}'        # a body without credentials: as it came


def test_registered_secrets_are_scrubbed_from_rest_answers(tmp_path):
    secret = "sk-" + secrets.token_hex(16)                # registered as `arbbot run` registers its credentials
    logs.register_secret(secret)
    path = tmp_path / "s.jsonl"
    rec = SessionRecorder(path, "test")
    rec.start()
    rec.raw({"kind": "rest", "venue": "polymarket", "method": "GET", "path": "/auth/api-keys", "status": 200,
             "body": json.dumps({"apiKeys": [secret]})})
    rec.close()
    text = _text(path)
    assert secret not in text
    assert json.loads(next(raw_records(path))["body"]) == {"apiKeys": [logs.REDACTED]}


def test_a_recorded_run_is_private_masks_the_owner_and_still_replays(recorded):
    """The replay tests' recording (`arbbot run --record rec.jsonl.gz` against the simulator, which
    trades on Polymarket: /data/trades answers carry our API key as `owner`)."""
    path, summary = recorded
    assert path.stat().st_mode & 0o777 == 0o600
    owners = [m for rec in raw_records(path) if rec["kind"] == "rest"
              for m in re.findall(r'"owner"\s*:\s*"([^"]*)"', rec["body"])]
    if not owners:
        pytest.skip("the recorded run made no Polymarket trade")
    assert all(re.fullmatch(r"(.{4})?\*{8}", owner) for owner in owners), owners
    assert any(owner != "********" for owner in owners)  # ours: its first 4 characters
    result = run_replays(str(path), [None])["results"][0]
    assert result["books"] + result["coalesced"] == summary["recording"]["books"]
