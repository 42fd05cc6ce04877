"""The local fill engine of paper trading: one taker order against one book, exactly.

Pure and deterministic (no clock, no I/O). Units: prices in ticks of the order's own side, sizes
in lots, money in µ$ (ticks × lots = µ$).

- A BUY of side S walks S's effective ask ladder (`arbbot.engine.decompose`: on Kalshi and
  ForecastEx a YES ask at p is a NO bid at 10,000 − p; on Polymarket the token's own asks),
  cheapest first, at prices ≤ the limit.
- A SELL of side S walks S's bids, highest first, at prices ≥ the limit (ForecastEx is
  buy-only: the venue wrapper refuses sells there).
- Each fill is at the level's price (the resting order's price), for at most the level's size.
  The order fills at most `qty`, and a whole number of the market's lots: what the levels within
  the limit offer, rounded down to the lot.
- Liquidity earlier paper orders took that the venue's book still shows (`Terms.taken`: lots per
  price of the order's ladder; the venue never saw those orders) is not there any more: two paper
  orders never both take the same resting lots. Which resting orders an order takes
  (`taken_bid`): a buy of S at p the other side's bid at 10,000 − p, a sell of S at p S's bid at
  p, on every venue (Polymarket publishes each bid again as the other token's ask).
- IOC fills what it can and cancels the rest; FOK fills all of `qty` or nothing.
- The books a paper venue passes on are the venue's less those taken lots (`without_taken`, a
  `PaperBook` keeping the venue's own as `raw`), as the venue's book shows a real order's.
- Fees by the venue's own schedule through the engine's fee code (`arbbot.engine.order_fee`,
  spec/ARBITRAGE.md "Fees": per order, rate part rounded up to R, plus the per-contract
  commission). Fill k carries fee(fills[:k+1]) − fee(fills[:k]) (the venue's per-order
  accumulator), so the fills add up to the order's fee exactly. Kalshi rounds per fill since
  2026 (`arbbot.venues.kalshi.fees.fill_fees`): each level walked is one fill, the fewest the
  venue could make of it (each resting order met is one there), so paper pays the least the
  venue would.
"""
from __future__ import annotations

from dataclasses import dataclass

from arbbot.engine import decompose, order_fee
from arbbot.model import Book, FeeSchedule, Level, Side, Venue
from arbbot.units import TICKS_PER_DOLLAR
from arbbot.venues.common.model import Action, OrderStatus, TimeInForce
from arbbot.venues.kalshi.fees import fill_fees as kalshi_fill_fees

MATCHED_TIFS = (TimeInForce.IOC, TimeInForce.FOK)   # what the fill engine simulates (takers only)


@dataclass(frozen=True)
class Terms:
    """What matching needs of a market: its venue, taker fee schedule and lot (lots), and the lots
    earlier paper orders took that the book still shows, at each price of the order's ladder
    (price ticks, lots). `budget` (µ$, a BUY on a venue whose marketable BUY spends a dollar amount:
    Polymarket's FAK/FOK, the amount its adapter signs): the order spends it at the asks' prices
    within its limit, in whole lots, and receives what it buys, more or fewer lots than asked.
    `mirrored` (Polymarket, orders since the two token books are read together): a level fills
    only as far as both copies of it show it (`ladder`); ledgers written before keep their own
    orders' matching (False)."""
    venue: Venue
    fees: FeeSchedule
    lot: int
    taken: tuple[Level, ...] = ()
    budget: int = 0
    mirrored: bool = False

    def to_json(self) -> dict:
        f = self.fees
        out = {"venue": self.venue.label, "lot": self.lot,
               "fees": [f.taker_rate_ppm, f.per_contract, f.rounding, f.maker_rate_ppm]}
        if self.taken:
            out["taken"] = [list(level) for level in self.taken]
        if self.budget:
            out["budget"] = self.budget
        if self.mirrored:
            out["mirrored"] = True
        return out

    @classmethod
    def from_json(cls, d: dict) -> "Terms":
        return cls(Venue.parse(d["venue"]), FeeSchedule(*d["fees"]), int(d["lot"]),
                   tuple((int(p), int(q)) for p, q in d.get("taken", ())), int(d.get("budget", 0)),
                   d.get("mirrored") is True)


