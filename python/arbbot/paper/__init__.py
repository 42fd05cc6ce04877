"""Paper trading on live data (`arbbot run --paper`): the real venues' (or a simulator's) market
data, orders filled locally against the streamed books, never sent.

- `fills`: the local fill engine (pure: one taker order against one book, venue fees, exact).
- `ledger`: the paper venues' record in the order store's database (orders, fills, cash), which
  plays the venue for recovery and reconciliation.
- `venue`: `PaperVenue`, a `VenueClient` delegating discovery and books to a real adapter and
  answering every trading method from the fill engine and the ledger, after a latency.
"""
from arbbot.paper.fills import Match, Terms, match
from arbbot.paper.ledger import LedgerAccount, PaperLedger, open_ledger
from arbbot.paper.venue import PaperVenue, paper_venues

__all__ = ["LedgerAccount", "Match", "PaperLedger", "PaperVenue", "Terms", "match", "open_ledger", "paper_venues"]
