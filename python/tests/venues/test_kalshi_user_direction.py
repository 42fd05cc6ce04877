"""Kalshi's `user_order` message read by the outcome it adds, and a batch result naming no order.

1. A `user_order` has no `action`, and its `side` is not the outcome for a sale: a V2 ask (a sale of
   YES, which on Kalshi's one book is a purchase of NO) can show `side` yes with `outcome_side` no
   and `book_side` ask (factsheet §1.6.2, §1.8). Before, `side` was read as the BUY: a purchase of
   NO at 58¢ became a purchase of YES at 42¢, the opposite position. Now `outcome_side`, else
   `book_side`, else `side` names the outcome bought.
2. A batched create the venue accepted (201) whose result for an order carries neither an order
   id nor an error: before, that order was "refused" (OrderRejected: nothing at the venue); it
   may be there and filled, so it is OutcomeUnknown (looked up by client id, never re-sent)."""
from __future__ import annotations

import asyncio

from arbbot.venues.common.errors import OrderRejected, OutcomeUnknown
from arbbot.venues.common.model import Action, OrderRequest, Side
from arbbot.venues.kalshi.execution import KalshiExecutionClient
from arbbot.venues.kalshi.user import parse_user_order


def _user_order(**direction) -> dict:
    return {"order_id": "o1", "ticker": "FED-23DEC-T3.00", "status": "executed", "is_yes": True,
            "yes_price_dollars": "0.4200", "fill_count_fp": "4.00", "remaining_count_fp": "0.00",
            "initial_count_fp": "4.00", "taker_fill_cost_dollars": "2.320000", "maker_fill_cost_dollars": "0.000000",
            "client_order_id": "c1", **direction}


def test_a_v2_ask_reported_as_side_yes_is_a_purchase_of_no():
    o = parse_user_order(_user_order(side="yes", outcome_side="no", book_side="ask"))
    assert (o.side, o.action, o.price_ticks, o.filled_lots, o.cost_micros) == (Side.NO, Action.BUY, 5800, 400, 2_320_000)


def test_book_side_names_the_outcome_without_outcome_side():
    assert parse_user_order(_user_order(side="yes", book_side="ask")).side is Side.NO
    assert parse_user_order(_user_order(side="no", book_side="bid")).side is Side.YES


def test_the_legacy_side_alone_is_read_as_before():
    o = parse_user_order(_user_order(side="yes"))
    assert (o.side, o.action, o.price_ticks) == (Side.YES, Action.BUY, 4200)
    o = parse_user_order(_user_order(side="no"))
    assert (o.side, o.price_ticks) == (Side.NO, 5800)


class _Http:
    def __init__(self, answer):
        self.answer, self.posted = answer, []

    async def post(self, path, body, cost_units=1):
        self.posted.append(body)
        return self.answer


def test_a_batch_result_with_no_order_and_no_error_is_outcome_unknown():
    http = _Http({"orders": [{"client_order_id": "c1"}, {"client_order_id": "c2",
                                                         "error": {"code": "invalid_parameters", "message": "bad"}}]})
    client = KalshiExecutionClient(http)
    reqs = [OrderRequest("K1", Side.YES, 5000, 100, client_order_id="c1"),
            OrderRequest("K1", Side.NO, 5000, 100, client_order_id="c2")]
    out = asyncio.run(client.place_batch(reqs))
    assert isinstance(out[0], OutcomeUnknown) and "may be at the venue" in str(out[0])
    assert type(out[1]) is OrderRejected and out[1].code == "invalid_parameters"
    assert len(http.posted) == 1
