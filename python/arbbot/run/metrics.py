"""Prometheus metrics of a live session, served as text on a loopback port."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily

from arbbot.run.live import LiveSession


class SessionCollector:
    """Reads the session's counters at scrape time (no bookkeeping on the hot path)."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session

    def collect(self):
        s, st = self.session, self.session.stats
        yield CounterMetricFamily("arbbot_book_updates", "Book updates received from the venues", value=st.book_updates)
        yield GaugeMetricFamily("arbbot_books", "Markets in the universe", value=len(s.markets))
        yield GaugeMetricFamily("arbbot_books_healthy", "Books taking part in detection", value=s.healthy())
        held = CounterMetricFamily("arbbot_books_held_out", "Updates held out of detection", labels=["reason"])
        for reason, n in sorted(st.held_out.items()):
            held.add_metric([reason], n)
        yield held
        found = CounterMetricFamily("arbbot_opportunities_found", "Opportunities reported (deduped)", labels=["lane"])
        for lane in ("intra", "cross", "bucket", "parity", "tree"):
            found.add_metric([lane], st.found.get(lane, 0))
        yield found
        latencies = list(st.latencies_ns)
        summary = SummaryMetricFamily("arbbot_detect_latency_seconds",
                                      "Book received → decision (last 20,000 updates)",
                                      count_value=len(latencies), sum_value=sum(latencies) / 1e9)
        yield summary
        p50, p99 = st.latency_percentiles_us()
        quantiles = GaugeMetricFamily("arbbot_detect_latency_quantile_seconds", "Detection latency quantiles",
                                      labels=["quantile"])
        quantiles.add_metric(["0.5"], p50 / 1e6)
        quantiles.add_metric(["0.99"], p99 / 1e6)
        yield quantiles


def serve_metrics(session: LiveSession, host: str = "127.0.0.1", port: int = 0):
    """Start the exposition server; returns (server, thread). Port 0 picks a free port."""
    registry = CollectorRegistry()
    registry.register(SessionCollector(session))
    return start_http_server(port, addr=host, registry=registry)
