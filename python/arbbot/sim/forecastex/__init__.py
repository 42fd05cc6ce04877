"""Simulated IB for ForecastEx: in process (`SimIBClient`) and over the TWS API wire (`TwsSim`,
`start_tws`), both on one `ForecastExBackend`."""
from arbbot.sim.forecastex.backend import ForecastExBackend  # noqa: F401
from arbbot.sim.forecastex.client import SimIBClient  # noqa: F401
from arbbot.sim.forecastex.tws import TwsSim, start_tws  # noqa: F401
