"""The CLOB's documented answers to `POST /order` (docs.polymarket.com/resources/error-codes),
read by the real adapter (`PolymarketVenue.place_order`) from a transport that plays the venue:
a refusal may be sent again, an order that may be at the venue never is (looked up by its hash),
and a venue that takes no orders for a while is waited out."""
import asyncio
import base64

import httpx
import pytest

from arbbot.model import FeeSchedule, MarketInfo
from arbbot.venues.common.errors import NOT_ENOUGH_BALANCE, OrderRejected, OutcomeUnknown, VenueUnavailable
from arbbot.venues.common.model import Action, OrderRequest, OrderStatus, Side, TimeInForce, Venue
from arbbot.venues.polymarket.config import PolymarketConfig
from arbbot.venues.polymarket.venue import RESTARTING, PolymarketVenue

MARKET = MarketInfo(Venue.POLYMARKET, "0xcond", "t", fees=FeeSchedule(taker_rate_ppm=40_000, rounding=10),
                    tick_ticks=100, yes_token="1234", no_token="5678", extra=(("min_order_size_lots", "500"),))


def _venue(status: int, body: dict, headers: dict | None = None) -> tuple[PolymarketVenue, list]:
    """A venue whose CLOB answers every request `status` `body`; the hashes it signed."""
    cfg = PolymarketConfig(clob_url="http://clob.test", gamma_url="http://gamma.test", address="0x0", api_key="k",
                           api_secret=base64.urlsafe_b64encode(b"s" * 32).decode(), api_passphrase="p",
                           private_key="0x" + "22" * 32, max_retries=0)
    v = PolymarketVenue(cfg)
    v.http._client = httpx.AsyncClient(transport=httpx.MockTransport(
        lambda request: httpx.Response(status, json=body, headers=headers or {})))
    v.provider.markets[MARKET.market_id] = MARKET
    signed: list = []
    v.exec.on_order_id = lambda coid, oid: signed.append(oid)
    return v, signed


def _place(status: int, body: dict, headers: dict | None = None):
    """(what place_order returned or raised, the signed order's hash, the venue's outage after)."""
    async def go():
        v, signed = _venue(status, body, headers)
        try:
            got = await v.place_order(OrderRequest(MARKET.market_id, Side.YES, 5_000, 1_000, action=Action.BUY,
                                                   tif=TimeInForce.IOC, client_order_id="c1"))
        except Exception as exc:           # noqa: BLE001 — the outcome under test
            got = exc
        outage = v.outage
        if v._restart is not None:
            v._restart.cancel()
        await v.close()
        return got, signed[0], outage
    return asyncio.run(go())


@pytest.mark.parametrize("status, message", [
    (400, "order match delayed due to market conditions"),      # ORDER_DELAYED: "not a failure"
    (400, "context canceled"),                                   # forced to 400 whatever happened
    (400, "error delaying the order"),
    (400, "could not run the execution"),
    (400, "order 0xabc is invalid. Duplicated."),                # an earlier send of it arrived
])
def test_an_answer_that_leaves_the_order_at_the_venue_is_an_unknown_outcome(status, message):
    got, _, _ = _place(status, {"error": message})
    assert isinstance(got, OutcomeUnknown) and message in str(got)


@pytest.mark.parametrize("status, message, code", [
    (400, "order 0xabc is invalid. Price (0.505) breaks minimum tick size rule: 0.01", ""),
    (400, "order 0xabc is invalid. Size (1) lower than the minimum: 5", ""),
    (400, "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is "
          "found.", ""),
    (400, "not enough balance / allowance", NOT_ENOUGH_BALANCE),
    (500, "there are no matching orders", ""),                    # matching-engine refusals, answered 500
    (500, "the trade contains rounding issues", ""),
    (500, "the price of the taker's order has a discrepancy greater than allowed with the worst maker order", ""),
])
def test_a_documented_refusal_is_a_rejection_nothing_placed(status, message, code):
    got, _, _ = _place(status, {"error": message})
    assert type(got) is OrderRejected and got.code == code and got.status == status


