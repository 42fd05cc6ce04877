"""Venue-independent model, units, errors, rate limiting and snapshot dumping."""
from arbbot.venues.common.errors import (  # noqa: F401
    AuthError, NotFound, OrderRejected, ProtocolError, RateLimited, TransportError, VenueError,
)
from arbbot.venues.common.interface import VenueClient  # noqa: F401
from arbbot.venues.common.model import (  # noqa: F401
    Action, Balance, BookUpdate, EventInfo, FeeSchedule, Fill, MarketInfo, NativeBook, Order,
    OrderRequest, OrderStatus, Position, Side, TimeInForce, Trade, Venue,
)
from arbbot.venues.common.snapshot import dump_snapshot  # noqa: F401
