"""Gamma `/markets` and `/events` objects → typed records (exact decimals, double-JSON fields).

`outcomes`, `outcomePrices` and `clobTokenIds` are JSON-encoded *strings* inside the JSON: they
are decoded a second time here (an already-decoded list is accepted too). Numbers arrive as JSON
numbers; the HTTP client decodes them as `Decimal` so nothing passes through a binary float.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from arbbot.venues.common.errors import ProtocolError


@dataclass(frozen=True)
class GammaFeeSchedule:
    rate: Decimal | None                # None: the schedule does not say (never read as 0)
    exponent: Decimal
    taker_only: bool
    rebate_rate: Decimal


@dataclass(frozen=True)
class GammaMarket:
    id: str
    question: str
    condition_id: str
    outcomes: tuple[str, ...]
    outcome_prices: tuple[str, ...]
    token_ids: tuple[str, ...]
    neg_risk: bool
    neg_risk_market_id: str
    neg_risk_augmented: bool
    tick_size: Decimal
    min_size: Decimal
    fees_enabled: bool | None           # None: `feesEnabled` absent
    fee_schedule: GammaFeeSchedule | None
    active: bool
    closed: bool
    end_date: str
    event_ids: tuple[str, ...] = ()
    accepting_orders: bool = True        # `acceptingOrders` (false: past its end awaiting resolution, or paused)
    enable_order_book: bool = True       # `enableOrderBook` (false: no CLOB book to trade on)
    uma_resolution_status: str = ""      # `umaResolutionStatus` (requested|proposed|disputed|resolved|…)
    closed_time: str = ""                # `closedTime` as Gamma writes it ("2026-10-01 14:00:00+00")


@dataclass(frozen=True)
class GammaEvent:
    id: str
    slug: str
    title: str
    neg_risk: bool
    neg_risk_market_id: str
    neg_risk_augmented: bool
    markets: tuple[GammaMarket, ...]


def json_list(value, what: str) -> tuple[str, ...]:
    """Decode a JSON-encoded list of strings (`"[\\"Yes\\", \\"No\\"]"`) → ('Yes', 'No')."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ProtocolError(f"polymarket gamma: {what} is not a JSON-encoded list", venue="polymarket") from None
    if not isinstance(value, list) or not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in value):
        raise ProtocolError(f"polymarket gamma: {what} must be a list of strings", venue="polymarket")
    return tuple(str(x) for x in value)


def _dec(value, what: str, default: str | None = None) -> Decimal:
    if value is None and default is not None:
        return Decimal(default)
    if isinstance(value, (bool, float)) or value is None:
        raise ProtocolError(f"polymarket gamma: {what} must be a decimal, got {value!r}", venue="polymarket")
    try:
        return Decimal(str(value))
    except Exception:
        raise ProtocolError(f"polymarket gamma: {what} is not a number: {value!r}", venue="polymarket") from None


def parse_fee_schedule(raw) -> GammaFeeSchedule | None:
    if not raw:
        return None
    if not isinstance(raw, dict):
        raise ProtocolError("polymarket gamma: feeSchedule must be an object", venue="polymarket")
    rate = raw.get("rate")
    return GammaFeeSchedule(None if rate is None else _dec(rate, "feeSchedule.rate"),
                            _dec(raw.get("exponent"), "feeSchedule.exponent", "1"),
                            bool(raw.get("takerOnly", True)), _dec(raw.get("rebateRate"), "feeSchedule.rebateRate", "0"))


def parse_market(raw: dict) -> GammaMarket:
    try:
        cid = str(raw["conditionId"])
    except (KeyError, TypeError):
        raise ProtocolError("polymarket gamma: market without conditionId", venue="polymarket") from None
    return GammaMarket(
        id=str(raw.get("id", "")), question=str(raw.get("question", "")), condition_id=cid,
        outcomes=json_list(raw.get("outcomes"), "outcomes"),
        outcome_prices=json_list(raw.get("outcomePrices"), "outcomePrices"),
        token_ids=json_list(raw.get("clobTokenIds"), "clobTokenIds"),
        neg_risk=bool(raw.get("negRisk")), neg_risk_market_id=str(raw.get("negRiskMarketID") or ""),
        neg_risk_augmented=bool(raw.get("negRiskAugmented")) or bool(raw.get("negRiskOther")),
        tick_size=_dec(raw.get("orderPriceMinTickSize"), "orderPriceMinTickSize", "0.01"),
        min_size=_dec(raw.get("orderMinSize"), "orderMinSize", "5"),
        fees_enabled=None if raw.get("feesEnabled") is None else bool(raw.get("feesEnabled")),
        fee_schedule=parse_fee_schedule(raw.get("feeSchedule")),
        active=bool(raw.get("active", True)), closed=bool(raw.get("closed", False)),
        end_date=str(raw.get("endDate") or ""),
        event_ids=tuple(str(e.get("id", "")) for e in raw.get("events") or [] if isinstance(e, dict)),
        accepting_orders=raw.get("acceptingOrders") is not False, enable_order_book=raw.get("enableOrderBook") is not False,
        uma_resolution_status=str(raw.get("umaResolutionStatus") or ""), closed_time=str(raw.get("closedTime") or ""))


def parse_event(raw: dict) -> GammaEvent:
    markets = tuple(parse_market(m) for m in raw.get("markets") or [])
    return GammaEvent(str(raw.get("id", "")), str(raw.get("slug", "")), str(raw.get("title", "")),
                      bool(raw.get("negRisk")), str(raw.get("negRiskMarketID") or ""),
                      bool(raw.get("negRiskAugmented")) or any(m.neg_risk_augmented for m in markets), markets)