def test_a_refusal_carried_in_errormsg_keeps_its_meaning():
    """Some 400 bodies carry only `errorMsg`: the balance refusal's code still reaches the
    executor (which then unwinds by buying the other side)."""
    got, _, _ = _place(400, {"errorMsg": "not enough balance / allowance: the balance is not enough"})
    assert type(got) is OrderRejected and got.code == NOT_ENOUGH_BALANCE
    got, _, _ = _place(200, {"success": False, "errorMsg": "order match delayed due to market conditions"})
    assert isinstance(got, OutcomeUnknown)


def test_post_only_mode_is_a_wait_with_the_venues_delay_and_holds_the_books_without_any_425():
    """503 post_only_mode after a restart whose 425s the bot never saw: nothing placed, the
    venue's delay kept, and the books held as through a restart."""
    body = {"error": "post-only mode: only post-only orders and cancels are allowed", "code": "post_only_mode",
            "retry_after_seconds": 79}
    got, _, outage = _place(503, body, {"Retry-After": "79"})
    assert isinstance(got, VenueUnavailable) and got.retry_after == 79.0 and got.code == "post_only_mode"
    assert outage == RESTARTING


@pytest.mark.parametrize("status, message, retry_after", [
    (503, "Trading is currently cancel-only. New orders are not accepted, but cancels are allowed.", 1.0),
    (503, "Trading is currently disabled. Check polymarket.com for updates", 1.0),
    (500, "order timed out", 1.0),           # "rejected before reaching the order book … safely resubmitted"
])
def test_a_venue_taking_no_orders_for_a_while_is_unavailable_not_unknown(status, message, retry_after):
    got, _, outage = _place(status, {"error": message})
    assert isinstance(got, VenueUnavailable) and got.retry_after == retry_after and outage == ""


def test_any_other_5xx_is_still_an_unknown_outcome():
    got, _, _ = _place(502, {"error": "bad gateway"})
    assert isinstance(got, OutcomeUnknown)


def test_an_answer_without_an_order_id_keeps_the_signed_orders_hash():
    """{"success": true, "orderID": "", "status": "delayed"}: the order is the signed one; its id
    (the hash recorded before sending) is what a lookup asks for, never ""."""
    got, signed, _ = _place(200, {"success": True, "errorMsg": "order match delayed due to market conditions",
                                  "orderID": "", "status": "delayed", "makingAmount": "", "takingAmount": ""})
    assert got.order_id == signed and got.status is OrderStatus.PENDING and got.filled_lots == 0


def test_a_200_that_places_nothing_is_read_by_its_message():
    """A per-order error with no insert status (the batch form's post-only answer) places nothing."""
    got, _, _ = _place(200, {"success": True, "errorMsg": "order 0xabc is invalid. Size (1) lower than the minimum: 5",
                             "orderID": "", "status": "", "makingAmount": "", "takingAmount": ""})
    assert type(got) is OrderRejected


def test_a_200_claiming_success_without_a_status_is_rejected_only_on_a_documented_refusal():
    """`success: true` with an error message and no insert status: a documented refusal places
    nothing; any other message may mean the order is at the venue (looked up by its hash, never
    taken as refused: a fill would be missed)."""
    body = {"success": True, "orderID": "", "status": "", "makingAmount": "", "takingAmount": ""}
    got, _, _ = _place(200, {**body, "errorMsg": "post-only mode: only post-only orders and cancels are allowed"})
    assert type(got) is OrderRejected and got.status is None
    got, _, _ = _place(200, {**body, "errorMsg": "something new the venue says"})
    assert isinstance(got, OutcomeUnknown)


def test_a_refusal_in_a_200_body_keeps_its_code_during_a_restart_hold():
    """A 200 {"success": false} refusal is no HTTP error: during a restart hold it is not turned
    into a wait, and the balance code still reaches the unwind."""
    async def go():
        v, _ = _venue(200, {"success": False, "errorMsg": "not enough balance / allowance"})
        v.outage = RESTARTING
        try:
            await v.place_order(OrderRequest(MARKET.market_id, Side.YES, 5_000, 1_000, action=Action.BUY,
                                             tif=TimeInForce.IOC, client_order_id="c1"))
        except OrderRejected as exc:
            got = exc
        await v.close()
        return got
    got = asyncio.run(go())
    assert type(got) is OrderRejected and got.code == NOT_ENOUGH_BALANCE
