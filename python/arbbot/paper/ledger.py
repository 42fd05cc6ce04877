"""The paper venues' own record: what a venue would know of our account, kept in the order
store's database (`paper_*` tables, schema version 5) by the paper venues themselves.

It plays the venue wherever the bot asks one about its account: crash recovery (orders by client
order id, fills by order id), reconciliation (positions, fills, cash moved) and the trader's
balance. It is written only by `PaperVenue.place_order` (`LedgerAccount.add_order`) and
`LedgerAccount.settle`, never by the executor: reconciling the executor's store against it checks
the order path exactly as against a venue.

Units: lots, ticks, µ$. A venue's paper cash = its starting cash (setting `paper_cash_usd`,
recorded the first time the database meets the venue) + the cash its paper fills moved (the
reconciliation's own `cash_moved`: a YES lot and a NO lot of one market are netted into $0.01
on Kalshi and ForecastEx; Polymarket's are held side by side until redeemed) +
what it was paid for markets resolved on a venue that pays at settlement (`paper_settlements`:
Kalshi and ForecastEx, whoever recorded the result; Polymarket's tokens wait for a redemption,
which a paper account never makes).

An account reads its venue's rows once, when it is opened, and keeps what the order path asks
(the client order ids used, the cash, the lots and fees per market) up to date with every order
and settlement it writes; one account per venue writes (the running bot's `PaperVenue`: its
order store is opened exclusively, so no other process trades the database).
"""
from __future__ import annotations

from collections import OrderedDict

from arbbot.execution.reconcile import PAIR_PAYOUT_PER_LOT, nets_pairs, resolution_payout
from arbbot.execution.store import FillRow, OrderStore
from arbbot.model import Side, Venue
from arbbot.units import TICKS_PER_DOLLAR
from arbbot.venues.common.model import Action, Balance, Fill, Order, OrderStatus, Position


PLACED_MEMORY = 4_096     # orders placed since open whose Order and fills are answered from memory


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

    def account(self, venue: str, *, recent_since_ms: int | None = None) -> "LedgerAccount":
        """`venue`'s account; `recent_since_ms`: keep its orders sent since then (`LedgerAccount.recent`)."""
        return LedgerAccount(self, venue, self.store.paper_start_cash(venue, self.start_cash_micros),
                             recent_since_ms=recent_since_ms)

    def accounts(self) -> dict[str, "LedgerAccount"]:
        """Every venue this database holds a paper account on (what `arbbot reconcile` reads)."""
        return {v: LedgerAccount(self, v, cash) for v, cash in self.store.paper_accounts().items()}

    def close(self) -> None:
        self.store.close()


