"""What the CLOB's answer to `POST /order` means for the order, from the documented messages
(docs.polymarket.com/resources/error-codes, "Place Orders", "Order Processing Errors", "Matching
Engine Errors"). Three outcomes, because they decide whether an order may be sent again:

- refused (`OrderRejected`): nothing was placed; another order for the same lots is safe;
- the venue takes no orders for a while (`VenueUnavailable`, an `OrderRejected`): nothing was
  placed; worth sending again after the wait (cancel-only / post-only mode, trading disabled,
  "order timed out": "rejected before reaching the order book and can be safely resubmitted");
- may be at the venue (`OutcomeUnknown`): the order exists or may match later; never sent again,
  looked up by its hash. "order match delayed due to market conditions" is a 400, yet the
  insert-error table lists ORDER_DELAYED as not a failure: the order waits out the market's
  matching delay and may still fill. "context canceled" is forced to 400 whatever happened (the
  error page's note), and the system errors "error delaying the order" / "could not run the
  execution" come after the order was taken in.

Messages are matched as lower-case substrings: the venue interpolates order ids, prices and sizes
into several of them."""
from __future__ import annotations

import json

import httpx

from arbbot.venues.common.errors import (
    NOT_ENOUGH_BALANCE, OrderRejected, OutcomeUnknown, VenueError, VenueUnavailable,
)
from arbbot.venues.common.http import retry_after

# seconds before an order refused as "the venue takes none now" is worth sending again, when the
# answer gives no delay (`retry_after_seconds`, `Retry-After`)
UNAVAILABLE_RETRY_S = 1.0
POST_ONLY_CODE = "post_only_mode"          # the 503's `code` in post-only mode (after an engine restart)

# the order may be at the venue (400s that are not refusals)
_MAY_BE_PLACED = ("order match delayed", "context canceled", "error delaying the order",
                  "could not run the execution", "is invalid. duplicated", "already")
# the venue takes no orders for a while (503s, and the 500 documented as safe to resubmit)
_UNAVAILABLE = ("post-only mode", "cancel-only", "trading is currently disabled", "order timed out")
# documented matching-engine refusals answered as 500 (nothing matched, nothing rests)
_REFUSED_500 = ("there are no matching orders", "fok orders are filled or killed",
                "the trade contains rounding issues", "has a discrepancy greater than allowed")


def error_text(data) -> tuple[str, str]:
    """(message, code) of an error body: `error`, else `errorMsg` (some answers carry only that)."""
    if not isinstance(data, dict):
        return "", ""
    msg = data.get("error") or data.get("errorMsg") or ""
    return str(msg), str(data.get("code") or "")


def _body(resp: httpx.Response):
    try:
        return json.loads(resp.content) if resp.content else {}
    except ValueError:
        return {}


def is_post_only_mode(resp: httpx.Response) -> bool:
    """A 503 in the post-only mode that follows a matching-engine restart."""
    if resp.status_code != 503:
        return False
    msg, code = error_text(_body(resp))
    return code == POST_ONLY_CODE or "post-only mode" in msg.lower()


def order_refusal(resp: httpx.Response, what: str) -> VenueError | None:
    """The documented meaning of an error status the shared policy would read as "may be at the
    venue" (a 5xx), as the exception to raise; None for every other answer (decoded by `rejection`)."""
    if resp.status_code < 500:
        return None
    data = _body(resp)
    msg, code = error_text(data)
    low = msg.lower()
    text = f"{what}: HTTP {resp.status_code}: {msg}"
    if code == POST_ONLY_CODE or any(s in low for s in _UNAVAILABLE):
        wait = data.get("retry_after_seconds") if isinstance(data, dict) else None
        if not isinstance(wait, (int, float)) or isinstance(wait, bool) or wait < 0:
            wait = retry_after(resp)
        return VenueUnavailable(f"{text}; nothing was placed", venue="polymarket", status=resp.status_code,
                                code=code, retry_after=UNAVAILABLE_RETRY_S if wait is None else float(wait))
    if resp.status_code == 500 and any(s in low for s in _REFUSED_500):
        return OrderRejected(text, venue="polymarket", status=500)
    return None


# the documented refusals (nothing placed): "Place Orders" and "Order Processing Errors"
_REFUSALS = ("invalid order payload", "has to be the owner of the api key", "has to be the address of the api key",
             "address banned", "closed only mode", "invalid post-only order", "breaks minimum tick size",
             "lower than the minimum", "crosses the book", "not enough balance", "invalid expiration",
             "order canceled in the ctf exchange contract", "couldn't be fully filled", "no orders found to match",
             "not yet ready to process new orders", "post-only mode", "too many orders", "order_version_mismatch")


def rejection(status: int | None, msg: str, text: str, *, success: bool = False) -> VenueError:
    """The exception for a `POST /order` answer that placed nothing it says: a 4xx (other than
    401/403/404/425/429; `status`), or a 200 body (`status` None: no HTTP error) that is a
    refusal (`success` false) or claims success without an insert status (`success` true: then
    only a documented refusal's message is a rejection; any other may be at the venue)."""
    low = msg.lower()
    if any(s in low for s in _MAY_BE_PLACED) or (success and not any(s in low for s in _REFUSALS)):
        return OutcomeUnknown(f"{text}; the order may be at the venue", venue="polymarket", status=status)
    # "not enough balance / allowance": also what a SELL of tokens whose purchase is not yet mined
    # gets (the trade MATCHED, the tokens not delivered): the executor then unwinds by buying the
    # other side (`NOT_ENOUGH_BALANCE`)
    code = NOT_ENOUGH_BALANCE if "not enough balance" in low else ""
    return OrderRejected(text, venue="polymarket", status=status, code=code)
