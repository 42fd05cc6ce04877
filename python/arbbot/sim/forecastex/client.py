"""Simulated IB for ForecastEx, in process: an `IBClient` over `ForecastExBackend`.

The same backend serves the TWS wire protocol (`arbbot.sim.forecastex.tws.TwsSim`); this client
skips the wire. Order ids are the backend's perm ids. A refused order is returned with status
Inactive (the adapter maps it to REJECTED).
"""
from __future__ import annotations

from decimal import Decimal

from arbbot.sim.forecastex.backend import ForecastExBackend, FxOrder
from arbbot.sim.scenarios import Scenario
from arbbot.venues.forecastex.client import IBContract, IBFill, IBQuote, IBTrade


def ib_trade(o: FxOrder) -> IBTrade:
    return IBTrade(o.perm_id, o.con_id, o.status, o.quantity, o.filled, o.limit, o.order_ref)


class SimIBClient:
    def __init__(self, scenario: Scenario, seed: int = 0, account: str = "DU000001",
                 balance_micros: int = 10_000 * 1_000_000) -> None:
        self.backend = ForecastExBackend(scenario, seed, account=account, balance_micros=balance_micros)
        self.exchange = self.backend.exchange
        self.process = self.backend.process
        self.account = account
        self.contracts: dict[int, tuple[IBContract, str, str]] = self.backend.contracts
        self.requests = 0                      # catalog requests (the adapter must cache conIds)

    async def contract_details(self, symbol: str) -> list[IBContract]:
        self.requests += 1
        return self.backend.contracts_for(symbol)

    async def quote(self, con_id: int) -> IBQuote:
        return self.backend.quote(con_id)

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
