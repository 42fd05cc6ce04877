"""Kalshi event fee overrides a session did not hear on the WebSocket: the override the venue shows
at discovery (the `Event`'s `fee_type_override` / `fee_multiplier_override`, API 3.18+) and the
changes `GET /events/fee_changes` lists (API 3.20+: `{"event_fee_changes": [EventFeeChange],
"cursor"}`, in force from `scheduled_ts`, null terms clearing the override).

Before, an override was known only from an `event_fee_update` heard while streaming: a session
started after one was announced priced the event with its series' terms, below what the venue
charges, until the executor's fee check held the event after its first order paid more.

Units: taker rates in ppm (0.07 × multiplier = 70,000 ppm × multiplier)."""
from __future__ import annotations

from structlog.testing import capture_logs

from arbbot.model import utc_ms
from arbbot.venues.common.errors import NotFound
from arbbot.venues.kalshi import KalshiVenue
from arbbot.venues.kalshi.providers import KalshiInstrumentProvider
from arbbot.venues.kalshi.schemas.ws import EventFeeUpdate
from tests.venues.kalshi_env import kalshi_env
from tests.venues.test_kalshi_fees_wire import (EV, FED_EVENT, FED_TICKERS, H0, T1, T2, FakeHttp, _streaming_fed_books,
                                                iso_ms, run)
from tests.venues.conftest import wait_for

NOON = utc_ms("2026-12-01T12:00:00Z")


def change(cid: str, at_ms: int, fee_type, mult, event: str = EV) -> dict:
    """An `EventFeeChange` as the venue writes it."""
    return {"id": cid, "event_ticker": event, "series_ticker": "KXBTCD", "fee_type_override": fee_type,
            "fee_multiplier_override": mult, "scheduled_ts": iso_ms(at_ms)}


def rates(markets) -> dict[str, int]:
    return {m.market_id: m.fees.taker_rate_ppm for m in markets}


def test_changes_listed_in_force_price_the_event_and_scheduled_ones_hold_it_when_due():
    """The venue's events do not carry the override fields; `GET /events/fee_changes` lists (over
    three pages) ×2 in force since 11:00, ×3 from 12:00:01 and a change of another event. The
    discovery at 12:00 prices at ×2 (before: ×1 = 70,000 ppm); at 12:00:01 the markets handed out
    at ×2 are held; a discovery then prices at ×3."""
    async def main():
        now = [NOON]
        http = FakeHttp()
        http.event_page = 1
        http.event_changes = (change("a", NOON - 3_600_000, "quadratic", 2),
                              change("b", NOON + 1_000, "quadratic", 3),
                              change("c", NOON - 60_000, "quadratic", 5, event="KXOTHER-26"))
        provider = KalshiInstrumentProvider(http, clock_ms=lambda: now[0])
        assert rates(await provider.load()) == {T1: 140_000, T2: 140_000}
        assert provider.fee_holds == {} and provider.next_fee_change_ms() == NOON + 1_000
        now[0] += 999
        assert provider.fee_change_due() == [] and provider.fee_holds == {}
        now[0] += 1
        assert sorted(provider.fee_change_due()) == [T1, T2]
        assert provider.fee_holds[T1] == f"fee change on {EV}: taker rate 210000 ppm above the 140000 ppm it is priced with"
        assert provider.next_fee_change_ms() is None
        assert rates(await provider.load()) == {T1: 210_000, T2: 210_000}
    run(main())


def test_the_events_own_override_fields_are_the_venues_word_now():
    """An event showing its override fields wins over the listed changes: cleared (both null) while
    the listing still says ×2 → the series' ×1; ×4 → 280,000 ppm, and the markets handed out at ×1
    are held; an unreadable multiplier → the event is not priced."""
    async def main():
        http = FakeHttp()
        http.event_changes = (change("a", NOON - 3_600_000, "quadratic", 2),)
        http.event_fields = {"fee_type_override": None, "fee_multiplier_override": None}
        provider = KalshiInstrumentProvider(http, clock_ms=lambda: NOON)
        assert rates(await provider.load()) == {T1: 70_000, T2: 70_000}
        http.event_fields = {"fee_type_override": "quadratic", "fee_multiplier_override": 4}
        with capture_logs() as logs:
            assert rates(await provider.load()) == {T1: 280_000, T2: 280_000}
        assert [(e["event"], e["multiplier"]) for e in logs if e["event"] == "kalshi.event_fee_override_read"] == [
            ("kalshi.event_fee_override_read", "4")]
        assert sorted(provider.fee_holds) == [T1, T2] and "280000 ppm" in provider.fee_holds[T1]
        with capture_logs() as logs:
            await provider.load()                           # the same again: nothing new to say
        assert not [e for e in logs if e["event"] == "kalshi.event_fee_override_read"]
        http.event_fields = {"fee_type_override": "quadratic", "fee_multiplier_override": "x"}
        assert await provider.load() == []
        assert "fee_multiplier_override" in provider.untradeable[T1]
    run(main())


class RacingHttp(FakeHttp):
    """FakeHttp whose `GET /events` answer was read before `during_read` runs (a WebSocket frame
    heard while the page is in flight)."""
    during_read = None

    async def get(self, path, params=None, **kw):
        body = await super().get(path, params, **kw)
        if path == "/events" and self.during_read is not None:
            self.during_read()
        return body


