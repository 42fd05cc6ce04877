"""Simulated TWS / IB Gateway for ForecastEx: the TWS API wire protocol on loopback TCP.

An unchanged `ib_async.IB` connects (handshake, startApi, and every request `connectAsync`
makes: positions, open and completed orders, account updates, executions) and trades against
`ForecastExBackend`. Served: reqContractDetails (by symbol or conId), reqMktData (streaming
BID/ASK ticks, pushed when the book moves, at most `market_data_lines` at once over every client, one
more refused with error 101 as IB does; snapshots: the ticks at once, tickSnapshotEnd
`snapshot_end_s` later, ~11 s as IB), placeOrder (LMT BUY, DAY/GTC/IOC; anything
else is refused with an IB `error`), cancelOrder, reqGlobalCancel, reqOpenOrders /
reqAllOpenOrders, reqCompletedOrders, reqExecutions, reqPositions(Multi), reqAccountUpdates(Multi),
reqAccountSummary, reqIds, reqCurrentTime.
Anything else gets an error reply; the server never drops other clients over it.

State (orders, executions, positions, cash) belongs to the server, not to a connection: a client
killed mid-session reconnects and finds its orders (with `orderRef`) in openOrder /
completedOrder and its executions in execDetails. One connection per clientId, as in TWS.

TWS behaviours a test switches on (`TwsFaults`, `sim.tws_faults`; each one a real TWS does): the
API socket dying right after a placeOrder (TWS has the order, no answer leaves), the Read-Only API
setting (placeOrder answered with warning 321, nothing placed), an order message warning (399)
after an order's answers, reqExecutions listing only the current day's executions (since
midnight of the TWS clock `clock_ms`, in its time zone `tz_offset_min`), an execution corrected
(a second execDetails, execId .02 for .01) and the informational error 10349 (TIF set from the
order preset) on every new order. TWS's connectivity messages are played with
`connectivity_lost` (1100), `connectivity_restored` (1101 data lost: every subscription dropped /
1102 kept), `farm_broken` / `farm_ok` (2103 / 2104, 2105 / 2106 for the historical farm) and
`server_link_broken` (2110); no market data flows while TWS lost IB or the market data farm.
`competing_session` / `competing_session_ended`: the user logs in elsewhere (IBKR Mobile, web,
ForecastTrader) and takes the market data (10197 on every market data request meanwhile), then
logs out (nothing is said; data flows again).

The price process steps every `step_interval` seconds (None: only via `step()`). Call `step()`
and anything touching the backend on the server's event loop.

DAY orders end with the trading day (`backend.day_end_ms`, 16:00 US/Central by `clock_ms`): each
one still resting then is cancelled (orderStatus Cancelled to its client). TWS looks at its clock
before every request and every price step, and a timer wakes it at each day end (wall time).
Account values: TotalCashValue / CashBalance are the cash, AvailableFunds / BuyingPower the cash
not reserved by resting orders; pushed after every order change.
"""
from __future__ import annotations

import asyncio
import logging
import re
import struct
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from arbbot.sim.engine.matching import BookDelta, FillEvent
from arbbot.sim.faults import Faults, OrderFaults
from arbbot.sim.forecastex import tws_codec as wire
from arbbot.sim.forecastex.backend import ForecastExBackend, FxContract, FxExecution, FxOrder, day_end_ms
from arbbot.sim.scenarios import Scenario, build

log = logging.getLogger("arbbot.sim.forecastex.tws")
MARKET_DATA_LINES = 100        # IB's default market data lines per account (streaming tickers at once)
SNAPSHOT_END_S = 11.0          # IB sends a snapshot's tickSnapshotEnd ~11 s after its ticks
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_RIGHTS = {"C": "C", "CALL": "C", "P": "P", "PUT": "P"}
# known requests we do not serve → index of their reqId (so the client's request ends at once)
_UNSUPPORTED = {10: ("reqMktDepth", 2), 20: ("reqHistoricalData", 1), 50: ("reqRealTimeBars", 2),
                52: ("reqFundamentalData", 2), 22: ("reqScannerSubscription", 1), 78: ("reqSecDefOptParams", 1),
                81: ("reqMatchingSymbols", 1), 87: ("reqHeadTimeStamp", 1), 88: ("reqHistogramData", 1),
                92: ("reqPnL", 1), 94: ("reqPnLSingle", 1), 96: ("reqHistoricalTicks", 1),
                97: ("reqTickByTickData", 1)}


READ_ONLY = "Error validating request:-'bO' : cause - The API interface is currently in Read-Only mode."
TIF_PRESET = "Order TIF was set to DAY based on order preset."
COMPETING = "No market data during competing live session"


@dataclass
class TwsFaults:
    """Real TWS behaviours, off by default; read on every use (a test may change them at run time)."""
    drop_after_place: int = 0          # the next N placeOrder requests: the order is placed and matched,
    #                                    then the API socket dies before any answer about it leaves
    read_only: bool = False            # TWS's "Read-Only API": placeOrder answered with 321, not placed
    order_size_limit: int = 0          # TWS's precautionary size limit (Global Configuration → Presets, not
    #                                    bypassed for API orders): a placeOrder of more contracts is answered
    #                                    with 383 "… size exceeds the Size Limit of N …" alone, not placed
    order_message_after_fill: bool = False   # warning 399 "Order Message: ..." after an order's answers
    day_roll: bool = False             # reqExecutions lists only executions since the TWS clock's midnight
    correct_executions: int = 0        # the next N executions are corrected: after each one's execDetails
    #                                    and commission, IB's correction of it (the same execution again,
    #                                    its execId ending .02 instead of .01); reqExecutions lists both
    tif_preset_message: bool = False   # every placeOrder is first answered with 10349 "Order TIF was set to
    #                                    DAY based on order preset." (informational: the order is placed and
    #                                    answered as usual; ib_async marks it Cancelled meanwhile)
    cancel_notice_first: float = 0.0   # an IOC whose remainder is cancelled: TWS's notice 202 "Order
    #                                    Canceled - reason:" at once, the order's other answers (its fill's
    #                                    orderStatus and execDetails) this many seconds later (IB sets no
    #                                    order between them; ib_async marks the order Cancelled on the notice)


