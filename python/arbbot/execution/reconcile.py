"""Reconciliation: the order store against what the venues say (`arbbot reconcile`, and every
`reconcile_interval_s` in a running bot, which enters safe mode on any difference).

Per venue it compares
- positions, by the venue's own instrument id: Kalshi by ticker, signed as Kalshi reports it (YES
  positive, NO negative); Polymarket by token id and ForecastEx by conId, the quantity held, the
  side held being the sign of the market's net YES − NO lots;
- open orders: the venue's working orders of ours against the store's open intents;
- fills: every venue fill against the store's, by venue fill id (quantity, price, fee); a venue
  that lists only recent fills (`fill_history_start_ms`: IB's current day) on those;
- cash moved: the venue's balance minus the baseline the store recorded when it first traded the
  venue, against what the store's fills add up to (`cash_moved`), plus what resolved markets paid.
  Kalshi and IB net a YES lot against a NO lot of one market into $0.01 of cash at once;
  Polymarket does not (`nets_pairs`): its tokens are held side by side until merged or redeemed,
  a pair of them paying $0.01 a lot only then, and a sale there is of a token held.

A resolved market (the store's `resolutions`) may be paid or not yet: a venue that pays at
settlement (Kalshi, ForecastEx) drops the position and credits the payout; Polymarket's tokens stay
until redeemed (then the cash rises, the fills still show them). So a resolved market's position may
be absent at the venue (paid: its payout is expected in the cash) or the store's; its payout is
expected in the cash when the store records it paid, and may be there or not when it does not
(redeemed since: `redeemed` finds which markets' payouts make up the extra cash, reported in
`redeemed` for the running bot to record as paid; `settled_cash`).

A paper database (`arbbot run --paper`) is reconciled against the paper venues' ledger, which
plays the venue (`reconcile_paper`), and each paper order is matched again by the local fill
engine against the book it was filled from: its fills, status, cost and fee must come out the
same (differences `what: "fill engine"`).

The result is `arbbot.reconcile/1` (README). Units inside: lots, ticks, µ$; quantities in the
report are decimal strings of contracts, money is µ$ in `*_micros` fields, else dollars with
6 decimals (a cash difference).
"""
from __future__ import annotations

import asyncio
from typing import Mapping

from arbbot import logs
from arbbot.model import Side
from arbbot.venues.common.interface import VenueClient
from arbbot.venues.common.model import Action, TimeInForce

from arbbot.execution.store import INTENT_OPEN, OrderStore
from arbbot.venues.common.model import OrderStatus
from arbbot.units import TICKS_PER_DOLLAR, format_money, format_qty

log = logs.get("reconcile")

FORMAT = "arbbot.reconcile/1"
PAIR_PAYOUT_PER_LOT = TICKS_PER_DOLLAR   # µ$: a YES lot plus a NO lot of one market are worth $0.01


def nets_pairs(venue: str) -> bool:
    """Whether `venue` nets a YES lot against a NO lot of one market into $0.01 of cash at once
    (Kalshi, IB's ForecastEx: a position is one signed number), or holds both tokens until they
    are merged or redeemed (Polymarket: outcome tokens on chain; a SELL sells a token held)."""
    return venue != "polymarket"


def fill_form(venue: str, side: str, action: str, price: int) -> str:
    """How a fill is compared between the store and its venue. Where pairs net (`nets_pairs`) a
    sale of one side at p and a purchase of the other at 1 − p are the same order on the one YES
    book, and a venue may report it either way (Kalshi's V2 orders are bids and asks; the store
    keeps a fill as the order was sent): it is compared as that book order, "bid@YES price" or
    "ask@YES price". Elsewhere (Polymarket's two tokens) side and action are part of the fill."""
    if not nets_pairs(venue):
        return f"{action} {side}@{price}"
    yes = side == "yes"
    return f"{'bid' if yes == (action == 'buy') else 'ask'}@{price if yes else TICKS_PER_DOLLAR - price}"


