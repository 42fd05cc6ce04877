"""The simulated venues' list paging: keyset pages (Kalshi's opaque cursors sit on top) and the
Polymarket CLOB's base64 `next_cursor` convention."""
from __future__ import annotations

import base64
import binascii

POLY_START, POLY_END = "MA==", "LTE="          # base64("0"), base64("-1"): the CLOB's first / no-more cursors


def keyset_page(items, key, after, limit: int, *, descending: bool):
    """One page of `items` ordered by `key` (immutable and unique per item: a sequence number,
    an append-only index, a ticker): the first `limit` items strictly past `after` (None = from
    the start) and the key to resume after, or None when nothing is left. Resuming from a key
    rather than an offset, an item added or removed between two reads can neither shift the rest
    into a repeat nor skip one."""
    if descending:
        rest = sorted((x for x in items if after is None or key(x) < after), key=key, reverse=True)
    else:
        rest = sorted((x for x in items if after is None or key(x) > after), key=key)
    page = rest[:limit]
    return page, (key(page[-1]) if len(rest) > limit else None)


def poly_cursor_page(items, key, cursor: str, limit: int = 100):
    """Polymarket CLOB paging: `cursor` = base64 of the position to resume from ("MA==" = 0 =
    start, "LTE=" = −1 = end), the position being the smallest `key` (an immutable int ≥ 0, items
    ascending) not returned yet. Returns (page, next_cursor); raises ValueError on a bad cursor."""
    try:
        pos = int(base64.b64decode(cursor.encode(), validate=True).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError(f"invalid next_cursor {cursor!r}") from None
    if pos == -1:
        return [], POLY_END
    if pos < 0:
        raise ValueError(f"invalid next_cursor {cursor!r}")
    page, last = keyset_page(items, key, pos - 1, limit, descending=False)
    return page, (POLY_END if last is None else base64.b64encode(str(last + 1).encode()).decode())
