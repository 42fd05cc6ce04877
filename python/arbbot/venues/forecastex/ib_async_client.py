"""`IBAsyncClient`: the real `IBClient` on top of ib-async (TWS / IB Gateway).

ForecastEx facts (VENUES.md, factsheet §3): contracts are `secType "OPT"` on exchange
`"FORECASTX"` in USD, right C = YES / P = NO; market data BID = highest bid, ASK = "BuyYesNow";
orders are `LimitOrder('BUY', n, px, tif=DAY|GTC|IOC)`, whole contracts, $0.01 steps in
0.02–0.99, buy-only. Catalog requests are paced (IB pacing violations cost ~10 minutes) and every
qualified contract is cached by conId so it is never looked up twice.

`ib` is an `ib_async.IB` (already connected, or connect with `IBAsyncClient.connect`). Only its
async request methods and its live objects (`Ticker`, `Trade`, `Fill`) are used.

Connection: every call first makes sure the TWS socket is up (`_connected`: reconnects with the
same client id after a drop, which re-fetches positions, orders, executions and account values);
a lost connection surfaces as `TransportError` (`NotSent` for an order that was not written), never
as an empty answer. `ib.RaiseRequestErrors` is set, so a refused request (pacing, no such
contract) raises instead of answering nothing. TWS's connectivity messages (1100/1101/1102,
2103-2106, 2110) mark the streamed market data down / up (`market_data_down`); after 1101 ("data
lost") the tickers are requested again and orders, executions, positions and account values are
asked for again before the next call. 10197 (a competing session has the user's market data)
marks it down too, until a snapshot request is answered again.
"""
from __future__ import annotations

import asyncio
import logging
import math
import re
import struct
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

from ib_async import Contract, LimitOrder, RequestError

from arbbot.venues.common.errors import NotFound, NotSent, OrderRejected, RateLimited, TransportError, VenueError
from arbbot.venues.forecastex.client import IBContract, IBFill, IBQuote, IBTrade, NoMarketDataLine, NoStreamAnswer
from arbbot.venues.forecastex.costs import current_versions
from arbbot.venues.forecastex.hours import EXCHANGE_ZONE, TradingHours, trading_hours

log = logging.getLogger("arbbot.venues.forecastex")

EXCHANGE = "FORECASTX"
PACING_PENALTY_S = 600.0                  # "pacing violations cost a ~10-minute penalty"
# the longest any one IB request (catalog, orders, executions, positions, account) is awaited: ib_async
# files reqOpenOrders / reqCompletedOrders / reqPositions / reqAccountUpdates under fixed names, so an
# answer it never routes to a request (one replaced by another of the same name, one TWS dropped)
# would otherwise be awaited forever
REQUEST_TIMEOUT_S = 30.0
# IB error codes meaning "you asked too fast": 100 max message rate exceeded, 162 with a pacing
# message (historical-data service), 420 pacing violation on market-data requests.
_PACING_CODES = {100, 162, 420}
_CENT = Decimal("0.01")
_UNSET = 1e300                            # ib-async leaves UNSET_DOUBLE (~1.8e308) for "no value"
# IB error codes that refuse a new order: 103 duplicate order id, 110 price off the tick grid,
# 200 no such contract, 201 order rejected, 203 not allowed for the account.
_REJECT_CODES = {103, 110, 200, 201, 203}
# IB error codes that end an order (TWS's word, as are the rejections): 202 order cancelled. Any
# other error code on an order is not known to end it, though ib_async marks the order Cancelled
# for every code not in its warning list: e.g. 10349 "Order TIF was set to DAY based on order
# preset", after which the order works (and fills) at IB (ib_async issues #191, #217).
_ENDING_CODES = _REJECT_CODES | {202}
# IB error codes that refuse a streaming market data request for lack of lines: 101 max number of
# tickers reached (the account's market data lines, 100 by default, are all in use)
_LINE_CODES = {101}
# ib_async turns these "warnings" (321, 399, 404, 434, 2100-2199, ...) into the trade status
# `ValidationError`, even on a filled order. Of them, 321 ("Error validating request") on an order
# TWS never acknowledged means the order was refused (e.g. TWS's Read-Only API setting): not placed.
_REFUSING_WARNINGS = {321}
_PENDING = ("", "PendingSubmit", "ApiPending")
_DONE = ("Filled", "Cancelled", "ApiCancelled", "Inactive")
# TWS connectivity messages (reqId -1): what they say about the market data we stream
_LOST = {1100: "ib", 2110: "server"}      # TWS <-> IB servers down: nothing streams
_FARM_DOWN = {2103: "farm", 2105: "hmds"}  # a market data / historical data farm connection broken
_FARM_UP = {2104: "farm", 2106: "hmds"}
DATA_LOST, DATA_KEPT = 1101, 1102          # connectivity restored: subscriptions lost / maintained
# 10197 "No market data during competing live session": the same user logged in to IBKR Mobile, the
# web or ForecastTrader, which takes the user's market data; this session's quotes freeze. IB says
# nothing when the other session ends (a farm's 2104/2106 OK is no sign: it comes at such a login
# too), so only an answered market data request shows that data flows again.
COMPETING = 10197
_COMPETING = "competing"                  # its cause in `down`
COMPETING_PROBE_S = 1.0                   # at most one snapshot request a second reaches IB meanwhile
# the IB "day" whose executions reqExecutions lists starts at midnight ("only those executions
# occurring since midnight"), in a time zone IB does not name: these candidates, the latest wins
_HOME_ZONE = ZoneInfo("America/New_York")
# ForecastEx's time zone (its contract details name US/Central): a last trade time without a zone is read in it
_EXCHANGE_ZONE = EXCHANGE_ZONE


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


def _request_error(what: str, e: RequestError) -> VenueError:
    """A request IB refused, as a VenueError: 200 (no security definition) is NotFound."""
    if e.code == 200:
        return NotFound(f"forecastex: {what}: {e}", venue="forecastex", code=str(e.code))
    return TransportError(f"forecastex: {what} failed: {e}", venue="forecastex", code=str(e.code))


def _farm(message: str) -> str:
    """The farm a 2103-2106 message names ("Market data farm connection is broken:usfarm")."""
    return message.rsplit(":", 1)[1].strip() if ":" in message else ""


