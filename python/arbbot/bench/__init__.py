"""Benchmarks: the seeded U20k universe and the p50/p95/p99 runner (`arbbot bench`)."""