def cash_moved(fills) -> int:
    """µ$ a venue's cash moves by for these store fills (one venue). Where pairs net
    (`nets_pairs`), a sell of one side at p is a buy of the other at 1 − p, and the venue nets a
    YES lot against a NO lot in the same market into $0.01 (10,000 µ$), so each market pays back
    min(YES acquired, NO acquired) lots. Where they do not (Polymarket), a buy pays price × lots, a
    sale of a token held is paid it, each less its fee, and a pair pays nothing until redeemed."""
    cash = 0
    acquired: dict[tuple[str, str], int] = {}
    for f in fills:
        if not nets_pairs(f.venue):
            cash += (f.price * f.qty if f.action == "sell" else -f.price * f.qty) - f.fee
            continue
        side, price = (f.side, f.price) if f.action == "buy" else ("no" if f.side == "yes" else "yes", TICKS_PER_DOLLAR - f.price)
        cash -= price * f.qty + f.fee
        acquired[(f.market_id, side)] = acquired.get((f.market_id, side), 0) + f.qty
    markets = {m for m, _ in acquired}
    return cash + sum(min(acquired.get((m, "yes"), 0), acquired.get((m, "no"), 0)) for m in markets) \
        * PAIR_PAYOUT_PER_LOT


def sub_lot_slack(fills, resolved: set[str] = frozenset()) -> tuple[int, int]:
    """(µ$ a venue whose marketable BUY spends a dollar amount — Polymarket — may have spent beyond
    these store fills, µ$ it may have paid beyond them for markets in `resolved`). Its shares have
    6 decimals, a fill is kept in whole lots (0.01 share), so each BUY order's fills leave under
    one lot unrecorded (a FAK BUY of $3.31 at 0.33 buys 10.030303 shares: 10.03 recorded, $3.3099
    of the $3.31): spent, at most one lot at the order's highest fill price; and once its market
    resolves, paid out, at most one lot at $1 (10,000 µ$). A cash difference within them is that
    rounding, not a difference (each ≤ 1¢ an order)."""
    worst: dict[str, tuple[str, int]] = {}
    for f in fills:
        if f.action == "buy":
            key = f.client_order_id or f.order_id
            worst[key] = (f.market_id, max(worst.get(key, ("", 0))[1], f.price))   # ticks × 1 lot = µ$
    spent = sum(price for _market, price in worst.values())
    paid = sum(TICKS_PER_DOLLAR for market, _price in worst.values() if market in resolved)
    return spent, paid


MAX_REDEEMABLE_SUMS = 4096   # distinct payout sums tried for markets that may have been redeemed


def held_cost_basis(fills) -> int:
    """µ$ the lots one market's fills leave held cost, fees excluded (what a void market returns:
    "positions returned at original cost"). Each fill is a buy (a sale of one side at p is a buy of
    the other at 10,000 − p); a buy of one side first nets the oldest lots held of the other (the
    pair is $1 and gone), first in first out."""
    held: dict[str, list[list[int]]] = {"yes": [], "no": []}      # side → [[lots, price ticks], …] oldest first
    for f in fills:
        side, price = (f.side, f.price) if f.action == "buy" else ("no" if f.side == "yes" else "yes",
                                                                   TICKS_PER_DOLLAR - f.price)
        other, q = "no" if side == "yes" else "yes", f.qty
        while q and held[other]:
            n = min(q, held[other][0][0])
            held[other][0][0] -= n
            q -= n
            if not held[other][0][0]:
                held[other].pop(0)
        if q:
            held[side].append([q, price])
    return sum(n * p for lots in held.values() for n, p in lots)


def netted_held_costs(markets, market_fills) -> dict[str, int]:
    """Per market `venue:id` of `markets` ((venue, market id): those that acquired both sides and
    still hold lots) on a venue that nets pairs: the FIFO cost µ$ of the lots held
    (`held_cost_basis` of its fills, `market_fills(venue, market_id)` oldest first). Their
    running cost still counts the pairs the venue paid back as cash."""
    return {f"{venue}:{market_id}": held_cost_basis(market_fills(venue, market_id))
            for venue, market_id in markets if nets_pairs(venue)}