@dataclass(frozen=True)
class Match:
    """The result of one order: fills as (price ticks, lots) in walk order, each fill's fee (µ$),
    and the status the venue would report (FILLED in full, else CANCELED)."""
    fills: tuple[Level, ...]
    fees: tuple[int, ...]
    status: OrderStatus

    @property
    def filled(self) -> int:
        return sum(q for _, q in self.fills)

    @property
    def cost(self) -> int:
        """µ$ of Σ price × lots (a sale: its proceeds), fees apart."""
        return sum(p * q for p, q in self.fills)

    @property
    def fee(self) -> int:
        return sum(self.fees)


def book_to_json(book: Book) -> list:
    """The four sides of a book as lists of [price, lots] (what the ledger stores)."""
    return [[list(level) for level in side] for side in book.sides()]


def book_from_json(sides: list) -> Book:
    yb, ya, nb, na = (tuple((int(p), int(q)) for p, q in side) for side in sides)
    return Book(yb, ya, nb, na)


def _bids(levels) -> tuple[Level, ...]:
    """A side's bids merged by price, highest first, empty levels dropped."""
    merged: dict[int, int] = {}
    for price, qty in levels:
        if qty > 0:
            merged[price] = merged.get(price, 0) + qty
    return tuple(sorted(merged.items(), reverse=True))


def ladder(book: Book, venue: Venue, side: Side, action: Action, mirrored: bool = False) -> tuple[Level, ...]:
    """The levels an order of `side`/`action` takes, best first. `mirrored` (Polymarket): each
    level at most what the other token's book shows of the same orders (a token's ask at p is the
    other token's bid at $1 − p): the two streams update apart, and where the copies disagree one
    is stale, so only what both show is taken (the engine's intra-market arbitrage on Polymarket
    exists only while they disagree; the venue would not fill the stale copy's side)."""
    if action is Action.BUY:
        d = decompose(int(venue), book)
        levels = d.yes if side is Side.YES else d.no
        mirror = book.no_bids if side is Side.YES else book.yes_bids
    else:
        levels = _bids(book.yes_bids if side is Side.YES else book.no_bids)
        mirror = book.no_asks if side is Side.YES else book.yes_asks
    if not mirrored or venue.bids_only:
        return levels
    other: dict[int, int] = {}
    for p, q in mirror:
        other[TICKS_PER_DOLLAR - p] = other.get(TICKS_PER_DOLLAR - p, 0) + q
    capped = ((p, min(q, other.get(p, 0))) for p, q in levels)
    return tuple((p, q) for p, q in capped if q > 0)


def taken_bid(side: Side, action: Action, price: int) -> tuple[Side, int]:
    """The resting orders an order of `side`/`action` takes at `price` (ticks of `side`): the bids
    of one side at one price, (that side, its price in ticks). A buy of S at p takes the other
    side's bid at 10,000 − p (Kalshi, ForecastEx: the ask is that bid; Polymarket: the token's ask
    is the other token's bid, the two books mirror each other, spec/ARBITRAGE.md "Books"); a sell
    of S at p takes S's bid at p. The inverse: the same call on the bid's price gives the order's."""
    return (side, price) if action is Action.SELL else (side.other, TICKS_PER_DOLLAR - price)


def published_bid(book: Book, venue: Venue, side: Side, price: int) -> int:
    """Lots `book` shows of `side`'s bid at `price` (ticks). On Polymarket the same orders are
    published twice, as the token's bid and as the other token's ask at 10,000 − price: the larger
    copy counts (a copy an update has not reached yet, or a book given with one copy only, never
    reads as the bid gone)."""
    bids, asks = (book.yes_bids, book.no_asks) if side is Side.YES else (book.no_bids, book.yes_asks)
    lots = sum(q for p, q in bids if p == price)
    if not venue.bids_only:
        lots = max(lots, sum(q for p, q in asks if p == TICKS_PER_DOLLAR - price))
    return lots


@dataclass(frozen=True, slots=True)
class PaperBook(Book):
    """A venue's book as a paper venue passes it on: `raw` (the venue's own) less the resting
    orders paper orders took that it still shows (`without_taken`). Wherever it comes back (a
    caller publishing a fetched book through the adapter's feed), `raw` is the venue's."""
    raw: Book | None = None


