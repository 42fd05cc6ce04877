"""ForecastEx semantics over the matching engine, behind the TWS wire server `TwsSim` (and the
tests' in-process IB client mirror).

One engine market per question; the YES contract (right C) buys YES, the NO contract (right P)
buys NO. BID of a contract = its side's best bid; ASK = $1 − the opposite contract's best bid
("BuyYesNow"). Orders: LMT BUY only, whole contracts, $0.01 grid within 0.02–0.99 (the house
quotes within it too: `MIN_PRICE`/`MAX_PRICE` are the engine markets' price range), TIF
DAY/GTC/IOC. ForecastEx charges no commission, so every execution reports 0.

Cash: a resting order reserves its cost (price × contracts; no fee) until it fills or ends, as
IB does; `cash_micros` is the cash (TWS TotalCashValue), `available_micros` what is left to
spend (AvailableFunds); an order costing more is refused with IB error 201.

Trading day: the simulated market trades around the clock, but a DAY order lives only until the
end of the trading day it was placed in, 16:00 US/Central (`day_end_ms`; DST-aware, every day of
the week). Assumption: ForecastEx's product pages list Mon–Fri 07:00–16:00 CT (factsheet §3.2,
unconfirmed; the contract details name US/Central as the time zone). `expire_day_orders` cancels
those past their day end; its caller decides when to look (the TWS server: on its clock).

Last trade time: a question trades until its last trade date (`expiry`) at `last_trade_time`
(US/Central, `last_trade_ms`; the TWS server sends both in its contract details, as IB does:
"20261216 16:00:00 US/Central"). Assumption: 16:00 CT, the end of the trading day above (IB's
actual time per product is in its contract details, not known here). An order at or after it is
refused with IB error 201 ("Order rejected - reason:" + `PAST_LAST_TRADE`): 201 is IB's code for
an order rejected ("Order rejected - reason:<why>"; TWS API message codes); the reason text is the
simulator's own (a guess: no source gives IB's wording for this case).

Units: IB's own at this boundary — prices `Decimal` dollars, quantities whole contracts; the
engine underneath works in ticks ($0.0001), lots (0.01 contract) and µ$. The contract and
quote values are the simulator's own (`FxContract`, `FxQuote`), not the adapter's types.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Callable
from zoneinfo import ZoneInfo

from arbbot.sim.engine.matching import FULL, Exchange, SimReject
from arbbot.sim.scenarios import PriceProcess, Scenario, make_markets

LOT = 100                                  # engine lots per contract
TIFS = ("DAY", "GTC", "IOC")
MIN_PRICE, MAX_PRICE = 200, 9_900          # ticks: $0.02 … $0.99, inclusive (factsheet §3.2)
EXCHANGE_TZ = ZoneInfo("America/Chicago")  # US/Central, ForecastEx's (and the contract details') zone
DAY_END = time(16, 0)                      # local end of the trading day (module doc "Trading day")
DAY_EXPIRED = "DAY order expired at the end of the trading day"
LAST_TRADE_TIME = "16:00:00"               # local (US/Central) last trade time on the expiry date (module doc)
PAST_LAST_TRADE = "the contract is past its last trade time and no longer trades"   # (wording: a guess)
_ENGINE_STATUS = {"executed": "Filled", "canceled": "Cancelled", "resting": "Submitted"}


@dataclass(frozen=True)
class FxContract:
    """One ForecastEx contract as IB describes it (secType OPT on exchange FORECASTX, USD)."""
    con_id: int
    symbol: str          # the product code, e.g. "FF"
    expiry: str          # lastTradeDateOrContractMonth, YYYYMMDD
    strike: str          # decimal string: the question's threshold
    right: str           # "C" = YES, "P" = NO
    exchange: str = "FORECASTX"
    sec_type: str = "OPT"
    long_name: str = ""  # the question
    last_trade_time: str = LAST_TRADE_TIME   # HH:MM:SS US/Central on `expiry` (IB's ContractDetails lastTradeTime)
    # IB's ContractDetails tradingHours, US/Central ("20261205:CLOSED;20261207:0700-20261207:1600");
    # None: open around the clock, the sim's default (`trading_hours`), so runs at any hour trade
    trading_hours: str | None = None


def trading_hours(c: FxContract, now_ms: int, days: int = 7) -> str:
    """Contract `c`'s tradingHours as IB lists them: its own, else a session around the clock on
    each of `days` days from `now_ms`'s date in US/Central ("20261202:0000-20261203:0000;…")."""
    if c.trading_hours is not None:
        return c.trading_hours
    today = datetime.fromtimestamp(now_ms / 1000, EXCHANGE_TZ).date()
    return ";".join(f"{today + timedelta(days=k):%Y%m%d}:0000-{today + timedelta(days=k + 1):%Y%m%d}:0000"
                    for k in range(days))