def tokens_held(fills) -> dict[str, tuple[int, int]]:
    """Where pairs are not netted (Polymarket): (YES lots, NO lots) held per market id, each token
    its buys less its sales; markets holding neither left out."""
    held: dict[str, list[int]] = {}
    for f in fills:
        h = held.setdefault(f.market_id, [0, 0])
        h[0 if f.side == "yes" else 1] += f.qty if f.action == "buy" else -f.qty
    return {m: (yes, no) for m, (yes, no) in held.items() if yes or no}


def tokens_cost_basis(fills) -> int:
    """Where pairs are not netted: µ$ the tokens one market's fills leave held cost, fees excluded
    (what a void market returns), each token's sales taking its oldest lots first."""
    held: dict[str, list[list[int]]] = {"yes": [], "no": []}      # token → [[lots, price ticks], …] oldest first
    for f in fills:
        lots = held[f.side]
        if f.action == "buy":
            lots.append([f.qty, f.price])
            continue
        q = f.qty
        while q and lots:
            n = min(q, lots[0][0])
            lots[0][0] -= n
            q -= n
            if not lots[0][0]:
                lots.pop(0)
    return sum(n * p for lots in held.values() for n, p in lots)


def tokens_payout(res, yes: int, no: int, fills) -> int:
    """µ$ a resolved market pays `yes` YES and `no` NO lots held side by side (each pair: $0.01 a
    lot, whatever the result); a void market returns their cost basis (`tokens_cost_basis`)."""
    value = res.lot_value(yes)
    return tokens_cost_basis(fills) if value is None else value + res.lot_value(-no)


def resolution_payout(res, lots: int, fills) -> int:
    """µ$ a resolved market pays a net position of `lots` YES lots (< 0: NO lots); a void market
    returns the held lots' cost basis (`held_cost_basis` of the market's fills)."""
    value = res.lot_value(lots)
    return held_cost_basis(fills) if value is None else value


def redeemed(extra: int, payouts: list[tuple[str, int]], low: int = 0, high: int = 0) -> tuple[str, ...] | None:
    """The markets whose payouts (`payouts`: (market id, µ$) of resolved markets the venue may or
    may not have paid) add up to `extra` µ$ of cash, or None: one market's, all of them, else a
    subset sum over at most MAX_REDEEMABLE_SUMS distinct sums (markets found paid are recorded as
    such, so few remain). `low` / `high`: a sum S matches when −low ≤ extra − S ≤ high (the
    sub-lot rounding, `sub_lot_slack`); exactly by default."""
    def fits(total: int) -> bool:
        return -low <= extra - total <= high
    single = next((market for market, p in payouts if fits(p)), None)
    if single is not None:                  # one market redeemed: the usual case, found however many
        return (single,)
    if fits(sum(p for _, p in payouts)):
        return tuple(market for market, _ in payouts)
    sums: dict[int, tuple[str, ...]] = {0: ()}
    for market, p in payouts:
        for s, markets in list(sums.items()):
            sums.setdefault(s + p, markets + (market,))
        found = next((markets for total, markets in sums.items() if fits(total)), None)
        if found is not None:
            return found
        if len(sums) > MAX_REDEEMABLE_SUMS:
            return None
    return None


def settled_cash(store: OrderStore, name: str, fills, venue_lots: Mapping[str, int]
                 ) -> tuple[int, list[tuple[str, int]], set[str]]:
    """For venue `name`'s resolved markets the store holds a position in (a net one; tokens where
    pairs are not netted, `nets_pairs`): (µ$ the venue paid out: markets recorded paid, and those
    whose position it no longer shows; (market id, payout) of those it still shows and has not
    been seen to pay, which may have been redeemed since; the ids of those it no longer shows)."""
    paid, maybe, gone = 0, [], set()
    by_market: dict[str, list] = {}
    for f in fills:
        by_market.setdefault(f.market_id, []).append(f)
    resolved = {r.market_id: r for r in store.resolutions(name).values()}
    netted = nets_pairs(name)
    held = store_net_positions(fills) if netted else tokens_held(fills)
    for market_id, lots in held.items():
        res = resolved.get(market_id)
        if res is None:
            continue
        if netted:
            payout = resolution_payout(res, lots, by_market[market_id])
            shown = venue_lots.get(market_id, 0) != 0
        else:           # tokens stay in the wallet until redeemed: only the cash shows a redemption
            payout, shown = tokens_payout(res, *lots, by_market[market_id]), True
        if not shown:
            gone.add(market_id)
        if res.paid or not shown:
            paid += payout
        else:
            maybe.append((market_id, payout))
    return paid, maybe, gone


