"""Polymarket wire schemas (Gamma, CLOB REST, market WS)."""
