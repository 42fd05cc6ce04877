"""Prometheus metrics of a live session, served as text on a loopback port.

The endpoint has no authentication (a Prometheus scraper has none), so it answers only requests
whose `Host` header names the address it is bound to (127.0.0.1, localhost, [::1] or the configured
`metrics_host`, with its port): a web page that re-binds its own DNS name to 127.0.0.1 (DNS
rebinding) gets 403, never the PnL. A request without a Host header (not a browser) is answered.
"""
from __future__ import annotations

import errno
import os
import socket
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer

from arbbot import logs
from arbbot.config import allowed_hosts
from arbbot.ops.stats import quantile
from arbbot.run.live import LiveSession

log = logs.get("metrics")


class SessionCollector:
    """Reads the session's counters at scrape time (no bookkeeping on the hot path)."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session

    def collect(self):
        s, st = self.session, self.session.stats
        yield CounterMetricFamily("arbbot_book_updates", "Book updates received from the venues", value=st.book_updates)
        yield GaugeMetricFamily("arbbot_books", "Markets in the universe", value=len(s.markets))
        yield GaugeMetricFamily("arbbot_books_healthy", "Books taking part in detection", value=s.healthy())
        yield GaugeMetricFamily("arbbot_books_quiet", "Healthy books without an update for stale_after_s (live stream)",
                                value=s.gate.quiet())
        held = CounterMetricFamily("arbbot_books_held_out", "Updates held out of detection, by reason category "
                                   "(quality.gate.reason_category; the reasons themselves are logged)", labels=["reason"])
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
        loop_lag = getattr(s, "loop_lag", None)          # arbbot.run.looplag.LoopLag of `arbbot run`
        summary = loop_lag.summary() if loop_lag is not None else None
        if summary is not None:
            lag = GaugeMetricFamily("arbbot_loop_lag_quantile_seconds",
                                    "How late the event loop ran a 5-ms timer (last 20,000 samples): a frame "
                                    "arriving waits about that long before its parse starts", labels=["quantile"])
            for q, key in (("0.5", "p50_ms"), ("0.99", "p99_ms"), ("1", "max_ms")):
                lag.add_metric([q], summary[key] / 1e3)
            yield lag
        yield from _feeds(s.feed_stats())
        trader = getattr(s, "trader", None)
        if trader is not None:
            yield from self._trading(trader)

    @staticmethod
    def _trading(trader):
        done = CounterMetricFamily("arbbot_executions", "Executions by final state", labels=["state"])
        for state in ("complete", "aborted", "unwound", "naked", "error"):
            done.add_metric([state], trader.stats.ended.get(state, 0))   # endings: a re-hedged one ends twice
        yield done
        skipped = CounterMetricFamily("arbbot_opportunities_skipped", "Opportunities not traded", labels=["reason"])
        for reason, n in sorted(trader.stats.skipped.items()):
            skipped.add_metric([reason], n)
        yield skipped
        latency = GaugeMetricFamily("arbbot_order_latency_quantile_seconds",
                                    "Order sent → venue answer (last 2,000 per venue)", labels=["venue", "quantile"])
        for venue, samples in sorted(trader.executor.order_latencies_ns.items()):
            for q in (0.5, 0.99):
                latency.add_metric([venue, str(q)], quantile(samples, q) / 1e9)
        yield latency
        first = GaugeMetricFamily("arbbot_decision_to_first_order_quantile_seconds",
                                  "Opportunity decided → first order handed to the adapter (last 2,000)",
                                  labels=["quantile"])
        if trader.executor.first_order_ns:
            for q in (0.5, 0.99):
                first.add_metric([str(q)], quantile(trader.executor.first_order_ns, q) / 1e9)
        yield first
        yield CounterMetricFamily("arbbot_orders_outcome_unknown", "Orders whose answer was lost (resolved by lookup)",
                                  value=trader.executor.outcome_unknown)
        yield GaugeMetricFamily("arbbot_reconcile_differences", "Differences found by the last reconciliation",
                                value=trader.reconcile_differences or 0)
        if trader.gates.loss is not None:
            yield GaugeMetricFamily("arbbot_daily_loss_micros", "Realised loss of the risk day, fees included (µ$)",
                                    value=trader.gates.loss.loss)
        breaker = trader.gates.breaker
        state = GaugeMetricFamily("arbbot_breaker_state", "Circuit breaker (1 on the current state)", labels=["state"])
        for value in ("closed", "open", "half_open"):
            state.add_metric([value], 1.0 if breaker is not None and breaker.state.value == value else 0.0)
        yield state
        yield GaugeMetricFamily("arbbot_safe_mode", "1 while an unhedged position blocks trading",
                                value=1.0 if trader.store.safe_mode() else 0.0)
        yield GaugeMetricFamily("arbbot_kill_switch", "1 while the kill switch blocks trading",
                                value=1.0 if trader.gates.kill is not None and trader.gates.kill.tripped else 0.0)
        yield GaugeMetricFamily("arbbot_pnl_locked_in_micros", "Locked-in PnL of completed executions (µ$)",
                                value=trader.stats.locked_in)
        yield GaugeMetricFamily("arbbot_pnl_realised_micros", "Realised PnL of unwound executions (µ$)",
                                value=trader.stats.realised)
        if trader.sizer is not None:
            yield from _sizing(trader.sizer)


def _feeds(stats: dict[str, dict]):
    """Each venue's book feed (`LiveSession.feed_stats`): queue depth, coalescing, stream/poll."""
    families = (
        (GaugeMetricFamily, "arbbot_feed_queue_depth", "Book updates waiting in the venue's queue", "queue_depth"),
        (GaugeMetricFamily, "arbbot_feed_queue_max_depth", "Most book updates ever waiting in the venue's queue",
         "queue_max_depth"),
        (GaugeMetricFamily, "arbbot_feed_queue_capacity", "Bound of the venue's queue (its markets)", "queue_capacity"),
        (CounterMetricFamily, "arbbot_feed_updates", "Book updates published by the venue's feed", "updates"),
        (CounterMetricFamily, "arbbot_feed_coalesced", "Book updates replaced in the queue by a newer one of "
                                                       "their market", "coalesced"),
        (CounterMetricFamily, "arbbot_feed_dropped", "Book updates pushed out of a full queue", "dropped"),
        (CounterMetricFamily, "arbbot_feed_fallbacks", "Stream to poll fallbacks", "fallbacks"),
        (CounterMetricFamily, "arbbot_feed_polled", "Books published from polls while the stream was down", "polled"),
        (CounterMetricFamily, "arbbot_feed_resnapshots", "Stale or quiet books fetched again", "resnapshots"),
        (CounterMetricFamily, "arbbot_feed_fetch_errors", "Failed book fetches (polls, re-snapshots)", "fetch_errors"),
    )
    for kind, name, doc, key in families:
        family = kind(name, doc, labels=["venue"])
        for venue, st in sorted(stats.items()):
            family.add_metric([venue], st[key])
        yield family
    polling = GaugeMetricFamily("arbbot_feed_polling", "Books of the venue polled now (their stream is down)",
                                labels=["venue"])
    for venue, st in sorted(stats.items()):
        polling.add_metric([venue], st["polling"])
    yield polling


