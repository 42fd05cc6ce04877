"""What every venue adapter shares: the trading model, errors, the VenueClient protocol."""
from arbbot.venues.common.errors import (  # noqa: F401
    AuthError, NotFound, OrderRejected, ProtocolError, RateLimited, TransportError, VenueError,
)
from arbbot.venues.common.interface import VenueClient  # noqa: F401
from arbbot.venues.common.model import (  # noqa: F401
    Action, Balance, BookUpdate, EventInfo, FeeSchedule, Fill, MarketInfo, Book, Order,
    OrderRequest, OrderStatus, Position, Side, TimeInForce, Trade, Venue,
)