def last_trade_ms(c: FxContract) -> int:
    """The epoch ms from which contract `c` no longer trades: its expiry date at its last trade
    time, US/Central."""
    day = datetime.strptime(c.expiry[:8], "%Y%m%d").date()
    at = datetime.combine(day, time.fromisoformat(c.last_trade_time), EXCHANGE_TZ)
    return int(at.timestamp() * 1000)


@dataclass(frozen=True)
class FxQuote:
    """L1 of one contract: BID = its side's best bid, ASK = $1 − the opposite contract's best bid
    (IB's "BuyYesNow"); prices in dollars (None: no quote), sizes in whole contracts."""
    bid: Decimal | None
    bid_size: int
    ask: Decimal | None
    ask_size: int


@dataclass
class FxOrder:
    """One order as IB reports it. `perm_id` is the venue-wide id; (`client_id`, `order_id`) the
    API client's own id (0, 0 for the in-process client)."""
    perm_id: int
    con_id: int
    action: str
    quantity: int                  # whole contracts (0 if the request was not a whole number)
    limit: Decimal                 # $ per contract
    tif: str
    order_type: str = "LMT"
    order_ref: str = ""            # IB Order.orderRef: our client_order_id
    client_id: int = 0
    order_id: int = 0
    account: str = ""
    sim_id: str = ""               # engine order id; "" when refused before reaching the engine
    status: str = "PendingSubmit"  # Submitted | Filled | Cancelled | Inactive (rejected)
    filled: int = 0                # contracts
    reason: str = ""               # why it was rejected / cancelled
    created_ms: int = 0
    done_ms: int = 0
    expires_ms: int = 0            # a DAY order's end (epoch ms, `day_end_ms`); 0: GTC / IOC

    @property
    def done(self) -> bool:
        return self.status in ("Filled", "Cancelled", "Inactive")


@dataclass(frozen=True)
class FxExecution:
    """One execution of one of our orders (commission 0)."""
    exec_id: str                   # IB-style "0000f0e0.<n>.01.01"
    order: FxOrder
    shares: int                    # contracts
    price: Decimal                 # $ per contract paid
    ts_ms: int
    is_taker: bool
    cum_qty: int                   # the order's contracts filled up to and including this one
    avg_price: Decimal             # $ average over those contracts


def day_end_ms(ts_ms: int) -> int:
    """The end of the trading day that epoch ms `ts_ms` falls in: the first 16:00 US/Central
    strictly after it (epoch ms; at 16:00 sharp, the next day's)."""
    local = datetime.fromtimestamp(ts_ms / 1000, EXCHANGE_TZ)
    end = datetime.combine(local.date(), DAY_END, EXCHANGE_TZ)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), DAY_END, EXCHANGE_TZ)
    return int(end.timestamp() * 1000)


