"""The session's streamed books as the order path and sizing read them: decomposed straight from
the packed form the session keeps (`arbbot.run.live.pack`: an int64 array of the four side
counts, then (price ticks, qty lots) pairs), with no Book tuples built in between."""
from __future__ import annotations

from arbbot.engine import Decomposition, packed_decomposer
from arbbot.engine.select import implementation
from arbbot.model import MarketId


class StreamedQuotes:
    """`quotes(name)`: market `name`'s streamed book decomposed, or None while the session holds
    it out (distrusted, stale) or has none; with `fresh_only` (the order path) also None while the
    book is quiet (no update within `stale_after_s`: the executor then asks the venue,
    `quality.gate`), comes from REST polls (`book_polled`: read again, whatever its age) or the
    session's streams are stopped (`books_live`: a shutdown). The
    decompose implementation (ARB_ENGINE_DECOMPOSE / ARB_ENGINE) is chosen once, here."""

    def __init__(self, session, engine: str | None = None, *, fresh_only: bool = False) -> None:
        self.session = session
        self.fresh_only = fresh_only
        self.engine = implementation("decompose", engine)
        self._decompose = packed_decomposer(self.engine)
        self._venues: dict[str, int] = {}          # market name → engine venue code
        self._polled = getattr(session, "book_polled", lambda name: False)

    def __call__(self, name: str) -> Decomposition | None:
        packed = self.session.books.get(name)
        if packed is None or name in self.session.held:
            return None
        if self.fresh_only and not (getattr(self.session, "books_live", True) and self.session.gate.is_fresh(name)
                                    and not self._polled(name)):
            return None
        venue = self._venues.get(name)
        if venue is None:
            venue = self._venues[name] = int(MarketId.parse(name).venue)
        return self._decompose(venue, packed)
