"""TWS API wire format, server side, at server version 178 (ib-async 2.1.0 offers v157..178).

Framing: after the client's `b"API\\0"` + length-prefixed `"v<min>..<max>"` handshake, every
message in both directions is a 4-byte big-endian length followed by NUL-terminated text fields.
The first field is the message id. Each encoder below lays its fields out exactly in the order
ib_async's `decoder.py` reads them at version 178 (no faProfile, with duration/postToAts/
autoCancelParent/minTradeQty…, execDetails with pendingPriceRevision); empty string = "unset".

Units: prices are dollars (`Decimal`, written in plain notation), sizes whole contracts.
"""
from __future__ import annotations

import struct
from datetime import datetime, timezone
from decimal import Decimal
from typing import Iterable

from arbbot.sim.forecastex.backend import DAY_EXPIRED, FxContract, FxExecution, FxOrder, trading_hours

SERVER_VERSION = 178
MAX_MSG = 1 << 20                      # refuse any single request larger than 1 MiB

# incoming request ids (ib_async client.py)
REQ_MKT_DATA, CANCEL_MKT_DATA, PLACE_ORDER, CANCEL_ORDER, REQ_OPEN_ORDERS = 1, 2, 3, 4, 5
REQ_ACCOUNT_UPDATES, REQ_EXECUTIONS, REQ_IDS, REQ_CONTRACT_DETAILS = 6, 7, 8, 9
REQ_AUTO_OPEN_ORDERS, REQ_ALL_OPEN_ORDERS, REQ_MANAGED_ACCTS, REQ_CURRENT_TIME = 15, 16, 17, 49
REQ_GLOBAL_CANCEL, REQ_MARKET_DATA_TYPE, REQ_POSITIONS, REQ_ACCOUNT_SUMMARY = 58, 59, 61, 62
CANCEL_ACCOUNT_SUMMARY, CANCEL_POSITIONS, START_API = 63, 64, 71
REQ_POSITIONS_MULTI, CANCEL_POSITIONS_MULTI, REQ_ACCOUNT_UPDATES_MULTI, CANCEL_ACCOUNT_UPDATES_MULTI = 74, 75, 76, 77
REQ_COMPLETED_ORDERS = 99

# tick types
BID_SIZE, BID, ASK, ASK_SIZE = 0, 1, 2, 3


def fmt(v: object) -> str:
    """One field as TWS writes it."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, Decimal):
        return format(v, "f")
    return str(v)


def frame(fields: Iterable[object]) -> bytes:
    payload = "".join(fmt(f) + "\0" for f in fields).encode()
    return struct.pack(">I", len(payload)) + payload


def split(payload: bytes) -> list[str]:
    """The fields of one request (the trailing NUL terminates the last field)."""
    fields = payload.decode(errors="replace").split("\0")
    if fields and fields[-1] == "":
        fields.pop()
    return fields


def ib_time(ms: int) -> str:
    """IB's 'yyyymmdd hh:mm:ss <tz>' (UTC)."""
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y%m%d %H:%M:%S") + " UTC"


# ---- requests ------------------------------------------------------------------------------
def parse_place_order(f: list[str]) -> dict:
    """The fields of a v178 placeOrder the server acts on (layout: ib_async Client.placeOrder;
    a BAG contract has extra leg fields and is refused before they matter). Raises IndexError /
    ValueError / decimal errors on a malformed message."""
    d = dict(order_id=int(f[1]), sec_type=f[4], action=f[16], quantity=Decimal(f[17] or "0"), order_type=f[18],
             limit=Decimal(f[19]) if f[19] else None, tif=f[21], account=f[23], order_ref=f[26], what_if=False)
    if d["sec_type"] == "BAG":
        return d
    i = 35 + 7 + 24                              # past hidden, faPercentage, deltaNeutralAuxPrice
    i += 8 if f[i - 2] else 0                    # deltaNeutralOrderType set: its 8 fields
    i += 7
    inc = f[i - 1]
    i += 7 if inc and 0 < float(inc) < 1e300 else 0        # scale order fields
    i += 4
    i += 1 if f[i - 1] else 0                    # hedgeType set: hedgeParam
    i += 4
    i += 1 + (3 if f[i] == "1" else 0)           # delta-neutral contract
    algo, i = f[i], i + 1
    if algo:
        i += 1 + 2 * int(f[i])
    d["what_if"] = f[i + 1] == "1"               # after algoId
    return d


# ---- contracts -----------------------------------------------------------------------------
def local_symbol(c: FxContract) -> str:
    return f"{c.symbol} {c.expiry} {c.strike} {'YES' if c.right == 'C' else 'NO'}"


