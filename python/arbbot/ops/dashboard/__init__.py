"""The web dashboard served by `arbbot run` (and, on request, `arbbot live`): live opportunities,
executions with their sizing records, positions and cash, PnL over time, book health and
latencies, risk state, the effective config — with halt / resume / acknowledge and live-tunable
settings.

Layout: `process.py` (the bot's side: samples out, controls in, on the bot's loop), `child.py`
(the dashboard's own process), `server.py` (HTTP + Server-Sent Events, aiohttp), `auth.py`
(token, cookie, CSRF), `sampler.py` (copies taken on the bot's loop), `history.py` (the store,
read-only), `state.py` (the `arbbot.state/1` document), `arbbot.ops.control` (the controls),
`static/` (the page: plain HTML, CSS and JS, no external URL).
"""
from __future__ import annotations

from urllib.parse import quote

from arbbot import logs
from arbbot.ops.dashboard.auth import new_token
from arbbot.ops.dashboard.process import DashboardProcess, start_process

__all__ = ["DashboardProcess", "serve_dashboard"]


async def serve_dashboard(settings, session, trader=None, *, port: int | None = None, db_path: str | None = None,
                          spawn=None, interval_s: float = 1.0, scan: bool = True) -> DashboardProcess:
    """Start the dashboard for a running `session` (and `trader`; None = detection only, controls
    refused) on the bot's loop. Its sampling runs as `spawn(coroutine, name)` (e.g.
    `session.spawn`, so it stops with the session's tasks). The token is
    `settings.dashboard_token`, else a new one; it is registered with the log redaction.
    `port`: None = `settings.dashboard_port`. Only the built-in default (not set by the operator
    in arbbot.toml, ARB_DASHBOARD_PORT or `port`) falls back to a free port when taken; a chosen
    port that is taken is a ValueError (`server.bind`).
    Returns the `DashboardProcess` (`.port`, `.login_url`, `.stop()`)."""
    token = settings.dashboard_token.get_secret_value() or new_token()
    logs.register_secret(token, quote(token, safe=""))     # as is, and as the login URL carries it
    chosen = port is not None or "dashboard_port" in getattr(settings, "model_fields_set", ())
    dashboard = await start_process(settings, session, trader, token=token,
                                    port=settings.dashboard_port if port is None else port, db_path=db_path,
                                    interval_s=interval_s, scan=scan, fallback=not chosen)
    if spawn is not None:
        spawn(dashboard.run(), "dashboard")
    return dashboard
