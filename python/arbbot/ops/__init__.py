"""Operator tools: `arbbot status`, Prometheus metrics, the live view (the web dashboard will
live here too)."""
