"""Kalshi public market channels: `ticker` (top of book + last trade) and `trade` (prints).

Frames are parsed exactly (`*_dollars` → ticks, `*_fp` → lots, legacy integer fields tolerated)
into `TickerQuote` / `Trade` and queued in `updates` (bounded: a market's newer quote replaces its
queued one, trades are never coalesced; past `CAPACITY` items the oldest is dropped and counted in
`updates.dropped`); latest quote per market in `quotes`.
`trade` frames carry a per-sid `seq`: a repeated or older seq is a duplicate and dropped, a jump
is counted in `trade_gaps` (prints cannot be re-requested). Malformed frames are counted and
dropped; they never stop the stream.
"""
from __future__ import annotations

import logging

from arbbot.venues.common.coalesce import CoalescingQueue
from arbbot.venues.common.errors import ProtocolError
from arbbot.venues.common.model import Trade
from arbbot.venues.kalshi.schemas.ws import ChannelMsg, Subscribed, TickerQuote, WsError, parse_message
from arbbot.venues.kalshi.websocket.channels import KalshiChannelClient

log = logging.getLogger("arbbot.venues.kalshi.market")

CAPACITY = 50_000              # queued quotes + trades a stalled consumer may leave unread


class KalshiMarketClient(KalshiChannelClient):
    CHANNELS = ("ticker", "trade")

    def __init__(self, ws_url: str, signer, tickers: list[str] | None = None, *,
                 channels: tuple[str, ...] = CHANNELS, initial_snapshot: bool = True, backoff=None) -> None:
        self.initial_snapshot = initial_snapshot
        self.updates: CoalescingQueue[TickerQuote | Trade] = CoalescingQueue(CAPACITY)
        self.quotes: dict[str, TickerQuote] = {}
        self.errors: list[WsError] = []
        self.duplicates = 0
        self.trade_gaps = 0
        self._trade_seq: dict[int, int] = {}
        super().__init__(ws_url, signer, tickers, channels, backoff)

    def on_resubscribe(self) -> None:
        self._trade_seq.clear()

    def subscribe_params(self) -> dict:
        params = super().subscribe_params()
        if self.tickers and self.initial_snapshot and "ticker" in self.channels:
            params["send_initial_snapshot"] = True
        return params

    async def on_frame(self, text: str, recv_ts: int = 0) -> None:
        try:
            msg = parse_message(text)
        except ProtocolError as exc:
            self.malformed += 1
            log.warning("kalshi market ws: dropped frame (%s)", exc)
            return
        if isinstance(msg, Subscribed):
            self.subscribed[msg.channel] = msg.sid
        elif isinstance(msg, WsError):
            self.errors.append(msg)
        elif isinstance(msg, ChannelMsg):
            if msg.type == "ticker":
                q: TickerQuote = msg.value
                self.quotes[q.market_id] = q
                self.updates.put_nowait(q, q.market_id)     # supersedes the market's queued quote
            elif msg.type == "trade":
                if msg.sid is not None and msg.seq is not None:
                    last = self._trade_seq.get(msg.sid)
                    if last is not None and msg.seq <= last:
                        self.duplicates += 1
                        return
                    if last is not None and msg.seq != last + 1:
                        self.trade_gaps += 1
                        log.warning("kalshi trade: seq gap on sid %s (%s → %s)", msg.sid, last, msg.seq)
                    self._trade_seq[msg.sid] = msg.seq
                self.updates.put_nowait(msg.value, None)    # a print is never coalesced
