"""Typed Kalshi wire messages and their exact parsers (kept apart from transport)."""
