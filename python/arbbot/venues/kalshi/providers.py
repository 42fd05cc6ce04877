"""Kalshi instrument discovery: events → markets, with each series' fee schedule (fees.py).

A market whose fees cannot be priced (a `flat` or unknown fee type, a series that cannot be
read) is not traded: it is left out of `markets`, with its reason in `untradeable` and one
warning per discovery. Fees change under a running session three ways, and each is applied to
what every later discovery builds while the markets the session may already price with lower
fees are held (`fee_holds`, their books published untradeable) while the change makes them
dearer (`fee_overrides.EventFees`):
- a per-event override: heard on the WebSocket (`event_fee_update`); as the venue shows it when a
  discovery reads it (the `Event`'s `fee_type_override` / `fee_multiplier_override`, or, where the
  venue's events do not carry them, the latest change `GET /events/fee_changes` lists in force), so
  a session started after an override was announced prices with it; or scheduled in
  `GET /events/fee_changes`, in force from its `scheduled_ts`;
- new series terms: every discovery reads `GET /series` again (a listings refresh, every
  `listings_refresh_s`);
- a change scheduled in `GET /series/fee_changes` (read with every discovery): in force from its
  `scheduled_ts` (`fee_change_due`, which the venue's fee clock calls when one comes due), until
  a discovery after that time reads the series' terms as the venue shows them.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from decimal import Decimal

from arbbot import logs
from arbbot.model import utc_ms, utc_second
from arbbot.venues.common.errors import NotFound, ProtocolError, VenueError
from arbbot.venues.common.model import TAPERED, UNIFORM, EventInfo, MarketInfo, Venue
from arbbot.venues.kalshi.fee_overrides import EventFees
from arbbot.venues.kalshi.fees import UnmodelledFees
from arbbot.venues.kalshi.http.client import KalshiHttpClient
from arbbot.venues.kalshi.schemas.rest import KalshiSeries, parse_market, parse_multiplier, parse_series
from arbbot.venues.kalshi.schemas.ws import EventFeeUpdate, PriceLevelStructureUpdate, event_override

log = logs.get("kalshi")

_TICK = {"linear_cent": 100, "tapered_deci_cent": 10, "deci_cent": 10}
COARSEST_TICK = 100         # a structure not known: $0.01, a multiple of every known grid's step
EVENT_FEE_PAGE = 1000       # `GET /events/fee_changes` page size (the venue's largest `limit`)
EVENT_FEE_PAGES_MAX = 100   # pages read per discovery at most (a cursor that never ends)


def price_grid(structure: str) -> tuple[int, str]:
    """(tick in ticks, UNIFORM | TAPERED) of a `price_level_structure`; one not known is read as
    the coarsest grid, on which every price is also on any finer one (never an off-grid order)."""
    return _TICK.get(structure, COARSEST_TICK), TAPERED if structure == TAPERED else UNIFORM


class KalshiInstrumentProvider:
    def __init__(self, http: KalshiHttpClient, *, clock_ms=None) -> None:
        self.http = http
        self.clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.series: dict[str, KalshiSeries] = {}      # as the venue showed them, read at `series_read_ms`
        self.series_read_ms = 0
        # series ticker → its changes scheduled after `series_read_ms`: (scheduled ms, fee_type, multiplier), in time order
        self.scheduled: dict[str, list[tuple[int, str, Decimal]]] = {}
        # event ticker → its override changes scheduled after the last read of them: (scheduled ms, override), in time order
        self.event_scheduled: dict[str, list[tuple[int, EventFeeUpdate]]] = {}
        self.events: dict[str, EventInfo] = {}
        self.markets: dict[str, MarketInfo] = {}
        self.bodies: list[dict] = []      # the `GET /events` pages of the last load, as the venue sent them
        self.untradeable: dict[str, str] = {}          # ticker → why it is not traded (its fees)
        self.event_fees = EventFees()                  # per-event overrides and the holds they cause
        self.fee_holds = self.event_fees.holds         # ticker → why its books are held (fees changed)

    async def _series(self, ticker: str) -> KalshiSeries:
        """The series (read once); ProtocolError if the venue has no readable series `ticker`
        (other venue errors, e.g. transport or rate limits, propagate: the venue is unreadable)."""
        if ticker not in self.series:
            try:
                body = await self.http.get(f"/series/{ticker}")
            except NotFound:
                raise ProtocolError(f"kalshi series {ticker}: not found", venue="kalshi") from None
            self.series[ticker] = parse_series(body.get("series") if isinstance(body, dict) else body)
        return self.series[ticker]

    def apply_fee_update(self, update: EventFeeUpdate) -> list[str]:
        """An `event_fee_update`: later discoveries price the event with it; the event's markets
        handed out cheaper are held (`fee_holds`). Returns the tickers whose hold changed."""
        changed = self.event_fees.apply(update, self.clock_ms())
        log.warning("kalshi.event_fee_update", event_ticker=update.event_ticker, fee_type=update.fee_type,
                    multiplier=None if update.multiplier is None else str(update.multiplier),
                    error=update.error or None, changed=len(changed), held=len(self.fee_holds))
        return changed

    def terms(self, ticker: str, now_ms: int | None = None) -> KalshiSeries | None:
        """Series `ticker`'s fee terms in force at `now_ms` (default now): as read, or the latest
        change scheduled since that read which has come due."""
        series = self.series.get(ticker)
        if series is None:
            return None
        now_ms = self.clock_ms() if now_ms is None else now_ms
        due = [c for c in self.scheduled.get(ticker, ()) if c[0] <= now_ms]
        return replace(series, fee_type=due[-1][1], fee_multiplier=due[-1][2]) if due else series

    def next_fee_change_ms(self) -> int | None:
        """When the next scheduled change comes due (unix ms), or None."""
        now_ms = self.clock_ms()
        later = [c[0] for changes in self.scheduled.values() for c in changes if c[0] > now_ms]
        return min(later + [c[0][0] for c in self.event_scheduled.values() if c], default=None)

    def fee_change_due(self) -> list[str]:
        """A scheduled change came due (or series were read again): the markets handed out under
        terms that are now dearer are held, those back at their rate released. The tickers whose
        hold changed."""
        now_ms = self.clock_ms()
        changed = []
        for event, pending in list(self.event_scheduled.items()):
            while pending and pending[0][0] <= now_ms:
                at, update = pending.pop(0)
                if not self.event_fees.heard_since(event, at):     # an override heard after its time is newer
                    log.warning("kalshi.event_fee_change_due", event_ticker=event, fee_type=update.fee_type,
                                multiplier=None if update.multiplier is None else str(update.multiplier))
                    changed += self.event_fees.apply(update, at)
            if not pending:
                del self.event_scheduled[event]
        changed += self.event_fees.series_terms({t: self.terms(t, now_ms) for t in self.series})
        if changed:
            log.warning("kalshi.series_fees_changed", changed=len(changed), held=len(self.fee_holds))
        return changed

    async def _fee_changes(self) -> None:
        """`GET /series/fee_changes` (upcoming only): the changes scheduled after this read of the
        series. A venue that cannot answer it keeps the ones known."""
        try:
            body = await self.http.get("/series/fee_changes")
        except VenueError as exc:
            log.warning("kalshi.fee_changes_unread", error=str(exc))
            return
        scheduled: dict[str, list] = {}
        for raw in body.get("series_fee_change_arr") or [] if isinstance(body, dict) else []:
            try:
                at = utc_ms(raw["scheduled_ts"])
                change = (at, str(raw["fee_type"]), parse_multiplier(raw["fee_multiplier"], "fee change"))
                ticker = str(raw["series_ticker"])
            except (KeyError, TypeError, ValueError, VenueError) as exc:
                log.warning("kalshi.fee_change_unreadable", change=str(raw)[:200], error=str(exc))
                continue
            if at > self.series_read_ms:
                scheduled.setdefault(ticker, []).append(change)
        self.scheduled = {t: sorted(c) for t, c in scheduled.items()}

    async def _event_fee_changes(self, read_ms: int) -> dict[str, EventFeeUpdate]:
        """`GET /events/fee_changes`, every page: the override changes scheduled after `read_ms`
        (when this read began) replace `event_scheduled`; returned, the latest change in force at
        `read_ms` of each event listed. A venue that cannot answer it (or a page) keeps the
        schedule known and returns nothing."""
        changes: dict[str, list[tuple[int, int, EventFeeUpdate]]] = {}   # event → (ms, order listed, override)
        params, cursors, listed = {"limit": str(EVENT_FEE_PAGE)}, set(), 0
        for _ in range(EVENT_FEE_PAGES_MAX):
            try:
                body = await self.http.get("/events/fee_changes", params)
            except VenueError as exc:
                log.warning("kalshi.event_fee_changes_unread", error=str(exc))
                return {}
            page = body.get("event_fee_changes") if isinstance(body, dict) else None
            if not isinstance(page, list):
                log.warning("kalshi.event_fee_changes_unread", error=f"no event_fee_changes list: {str(body)[:200]}")
                return {}
            for raw in page:
                try:
                    at, update = utc_ms(raw["scheduled_ts"]), event_override(raw)
                except (KeyError, TypeError, ValueError, VenueError) as exc:
                    log.warning("kalshi.event_fee_change_unreadable", change=str(raw)[:200], error=str(exc))
                    continue
                changes.setdefault(update.event_ticker, []).append((at, listed, update))
                listed += 1
            cursor = body.get("cursor") or ""
            if not isinstance(cursor, str) or not cursor or cursor in cursors:
                break
            cursors.add(cursor)
            params = {"limit": str(EVENT_FEE_PAGE), "cursor": cursor}
        else:
            log.warning("kalshi.event_fee_changes_truncated", pages=EVENT_FEE_PAGES_MAX)
        in_force, scheduled = {}, {}
        for event, listed_changes in changes.items():
            listed_changes.sort(key=lambda r: r[:2])
            past = [u for at, _i, u in listed_changes if at <= read_ms]
            if past:
                in_force[event] = past[-1]
            if later := [(at, u) for at, _i, u in listed_changes if at > read_ms]:
                scheduled[event] = later
        self.event_scheduled = scheduled
        return in_force

    def apply_price_structure(self, update: PriceLevelStructureUpdate) -> None:
        """`price_level_structure_updated`: the market's orders are priced on its new grid."""
        m = self.markets.get(update.market_ticker)
        if m is None:
            return
        tick, grid = price_grid(update.price_level_structure)
        if (m.tick_ticks, m.price_grid) != (tick, grid):
            log.info("kalshi.price_level_structure", ticker=m.market_id, structure=update.price_level_structure,
                     tick=tick)
            self.markets[m.market_id] = replace(m, tick_ticks=tick, price_grid=grid)

    async def _all_series(self) -> None:
        """Every series in one `GET /series` (one read instead of one per series: at Kalshi's
        basic tier, a read per series costs 10 s for 200 series). A venue that cannot list them
        leaves `_series` to read each one as before."""
        read_ms = self.clock_ms()
        try:
            body = await self.http.get("/series")
        except VenueError as exc:
            log.warning("kalshi.series_list_failed", error=str(exc))
            return
        for raw in body.get("series", []) if isinstance(body, dict) else []:
            try:
                series = parse_series(raw)
            except (KeyError, TypeError, ValueError, VenueError):   # one bad entry: that series is read by itself
                continue
            self.series[series.ticker] = series      # the terms as the venue shows them now
        self.series_read_ms = read_ms

    def _read_override(self, ev: dict, listed: EventFeeUpdate | None, read_ms: int) -> None:
        """Event `ev` of `GET /events`: its override as the venue shows it (its own override
        fields, else `listed`, the change `GET /events/fee_changes` lists in force) is put in force
        unless one heard since `read_ms` is newer. Neither: the override known stays."""
        try:
            update = (event_override(ev) if "fee_type_override" in ev or "fee_multiplier_override" in ev
                      else listed)
        except (TypeError, ValueError) as exc:
            log.warning("kalshi.event_override_unreadable", event_ticker=ev.get("event_ticker"), error=str(exc))
            return
        if update is None:
            return
        changed = self.event_fees.read(update, read_ms)
        if changed is not None:
            log.warning("kalshi.event_fee_override_read", event_ticker=update.event_ticker, fee_type=update.fee_type,
                        multiplier=None if update.multiplier is None else str(update.multiplier),
                        error=update.error or None, changed=len(changed), held=len(self.fee_holds))

    async def load(self, *, series_ticker: str | None = None) -> list[MarketInfo]:
        cursor = ""
        self.bodies = []
        skipped: Counter[str] = Counter()          # reason → markets of this load not traded
        read_ms = self.clock_ms()
        listed_in_force: dict[str, EventFeeUpdate] = {}
        if series_ticker is None:
            await self._all_series()                # every discovery: the series' terms may have changed
            await self._fee_changes()
            listed_in_force = await self._event_fee_changes(read_ms)
        while True:
            params = {"with_nested_markets": "true", "limit": "200", "status": "open"}
            if series_ticker:
                params["series_ticker"] = series_ticker
            if cursor:
                params["cursor"] = cursor
            body = await self.http.get("/events", params)
            self.bodies.append(body)
            for ev in body.get("events", []):
                if not isinstance(ev, dict) or not ev.get("event_ticker") or not ev.get("series_ticker"):
                    skipped["event without event_ticker or series_ticker"] += 1
                    continue
                event = ev["event_ticker"]
                self._read_override(ev, listed_in_force.get(event), read_ms)
                try:
                    await self._series(ev["series_ticker"])
                    s = self.terms(ev["series_ticker"])
                    fees, reason = self.event_fees.schedule(event, s), ""
                except (ProtocolError, UnmodelledFees) as exc:     # this event only: its markets are not traded
                    s, fees, reason = None, None, str(exc)
                ids = []
                for md in ev.get("markets") or []:
                    try:
                        mk = parse_market(md if isinstance(md, dict) else {})
                    except ProtocolError as exc:                   # this market only
                        skipped[str(exc)] += 1
                        continue
                    if reason:
                        self.untradeable[mk.ticker] = reason
                        self.markets.pop(mk.ticker, None)
                        skipped[reason] += 1
                        continue
                    self.untradeable.pop(mk.ticker, None)
                    ids.append(mk.ticker)
                    self.markets[mk.ticker] = MarketInfo(
                        Venue.KALSHI, mk.ticker, mk.title, event_id=mk.event_ticker, fees=fees,
                        lot_lots=1 if mk.fractional else 100, tick_ticks=price_grid(mk.price_level_structure)[0],
                        price_grid=price_grid(mk.price_level_structure)[1],
                        closes_at=utc_second(mk.close_time), category=s.category,
                        active=mk.status in ("active", "open"))
                    self.event_fees.issued(event, mk.ticker, fees)
                self.events[event] = EventInfo(
                    Venue.KALSHI, event, ev.get("title", ""), tuple(ids),
                    bool(ev.get("mutually_exclusive")), False)
            cursor = body.get("cursor") or ""
            if not cursor:
                break
        if skipped:
            log.warning("kalshi.markets_untradeable", count=sum(skipped.values()), reasons=dict(skipped))
        self.fee_change_due()                       # the terms just read, for the markets handed out before
        return list(self.markets.values())
