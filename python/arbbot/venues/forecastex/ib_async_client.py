"""`IBAsyncClient`: the real `IBClient` on top of ib-async (TWS / IB Gateway).

ForecastEx facts (VENUES.md, factsheet §3): contracts are `secType "OPT"` on exchange
`"FORECASTX"` in USD, right C = YES / P = NO; market data BID = highest bid, ASK = "BuyYesNow";
orders are `LimitOrder('BUY', n, px, tif=DAY|GTC|IOC)`, whole contracts, $0.01 steps in
0.02–0.99, buy-only. Catalog requests are paced (IB pacing violations cost ~10 minutes) and every
qualified contract is cached by conId so it is never looked up twice.

`ib` is an `ib_async.IB` (already connected, or connect with `IBAsyncClient.connect`). Only its
async request methods and its live objects (`Ticker`, `Trade`, `Fill`) are used.
"""
from __future__ import annotations

import asyncio
import math
import time
from decimal import Decimal
from typing import Any, Awaitable, Callable

from ib_async import Contract, LimitOrder, RequestError

from arbbot.venues.common.errors import NotFound, NotSent, OrderRejected, RateLimited, TransportError
from arbbot.venues.forecastex.client import IBContract, IBFill, IBQuote, IBTrade

EXCHANGE = "FORECASTX"
PACING_PENALTY_S = 600.0                  # "pacing violations cost a ~10-minute penalty"
# IB error codes meaning "you asked too fast": 100 max message rate exceeded, 162 with a pacing
# message (historical-data service), 420 pacing violation on market-data requests.
_PACING_CODES = {100, 162, 420}
_CENT = Decimal("0.01")
_UNSET = 1e300                            # ib-async leaves UNSET_DOUBLE (~1.8e308) for "no value"
# IB error codes that refuse a new order: 103 duplicate order id, 110 price off the tick grid,
# 200 no such contract, 201 order rejected, 203 not allowed for the account.
_REJECT_CODES = {103, 110, 200, 201, 203}
# IB error codes that refuse a streaming market data request for lack of lines: 101 max number of
# tickers reached (the account's market data lines, 100 by default, are all in use)
_LINE_CODES = {101}


