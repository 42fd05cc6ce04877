"""A ForecastEx contract's trading hours, as IB's ContractDetails give them.

`tradingHours` lists the sessions of the next few days in the contract's `timeZoneId`, one day per
`;`-separated entry: "20261202:0700-20261202:1600" (a session may end on a later day:
"20261206:1615-20261207:0000") or "20261205:CLOSED". An older form without the end date,
"20261202:0700-1600", is read too. The published page hours (Mon–Fri 7:00–16:00 CT, factsheet
§3) are unconfirmed, so the bot reads IB's own answer: an order sent outside a session is not
worked (IB holds or cancels it), so a leg there cannot fill and the legs before it would be unwound.

Times are UTC epoch ms; a session is [start, end)."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

_DAY = re.compile(r"(\d{8}):(CLOSED|(\d{4})-(?:(\d{8}):)?(\d{4}))")
EXCHANGE_ZONE = ZoneInfo("America/Chicago")      # ForecastEx's (US/Central) when IB names no zone known here


@dataclass(frozen=True)
class TradingHours:
    """The sessions IB listed and the days they cover: outside those days nothing is known."""
    sessions: tuple[tuple[int, int], ...]     # (start, end) UTC ms, sorted
    listed_from_ms: int                       # the first listed day's local midnight
    listed_to_ms: int                         # the day after the last listed day, local midnight
    zone: str

    def closed(self, now_ms: int) -> str | None:
        """Why the contract does not trade at `now_ms` (outside every listed session, on a day IB
        listed), or None: in a session, or on a day IB did not list (not known: not refused)."""
        if not self.listed_from_ms <= now_ms < self.listed_to_ms:
            return None
        if any(start <= now_ms < end for start, end in self.sessions):
            return None
        upcoming = [start for start, _end in self.sessions if start > now_ms]
        if not upcoming:
            return "outside its trading hours (IB lists no later session)"
        opens = datetime.fromtimestamp(min(upcoming) / 1000, ZoneInfo(self.zone))
        return f"outside its trading hours (next session opens {opens:%Y-%m-%d %H:%M} {self.zone})"


def _zone(zone_id: str) -> tuple[ZoneInfo, str]:
    try:
        return ZoneInfo(zone_id), zone_id
    except (KeyError, ValueError, OSError):          # (ZoneInfoNotFoundError is a KeyError); "" too
        return EXCHANGE_ZONE, "US/Central"


def _clock(hhmm: str) -> bool:
    """HHMM a time of day (00:00 to 23:59)."""
    return int(hhmm[:2]) < 24 and int(hhmm[2:]) < 60


def _at(day: str, hhmm: str, zone: ZoneInfo) -> int:
    t = datetime.strptime(day, "%Y%m%d").replace(hour=int(hhmm[:2]), minute=int(hhmm[2:]), tzinfo=zone)
    return int(t.timestamp() * 1000)


@functools.lru_cache(maxsize=256)
def trading_hours(text: str | None, zone_id: str | None) -> TradingHours | None:
    """IB's `tradingHours` in `timeZoneId` as TradingHours; None when it lists no day or any entry
    is not in IB's form (a partial reading could call an open market closed). Cached: a product's
    contracts share their hours text (≈ 0.1 ms a parse, on the loop at each catalog read)."""
    entries = [e.strip() for e in (text or "").split(";") if e.strip()]
    if not entries:
        return None
    zone, name = _zone(zone_id or "")
    sessions, days = [], []
    try:
        for e in entries:
            m = _DAY.fullmatch(e)
            if m is None:
                return None
            day = m.group(1)
            days.append(datetime.strptime(day, "%Y%m%d"))
            if m.group(2) == "CLOSED":
                continue
            start_hm, end_day, end_hm = m.group(3), m.group(4) or day, m.group(5)
            if not (_clock(start_hm) and (_clock(end_hm) or end_hm == "2400")):
                return None
            start = _at(day, start_hm, zone)
            end = _at((datetime.strptime(end_day, "%Y%m%d") + timedelta(days=1)).strftime("%Y%m%d"), "0000", zone) \
                if end_hm == "2400" else _at(end_day, end_hm, zone)
            if end <= start:
                return None
            sessions.append((start, end))
    except ValueError:                                 # a date that does not exist
        return None
    first, last = min(days), max(days) + timedelta(days=1)
    listed_to = max([int(last.replace(tzinfo=zone).timestamp() * 1000)] + [end for _start, end in sessions])
    return TradingHours(tuple(sorted(sessions)), int(first.replace(tzinfo=zone).timestamp() * 1000), listed_to, name)