def store_net_positions(fills) -> dict[str, int]:
    """Net YES lots per market id from store fills (a sell reduces, a NO lot counts negative)."""
    net: dict[str, int] = {}
    for f in fills:
        sign = 1 if f.action == "buy" else -1
        net[f.market_id] = net.get(f.market_id, 0) + sign * (f.qty if f.side == "yes" else -f.qty)
    return {m: q for m, q in net.items() if q}


def instrument_positions(venue: str, net: Mapping[str, int], tokens: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """Net YES lots per market → {instrument id: contracts} as the venue names instruments:
    Kalshi by ticker (signed); Polymarket / ForecastEx by the held side's token id / conId."""
    out: dict[str, str] = {}
    for market, lots in sorted(net.items()):
        if not lots:
            continue
        if venue == "kalshi" or market not in tokens:
            out[market] = format_qty(lots)
        else:
            yes, no = tokens[market]
            out[yes if lots > 0 else no] = format_qty(abs(lots))
    return out


def adopt_late_fills(store: OrderStore, name: str, fills, intents, venue_fills) -> int:
    """Record the fills venue `name` lists of the store's own orders that the store lacks while
    those orders' filled lots say they are owed (a venue lists fills late; the executor's own
    fetch gives up after `late_fills_s`, or the process stopped before): each order's new fills
    only while they add up to no more than its filled lots. Returns how many were recorded."""
    have: dict[str, int] = {}
    for f in fills:
        if f.venue == name:
            have[f.client_order_id] = have.get(f.client_order_id, 0) + f.qty
    owed = {it.order_id: it for it in intents
            if it.venue == name and it.order_id and it.filled_qty > have.get(it.client_order_id, 0)}
    if not owed:
        return 0
    known = {f.fill_id for f in fills if f.venue == name}
    new: dict[str, list] = {}
    for f in venue_fills:
        if f.order_id in owed and f.fill_id not in known:
            new.setdefault(f.order_id, []).append(f)
    added = 0
    for order_id, got in new.items():
        it = owed[order_id]
        if have.get(it.client_order_id, 0) + sum(f.qty_lots for f in got) <= it.filled_qty:
            added += store.record_fills(it.client_order_id, got)
            log.info("order.fills_caught_up", client_order_id=it.client_order_id, order_id=order_id,
                     fills=len(got), lots=sum(f.qty_lots for f in got))
    return added


async def reconcile_venue(store: OrderStore, name: str, venue, markets=None, rows: tuple | None = None, *,
                          adopt_late: bool = False) -> dict:
    """One venue's section of the report (reads the venue; never writes to it, nor to the store
    but with `adopt_late`: the fills the venue listed late of the store's own orders, recorded
    first, `adopt_late_fills`). `markets`: the venue's MarketInfo as the caller knows them (a
    running session); None = ask the venue (a whole listing: thousands of markets on a real
    venue). `rows`: the store's (fills, intents), every venue's, read once for all venues
    (`reconcile`); None = read them."""
    if markets is None:
        markets = await venue.discover_markets()
    tokens = {m.market_id: (m.yes_token, m.no_token) for m in markets if m.yes_token and m.no_token}
    all_fills, all_intents = rows if rows is not None else (store.fills(), store.intents())
    listed = await venue.fills()
    if adopt_late and adopt_late_fills(store, name, all_fills, all_intents, listed):
        all_fills = await asyncio.to_thread(store.fills)
    fills = [f for f in all_fills if f.venue == name]
    diffs: list[dict] = []

    held = {p.market_id: p.yes_lots for p in await venue.positions()}
    paid, maybe_redeemed, gone = settled_cash(store, name, fills, held)
    pos_venue = instrument_positions(name, held, tokens)
    pos_store = instrument_positions(name, {m: q for m, q in store_net_positions(fills).items() if m not in gone},
                                     tokens)
    for iid in sorted(set(pos_venue) | set(pos_store)):
        if pos_venue.get(iid) != pos_store.get(iid):
            diffs.append({"what": "position", "id": iid, "venue": pos_venue.get(iid, "0"),
                          "store": pos_store.get(iid, "0")})

    working = [o for o in await venue.orders(status="resting")
               if o.status in (OrderStatus.RESTING, OrderStatus.PENDING)]
    intents = [i for i in all_intents if i.venue == name]
    open_intents = [i for i in intents if i.state in INTENT_OPEN]
    by_coid = {i.client_order_id: i for i in intents}
    by_oid = {i.order_id: i for i in intents if i.order_id}
    matched: set[str] = set()
    for o in working:
        it = by_coid.get(o.client_order_id) if o.client_order_id else by_oid.get(o.order_id)
        if it is None or it.state not in INTENT_OPEN:
            diffs.append({"what": "order", "id": o.order_id, "venue": o.status.value,
                          "store": it.state if it is not None else "absent"})
        else:
            matched.add(it.client_order_id)
    for it in open_intents:
        if it.client_order_id not in matched:
            diffs.append({"what": "order", "id": it.client_order_id, "venue": "not working", "store": it.state})

    # a venue that lists only recent fills (IB: the current day's executions) is compared on those;
    # older fills are still in the positions and the cash
    history = getattr(venue, "fill_history_start_ms", None)
    since = history() if callable(history) else None
    venue_fills = {f.fill_id: f for f in listed}
    store_fills = {f.fill_id: f for f in fills if since is None or f.ts_ms >= since or f.fill_id in venue_fills}
    for fid in sorted(set(venue_fills) | set(store_fills)):
        v, s = venue_fills.get(fid), store_fills.get(fid)
        vq = None if v is None else \
            f"{format_qty(v.qty_lots)} {fill_form(name, v.side.label, v.action.value, v.price_ticks)}+{v.fee_micros}"
        sq = None if s is None else f"{format_qty(s.qty)} {fill_form(name, s.side, s.action, s.price)}+{s.fee}"
        if vq != sq:
            diffs.append({"what": "fill", "id": fid, "venue": vq, "store": sq})

    baseline = store.cash_baseline(name)
    cash_store = cash_moved(fills) + paid
    cash_venue = None if baseline is None else (await venue.balance()).cash_micros - baseline
    redeemed_micros, redeemed_markets = 0, ()
    # the venue's cash may be lower than the store's by `low`, higher by `high` (sub-lot rounding
    # of a venue that buys by amount: `sub_lot_slack`; 0 and 0 elsewhere: exact)
    low, high = sub_lot_slack(fills, {r.market_id for r in store.resolutions(name).values()}) \
        if getattr(venue, "buys_by_amount", False) else (0, 0)
    if cash_venue is not None and cash_venue != cash_store:
        extra = cash_venue - cash_store
        found = redeemed(extra, maybe_redeemed)
        if found is not None:
            redeemed_micros, redeemed_markets = extra, found
        elif not -low <= extra <= high:
            found = redeemed(extra, maybe_redeemed, low, high)
            if found is not None:
                payouts = dict(maybe_redeemed)
                redeemed_micros, redeemed_markets = sum(payouts[m] for m in found), found
    if cash_venue is not None and not -low <= cash_venue - cash_store - redeemed_micros <= high:   # µ$
        diffs.append({"what": "cash", "id": name, "venue": format_money(cash_venue),
                      "store": format_money(cash_store)})

    return {"positions": {"venue": pos_venue, "store": pos_store},
            "open_orders": {"venue": len(working), "store": len(open_intents)},
            "fills": {"venue": len(venue_fills), "store": len(store_fills)},
            "cash_moved_micros": {"venue": cash_venue, "store": cash_store},
            "resolved_micros": {"paid": paid, "redeemed": redeemed_micros},
            "redeemed": list(redeemed_markets),
            "differences": diffs}


async def reconcile(store: OrderStore, venues: Mapping[str, VenueClient], markets=None, *,
                    adopt_late: bool = False) -> dict:
    """`arbbot.reconcile/1` for every venue in `venues` (name → VenueClient); `markets` (venue
    name → its MarketInfo list), when the caller knows them, saves a discovery per venue.
    `adopt_late`: the store first records the fills venues listed late of its own orders (a
    running bot; `arbbot reconcile` only reads)."""
    # read once, off the loop: a store of 400,000 fills takes seconds to read
    rows = await asyncio.to_thread(lambda: (store.fills(), store.intents()))
    sections = {name: await reconcile_venue(store, name, venues[name], (markets or {}).get(name), rows,
                                            adopt_late=adopt_late)
                for name in sorted(venues)}
    return {"format": FORMAT, "venues": sections,
            "differences": sum(len(s["differences"]) for s in sections.values())}


def _fill_text(qty: int, price: int, fee: int) -> str:
    return f"{format_qty(qty)}@{price}+{fee}"


def rematch_paper_orders(orders: list[dict], fills: list[dict]) -> list[dict]:
    """Differences between each paper order as the ledger holds it (`paper_orders` rows, its
    `paper_fills`) and the local fill engine's match of the same request against the book and
    terms recorded with it."""
    from arbbot.paper.fills import Terms, book_from_json, match
    by_order: dict[str, list[dict]] = {}
    for f in fills:
        by_order.setdefault(f["order_id"], []).append(f)
    diffs = []
    for o in orders:
        m = match(book_from_json(o["book"]), Terms.from_json(o["terms"]), Side.parse(o["side"]), Action(o["action"]),
                  o["price"], o["qty"], TimeInForce(o["tif"]))
        held = sorted(by_order.get(o["order_id"], ()), key=lambda f: int(f["fill_id"].rsplit("-", 1)[1]))
        engine = [m.status.value, m.filled, m.cost, m.fee] + [_fill_text(q, p, fee)
                                                              for (p, q), fee in zip(m.fills, m.fees)]
        ledger = [o["status"], o["filled"], o["cost"], o["fee"]] + [_fill_text(f["qty"], f["price"], f["fee"])
                                                                    for f in held]
        if engine != ledger:
            diffs.append({"what": "fill engine", "id": o["order_id"], "venue": " ".join(map(str, engine)),
                          "store": " ".join(map(str, ledger))})
    return diffs


async def reconcile_paper(store: OrderStore, ledger) -> dict:
    """`arbbot.reconcile/1` of a paper database: the store against every paper account of
    `ledger` (`arbbot.paper.PaperLedger`), plus each account's orders re-matched by the fill
    engine (section `fill_engine`: orders, re-matched identically)."""
    report = await reconcile(store, ledger.accounts())
    for name, section in report["venues"].items():
        orders = store.paper_orders(name)
        diffs = rematch_paper_orders(orders, store.paper_fills(name))
        section["fill_engine"] = {"orders": len(orders), "rematched": len(orders) - len(diffs)}
        section["differences"] += diffs
    report["paper"] = True
    report["differences"] = sum(len(s["differences"]) for s in report["venues"].values())
    return report


async def record_cash_baselines(store: OrderStore, venues: Mapping[str, VenueClient]) -> None:
    """Remember each venue's balance the first time this store meets it, before any trade of
    this store on it: the zero from which `cash_moved_micros` counts."""
    for name, venue in venues.items():
        if store.cash_baseline(name) is None:
            if any(f.venue == name for f in store.fills()):
                continue                  # traded before baselines existed: nothing honest to record
            store.set_cash_baseline(name, (await venue.balance()).cash_micros)