class Pacer:
    """At most `rate` catalog requests per second (burst `burst`); a pacing error blocks all
    requests for `penalty_s`. `clock`/`sleep` are injectable so tests need not wait."""

    def __init__(self, rate: float = 5.0, burst: int = 5, penalty_s: float = PACING_PENALTY_S, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.rate, self.burst, self.penalty_s = rate, burst, penalty_s
        self.clock, self.sleep = clock, sleep
        self.tokens = float(burst)
        self.stamp = clock()
        self.blocked_until = 0.0
        self.waited = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self.clock()
                self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                wait = self.blocked_until - now if now < self.blocked_until else \
                    (0.0 if self.tokens >= 1 - 1e-9 else (1 - self.tokens) / self.rate)
                if wait <= 0:
                    self.tokens = max(0.0, self.tokens - 1)
                    return
                self.waited += wait
                await self.sleep(wait)

    def penalize(self) -> None:
        self.tokens = 0.0
        self.blocked_until = max(self.blocked_until, self.clock() + self.penalty_s)

    def penalty_left(self) -> float:
        return max(0.0, self.blocked_until - self.clock())


def _is_pacing(e: RequestError) -> bool:
    return e.code in _PACING_CODES and (e.code != 162 or "pacing" in str(e).lower())


def _num(x: Any) -> float | None:
    """An IB float, or None when unset (NaN, -1 'no quote', UNSET_DOUBLE)."""
    if x is None:
        return None
    f = float(x)
    if math.isnan(f) or f < 0 or f > _UNSET:
        return None
    return f


def dollars(x: float) -> Decimal:
    """An IB price float on the $0.01 grid as an exact Decimal; off-grid prices are refused."""
    d = Decimal(repr(float(x)))
    q = d.quantize(_CENT)
    if abs(d - q) > Decimal("0.000001"):
        raise ValueError(f"forecastex price {x!r} is not on the $0.01 grid")
    return q


def _limit(x: Any) -> Decimal:
    """An order's limit as reported by IB: on-grid exactly; an order placed by another tool may
    be off-grid (kept as is) or have none (market order: 0)."""
    f = _num(x)
    if f is None:
        return Decimal(0)
    try:
        return dollars(f)
    except ValueError:
        return Decimal(repr(f))


def _quote(t: Any) -> IBQuote:
    """An ib_async Ticker's BID/ASK (with sizes) as an `IBQuote`; an unset side is None."""
    bid, ask = _num(t.bid), _num(t.ask)
    bs, asz = _num(t.bidSize), _num(t.askSize)
    return IBQuote(dollars(bid) if bid else None, int(bs or 0) if bid else 0,
                   dollars(ask) if ask else None, int(asz or 0) if ask else 0)


def _ib_contract(c: Contract, long_name: str = "") -> IBContract:
    strike = Decimal(repr(float(c.strike))).normalize()
    return IBContract(con_id=c.conId, symbol=c.symbol, expiry=c.lastTradeDateOrContractMonth[:8],
                      strike=format(strike, "f"), right=c.right, exchange=c.exchange or EXCHANGE,
                      sec_type=c.secType, long_name=long_name)


class IBAsyncClient:
    """`IBClient` over a live `ib_async.IB`."""

    def __init__(self, ib: Any, *, pacer: Pacer | None = None, account: str = "",
                 quote_timeout: float = 2.0, ack_timeout: float = 2.0, currency: str = "USD") -> None:
        self.ib = ib
        self.pacer = pacer or Pacer()
        self.account = account
        self.quote_timeout = quote_timeout
        self.ack_timeout = ack_timeout
        self.currency = currency
        self.contracts: dict[int, Contract] = {}        # conId → qualified contract (cache)
        self.catalog: dict[int, IBContract] = {}
        self.tickers: dict[int, Any] = {}               # conId → live ib_async Ticker
        self.trades: dict[int, Any] = {}                # orderId → live ib_async Trade
        self.address: tuple[str, int, int, float] | None = None   # (host, port, clientId, timeout) to reconnect
        self.reconnects = 0
        self._connecting = asyncio.Lock()
        self.refused: dict[int, str] = {}               # conId → IB's refusal of its streaming data (lines)
        errors = getattr(ib, "errorEvent", None)
        if errors is not None:
            errors += self._on_error

    def _on_error(self, req_id: int, code: int, message: str, contract: Any = None, *_: Any) -> None:
        """ib_async's errorEvent: note a streaming market data request refused for lack of lines."""
        con_id = getattr(contract, "conId", 0)
        if code in _LINE_CODES and con_id:
            self.refused[con_id] = f"IB error {code}: {message}"

    @classmethod
    async def connect(cls, host: str = "127.0.0.1", port: int = 7497, client_id: int = 11, *,
                      timeout: float = 4.0, **kw: Any) -> "IBAsyncClient":
        """Connect a new `ib_async.IB` (it fetches positions, open and completed orders, account
        values and executions on connect, which is what `all_trades`/`fills` report after a
        restart). Connection failures raise `TransportError`."""
        from ib_async import IB
        ib = IB()
        try:
            await ib.connectAsync(host, port, clientId=client_id, timeout=timeout)
        except (OSError, asyncio.TimeoutError, ConnectionError) as e:
            raise TransportError(f"forecastex: cannot connect to TWS at {host}:{port} as client {client_id}: {e!r}",
                                 venue="forecastex") from e
        client = cls(ib, **kw)
        client.address = (host, port, client_id, timeout)
        return client

    async def _connected(self) -> None:
        """Market data needs a live TWS connection: after a lost one, connect again (same client
        id, `address`) and forget the dead tickers. TransportError while TWS is unreachable."""
        if self.ib.isConnected():
            return
        async with self._connecting:
            if self.ib.isConnected():
                return
            self.tickers.clear()
            if self.address is None:
                raise TransportError("forecastex: not connected to TWS", venue="forecastex")
            host, port, client_id, timeout = self.address
            try:
                await self.ib.connectAsync(host, port, clientId=client_id, timeout=timeout)
            except (OSError, asyncio.TimeoutError, ConnectionError) as e:
                raise TransportError(f"forecastex: cannot reconnect to TWS at {host}:{port}: {e!r}",
                                     venue="forecastex") from e
            self.reconnects += 1

    async def _paced(self, what: str, fn: Callable[[], Awaitable[Any]]) -> Any:
        await self.pacer.acquire()
        try:
            return await fn()
        except RequestError as e:
            if _is_pacing(e):
                self.pacer.penalize()
                raise RateLimited(f"forecastex: IB pacing violation on {what}; backing off "
                                  f"{self.pacer.penalty_s:.0f}s", venue="forecastex",
                                  retry_after=self.pacer.penalty_s, code=str(e.code)) from e
            raise TransportError(f"forecastex: {what} failed: {e}", venue="forecastex",
                                 code=str(e.code)) from e

    def _remember(self, c: Contract, long_name: str = "") -> IBContract | None:
        if c is None or not c.conId or c.secType != "OPT" or c.right not in ("C", "P"):
            return None
        self.contracts[c.conId] = c
        ic = _ib_contract(c, long_name or self.catalog.get(c.conId, IBContract(0, "", "", "", "")).long_name)
        self.catalog[c.conId] = ic
        return ic

    # -- catalog ---------------------------------------------------------------------------
    async def contract_details(self, symbol: str) -> list[IBContract]:
        """Every ForecastEx question of a product: one paced `reqContractDetails` on the
        partially specified OPT contract (qualifyContracts refuses such an ambiguous contract)."""
        probe = Contract(secType="OPT", symbol=symbol, exchange=EXCHANGE, currency=self.currency)
        details = await self._paced(f"contract details {symbol}",
                                    lambda: self.ib.reqContractDetailsAsync(probe))
        out = []
        for d in details or []:
            ic = self._remember(d.contract, d.longName)
            if ic is not None and d.contract.exchange == EXCHANGE:
                out.append(ic)
        return out

    async def qualify(self, symbol: str, expiry: str, strike: str) -> tuple[IBContract, IBContract]:
        """The (YES, NO) pair of one question via `qualifyContracts`; cached by conId."""
        for yes in self.catalog.values():
            if (yes.symbol, yes.expiry, yes.strike, yes.right) == (symbol, expiry, strike, "C"):
                no = next((n for n in self.catalog.values() if (n.symbol, n.expiry, n.strike, n.right)
                           == (symbol, expiry, strike, "P")), None)
                if no is not None:
                    return yes, no
        pair = [Contract(secType="OPT", symbol=symbol, exchange=EXCHANGE, currency=self.currency,
                         lastTradeDateOrContractMonth=expiry, strike=float(strike), right=r)
                for r in ("C", "P")]
        got = await self._paced(f"qualify {symbol} {expiry} {strike}",
                                lambda: self.ib.qualifyContractsAsync(*pair))
        if len(got) != 2 or any(not isinstance(c, Contract) or not c.conId for c in got):
            raise NotFound(f"forecastex: {symbol} {expiry} {strike} did not qualify", venue="forecastex")
        yes, no = (self._remember(c) for c in got)
        return yes, no

    async def _contract(self, con_id: int) -> Contract:
        c = self.contracts.get(con_id)
        if c is None:
            got = await self._paced(f"qualify conId {con_id}",
                                    lambda: self.ib.qualifyContractsAsync(Contract(conId=con_id)))
            if not got or not isinstance(got[0], Contract) or self._remember(got[0]) is None:
                raise NotFound(f"forecastex: unknown conId {con_id}", venue="forecastex")
            c = self.contracts[con_id]
        return c

    # -- market data -----------------------------------------------------------------------
    async def quote(self, con_id: int) -> IBQuote:
        """L1 of one contract from its streaming ticker (subscribed once, then read live; it takes
        one of the account's market data lines). RateLimited when IB refuses it for lack of lines."""
        await self._connected()
        t = self.tickers.get(con_id)
        if t is None:
            c = await self._contract(con_id)
            self.refused.pop(con_id, None)
            t = self.ib.reqMktData(c, "", False, False)
            self.tickers[con_id] = t
            deadline = time.monotonic() + self.quote_timeout
            while (_num(t.bid) is None and _num(t.ask) is None and con_id not in self.refused
                   and time.monotonic() < deadline):
                await asyncio.sleep(0.05)
        if con_id in self.refused:
            del self.tickers[con_id]
            raise RateLimited(f"forecastex: no streaming market data for conId {con_id} ({self.refused.pop(con_id)}): "
                              "the account's market data lines are in use (setting forecastex_market_data_lines)",
                              venue="forecastex")
        return _quote(t)

    async def snapshot_quote(self, con_id: int) -> IBQuote:
        """L1 of one contract from a snapshot request (`reqTickersAsync`: reqMktData with
        snapshot=True, answered up to tickSnapshotEnd), within `quote_timeout`."""
        await self._connected()
        c = await self._contract(con_id)
        try:
            async with asyncio.timeout(self.quote_timeout):     # (wait_for can swallow a cancel on 3.11)
                tickers = await self.ib.reqTickersAsync(c)
        except TimeoutError:
            raise TransportError(f"forecastex: no snapshot for conId {con_id} within {self.quote_timeout}s",
                                 venue="forecastex") from None
        return _quote(tickers[0])

    # -- orders ----------------------------------------------------------------------------
    def _status(self, t: Any) -> IBTrade:
        """An ib_async `Trade` as an `IBTrade`.

        Completed orders reported on connect carry no API order id (IB's completedOrder message
        has none): the id is taken from an execution of the same permId, else −permId (negative
        so it never collides with an API order id). A Cancelled order that IB refused (error
        code in the trade log, nothing filled) is reported as Inactive, i.e. rejected."""
        o, st = t.order, t.orderStatus
        oid = o.orderId
        if not oid:
            ex = [f.execution for f in t.fills] + [f.execution for f in self.ib.fills()]
            oid = next((e.orderId for e in ex if o.permId and e.permId == o.permId and e.orderId > 0), 0) \
                or -o.permId
        fq = o.filledQuantity if isinstance(o.filledQuantity, (int, float)) and 0 <= o.filledQuantity < _UNSET else 0
        filled = int(max(st.filled or 0, t.filled(), fq))
        status = st.status or "PendingSubmit"
        if status == "Cancelled" and not filled and any(e.errorCode in _REJECT_CODES for e in t.log):
            status = "Inactive"
        return IBTrade(order_id=oid, con_id=t.contract.conId, status=status, quantity=int(o.totalQuantity),
                       filled=filled, limit=_limit(o.lmtPrice), order_ref=o.orderRef or "",
                       perm_id=o.permId or st.permId or 0)

    async def _executions_of(self, t: Any, deadline: float) -> None:
        """Wait (until `deadline`, monotonic s) for the executions of what `t` filled: IB sends the
        order status and the executions (execDetails) apart, in no set order, and an order's cost
        is read from its executions."""
        while t.filled() < (t.orderStatus.filled or 0) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    async def place_limit(self, con_id: int, action: str, quantity: int, limit: Decimal, tif: str, *,
                          order_ref: str = "") -> IBTrade:
        """BUY `quantity` contracts at `limit`; `order_ref` (our client_order_id) travels as IB's
        `Order.orderRef` and comes back with the order after a reconnect."""
        if action != "BUY":
            raise OrderRejected("forecastex is buy-only: to exit, buy the opposite contract", venue="forecastex")
        if int(quantity) != quantity or quantity <= 0:
            raise OrderRejected("forecastex trades whole contracts only", venue="forecastex")
        if limit != limit.quantize(_CENT) or not Decimal("0.02") <= limit <= Decimal("0.99"):
            raise OrderRejected("forecastex prices are $0.01 steps within 0.02-0.99", venue="forecastex")
        if tif not in ("DAY", "GTC", "IOC"):
            raise OrderRejected("forecastex supports DAY, GTC and IOC only", venue="forecastex")
        c = await self._contract(con_id)
        order = LimitOrder("BUY", int(quantity), float(limit), tif=tif, orderRef=order_ref)
        if self.account:
            order.account = self.account
        try:
            t = self.ib.placeOrder(c, order)
        except ConnectionError as exc:          # ib_async refuses to write on a closed socket
            raise NotSent(f"forecastex: order not sent ({exc})", venue="forecastex") from None
        self.trades[t.order.orderId] = t
        deadline = time.monotonic() + self.ack_timeout
        while t.orderStatus.status in ("", "PendingSubmit", "ApiPending") and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if tif == "IOC":
            while not t.isDone() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        await self._executions_of(t, deadline)
        return self._status(t)

    async def cancel(self, order_id: int) -> IBTrade:
        t = self.trades.get(order_id) or next((x for x in self.ib.trades() if x.order.orderId == order_id), None)
        if t is None:
            raise NotFound(f"forecastex: unknown order {order_id}", venue="forecastex")
        self.trades[order_id] = t
        if not t.isDone():
            self.ib.cancelOrder(t.order)
            deadline = time.monotonic() + self.ack_timeout
            while not t.isDone() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await self._executions_of(t, deadline)
        return self._status(t)

    def _ours(self, t: Any) -> bool:
        return t.contract.exchange == EXCHANGE or t.contract.conId in self.contracts

    async def open_trades(self) -> list[IBTrade]:
        return [self._status(t) for t in self.ib.openTrades() if self._ours(t)]

    async def refresh_orders(self) -> None:
        """Ask TWS again for executions, open and completed orders (paced): after a lost answer
        the local ib_async cache may not know what became of an order; this is how it learns."""
        await self._paced("executions", lambda: self.ib.reqExecutionsAsync())
        await self._paced("open orders", lambda: self.ib.reqOpenOrdersAsync())
        await self._paced("completed orders", lambda: self.ib.reqCompletedOrdersAsync(False))

    async def all_trades(self) -> list[IBTrade]:
        """Open and completed ForecastEx orders: placed this session, or reported on connect
        (`reqOpenOrders` / `reqCompletedOrders`, which ib_async runs in `connectAsync`)."""
        return [self._status(t) for t in self.ib.trades() if self._ours(t)]

    # -- account ---------------------------------------------------------------------------
    async def positions(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for p in self.ib.positions(self.account):
            if p.contract.exchange in ("", EXCHANGE) and p.contract.secType == "OPT" \
                    and (p.contract.exchange == EXCHANGE or p.contract.conId in self.contracts) and p.position:
                out[p.contract.conId] = out.get(p.contract.conId, 0) + int(p.position)
        return out

    async def fills(self) -> list[IBFill]:
        out = []
        for f in self.ib.fills():
            c, e, cr = f.contract, f.execution, f.commissionReport
            if c.conId not in self.contracts and c.exchange != EXCHANGE:
                continue
            com = _num(cr.commission) if cr is not None else None
            out.append(IBFill(exec_id=e.execId, order_id=e.orderId, con_id=c.conId, shares=int(e.shares),
                              price=dollars(e.price), commission=Decimal(repr(com)) if com else Decimal(0),
                              ts_ms=int(f.time.timestamp() * 1000), is_taker=e.lastLiquidity != 1,
                              perm_id=e.permId or 0))
        return out

    async def cash(self) -> Decimal:
        for v in self.ib.accountValues(self.account):
            if v.tag == "TotalCashValue" and v.currency == self.currency:
                return Decimal(v.value)
        return Decimal(0)

    async def close(self) -> None:
        if self.ib.isConnected():
            for con_id in list(self.tickers):
                self.ib.cancelMktData(self.contracts[con_id])
            self.ib.disconnect()
        self.tickers.clear()