class LedgerAccount:
    """One venue's paper account, answering the account half of `VenueClient` (read only), and
    recording the venue wrapper's orders (`add_order`) and settlements (`settle`).

    Kept from the ledger's rows (read once at open, then moved by each order and settlement
    written here): `cash` (µ$, what `balance` answers), the client order ids used, per market the
    lots held of each side (buys − sells, lots) and the fees paid (µ$), the markets settled.
    `recent`: the orders sent since `recent_since_ms` (oldest first, their `book` and `terms`
    decoded), each with its fills ((price ticks, lots) in fill order): what the venue wrapper
    rebuilds the depth they took from."""

    def __init__(self, ledger: PaperLedger, venue: str, start_cash: int, *, recent_since_ms: int | None = None) -> None:
        self.ledger = ledger
        self.venue = venue
        self.start_cash = start_cash          # µ$
        self.on_order_id = None
        self.nets = nets_pairs(venue)         # Kalshi, ForecastEx: a YES and a NO lot net into $0.01
        self.cash = start_cash                # µ$: start + cash the fills moved + settlements paid
        self._client_ids: set[str] = set()
        self._tokens: dict[str, list[int]] = {}              # market id → [YES lots, NO lots] held (buys − sells)
        self._fees: dict[str, int] = {}                      # market id → µ$ of fees paid
        self._acquired: dict[str, list[int]] = {}            # netting venues: market id → [YES, NO] lots acquired
        self._settled: dict[str, int] = {}                   # market id → µ$ paid at its resolution
        # order id → (the Order, its fills) of the newest PLACED_MEMORY orders recorded here: what the
        # executor asks right after placing one (`order`, `fills(order_id=)`), without a read of every row
        self._placed: OrderedDict[str, tuple[Order, list[Fill]]] = OrderedDict()
        self.recent: list[tuple[dict, list[tuple[int, int]]]] = []
        self._open(recent_since_ms)

    @property
    def store(self) -> OrderStore:
        return self.ledger.store

    def _open(self, recent_since_ms: int | None) -> None:
        """Read the venue's orders, fills and settlements once (the only full read of the ledger)."""
        orders = self.store.paper_orders(self.venue)
        self._client_ids = {r["client_order_id"] for r in orders if r["client_order_id"]}
        fills = self.store.paper_fills(self.venue)
        for f in fills:
            self._count(f)
        for market_id, payout in self.store.paper_settlements(self.venue).items():
            self._credit(market_id, payout)
        if recent_since_ms is not None:
            self.recent = _with_fills([r for r in orders if r["sent_ms"] >= recent_since_ms], fills)

    def _count(self, f: dict) -> None:
        """Move the kept figures by one fill (a `paper_fills` row), as `cash_moved` counts it."""
        market, qty = f["market_id"], f["qty"]
        buy = f["action"] == Action.BUY.value
        yes = f["side"] == Side.YES.label
        self._tokens.setdefault(market, [0, 0])[0 if yes else 1] += qty if buy else -qty
        self._fees[market] = self._fees.get(market, 0) + f["fee"]
        if not self.nets:                     # a buy pays, a sale of a token held is paid; a pair waits
            self.cash += (-f["price"] if buy else f["price"]) * qty - f["fee"]
            return
        # a sale of one side at p is a buy of the other at 1 − p; a YES and a NO lot net into $0.01
        acquired_yes, price = (yes, f["price"]) if buy else (not yes, TICKS_PER_DOLLAR - f["price"])
        acquired = self._acquired.setdefault(market, [0, 0])
        pairs = min(acquired)
        acquired[0 if acquired_yes else 1] += qty
        self.cash += -price * qty - f["fee"] + (min(acquired) - pairs) * PAIR_PAYOUT_PER_LOT

    def _credit(self, market_id: str, payout: int) -> None:
        self._settled[market_id] = payout
        self.cash += payout

    def order_rows(self) -> list[dict]:
        return self.store.paper_orders(self.venue)

    def fill_rows(self) -> list[dict]:
        return self.store.paper_fills(self.venue)

    def knows_client_id(self, client_order_id: str) -> bool:
        return client_order_id in self._client_ids

    def tokens(self, market_id: str, side: Side) -> int:
        """Lots of `side` held in `market_id`: its buys less its sales (Polymarket: the token's balance)."""
        held = self._tokens.get(market_id)
        return 0 if held is None else held[0 if side is Side.YES else 1]

    def net_lots(self, market_id: str) -> int:
        """The net position in `market_id`: YES lots held − NO lots held (0 once settled)."""
        held = self._tokens.get(market_id)
        return 0 if held is None or market_id in self._settled else held[0] - held[1]

    def add_order(self, order: dict, fills: list[dict]) -> None:
        """Record one matched order and its fills (`OrderStore.add_paper_order`, one transaction),
        then move the kept figures by them."""
        self.store.add_paper_order(order, fills)
        if order["client_order_id"]:
            self._client_ids.add(order["client_order_id"])
        for f in fills:
            self._count(f)
        self._placed[order["order_id"]] = (_order(order), [_fill(f) for f in fills])
        if len(self._placed) > PLACED_MEMORY:
            self._placed.popitem(last=False)

    async def discover_markets(self) -> list:
        return []                             # the ledger lists no markets: instruments are market ids

    async def balance(self) -> Balance:
        return Balance(Venue.parse(self.venue), self.cash)

    async def positions(self) -> list:
        """Net positions of the paper fills, but none in a market the account was paid for."""
        return [Position(Venue.parse(self.venue), m, lots, self._fees[m])
                for m in sorted(self._tokens) if (lots := self.net_lots(m))]

    def settle(self, res) -> bool:
        """Pay the account for a market `res` resolved (a `Resolution` or a recorded `ResolutionRow`)
        as its venue pays a real one: on a venue that pays at settlement (Kalshi, ForecastEx:
        `nets_pairs`) its net position's payout (`resolution_payout`: a void returns the held lots'
        cost) credited, the position gone; Polymarket's tokens stay held until redeemed, which a
        paper account never is. Once per market (`paper_settlements`); a market it holds nothing
        in records nothing. True when it paid."""
        lots = self.net_lots(res.market_id)
        if not self.nets or not lots:
            return False
        fills = [f for f in fill_rows(self.fill_rows()) if f.market_id == res.market_id]
        payout = resolution_payout(res, lots, fills)
        if not self.store.add_paper_settlement(self.venue, res.market_id, lots, payout):
            return False
        self._credit(res.market_id, payout)
        return True

    def settle_recorded(self) -> int:
        """Pay every result the store records (the venue's through the bot, an operator's through
        `arbbot resolve`) for a market this account still holds (`settle`); how many it paid."""
        if not self.nets or not any(self.net_lots(m) for m in self._tokens):
            return 0
        return sum(self.settle(r) for r in self.store.resolutions(self.venue).values() if self.net_lots(r.market_id))

    async def order(self, order_id: str) -> Order | None:
        placed = self._placed.get(order_id)
        if placed is not None:
            return placed[0]
        return next((_order(r) for r in self.order_rows() if r["order_id"] == order_id), None)

    async def orders(self, *, ticker: str | None = None, min_ts_ms: int | None = None,
                     status: str | None = None) -> list[Order]:
        """Paper orders never rest: `status="resting"` lists none."""
        return [_order(r) for r in self.order_rows()
                if (ticker is None or r["market_id"] == ticker) and (min_ts_ms is None or r["sent_ms"] >= min_ts_ms)
                and (status is None or r["status"] == status)]

    async def fills(self, *, order_id: str | None = None, ticker: str | None = None,
                    min_ts_ms: int | None = None) -> list[Fill]:
        placed = None if order_id is None else self._placed.get(order_id)
        if placed is not None:
            return [f for f in placed[1]
                    if (ticker is None or f.market_id == ticker) and (min_ts_ms is None or f.ts_ms >= min_ts_ms)]
        return [_fill(r) for r in self.fill_rows()
                if (order_id is None or r["order_id"] == order_id) and (ticker is None or r["market_id"] == ticker)
                and (min_ts_ms is None or r["ts_ms"] >= min_ts_ms)]

    async def close(self) -> None:
        return None


def _with_fills(orders: list[dict], fills: list[dict]) -> list[tuple[dict, list[tuple[int, int]]]]:
    """Each of `orders` (`paper_orders` rows) with its fills among `fills` as (price ticks, lots),
    in fill order (fill ids end in `-k`, k from 0)."""
    by_order: dict[str, list[dict]] = {r["order_id"]: [] for r in orders}
    for f in fills:
        if f["order_id"] in by_order:
            by_order[f["order_id"]].append(f)
    return [(r, [(f["price"], f["qty"]) for f in sorted(by_order[r["order_id"]],
                                                        key=lambda f: int(f["fill_id"].rsplit("-", 1)[1]))])
            for r in orders]


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
