"""The simulator catalog's true cross-venue twins (scenario `all`, seed 0), as a mapping CSV:
what `arbbot map` must find in it and what tests give a session in place of generation. The file
names the ForecastEx questions by strike ("FF-YYYYMMDD-4.125"); their ids carry the expiry the
session's simulators list (`tests.fx_day`)."""
from __future__ import annotations

from pathlib import Path

from arbbot.mapping.table import MappingRow, parse_mappings
from tests.fx_day import EXPIRY

PATH = Path(__file__).parent / "data" / "sim_twins.csv"


def sim_twins() -> list[MappingRow]:
    text = PATH.read_text(encoding="utf-8").replace("FF-YYYYMMDD-", f"FF-{EXPIRY}-")
    return parse_mappings(text.splitlines(keepends=True), str(PATH))


def sim_flipped_twins() -> set[tuple[tuple[str, str, str], str]]:
    """(ids, relation) the matcher also finds besides the shipped rows: each game's other Kalshi
    team market ("BOS beats LAL?") is the inverse of the Polymarket game ("LAL vs. BOS")."""
    game = {r.ids[0]: r.ids[1] for r in sim_twins() if r.ids[0].startswith("KXNBAGAME")}
    return {(("KXNBAGAME-26NOV30LALBOS-BOS", game["KXNBAGAME-26NOV30LALBOS-LAL"], ""), "inverse"),
            (("KXNBAGAME-26NOV30NYKMIA-MIA", game["KXNBAGAME-26NOV30NYKMIA-NYK"], ""), "inverse")}
