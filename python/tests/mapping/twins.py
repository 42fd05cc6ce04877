"""The simulator catalog's true cross-venue twins (scenario `all`, seed 0), as a mapping CSV:
what `arbbot map` must find in it and what tests give a session in place of generation."""
from __future__ import annotations

from pathlib import Path

from arbbot.mapping.table import MappingRow, load_mappings

PATH = Path(__file__).parent / "data" / "sim_twins.csv"


def sim_twins() -> list[MappingRow]:
    return load_mappings(PATH)
