"""Which implementation sizes opportunities: the `eval` component of the engine switch
(ARB_ENGINE_EVAL, then ARB_ENGINE; default swift, Python when the native module is missing).

    from arbbot.sizing import size, size_batch
    result = size(inp, params)                # SizingResult, same dataclasses from both engines
    results = size_batch([a, b], params)      # one engine call for the batch

Both raise EngineInputError(status, message, leg index) on invalid input; `size_batch` sets
`.opportunity` on it to the failing input's position.
"""
from __future__ import annotations

from typing import Sequence

from arbbot.engine.select import implementation
from arbbot.engine.types import EngineInputError
from arbbot.sizing import native, steps
from arbbot.sizing.types import SizingInput, SizingParams, SizingResult


def size_opportunity(inp: SizingInput, params: SizingParams = SizingParams(),
                     engine: str | None = None) -> SizingResult:
    """Steps 1, 2, 3, 6, 7, 8, 4 on one opportunity, by the selected implementation."""
    if implementation("eval", engine) == "swift":
        return native.size_opportunity(inp, params)
    return steps.size_opportunity(inp, params)


def size_batch(inputs: Sequence[SizingInput], params: SizingParams = SizingParams(),
               engine: str | None = None) -> list[SizingResult]:
    """Each opportunity sized independently against the same settings (SIZING.md "Inputs")."""
    if implementation("eval", engine) == "swift":
        return native.size_batch(inputs, params)
    out = []
    for k, inp in enumerate(inputs):
        try:
            out.append(steps.size_opportunity(inp, params))
        except EngineInputError as exc:
            exc.opportunity = k
            raise
    return out