def contract11(c: FxContract) -> list[object]:
    """conId, symbol, secType, lastTradeDate, strike, right, multiplier, exchange, currency,
    localSymbol, tradingClass (openOrder, completedOrder, execDetails, position)."""
    return [c.con_id, c.symbol, c.sec_type, c.expiry, c.strike, c.right, "1", c.exchange, "USD",
            local_symbol(c), c.symbol]


def contract_details(req_id: int, c: FxContract, now_ms: int) -> list[object]:
    """contractDetails (10), v≥164 layout: no version field, minSize/sizeIncrement at the end. The
    last trade date carries its time and zone, "20261216 16:00:00 US/Central", as IB sends it
    (ib_async splits it into lastTradeDateOrContractMonth, lastTradeTime and timeZoneId); the
    trading hours from `now_ms`'s day on (`backend.trading_hours`), liquid hours the same."""
    hours = trading_hours(c, now_ms)
    return [10, req_id, c.symbol, c.sec_type, f"{c.expiry} {c.last_trade_time} US/Central", c.strike, c.right,
            c.exchange, "USD", local_symbol(c), c.symbol, c.symbol, c.con_id, "0.01",
            "1", "LMT", c.exchange, 1, 0, c.long_name, "", c.expiry[:6], "", "", "", "US/Central", hours, hours,
            "", "", 0,                                   # evRule, evMultiplier, numSecIds
            "", "", "", "", c.expiry, "",                # aggGroup…marketRuleIds, realExpirationDate, stockType
            "1", "1", "1"]                               # minSize, sizeIncrement, suggestedSizeIncrement


def contract_details_end(req_id: int) -> list[object]:
    return [52, 1, req_id]


# ---- session ----------------------------------------------------------------------------
def next_valid_id(order_id: int) -> list[object]:
    return [9, 1, order_id]


def managed_accounts(accounts: str) -> list[object]:
    return [15, 1, accounts]


def error(req_id: int, code: int, msg: str) -> list[object]:
    return [4, 2, req_id, code, msg, ""]            # v≥166: advancedOrderRejectJson


def current_time(epoch_s: int) -> list[object]:
    return [49, 1, epoch_s]


# ---- market data -------------------------------------------------------------------------
def tick_price(req_id: int, tick_type: int, price: Decimal | None, size: int) -> list[object]:
    """tickPrice (1) with its size; no quote = price −1, size 0 (IB's "empty")."""
    return [1, 6, req_id, tick_type, -1 if price is None else price, size if price is not None else 0, 0]


def tick_size(req_id: int, tick_type: int, size: int) -> list[object]:
    return [2, 6, req_id, tick_type, size]


def market_data_type(req_id: int, kind: int = 1) -> list[object]:
    return [58, 1, req_id, kind]                    # 1 = real time


def tick_snapshot_end(req_id: int) -> list[object]:
    return [57, 1, req_id]


# ---- orders ------------------------------------------------------------------------------
def order_status(o: FxOrder, avg_price: Decimal, last_price: Decimal) -> list[object]:
    """orderStatus (3): no version field in ib_async's reading."""
    remaining = 0 if o.done else o.quantity - o.filled
    return [3, o.order_id, o.status, o.filled, remaining, avg_price, o.perm_id, 0, last_price, o.client_id, "", ""]


def _order_head(o: FxOrder) -> list[object]:
    """action … origin, orderRef (shared prefix of openOrder / completedOrder after the contract)."""
    return [o.action, o.quantity, o.order_type, o.limit, 0, o.tif, "", o.account, "", 0, o.order_ref]


def open_order(o: FxOrder, c: FxContract) -> list[object]:
    """openOrder (5) at v178: every field ib_async reads, in its order (see decoder.openOrder)."""
    return ([5, o.order_id] + contract11(c) + _order_head(o)
            + [o.client_id, o.perm_id, 0, 0, 0, "", "", "", "", ""]   # clientId…goodAfterTime, shares, fa×3
            + ["", "", "", "", "", 0, "", "", 0, "", "", "", "", "",     # modelCode…stockRangeUpper
               "", 0, 0, 0, "", 0, 0, 0, "", 0, 0, "", "", "", ""]      # displaySize…deltaNeutralAuxPrice
            + [0, "", "", "", "", "", ""]       # continuousUpdate…basisPointsType, comboLegsDescrip
            + [0, 0, 0]                         # combo legs, order combo legs, smart routing params
            + ["", "", ""]                      # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement
            + [""]                              # hedgeType
            + [0, "", "", 0, 0]                 # optOutSmartRouting, clearing×2, notHeld, no delta-neutral
            + [""]                              # algoStrategy
            + [0, 0, o.status] + [""] * 9 + ["", "", "", "", "", 0, 0]   # solicited, whatIf, state…
            + [0]                               # conditions
            + ["", "", "", "", "", "", "", 0, "", "", "", "", 0, 0, "", ""]  # adjusted…usePriceMgmtAlgo
            + ["", "", 0]                       # duration, postToAts, autoCancelParent
            + ["", "", "", "", ""])             # minTradeQty…midOffsetAtHalf


