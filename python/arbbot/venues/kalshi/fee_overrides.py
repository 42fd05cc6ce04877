"""Kalshi fee changes after a market was handed out — per-event overrides (`event_fee_update`,
VENUES.md "Fees") and new series terms (a discovery reads them again; a change scheduled in
`GET /series/fee_changes` comes due) — and the holds they cause.

An override replaces its event's series terms (`fee_type`, `fee_multiplier`; a null term is
cleared: the series' own applies again). Every later discovery prices the event's markets with
it (`schedule`). A market the session already holds keeps the fee schedule it was handed out with
until the session re-prices it (a listings refresh that finds its schedule changed:
`LiveSession.reprice_markets`, then `repriced` here), so while the terms make a market dearer
than the lowest taker rate handed out for it since it was last priced, or unpriceable, the market
is **held**: `holds[ticker]` says why, and the adapter publishes its books untradeable. The hold
lifts when the terms come back to a rate at (or below) that one, or when the session re-prices
the market with the terms in force.
"""
from __future__ import annotations

from arbbot.model import FeeSchedule
from arbbot.venues.kalshi.fees import UnmodelledFees, fee_schedule
from arbbot.venues.kalshi.schemas.rest import KalshiSeries
from arbbot.venues.kalshi.schemas.ws import EventFeeUpdate


class EventFees:
    def __init__(self) -> None:
        self.overrides: dict[str, EventFeeUpdate] = {}   # event ticker → the override in force
        self.holds: dict[str, str] = {}                  # ticker → why its books are held
        self._issued: dict[str, int] = {}                # ticker → lowest taker rate (ppm) handed out
        self._series: dict[str, KalshiSeries] = {}       # event ticker → its series
        self._markets: dict[str, dict[str, None]] = {}   # event ticker → its markets handed out (ordered)
        self._held_under: dict[str, KalshiSeries] = {}   # event ticker → the series terms its holds were decided under
        self._heard_ms: dict[str, int] = {}              # event ticker → when its override last changed as heard (unix ms)

    def schedule(self, event: str, series: KalshiSeries) -> FeeSchedule:
        """`event`'s fee schedule now: its series' terms under the event's override, if any.
        UnmodelledFees if they cannot be priced."""
        self._series[event] = series
        ov = self.overrides.get(event)
        if ov is None:
            return fee_schedule(series.fee_type, series.fee_multiplier)
        if ov.error:
            raise UnmodelledFees(f"fee override on {event} unreadable: {ov.error}")
        return fee_schedule(series.fee_type if ov.fee_type is None else ov.fee_type,
                            series.fee_multiplier if ov.multiplier is None else ov.multiplier)

    def issued(self, event: str, ticker: str, fees: FeeSchedule) -> None:
        """`ticker` (of `event`) was handed out priced with `fees`."""
        rate = fees.taker_rate_ppm
        self._issued[ticker] = min(rate, self._issued.get(ticker, rate))
        self._markets.setdefault(event, {})[ticker] = None
        self._held_under.setdefault(event, self._series[event])

    def repriced(self, ticker: str, fees: FeeSchedule) -> list[str]:
        """The session prices `ticker` with `fees` from now on (it re-priced the market with what
        a discovery handed out): that is its rate now, not the lowest before; its hold is decided
        again. The tickers whose hold changed."""
        if ticker not in self._issued:
            return []
        self._issued[ticker] = fees.taker_rate_ppm
        event = next((e for e, tickers in self._markets.items() if ticker in tickers), None)
        if event is None:
            return []
        return self._reevaluate(event)

    def apply(self, update: EventFeeUpdate, heard_ms: int | None = None) -> list[str]:
        """Put `update` in force and hold or release the event's markets handed out so far;
        the tickers whose hold changed. `heard_ms`: when it took effect (an `event_fee_update`
        heard, a scheduled change come due), which a read of the venue begun before cannot undo."""
        event = update.event_ticker
        if heard_ms is not None:
            self._heard_ms[event] = max(heard_ms, self._heard_ms.get(event, heard_ms))
        if update.fee_type is None and update.multiplier is None and not update.error:
            self.overrides.pop(event, None)
        else:
            self.overrides[event] = update
        return self._reevaluate(event)

    def heard_since(self, event: str, at_ms: int) -> bool:
        """Whether `event`'s override changed as heard at or after `at_ms`."""
        return self._heard_ms.get(event, at_ms - 1) >= at_ms

    def read(self, update: EventFeeUpdate, read_ms: int) -> list[str] | None:
        """The override the venue showed for its event in a read begun at `read_ms` (`GET /events`,
        `GET /events/fee_changes`): put in force unless one heard since is newer. None if it
        changed nothing, else the tickers whose hold changed."""
        event = update.event_ticker
        now = self.overrides.get(event)
        terms = (update.fee_type, update.multiplier, update.error)
        if self.heard_since(event, read_ms) or terms == ((now.fee_type, now.multiplier, now.error) if now else (None, None, "")):
            return None
        return self.apply(update)

    def series_terms(self, terms: dict[str, KalshiSeries]) -> list[str]:
        """The series' terms now (series ticker → KalshiSeries: read again by a discovery, or a
        scheduled change come due): hold or release every market handed out under them; the
        tickers whose hold changed."""
        changed = []
        for event, series in list(self._series.items()):
            now = terms.get(series.ticker)
            if now is not None and now != self._held_under.get(event):
                self._series[event] = self._held_under[event] = now
                changed += self._reevaluate(event)
        return changed

    def _reevaluate(self, event: str) -> list[str]:
        """Hold or release `event`'s markets handed out so far; the tickers whose hold changed."""
        series = self._series.get(event)
        changed = []
        for ticker in self._markets.get(event, ()):
            reason = self._reason(event, series, ticker)
            if reason != self.holds.get(ticker, ""):
                changed.append(ticker)
                if reason:
                    self.holds[ticker] = reason
                else:
                    del self.holds[ticker]
        return changed

    def _reason(self, event: str, series: KalshiSeries, ticker: str) -> str:
        """Why `ticker` must be held now ("" if it need not be)."""
        try:
            rate = self.schedule(event, series).taker_rate_ppm
        except UnmodelledFees as exc:
            return f"fee change on {event}: {exc}"
        issued = self._issued[ticker]
        if rate <= issued:
            return ""
        return f"fee change on {event}: taker rate {rate} ppm above the {issued} ppm it is priced with"
