"""Simulated IB for ForecastEx: contract catalog by conId, L1 BID/ASK, buy-only limit orders.

Backed by the simulator's matching engine (one market per question; a YES contract's bids are
YES bids, the NO contract's bids are NO bids). ASK of a contract = $1 − the opposite BID
("BuyYesNow" price). IB semantics: whole contracts, $0.01 grid within 0.02–0.99, DAY/GTC/IOC.
"""
from __future__ import annotations

from decimal import Decimal

from arbbot.sim.engine.matching import FULL, Exchange, SimReject
from arbbot.sim.scenarios import PriceProcess, Scenario, make_markets
from arbbot.venues.forecastex.client import IBContract, IBFill, IBQuote, IBTrade


class SimIBClient:
    def __init__(self, scenario: Scenario, seed: int = 0, account: str = "DU000001",
                 balance_micros: int = 10_000 * 1_000_000) -> None:
        self.exchange = Exchange(lambda: 0)
        make_markets(scenario, "forecastex", self.exchange)
        self.process = PriceProcess(scenario, "forecastex", self.exchange, seed)
        self.process.seed_books()
        self.account = account
        self.exchange.account(account, balance_micros)
        self.contracts: dict[int, tuple[IBContract, str, str]] = {}   # conId → (contract, market, side)
        for _e, _q, l in scenario.listings("forecastex"):
            sym = l.market_id.split("-")[0]
            for con, right, side in ((l.con_ids[0], "C", "yes"), (l.con_ids[1], "P", "no")):
                c = IBContract(con, sym, l.expiry, l.strike, right, long_name=l.title)
                self.contracts[con] = (c, l.market_id, side)
        self.trades: dict[int, tuple[IBTrade, str]] = {}
        self.requests = 0

    async def contract_details(self, symbol: str) -> list[IBContract]:
        self.requests += 1
        return [c for c, _m, _s in self.contracts.values() if c.symbol == symbol]

    async def quote(self, con_id: int) -> IBQuote:
        c, mkt, side = self.contracts[con_id]
        m = self.exchange.markets[mkt]
        own, opp = m.levels(side), m.levels("no" if side == "yes" else "yes")
        bid = max(own) if own else None
        ob = max(opp) if opp else None
        return IBQuote(Decimal(bid) / FULL if bid else None, own.get(bid, 0) // 100 if bid else 0,
                       Decimal(FULL - ob) / FULL if ob else None, opp.get(ob, 0) // 100 if ob else 0)

    async def place_limit(self, con_id: int, action: str, quantity: int, limit: Decimal, tif: str) -> IBTrade:
        c, mkt, side = self.contracts[con_id]
        oid = len(self.trades) + 1
        ticks = limit * FULL
        if action != "BUY" or tif not in ("DAY", "GTC", "IOC") or ticks % 100 or not 200 <= ticks <= 9_900:
            t = IBTrade(oid, con_id, "Inactive", quantity, 0, limit)
            self.trades[oid] = (t, "")
            return t
        try:
            o, _ = self.exchange.place(self.account, mkt, side, "buy", int(ticks), quantity * 100,
                                       "ioc" if tif == "IOC" else "gtc")
        except SimReject:
            t = IBTrade(oid, con_id, "Inactive", quantity, 0, limit)
            self.trades[oid] = (t, "")
            return t
        status = {"executed": "Filled", "canceled": "Cancelled", "resting": "Submitted"}[o.status]
        t = IBTrade(oid, con_id, status, quantity, o.filled // 100, limit)
        self.trades[oid] = (t, o.order_id)
        return t

    async def cancel(self, order_id: int) -> IBTrade:
        t, sim_id = self.trades[order_id]
        o = self.exchange.orders.get(sim_id)
        if o is not None and o.status == "resting":
            self.exchange.cancel(self.account, sim_id)
        t = IBTrade(t.order_id, t.con_id, "Cancelled" if t.status != "Filled" else "Filled", t.quantity,
                    (o.filled // 100) if o else t.filled, t.limit)
        self.trades[order_id] = (t, sim_id)
        return t

    async def positions(self) -> dict[int, int]:
        """IB-style: per conId held contracts (a netted market shows on one side only)."""
        acct = self.exchange.accounts[self.account]
        out: dict[int, int] = {}
        for con, (_c, mkt, side) in self.contracts.items():
            pos = acct.positions.get(mkt, 0)
            if side == "yes" and pos > 0:
                out[con] = pos // 100
            if side == "no" and pos < 0:
                out[con] = -pos // 100
        return out

    def _refresh(self, oid: int) -> IBTrade:
        t, sim_id = self.trades[oid]
        o = self.exchange.orders.get(sim_id)
        if o is not None and t.status == "Submitted":
            status = {"executed": "Filled", "canceled": "Cancelled", "resting": "Submitted"}[o.status]
            t = IBTrade(t.order_id, t.con_id, status, t.quantity, o.filled // 100, t.limit)
            self.trades[oid] = (t, sim_id)
        return t

    async def open_trades(self) -> list[IBTrade]:
        return [t for t in (self._refresh(oid) for oid in list(self.trades)) if t.status == "Submitted"]

    async def fills(self) -> list[IBFill]:
        """Executions of this account; ForecastEx charges no commission (0 per execution)."""
        by_sim = {sim_id: t for t, sim_id in self.trades.values() if sim_id}
        out = []
        for f in self.exchange.accounts[self.account].fills:
            t = by_sim.get(f.order.order_id)
            if t is None:
                continue
            out.append(IBFill(f.fill_id, t.order_id, t.con_id, f.lots // 100, Decimal(f.price) / FULL,
                              Decimal(0), f.ts_ms, f.is_taker))
        return out

    async def cash(self) -> Decimal:
        return Decimal(self.exchange.accounts[self.account].balance) / 1_000_000

    async def close(self) -> None:
        return None
