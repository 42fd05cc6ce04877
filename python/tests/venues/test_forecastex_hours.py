"""ForecastEx trading hours: IB's ContractDetails `tradingHours` read, and no leg sent outside them.

Before, the hours were not read: an opportunity on a ForecastEx question outside its session was
traded like any other; IB does not work an order there (a leg that cannot fill), so a ForecastEx
leg after a filled one left that leg to unwind at the spread. Now the executor refuses the
opportunity before any leg (`trading hours: …`), and says when the next session opens.

Times: UTC epoch ms; IB's hours are in the contract's `timeZoneId`."""
from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side as ESide
from arbbot.execution import Executor, OrderStore, Route
from arbbot.execution.executor import Refused
from arbbot.paper import PaperLedger, PaperVenue
from arbbot.sim.forecastex import start_tws
from arbbot.venues.forecastex import ForecastExVenue
from arbbot.venues.forecastex.hours import trading_hours
from arbbot.venues.forecastex.ib_async_client import IBAsyncClient
from tests.fx_day import MID, SIM_START_MS

CT = ZoneInfo("America/Chicago")
ET = ZoneInfo("America/New_York")


def ms(zone, *a) -> int:
    return int(datetime(*a, tzinfo=zone).timestamp() * 1000)


# ib_async's own example of IB's format (ContractDetails._parseSessions)
EXAMPLE = ("20240721:CLOSED;20240722:0400-20240722:2000;20240723:0400-20240723:2000;"
           "20240724:0400-20240724:2000;20240725:0400-20240725:2000;20240726:0400-20240726:2000")


def test_ibs_example_reads_as_five_sessions_in_its_zone():
    h = trading_hours(EXAMPLE, "US/Eastern")
    assert len(h.sessions) == 5 and h.zone == "US/Eastern"
    assert h.sessions[0] == (ms(ET, 2024, 7, 22, 4), ms(ET, 2024, 7, 22, 20))
    assert (h.listed_from_ms, h.listed_to_ms) == (ms(ET, 2024, 7, 21), ms(ET, 2024, 7, 27))
    # Sunday (CLOSED): the next session is Monday 04:00
    assert h.closed(ms(ET, 2024, 7, 21, 12)) == "outside its trading hours (next session opens 2024-07-22 04:00 US/Eastern)"
    assert h.closed(ms(ET, 2024, 7, 22, 4)) is None                  # a session's first minute
    assert h.closed(ms(ET, 2024, 7, 22, 19, 59)) is None
    assert h.closed(ms(ET, 2024, 7, 22, 20)) == \
        "outside its trading hours (next session opens 2024-07-23 04:00 US/Eastern)"   # [start, end)
    assert h.closed(ms(ET, 2024, 7, 26, 21)) == "outside its trading hours (IB lists no later session)"
    # days IB did not list: not known, not refused
    assert h.closed(ms(ET, 2024, 7, 20, 12)) is None and h.closed(ms(ET, 2024, 7, 27, 1)) is None


def test_sessions_across_midnight_the_older_form_and_2400():
    h = trading_hours("20261206:1615-20261207:0000;20261207:0700-1600;20261208:0000-2400", "US/Central")
    assert h.sessions == ((ms(CT, 2026, 12, 6, 16, 15), ms(CT, 2026, 12, 7)),
                          (ms(CT, 2026, 12, 7, 7), ms(CT, 2026, 12, 7, 16)),
                          (ms(CT, 2026, 12, 8), ms(CT, 2026, 12, 9)))
    assert h.closed(ms(CT, 2026, 12, 7, 3)) == "outside its trading hours (next session opens 2026-12-07 07:00 US/Central)"
    assert h.closed(ms(CT, 2026, 12, 8, 23, 59)) is None


def test_a_zone_ib_names_that_is_unknown_here_reads_as_forecastexs():
    h = trading_hours("20261207:0700-20261207:1600", "Mars/Olympus")
    assert h.zone == "US/Central" and h.sessions == ((ms(CT, 2026, 12, 7, 7), ms(CT, 2026, 12, 7, 16)),)


@pytest.mark.parametrize("text", ["", ";", "20261207", "20261207:0700", "20261207:0700-20261207:1600;garbage",
                                  "20261207:2500-20261207:2600", "20261207:0760-20261207:0800",
                                  "20261207:1600-20261207:0700", "20261332:0700-20261332:1600",
                                  "20261207:OPEN"])
