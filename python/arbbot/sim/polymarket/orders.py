"""Simulated CLOB V2 order entry: `POST /order`, `DELETE /order`.

An order is accepted only if it is a V2 signed order (EIP-712 domain "Polymarket CTF Exchange"
version "2", chain 137, the V2 exchange — or the V2 neg-risk exchange for neg-risk markets) whose
recovered signer is the `signer` field and the address of the API key, with `owner` = that key.
The typing, hash (= the order id) and signer recovery are the simulator's own (`eip712.py`).
Amounts are 6-decimal integers: BUY pays makerAmount collateral for takerAmount shares, SELL the
reverse. A limit order's (GTC/GTD) price = collateral / shares must sit on the market's tick. A
marketable order's (FAK/FOK) amounts are refused 400 with more than 2 decimals in makerAmount or 4
in takerAmount, as the CLOB does ("invalid amounts, the market buy orders maker amount supports a
max accuracy of 2 decimals, taker amount a max of 4 decimals"; py-clob-client #121, -v2 #99,
rs-clob-client #114); its price is the implied limit (maker/taker for a BUY, taker/maker for a
SELL), which may fall between ticks: it matches what that limit reaches (a BUY the asks at or
below it, a SELL the bids at or above it). A marketable BUY spends its maker amount at the makers'
prices and receives what that buys (docs.polymarket.com "Create Order"; py-clob-client-v2 #89),
in whole lots here (the venue's shares have 6 decimals: the few µ$ a lot would not take stay
unspent); its taker amount is the least it takes. Matching runs in the shared engine (a SELL of
a token is a BUY of the other token at 1 − p, as the venue's mint/merge does).
An order on a resolved market is refused 400 "No orderbook exists for the requested token id"
(the CLOB's documented answer for a token without an order book: a resolved market's book is
gone); on a market not open yet, "the market is not yet ready to process new orders".
In the post-only mode after a matching-engine restart (`Faults.poly_restart_s`, the venue's
documented behaviour) an order without postOnly is refused as docs.polymarket.com's error-codes
page shows: HTTP 503 {"error": POST_ONLY_MODE, "code": "post_only_mode", "retry_after_seconds": N},
with the same N in a `Retry-After` header (the whole seconds the mode still lasts).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import math
from decimal import Decimal

from aiohttp import web

from arbbot.sim.engine.matching import SimReject
from arbbot.sim.faults import ack_delay, order_answer
from arbbot.sim.polymarket.eip712 import BadOrder, order_hash, recover_signer

_TIF = {"GTC": "gtc", "GTD": "gtc", "FOK": "fok", "FAK": "ioc"}
NOT_READY = "the market is not yet ready to process new orders"
NO_ORDERBOOK = "No orderbook exists for the requested token id"
MARKETABLE = ("FOK", "FAK")
RESTARTING, POST_ONLY = "restarting", "post_only"      # `PolymarketSim.engine_state`
POST_ONLY_MODE = "post-only mode: only post-only orders and cancels are allowed"
_ACCEPTED = web.RequestKey("poly_order_accepted", bool)


def marketable_amounts_error(side: str) -> str:
    """The CLOB's refusal of a marketable order whose amounts carry too many decimals."""
    return (f"invalid amounts, the market {side.lower()} orders maker amount supports a max accuracy of 2 "
            f"decimals, taker amount a max of 4 decimals")


def _bad(msg: str, status: int = 400) -> web.Response:
    return web.json_response({"error": msg, "success": False, "errorMsg": msg}, status=status)


