"""Kalshi instrument discovery: events → markets, with each series' fee schedule."""
from __future__ import annotations

from arbbot import logs
from arbbot.model import utc_second
from arbbot.venues.common.errors import VenueError
from arbbot.venues.common.model import TAPERED, UNIFORM, EventInfo, FeeSchedule, MarketInfo, Venue
from arbbot.venues.kalshi.common.enums import FEE_MAKER_BASE_PPM, FEE_ROUNDING_MICROS, FEE_TAKER_BASE_PPM
from arbbot.venues.kalshi.http.client import KalshiHttpClient
from arbbot.venues.kalshi.schemas.rest import KalshiSeries, parse_market, parse_series

log = logs.get("kalshi")

_TICK = {"linear_cent": 100, "tapered_deci_cent": 10, "deci_cent": 10}


def fee_schedule(series: KalshiSeries) -> FeeSchedule:
    """taker = 0.07 × fee_multiplier; maker 0.0175 × multiplier only on quadratic_with_maker_fees;
    rounding $0.01 per order (spec/ARBITRAGE.md)."""
    taker = FEE_TAKER_BASE_PPM * series.fee_multiplier_ppm // 1_000_000
    maker = (FEE_MAKER_BASE_PPM * series.fee_multiplier_ppm // 1_000_000
             if series.fee_type == "quadratic_with_maker_fees" else 0)
    return FeeSchedule(taker_rate_ppm=taker, rounding=FEE_ROUNDING_MICROS, maker_rate_ppm=maker)


class KalshiInstrumentProvider:
    def __init__(self, http: KalshiHttpClient) -> None:
        self.http = http
        self.series: dict[str, KalshiSeries] = {}
        self.events: dict[str, EventInfo] = {}
        self.markets: dict[str, MarketInfo] = {}
        self.bodies: list[dict] = []      # the `GET /events` pages of the last load, as the venue sent them

    async def _series(self, ticker: str) -> KalshiSeries:
        if ticker not in self.series:
            body = await self.http.get(f"/series/{ticker}")
            self.series[ticker] = parse_series(body["series"])
        return self.series[ticker]

    async def _all_series(self) -> None:
        """Every series in one `GET /series` (one read instead of one per series: at Kalshi's
        basic tier, a read per series costs 10 s for 200 series). A venue that cannot list them
        leaves `_series` to read each one as before."""
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
            self.series.setdefault(series.ticker, series)

    async def load(self, *, series_ticker: str | None = None) -> list[MarketInfo]:
        cursor = ""
        self.bodies = []
        if not self.series and series_ticker is None:
            await self._all_series()
        while True:
            params = {"with_nested_markets": "true", "limit": "200", "status": "open"}
            if series_ticker:
                params["series_ticker"] = series_ticker
            if cursor:
                params["cursor"] = cursor
            body = await self.http.get("/events", params)
            self.bodies.append(body)
            for ev in body.get("events", []):
                s = await self._series(ev["series_ticker"])
                fees = fee_schedule(s)
                ids = []
                for md in ev.get("markets", []):
                    mk = parse_market(md)
                    ids.append(mk.ticker)
                    self.markets[mk.ticker] = MarketInfo(
                        Venue.KALSHI, mk.ticker, mk.title, event_id=mk.event_ticker, fees=fees,
                        lot_lots=1 if mk.fractional else 100, tick_ticks=_TICK.get(mk.price_level_structure, 10),
                        price_grid=TAPERED if mk.price_level_structure == TAPERED else UNIFORM,
                        closes_at=utc_second(mk.close_time), category=s.category,
                        active=mk.status in ("active", "open"))
                self.events[ev["event_ticker"]] = EventInfo(
                    Venue.KALSHI, ev["event_ticker"], ev.get("title", ""), tuple(ids),
                    bool(ev.get("mutually_exclusive")), False)
            cursor = body.get("cursor") or ""
            if not cursor:
                break
        return list(self.markets.values())
