"""A simulated IB client for ForecastEx contracts (implements `arbbot.venues.forecastex.IBClient`)."""
from arbbot.sim.forecastex.client import SimIBClient  # noqa: F401
