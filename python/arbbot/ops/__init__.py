"""Operator tools: status, metrics, view (dashboard later)."""
