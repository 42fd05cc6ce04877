"""arbbot: arbitrage engine for binary prediction markets."""
__version__ = "0.1.0"
