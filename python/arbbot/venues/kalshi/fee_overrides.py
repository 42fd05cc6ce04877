"""Per-event Kalshi fee overrides (`event_fee_update`, VENUES.md "Fees") and the holds they cause.

An override replaces its event's series terms (`fee_type`, `fee_multiplier`; a null term is
cleared: the series' own applies again). Every later discovery prices the event's markets with
it (`schedule`). A market the session already holds keeps the fee schedule it was handed out with
(a listings refresh adds new markets, it does not re-price known ones), so while the override
makes a market dearer than the lowest taker rate ever handed out for it, or unpriceable, the
market is **held**: `holds[ticker]` says why, and the adapter publishes its books untradeable.
The hold lifts when an override brings the rate back to (or below) what was handed out.
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

    def apply(self, update: EventFeeUpdate) -> list[str]:
        """Put `update` in force and hold or release the event's markets handed out so far;
        the tickers whose hold changed."""
        event = update.event_ticker
        if update.fee_type is None and update.multiplier is None and not update.error:
            self.overrides.pop(event, None)
        else:
            self.overrides[event] = update
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
            return f"fee override on {event}: {exc}"
        issued = self._issued[ticker]
        if rate <= issued:
            return ""
        return f"fee override on {event}: taker rate {rate} ppm above the {issued} ppm it is priced with"
