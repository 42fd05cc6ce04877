"""Fills a venue may still revert, watched once their execution has ended.

Polymarket lists a trade as soon as its CLOB matches it and settles it on chain afterwards:
MATCHED, MINED, then CONFIRMED; or RETRYING, then FAILED: the match reverted, no tokens and no cash
moved (docs.polymarket.com/developers/CLOB/trades/trades-overview; `venues.polymarket.trades`).
The executor records such a fill (`Fill.final` False) and hedges it with the next leg at once, as
it must (the chain takes seconds to minutes: any edge would be gone). So once the execution ends,
its fills on venues that can say where a fill stands (`VenueClient.fill_settlement`) are looked up
in the background until every one is final, for `ExecutorConfig.settlement_watch_s` at most; one
the venue reports FAILED is voided and the execution brought back to hedged
(`Executor.revert_fills`). After a restart the executions that ended within that time are watched
again (`since_restart`): which of their fills were final was not kept, the venue says.

Invariant: a watch never writes while an execution runs (`revert_fills` takes the executor's
trading lock), and one execution has at most one watch.
"""
from __future__ import annotations

import asyncio
import time

from arbbot import logs
from arbbot.execution.store import EXEC_OPEN
from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.errors import VenueError
from arbbot.venues.common.model import Settlement

log = logs.get("execution")


class SettlementWatch:
    """The background watches of one `Executor` (its store, routes, config and `revert_fills`)."""

    def __init__(self, executor) -> None:
        self.executor = executor
        self._noted: set[str] = set()               # executions that recorded a fill not final yet
        self._tasks: dict[str, asyncio.Task] = {}   # execution → its watch

    def note(self, xid: str, client, fills) -> None:
        """Execution `xid` recorded `fills` through `client`: watch it once it has ended (`start`)
        if one of them is not final and the venue can say when it is."""
        if hasattr(client, "fill_settlement") and any(not f.final for f in fills):
            self._noted.add(xid)

    def start(self) -> None:
        """Start watching each noted execution that has ended (one still executing stays noted)."""
        for xid in list(self._noted):
            if self.executor.store.execution(xid).state not in EXEC_OPEN:
                self._noted.discard(xid)
                self.watch(xid)

    def watch(self, xid: str, watch_s: float | None = None) -> None:
        """Watch execution `xid`'s fills for `watch_s` (default `settlement_watch_s`); nothing if it
        is watched already."""
        if xid in self._tasks:
            return
        cfg = self.executor.config
        task = asyncio.create_task(self._watch(xid, cfg.settlement_watch_s if watch_s is None else watch_s),
                                   name=f"settlement-{xid}")
        self._tasks[xid] = task
        task.add_done_callback(lambda _t: self._tasks.pop(xid, None))

    def since_restart(self) -> int:
        """After a restart (recovery done): watch the executions that ended within the last
        `settlement_watch_s` with fills on a venue that can say where its fills stand, each for
        what is left of that time since it ended. Returns how many watches started."""
        cfg = self.executor.config
        now_ms = int(self.executor.clock() * 1000)
        since_ms = now_ms - int(cfg.settlement_watch_s * 1000)
        ended = self.executor.store.ended_with_fills(list(self._clients()), since_ms)
        for xid, ended_ms in ended:
            self.watch(xid, watch_s=ended_ms / 1000 + cfg.settlement_watch_s - now_ms / 1000)
        return len(ended)

    def _clients(self) -> dict:
        """Venue name → its client, for the routed venues that can say where a fill stands."""
        return {r.client.venue: r.client for r in self.executor.routes.values() if hasattr(r.client, "fill_settlement")}

    def _pending(self, xid: str, clients: dict, final: set[tuple[str, str]]) -> dict[str, list[str]]:
        """Venue → ids of execution `xid`'s recorded fills there not known to be final."""
        store, out = self.executor.store, {}
        for it in store.intents(xid):
            if it.venue in clients:
                for f in store.fills(it.client_order_id):
                    if (f.venue, f.fill_id) not in final:
                        out.setdefault(f.venue, []).append(f.fill_id)
        return out

    async def _watch(self, xid: str, watch_s: float) -> None:
        """Ask the venues where execution `xid`'s fills stand, with backoff, until every one is final
        or `watch_s` has passed (again `settlement_watch_s` after each re-hedge: its unwinds' fills
        are watched too). FAILED fills: `revert_fills`; should that fail, safe mode (an operator
        must look). Failed lookups are retried like the rest."""
        ex, cfg = self.executor, self.executor.config
        clients = self._clients()
        backoff = Backoff(base=cfg.settlement_poll_s, cap=cfg.settlement_poll_cap_s)
        deadline = time.monotonic() + watch_s
        final: set[tuple[str, str]] = set()         # (venue, fill id) the venue says are final
        while time.monotonic() < deadline:
            await asyncio.sleep(backoff.next_delay())
            pending = self._pending(xid, clients, final)
            if not pending:
                return
            for venue, ids in pending.items():
                try:
                    states = await asyncio.wait_for(clients[venue].fill_settlement(ids), cfg.order_timeout_s)
                except (VenueError, asyncio.TimeoutError) as exc:
                    log.warning("fills.settlement_unread", execution=xid, venue=venue,
                                reason=f"{type(exc).__name__}: {exc}")
                    continue
                final.update((venue, fid) for fid, state in states.items() if state is Settlement.FINAL)
                failed = [fid for fid, state in states.items() if state is Settlement.FAILED]
                if not failed:
                    continue
                why = f"{venue} reverted fills {failed} after listing them (settlement failed): voided"
                try:
                    await ex.revert_fills(xid, venue, failed, why)
                except Exception as exc:       # noqa: BLE001 — whatever failed, an operator must look
                    reason = f"{type(exc).__name__}: {exc}"
                    log.error("fills.revert_failed", execution=xid, venue=venue, fills=failed, error=reason)
                    ex.store.enter_safe_mode(f"execution {xid}: {why}, and it could not be re-hedged ({reason})")
                    return
                deadline = time.monotonic() + cfg.settlement_watch_s
                backoff.reset()
        log.warning("fills.unsettled", execution=xid, fills=self._pending(xid, clients, final), watched_s=watch_s)
