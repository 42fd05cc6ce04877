"""Data quality between the feeds and the engine: the book gate (distrusted and stale books are
held out of detection until they are healthy again)."""
