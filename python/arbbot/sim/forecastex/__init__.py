"""Simulated IB for ForecastEx over the TWS API wire (`TwsSim`, `start_tws`) on one
`ForecastExBackend` (the tests' in-process IB client mirror is tests/venues/sim_ib_client.py)."""
from arbbot.sim.forecastex.backend import ForecastExBackend  # noqa: F401
from arbbot.sim.forecastex.tws import TwsFaults, TwsSim, start_tws  # noqa: F401