def _sizing(sizer):
    """The sizing pipeline (SIZING.md): opportunities sized, rejected / lowered per step, time."""
    st = sizer.stats
    yield CounterMetricFamily("arbbot_sizing_sized", "Opportunities sized by the pipeline", value=st.sized)
    by_step = CounterMetricFamily("arbbot_sizing_steps", "Opportunities a sizing step rejected or lowered",
                                  labels=["step", "outcome"])
    for outcome, counts in (("rejected", st.rejected), ("lowered", st.lowered)):
        for step, n in sorted(counts.items()):
            by_step.add_metric([step, outcome], n)
    yield by_step
    took = GaugeMetricFamily("arbbot_sizing_quantile_seconds", "Time to size one opportunity (last 2,000)",
                             labels=["quantile"])
    if st.elapsed_ns:
        for q in (0.5, 0.99):
            took.add_metric([str(q)], quantile(st.elapsed_ns, q) / 1e9)
    yield took
    if sizer.portfolio is not None:
        p = sizer.portfolio
        yield GaugeMetricFamily("arbbot_equity_micros", "Equity E the sizing reads (µ$)", value=p.equity)
        yield GaugeMetricFamily("arbbot_equity_peak_micros", "Equity peak (µ$, drawdown step)", value=p.peak)


def host_guard(app, allowed: frozenset[str] | None):
    """`app` (WSGI) answering 403 to a request whose Host header is not in `allowed`."""
    if allowed is None:
        return app

    def guarded(environ, start_response):
        given = environ.get("HTTP_HOST")
        if given is not None and given.strip().lower() not in allowed:
            start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"forbidden: unexpected Host header (the metrics answer their loopback address only)\n"]
        return app(environ, start_response)
    return guarded


# The server runs in the bot's process (a thread per connection): a client must not be able to
# hold its threads and file descriptors. A connection idle this long (s) is closed (`_Quiet`'s
# socket timeout); beyond this many at once, a new one is closed unanswered (a scraper needs one).
CONNECTION_TIMEOUT_S = 10.0
CONNECTIONS_MAX = 8


class _Quiet(WSGIRequestHandler):
    timeout = CONNECTION_TIMEOUT_S

    def log_message(self, format, *args):        # noqa: A002 - no access log
        pass


class _BoundedServer(ThreadingWSGIServer):
    """At most CONNECTIONS_MAX connections served at once; more are closed at accept."""

    def __init__(self, *args, **kwargs) -> None:
        self._slots = threading.BoundedSemaphore(CONNECTIONS_MAX)
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address) -> None:
        """A client dropped for idling (the socket timeout) or gone is no error worth a traceback
        on the operator's terminal; anything else is reported as socketserver does."""
        if not isinstance(sys.exc_info()[1], (TimeoutError, ConnectionError)):
            super().handle_error(request, client_address)


def serve_metrics(session: LiveSession, host: str = "127.0.0.1", port: int = 0, *, fallback: bool = False):
    """Start the exposition server (a daemon thread) on host:port behind `host_guard`; returns
    (server, thread). Port 0 picks a free port. A port that cannot be had is a ValueError saying
    what to do (`arbbot run: …`, exit 2) — unless `fallback` (the built-in default, which nobody
    chose: two bots side by side): then any free port, with a `metrics.port_taken` warning."""
    registry = CollectorRegistry()
    registry.register(SessionCollector(session))
    family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]

    class Server(_BoundedServer):
        address_family = family

    app = make_wsgi_app(registry)
    try:
        server = make_server(sockaddr[0], port, app, Server, handler_class=_Quiet)
    except OSError as exc:
        if not fallback or port == 0 or exc.errno != errno.EADDRINUSE:
            why = os.strerror(exc.errno) if exc.errno else str(exc)
            raise ValueError(f"metrics port {port} on {host}: {why}; choose another (--metrics-port, metrics_port, "
                             f"ARB_METRICS_PORT; 0 = any free port)") from None
        server = make_server(sockaddr[0], 0, app, Server, handler_class=_Quiet)
        log.warning("metrics.port_taken", port=port, using=server.server_port)
    server.set_app(host_guard(app, allowed_hosts(host, server.server_port)))     # the bound port, once known
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    return server, thread