class OrderDesk:
    def __init__(self, sim) -> None:
        self.sim = sim
        self.ids: dict[str, str] = {}          # venue order id (0x…) → engine order id
        self.rev: dict[str, str] = {}
        self.order_types: dict[str, str] = {}  # engine order id → `orderType` as sent (GTC, GTD, FOK, FAK)
        # venue order id → (account, token, BUY|SELL, shares µ, limit ticks) of a marketable order
        # held by the match delay (`poly_match_delay_s`); `waiting`: those not in the engine yet,
        # `unmatched`: those the engine refused once their delay was over
        self.delayed: dict[str, tuple[str, str, str, int, int]] = {}
        self.waiting: set[str] = set()
        self.unmatched: set[str] = set()

    def _remember(self, vid: str, engine_id: str, order_type: str) -> str:
        self.ids[vid] = engine_id
        self.rev[engine_id] = vid
        self.order_types[engine_id] = order_type
        return vid

    async def post_order(self, request: web.Request, account: str, creds) -> web.Response:
        """`POST /order`; the answer is subject to the response faults (`faults.order_answer`):
        every answer is delayed, and the answer to an accepted order may be lost."""
        resp = await self._post_order(request, account, creds)
        lost = request.get(_ACCEPTED, False) and self.sim.order_faults.lose_answer(self.sim.faults)
        return await order_answer(request, resp, self.sim.faults, lost)

    async def _post_order(self, request: web.Request, account: str, creds) -> web.Response:
        try:
            body = json.loads(await request.text())
            order = body["order"]
            owner, otype = body["owner"], body.get("orderType", "GTC")
            token, side = str(order["tokenId"]), order["side"]
            maker_amt, taker_amt = int(order["makerAmount"]), int(order["takerAmount"])
        except Exception:
            return _bad("Invalid order payload")
        if owner != creds.api_key:
            return _bad("the order owner has to be the owner of the API KEY")
        if self.sim.engine_state() == POST_ONLY and not body.get("postOnly"):
            wait = max(1, math.ceil(self.sim.post_only_left_s()))
            return web.json_response({"error": POST_ONLY_MODE, "code": "post_only_mode", "retry_after_seconds": wait},
                                     status=503, headers={"Retry-After": str(wait)})
        f = self.sim.faults
        refuse = self.sim.order_faults.refuse(f)
        await ack_delay(f)
        if refuse:
            return _bad("order rejected by the exchange (simulated)")
        if token not in self.sim.tokens:
            return _bad(NOT_READY)
        if self.sim.exchange.markets[self.sim.tokens[token][0]].settled:
            return _bad(NO_ORDERBOOK)
        if "timestamp" not in order or "nonce" in order or "feeRateBps" in order:
            return web.json_response({"error": "order_version_mismatch", "success": False,
                                      "errorMsg": "order_version_mismatch"}, status=400)
        cond, tside = self.sim.tokens[token]
        _e, _q, l = self.sim.listings[cond]
        try:
            signer = recover_signer(order, l.neg_risk)
        except BadOrder:
            return _bad("invalid signature")
        if signer.lower() != str(order["signer"]).lower() or signer.lower() != creds.address.lower():
            return _bad("invalid signature")
        kind, maker, wallet = order.get("signatureType"), str(order.get("maker", "")).lower(), creds.wallet()
        # the exchange accepts as maker the signer itself (EOA, 0) or the proxy (1) / Safe (2) it owns
        if not (kind == 0 and maker == signer.lower() or kind in (1, 2) and (kind, maker) == wallet):
            return _bad("invalid signature")
        if (kind, maker) != wallet:       # the key's own address, while the funds sit in its proxy or Safe
            return _bad("not enough balance / allowance")
        vid = order_hash(order, l.neg_risk)           # like the venue: the order id is its EIP-712 hash
        if vid in self.ids:
            return _bad("order already exists (same signed order sent twice)")
        if side not in ("BUY", "SELL") or otype not in _TIF or maker_amt <= 0 or taker_amt <= 0:
            return _bad("invalid order parameters")
        shares, coll = (taker_amt, maker_amt) if side == "BUY" else (maker_amt, taker_amt)
        if otype in MARKETABLE and (maker_amt % 10_000 or taker_amt % 100):
            return _bad(marketable_amounts_error(side))
        spends = otype in MARKETABLE and side == "BUY"      # a market BUY spends its maker amount
        if shares % 10_000 and not spends:
            return _bad("invalid amounts, the sizes must have at most 2 decimals")
        lots = shares // 10_000                       # a market BUY's least shares, down to whole lots
        if otype in MARKETABLE:
            # the implied limit, on the tick it reaches: a BUY's rounded down, a SELL's up
            steps = coll * 10_000 // (shares * l.tick) if side == "BUY" else -(-coll * 10_000 // (shares * l.tick))
            price = steps * l.tick
        else:
            if (coll * 10_000) % shares:
                return _bad(f"order {otype} price breaks minimum tick size rule: {l.tick / 10_000}")
            price = coll * 10_000 // shares          # ticks
        if price % l.tick or not l.tick <= price <= 10_000 - l.tick:
            return _bad(f"order price breaks minimum tick size rule: {l.tick / 10_000}")
        min_lots = int(Decimal(l.min_order_size) * 100)
        if lots < min_lots:
            return _bad(f"Size ({lots / 100}) lower than the minimum: {l.min_order_size}")
        if otype in ("FOK", "FAK") and coll < 1_000_000:
            return _bad("invalid amount for a marketable order, min size: $1")
        if body.get("postOnly") and otype in ("FOK", "FAK"):
            return _bad("invalid post-only order: only GTC and GTD are allowed")
        if side == "SELL" and f.poly_settle_delay_s > 0 and not self._settled_enough(account, cond, tside, lots):
            return _bad("not enough balance / allowance")
        place = dict(account=account, market=cond, side=tside, action=side.lower(), price=price, lots=lots,
                     tif=_TIF[otype], post_only=bool(body.get("postOnly")), stp="maker",
                     leave=f.partial_fill_lots or None, budget=coll if spends else None)
        if otype in MARKETABLE and f.poly_match_delay_s > 0:
            self.delayed[vid] = (account, token, side, shares, price)
            self.waiting.add(vid)
            asyncio.get_running_loop().call_later(f.poly_match_delay_s, self._match_delayed, vid, otype, place)
            request[_ACCEPTED] = True
            return web.json_response({"success": True, "errorMsg": "", "orderID": vid, "status": "delayed",
                                      "makingAmount": "", "takingAmount": "", "tradeIDs": [],
                                      "transactionsHashes": []})
        try:
            # own orders never match (the factsheet is silent on the CLOB's self-trade rule): the
            # resting one is cancelled and matching goes on, like Polymarket's documented STP
            # (CancelMaker, its perps engine)
            o, fills = self.sim.exchange.place(**place)
        except SimReject as exc:
            if exc.code == "market_closed":
                return _bad(NO_ORDERBOOK if self.sim.exchange.markets[cond].settled else NOT_READY)
            if exc.code == "post_only_cross":
                return _bad("invalid post-only order: order crosses book")
            if exc.code == "insufficient_balance":
                return _bad("not enough balance / allowance")
            return _bad(str(exc))
        self._remember(vid, o.order_id, otype)
        request[_ACCEPTED] = True                     # in the engine now, whatever the answer says
        if otype == "FOK" and o.filled == 0:
            return _bad("order couldn't be fully filled. FOK orders are fully filled or killed.")
        if otype == "FAK" and o.filled == 0:
            return _bad("no orders found to match with FAK order. FAK orders are partially filled or killed if "
                        "no match is found.")
        mine = [f for f in fills if f.order.order_id == o.order_id]
        spent = sum(f.price * f.lots for f in mine)            # µ$ (engine side's own price)
        got = o.filled
        status = "live" if o.status == "resting" else "matched"
        trade_ids = [f.trade_id for f in mine]
        shares_micros = got * 10_000
        making, taking = (spent, shares_micros) if side == "BUY" else (shares_micros, shares_micros - spent)
        return web.json_response({
            "success": True, "errorMsg": "", "orderID": vid, "status": status,
            # nothing matched yet (a resting order): both "", as the CLOB writes them
            "makingAmount": _dec(making, 6) if got else "", "takingAmount": _dec(taking, 6) if got else "",
            "tradeIDs": trade_ids,
            "transactionsHashes": ["0x" + hashlib.sha256(t.encode()).hexdigest() for t in trade_ids]})

    def _settled_enough(self, account: str, cond: str, side: str, lots: int) -> bool:
        """`Faults.poly_settle_delay_s`: whether `account` holds `lots` of `cond`'s `side` token
        counting only what its trades bought at least that long ago (mined): the CLOB refuses a
        SELL of tokens whose purchase is still MATCHED."""
        acct = self.sim.exchange.accounts.get(account)
        if acct is None:
            return False
        since = self.sim.clock_ms() - int(self.sim.faults.poly_settle_delay_s * 1000)
        unmined = sum(e.lots for e in acct.fills if e.order.market == cond and e.order.action == "buy"
                      and e.order.side == side and e.ts_ms > since)
        return acct.tokens.get((cond, side), 0) - unmined >= lots

    def _match_delayed(self, vid: str, otype: str, place: dict) -> None:
        """A delayed marketable order's match, once its delay is over: in the engine now (a FAK's
        rest killed, a FOK filled or killed); one the engine refuses (the market closed, the
        balance spent meanwhile) ends unmatched."""
        if vid not in self.waiting:
            return                                  # cancelled while it waited
        self.waiting.discard(vid)
        try:
            o, _fills = self.sim.exchange.place(**place)
        except SimReject:
            self.unmatched.add(vid)
            return
        self._remember(vid, o.order_id, otype)

    def delayed_json(self, vid: str, account: str, owner: str) -> dict | None:
        """GET /data/order's answer for `account`'s order still waiting out its match delay, or
        one that ended unmatched after it; None for any other (then the engine's order is)."""
        if vid not in self.waiting and vid not in self.unmatched or self.delayed[vid][0] != account:
            return None
        _account, token, side, shares, price = self.delayed[vid]
        cond, tside = self.sim.tokens[token]
        status = "ORDER_STATUS_DELAYED" if vid in self.waiting else "ORDER_STATUS_UNMATCHED"
        return {"id": vid, "status": status, "owner": owner, "market": cond, "asset_id": token,
                "side": side, "original_size": _dec(shares, 6), "size_matched": "0", "price": _dec(price * 100, 6),
                "outcome": "Yes" if tside == "yes" else "No", "expiration": "0", "order_type": "FAK",
                "associate_trades": [], "created_at": self.sim.clock_ms() // 1000}

    async def cancel_order(self, request: web.Request, account: str) -> web.Response:
        try:
            vid = json.loads(await request.text())["orderID"]
        except Exception:
            return _bad("Invalid order payload")
        eid = self.ids.get(vid)
        if eid is None:
            return web.json_response({"canceled": [], "not_canceled": {vid: "order not found"}})
        try:
            self.sim.exchange.cancel(account, eid)
        except SimReject:
            return web.json_response({"canceled": [], "not_canceled": {vid: "order can't be canceled"}})
        return web.json_response({"canceled": [vid], "not_canceled": {}})


def _dec(micros: int, places: int) -> str:
    s = f"{micros // 10**places}.{micros % 10**places:0{places}d}".rstrip("0").rstrip(".")
    return s or "0"