def test_anything_else_is_not_read_at_all(text):
    """A partial reading could call an open market closed: any entry not in IB's form → None."""
    assert trading_hours(text, "US/Central") is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(1, 600)), min_size=1, max_size=7),
       st.integers(0, 7 * 24 * 60 - 1))
def test_closed_exactly_outside_the_sessions_listed(days, minute):
    """Day k of a week from 2026-11-01 (US/Central, a DST change inside) has a session starting at
    h:m lasting `length` minutes (within the day): `closed` is None exactly inside one."""
    base = datetime(2026, 11, 1)
    entries, spans = [], []
    for k, (h, m, length) in enumerate(days):
        start = h * 60 + m
        end = min(start + length, 24 * 60 - 1)
        if end <= start:
            entries.append(f"{base.replace(day=1 + k):%Y%m%d}:CLOSED")
            continue
        day = base.replace(day=1 + k)
        entries.append(f"{day:%Y%m%d}:{start // 60:02d}{start % 60:02d}-{day:%Y%m%d}:{end // 60:02d}{end % 60:02d}")
        spans.append((ms(CT, 2026, 11, 1 + k, start // 60, start % 60), ms(CT, 2026, 11, 1 + k, end // 60, end % 60)))
    h = trading_hours(";".join(entries), "US/Central")
    day, rest = divmod(minute, 24 * 60)
    now = ms(CT, 2026, 11, 1 + day, rest // 60, rest % 60) if day < len(days) else h.listed_to_ms + minute
    inside = any(a <= now < b for a, b in spans)
    listed = h.listed_from_ms <= now < h.listed_to_ms
    assert (h.closed(now) is None) == (inside or not listed)


def test_an_opportunity_on_a_closed_forecastex_question_is_refused_before_any_leg(tmp_path):
    """The simulated TWS lists MID's contracts with today CLOSED and tomorrow 07:00–16:00 (its
    other questions around the clock): the adapter reads them (real ib_async), the executor refuses
    an opportunity with a MID leg before sending anything; a question open now is not refused."""
    now = SIM_START_MS
    today = datetime.fromtimestamp(now / 1000, CT)
    tomorrow = datetime.fromtimestamp(now / 1000 + 86_400, CT)
    hours = f"{today:%Y%m%d}:CLOSED;{tomorrow:%Y%m%d}:0700-{tomorrow:%Y%m%d}:1600"

    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None, start_ms=SIM_START_MS, clock_ms=lambda: now)
        try:
            for con, (c, m, s) in list(sim.backend.contracts.items()):
                if m == MID:
                    sim.backend.contracts[con] = (dataclasses.replace(c, trading_hours=hours), m, s)
            v = ForecastExVenue(await IBAsyncClient.connect("127.0.0.1", sim.port, 11, wall_ms=lambda: now), ["FF"])
            await v.discover_markets()
            other = next(mid for mid in v.markets if mid != MID)
            assert v.trading_closed(other) is None
            why = v.trading_closed(MID)
            store = OrderStore(str(tmp_path / "o.db"))
            ex = Executor(store, {f"forecastex:{m}": Route(v, m) for m in (MID, other)})
            legs = (Leg(f"forecastex:{other}", ESide.YES, 500, 4000, 2_000_000, 0),
                    Leg(f"forecastex:{MID}", ESide.NO, 500, 5000, 2_500_000, 0))
            opp = Opportunity("00000000000000dd", Lane.INTRA, Kind.YES_A_NO_B, 500, 5_000_000, 4_500_000, 0,
                              500_000, legs)
            with pytest.raises(Refused) as refused:
                await ex.execute(opp)
            sent = [o for o in sim.backend.all_orders()]
            # paper trading over the same adapter refuses the same opportunities
            ledger = PaperLedger(OrderStore(str(tmp_path / "paper.db")), 1_000_000_000)
            paper = PaperVenue(v, ledger, latency_ms=0)
            paper_why = (paper.trading_closed(MID), paper.trading_closed(other))
            ledger.close()
            await v.close()
            return why, str(refused.value), sent, store.executions(), paper_why
        finally:
            await sim.stop()
    why, refused, sent, executions, paper_why = asyncio.run(asyncio.wait_for(main(), 60))
    assert paper_why == (why, None)
    assert why == f"outside its trading hours (next session opens {tomorrow:%Y-%m-%d} 07:00 US/Central)"
    assert refused == f"trading hours: market forecastex:{MID} is {why}"
    assert sent == [] and executions == []