class ForecastExBackend:
    """Catalog (conId → contract), the engine `Exchange`, its `PriceProcess`, one account."""

    def __init__(self, scenario: Scenario, seed: int = 0, *, account: str = "DU000001",
                 balance_micros: int = 10_000 * 1_000_000, clock_ms: Callable[[], int] = lambda: 0,
                 first_perm_id: int = 1) -> None:
        self.scenario = scenario
        self.exchange = Exchange(clock_ms)
        make_markets(scenario, "forecastex", self.exchange)
        for m in self.exchange.markets.values():              # before the house's first quotes
            m.min_price, m.max_price = MIN_PRICE, MAX_PRICE
        self.process = PriceProcess(scenario, "forecastex", self.exchange, seed)
        self.process.seed_books()
        self.account = account
        self.exchange.account(account, balance_micros)
        self.contracts: dict[int, tuple[FxContract, str, str]] = {}   # conId → (contract, market, side)
        for _e, _q, l in scenario.listings("forecastex"):
            sym = l.market_id.split("-")[0]
            for con, right, side in ((l.con_ids[0], "C", "yes"), (l.con_ids[1], "P", "no")):
                c = FxContract(con, sym, l.expiry, l.strike, right, long_name=l.title)
                self.contracts[con] = (c, l.market_id, side)
        self.orders: dict[int, FxOrder] = {}       # perm id → order, in placement order
        self._day: dict[int, FxOrder] = {}         # perm id → DAY order that may still rest
        self.by_sim: dict[str, FxOrder] = {}       # engine order id → order
        self._perm = itertools.count(first_perm_id)
        self._execs: list[FxExecution] = []
        self._seen = 0                              # account fills already turned into executions
        self._cum: dict[int, tuple[int, int]] = {}  # perm id → (contracts filled, Σ ticks × contracts)

    # ---- catalog and quotes --------------------------------------------------------------
    def contract(self, con_id: int) -> FxContract | None:
        got = self.contracts.get(con_id)
        return got[0] if got else None

    def contracts_for(self, symbol: str) -> list[FxContract]:
        return [c for c, _m, _s in self.contracts.values() if c.symbol == symbol]

    def quote(self, con_id: int) -> FxQuote:
        """L1 of one contract: BID = own side's best bid, ASK = $1 − the opposite best bid;
        sizes in whole contracts."""
        _c, mkt, side = self.contracts[con_id]
        m = self.exchange.markets[mkt]
        own, opp = m.levels(side), m.levels("no" if side == "yes" else "yes")
        bid = max(own) if own else None
        ob = max(opp) if opp else None
        return FxQuote(Decimal(bid) / FULL if bid else None, own.get(bid, 0) // LOT if bid else 0,
                       Decimal(FULL - ob) / FULL if ob else None, opp.get(ob, 0) // LOT if ob else 0)

    # ---- orders --------------------------------------------------------------------------
    @staticmethod
    def check(action: str, order_type: str, tif: str, quantity: Decimal, limit: Decimal) -> tuple[int, str]:
        """(IB error code, reason) for an order ForecastEx refuses, (0, "") if acceptable."""
        if action != "BUY":
            return 201, "ForecastEx contracts can only be bought; to exit, buy the opposite contract"
        if order_type != "LMT":
            return 201, "ForecastEx accepts limit orders only"
        if tif not in TIFS:
            return 201, f"time in force {tif!r} is not supported (DAY, GTC, IOC)"
        if quantity <= 0 or quantity != quantity.to_integral_value():
            return 201, "ForecastEx trades whole contracts only"
        ticks = limit * FULL
        if ticks != ticks.to_integral_value() or ticks % 100:
            return 110, "The price does not conform to the minimum price variation for this contract."
        if not MIN_PRICE <= ticks <= MAX_PRICE:
            return 201, "the limit price must be within 0.02-0.99"
        return 0, ""

    def place(self, con_id: int, action: str, quantity: Decimal | int, limit: Decimal, tif: str, *,
              order_type: str = "LMT", order_ref: str = "", client_id: int = 0, order_id: int = 0,
              reject: str = "", leave: int | None = None) -> tuple[FxOrder, int]:
        """Submit an order; returns it and the IB error code if it was refused (0 if accepted).
        A refused order is kept with status Inactive (IB lists it among completed orders).
        Fault injection: `reject` refuses a valid order with that reason; `leave`: another
        trader takes all but `leave` contracts of what the order would cross just before it
        arrives (a partial fill, `Exchange.place`)."""
        q = Decimal(quantity)
        now = self.exchange.clock_ms()
        o = FxOrder(next(self._perm), con_id, action, int(q) if q == q.to_integral_value() else 0, limit, tif,
                    order_type, order_ref, client_id, order_id, self.account, created_ms=now,
                    expires_ms=day_end_ms(now) if tif == "DAY" else 0)
        self.orders[o.perm_id] = o
        code, why = self.check(action, order_type, tif, q, limit)
        if not code and con_id not in self.contracts:
            code, why = 200, "No security definition has been found for the request"
        if not code and now >= last_trade_ms(self.contracts[con_id][0]):
            code, why = 201, PAST_LAST_TRADE
        if not code and reject:
            code, why = 201, reject
        if not code:
            _c, mkt, side = self.contracts[con_id]
            try:
                so, _fills = self.exchange.place(self.account, mkt, side, "buy", int(limit * FULL), o.quantity * LOT,
                                                 "ioc" if tif == "IOC" else "gtc",
                                                 leave=None if leave is None else leave * LOT)
            except SimReject as e:
                code, why = 201, (f"insufficient funds: {e}" if e.code == "insufficient_balance" else str(e))
            else:
                o.sim_id = so.order_id
                self.by_sim[so.order_id] = o
                if self.refresh(o).status == "Submitted" and o.expires_ms:
                    self._day[o.perm_id] = o
                return o, 0
        o.status, o.reason, o.done_ms = "Inactive", why, now
        return o, code

    def refresh(self, o: FxOrder) -> FxOrder:
        """Bring status/filled up to date with the engine (a resting order may fill later)."""
        so = self.exchange.orders.get(o.sim_id) if o.sim_id else None
        if so is not None and o.status != "Inactive":
            status = _ENGINE_STATUS[so.status]
            if status != o.status and status != "Submitted":
                o.done_ms = self.exchange.clock_ms()
            o.status, o.filled = status, so.filled // LOT
        return o

    def cancel(self, perm_id: int, reason: str = "cancelled by trader") -> FxOrder:
        """Cancel a resting order (no-op on a done one); raises KeyError if unknown."""
        o = self.refresh(self.orders[perm_id])
        so = self.exchange.orders.get(o.sim_id) if o.sim_id else None
        if so is not None and so.status == "resting":
            self.exchange.cancel(self.account, o.sim_id)
            o.reason = reason
            self.refresh(o)
        return o

    def expire_day_orders(self) -> list[FxOrder]:
        """Cancel every resting DAY order whose trading day has ended by the clock (reason
        `DAY_EXPIRED`); returns them, in placement order."""
        now, gone = self.exchange.clock_ms(), []
        for perm_id, o in list(self._day.items()):
            if self.refresh(o).status == "Submitted" and o.expires_ms > now:
                continue
            del self._day[perm_id]
            if o.status == "Submitted":
                gone.append(self.cancel(perm_id, DAY_EXPIRED))
        return gone

    def all_orders(self) -> list[FxOrder]:
        return [self.refresh(o) for o in self.orders.values()]

    # ---- executions, positions, cash -----------------------------------------------------
    def executions(self) -> list[FxExecution]:
        """Every execution of our orders, oldest first (extended incrementally from the
        account's engine fills; exec ids number the account's fills from 1)."""
        fills = self.exchange.accounts[self.account].fills
        while self._seen < len(fills):
            f = fills[self._seen]
            self._seen += 1
            o = self.by_sim.get(f.order.order_id)
            if o is None:
                continue
            n, cost = self._cum.get(o.perm_id, (0, 0))
            n, cost = n + f.lots // LOT, cost + f.price * (f.lots // LOT)      # contracts, ticks
            self._cum[o.perm_id] = (n, cost)
            self._execs.append(FxExecution(f"0000f0e0.{self._seen:08x}.01.01", o, f.lots // LOT,
                                           Decimal(f.price) / FULL, f.ts_ms, f.is_taker, n,
                                           Decimal(cost) / FULL / n))
        return list(self._execs)

    def positions(self) -> dict[int, int]:
        """IB-style: per conId held contracts (a netted market shows on one side only)."""
        acct = self.exchange.accounts[self.account]
        out: dict[int, int] = {}
        for con, (_c, mkt, side) in self.contracts.items():
            pos = acct.positions.get(mkt, 0)
            if side == "yes" and pos > 0:
                out[con] = pos // LOT
            if side == "no" and pos < 0:
                out[con] = -pos // LOT
        return out

    def avg_cost(self, con_id: int) -> Decimal:
        """Average price ($) paid per contract of `con_id` over all our executions in it."""
        xs = [x for x in self.executions() if x.order.con_id == con_id]
        n = sum(x.shares for x in xs)
        return sum((x.price * x.shares for x in xs), Decimal(0)) / n if n else Decimal(0)

    def cash_micros(self) -> int:
        """The account's cash (µ$), resting orders' reservations included."""
        return self.exchange.accounts[self.account].balance

    def available_micros(self) -> int:
        """Cash not reserved by resting orders (µ$): what a new order may spend."""
        a = self.exchange.accounts[self.account]
        return a.balance - a.held

    def mark_micros(self) -> int:
        """Held contracts marked at their BID (µ$)."""
        total = 0
        for con, n in self.positions().items():
            bid = self.quote(con).bid
            total += int((bid or 0) * 1_000_000) * n
        return total
