"""Polymarket instrument discovery (Gamma): binary markets with their fee schedules, neg-risk
groups as events and bucket relations.

Fees (spec/ARBITRAGE.md "Fees"): taker rate = `feeSchedule.rate` (0 when `feesEnabled` is
false), rounding $0.00001 per order; makers pay nothing unless `takerOnly` is false. A market
whose schedule the engine cannot represent (exponent ≠ 1, fees on without a schedule) is skipped
with a warning and counted in `skipped`. Neg-risk groups are mutually exclusive; exhaustive only
when not augmented (VENUES.md trap 6) and every member market was kept.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections import Counter

from arbbot.venues.common.errors import ProtocolError
from arbbot.model import utc_second
from arbbot.venues.common.model import EventInfo, FeeSchedule, MarketInfo, Side, Venue
from arbbot.units import UnitError, price_ticks, qty_lots, rate_ppm
from arbbot.venues.polymarket.schemas.gamma import GammaEvent, GammaMarket, parse_event, parse_market

log = logging.getLogger("arbbot.venues.polymarket.providers")
FEE_ROUNDING_MICROS = 10                 # $0.00001


class Unrepresentable(Exception):
    pass


def fee_schedule(m: GammaMarket) -> FeeSchedule:
    """The market's taker fee, read conservatively (VENUES.md): without `feesEnabled` a schedule
    that states a rate is charged; a schedule without a rate is not guessed (the market skipped)."""
    s = m.fee_schedule
    if m.fees_enabled is False or (m.fees_enabled is None and s is None):
        return FeeSchedule(rounding=FEE_ROUNDING_MICROS)
    if s is None:
        raise Unrepresentable("fees enabled but no feeSchedule")
    if s.rate is None:
        raise Unrepresentable("feeSchedule without a rate")
    if s.exponent != 1:
        raise Unrepresentable(f"feeSchedule exponent {s.exponent} (the engine models exponent 1 only)")
    taker = rate_ppm(s.rate)
    return FeeSchedule(taker_rate_ppm=taker, rounding=FEE_ROUNDING_MICROS,
                       maker_rate_ppm=0 if s.taker_only else taker)


def yes_index(outcomes) -> int:
    """Which of a binary market's two tokens (`clobTokenIds`, in `outcomes`' order) is YES: the
    one whose outcome is "Yes" when the outcomes are Yes and No (Gamma lists ["Yes", "No"], but
    the order is not promised, and taking the first as YES would turn a `same` twin into an
    inverse: a naked bet); else the first outcome (a matchup's ["Team A", "Team B"]: YES is the
    first, as the question and the mapping read it)."""
    names = [str(o).strip().lower() for o in outcomes]
    if sorted(names) == ["no", "yes"]:
        return names.index("yes")
    if "yes" in names or "no" in names:
        raise Unrepresentable(f"outcomes {list(outcomes)}: one of Yes/No without the other")
    return 0


def market_info(m: GammaMarket, event_id: str = "") -> MarketInfo:
    if len(m.token_ids) != 2 or len(m.outcomes) != 2:
        raise Unrepresentable(f"{len(m.outcomes)} outcomes / {len(m.token_ids)} tokens (binary markets only)")
    yes = yes_index(m.outcomes)
    fees = fee_schedule(m)
    try:
        tick = price_ticks(m.tick_size)
        min_size = qty_lots(m.min_size)
    except UnitError as exc:
        raise Unrepresentable(str(exc)) from None
    return MarketInfo(
        Venue.POLYMARKET, m.condition_id, m.question, event_id=event_id or (m.event_ids[0] if m.event_ids else ""),
        fees=fees, lot_lots=1, tick_ticks=tick, yes_token=m.token_ids[yes], no_token=m.token_ids[1 - yes],
        neg_risk=m.neg_risk, neg_risk_augmented=m.neg_risk_augmented,
        active=m.active and not m.closed and m.accepting_orders and m.enable_order_book,
        closes_at=utc_second(m.end_date),
        extra=(("outcomes", json.dumps(list(m.outcomes))), ("min_order_size_lots", str(min_size)),
               ("neg_risk_market_id", m.neg_risk_market_id), ("gamma_id", m.id)))


def neg_risk_partition(markets: list, flagged, group_of) -> list[tuple[list, bool]]:
    """An event's neg-risk groups: (its markets, known whole) per `negRiskMarketID`, of the
    `markets` that are neg-risk themselves (`flagged(m)`; `group_of(m)`: its group id, "" when
    not given). An event may also hold markets that are not ("both teams to score" beside a
    match's three outcomes) or two races' groups. One group (a member without its id taken to be
    of it): whole when every market of the event is neg-risk. Several: a member of unknown group
    may be of any, so none is whole then. What the adapter's relations (`neg_risk_groups`) and the
    structural rules (`mapping.rules`) both group by."""
    neg = [m for m in markets if flagged(m)]
    known = sorted({group_of(m) for m in neg} - {""})
    if len(known) < 2:
        return [(neg, len(neg) == len(markets))] if neg else []
    unknown = any(not group_of(m) for m in neg)
    return [([m for m in neg if group_of(m) == key], not unknown) for key in known]


def neg_risk_groups(ev, kept: dict) -> list[tuple[tuple[str, ...], bool]]:
    """The neg-risk groups of Gamma event `ev` among the kept markets (`kept`: condition id → info):
    (condition ids, exhaustive) per group (`neg_risk_partition`). Exhaustive: the event is not
    augmented, every market of the group is kept and active, and the group is known whole."""
    groups = neg_risk_partition(ev.markets, lambda gm: gm.neg_risk, lambda gm: gm.neg_risk_market_id) \
        if ev.neg_risk else []
    out = []
    for members, whole in groups:
        infos = [kept.get(gm.condition_id) for gm in members]
        ids = tuple(i.market_id for i in infos if i is not None)
        out.append((ids, whole and not ev.neg_risk_augmented and all(i is not None and i.active for i in infos)))
    return out


class PolymarketInstrumentProvider:
    def __init__(self, http, *, page_limit: int = 100) -> None:
        self.http = http
        self.page_limit = page_limit
        self.markets: dict[str, MarketInfo] = {}
        # every market listed (or looked up) since start, kept after a listing drops it (a closed
        # market leaves Gamma's `closed=false` listing; its fills still name its tokens and are
        # priced with its fee schedule): condition id → market, token id → (condition id, YES|NO)
        self.known: dict[str, MarketInfo] = {}
        self.tokens: dict[str, tuple[str, Side]] = {}
        self.events: dict[str, EventInfo] = {}
        self.gamma_events: dict[str, GammaEvent] = {}
        self.skipped: Counter[str] = Counter()
        self.bodies: list[list] = []      # Gamma `/events` then `/markets` of the last load (pages joined)
        # condition id → the tick (ticks) the CLOB last stated (`tick_size_change`, a whole book's
        # `tick_size`): it wins over Gamma's `orderPriceMinTickSize`, which can lag it (a reload
        # must not put a market back on a grid the CLOB left: orders on it are refused)
        self.clob_ticks: dict[str, int] = {}

    def _add(self, gm: GammaMarket, event_id: str = "") -> MarketInfo | None:
        try:
            info = market_info(gm, event_id)
        except Unrepresentable as exc:
            reason = "fee_exponent" if "exponent" in str(exc) else "unrepresentable"
            self.skipped[reason] += 1
            log.warning("polymarket: skipping market %s: %s", gm.condition_id, exc)
            return None
        tick = self.clob_ticks.get(info.market_id)
        if tick is not None and tick != info.tick_ticks:
            info = dataclasses.replace(info, tick_ticks=tick)
        self.markets[info.market_id] = info
        self._know(info)
        return info

    def info(self, market_id: str) -> MarketInfo | None:
        """The market as listed now, else as last listed or looked up (its rules: tick, fees)."""
        return self.markets.get(market_id) or self.known.get(market_id)

    def _know(self, info: MarketInfo) -> None:
        self.known[info.market_id] = info
        self.tokens[info.yes_token] = (info.market_id, Side.YES)
        self.tokens[info.no_token] = (info.market_id, Side.NO)

    async def token(self, token_id: str, condition_id: str) -> tuple[str, Side] | None:
        """(condition id, YES|NO) of `token_id`: from the markets known, else from Gamma's
        `/markets?condition_ids=` (closed, then open: a market this process never listed, e.g.
        one that closed before a restart), whose `clobTokenIds[0]` is YES as in every listing.
        None if Gamma does not list the market with that token."""
        for m in self.markets.values() if token_id not in self.tokens else ():
            if token_id in (m.yes_token, m.no_token):
                self._know(m)
                break
        if token_id not in self.tokens and condition_id:
            for closed in ("true", "false"):
                page = await self.http.gamma("/markets", {"condition_ids": [condition_id], "closed": closed,
                                                          "limit": "1"})
                for raw in page if isinstance(page, list) else []:
                    try:
                        gm = parse_market(raw if isinstance(raw, dict) else {})
                    except ProtocolError as exc:
                        log.warning("polymarket: market %s unreadable: %s", condition_id, exc)
                        continue
                    if gm.condition_id != condition_id or len(gm.token_ids) != 2:
                        continue
                    try:
                        self._know(market_info(gm))
                    except Unrepresentable:          # not tradeable here; its tokens' sides are still known
                        try:
                            yes = yes_index(gm.outcomes)
                        except Unrepresentable:
                            yes = 0
                        self.tokens[gm.token_ids[yes]] = (condition_id, Side.YES)
                        self.tokens[gm.token_ids[1 - yes]] = (condition_id, Side.NO)
                if token_id in self.tokens:
                    break
        return self.tokens.get(token_id)

    async def _pages(self, path: str) -> list[dict]:
        out, offset = [], 0
        while True:
            page = await self.http.gamma(path, {"closed": "false", "limit": str(self.page_limit), "offset": str(offset)})
            if not isinstance(page, list):
                raise ProtocolError(f"polymarket gamma {path}: expected a list", venue="polymarket")
            out.extend(page)
            if len(page) < self.page_limit:
                return out
            offset += len(page)

    async def load(self) -> list[MarketInfo]:
        """Read every page first, then rebuild the maps with no await in between: a concurrent
        lookup (an order's market, a book fetch) sees the last complete listing, never half of one."""
        events, markets = await asyncio.gather(self._pages("/events"), self._pages("/markets"))   # two pagers at once
        self.markets, self.events, self.gamma_events, self.skipped = {}, {}, {}, Counter()
        self.bodies = [events, markets]
        for raw in events:
            ev = parse_event(raw)
            self.gamma_events[ev.id] = ev
            kept = [info for gm in ev.markets if (info := self._add(gm, ev.id)) is not None]
            groups = neg_risk_groups(ev, {i.market_id: i for i in kept})
            # one neg-risk group holding every market of the event: the event is that bucket
            whole = len(groups) == 1 and len(groups[0][0]) == len(kept)
            self.events[ev.id] = EventInfo(Venue.POLYMARKET, ev.id, ev.title, tuple(i.market_id for i in kept),
                                           mutually_exclusive=whole, exhaustive=whole and groups[0][1])
        for raw in markets:          # markets listed outside any event
            gm = parse_market(raw)
            if gm.condition_id not in self.markets and not any(
                    gm.condition_id == m.condition_id for e in self.gamma_events.values() for m in e.markets):
                self._add(gm)
        return list(self.markets.values())

    def relations(self) -> list[dict]:
        """Snapshot relations: one `bucket` per neg-risk group of ≥ 2 kept markets (`neg_risk_groups`)."""
        out = []
        for ev in self.gamma_events.values():
            for members, exhaustive in neg_risk_groups(ev, self.markets):
                if len(members) >= 2:
                    out.append({"kind": "bucket", "members": [f"polymarket:{m}" for m in members],
                                "exhaustive": exhaustive})
        return out
