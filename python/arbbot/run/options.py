"""The `LiveSession` settings a configuration decides, shared by `arbbot run` and a replay (which
must trade under the same ones: `arbbot.replay.run`)."""
from __future__ import annotations

from arbbot.config import Settings, cap_lots, usd


def session_options(settings: Settings) -> dict:
    """`LiveSession` keyword arguments from `settings`: staleness and re-snapshots (s), the
    cooldown (s), the per-trade cap (whole lots, rounded down: never above the configured cap),
    the minimum profit (µ$) and the auto-approval confidence (ppm). The options about reading the
    venues (`snapshot_start`, tiers, polling, listings refreshes) are the caller's."""
    return {"stale_after_s": settings.stale_after_s, "resnapshot_after_s": settings.resnapshot_after_s,
            "bootstrap_wait_s": settings.bootstrap_wait_s, "cooldown_s": settings.cooldown_s,
            "max_qty": cap_lots(settings.max_contracts),
            "min_profit": usd(settings.min_profit),
            "auto_approve": int(round(settings.auto_approve_confidence * 1_000_000))}