class _Refuse(Exception):
    """Answer the request with IB error `code` for `req_id`."""

    def __init__(self, req_id: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.req_id, self.code = req_id, code


@dataclass
class _Ticker:
    con_id: int
    last: tuple | None = None       # (bid $, bid size, ask $, ask size) as last sent


@dataclass(eq=False)
class _Conn:
    writer: asyncio.StreamWriter
    client_id: int | None = None     # set by startApi
    tickers: dict[int, _Ticker] = field(default_factory=dict)    # reqId → subscription
    positions: bool = False          # reqPositions subscription
    account: bool = False            # reqAccountUpdates subscription
    multi: set[int] = field(default_factory=set)                 # reqAccountUpdatesMulti reqIds
    pos_multi: set[int] = field(default_factory=set)             # reqPositionsMulti reqIds
    out: list[bytes] = field(default_factory=list)

    def send(self, fields: list) -> None:
        self.out.append(wire.frame(fields))

    def flush(self) -> None:
        if self.out and not self.writer.is_closing():
            self.writer.write(b"".join(self.out))
        self.out.clear()


def _money(micros: int) -> str:
    """µ$ as an exact dollar string (6 decimals)."""
    return str(Decimal(micros).scaleb(-6))


class TwsSim:
    """One simulated TWS session host for account `account` (cash `balance_micros` µ$)."""

    def __init__(self, scenario: Scenario, seed: int = 0, *, account: str = "DU000001",
                 balance_micros: int = 10_000 * 1_000_000, step_interval: float | None = None,
                 clock_ms=lambda: int(time.time() * 1000), market_data_lines: int = MARKET_DATA_LINES,
                 tws_faults: TwsFaults | None = None, tz_offset_min: int = 0,
                 snapshot_end_s: float = SNAPSHOT_END_S) -> None:
        self.backend = ForecastExBackend(scenario, seed, account=account, balance_micros=balance_micros,
                                         clock_ms=clock_ms, first_perm_id=900_000_001)
        self.process = self.backend.process
        self.faults: Faults = scenario.faults     # order_reject_every, order_ack_delay_s, partial_fill_lots,
        #                                           lost_order_response_every, order_response_delay_s
        self.order_faults = OrderFaults()         # orders received / accepted (the two order counters)
        self.tws_faults = tws_faults or TwsFaults()
        self.tz_offset_min = tz_offset_min         # TWS's time zone (its clock in the handshake, its midnight)
        self.data_paused: set[str] = set()         # why no market data flows now (TWS lost IB, farm broken)
        # answer faults: perm id → None (answers dropped) or the held (connection, message) list
        self._held: dict[int, list[tuple[_Conn, list]] | None] = {}
        self.account = account
        # streaming market data requests the account may hold at once, over every client (IB's
        # market data lines); one more is refused with error 101
        self.market_data_lines = market_data_lines
        self.clock_ms = clock_ms
        self.step_interval = step_interval
        self.snapshot_end_s = snapshot_end_s       # s from a snapshot's ticks to its tickSnapshotEnd
        self._timers: set[asyncio.TimerHandle] = set()   # messages due later (`_send_later`)
        self.host, self.port = "", 0
        self.conns: set[_Conn] = set()
        self.by_api: dict[tuple[int, int], FxOrder] = {}      # (clientId, orderId) → order
        self._sent_status: dict[int, tuple[str, int]] = {}    # perm id → (status, filled) last pushed
        self._last_exec: dict[int, FxExecution] = {}          # perm id → its latest execution
        self.corrections: dict[str, FxExecution] = {}          # exec id → its correction (`correct_executions`)
        self._execs_pushed = 0
        self._positions_pushed: dict[int, int] = {}
        self._dirty: set[str] = set()                          # markets whose book moved since the last push
        self._flush_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._stepper: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()                # live connection handlers
        self.backend.exchange.listeners.append(self._on_event)
        self.backend.executions()                              # nothing of ours yet: baseline
        self._positions_pushed = self.backend.positions()

    # ---- lifecycle ----------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        if host not in LOOPBACK:
            raise ValueError("the simulator serves loopback only")
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._serve, host, port)
        self.host, self.port = host, self._server.sockets[0].getsockname()[1]
        if self.step_interval:
            self._stepper = asyncio.create_task(self._step_loop())
        self._arm_day_end()
        return self.port

    async def stop(self) -> None:
        if self._stepper:
            self._stepper.cancel()
        for h in self._timers:
            h.cancel()
        if self._server:
            self._server.close()
        for c in list(self.conns):
            c.writer.close()
        if self._tasks:                                     # handlers end on the closed sockets
            await asyncio.wait(list(self._tasks), timeout=2)
        if self._server:
            await self._server.wait_closed()

    async def _step_loop(self) -> None:
        while True:
            await asyncio.sleep(self.step_interval)
            self.step()

    def step(self) -> None:
        """One price-process step (after the DAY orders past their day end are cancelled); the
        new quotes are pushed to subscribed tickers."""
        self.expire_day_orders()
        self.process.step()
        self._flush()

    def expire_day_orders(self) -> None:
        """Cancel the DAY orders whose trading day has ended by `clock_ms`; push their status."""
        gone = self.backend.expire_day_orders()
        if gone:
            self._flush(tuple(gone))

    def _arm_day_end(self) -> None:
        """Wake at the next end of the trading day (by `clock_ms`) to expire DAY orders, then
        again at the one after (a timer that fires early finds nothing and re-arms)."""
        def fire() -> None:
            self._timers.discard(handle)
            self.expire_day_orders()
            self._arm_day_end()
        now = self.clock_ms()
        handle = self._loop.call_later((day_end_ms(now) - now) / 1000, fire)
        self._timers.add(handle)

    # ---- engine events → pushes ---------------------------------------------------------
    def _on_event(self, ev: object) -> None:
        if isinstance(ev, BookDelta):
            self._dirty.add(ev.market)
        elif not isinstance(ev, FillEvent) or ev.order.account != self.account:
            return
        if not self._flush_scheduled and self._loop is not None:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self, orders: tuple[FxOrder, ...] = ()) -> None:
        """Push what changed: new executions (+ commission, order status) to the placing client;
        positions/account values to their subscribers; quotes to ticker subscribers."""
        self._flush_scheduled = False
        xs = self.backend.executions()
        new, self._execs_pushed = xs[self._execs_pushed:], len(xs)
        touched = {o.perm_id: o for o in orders}
        for x in new:
            o = x.order
            self._last_exec[o.perm_id] = x
            c = self.backend.contract(o.con_id)
            fix = self._correct(x)
            for conn in self._clients(o.client_id):
                for y in (x, fix) if fix is not None else (x,):
                    self._answer(conn, o, wire.exec_details(-1, y, c, self.account))
                    self._answer(conn, o, wire.commission_report(y.exec_id))
            touched[o.perm_id] = o
        for o in touched.values():
            self._push_status(o)
        if touched:                                        # cash, or what is reserved of it, moved
            self._push_account()
        if self._dirty and not self.data_paused:
            dirty, self._dirty = self._dirty, set()
            contracts = self.backend.contracts
            for conn in self.conns:
                for req_id, t in conn.tickers.items():
                    if contracts[t.con_id][1] in dirty:
                        self._ticks(conn, req_id, t)
        for conn in list(self.conns):
            conn.flush()

    def _correct(self, x: FxExecution) -> FxExecution | None:
        """`correct_executions`: IB's correction of execution `x` (the same shares and price; its
        execId "differs … only in the digits after the final period": .02 corrects .01), or None."""
        if self.tws_faults.correct_executions <= 0:
            return None
        self.tws_faults.correct_executions -= 1
        fix = replace(x, exec_id=x.exec_id.rpartition(".")[0] + ".02")
        self.corrections[x.exec_id] = fix
        return fix

    def _clients(self, client_id: int) -> list[_Conn]:
        return [c for c in self.conns if c.client_id == client_id]

    def _push_status(self, o: FxOrder) -> None:
        self.backend.refresh(o)
        key = (o.status, o.filled)
        if self._sent_status.get(o.perm_id) == key:
            return
        self._sent_status[o.perm_id] = key
        for conn in self._clients(o.client_id):
            self._answer(conn, o, self._order_status(o))

    def _answer(self, conn: _Conn, o: FxOrder, fields: list) -> None:
        """Send one answer about order `o` (openOrder, orderStatus, execDetails, commission,
        error) to `conn`, unless a response fault holds (delay) or drops (lost) its answers."""
        if o.perm_id not in self._held:
            conn.send(fields)
        elif self._held[o.perm_id] is not None:
            self._held[o.perm_id].append((conn, fields))

    def _release(self, perm_id: int) -> None:
        """`order_response_delay_s` is over: send the held answers, in order."""
        for conn, fields in self._held.pop(perm_id, None) or []:
            if conn in self.conns:
                conn.send(fields)
                conn.flush()

    def _order_status(self, o: FxOrder) -> list:
        x = self._last_exec.get(o.perm_id)
        return wire.order_status(o, x.avg_price if x else Decimal(0), x.price if x else Decimal(0))

    def _push_account(self) -> None:
        now = self.backend.positions()
        changed = {k: now.get(k, 0) for k in set(now) | set(self._positions_pushed)
                   if now.get(k, 0) != self._positions_pushed.get(k, 0)}
        self._positions_pushed = now
        values = self._account_values()
        for conn in self.conns:
            for con, n in sorted(changed.items()):
                c, avg = self.backend.contract(con), self.backend.avg_cost(con)
                if conn.positions:
                    conn.send(wire.position(self.account, c, n, avg))
                for req in conn.pos_multi:
                    conn.send(wire.position_multi(req, self.account, c, n, avg))
                if conn.account:
                    conn.send(wire.portfolio_value(c, n, self.backend.quote(con).bid or Decimal(0), avg, self.account))
            for key, val, cur in values:
                if conn.account:
                    conn.send(wire.account_value(key, val, cur, self.account))
                for req in conn.multi:
                    conn.send(wire.account_update_multi(req, self.account, key, val, cur))

    def _account_values(self) -> list[tuple[str, str, str]]:
        """Cash values are the cash; AvailableFunds / BuyingPower leave out what resting orders reserve."""
        cash, mark = self.backend.cash_micros(), self.backend.mark_micros()
        c, a, m, n = _money(cash), _money(self.backend.available_micros()), _money(mark), _money(cash + mark)
        return [("AccountCode", self.account, ""), ("AccountType", "INDIVIDUAL", ""), ("Currency", "USD", "USD"),
                ("CashBalance", c, "USD"), ("CashBalance", c, "BASE"), ("TotalCashValue", c, "USD"),
                ("TotalCashValue", c, "BASE"), ("AvailableFunds", a, "USD"), ("BuyingPower", a, "USD"),
                ("GrossPositionValue", m, "USD"), ("NetLiquidation", n, "USD"),
                ("NetLiquidationByCurrency", n, "BASE")]

    def _ticks(self, conn: _Conn, req_id: int, t: _Ticker) -> None:
        """BID/ASK as tickPrice (price with size) when the price moves, tickSize when only the
        size does; an empty side is price −1 size 0."""
        q = self.backend.quote(t.con_id)
        now = (q.bid, q.bid_size, q.ask, q.ask_size)
        last = t.last
        for i, (ptype, stype) in enumerate(((wire.BID, wire.BID_SIZE), (wire.ASK, wire.ASK_SIZE))):
            px, size = now[2 * i], now[2 * i + 1]
            if last is None or px != last[2 * i]:
                conn.send(wire.tick_price(req_id, ptype, px, size))
            elif px is not None and size != last[2 * i + 1]:
                conn.send(wire.tick_size(req_id, stype, size))
        t.last = now

    # ---- connections --------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Conn(writer)
        self.conns.add(conn)
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            if await reader.readexactly(4) != b"API\0":
                return
            n = struct.unpack(">I", await reader.readexactly(4))[0]
            hello = (await reader.readexactly(min(n, 256))).decode(errors="replace") if n <= 256 else ""
            m = re.match(r"v(\d+)(?:\.\.(\d+))?", hello)
            if not m or not int(m.group(1)) <= wire.SERVER_VERSION <= int(m.group(2) or m.group(1)):
                log.warning("tws sim: refused client versions %r (serving %d)", hello, wire.SERVER_VERSION)
                return
            writer.write(wire.frame([wire.SERVER_VERSION, self._tws_time()]))
            while True:
                n = struct.unpack(">I", await reader.readexactly(4))[0]
                if n > wire.MAX_MSG:
                    conn.send(wire.error(-1, 320, f"Server error when reading an API client request: "
                                                  f"message of {n} bytes is too large"))
                    conn.flush()
                    return
                fields = wire.split(await reader.readexactly(n))
                await self._dispatch(conn, fields)
                conn.flush()
                if conn.client_id is None and fields[:1] == ["71"]:
                    return                                  # startApi refused (clientId in use)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            # loop shutdown: end quietly (Python 3.11's start_server callback calls
            # task.exception() on a cancelled handler and logs a spurious error)
            pass
        except Exception:                                   # never let one client take the server down
            log.exception("tws sim: connection failed")
        finally:
            self.conns.discard(conn)
            self._tasks.discard(task)
            writer.close()

    async def _dispatch(self, conn: _Conn, fields: list[str]) -> None:
        req_id = -1
        try:
            msg_id = int(fields[0]) if fields else -1
            if msg_id == wire.START_API:
                await self._start_api(conn, fields)
                return
            if conn.client_id is None:
                raise _Refuse(-1, 504, "Not connected")
            self.expire_day_orders()                       # TWS acts on its clock first
            if msg_id == wire.PLACE_ORDER and self.faults.order_ack_delay_s:
                await asyncio.sleep(self.faults.order_ack_delay_s)          # fault: slow acks
            if msg_id == wire.PLACE_ORDER and self.tws_faults.drop_after_place > 0:
                self.tws_faults.drop_after_place -= 1
                conn.writer.transport.abort()       # TWS has the order; the socket dies before any answer
            handler = self._handlers.get(msg_id)
            if handler is None:
                name, at = _UNSUPPORTED.get(msg_id, ("", 0))
                if at and len(fields) > at and fields[at].lstrip("-").isdigit():
                    req_id = int(fields[at])
                raise _Refuse(req_id, 505, f"Fatal Error: Unknown message id. ({name or msg_id} is not served "
                                           f"by the ForecastEx simulator)")
            handler(self, conn, fields)
        except _Refuse as r:
            conn.send(wire.error(r.req_id, r.code, str(r)))
        except (ValueError, IndexError, InvalidOperation, ArithmeticError) as e:
            conn.send(wire.error(req_id, 320, f"Server error when reading an API client request: {e}"))
        except Exception as e:                              # a bug here must not kill the session
            log.exception("tws sim: request %r failed", fields[:3])
            conn.send(wire.error(req_id, 320, f"Server error when reading an API client request: {e}"))

    async def _start_api(self, conn: _Conn, f: list[str]) -> None:
        if conn.client_id is not None:
            return
        cid = int(f[2])
        for _ in range(10):           # a crashed client's socket may still be closing: wait briefly
            if not any(c.client_id == cid for c in self.conns):
                break
            await asyncio.sleep(0.05)
        else:
            conn.send(wire.error(-1, 326, "Unable to connect as the client id is already in use. "
                                          "Retry with a unique client id."))
            return
        conn.client_id = cid
        conn.send(wire.managed_accounts(self.account))
        conn.send(wire.next_valid_id(self._next_id(cid)))

    def _next_id(self, client_id: int) -> int:
        return max((oid for cid, oid in self.by_api if cid == client_id), default=0) + 1

    # ---- catalog and market data ---------------------------------------------------------
    def _match(self, f: list[str], i: int) -> list[FxContract]:
        """Contracts matching the 12 contract fields at f[i:] (conId, symbol, secType, expiry,
        strike, right, multiplier, exchange, primaryExchange, currency, localSymbol, tradingClass)."""
        con, sym, sec, exp, strike, right, mult, exch, _prim, cur, local, tclass = f[i:i + 12]
        if int(con or 0):
            c = self.backend.contract(int(con))
            return [c] if c is not None else []
        if not sym and not local:
            return []                                   # IB needs a conId, symbol or local symbol
        k = Decimal(strike) if strike else Decimal(0)
        out = []
        for c in [x for x, _m, _s in self.backend.contracts.values()]:
            if (sym and sym != c.symbol) or (sec and sec != c.sec_type) or (exp and not c.expiry.startswith(exp)) \
                    or (k and k != Decimal(c.strike)) or (right and _RIGHTS.get(right.upper()) != c.right) \
                    or (exch and exch not in (c.exchange, "SMART")) or (cur and cur != "USD") \
                    or (local and local != wire.local_symbol(c)) or (tclass and tclass != c.symbol) \
                    or (mult and Decimal(mult) != 1):
                continue
            out.append(c)
        return out

    def _req_contract_details(self, conn: _Conn, f: list[str]) -> None:
        req_id = int(f[2])
        found = self._match(f, 3)
        if not found:
            raise _Refuse(req_id, 200, "No security definition has been found for the request")
        for c in found:
            conn.send(wire.contract_details(req_id, c, self.clock_ms()))
        conn.send(wire.contract_details_end(req_id))

    def _req_mkt_data(self, conn: _Conn, f: list[str]) -> None:
        req_id = int(f[2])
        if f[5] == "BAG":
            raise _Refuse(req_id, 200, "No security definition has been found for the request")
        found = self._match(f, 3)
        if len(found) != 1:
            raise _Refuse(req_id, 200, "No security definition has been found for the request")
        i = 16 + (3 if f[15] == "1" else 0)          # after the delta-neutral block: genericTicks, snapshot
        snapshot = f[i + 1] == "1"
        if not snapshot and sum(len(c.tickers) for c in self.conns) >= self.market_data_lines:
            raise _Refuse(req_id, 101, "Max number of tickers has been reached")
        t = _Ticker(found[0].con_id)
        if "competing" in self.data_paused:          # another session has the user's market data
            if not snapshot:
                conn.tickers[req_id] = t             # (kept: it flows once that session ends)
            raise _Refuse(req_id, 10197, COMPETING)
        conn.send(wire.market_data_type(req_id))
        if self.data_paused:                     # no data now: a snapshot gets none, a subscription later
            if not snapshot:
                conn.tickers[req_id] = t
            return
        self._ticks(conn, req_id, t)
        if snapshot:
            self._send_later(self.snapshot_end_s, conn, wire.tick_snapshot_end(req_id))
        else:
            conn.tickers[req_id] = t

    def _send_later(self, delay: float, conn: _Conn, fields: list) -> None:
        """Send `fields` to `conn` `delay` s from now (at once if 0), if it is still connected."""
        if delay <= 0:
            conn.send(fields)
            return

        def send() -> None:
            self._timers.discard(handle)
            if conn in self.conns:
                conn.send(fields)
                conn.flush()
        handle = self._loop.call_later(delay, send)
        self._timers.add(handle)

    def _cancel_mkt_data(self, conn: _Conn, f: list[str]) -> None:
        if conn.tickers.pop(int(f[2]), None) is None:
            raise _Refuse(int(f[2]), 300, f"Can't find EId with tickerId:{f[2]}")

    # ---- orders --------------------------------------------------------------------------
    def _place_order(self, conn: _Conn, f: list[str]) -> None:
        d = wire.parse_place_order(f)
        oid, cid = d["order_id"], conn.client_id
        if self.tws_faults.read_only:
            raise _Refuse(oid, 321, READ_ONLY)
        if self.tws_faults.order_size_limit and d["quantity"] > self.tws_faults.order_size_limit:
            raise _Refuse(oid, 383, f'The following order "ID:{oid}" size exceeds the Size Limit of '
                                    f'{self.tws_faults.order_size_limit}. Restriction is specified in Precautionary '
                                    "Settings of Global Configuration/Presets.")
        if self.tws_faults.tif_preset_message:         # TWS's own check: before the order's answers
            conn.send(wire.error(oid, 10349, TIF_PRESET))
        if d["sec_type"] == "BAG":
            raise _Refuse(oid, 201, "Order rejected - reason:combination orders are not supported")
        old = self.by_api.get((cid, oid))
        if old is not None:                          # IB: a modification. Not simulated: say so without
            self.backend.refresh(old)                # making ib_async drop the live order (105 is a
            if old.done:                             # warning to it; the status re-sent restores it)
                raise _Refuse(oid, 104, f"Can't modify a filled order. (state: {old.status})")
            conn.send(wire.error(oid, 105, "Order being modified does not match the original order: "
                                           "modifications are not supported by the ForecastEx simulator"))
            conn.send(self._order_status(old))
            return
        if d["what_if"]:
            raise _Refuse(oid, 201, "Order rejected - reason:what-if orders are not supported by the simulator")
        if d["account"] not in ("", self.account):
            raise _Refuse(oid, 201, f"Order rejected - reason:invalid account {d['account']}")
        found = self._match(f, 2)
        con = found[0].con_id if len(found) == 1 else 0
        limit = d["limit"] if d["limit"] is not None else Decimal(0)
        tif = d["tif"] or "DAY"                         # IB's default time in force
        f = self.faults
        reject = "order rejected by the exchange (simulated)" if self.order_faults.refuse(f) else ""
        leave = max(1, f.partial_fill_lots // 100) if f.partial_fill_lots else None   # whole contracts
        o, code = self.backend.place(con, d["action"], d["quantity"], limit, tif, order_type=d["order_type"],
                                     order_ref=d["order_ref"], client_id=cid, order_id=oid, reject=reject,
                                     leave=leave)
        self.by_api[(cid, oid)] = o
        # response faults: the order is placed and matched; its answers are lost or held back
        lost = not code and self.order_faults.lose_answer(f)
        notice_lag = (self.tws_faults.cancel_notice_first
                      if not code and not lost and tif == "IOC" and o.status == "Cancelled" else 0.0)
        if lost or f.order_response_delay_s or notice_lag:
            self._held[o.perm_id] = None if lost else []
        if notice_lag:
            conn.send(wire.error(oid, 202, "Order Canceled - reason:"))
            conn.flush()
        if code:
            text = o.reason if code in (110, 200) else f"Order rejected - reason:{o.reason}"
            self._answer(conn, o, wire.error(oid, code, text))   # then Inactive (ib_async: error first)
            self._sent_status[o.perm_id] = (o.status, 0)
            self._answer(conn, o, self._order_status(o))
        else:
            c = self.backend.contract(con)
            submitted = FxOrder(**{**o.__dict__, "status": "Submitted", "filled": 0})
            self._answer(conn, o, wire.open_order(submitted, c))
            self._sent_status[o.perm_id] = ("Submitted", 0)
            self._answer(conn, o, wire.order_status(submitted, Decimal(0), Decimal(0)))
            self._flush((o,))
            if self.tws_faults.order_message_after_fill:
                self._answer(conn, o, wire.error(oid, 399, f"Order Message:\n{o.action} {o.quantity} "
                                                           f"{wire.local_symbol(c)}\nWarning: order message "
                                                           "(simulated)"))
        if lost:
            del self._held[o.perm_id]                # later updates (a maker fill, a cancel) do arrive
        elif f.order_response_delay_s or notice_lag:
            self._loop.call_later(max(f.order_response_delay_s, notice_lag), self._release, o.perm_id)

    def _cancel_order(self, conn: _Conn, f: list[str]) -> None:
        oid = int(f[2])
        o = self.by_api.get((conn.client_id, oid))
        if o is None:
            raise _Refuse(oid, 135, f"Can't find order with id ={oid}")
        if self.backend.refresh(o).done:
            raise _Refuse(oid, 10148, f"OrderId {oid} that needs to be cancelled cannot be cancelled, "
                                      f"state: {o.status}.")
        self.backend.cancel(o.perm_id)
        self._flush((o,))

    def _global_cancel(self, conn: _Conn, f: list[str]) -> None:
        live = [o for o in self.backend.all_orders() if o.status == "Submitted"]
        for o in live:
            self.backend.cancel(o.perm_id)
        self._flush(tuple(live))

    def _open_orders(self, conn: _Conn, every_client: bool) -> None:
        for o in self.backend.all_orders():
            if o.status == "Submitted" and (every_client or o.client_id == conn.client_id):
                conn.send(wire.open_order(o, self.backend.contract(o.con_id)))
                conn.send(self._order_status(o))
        conn.send([53, 1])                             # openOrderEnd

    def _req_open_orders(self, conn: _Conn, f: list[str]) -> None:
        self._open_orders(conn, conn.client_id == 0)

    def _req_all_open_orders(self, conn: _Conn, f: list[str]) -> None:
        self._open_orders(conn, True)

    def _req_completed_orders(self, conn: _Conn, f: list[str]) -> None:
        for o in self.backend.all_orders():
            if o.done:
                conn.send(wire.completed_order(o, self._contract_or_stub(o.con_id), wire.completed_status(o)))
        conn.send([102])                               # completedOrdersEnd

    def _contract_or_stub(self, con_id: int) -> FxContract:
        return self.backend.contract(con_id) or FxContract(con_id, "", "", "0", "")

    def _req_executions(self, conn: _Conn, f: list[str]) -> None:
        req_id = int(f[2])
        cid, acct, since, sym, sec, exch, side = int(f[3] or 0), f[4], f[5], f[6], f[7], f[8], f[9]
        t0 = 0
        if since:
            s = since.replace("-", " ").strip()
            t0 = int(datetime.strptime(s[:17], "%Y%m%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp() * 1000)
        if self.tws_faults.day_roll:                 # TWS lists the current day's executions only
            t0 = max(t0, self.day_start_ms())
        for x in self.backend.executions():
            c = self.backend.contract(x.order.con_id)
            if (cid and x.order.client_id != cid) or (acct and acct != self.account) or x.ts_ms < t0 \
                    or (sym and sym != c.symbol) or (sec and sec != c.sec_type) \
                    or (exch and exch != c.exchange) or (side and side not in ("BUY", "BOT")):
                continue
            for y in (x, self.corrections[x.exec_id]) if x.exec_id in self.corrections else (x,):
                conn.send(wire.exec_details(req_id, y, c, self.account))
                conn.send(wire.commission_report(y.exec_id))
        conn.send([55, 1, req_id])                     # execDetailsEnd

    # ---- account -------------------------------------------------------------------------
    def _req_positions(self, conn: _Conn, f: list[str]) -> None:
        conn.positions = True
        for con, n in sorted(self.backend.positions().items()):
            conn.send(wire.position(self.account, self.backend.contract(con), n, self.backend.avg_cost(con)))
        conn.send([62, 1])                             # positionEnd

    def _req_positions_multi(self, conn: _Conn, f: list[str]) -> None:
        req_id = int(f[2])
        conn.pos_multi.add(req_id)
        for con, n in sorted(self.backend.positions().items()):
            conn.send(wire.position_multi(req_id, self.account, self.backend.contract(con), n,
                                          self.backend.avg_cost(con)))
        conn.send([72, 1, req_id])                     # positionMultiEnd

    def _check_account(self, req_id: int, acct: str) -> None:
        if acct not in ("", self.account):
            raise _Refuse(req_id, 321, f"Error validating request:-'bK' : cause - Invalid account code {acct}")

    def _req_account_updates(self, conn: _Conn, f: list[str]) -> None:
        subscribe, acct = f[2] == "1", f[3]
        self._check_account(-1, acct)
        conn.account = subscribe
        if not subscribe:
            return
        for key, val, cur in self._account_values():
            conn.send(wire.account_value(key, val, cur, self.account))
        for con, n in sorted(self.backend.positions().items()):
            conn.send(wire.portfolio_value(self.backend.contract(con), n, self.backend.quote(con).bid or Decimal(0),
                                           self.backend.avg_cost(con), self.account))
        conn.send(wire.account_time(self.clock_ms()))
        conn.send(wire.account_download_end(self.account))

    def _req_account_updates_multi(self, conn: _Conn, f: list[str]) -> None:
        req_id, acct = int(f[2]), f[3]
        self._check_account(req_id, acct)
        conn.multi.add(req_id)
        for key, val, cur in self._account_values():
            conn.send(wire.account_update_multi(req_id, self.account, key, val, cur))
        conn.send([74, 1, req_id])                     # accountUpdateMultiEnd

    def _req_account_summary(self, conn: _Conn, f: list[str]) -> None:
        req_id, tags = int(f[2]), set(f[4].split(","))
        for key, val, cur in self._account_values():
            if key in tags and cur != "BASE":
                conn.send(wire.account_summary(req_id, self.account, key, val, cur))
        conn.send([64, 1, req_id])                     # accountSummaryEnd

    def _cancel_sub(self, conn: _Conn, f: list[str]) -> None:
        msg = int(f[0])
        if msg == wire.CANCEL_POSITIONS:
            conn.positions = False
        elif msg == wire.CANCEL_POSITIONS_MULTI:
            conn.pos_multi.discard(int(f[2]))
        elif msg == wire.CANCEL_ACCOUNT_UPDATES_MULTI:
            conn.multi.discard(int(f[2]))

    # ---- TWS clock and connectivity --------------------------------------------------------
    def _tz(self) -> timezone:
        return timezone(timedelta(minutes=self.tz_offset_min))

    def _tws_time(self) -> str:
        """TWS's clock as its handshake shows it: local time and zone."""
        local = datetime.fromtimestamp(self.clock_ms() / 1000, self._tz())
        if not self.tz_offset_min:
            return local.strftime("%Y%m%d %H:%M:%S") + " UTC"
        sign, m = ("+" if self.tz_offset_min > 0 else "-"), abs(self.tz_offset_min)
        return local.strftime("%Y%m%d %H:%M:%S") + f" GMT{sign}{m // 60:02d}:{m % 60:02d}"

    def day_start_ms(self) -> int:
        """The last midnight of the TWS clock in its time zone (epoch ms): where its day begins."""
        local = datetime.fromtimestamp(self.clock_ms() / 1000, self._tz())
        return int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)

    def _tell_all(self, code: int, msg: str) -> None:
        for conn in list(self.conns):
            if conn.client_id is not None:
                conn.send(wire.error(-1, code, msg))
                conn.flush()

    def _pause(self, cause: str, code: int, msg: str) -> None:
        self.data_paused.add(cause)
        self._tell_all(code, msg)

    def _resume(self, causes: tuple[str, ...], code: int | None, msg: str = "") -> None:
        """Market data flows again for `causes` (TWS says so with `code`; None: nothing is said)."""
        self.data_paused.difference_update(causes)
        if code is not None:
            self._tell_all(code, msg)
        if not self.data_paused:                 # what moved meanwhile reaches the kept subscriptions
            self._dirty.clear()
            for conn in list(self.conns):
                for req_id, t in conn.tickers.items():
                    self._ticks(conn, req_id, t)
                conn.flush()

    def connectivity_lost(self) -> None:
        """TWS lost its connection to IB (1100): no market data until it is back."""
        self._pause("ib", 1100, "Connectivity between IB and Trader Workstation has been lost.")

    def connectivity_restored(self, *, data_lost: bool) -> None:
        """TWS reaches IB again: 1102 (data maintained) or 1101 (data lost: every market data and
        account subscription is gone and must be requested again)."""
        if data_lost:
            for conn in self.conns:
                conn.tickers.clear()
                conn.positions = conn.account = False
                conn.multi.clear()
                conn.pos_multi.clear()
            self._resume(("ib", "server"), 1101,
                         "Connectivity between IB and Trader Workstation has been restored - data lost.")
        else:
            self._resume(("ib", "server"), 1102,
                         "Connectivity between IB and Trader Workstation has been restored - data maintained.")

    def server_link_broken(self) -> None:
        """2110: TWS lost its servers for a while (restored with 1101/1102 or a farm's OK)."""
        self._pause("server", 2110,
                    "Connectivity between Trader Workstation and server is broken. It will be restored automatically.")

    def farm_broken(self, farm: str = "usfarm") -> None:
        """2103: the market data farm connection broke: streamed quotes stop."""
        self._pause(f"farm:{farm}", 2103, f"Market data farm connection is broken:{farm}")

    def farm_ok(self, farm: str = "usfarm") -> None:
        """2104: the market data farm connection is OK again."""
        self._resume((f"farm:{farm}", "server"), 2104, f"Market data farm connection is OK:{farm}")

    def competing_session(self) -> None:
        """10197: the user logged in to IBKR Mobile, the web or ForecastTrader, which takes the
        user's market data: every subscription is told so and stops; every new market data
        request (snapshot or not) is answered 10197 while it lasts."""
        self.data_paused.add("competing")
        for conn in list(self.conns):
            for req_id in conn.tickers:
                conn.send(wire.error(req_id, 10197, COMPETING))
            conn.flush()

    def competing_session_ended(self) -> None:
        """The other session logged out: market data flows again, unannounced (no message)."""
        self._resume(("competing",), None)

    def hmds_broken(self, farm: str = "ushmds") -> None:
        """2105: the historical data farm connection broke (no effect on the simulated L1)."""
        self._tell_all(2105, f"HMDS data farm connection is broken:{farm}")

    def hmds_ok(self, farm: str = "ushmds") -> None:
        self._tell_all(2106, f"HMDS data farm connection is OK:{farm}")

    # ---- misc ------------------------------------------------------------------------------
    def _req_ids(self, conn: _Conn, f: list[str]) -> None:
        conn.send(wire.next_valid_id(self._next_id(conn.client_id)))

    def _req_current_time(self, conn: _Conn, f: list[str]) -> None:
        conn.send(wire.current_time(self.clock_ms() // 1000))

    def _req_managed_accts(self, conn: _Conn, f: list[str]) -> None:
        conn.send(wire.managed_accounts(self.account))

    def _ignore(self, conn: _Conn, f: list[str]) -> None:
        """Accepted without a reply (reqAutoOpenOrders, reqMarketDataType, cancelAccountSummary)."""

    _handlers = {
        wire.REQ_MKT_DATA: _req_mkt_data, wire.CANCEL_MKT_DATA: _cancel_mkt_data,
        wire.PLACE_ORDER: _place_order, wire.CANCEL_ORDER: _cancel_order,
        wire.REQ_OPEN_ORDERS: _req_open_orders, wire.REQ_ALL_OPEN_ORDERS: _req_all_open_orders,
        wire.REQ_COMPLETED_ORDERS: _req_completed_orders, wire.REQ_EXECUTIONS: _req_executions,
        wire.REQ_CONTRACT_DETAILS: _req_contract_details, wire.REQ_POSITIONS: _req_positions,
        wire.REQ_POSITIONS_MULTI: _req_positions_multi, wire.REQ_ACCOUNT_UPDATES: _req_account_updates,
        wire.REQ_ACCOUNT_UPDATES_MULTI: _req_account_updates_multi, wire.REQ_ACCOUNT_SUMMARY: _req_account_summary,
        wire.CANCEL_POSITIONS: _cancel_sub, wire.CANCEL_POSITIONS_MULTI: _cancel_sub,
        wire.CANCEL_ACCOUNT_UPDATES_MULTI: _cancel_sub, wire.CANCEL_ACCOUNT_SUMMARY: _ignore,
        wire.REQ_IDS: _req_ids, wire.REQ_CURRENT_TIME: _req_current_time, wire.REQ_MANAGED_ACCTS: _req_managed_accts,
        wire.REQ_GLOBAL_CANCEL: _global_cancel, wire.REQ_AUTO_OPEN_ORDERS: _ignore,
        wire.REQ_MARKET_DATA_TYPE: _ignore,
    }


async def start_tws(scenario: str | Scenario = "forecastex", seed: int = 0, *, step_interval: float | None = 1.0,
                    host: str = "127.0.0.1", port: int = 0, faults: Faults | None = None,
                    account: str = "DU000001", balance_micros: int = 10_000 * 1_000_000,
                    tws_faults: TwsFaults | None = None, clock_ms=None, tz_offset_min: int = 0,
                    snapshot_end_s: float = SNAPSHOT_END_S, start_ms: int | None = None) -> TwsSim:
    """Build the scenario (its own copy: price processes mutate fair values) and serve TWS on
    `host:port` (0 = a free port; read `.port`). Stop with `await sim.stop()`. `clock_ms`: the TWS
    and exchange clock (default wall time); `tz_offset_min`: TWS's time zone; `snapshot_end_s`:
    how late a snapshot's tickSnapshotEnd follows its ticks (IB: ~11 s); `start_ms`: the day the
    scenario's expiries count from (`scenarios.build`; default `clock_ms`'s now)."""
    if start_ms is None and clock_ms is not None:
        start_ms = clock_ms()
    sc = build(scenario, seed, faults, start_ms=start_ms) if isinstance(scenario, str) else scenario
    extra = {} if clock_ms is None else {"clock_ms": clock_ms}
    sim = TwsSim(sc, seed, account=account, balance_micros=balance_micros, step_interval=step_interval,
                 tws_faults=tws_faults, tz_offset_min=tz_offset_min, snapshot_end_s=snapshot_end_s, **extra)
    await sim.start(host, port)
    return sim