def test_an_override_heard_after_the_read_began_is_newer_than_what_the_read_shows():
    async def main():
        now = [NOON]
        http = RacingHttp()
        provider = KalshiInstrumentProvider(http, clock_ms=lambda: now[0])
        http.event_fields = {"fee_type_override": None, "fee_multiplier_override": None}

        def heard():                                      # ×2 heard 5 ms after the discovery began
            now[0] += 5
            provider.apply_fee_update(EventFeeUpdate(5, 9, EV, "quadratic", 2))
        http.during_read = heard
        assert rates(await provider.load()) == {T1: 140_000, T2: 140_000}     # not undone by the older read
        http.during_read = None
        now[0] += 1_000                                    # the venue has since cleared it: a later read says so
        assert rates(await provider.load()) == {T1: 70_000, T2: 70_000}
    run(main())


def test_a_scheduled_change_older_than_an_override_heard_since_does_not_undo_it():
    """×3 is scheduled for 12:00:01; an `event_fee_update` clearing the override is heard at
    12:00:02, before the fee clock gets to run: the scheduled change is older and is dropped."""
    async def main():
        now = [NOON]
        http = FakeHttp()
        http.event_changes = (change("b", NOON + 1_000, "quadratic", 3),)
        provider = KalshiInstrumentProvider(http, clock_ms=lambda: now[0])
        await provider.load()
        now[0] += 2_000
        provider.apply_fee_update(EventFeeUpdate(5, 9, EV, None, None))
        assert provider.fee_change_due() == [] and provider.fee_holds == {}
        assert provider.event_fees.overrides == {} and provider.next_fee_change_ms() is None
    run(main())


def test_a_venue_without_the_endpoint_keeps_what_it_knows():
    """An API before 3.20 answers 404: the discovery goes on (one warning), the changes already
    scheduled stay scheduled."""
    class Old(FakeHttp):
        gone = False

        async def get(self, path, params=None, **kw):
            if path == "/events/fee_changes" and self.gone:
                raise NotFound("kalshi GET /events/fee_changes: 404", venue="kalshi")
            return await super().get(path, params, **kw)

    async def main():
        http = Old()
        http.event_changes = (change("b", NOON + 1_000, "quadratic", 3),)
        provider = KalshiInstrumentProvider(http, clock_ms=lambda: NOON)
        await provider.load()
        http.gone = True
        with capture_logs() as logs:
            assert rates(await provider.load()) == {T1: 70_000, T2: 70_000}
        assert [e["event"] for e in logs].count("kalshi.event_fee_changes_unread") == 1
        assert provider.next_fee_change_ms() == NOON + 1_000
    run(main())


def test_a_session_started_after_an_override_was_announced_prices_with_it(rsa_keys):
    """End to end on the simulator: the Fed event is overridden to ×3 before the adapter
    connects, so no `event_fee_update` reaches it. Its discovery prices the event at 210,000 ppm
    (before: 70,000, the series' ×1); cleared, the next discovery prices at ×1 again."""
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            sim.event_fee_override(FED_EVENT, "quadratic", 3)
            v = KalshiVenue(cfg)
            found = rates(await v.discover_markets())
            assert {found[t] for t in FED_TICKERS} == {210_000}
            sim.event_fee_override(FED_EVENT, None, None)
            assert {rates(await v.discover_markets())[t] for t in FED_TICKERS} == {70_000}
            await v.close()
    run(main())


def test_a_scheduled_event_change_from_the_simulator_holds_the_streamed_books_when_it_comes_due(rsa_keys):
    """The simulator lists an event change to ×3 1.5 s ahead: the venue's fee clock holds the
    streamed books at that moment, with no discovery and no WebSocket message in between; the
    simulated exchange charges ×3 from then on."""
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            at = sim.clock_ms() + 1_500
            sim.event_fee_changes = [{"id": "e1", "event_ticker": FED_EVENT, "series_ticker": "KXFEDDECISION",
                                      "fee_type_override": "quadratic", "fee_multiplier_override": 3,
                                      "scheduled_ts": iso_ms(at)}]
            assert sim.fees_in_force(H0).taker_ppm == 70_000
            v, latest, task = await _streaming_fed_books(cfg)
            await wait_for(lambda: all(not latest[t].tradeable for t in FED_TICKERS), timeout=10, what="held books")
            assert sim.clock_ms() >= at and "210000 ppm" in latest[H0].reason
            assert sim.fees_in_force(H0).taker_ppm == 210_000
            task.cancel()
            await v.close()
    run(main())


def test_the_simulator_pages_and_filters_event_fee_changes(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            for mult in (2, 3, 4):
                sim.event_fee_override(FED_EVENT, "quadratic", mult)
            v = KalshiVenue(cfg)
            first = await v.http.get("/events/fee_changes", {"limit": "2"})
            assert [c["fee_multiplier_override"] for c in first["event_fee_changes"]] == [2, 3] and first["cursor"]
            rest = await v.http.get("/events/fee_changes", {"limit": "2", "cursor": first["cursor"]})
            assert [c["fee_multiplier_override"] for c in rest["event_fee_changes"]] == [4] and rest["cursor"] == ""
            assert set(rest["event_fee_changes"][0]) == {"id", "event_ticker", "series_ticker", "fee_type_override",
                                                         "fee_multiplier_override", "scheduled_ts"}
            other = await v.http.get("/events/fee_changes", {"event_ticker": "NOPE"})
            assert other == {"event_fee_changes": [], "cursor": ""}
            await v.close()
    run(main())
