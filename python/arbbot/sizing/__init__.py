"""The sizing pipeline (SIZING.md): per-opportunity steps 1, 2, 3, 6, 7, 8, 4 (the Swift engine's
arb_size and its pure-Python twin) and the `[sizing]` configuration model.

    from arbbot.sizing import SizingInput, SizingLeg, size, size_batch, from_toml_dict
    result = size(inp, from_toml_dict(toml["sizing"]).params())   # engine chosen by ARB_ENGINE_EVAL
    result = size_opportunity(inp, params)                          # always the pure twin
"""
from arbbot.sizing.clock import days_to_close
from arbbot.sizing.config import SizingConfig, SizingConfigError, from_toml_dict
from arbbot.sizing.montecarlo import simulate
from arbbot.sizing.pricing import batches, dollar_bound, floor_lot, reprice
from arbbot.sizing.rng import SplitMix64, seed_from_id
from arbbot.sizing.select import size_batch
from arbbot.sizing.select import size_opportunity as size
from arbbot.sizing.steps import check_input, check_params, fill_probability, regime_multiplier, size_opportunity
from arbbot.sizing.types import (
    ORDER, PER_OPPORTUNITY, CapUnit, MonteCarloResult, Outcome, Priced, Reason, SizingInput, SizingLeg,
    SizingParams, SizingResult, Step, StepResult, VenueStats,
)

__all__ = [
    "ORDER", "PER_OPPORTUNITY", "CapUnit", "MonteCarloResult", "Outcome", "Priced", "Reason", "SizingConfig",
    "SizingConfigError", "SizingInput", "SizingLeg", "SizingParams", "SizingResult", "SplitMix64", "Step",
    "StepResult", "VenueStats", "batches", "check_input", "check_params", "days_to_close", "dollar_bound", "fill_probability",
    "floor_lot", "from_toml_dict", "regime_multiplier", "reprice", "seed_from_id", "simulate", "size", "size_batch", "size_opportunity",
]
