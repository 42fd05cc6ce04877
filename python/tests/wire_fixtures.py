"""Venue wire messages the tests replay, kept as files (`data/ws_messages/<venue>/`): single
messages as `NAME.json`, frame sequences as `NAME.jsonl` (one raw frame per line, as sent)."""
from __future__ import annotations

import json
from pathlib import Path

WS_MESSAGES = Path(__file__).parent / "data" / "ws_messages"


def ws_message(venue: str, name: str) -> dict:
    """One decoded message (`data/ws_messages/<venue>/<name>.json`)."""
    return json.loads((WS_MESSAGES / venue / f"{name}.json").read_text(encoding="utf-8"))


def ws_frames(venue: str, name: str) -> list[str]:
    """A sequence of raw frames (`data/ws_messages/<venue>/<name>.jsonl`), in order."""
    text = (WS_MESSAGES / venue / f"{name}.jsonl").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]
