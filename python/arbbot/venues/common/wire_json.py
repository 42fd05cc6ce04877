"""The venues' WebSocket frames decoded from JSON text (or UTF-8 bytes) by msgspec: on a book
delta about 4× faster than `json.loads`, with the same values (integers of any size stay exact
ints, numbers with a fraction are floats, a repeated key keeps its last value). Stricter than
`json.loads` where the text is not JSON (RFC 8259): `NaN` / `Infinity`, a lone surrogate escape
and a number beyond a double's range are refused. Every error is a ValueError."""
from __future__ import annotations

import msgspec

decode = msgspec.json.Decoder().decode
