"""The `universe` scenario: a venue-scale catalog (`catalog.build_universe`, via
`arbbot.sim.scenarios.build("universe", seed, markets=N)`) and its update scheduler
(`driver.UniverseDriver`)."""
from arbbot.sim.universe.catalog import DEFAULT_MARKETS, budgets, build_universe
from arbbot.sim.universe.driver import UniverseDriver

__all__ = ["DEFAULT_MARKETS", "budgets", "build_universe", "UniverseDriver"]
