"""Kalshi private WebSocket channels: `user_orders`, `market_positions` and `fill` (AsyncAPI shapes).

`user_order` msg: order_id, ticker, status (resting/canceled/executed), side, is_yes,
yes_price_dollars, fill/remaining/initial_count_fp, taker/maker_fill_cost_dollars, optional
taker/maker_fees_dollars (omitted when zero), client_order_id, outcome_side, book_side... →
unified `Order` (the BUY of the outcome it adds, price in that side's terms). `market_position` msg: market_ticker, position_fp and
fees_paid_dollars (current), or position and fees_paid in centi-cents (legacy) → `Position`
(lots, fees in µ$). `fill` msg:
trade_id, order_id, side, action, yes_price_dollars, count_fp, fee_cost (dollars), is_taker →
`Fill` (schemas/ws.py `parse_fill`; fill_id = trade_id, fee exact in µ$).
"""
from __future__ import annotations

import asyncio
import json
import logging

from arbbot.venues.common.errors import ProtocolError
from arbbot.venues.common.model import Action, Fill, Order, Position, Side, Venue
from arbbot.units import UnitError, money_micros, price_ticks, qty_lots
from arbbot.venues.kalshi.common.enums import STATUS_FROM_WIRE
from arbbot.venues.kalshi.schemas.ws import parse_fill
from arbbot.venues.kalshi.websocket.channels import KalshiChannelClient
from arbbot.units import TICKS_PER_DOLLAR

log = logging.getLogger("arbbot.venues.kalshi.user")
V = Venue.KALSHI


def _bought_side(m: dict) -> Side:
    """The outcome a `user_order` adds, read as its BUY: `outcome_side` (yes | no), else
    `book_side` (bid = yes, ask = no), else the legacy `side`. The message has no `action`, and
    its `side` is not the outcome for a sale (a V2 ask — a sale of YES, a purchase of NO — can
    show `side` yes): reading `side` first turned it into a YES purchase (factsheet §1.6.2)."""
    outcome, book = m.get("outcome_side"), m.get("book_side")
    if outcome in ("yes", "no"):
        return Side.YES if outcome == "yes" else Side.NO
    if outcome in (None, "") and book in ("bid", "ask"):
        return Side.YES if book == "bid" else Side.NO
    return Side.parse(m["side"])


def parse_user_order(m: dict) -> Order:
    try:
        side = _bought_side(m)
        yes = price_ticks(m["yes_price_dollars"])
        filled = qty_lots(m["fill_count_fp"])
        remaining = qty_lots(m["remaining_count_fp"])
        initial = qty_lots(m["initial_count_fp"])
        fees = money_micros(m.get("taker_fees_dollars", "0")) + money_micros(m.get("maker_fees_dollars", "0"))
        cost = money_micros(m["taker_fill_cost_dollars"]) + money_micros(m["maker_fill_cost_dollars"])
        return Order(V, m["order_id"], m.get("client_order_id") or "", m["ticker"], side, Action.BUY,
                     yes if side is Side.YES else TICKS_PER_DOLLAR - yes, initial, filled, remaining,
                     STATUS_FROM_WIRE[m["status"]], fees_micros=fees, cost_micros=cost)
    except (KeyError, ValueError, TypeError, UnitError) as exc:
        raise ProtocolError(f"kalshi user_order: bad message ({exc})", venue="kalshi") from None


def _int(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise UnitError(f"{what}: expected an integer, got {v!r}")
    return v


def parse_market_position(m: dict) -> Position:
    """Current shape (factsheet §1.8): `position_fp` (contracts, 2 dp), `fees_paid_dollars`
    (fixed-point $); legacy (AsyncAPI file): `position` (contracts), `fees_paid` (centi-cents,
    1/10,000 $). Each field in its current form when present, else the legacy one; lots and µ$."""
    try:
        lots = qty_lots(m["position_fp"], signed=True) if "position_fp" in m else _int(m["position"], "position") * 100
        if "fees_paid_dollars" in m:
            fees = money_micros(m["fees_paid_dollars"])
        else:
            fees = _int(m["fees_paid"], "fees_paid") * 100          # centi-cents → µ$
        return Position(V, m["market_ticker"], lots, fees_paid_micros=fees)
    except (KeyError, ValueError, TypeError, UnitError) as exc:
        raise ProtocolError(f"kalshi market_position: bad message ({exc!r})", venue="kalshi") from None


class KalshiUserClient(KalshiChannelClient):
    """Subscribes to `channels` (optionally filtered by tickers) and queues `Order` / `Position` /
    `Fill` updates in `updates`; latest state in `orders` / `positions`, fills in `fills`.

    Default channels are `user_orders` + `market_positions`; pass `channels=ALL_CHANNELS` to also
    receive own fills (`fill` channel), as `KalshiVenue.stream_user` does."""

    CHANNELS = ("user_orders", "market_positions")
    ALL_CHANNELS = ("user_orders", "market_positions", "fill")

    def __init__(self, ws_url: str, signer, tickers: list[str] | None = None, *,
                 channels: tuple[str, ...] = CHANNELS, backoff=None) -> None:
        self.updates: asyncio.Queue[Order | Position | Fill] = asyncio.Queue()
        self.orders: dict[str, Order] = {}
        self.positions: dict[str, Position] = {}
        self.fills: list[Fill] = []
        self.errors: list[dict] = []
        super().__init__(ws_url, signer, tickers, channels, backoff)

    async def on_frame(self, text: str, recv_ts: int = 0) -> None:
        try:
            d = json.loads(text)
            t = d["type"]
            if t == "subscribed":
                self.subscribed[d["msg"]["channel"]] = int(d["msg"]["sid"])
            elif t == "error":
                self.errors.append(d.get("msg") or {})
            elif t == "user_order":
                o = parse_user_order(d["msg"])
                self.orders[o.order_id] = o
                self.updates.put_nowait(o)
            elif t == "market_position":
                p = parse_market_position(d["msg"])
                self.positions[p.market_id] = p
                self.updates.put_nowait(p)
            elif t == "fill":
                f = parse_fill(d["msg"])
                self.fills.append(f)
                self.updates.put_nowait(f)
        except (ValueError, KeyError, TypeError, ProtocolError) as exc:
            self.malformed += 1
            log.warning("kalshi user ws: dropped frame (%s)", exc)
