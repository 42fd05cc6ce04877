"""`SimIBClient`: our `IBClient` protocol served in process by the simulator's ForecastEx backend.

A test double, not part of the simulator: it mirrors our own client (the adapter's `IBClient`
protocol and value types) over `arbbot.sim.forecastex.backend.ForecastExBackend`, skipping the
TWS wire (the wire is tested against the real ib-async client in tests/sim/test_tws_server.py).
Order ids are the backend's perm ids; a refused order comes back with status Inactive (the
adapter maps it to REJECTED). The simulator's own contract / quote values are converted to the
adapter's here (`ib_contract`, `ib_quote`).
"""
from __future__ import annotations

from decimal import Decimal

from arbbot.sim.forecastex.backend import ForecastExBackend, FxContract, FxOrder, FxQuote, last_trade_ms
from arbbot.sim.scenarios import Scenario
from arbbot.venues.forecastex.client import IBContract, IBFill, IBQuote, IBTrade


def ib_contract(c: FxContract) -> IBContract:
    return IBContract(c.con_id, c.symbol, c.expiry, c.strike, c.right, exchange=c.exchange, sec_type=c.sec_type,
                      long_name=c.long_name, last_trade_ms=last_trade_ms(c))


def ib_quote(q: FxQuote) -> IBQuote:
    return IBQuote(q.bid, q.bid_size, q.ask, q.ask_size)


def ib_trade(o: FxOrder) -> IBTrade:
    return IBTrade(o.perm_id, o.con_id, o.status, o.quantity, o.filled, o.limit, o.order_ref)


class SimIBClient:
    def __init__(self, scenario: Scenario, seed: int = 0, account: str = "DU000001",
                 balance_micros: int = 10_000 * 1_000_000) -> None:
        self.backend = ForecastExBackend(scenario, seed, account=account, balance_micros=balance_micros)
        self.exchange = self.backend.exchange
        self.process = self.backend.process
        self.account = account
        self.requests = 0                      # catalog requests (the adapter must cache conIds)
        self.streaming_error: Exception | None = None   # raised by `quote` (a failing stream) when set
        self.snapshots = 0                     # snapshot requests served

    def wall_ms(self) -> int:
        """The simulated exchange's clock (what the venue judges a last trade time by)."""
        return self.exchange.clock_ms()

    async def contract_details(self, symbol: str) -> list[IBContract]:
        self.requests += 1
        return [ib_contract(c) for c in self.backend.contracts_for(symbol)]

    async def quote(self, con_id: int) -> IBQuote:
        if self.streaming_error is not None:
            raise self.streaming_error
        return ib_quote(self.backend.quote(con_id))

    async def snapshot_quote(self, con_id: int) -> IBQuote:
        self.snapshots += 1
        return ib_quote(self.backend.quote(con_id))

    async def place_limit(self, con_id: int, action: str, quantity: int, limit: Decimal, tif: str, *,
                          order_ref: str = "") -> IBTrade:
        o, _code = self.backend.place(con_id, action, quantity, limit, tif, order_ref=order_ref)
        return ib_trade(o)

    async def cancel(self, order_id: int) -> IBTrade:
        return ib_trade(self.backend.cancel(order_id))

    async def positions(self) -> dict[int, int]:
        return self.backend.positions()

    async def open_trades(self) -> list[IBTrade]:
        return [ib_trade(o) for o in self.backend.all_orders() if o.status == "Submitted"]

    async def refresh_orders(self) -> None:
        """In-process: every order's state is already here; nothing to ask for."""

    async def all_trades(self) -> list[IBTrade]:
        return [ib_trade(o) for o in self.backend.all_orders()]

    async def fills(self) -> list[IBFill]:
        """Executions of this account; ForecastEx charges no commission (0 per execution)."""
        return [IBFill(x.exec_id, x.order.perm_id, x.order.con_id, x.shares, x.price, Decimal(0), x.ts_ms,
                       x.is_taker) for x in self.backend.executions()]

    async def cash(self) -> Decimal:
        return Decimal(self.backend.cash_micros()) / 1_000_000

    async def close(self) -> None:
        return None
