"""Unified venue errors. Messages say what happened and what to do; never include secrets."""
from __future__ import annotations


class VenueError(Exception):
    """Base class. `venue` names the venue; `status` is the HTTP status if any; `code` the venue code."""

    def __init__(self, message: str, *, venue: str = "", status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.venue = venue
        self.status = status
        self.code = code


class AuthError(VenueError):
    """Credentials refused (wrong key, bad signature, stale timestamp). Check key id and clock."""


class RateLimited(VenueError):
    """HTTP 429. `retry_after` seconds if the venue said so."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class NotFound(VenueError):
    """Unknown market / order."""


class OrderRejected(VenueError):
    """The venue refused an order (bad price, insufficient balance, market closed...)."""


# OrderRejected.code: the account lacks what the order spends (cash for a purchase, the tokens
# for a Polymarket sale — including tokens bought by a trade not yet mined)
NOT_ENOUGH_BALANCE = "not_enough_balance"


class VenueUnavailable(OrderRejected):
    """The venue refused an order because it takes none now, for a while: nothing was placed (a
    refusal, as every OrderRejected), and the same order may be sent again later. Any venue: an
    order still refused 429 after the last retry. Polymarket: HTTP 425 Too Early while its
    matching engine restarts, the post-only mode's 503 that follows, cancel-only / trading
    disabled, "order timed out" (docs.polymarket.com/trading/matching-engine, resources/error-codes).
    `retry_after`: seconds worth waiting before trying again."""

    def __init__(self, message: str, *, retry_after: float, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class TransportError(VenueError):
    """Network failure or 5xx after retries."""


class NotSent(TransportError):
    """The request never left this process: the connection failed before it was written
    (refused, DNS, connect timeout, no pooled connection). Safe to send again."""


class OutcomeUnknown(TransportError):
    """The request may have reached the venue but no usable answer came back (read timeout,
    reset, server disconnect, 5xx, a duplicate refusal). For an order: it may have filled.
    Never send it again; look it up by its client order id until it resolves."""


class ProtocolError(VenueError):
    """A message we could not parse: the venue's format changed or the frame is malformed."""
