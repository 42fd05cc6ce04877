"""The paper venues' own record: what a venue would know of our account, kept in the order
store's database (`paper_*` tables, schema version 5) by the paper venues themselves.

It plays the venue wherever the bot asks one about its account: crash recovery (orders by client
order id, fills by order id), reconciliation (positions, fills, cash moved) and the trader's
balance. It is written only by `PaperVenue.place_order`, never by the executor: reconciling the
executor's store against it checks the order path exactly as against a venue.

Units: lots, ticks, µ$. A venue's paper cash = its starting cash (setting `paper_cash_usd`,
recorded the first time the database meets the venue) + the cash its paper fills moved (the
reconciliation's own `cash_moved`: a YES lot and a NO lot of one market are netted into $0.01
on Kalshi and ForecastEx; Polymarket's are held side by side until redeemed) +
what it was paid for markets resolved on a venue that pays at settlement (`paper_settlements`:
Kalshi; Polymarket's tokens wait for a redemption, which a paper account never makes).
"""
from __future__ import annotations

from arbbot.execution.store import FillRow, OrderStore
from arbbot.model import Side, Venue
from arbbot.venues.common.model import Action, Balance, Fill, Order, OrderStatus, Position


def _order(row: dict) -> Order:
    return Order(Venue.parse(row["venue"]), row["order_id"], row["client_order_id"], row["market_id"],
                 Side.parse(row["side"]), Action(row["action"]), row["price"], row["qty"], row["filled"], 0,
                 OrderStatus(row["status"]), fees_micros=row["fee"], cost_micros=row["cost"])


def _fill(row: dict) -> Fill:
    return Fill(Venue.parse(row["venue"]), row["fill_id"], row["order_id"], row["market_id"], Side.parse(row["side"]),
                Action(row["action"]), row["price"], row["qty"], row["fee"], True, row["ts_ms"],
                row["client_order_id"])


def fill_rows(rows: list[dict]) -> list[FillRow]:
    """Ledger fills as the store's FillRow (what `cash_moved` and the position netting read)."""
    return [FillRow(r["venue"], r["fill_id"], r["client_order_id"], r["order_id"], r["market_id"], r["side"],
                    r["action"], r["qty"], r["price"], r["fee"], True) for r in rows]


class PaperLedger:
    """The ledger of every paper venue in one database (`store`: an OrderStore of its own on the
    bot's database). `start_cash_micros`: a new paper account's cash."""

    def __init__(self, store: OrderStore, start_cash_micros: int) -> None:
        self.store = store
        self.start_cash_micros = start_cash_micros

    def account(self, venue: str) -> "LedgerAccount":
        return LedgerAccount(self, venue, self.store.paper_start_cash(venue, self.start_cash_micros))

    def accounts(self) -> dict[str, "LedgerAccount"]:
        """Every venue this database holds a paper account on (what `arbbot reconcile` reads)."""
        return {v: LedgerAccount(self, v, cash) for v, cash in self.store.paper_accounts().items()}

    def close(self) -> None:
        self.store.close()


class LedgerAccount:
    """One venue's paper account, answering the account half of `VenueClient` (read only)."""

    def __init__(self, ledger: PaperLedger, venue: str, start_cash: int) -> None:
        self.ledger = ledger
        self.venue = venue
        self.start_cash = start_cash          # µ$
        self.on_order_id = None

    @property
    def store(self) -> OrderStore:
        return self.ledger.store

    def order_rows(self) -> list[dict]:
        return self.store.paper_orders(self.venue)

    def fill_rows(self) -> list[dict]:
        return self.store.paper_fills(self.venue)

    def knows_client_id(self, client_order_id: str) -> bool:
        return any(r["client_order_id"] == client_order_id for r in self.order_rows())

    async def discover_markets(self) -> list:
        return []                             # the ledger lists no markets: instruments are market ids

    async def balance(self) -> Balance:
        from arbbot.execution.reconcile import cash_moved
        paid = sum(self.store.paper_settlements(self.venue).values())
        return Balance(Venue.parse(self.venue), self.start_cash + cash_moved(fill_rows(self.fill_rows())) + paid)

    async def positions(self) -> list:
        """Net positions of the paper fills, but none in a market the account was paid for."""
        from arbbot.execution.reconcile import store_net_positions
        fees: dict[str, int] = {}
        for r in self.fill_rows():
            fees[r["market_id"]] = fees.get(r["market_id"], 0) + r["fee"]
        net = store_net_positions(fill_rows(self.fill_rows()))
        settled = self.store.paper_settlements(self.venue)
        return [Position(Venue.parse(self.venue), m, lots, fees.get(m, 0)) for m, lots in sorted(net.items())
                if m not in settled]

    def settle(self, res) -> bool:
        """Pay the account for a market resolved by a venue that pays at settlement (`res.paid`,
        a `Resolution`), as the venue would: its net position's payout (`resolution_payout`)
        credited, the position gone. Once per market; a market it holds nothing in records nothing.
        True when it paid."""
        from arbbot.execution.reconcile import resolution_payout, store_net_positions
        fills = [f for f in fill_rows(self.fill_rows()) if f.market_id == res.market_id]
        lots = store_net_positions(fills).get(res.market_id, 0)
        if not res.paid or not lots:
            return False
        return self.store.add_paper_settlement(self.venue, res.market_id, lots, resolution_payout(res, lots, fills))

    async def order(self, order_id: str) -> Order | None:
        return next((_order(r) for r in self.order_rows() if r["order_id"] == order_id), None)

    async def orders(self, *, ticker: str | None = None, min_ts_ms: int | None = None,
                     status: str | None = None) -> list[Order]:
        """Paper orders never rest: `status="resting"` lists none."""
        return [_order(r) for r in self.order_rows()
                if (ticker is None or r["market_id"] == ticker) and (min_ts_ms is None or r["sent_ms"] >= min_ts_ms)
                and (status is None or r["status"] == status)]

    async def fills(self, *, order_id: str | None = None, ticker: str | None = None,
                    min_ts_ms: int | None = None) -> list[Fill]:
        return [_fill(r) for r in self.fill_rows()
                if (order_id is None or r["order_id"] == order_id) and (ticker is None or r["market_id"] == ticker)
                and (min_ts_ms is None or r["ts_ms"] >= min_ts_ms)]

    async def close(self) -> None:
        return None


def open_ledger(db_path: str, start_cash_micros: int, *, durability: str = "process") -> PaperLedger:
    """The paper ledger on `db_path`, claiming the database for paper trading (ValueError, naming
    the file, if it holds orders sent to venues)."""
    store = OrderStore(db_path, durability=durability)
    try:
        store.claim_trading_mode("paper")
    except BaseException:
        store.close()
        raise
    return PaperLedger(store, start_cash_micros)