def _offset_min(conn_time: str, now_ms: int) -> int | None:
    """TWS's UTC offset (minutes, to the quarter hour) from its handshake clock "yyyymmdd hh:mm:ss
    <zone>" (local wall time) read at UTC `now_ms`; None if unreadable or implausible."""
    m = re.match(r"\s*(\d{8})[ -]+(\d{2}:\d{2}:\d{2})", conn_time)
    if not m:
        return None
    local = datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H:%M:%S")
    utc = datetime.fromtimestamp(now_ms / 1000, timezone.utc).replace(tzinfo=None)
    off = round((local - utc).total_seconds() / 900) * 15
    return off if -14 * 60 <= off <= 14 * 60 else None


def _midnight_ms(now_ms: int, tz) -> int:
    """The UTC epoch ms of the last midnight (≤ now) in time zone `tz`."""
    local = datetime.fromtimestamp(now_ms / 1000, tz)
    return int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)


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


def _current_fills(fills: list) -> list[tuple[Any, str]]:
    """ib_async `Fill`s with each execution once: (its latest version, its first version's
    execId). ib_async keeps an execution IB corrected ("….01.02" corrects "….01.01") as a second
    fill; the correction replaces the original (`costs.current_versions`)."""
    return current_versions(fills, lambda f: f.execution.execId)


def _filled(t: Any) -> int:
    """Contracts the executions of ib_async Trade `t` filled, a corrected execution counted once
    (ib_async's `Trade.filled()` adds the correction to the original)."""
    return int(sum(f.execution.shares for f, _xid in _current_fills(t.fills)))


def _ib_contract(c: Contract, long_name: str = "", last_trade_ms: int = 0,
                 hours: TradingHours | None = None) -> IBContract:
    strike = Decimal(repr(float(c.strike))).normalize()
    return IBContract(con_id=c.conId, symbol=c.symbol, expiry=c.lastTradeDateOrContractMonth[:8],
                      strike=format(strike, "f"), right=c.right, exchange=c.exchange or EXCHANGE,
                      sec_type=c.secType, long_name=long_name, last_trade_ms=last_trade_ms, hours=hours)


def last_trade_ms(d: Any) -> int:
    """IB's last trade time of ContractDetails `d` as UTC epoch ms: its contract's last trade date
    (YYYYMMDD) at `lastTradeTime` ("HH:MM[:SS]"; IB sends them as one field, "20261216 16:00:00
    US/Central", which ib_async splits) in `timeZoneId` (ForecastEx's US/Central when IB names
    none or one unknown here); 0 when IB gave no time."""
    day = (getattr(getattr(d, "contract", None), "lastTradeDateOrContractMonth", "") or "")[:8]
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*", getattr(d, "lastTradeTime", "") or "")
    if not m or not re.fullmatch(r"\d{8}", day):
        return 0
    try:
        zone = ZoneInfo(d.timeZoneId) if getattr(d, "timeZoneId", "") else _EXCHANGE_ZONE
    except (KeyError, ValueError, OSError):         # (ZoneInfoNotFoundError is a KeyError)
        zone = _EXCHANGE_ZONE
    try:
        at = datetime.strptime(day, "%Y%m%d").replace(hour=int(m.group(1)), minute=int(m.group(2)),
                                                      second=int(m.group(3) or 0), tzinfo=zone)
    except ValueError:
        return 0
    return int(at.timestamp() * 1000)


def _looks_forecastex(c: Any) -> bool:
    """An IB option contract shaped as a ForecastEx one: right C/P, a YYYYMMDD last trade date and,
    when IB gives it, a local symbol ending in YES / NO ("FF 20261216 4.125 YES"; an equity option
    of the same symbol has an OCC local symbol, "FF    261218C00005000")."""
    local = (c.localSymbol or "").split()
    return c.right in ("C", "P") and bool(re.fullmatch(r"\d{8}", (c.lastTradeDateOrContractMonth or "")[:8])) \
        and (not local or local[-1] in ("YES", "NO"))


