"""Record raw venue frames and REST responses to JSONL with receive timestamps; replay them
through the same adapter entry points (`KalshiDataClient.on_frame`)."""
from arbbot.recording.jsonl import JsonlRecorder, read_records, replay_kalshi_ws  # noqa: F401
