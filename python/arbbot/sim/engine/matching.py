"""A per-market matching engine in the venue's own terms: YES and NO bids, complementary crossing.

Internal units: price in ticks of the side's own price (1 tick = $0.0001), quantity in lots
(0.01 contract), money in µ$. A YES buy at p crosses resting NO bids at q ≥ 10,000 − p and
executes at the maker's price (the taker pays 10,000 − q). Selling YES at p is, economically and
as Kalshi nets positions, buying NO at 10,000 − p; `Exchange.place` accepts both.

Fees follow the venue: `FeeModel(taker_ppm, maker_ppm, rounding_micros)` applies
r × q × p × (1 − p), rounded up per order to `rounding_micros` with a per-order accumulator.
Kalshi's 2026 rule (`FeeModel.kalshi`, `balance_micros` set; docs.kalshi.com "Fee Rounding") is
per fill instead: the fill's trade fee rounded up to $0.0001; the balance change (−cost − trade
fee) floored to the balance precision ($0.01), the difference charged as a rounding fee; the
order's accumulator of rounding fees refunds $0.01 on the fill that takes it above $0.01. An order
filled in several fills can pay a cent more than one rounded up once.

Pairs (`Exchange.nets_pairs`): Kalshi and IB net a YES lot against a NO lot of one market into
$0.01 of cash at once (a position is one signed number). Polymarket does not: its outcomes are
tokens, held side by side until merged or redeemed on chain, and a SELL sells a token held (the
CLOB refuses one not held: "not enough balance / allowance"); there each account's `tokens` count
what it holds of each, a sale pays its proceeds, and nothing is netted.

Settlement (`Exchange.settle`): the market closes for good, every resting order in it is cancelled,
and each holder is paid `yes_value` µ$ per YES lot (10,000 − `yes_value` per NO lot) unless the
venue pays later (`pay=False`: Polymarket's winning tokens wait for an on-chain redemption). A
void (`refund_cost=True`, Kalshi's `market_result` "void": positions returned at cost) pays each
holder back the cost basis of the lots it holds (`_open_cost`) instead.

Reservations (`Account.held`): a resting order reserves what its remainder may still spend — its
lots at its price plus the maker fee they would still be charged (`Exchange._reserve`) — as IB
(ForecastEx), Kalshi and Polymarket hold the cost of open buy orders. A new order must be payable
from `balance − held` (else "insufficient_balance"); a fill, a cancel or a settlement releases
what it reserved. `balance` is the cash itself: what a venue reports as its available funds is
`balance − held`. The house reserves nothing; nor does a Polymarket sale (`nets_pairs` False),
which is paid rather than paying.

Price range (`MarketState.min_price`/`max_price`, ticks of the side bought, inclusive): a venue
refuses orders outside it ("invalid_price"), e.g. ForecastEx's $0.02–$0.99. The house stands for
the other traders, who cannot rest there either: a house order outside it is not placed (returned
cancelled, nothing published), so the house's quotes stay inside the range.

Invariant: the engine never rests a locked or crossed book (best YES bid + best NO bid < 10,000):
an order that could still cross after matching is cancelled (IOC/FOK, self-trade prevention),
never rested. Self-trade prevention (Kalshi `self_trade_prevention_type`): when a taker reaches a
resting order of its own account, `taker_at_cross` cancels the taker's remainder (fills so far
kept), `maker` cancels that resting order and matching goes on. `HOUSE` stands for every other
trader in the market, so its orders never meet STP.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

FULL = 10_000
HOUSE = "__house__"
STP_TYPES = ("taker_at_cross", "maker")


class SimReject(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


FILL_FEE_MICROS = 100          # Kalshi rounds each fill's trade fee up to $0.0001


@dataclass(frozen=True)
class FeeModel:
    taker_ppm: int = 0
    maker_ppm: int = 0
    rounding_micros: int = 1
    balance_micros: int = 0    # > 0: fees per fill, to this balance precision (Kalshi 2026: $0.01)

    @classmethod
    def kalshi(cls, taker_ppm: int, maker_ppm: int) -> FeeModel:
        """Kalshi's schedule under its 2026 rounding, for a member whose balance is kept in cents."""
        return cls(taker_ppm, maker_ppm, 10_000, 10_000)

    def fill_fee(self, ppm: int, lots: int, price: int, accrued: int) -> tuple[int, int]:
        """(µ$ net fee of one fill of `lots` at `price` ticks bought, the order's rounding
        accumulator after it) under the per-fill rule (`balance_micros` > 0), `accrued` the
        accumulator before: trade fee + rounding fee − a $0.01 rebate once the accumulator exceeds
        $0.01 (the bot's own model of the venue is written apart; tests/sim/test_kalshi_fee_rounding.py
        compares the two fill by fill)."""
        unit = FILL_FEE_MICROS * 10**10
        trade = -(-self.raw(ppm, lots, price) // unit) * FILL_FEE_MICROS
        change = -price * lots - trade                  # µ$, negative: what the buyer pays
        rounding = change - change // self.balance_micros * self.balance_micros
        accrued += rounding
        fee = trade + rounding
        if accrued > self.balance_micros:
            accrued -= self.balance_micros
            fee -= self.balance_micros
        return fee, accrued

    def raw(self, ppm: int, lots: int, price: int) -> int:
        """Unrounded fee in 1e-16 $."""
        return ppm * lots * price * (FULL - price)

    def rounded(self, raw: int) -> int:
        unit = self.rounding_micros * 10**10
        return -(-raw // unit) * self.rounding_micros


@dataclass(slots=True)
class SimOrder:
    order_id: str
    account: str
    market: str
    side: str               # "yes" | "no": the side this order buys
    action: str             # "buy" | "sell" as submitted
    price: int              # ticks, own side
    initial: int            # lots
    remaining: int
    tif: str
    client_order_id: str = ""
    status: str = "resting"  # resting | canceled | executed
    filled: int = 0
    taker_cost: int = 0      # µ$
    maker_cost: int = 0
    taker_fee: int = 0
    maker_fee: int = 0
    created_ms: int = 0
    updated_ms: int = 0
    seq: int = 0             # submission order: time priority among orders at one price
    _maker_raw: int = 0
    submitted_price: int = 0  # the price as the client expressed it (for sells: YES price)
    stp: str = "taker_at_cross"  # self-trade prevention type (STP_TYPES)
    held: int = 0            # µ$ reserved while resting (`Exchange._rehold`); 0 once done
    rounding: int = 0        # µ$ of rounding fees accrued, not yet refunded (FeeModel.fill_fee)

    @property
    def submitted_side(self) -> str:
        """`side` as submitted: the side this order buys, or for a sell the side it sells."""
        return self.side if self.action == "buy" else ("no" if self.side == "yes" else "yes")


@dataclass(frozen=True)
class BookDelta:
    market: str
    side: str
    price: int
    delta: int               # lots, signed
    client_order_id: str = ""
    account: str = ""


@dataclass(frozen=True)
class SelfTradeCancel:
    """A resting order cancelled by self-trade prevention (`maker`): its account's own taker
    reached it. (The taker's own end is its order's final state.)"""
    order: SimOrder


@dataclass(frozen=True)
class TradeEvent:
    market: str
    trade_id: str
    yes_price: int
    lots: int
    taker_side: str
    ts_ms: int


@dataclass(frozen=True)
class FillEvent:
    fill_id: str
    trade_id: str
    order: SimOrder
    price: int               # own-side price paid
    lots: int
    fee: int                 # µ$ charged for this fill (per-order accumulator)
    is_taker: bool
    ts_ms: int
    post_position: int


@dataclass(frozen=True)
class SettlementRecord:
    """One account's settlement of one market (what Kalshi's /portfolio/settlements lists)."""
    market: str
    result: str              # yes | no | scalar | void
    yes_value: int | None    # µ$ paid per YES lot (0 … 10,000); None for a void
    yes_lots: int            # held at settlement (lots, ≥ 0)
    no_lots: int
    yes_cost: int            # µ$: cost basis of the YES lots held (their fills, first in first out)
    no_cost: int
    revenue: int             # µ$ credited (a void: yes_cost + no_cost, the lots' cost refunded)
    fees: int                # µ$ of fees paid trading this market
    settled_ms: int


@dataclass(frozen=True)
class MarketSettled:
    """Engine event, after the cancels (each with its BookDelta) and payouts of a settlement."""
    market: str
    result: str              # yes | no | scalar | void
    yes_value: int | None    # µ$ per YES lot; None for a void
    ts_ms: int
    cancelled: tuple[SimOrder, ...]          # the resting orders it cancelled (house ones included)
    records: tuple[tuple[str, SettlementRecord], ...]   # (account, record) of each holder paid


@dataclass
class Account:
    name: str
    balance: int                                   # µ$ of cash
    held: int = 0                                  # µ$ reserved by resting orders (Σ SimOrder.held ≤ balance)
    positions: dict[str, int] = field(default_factory=dict)   # market → signed lots (YES > 0)
    # (market, yes|no) → lots held of that token, where pairs are not netted (`nets_pairs` False;
    # `positions` is then YES held − NO held)
    tokens: dict[tuple[str, str], int] = field(default_factory=dict)
    fees_paid: dict[str, int] = field(default_factory=dict)
    traded: dict[str, int] = field(default_factory=dict)
    realized: dict[str, int] = field(default_factory=dict)
    fills: list[FillEvent] = field(default_factory=list)
    settlements: list[SettlementRecord] = field(default_factory=list)   # append-only, oldest first


@dataclass
class MarketState:
    ticker: str
    fees: FeeModel
    tick: Callable[[int], int] = lambda p: 100     # tick size (ticks) valid at price p
    lot: int = 100                                  # min increment in lots (100 = whole contracts)
    min_price: int = 1                              # ticks of the side bought, inclusive (module doc)
    max_price: int = FULL - 1
    bids: dict[str, list[SimOrder]] = field(default_factory=lambda: {"yes": [], "no": []})
    open: bool = True
    last_yes_price: int = 0
    volume: int = 0
    result: str = ""                                # once settled: yes | no | scalar | void
    yes_value: int | None = None                    # once settled: µ$ per YES lot (0 … 10,000); void: None
    settled_ms: int = 0

    @property
    def settled(self) -> bool:
        return bool(self.result)

    def levels(self, side: str) -> dict[int, int]:
        out: dict[int, int] = {}
        for o in self.bids[side]:
            out[o.price] = out.get(o.price, 0) + o.remaining
        return out


class Exchange:
    """All markets and accounts of one simulated venue. Single-threaded (asyncio loop)."""

    def __init__(self, clock_ms: Callable[[], int], *, nets_pairs: bool = True) -> None:
        self.clock_ms = clock_ms
        self.nets_pairs = nets_pairs        # module doc "Pairs"
        self.markets: dict[str, MarketState] = {}
        self.accounts: dict[str, Account] = {HOUSE: Account(HOUSE, 10**18)}
        self.orders: dict[str, SimOrder] = {}
        self.by_client_id: dict[tuple[str, str], str] = {}
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)
        self.listeners: list[Callable[[object], None]] = []

    # ---- events ---------------------------------------------------------------------------
    def _emit(self, ev: object) -> None:
        for fn in list(self.listeners):
            fn(ev)

    def _new_id(self, prefix: str) -> str:
        n = next(self._ids)
        return f"{prefix}{n:08x}-0000-4000-8000-{n:012x}"

    def account(self, name: str, balance: int = 0) -> Account:
        if name not in self.accounts:
            self.accounts[name] = Account(name, balance)
        return self.accounts[name]

    def add_market(self, m: MarketState) -> None:
        self.markets[m.ticker] = m

    # ---- orders ---------------------------------------------------------------------------
    def place(self, account: str, market: str, side: str, action: str, price: int, lots: int,
              tif: str = "gtc", client_order_id: str = "", post_only: bool = False,
              stp: str = "taker_at_cross", leave: int | None = None,
              budget: int | None = None) -> tuple[SimOrder, list[FillEvent]]:
        """Submit an order. `price` is in ticks of `side` as submitted; a sell of `side` at p is
        converted to a buy of the other side at 10,000 − p. `stp`: its self-trade prevention
        type. `leave` (fault injection: a partial fill as a real venue produces one): just before
        this order arrives, another trader takes all but `leave` lots of the liquidity it would
        cross (`_take_ahead`); never for FOK (fully filled or killed) or post-only orders.
        `budget` (a taker buy, IOC/FOK: Polymarket's market BUY): the order spends up to `budget` µ$
        at the makers' prices ≤ `price`, in whole lots, and receives what that buys, more or fewer
        than `lots` (then its least, reported as its size); a FOK is killed unless the liquidity
        takes the whole budget (to within one lot at `price`). Raises SimReject."""
        m = self.markets.get(market)
        if m is None:
            raise SimReject("market_not_found", f"market {market} not found")
        if not m.open:
            raise SimReject("market_closed", "market is settled" if m.settled else "market is not open for trading")
        if side not in ("yes", "no") or action not in ("buy", "sell"):
            raise SimReject("invalid_parameters", "side must be yes/no and action buy/sell")
        if stp not in STP_TYPES:
            raise SimReject("invalid_parameters", f"self_trade_prevention_type must be one of {STP_TYPES}")
        if lots <= 0 or lots % m.lot:
            raise SimReject("invalid_parameters", "count must be a positive multiple of the lot")
        if not 0 < price < FULL or price % m.tick(price):
            raise SimReject("invalid_price", "price is outside the book or off the tick grid")
        if client_order_id and (account, client_order_id) in self.by_client_id:
            raise SimReject("order_already_exists", "client_order_id already used")
        acct = self.accounts.get(account)
        if acct is None:
            raise SimReject("unauthorized", "unknown account")
        buy_side, buy_price = (side, price) if action == "buy" else (
            "no" if side == "yes" else "yes", FULL - price)
        if budget is not None and (action != "buy" or tif not in ("ioc", "fok") or post_only or budget <= 0):
            raise SimReject("invalid_parameters", "a budget is for a taker buy (IOC/FOK)")
        if account != HOUSE and action == "sell" and not self.nets_pairs:
            if acct.tokens.get((market, side), 0) < lots:     # a sale of a token held; its fee comes from the proceeds
                raise SimReject("insufficient_balance", "not enough balance / allowance")
        elif account != HOUSE:
            if budget is None:
                worst = buy_price * lots + m.fees.rounded(m.fees.raw(m.fees.taker_ppm, lots, buy_price))
            else:                                 # the lots it could buy at the cheapest ask, each at most p(1 − p) = ¼
                other = "no" if buy_side == "yes" else "yes"
                cheapest = min((FULL - r.price for r in m.bids[other]), default=buy_price)
                most = max(lots, budget // max(1, min(cheapest, buy_price)))
                worst = budget + m.fees.rounded(m.fees.raw(m.fees.taker_ppm, most, FULL // 2))
            if worst + m.fees.rounding_micros > acct.balance - acct.held:
                raise SimReject("insufficient_balance", "insufficient balance")
        if not m.min_price <= buy_price <= m.max_price:      # module doc "Price range"
            if account != HOUSE:
                raise SimReject("invalid_price", "price is outside the market's price range")
            return SimOrder("", HOUSE, market, buy_side, action, buy_price, lots, 0, tif, status="canceled"), []
        if leave is not None and tif != "fok" and not post_only:
            self._take_ahead(m, buy_side, buy_price, leave)
        now = self.clock_ms()
        o = SimOrder(self._new_id(""), account, market, buy_side, action, buy_price, lots, lots, tif,
                     client_order_id, created_ms=now, updated_ms=now, seq=next(self._seq),
                     submitted_price=price, stp=stp)
        if client_order_id:
            self.by_client_id[(account, client_order_id)] = o.order_id
        self.orders[o.order_id] = o
        other = "no" if buy_side == "yes" else "yes"
        crossing = [r for r in m.bids[other] if r.price >= FULL - buy_price]
        crossing.sort(key=lambda r: (-r.price, r.seq))
        if post_only and crossing:
            o.status = "canceled"
            o.remaining = 0
            raise SimReject("post_only_cross", "post-only order would cross")
        mine = (lambda r: r.account == account) if account != HOUSE else (lambda r: False)
        # what the order can take: up to its own first resting order (taker_at_cross), or all
        # the others' (maker: its own are cancelled on the way)
        takeable = [r for r in crossing if not mine(r)] if stp == "maker" else \
            list(itertools.takewhile(lambda r: not mine(r), crossing))
        if tif == "fok" and (sum(r.remaining for r in takeable) < lots if budget is None
                             else _unspent(takeable, budget, m.lot) >= buy_price * m.lot):
            o.status = "canceled"
            o.remaining = 0
            return o, []
        left = budget                             # µ$ a budget order may still spend
        if budget is not None:
            o.remaining = budget                  # a bound: each lot costs ≥ 1 µ$
        fills: list[FillEvent] = []
        taker_raw = 0
        stopped = False                           # taker_at_cross: reached its own resting order
        for r in crossing:
            if o.remaining == 0:
                break
            if mine(r):
                if stp == "taker_at_cross":
                    stopped = True
                    break
                self.cancel(account, r.order_id)
                self._emit(SelfTradeCancel(r))
                continue
            taker_px = FULL - r.price
            q = min(o.remaining, r.remaining)
            if left is not None:
                q = min(q, left // (taker_px * m.lot) * m.lot)
                if q == 0:
                    break
                left -= q * taker_px
            trade_id = self._new_id("t")
            yes_px = taker_px if buy_side == "yes" else r.price
            # maker side
            r.remaining -= q
            r.filled += q
            r.maker_cost += q * r.price
            if m.fees.balance_micros:
                mfee, r.rounding = m.fees.fill_fee(m.fees.maker_ppm, q, r.price, r.rounding)
            else:
                r._maker_raw += m.fees.raw(m.fees.maker_ppm, q, r.price)
                mfee = m.fees.rounded(r._maker_raw) - r.maker_fee if m.fees.maker_ppm else 0
            r.maker_fee += mfee
            r.updated_ms = now
            if r.remaining == 0:
                r.status = "executed"
                m.bids[other].remove(r)
                self._forget_house(r)
            self._rehold(r)
            self._emit(BookDelta(market, other, r.price, -q, r.client_order_id, r.account))
            # taker side
            o.remaining -= q
            o.filled += q
            o.taker_cost += q * taker_px
            if m.fees.balance_micros:
                tfee, o.rounding = m.fees.fill_fee(m.fees.taker_ppm, q, taker_px, o.rounding)
            else:
                taker_raw += m.fees.raw(m.fees.taker_ppm, q, taker_px)
                tfee = (m.fees.rounded(taker_raw) if m.fees.taker_ppm else 0) - o.taker_fee
            o.taker_fee += tfee
            m.last_yes_price = yes_px
            m.volume += q
            self._emit(TradeEvent(market, trade_id, yes_px, q, buy_side, now))
            fills.append(self._settle(r, trade_id, r.price, q, mfee, False, now))
            fills.append(self._settle(o, trade_id, taker_px, q, tfee, True, now))
        if left is not None:                      # spent: executed; else what it could not spend is killed
            o.remaining = 0 if left < buy_price * m.lot else 1
            o.initial = max(lots, o.filled) if o.remaining == 0 else lots
        if o.remaining > 0:
            if tif in ("ioc", "fok") or stopped:    # a remainder that would cross never rests
                o.status = "canceled"
                o.remaining = 0
            else:
                o.status = "resting"
                m.bids[buy_side].append(o)
                self._rehold(o)
                self._emit(BookDelta(market, buy_side, buy_price, o.remaining, client_order_id, account))
        else:
            o.status = "executed"
        o.updated_ms = now
        self._forget_house(o)
        return o, fills

    def _take_ahead(self, m: MarketState, buy_side: str, buy_price: int, leave: int) -> None:
        """Another trader (the house) takes the resting liquidity that a buy of `buy_side` at
        `buy_price` (ticks) would cross, best prices first, all but `leave` lots (rounded to the
        market's lot), with an IOC of its own: a real trade, published like any other."""
        other = "no" if buy_side == "yes" else "yes"
        crossing = sum(r.remaining for r in m.bids[other] if r.price >= FULL - buy_price)
        take = (crossing - leave) // m.lot * m.lot
        if take > 0:
            self.place(HOUSE, m.ticker, buy_side, "buy", buy_price, take, "ioc")

    def _reserve(self, o: SimOrder) -> int:
        """µ$ the remainder of resting order `o` may still spend: its lots at its price plus the
        maker fee they would still be charged (the order's fee accumulator, rounded up once; per
        fill, the remainder's fee rounded up plus $0.01 of rounding); 0
        for the house and for a sale of tokens held (`nets_pairs` False: paid, spends no cash)."""
        if o.account == HOUSE or (o.action == "sell" and not self.nets_pairs):
            return 0
        fees = self.markets[o.market].fees
        if not fees.maker_ppm:
            fee = 0
        elif fees.balance_micros:
            # per fill (FeeModel.fill_fee): the remainder's fee rounded up once, plus the most its
            # fills' rounding can leave in the order's accumulator ($0.01)
            fee = fees.rounded(fees.raw(fees.maker_ppm, o.remaining, o.price)) + fees.balance_micros
        else:
            fee = fees.rounded(o._maker_raw + fees.raw(fees.maker_ppm, o.remaining, o.price)) - o.maker_fee
        return o.price * o.remaining + fee

    def _rehold(self, o: SimOrder) -> None:
        """Make `o.held` what `o` reserves now (`_reserve` while it rests, else 0) and move its
        account's `held` by the change. Called after every change of a remainder or a status."""
        want = self._reserve(o) if o.status == "resting" else 0
        self.accounts[o.account].held += want - o.held
        o.held = want

    def _forget_house(self, o: SimOrder) -> None:
        """Drop a house order that no longer rests from `orders`: nobody looks one up by id, and
        a market maker requoting thousands of books a second would otherwise grow the map
        without bound (its fills keep their own reference to the order)."""
        if o.account == HOUSE and o.status != "resting":
            self.orders.pop(o.order_id, None)

    def _settle(self, o: SimOrder, trade_id: str, price: int, q: int, fee: int, taker: bool,
                now: int) -> FillEvent:
        a = self.accounts[o.account]
        pos = a.positions.get(o.market, 0)
        signed = q if o.side == "yes" else -q
        if self.nets_pairs:
            netted = min(abs(pos), q) if (pos > 0) != (signed > 0) and pos != 0 else 0
            a.balance -= price * q + fee
            a.balance += netted * 100 * 100      # each netted pair pays $1 = 10^6 µ$ per contract
        elif o.action == "sell":                 # booked as a buy of the other side: the token sold is o.side's other
            sold = "no" if o.side == "yes" else "yes"
            a.balance += (FULL - price) * q - fee
            a.tokens[(o.market, sold)] = a.tokens.get((o.market, sold), 0) - q
        else:
            a.balance -= price * q + fee
            a.tokens[(o.market, o.side)] = a.tokens.get((o.market, o.side), 0) + q
        a.positions[o.market] = pos + signed
        a.fees_paid[o.market] = a.fees_paid.get(o.market, 0) + fee
        a.traded[o.market] = a.traded.get(o.market, 0) + price * q
        ev = FillEvent(self._new_id("f"), trade_id, o, price, q, fee, taker, now, pos + signed)
        a.fills.append(ev)
        self._emit(ev)
        return ev

    def revert(self, fills: list[FillEvent]) -> None:
        """Undo what these fills moved in their accounts (`_settle`): cash, tokens, positions, fees
        paid, value traded — every side's, the house's too: a trade whose on-chain settlement failed
        (Polymarket's FAILED: no tokens, no cash moved). The fills stay in the accounts' logs (the
        venue still lists the trade) and their orders keep their filled lots (the CLOB's
        `size_matched` still counts them). Only where pairs are not netted (`nets_pairs` False):
        cash a netted pair paid cannot be told apart from the fill's own."""
        if self.nets_pairs:
            raise ValueError("revert: only on a venue whose pairs are not netted (Polymarket)")
        for f in fills:
            o, a, q = f.order, self.accounts[f.order.account], f.lots
            if o.action == "sell":               # booked as a buy of the other side: the token sold comes back
                sold = "no" if o.side == "yes" else "yes"
                a.balance -= (FULL - f.price) * q - f.fee
                a.tokens[(o.market, sold)] = a.tokens.get((o.market, sold), 0) + q
            else:
                a.balance += f.price * q + f.fee
                a.tokens[(o.market, o.side)] = a.tokens.get((o.market, o.side), 0) - q
            a.positions[o.market] = a.positions.get(o.market, 0) - (q if o.side == "yes" else -q)
            a.fees_paid[o.market] = a.fees_paid.get(o.market, 0) - f.fee
            a.traded[o.market] = a.traded.get(o.market, 0) - f.price * q

    def cancel(self, account: str, order_id: str) -> tuple[SimOrder, int]:
        o = self.orders.get(order_id)
        if o is None or o.account != account:
            raise SimReject("not_found", "order not found")
        if o.status != "resting":
            raise SimReject("not_found", "order is not resting")
        m = self.markets[o.market]
        m.bids[o.side].remove(o)
        reduced = o.remaining
        o.remaining = 0
        o.status = "canceled"
        o.updated_ms = self.clock_ms()
        self._rehold(o)
        self._forget_house(o)
        self._emit(BookDelta(o.market, o.side, o.price, -reduced, o.client_order_id, account))
        return o, reduced

    def cancel_all(self, account: str, market: str | None = None) -> None:
        """Cancel `account`'s resting orders (in `market` only, if given), oldest first."""
        if market is None:
            mine = [o for o in self.orders.values() if o.account == account and o.status == "resting"]
        else:
            m = self.markets[market]
            mine = sorted((o for side in ("yes", "no") for o in m.bids[side] if o.account == account),
                          key=lambda o: o.seq)
        for o in mine:
            self.cancel(account, o.order_id)

    def set_level(self, account: str, market: str, side: str, price: int, lots: int) -> None:
        """Make `account`'s resting bid on `side` at `price` (ticks) exactly `lots`: one resting
        order per level, resized in place (one `BookDelta` of the net change; a smaller order
        keeps its queue place, a larger one joins the back of the queue, as on a real venue),
        placed when new (it may cross and fill like any order), cancelled at 0. For the house
        market maker, which holds at most one order per level."""
        m = self.markets[market]
        have = next((o for o in m.bids[side] if o.price == price and o.account == account), None)
        if have is None:
            if lots > 0:
                self.place(account, market, side, "buy", price, lots)
            return
        if lots <= 0:
            self.cancel(account, have.order_id)
            return
        delta = lots - have.remaining
        if delta:
            have.remaining, have.initial = lots, have.initial + delta
            have.updated_ms = self.clock_ms()
            if delta > 0:
                have.seq = next(self._seq)          # time priority: behind every order already there
            self._rehold(have)
            self._emit(BookDelta(market, side, price, delta, have.client_order_id, account))

    # ---- settlement -----------------------------------------------------------------------
    def settle(self, market: str, yes_value: int | None = None, *, pay: bool = True,
               refund_cost: bool = False) -> MarketSettled:
        """Settle `market` at `yes_value` µ$ per YES lot (10,000 = YES won, 0 = NO won, between:
        a split): it closes (orders on it are refused from now on), every resting order in it is
        cancelled (house ones too, each with its BookDelta), and with `pay` each account holding a
        position is credited its payout (YES lots × yes_value, NO lots × (10,000 − yes_value)),
        its position set to 0 and a `SettlementRecord` appended. `pay=False`: positions and
        balances stay as they are (the venue pays on redemption). `refund_cost=True` (then no
        `yes_value`): a void — result "void", yes_value None, and each holder is credited the cost
        basis of the lots it holds (`_open_cost`: YES cost + NO cost, fees not refunded) instead
        of a payout. Emits `MarketSettled`. Raises SimReject if the market is unknown or already
        settled; ValueError for a yes_value out of range, missing, or given with `refund_cost`."""
        m = self.markets.get(market)
        if m is None:
            raise SimReject("market_not_found", f"market {market} not found")
        if m.settled:
            raise SimReject("market_closed", f"market {market} is already settled")
        if refund_cost:
            if yes_value is not None:
                raise ValueError("a void (refund_cost) settles at cost: no yes_value")
        elif isinstance(yes_value, bool) or not isinstance(yes_value, int) or not 0 <= yes_value <= FULL:
            raise ValueError(f"yes_value must be an integer 0..{FULL} µ$ per lot, not {yes_value!r}")
        now = self.clock_ms()
        m.open = False
        if refund_cost:
            m.result = "void"
        else:
            m.result = "yes" if yes_value == FULL else "no" if yes_value == 0 else "scalar"
        m.yes_value, m.settled_ms = yes_value, now
        resting = sorted((o for side in ("yes", "no") for o in m.bids[side]), key=lambda o: o.seq)
        for o in resting:
            self.cancel(o.account, o.order_id)
        records = []
        for name, a in self.accounts.items():
            pos = a.positions.get(market, 0)
            if not pay or pos == 0:
                continue
            yes_lots, no_lots = max(pos, 0), max(-pos, 0)
            yes_cost, no_cost = _open_cost(a.fills, market)
            if refund_cost:
                revenue = yes_cost + no_cost
            else:
                revenue = yes_lots * yes_value + no_lots * (FULL - yes_value)
            rec = SettlementRecord(market, m.result, yes_value, yes_lots, no_lots, yes_cost, no_cost, revenue,
                                   a.fees_paid.get(market, 0), now)
            a.balance += revenue
            a.positions[market] = 0
            a.settlements.append(rec)
            records.append((name, rec))
        ev = MarketSettled(market, m.result, yes_value, now, tuple(resting), tuple(records))
        self._emit(ev)
        return ev


def _unspent(takeable: list[SimOrder], budget: int, lot: int) -> int:
    """µ$ of `budget` left after buying whole lots of `takeable` (resting bids of the other side,
    best first) at their prices."""
    left = budget
    for r in takeable:
        px = FULL - r.price
        q = min(r.remaining, left // (px * lot) * lot)
        left -= q * px
        if q < r.remaining:
            break
    return left


def _open_cost(fills: list[FillEvent], market: str) -> tuple[int, int]:
    """(YES cost, NO cost) µ$ of the lots still held in `market`: each fill buys lots of one side
    at its price; a buy of the other side first nets the oldest lots held (a pair pays $1 and is
    gone), first in first out."""
    held: dict[str, list[list[int]]] = {"yes": [], "no": []}     # side → [[lots, price ticks], …]
    for f in fills:
        if f.order.market != market:
            continue
        side, other, q = f.order.side, "no" if f.order.side == "yes" else "yes", f.lots
        while q and held[other]:
            lot = held[other][0]
            n = min(q, lot[0])
            lot[0] -= n
            q -= n
            if lot[0] == 0:
                held[other].pop(0)
        if q:
            held[side].append([q, f.price])
    return (sum(n * p for n, p in held["yes"]), sum(n * p for n, p in held["no"]))