class IBAsyncClient:
    """`IBClient` over a live `ib_async.IB`."""

    def __init__(self, ib: Any, *, pacer: Pacer | None = None, account: str = "",
                 quote_timeout: float = 2.0, ack_timeout: float = 2.0, currency: str = "USD",
                 request_pacer: Pacer | None = None,
                 wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
                 request_timeout: float = REQUEST_TIMEOUT_S, products: Any = (),
                 every_client: bool = False) -> None:
        self.ib = ib
        # an observer (`arbbot reconcile`, connected beside the bot under another client id): IB's
        # reqOpenOrders lists the requesting client's open orders only, so the bot's working ones
        # are asked for with reqAllOpenOrders (every client's), on connect and on every refresh
        self.every_client = every_client
        # a refused request raises RequestError (ib_async's default answers it with nothing)
        ib.RaiseRequestErrors = True
        self.pacer = pacer or Pacer()               # catalog requests (a pacing violation: ~10 minutes)
        # order / execution lookups: never held up by a catalog penalty; IB's message rate only
        self.request_pacer = request_pacer or Pacer(rate=10.0, burst=10, penalty_s=1.0)
        self.wall_ms = wall_ms
        self.account = account
        self.quote_timeout = quote_timeout
        self.ack_timeout = ack_timeout
        self.currency = currency
        self.request_timeout = request_timeout          # s any one IB request is awaited (`_request`)
        # the ForecastEx products traded (the venue adds its symbols): a position IB reports without
        # an exchange is one of ours when its symbol is one of them (`_is_forecastex`)
        self.products: set[str] = set(products)
        self._foreign: set[int] = set()                 # conIds of positions found not to be ForecastEx's
        self.contracts: dict[int, Contract] = {}        # conId → qualified contract (cache)
        self.catalog: dict[int, IBContract] = {}
        self.tickers: dict[int, Any] = {}               # conId → live ib_async Ticker
        # ib_async shares one Ticker per contract between snapshots and the streaming request: what
        # the streaming request itself got is followed by its reqId (`_watch_ticks`)
        self._stream_req: dict[int, int] = {}           # reqId of a streaming request → its conId
        self._live: set[int] = set()                    # conIds whose streaming request got its own ticks
        self._ticks_watched = False                     # (False: an IB without ib_async's wrapper)
        self.trades: dict[int, Any] = {}                # orderId → live ib_async Trade
        self.completed: dict[int, str] = {}             # permId → status of its completed-order record (TWS's)
        self.address: tuple[str, int, int, float] | None = None   # (host, port, clientId, timeout) to reconnect
        self.reconnects = 0
        self._connecting = asyncio.Lock()
        self.refused: dict[int, str] = {}               # conId → IB's refusal of its streaming data (lines)
        self.down: dict[str, str] = {}                  # why streamed quotes are not live: cause → IB message
        self.data_epoch = 0                             # +1 whenever streamed quotes were lost or went down
        self.data_listeners: list[Callable[[str | None], None]] = []   # told (reason / None) on down / up
        self._resync = False                            # 1101: orders, executions, account to ask again
        self._resyncing = asyncio.Lock()                # one resync at a time; other calls wait for it
        # refresh_orders: one at a time (ib_async keys its open / completed orders requests by a fixed
        # name: a second request at once would orphan the first's answer). Numbered as they begin;
        # `_refreshed`: the number of the latest one answered.
        self._refreshing = asyncio.Lock()
        self._refresh_started = 0
        self._refreshed = 0
        # when the latest answered refresh began (UTC, as ib_async's trade log times): an order TWS
        # did not list in it, nor acknowledged before it, was not at IB then (`_refused_unseen`)
        self._listed_since: datetime | None = None
        self.competing_seq = 0                          # +1 on every 10197 (a competing session)
        self._probe_at = 0.0                            # monotonic s of the last snapshot sent while competing
        self.tws_offset_min: int | None = None          # TWS's clock − UTC (minutes), from the handshake
        self._hello: bytearray | None = None            # handshake bytes while waiting for them
        errors = getattr(ib, "errorEvent", None)
        if errors is not None:
            errors += self._on_error
        disconnected = getattr(ib, "disconnectedEvent", None)
        if disconnected is not None:
            disconnected += self._on_disconnected
        conn = getattr(getattr(ib, "client", None), "conn", None)
        if conn is not None and hasattr(conn, "hasData"):
            conn.hasData += self._on_bytes
        self._watch_ticks()

    def _watch_ticks(self) -> None:
        """Note which streaming request a BID/ASK tick answers: ib_async's wrapper applies a tick
        (`priceSizeTick`, `tickSize`, by reqId) to the contract's one shared Ticker, which a snapshot
        may have filled before; only a tick of the streaming request's own reqId shows that IB
        accepted that request and streams it (`quote`)."""
        w = getattr(self.ib, "wrapper", None)
        if w is None or not all(callable(getattr(w, n, None)) for n in ("priceSizeTick", "tickSize")):
            return
        for name in ("priceSizeTick", "tickSize"):
            orig = getattr(w, name)

            def hook(req_id: int, tick_type: int, *args: Any, _orig: Callable = orig) -> None:
                _orig(req_id, tick_type, *args)
                con_id = self._stream_req.get(req_id)
                if con_id is not None:
                    self._live.add(con_id)
            setattr(w, name, hook)
        self._ticks_watched = True

    def _forget_tickers(self) -> None:
        """Every streaming subscription is gone (or dropped): the next read subscribes again."""
        self.tickers.clear()
        self._stream_req.clear()
        self._live.clear()

    @property
    def client_id(self) -> int:
        cid = getattr(getattr(self.ib, "client", None), "clientId", -1)
        return cid if isinstance(cid, int) and cid >= 0 else (self.address[2] if self.address else 0)

    # -- TWS connectivity ------------------------------------------------------------------
    def _on_error(self, req_id: int, code: int, message: str, contract: Any = None, *_: Any) -> None:
        """ib_async's errorEvent: a streaming market data request refused for lack of lines, TWS's
        connectivity messages, and 10197 (a competing session has the user's market data)."""
        con_id = getattr(contract, "conId", 0) or self._stream_req.get(req_id, 0)
        if code in _LINE_CODES and con_id:
            self.refused[con_id] = f"IB error {code}: {message}"
        elif code in _LOST:
            self._went_down(_LOST[code], f"IB {code}: {message}")
        elif code in _FARM_DOWN:
            self._went_down(f"{_FARM_DOWN[code]}:{_farm(message)}", f"IB {code}: {message}")
        elif code in _FARM_UP:
            kind, name = _FARM_UP[code], _farm(message)
            for k in [k for k in self.down if k == f"{kind}:{name}" or (not name and k.startswith(kind + ":"))]:
                del self.down[k]
            self.down.pop("server", None)           # a farm answering: TWS reaches IB's servers again
            self._tell()
        elif code == COMPETING:
            self._competing(f"IB {code}: {message}")
        elif code in (DATA_LOST, DATA_KEPT):
            self.down.pop("ib", None)
            self.down.pop("server", None)
            if code == DATA_LOST:
                # every subscription is gone at TWS: forget the tickers (their values are stale) so
                # the next read requests them again, and ask for orders / executions / account again
                for t in self.tickers.values():
                    t.bid = t.ask = t.bidSize = t.askSize = math.nan
                self._forget_tickers()
                self.data_epoch += 1
                self._resync = True
            self._tell()

    def _on_disconnected(self) -> None:
        """ib_async's disconnectedEvent (the API socket closed: TWS gone, the connection dropped,
        or `close`): every streamed quote is lost; the listeners hear it at once (the next IB
        call connects again, `_connected`, and tells them when it did)."""
        self.data_epoch += 1
        self._tell("TWS API connection lost")

    def _competing(self, why: str) -> None:
        """10197: another session has the user's market data. Streamed quotes are down until a
        snapshot request is answered again (`snapshot_quote`), and every ticker is dropped (its
        values frozen, its subscription perhaps ended at IB): the next streamed read subscribes
        again."""
        self.competing_seq += 1
        for con_id, t in list(self.tickers.items()):
            t.bid = t.ask = t.bidSize = t.askSize = math.nan
            try:
                self.ib.cancelMktData(self.contracts[con_id])
            except (ConnectionError, OSError, KeyError):   # (gone with the connection: nothing to free)
                pass
        self._forget_tickers()
        self._went_down(_COMPETING, why)

    def _data_flows(self, seq: int) -> None:
        """A market data request sent after 10197 number `seq` was answered: the competing session
        is over (unless another 10197 came since)."""
        if seq == self.competing_seq and self.down.pop(_COMPETING, None) is not None:
            self._tell()

    def _went_down(self, cause: str, why: str) -> None:
        new = cause not in self.down
        self.down[cause] = why
        if new:
            self.data_epoch += 1
            self._tell()

    def _tell(self, reason: str | None = None) -> None:
        """Tell the listeners why market data is down now (`reason`, else `market_data_down()`;
        None: it is up)."""
        reason = reason or self.market_data_down()
        for listener in list(self.data_listeners):
            try:
                listener(reason)
            except Exception:                           # a listener's bug must not break ib_async's reader
                log.exception("forecastex: market data listener failed")

    def market_data_down(self) -> str | None:
        """Why streamed quotes cannot be trusted now (TWS lost IB, a data farm broken), or None."""
        return "; ".join(self.down.values()) if self.down else None

    def _on_bytes(self, data: bytes) -> None:
        """The TWS handshake answer ("<version>", "<yyyymmdd hh:mm:ss zone>") carries TWS's clock:
        its offset from UTC places TWS's midnight (`fill_history_start_ms`)."""
        if self._hello is None:
            return
        self._hello += data
        if len(self._hello) < 4:
            return
        n = struct.unpack(">I", bytes(self._hello[:4]))[0]
        if len(self._hello) < 4 + n:
            return
        fields = bytes(self._hello[4:4 + n]).decode(errors="replace").split("\0")
        self._hello = None
        if len(fields) >= 2:
            self.tws_offset_min = _offset_min(fields[1], self.wall_ms())

    def fill_history_start_ms(self) -> int:
        """The wall ms (UTC epoch) from which `fills()` lists every execution: IB's reqExecutions
        lists "only those executions occurring since midnight" (TWS API, Executions), without
        naming the time zone. The latest of the candidate midnights (≤ now): TWS's own (its
        clock's offset at the handshake), UTC's and New York's (IB's home); an execution after it
        is listed by IB under each reading. Before it `fills()` may list some (this session's, or
        more days when TWS's Trade Log shows them) or none."""
        now = self.wall_ms()
        starts = [_midnight_ms(now, timezone.utc), _midnight_ms(now, _HOME_ZONE)]
        if self.tws_offset_min is not None:
            starts.append(_midnight_ms(now, timezone(timedelta(minutes=self.tws_offset_min))))
        return max(starts)

    @classmethod
    async def connect(cls, host: str = "127.0.0.1", port: int = 7497, client_id: int = 11, *,
                      timeout: float = 4.0, **kw: Any) -> "IBAsyncClient":
        """Connect a new `ib_async.IB` (it fetches positions, open and completed orders, account
        values and executions on connect, which is what `all_trades`/`fills` report after a
        restart). Connection failures raise `TransportError`."""
        from ib_async import IB
        client = cls(IB(), **kw)
        client.address = (host, port, client_id, timeout)
        await client._connect()
        return client

    async def _connect(self) -> None:
        """Connect `ib` to `address` (ib_async then fetches positions, open and completed orders,
        account values and executions; any of them failing fails the connection, so no read
        answers from a half-filled cache). TransportError if it cannot."""
        host, port, client_id, timeout = self.address
        self._hello = bytearray()
        try:
            await self.ib.connectAsync(host, port, clientId=client_id, timeout=timeout, raiseSyncErrors=True)
            if self.every_client:                # (connectAsync asked for this client's own only)
                await asyncio.wait_for(self.ib.reqAllOpenOrdersAsync(), timeout)
        except (OSError, asyncio.TimeoutError, ConnectionError, RequestError) as e:
            self.ib.disconnect()                 # half connected (the observer's request failed): not kept
            raise TransportError(f"forecastex: cannot connect to TWS at {host}:{port} as client {client_id}: {e!r}",
                                 venue="forecastex") from e
        finally:
            self._hello = None

    async def _connected(self, *, resync: bool = True) -> None:
        """Every IB call starts here. After a lost connection, connect again (same client id,
        `address`) and forget the dead tickers and trades; after TWS's 1101 ("data lost"), ask
        again for orders, executions, positions and account values (`resync`; while a resync
        runs, wait for it). TransportError while TWS is unreachable (never an answer from the
        wiped cache)."""
        # (ib_async reports itself connected as soon as the API is up, before its start-up requests
        # have filled the cache: while a reconnect runs, wait for it)
        if not self.ib.isConnected() or self._connecting.locked():
            reconnected = False
            async with self._connecting:
                if not self.ib.isConnected():
                    self._forget_tickers()
                    self.trades.clear()
                    self.refused.clear()
                    self.down.clear()
                    self.data_epoch += 1
                    self._resync = False            # a new connection fetches everything anyway
                    if self.address is None:
                        raise TransportError("forecastex: not connected to TWS", venue="forecastex")
                    await self._connect()
                    self.reconnects += 1
                    reconnected = True
            if reconnected:
                self._tell()
        if resync and (self._resync or self._resyncing.locked()):
            await self._resync_now()

    async def _resync_now(self) -> None:
        """After 1101: ask again for orders, executions, positions and account values, once (a
        call arriving meanwhile waits for it; ib_async files positions and account updates under
        fixed names too). Failed, it is asked for again by the next call."""
        async with self._resyncing:
            if not self._resync:
                return                              # done while this call waited
            self._resync = False
            try:
                await self._refresh_orders(self._refresh_started)
                await self._io("positions", self.ib.reqPositionsAsync)
                accounts = self.ib.managedAccounts() if hasattr(self.ib, "managedAccounts") else []
                account = self.account or (accounts[0] if len(accounts) == 1 else "")
                if account:
                    await self._io("account updates", lambda: self.ib.reqAccountUpdatesAsync(account))
            except VenueError:
                self._resync = True                 # asked for again by the next call
                raise

    async def _request(self, what: str, fn: Callable[[], Awaitable[Any]]) -> Any:
        """Await one IB request for at most `request_timeout`: TransportError when no answer came
        (never a caller waiting forever on an answer ib_async will not route to it)."""
        try:
            async with asyncio.timeout(self.request_timeout):   # (wait_for can swallow a cancel on 3.11)
                return await fn()
        except TimeoutError:
            raise TransportError(f"forecastex: {what}: no answer from TWS within {self.request_timeout:g}s",
                                 venue="forecastex") from None

    async def _io(self, what: str, fn: Callable[[], Awaitable[Any]]) -> Any:
        """One IB request: a refused one, one not answered in time or a lost connection as a VenueError."""
        try:
            return await self._request(what, fn)
        except RequestError as e:
            raise _request_error(what, e) from e
        except (ConnectionError, OSError) as e:
            raise TransportError(f"forecastex: {what}: the TWS connection failed ({e!r})", venue="forecastex") from e

    async def _paced(self, what: str, fn: Callable[[], Awaitable[Any]], pacer: Pacer | None = None, *,
                     resync: bool = True) -> Any:
        """One paced IB request (`_io`'s errors; an IB pacing error: RateLimited, the pacer penalized)."""
        pacer = pacer or self.pacer
        await self._connected(resync=resync)
        await pacer.acquire()
        try:
            return await self._request(what, fn)
        except RequestError as e:
            if _is_pacing(e):
                pacer.penalize()
                raise RateLimited(f"forecastex: IB pacing violation on {what}; backing off "
                                  f"{pacer.penalty_s:.0f}s", venue="forecastex",
                                  retry_after=pacer.penalty_s, code=str(e.code)) from e
            raise _request_error(what, e) from e
        except (ConnectionError, OSError) as e:
            raise TransportError(f"forecastex: {what}: the TWS connection failed ({e!r})", venue="forecastex") from e

    def _not_while_penalized(self, what: str) -> None:
        """A catalog lookup on the way to something else (an order, naming a conId) fails at once
        while a pacing penalty runs instead of waiting it out (~10 minutes)."""
        left = self.pacer.penalty_left()
        if left > 0:
            raise RateLimited(f"forecastex: {what}: IB pacing penalty, {left:.0f}s left", venue="forecastex",
                              retry_after=left)

    def _remember(self, c: Contract, long_name: str = "", last_trade: int = 0,
                  hours: TradingHours | None = None) -> IBContract | None:
        if c is None or not c.conId or c.secType != "OPT" or c.right not in ("C", "P"):
            return None
        self.contracts[c.conId] = c
        known = self.catalog.get(c.conId, IBContract(0, "", "", "", ""))
        ic = _ib_contract(c, long_name or known.long_name, last_trade or known.last_trade_ms, hours or known.hours)
        self.catalog[c.conId] = ic
        return ic

    # -- catalog ---------------------------------------------------------------------------
    async def contract_details(self, symbol: str) -> list[IBContract]:
        """Every ForecastEx question of a product: one paced `reqContractDetails` on the
        partially specified OPT contract (qualifyContracts refuses such an ambiguous contract)."""
        probe = Contract(secType="OPT", symbol=symbol, exchange=EXCHANGE, currency=self.currency)
        try:
            details = await self._paced(f"contract details {symbol}",
                                        lambda: self.ib.reqContractDetailsAsync(probe))
        except NotFound:
            return []                                   # IB 200: the product lists nothing
        out = []
        for d in details or []:
            ic = self._remember(d.contract, d.longName, last_trade_ms(d),
                                trading_hours(getattr(d, "tradingHours", ""), getattr(d, "timeZoneId", "")))
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
            self._not_while_penalized(f"qualify conId {con_id}")
            got = await self._paced(f"qualify conId {con_id}",
                                    lambda: self.ib.qualifyContractsAsync(Contract(conId=con_id)))
            if not got or not isinstance(got[0], Contract) or self._remember(got[0]) is None:
                raise NotFound(f"forecastex: unknown conId {con_id}", venue="forecastex")
            c = self.contracts[con_id]
        return c

    def _describe(self, c: Any) -> IBContract | None:
        """An IB contract (of a trade, an execution, a position) as an `IBContract` when IB gave
        what names a ForecastEx market (conId, right C/P, symbol, expiry, strike); cataloged."""
        if c is None or not getattr(c, "conId", 0):
            return None
        known = self.catalog.get(c.conId)
        if known is not None:
            return known
        if c.right not in ("C", "P") or not c.symbol or not re.fullmatch(r"\d{8}", c.lastTradeDateOrContractMonth[:8]) \
                or c.secType not in ("", "OPT") or c.exchange not in ("", EXCHANGE):
            return None
        ic = _ib_contract(c)
        self.catalog[c.conId] = ic
        return ic

    async def contract_of(self, con_id: int) -> IBContract | None:
        """The contract of `con_id`: from what IB reported, else qualified by conId (paced; None
        at once while a pacing penalty runs, or if IB does not know it)."""
        if con_id in self.catalog:
            return self.catalog[con_id]
        try:
            await self._contract(con_id)
        except (NotFound, RateLimited):
            return None
        return self.catalog.get(con_id)

    # -- market data -----------------------------------------------------------------------
    def _check_data(self, con_id: int, *, probe: bool = False) -> None:
        """TransportError while TWS reports its market data down. A snapshot (`probe`) is still
        sent during a competing session (10197), at most one a `COMPETING_PROBE_S`: IB answers
        it with 10197 until the other session ends, and its answer is how we learn it did."""
        now = time.monotonic()
        probing = probe and _COMPETING in self.down and now - self._probe_at >= COMPETING_PROBE_S
        why = [w for cause, w in self.down.items() if not (probing and cause == _COMPETING)]
        if why:
            raise TransportError(f"forecastex: no live market data for conId {con_id}: {'; '.join(why)}",
                                 venue="forecastex")
        if probing:
            self._probe_at = now

    async def quote(self, con_id: int) -> IBQuote:
        """L1 of one contract from its streaming ticker (subscribed once, then read live; it takes
        one of the account's market data lines). Read only once the streaming request itself was
        answered (a tick of its reqId, `_watch_ticks`): the Ticker is ib_async's one for the
        contract, which a snapshot may have filled before, and IB refuses a request for lack of
        lines (101) only after it was sent. NoMarketDataLine (a RateLimited) when IB refused it;
        TransportError while TWS reports its market data down (the ticker is frozen) or when the
        request was not answered within `quote_timeout` (it stays subscribed: a later read waits
        for it again)."""
        await self._connected()
        self._check_data(con_id)
        t = self.tickers.get(con_id)
        if t is None:
            c = await self._contract(con_id)
            self.refused.pop(con_id, None)
            t = self.ib.reqMktData(c, "", False, False)
            self.tickers[con_id] = t
            req_id = self._ticker_req(t)
            if req_id:
                for r in [r for r, k in self._stream_req.items() if k == con_id]:
                    del self._stream_req[r]
                self._stream_req[req_id] = con_id
            self._live.discard(con_id)
        if not self._answered(con_id, t):
            deadline = time.monotonic() + self.quote_timeout
            while not self._answered(con_id, t) and con_id not in self.refused and not self.down \
                    and self.tickers.get(con_id) is t and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            self._check_data(con_id)
            if self.tickers.get(con_id) is not t:     # (a read at the same time learnt it was refused)
                raise TransportError(f"forecastex: the streaming request of conId {con_id} ended before it "
                                     "was answered", venue="forecastex")
            if con_id not in self.refused and not self._answered(con_id, t):
                raise NoStreamAnswer(f"forecastex: no streaming market data for conId {con_id} within "
                                     f"{self.quote_timeout:g}s", venue="forecastex")
        if con_id in self.refused:
            self.unsubscribe(con_id)
            raise NoMarketDataLine(f"forecastex: no streaming market data for conId {con_id} "
                                   f"({self.refused.pop(con_id)}): the account's market data lines are in use "
                                   "(setting forecastex_market_data_lines)", venue="forecastex")
        return _quote(t)

    def _ticker_req(self, t: Any) -> int:
        """The reqId of ib_async's streaming request of Ticker `t` (0 if unknown)."""
        by_type = getattr(getattr(self.ib, "wrapper", None), "ticker2ReqId", None)
        try:
            return int(by_type["mktData"].get(t, 0)) if by_type is not None else 0
        except (KeyError, TypeError, ValueError):
            return 0

    def _answered(self, con_id: int, t: Any) -> bool:
        """Whether the streaming request of `con_id` got its own ticks (without ib_async's wrapper
        to watch: whether its Ticker holds a BID or ASK)."""
        if self._ticks_watched:
            return con_id in self._live
        return _num(t.bid) is not None or _num(t.ask) is not None

    def unsubscribe(self, con_id: int) -> None:
        """Stop streaming `con_id` (free its market data line; one IB refused holds none)."""
        t = self.tickers.pop(con_id, None)
        refused = con_id in self.refused
        for r in [r for r, k in self._stream_req.items() if k == con_id]:
            del self._stream_req[r]
        self._live.discard(con_id)
        if t is not None and not refused and con_id in self.contracts and self.ib.isConnected():
            try:
                self.ib.cancelMktData(self.contracts[con_id])
            except (ConnectionError, OSError):
                pass

    async def snapshot_quote(self, con_id: int) -> IBQuote:
        """L1 of one contract from a snapshot request (reqMktData with snapshot=True), within
        `quote_timeout`: as soon as its BID and ASK came (`_snapshot`). Answered, it also shows
        that market data flows again after a competing session (10197)."""
        await self._connected()
        self._check_data(con_id, probe=True)
        c = await self._contract(con_id)
        seq = self.competing_seq
        try:
            async with asyncio.timeout(self.quote_timeout):     # (wait_for can swallow a cancel on 3.11)
                ticker = await self._io(f"snapshot conId {con_id}", lambda: self._snapshot(c))
        except TimeoutError:
            raise TransportError(f"forecastex: no snapshot for conId {con_id} within {self.quote_timeout}s",
                                 venue="forecastex") from None
        self._data_flows(seq)
        return _quote(ticker)

    async def _snapshot(self, c: Contract) -> Any:
        """One snapshot request for `c` (what ib_async's `reqTickersAsync` sends), its Ticker
        returned once BID and ASK arrived (each a price, or −1 "empty": tick types 1, 2) or the
        request ended (tickSnapshotEnd: a side still missing has no quote). IB sends
        tickSnapshotEnd ~11 s after the data, which `reqTickersAsync` waits for; its late arrival
        then only ends ib_async's record of the request. RequestError when IB refuses it."""
        ib = self.ib
        req_id = ib.client.getReqId()
        ended = ib.wrapper.startReq(req_id, c)                  # done at tickSnapshotEnd or IB's error
        ended.add_done_callback(lambda f: f.cancelled() or f.exception())   # (an error after we returned)
        ticker = ib.wrapper.startTicker(req_id, c, "snapshot")  # (ib_async's Ticker of `c`: shared)
        sides: set[int] = set()
        both = asyncio.Event()

        def on_update(t: Any) -> None:                          # ticks of one TWS message batch
            sides.update(k.tickType for k in t.ticks if k.tickType in (1, 2))
            if len(sides) == 2:
                both.set()
        ticker.updateEvent += on_update
        arrived = asyncio.ensure_future(both.wait())
        try:
            ib.client.reqMktData(req_id, c, "", True, False, [])
            await asyncio.wait((ended, arrived), return_when=asyncio.FIRST_COMPLETED)
            if ended.done():
                ended.result()                                  # IB's refusal raises RequestError
        finally:
            arrived.cancel()
            ticker.updateEvent -= on_update
            ib.wrapper.endTicker(ticker, "snapshot")
        return ticker

    # -- orders ----------------------------------------------------------------------------
    def _status(self, t: Any) -> IBTrade:
        """An ib_async `Trade` as an `IBTrade`.

        Completed orders reported on connect carry no API order id (IB's completedOrder message
        has none): the id is taken from an execution of the same permId, else −permId (negative
        so it never collides with an API order id). A Cancelled order that IB refused (error
        code in the trade log, nothing filled) is reported as Inactive, i.e. rejected. Filled: the
        most IB reported (order status, executions with each correction counted once, a completed
        order's filledQuantity), never more than the order's quantity."""
        o, st = t.order, t.orderStatus
        perm = o.permId or st.permId or 0
        oid, cid = o.orderId, o.clientId or st.clientId or 0
        if not oid or not cid:
            ex = [f.execution for f in t.fills] + [f.execution for f in self.ib.fills()]
            mine = next((e for e in ex if perm and e.permId == perm and e.orderId > 0), None)
            oid = oid or (mine.orderId if mine is not None else -perm)
            cid = cid or (mine.clientId if mine is not None else 0)
        fq = o.filledQuantity if isinstance(o.filledQuantity, (int, float)) and 0 <= o.filledQuantity < _UNSET else 0
        filled = int(max(st.filled or 0, _filled(t), fq))
        if o.totalQuantity:                     # (a completed order reported without it: 0)
            filled = min(filled, int(o.totalQuantity))
        return IBTrade(order_id=oid, con_id=t.contract.conId, status=self._state(t, filled, perm),
                       quantity=int(o.totalQuantity), filled=filled, limit=_limit(o.lmtPrice),
                       order_ref=o.orderRef or "", perm_id=perm, client_id=cid, contract=self._describe(t.contract))

    def _state(self, t: Any, filled: int, perm: int) -> str:
        """The order's IB status: TWS's, not one ib_async made up.

        ib_async sets `ValidationError` on a warning (321, 399, 404, 434, 2100-2199), even after
        Filled: then the last status TWS reported stands (`_tws_status`; Filled when everything
        filled); an order TWS never acknowledged that got a refusing warning (321) was not placed:
        Inactive. ib_async sets `Cancelled` on any other error code, even one that leaves the
        order working (10349, `_made_up_cancel`): then TWS's word stands, its completed-order
        record when asked for since (`refresh_orders`), else the last status it reported —
        PendingSubmit (outcome not known yet: the executor looks the order up) when it reported
        none. A Cancelled order that IB refused (a rejection code in the log, nothing filled) is
        Inactive. 202 (order cancelled) ends the order, but its fills are not known from it: TWS
        may send the notice before the orderStatus and executions of what an IOC filled (IB sets
        no order between them), and ib_async marks the order Cancelled with nothing filled on the
        notice alone. Until TWS's own Cancelled (an orderStatus, or its completed-order record) it
        is PendingCancel: not done, so `place_limit` waits for it and the executor looks the order
        up rather than take it as cancelled unfilled."""
        status = t.orderStatus.status or "PendingSubmit"
        if status == "ValidationError":
            status = self._tws_status(t) or "PendingSubmit"
            if filled and filled >= t.order.totalQuantity:
                status = "Filled"
            elif status in _PENDING and not filled and not perm \
                    and any(e.errorCode in _REFUSING_WARNINGS for e in t.log):
                status = "Inactive"
        elif status == "Cancelled" and self._made_up_cancel(t):
            status = self.completed.get(perm) or self._tws_status(t) or "PendingSubmit"
            if status in _PENDING and not filled and not perm and self._refused_unseen(t):
                status = "Inactive"
        elif status == "Cancelled" and self._cancel_notice_only(t):
            status = self.completed.get(perm) or "PendingCancel"
        if status == "Cancelled" and not filled and any(e.errorCode in _REJECT_CODES for e in t.log):
            status = "Inactive"
        return status

    @staticmethod
    def _tws_status(t: Any) -> str | None:
        """The last status of `t` that TWS reported (an orderStatus; our own PendingSubmit /
        PendingCancel), from ib_async's trade log; None if none. Skipped: what ib_async logs of
        its own — an error code's status (ValidationError, Cancelled) and each fill (logged
        with whatever status then stood)."""
        for e in reversed(t.log):
            if e.status and not e.errorCode and e.status != "ValidationError" and not e.message.startswith("Fill "):
                return e.status
        return None

    def _made_up_cancel(self, t: Any) -> bool:
        """Whether `t`'s Cancelled is ib_async's own, from an error code that is not known to end
        an order (not in `_ENDING_CODES`), with no Cancelled from TWS since (none logged)."""
        cancels = [e.errorCode for e in t.log if e.errorCode and e.status == "Cancelled"]
        return bool(cancels) and cancels[-1] not in _ENDING_CODES \
            and self._tws_status(t) not in ("Cancelled", "ApiCancelled")

    def _refused_unseen(self, t: Any) -> bool:
        """Whether `t`, refused by an error code not known to end an order (ib_async's Cancelled,
        undone by `_made_up_cancel`), was never at IB: TWS acknowledged nothing of it (no permId,
        no status of its own, nothing filled: checked by the caller) and a refresh of executions,
        open and completed orders begun after that error did not list it either (a listed order
        gets its permId from the openOrder ib_async reads; the error's time and the refresh's
        start are both wall clock: a clock stepped back in between could misjudge). An order the
        error left working (10349) is acknowledged with the error, in the same burst, and an open
        or completed order's record carries its permId; a refusal (an order precaution, a size
        limit: any code TWS sends instead of an orderStatus) leaves only the error. Without this,
        such an order stayed PendingSubmit for good and its execution waited on it forever."""
        errors = [e.time for e in t.log if e.errorCode]
        return bool(errors) and self._listed_since is not None and errors[-1] < self._listed_since

    def _cancel_notice_only(self, t: Any) -> bool:
        """Whether `t`'s Cancelled is ib_async's, set on TWS's cancel notice (202), with no Cancelled
        orderStatus from TWS since: what the order filled is not reported yet."""
        cancels = [e.errorCode for e in t.log if e.errorCode and e.status == "Cancelled"]
        return bool(cancels) and cancels[-1] == 202 and self._tws_status(t) not in ("Cancelled", "ApiCancelled")

    async def _executions_of(self, t: Any, deadline: float) -> None:
        """Wait (until `deadline`, monotonic s) for the executions of what `t` filled: IB sends the
        order status and the executions (execDetails) apart, in no set order, and an order's cost
        is read from its executions."""
        while _filled(t) < (t.orderStatus.filled or 0) and time.monotonic() < deadline:
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
        try:                                    # nothing is written before placeOrder: safe to send again
            await self._connected()
            c = await self._contract(con_id)
        except (TransportError, RateLimited) as exc:
            raise NotSent(f"forecastex: order not sent ({exc})", venue="forecastex") from exc
        order = LimitOrder("BUY", int(quantity), float(limit), tif=tif, orderRef=order_ref)
        if self.account:
            order.account = self.account
        try:
            t = self.ib.placeOrder(c, order)
        except ConnectionError as exc:          # ib_async refuses to write on a closed socket
            raise NotSent(f"forecastex: order not sent ({exc})", venue="forecastex") from None
        self.trades[t.order.orderId] = t
        deadline = time.monotonic() + self.ack_timeout
        while self._status(t).status in _PENDING and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if tif == "IOC":
            while self._status(t).status not in _DONE and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        await self._executions_of(t, deadline)
        return self._status(t)

    async def cancel(self, order_id: int) -> IBTrade:
        """Cancel this client's order `order_id` (API order ids are per client: another client's
        order of the same id is not it)."""
        await self._connected()
        me = self.client_id
        t = self.trades.get(order_id) or next((x for x in self.ib.trades() if x.order.orderId == order_id
                                               and x.order.clientId in (0, me)), None)
        if t is None:
            raise NotFound(f"forecastex: unknown order {order_id}", venue="forecastex")
        self.trades[order_id] = t
        if self._status(t).status not in _DONE:
            try:
                self.ib.cancelOrder(t.order)
            except (ConnectionError, OSError) as e:
                raise TransportError(f"forecastex: cancel {order_id}: the TWS connection failed ({e!r})",
                                     venue="forecastex") from e
            deadline = time.monotonic() + self.ack_timeout
            while self._status(t).status not in _DONE and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await self._executions_of(t, deadline)
        return self._status(t)

    def _ours(self, t: Any) -> bool:
        return t.contract.exchange == EXCHANGE or t.contract.conId in self.contracts

    async def open_trades(self) -> list[IBTrade]:
        await self._connected()
        return [self._status(t) for t in self.ib.openTrades() if self._ours(t)]

    async def refresh_orders(self) -> None:
        """Ask TWS again for executions, open and completed orders (paced): after a lost answer
        the local ib_async cache may not know what became of an order; this is how it learns.
        One at a time: a call arriving while another runs waits for it, then is answered by the
        first refresh begun after it arrived (its own, or one that ran meanwhile: e.g. the resync
        after TWS's 1101)."""
        arrived = self._refresh_started
        await self._connected()
        await self._refresh_orders(arrived)

    async def _refresh_orders(self, arrived: int) -> None:
        """`refresh_orders` unless one begun after refresh number `arrived` was answered since."""
        async with self._refreshing:
            if self._refreshed > arrived:
                return
            self._refresh_started += 1
            seq = self._refresh_started
            began = datetime.now(timezone.utc)
            p = self.request_pacer
            await self._paced("executions", lambda: self.ib.reqExecutionsAsync(), p, resync=False)
            await self._paced("open orders", lambda: self.ib.reqAllOpenOrdersAsync() if self.every_client
                              else self.ib.reqOpenOrdersAsync(), p, resync=False)
            done = await self._paced("completed orders", lambda: self.ib.reqCompletedOrdersAsync(False), p,
                                     resync=False)
            # TWS's completed-order records (ib_async logs nothing on them; it keeps only those of
            # orders it did not know): what ended an order ib_async marked Cancelled on an error code
            self.completed = {r.order.permId: r.orderStatus.status for r in done or ()
                              if r.order.permId and not r.log and r.orderStatus.status}
            self._refreshed, self._listed_since = seq, began

    async def all_trades(self) -> list[IBTrade]:
        """Open and completed ForecastEx orders: placed this session, or reported on connect
        (`reqOpenOrders` / `reqCompletedOrders`, which ib_async runs in `connectAsync`)."""
        await self._connected()
        return [self._status(t) for t in self.ib.trades() if self._ours(t)]

    # -- account ---------------------------------------------------------------------------
    async def positions(self) -> dict[int, int]:
        """Held ForecastEx contracts (conId → contracts), as IB reports them (`_is_forecastex`)."""
        await self._connected()
        out: dict[int, int] = {}
        for p in self.ib.positions(self.account):
            if p.position and p.contract.secType == "OPT" and await self._is_forecastex(p.contract):
                self._describe(p.contract)
                out[p.contract.conId] = out.get(p.contract.conId, 0) + int(p.position)
        return out

    async def _is_forecastex(self, c: Any) -> bool:
        """Whether option contract `c` of a position is a ForecastEx one. IB often leaves the
        exchange of a derivative's position empty: then it is one when its conId was catalogued,
        when its symbol is one of the traded `products` (and it is shaped as a ForecastEx contract,
        `_looks_forecastex`), or when IB qualifies its conId to FORECASTX (paced, once per conId;
        RateLimited / TransportError while IB cannot tell: never a position left out unasked).
        Another exchange's option is not."""
        if c.exchange == EXCHANGE or c.conId in self.contracts:
            return True
        if c.exchange or not c.conId or c.conId in self._foreign:
            return False
        if c.symbol in self.products and _looks_forecastex(c):
            return True
        self._not_while_penalized(f"qualify the position's conId {c.conId}")
        try:
            got = await self._paced(f"qualify the position's conId {c.conId}",
                                    lambda: self.ib.qualifyContractsAsync(Contract(conId=c.conId)))
        except NotFound:                            # IB does not describe it (any more)
            got = []
        q = got[0] if got and isinstance(got[0], Contract) else None
        if q is not None and q.exchange == EXCHANGE and self._remember(q) is not None:
            return True
        log.info("forecastex: position in conId %s (%s %s) is not a ForecastEx contract: left out",
                 c.conId, c.symbol, c.localSymbol)
        self._foreign.add(c.conId)
        return False

    async def fills(self) -> list[IBFill]:
        """The account's executions IB reported, each once: an execution IB corrected is its latest
        version (shares, price, commission) under its first version's execId."""
        await self._connected()
        out = []
        for f, exec_id in _current_fills(self.ib.fills()):
            c, e, cr = f.contract, f.execution, f.commissionReport
            if c.conId not in self.contracts and c.exchange != EXCHANGE:
                continue
            com = _num(cr.commission) if cr is not None else None
            out.append(IBFill(exec_id=exec_id, order_id=e.orderId, con_id=c.conId, shares=int(e.shares),
                              price=dollars(e.price), commission=Decimal(repr(com)) if com else Decimal(0),
                              ts_ms=int(f.time.timestamp() * 1000), is_taker=e.lastLiquidity != 1,
                              perm_id=e.permId or 0, client_id=e.clientId or 0, contract=self._describe(c)))
        return out

    async def cash(self) -> Decimal:
        """TotalCashValue in `currency`; TransportError when TWS has not reported it (never 0)."""
        await self._connected()
        for v in self.ib.accountValues(self.account):
            if v.tag == "TotalCashValue" and v.currency == self.currency:
                return Decimal(v.value)
        raise TransportError(f"forecastex: TWS reported no TotalCashValue in {self.currency} (account values "
                             "not received)", venue="forecastex")

    async def close(self) -> None:
        if self.ib.isConnected():
            for con_id in list(self.tickers):
                self.ib.cancelMktData(self.contracts[con_id])
            self.ib.disconnect()
        self._forget_tickers()
