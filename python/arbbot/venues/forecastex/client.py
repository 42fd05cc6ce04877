"""The IB surface the ForecastEx adapter needs, as a Protocol (real: ib-async; tests: simulator).

Units at this boundary are IB's own: prices in dollars as `Decimal` (IB sends floats; a real
implementation converts with `Decimal(str(x))` and checks the $0.01 grid), quantities in whole
contracts.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from arbbot.venues.common.errors import RateLimited, TransportError
from arbbot.venues.forecastex.hours import TradingHours


@dataclass(frozen=True)
class IBContract:
    con_id: int
    symbol: str
    expiry: str          # lastTradeDateOrContractMonth, YYYYMMDD
    strike: str          # decimal string, the question's threshold
    right: str           # "C" = YES, "P" = NO
    exchange: str = "FORECASTX"
    sec_type: str = "OPT"
    long_name: str = ""
    # IB's last trade time (ContractDetails lastTradeTime in its timeZoneId) as UTC epoch ms; 0 when
    # IB did not say (a contract described by an order, execution or position)
    last_trade_ms: int = 0
    # IB's tradingHours (ContractDetails, in its timeZoneId); None when IB did not list them
    hours: TradingHours | None = None


class NoMarketDataLine(RateLimited):
    """IB refused a streaming market data request for lack of lines (error 101): that contract's
    market is read from snapshots instead; the others stream on."""


class NoStreamAnswer(TransportError):
    """A streaming market data request of one contract got no answer (no tick, no refusal) within
    the quote timeout (e.g. IB answered it with an error code the client does not follow, such as a
    market-data permission): that contract's market is read from snapshots instead, as for
    `NoMarketDataLine`; the others stream on."""


@dataclass(frozen=True)
class IBQuote:
    bid: Decimal | None
    bid_size: int
    ask: Decimal | None
    ask_size: int


@dataclass(frozen=True)
class IBTrade:
    order_id: int
    con_id: int
    status: str          # PendingSubmit, Submitted, Filled, Cancelled, Inactive...
    quantity: int
    filled: int
    limit: Decimal
    order_ref: str = ""  # IB Order.orderRef: where the adapter puts our client_order_id
    perm_id: int = 0     # IB permId: unique in the account (order ids are per API client); 0 unknown
    client_id: int = 0   # the API client that placed it (its order ids are that client's own); 0 unknown
    contract: IBContract | None = None   # the order's contract as IB reported it (names its market/side)


@dataclass(frozen=True)
class IBFill:
    """One execution with its commission (IB `Fill` = execution + commission report)."""
    exec_id: str
    order_id: int
    con_id: int
    shares: int
    price: Decimal
    commission: Decimal  # USD charged for this execution (0 when IB reports none)
    ts_ms: int = 0
    is_taker: bool = True  # IB Execution.lastLiquidity 1 = added liquidity (maker)
    perm_id: int = 0       # IB permId of the executed order (0 unknown): finds an order's executions
    client_id: int = 0     # the API client whose order it executed (0 unknown)
    contract: IBContract | None = None   # the executed contract as IB reported it


class IBClient(Protocol):
    async def contract_details(self, symbol: str) -> list[IBContract]: ...
    async def quote(self, con_id: int) -> IBQuote:
        """L1 from the contract's streaming market data (subscribed on first use);
        `NoMarketDataLine` when IB refuses the subscription for lack of lines."""
        ...

    async def snapshot_quote(self, con_id: int) -> IBQuote:
        """L1 from a one-off snapshot request (`reqMktData` snapshot): the fallback while the
        streaming data fails."""
        ...
    async def place_limit(self, con_id: int, action: str, quantity: int, limit: Decimal, tif: str, *,
                          order_ref: str = "") -> IBTrade: ...
    async def cancel(self, order_id: int) -> IBTrade: ...
    async def positions(self) -> dict[int, int]: ...
    async def open_trades(self) -> list[IBTrade]: ...
    async def refresh_orders(self) -> None:
        """Ask IB again for executions, open and completed orders (after a lost answer a local
        cache may not know what became of an order)."""
        ...

    async def all_trades(self) -> list[IBTrade]:
        """Every order of the account known this session or reported on connect (open and
        completed), so a restarted process can find its orders by `order_ref`."""
        ...
    async def fills(self) -> list[IBFill]: ...
    async def cash(self) -> Decimal: ...
    async def close(self) -> None: ...

    # Optional (the adapter uses them when present):
    #   async contract_of(con_id) -> IBContract | None   describe a conId not in the catalog
    #   fill_history_start_ms() -> int | None           `fills()` is complete from this wall ms on
    #   market_data_down() -> str | None                why streamed quotes cannot be trusted now
    #   data_epoch: int                                  grows when quotes were lost (re-read every book)
    #   data_listeners: list[Callable[[str | None], None]]   told at once when market data goes down
    #   client_id: int                                   this API client's id
    #   wall_ms() -> int                                 now (UTC epoch ms) for judging last trade times
    #   products: set[str]                               the venue adds its product symbols (positions)
    #   unsubscribe(con_id) -> None                      free the streaming line of a contract
