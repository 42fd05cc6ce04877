"""The `LiveSession` settings a configuration decides, shared by `arbbot run` and a replay (which
must trade under the same ones: `arbbot.replay.run`)."""
from __future__ import annotations

from arbbot.config import Settings, usd
from arbbot.units import LOTS_PER_CONTRACT


def session_options(settings: Settings) -> dict:
    """`LiveSession` keyword arguments from `settings`: staleness and re-snapshots (s), the
    cooldown (s), the per-trade cap (lots), the minimum profit (µ$) and the auto-approval
    confidence (ppm). The options about reading the venues (`snapshot_start`, tiers, polling,
    listings refreshes) are the caller's."""
    return {"stale_after_s": settings.stale_after_s, "resnapshot_after_s": settings.resnapshot_after_s,
            "bootstrap_wait_s": settings.bootstrap_wait_s, "cooldown_s": settings.cooldown_s,
            "max_qty": int(round(settings.max_contracts * LOTS_PER_CONTRACT)),
            "min_profit": usd(settings.min_profit),
            "auto_approve": int(round(settings.auto_approve_confidence * 1_000_000))}
