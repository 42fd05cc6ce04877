"""The sizing pipeline (SIZING.md): per-opportunity steps 1, 2, 3, 6, 7, 8, 4 (pure twin of the
future Swift evaluation) and the `[sizing]` configuration model.

    from arbbot.sizing import SizingInput, SizingLeg, size_opportunity, from_toml_dict
    result = size_opportunity(inp, from_toml_dict(toml["sizing"]).params())
"""
from arbbot.sizing.clock import days_to_close
from arbbot.sizing.config import SizingConfig, SizingConfigError, from_toml_dict
from arbbot.sizing.montecarlo import simulate
from arbbot.sizing.pricing import batches, dollar_bound, floor_lot, reprice
from arbbot.sizing.rng import SplitMix64, seed_from_id
from arbbot.sizing.steps import check_input, fill_probability, regime_multiplier, size_opportunity
from arbbot.sizing.types import (
    ORDER, PER_OPPORTUNITY, CapUnit, MonteCarloResult, Outcome, Priced, Reason, SizingInput, SizingLeg,
    SizingParams, SizingResult, Step, StepResult, VenueStats,
)

__all__ = [
    "ORDER", "PER_OPPORTUNITY", "CapUnit", "MonteCarloResult", "Outcome", "Priced", "Reason", "SizingConfig",
    "SizingConfigError", "SizingInput", "SizingLeg", "SizingParams", "SizingResult", "SplitMix64", "Step",
    "StepResult", "VenueStats", "batches", "check_input", "days_to_close", "dollar_bound", "fill_probability",
    "floor_lot", "from_toml_dict", "regime_multiplier", "reprice", "seed_from_id", "simulate", "size_opportunity",
]