def without_taken(book: Book, venue: Venue, taken) -> PaperBook:
    """`book` less the resting orders paper orders took that it still shows: `taken` ((bid side,
    bid price ticks), lots) as `TakenDepth.levels` keys them. Each taken bid is cut from that
    side's bids and, on Polymarket, from its copy, the other token's ask at 10,000 − price (each
    copy by the lots taken, down to nothing: a copy behind by an update never goes negative).
    A level cut to nothing is dropped; the other levels keep their order and size."""
    cuts: tuple[dict[int, int], ...] = ({}, {}, {}, {})     # per side of `Book.sides()`: price → lots to cut
    for (side, price), lots in taken:
        bids, asks = (0, 3) if side is Side.YES else (2, 1)
        cuts[bids][price] = cuts[bids].get(price, 0) + lots
        if not venue.bids_only:
            cuts[asks][TICKS_PER_DOLLAR - price] = cuts[asks].get(TICKS_PER_DOLLAR - price, 0) + lots
    yb, ya, nb, na = (_cut(levels, cut) if cut else levels for levels, cut in zip(book.sides(), cuts))
    return PaperBook(yb, ya, nb, na, market=book.market, tradeable=book.tradeable, reason=book.reason, raw=book)


def _cut(levels: tuple[Level, ...], cut: dict[int, int]) -> tuple[Level, ...]:
    """`levels` less `cut` lots at each of its prices (a price listed twice: the first level first)."""
    left = dict(cut)
    out = []
    for price, qty in levels:
        gone = min(qty, left.get(price, 0))
        if gone:
            left[price] -= gone
        if qty > gone or not gone:          # a level cut to nothing is dropped
            out.append((price, qty - gone))
    return tuple(out)


def match(book: Book | None, terms: Terms, side: Side, action: Action, price: int, qty: int,
          tif: TimeInForce) -> Match:
    """Fill a taker order of `qty` lots at limit `price` (ticks of `side`) against `book` (None:
    no book, nothing fills). `qty` must be a positive multiple of `terms.lot`; `tif` IOC or FOK."""
    if tif not in MATCHED_TIFS:
        raise ValueError(f"the fill engine simulates IOC and FOK orders only, not {tif.value}")
    if qty <= 0 or qty % terms.lot:
        raise ValueError(f"quantity {qty} lots is not a positive multiple of the lot ({terms.lot})")
    levels = () if book is None else ladder(book, terms.venue, side, action, terms.mirrored)
    if terms.taken:
        gone = dict(terms.taken)
        levels = [(p, q - gone.get(p, 0)) for p, q in levels if q > gone.get(p, 0)]
    within = [(p, q) for p, q in levels if (p <= price if action is Action.BUY else p >= price)]
    if terms.budget and action is Action.BUY:
        fills = _spend(within, terms.budget, terms.lot, price, tif)
    else:
        fills = _take(within, qty, terms.lot, tif)
    if terms.venue is Venue.KALSHI:
        # the venue's rounding per fill (one per level here: the fewest fills the walk can be)
        fees = kalshi_fill_fees(terms.fees.taker_rate_ppm, fills, sale=action is Action.SELL)
    else:
        fees, before = [], 0
        for k in range(len(fills)):
            total = order_fee(terms.fees, fills[:k + 1])
            fees.append(total - before)
            before = total
    status = OrderStatus.FILLED if sum(q for _, q in fills) >= qty else OrderStatus.CANCELED
    return Match(tuple(fills), tuple(fees), status)


def _take(within: list[Level], qty: int, lot: int, tif: TimeInForce) -> list[Level]:
    """`qty` lots (whole `lot`s) of the levels `within` the limit, best first; FOK: all or none."""
    fillable = min(qty, sum(q for _, q in within)) // lot * lot
    if tif is TimeInForce.FOK and fillable < qty:
        fillable = 0
    fills: list[Level] = []
    left = fillable
    for p, q in within:
        if left <= 0:
            break
        take = min(q, left)
        fills.append((p, take))
        left -= take
    return fills


def _spend(within: list[Level], budget: int, lot: int, limit: int, tif: TimeInForce) -> list[Level]:
    """What `budget` µ$ buys of the ask levels `within` the limit, best first, in whole `lot`s (a
    µ$ remainder too small for a lot is left); FOK: nothing unless it is spent to within a lot at
    the limit."""
    fills: list[Level] = []
    left = budget
    for p, q in within:
        take = min(q, left // (p * lot) * lot)
        if take <= 0:
            break
        fills.append((p, take))
        left -= p * take
        if take < q:
            break
    if tif is TimeInForce.FOK and left >= limit * lot:
        return []
    return fills
