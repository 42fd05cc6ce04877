"""ForecastEx (Interactive Brokers) adapter behind a small IB client interface."""
from arbbot.venues.forecastex.client import IBClient, IBContract, IBQuote, IBTrade  # noqa: F401
from arbbot.venues.forecastex.factories import connect_forecastex_venue  # noqa: F401
from arbbot.venues.forecastex.venue import ForecastExVenue  # noqa: F401
