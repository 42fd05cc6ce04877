"""The simulated ForecastEx questions' ids for this test session.

The simulator dates its ForecastEx questions from its start day (`scenarios.build(start_ms=…)`):
they expire `FX_CLOSES_IN_DAYS` later, and the expiry is part of each id ("FF-YYYYMMDD-4.125").
Tests build their scenarios and simulators from `SIM_START_MS`, fixed once at import, so the ids below are
theirs even when a run crosses midnight UTC."""
from __future__ import annotations

from arbbot.sim.scenarios import build, forecastex_ids, now_ms

SIM_START_MS = now_ms()                          # Unix ms: every in-process test scenario's start
IDS = forecastex_ids(build("forecastex", 0, start_ms=SIM_START_MS))   # strike → market id
FIRST, MID, LOW = IDS["3.875"], IDS["4.125"], IDS["4.375"]
EXPIRY = MID.split("-")[1]                      # YYYYMMDD: the questions' last trade date
EVENT = f"FF-{EXPIRY}"
