"""`arbbot map`: propose cross-venue twins from listings (features → blocking → scoring →
settlement checks → calibrated confidence → CSV/JSON)."""