def completed_order(o: FxOrder, c: FxContract, completed_status: str) -> list[object]:
    """completedOrder (101) at v178 (no orderId, no clientId: IB identifies it by permId)."""
    return ([101] + contract11(c) + _order_head(o)
            + [o.perm_id, 0, 0, 0, "", "", "", ""]                     # permId…faPercentage
            + ["", "", "", "", "", 0, "", "", "", "", "", "", "",        # modelCode…stockRangeUpper
               "", 0, 0, "", 0, 0, "", "", "", ""]                       # displaySize…deltaNeutralAuxPrice
            + [0, "", "", "", ""]               # continuousUpdate…trailingPercent, comboLegsDescrip
            + [0, 0, 0]                         # combo legs, order combo legs, smart routing params
            + ["", "", ""]                      # scale sizes, scalePriceIncrement
            + [""]                              # hedgeType
            + ["", "", 0, 0]                    # clearing×2, notHeld, no delta-neutral
            + [""]                              # algoStrategy
            + [0, o.status, 0, 0]               # solicited, status, randomize×2
            + [0]                               # conditions
            + ["", "", "", 0, 0, "", o.filled, 0, 0, "", 0, 0, 0,           # trailStopPrice…parentPermId
               ib_time(o.done_ms or o.created_ms), completed_status]
            + ["", "", "", "", ""])             # minTradeQty…midOffsetAtHalf


def completed_status(o: FxOrder) -> str:
    """completedStatus: the system ends an IOC remainder and an expired DAY order, the trader the rest."""
    if o.status == "Inactive":
        return f"Rejected: {o.reason}"
    if o.status == "Cancelled":
        return "Cancelled by System" if o.tif == "IOC" or o.reason == DAY_EXPIRED else "Cancelled by Trader"
    return o.status


def exec_details(req_id: int, x: FxExecution, c: FxContract, account: str) -> list[object]:
    """execDetails (11) at v178; lastLiquidity 1 = added (maker), 2 = removed (taker)."""
    o = x.order
    return ([11, req_id, o.order_id] + contract11(c)
            + [x.exec_id, ib_time(x.ts_ms), account, c.exchange, "BOT", x.shares, x.price, o.perm_id, o.client_id,
               0, x.cum_qty, x.avg_price, o.order_ref, "", "", "", 2 if x.is_taker else 1, 0])


def commission_report(exec_id: str) -> list[object]:
    """commissionReport (59): ForecastEx charges 0."""
    return [59, 1, exec_id, Decimal("0"), "USD", "", "", ""]


# ---- account -----------------------------------------------------------------------------
def position(account: str, c: FxContract, pos: int, avg_cost: Decimal) -> list[object]:
    return [61, 3, account] + contract11(c) + [pos, avg_cost]


def position_multi(req_id: int, account: str, c: FxContract, pos: int, avg_cost: Decimal) -> list[object]:
    return [71, 1, req_id, account] + contract11(c) + [pos, avg_cost, ""]


def account_value(key: str, val: str, currency: str, account: str) -> list[object]:
    return [6, 2, key, val, currency, account]


def portfolio_value(c: FxContract, pos: int, price: Decimal, avg_cost: Decimal, account: str) -> list[object]:
    """updatePortfolio (7): contract without exchange but with primaryExchange."""
    return ([7, 8, c.con_id, c.symbol, c.sec_type, c.expiry, c.strike, c.right, "1", "", "USD", local_symbol(c),
             c.symbol] + [pos, price, price * pos, avg_cost, (price - avg_cost) * pos, 0, account])


def account_time(ms: int) -> list[object]:
    return [8, 1, datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%H:%M")]


def account_download_end(account: str) -> list[object]:
    return [54, 1, account]


def account_update_multi(req_id: int, account: str, key: str, val: str, currency: str) -> list[object]:
    return [73, 1, req_id, account, "", key, val, currency]


def account_summary(req_id: int, account: str, tag: str, val: str, currency: str) -> list[object]:
    return [63, 1, req_id, account, tag, val, currency]
