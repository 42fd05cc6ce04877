"""JSONL recording: one object per line, `{"recv_ts_ms", "kind", ...}`; REST records hold the raw
response text, WS records the raw frame text (never request headers, so no credentials)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator


class JsonlRecorder:
    """Callable recorder for the adapters' `recorder=` hooks. Appends and flushes each record."""

    def __init__(self, path: str | Path, clock=time.time) -> None:
        self.path = Path(path)
        self._fh = self.path.open("a", encoding="utf-8")
        self._clock = clock
        self.count = 0

    def __call__(self, record: dict) -> None:
        rec = {"recv_ts_ms": int(self._clock() * 1000), **record}
        self._fh.write(json.dumps(rec, separators=(",", ":"), ensure_ascii=False) + "\n")
        self._fh.flush()
        self.count += 1

    def close(self) -> None:
        self._fh.close()


def read_records(path: str | Path) -> Iterator[dict]:
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


async def replay_kalshi_ws(path: str | Path, data_client) -> int:
    """Feed every recorded Kalshi WS frame to `data_client.on_frame` (the live code path).
    Returns the number of frames replayed."""
    n = 0
    for rec in read_records(path):
        if rec.get("kind") == "ws" and rec.get("venue") == "kalshi":
            await data_client.on_frame(rec["frame"], rec["recv_ts_ms"])
            n += 1
    return n
