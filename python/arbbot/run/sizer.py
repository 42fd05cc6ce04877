"""The sizing pipeline in a running session (SIZING.md): every opportunity the trader accepts is
sized by the twelve steps against the portfolio the order store and the venues describe.

`SessionSizer.size(opp)` returns the opportunity at its sized quantity (legs, costs, fees and
profit re-priced by the final re-price) with its step record, or the step that dropped it. The
per-opportunity chain runs in the implementation `ARB_ENGINE_EVAL` / `ARB_ENGINE` selects; with
the Swift chain and the Swift engine, the chain, steps 9–12 and the final re-price run in one
native call on the engine's own books (`sizing.on_engine`), else each leg's streamed book is
decomposed here and the portfolio steps run in Python (`pipeline.size_trade`) — the same answers.

The portfolio is read from the store (exposures, today's loss, in-flight budgets, per-lane daily
PnL, drawdown peak, step 5's samples) once per refresh — at start, after each execution and
every few seconds — not per opportunity; in `arbbot run` on a worker thread
(`refresh_off_loop`), after which the recently sized opportunities, then (in a session of up to
CANDIDATES_PLANNED_MAX leg sets) every leg set the lanes can report, are planned ahead
(`plan_ahead`), so that an opportunity found is sized without building its plan; a larger session
plans the NEAREST_PLANNED leg sets nearest an arbitrage on the books of the moment (the engine's
`nearest`) and makes every leg set's LegSet once (what a plan reads of the markets), so that a
plan built in a found frame only combines it with the portfolio. Equity E = cash
at the venues (as the trader keeps it) + positions marked at the streamed mid (at their cost when a
book has no mid). Raw samples:
the session's books feed `StreamSamples`; `flush_samples()` writes what is new to the store (with
the executor's order latencies), so a restart resumes with the same history.
"""
from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from itertools import chain

from arbbot import logs
from arbbot.engine.select import implementation
from arbbot.engine.twin.candidates import build_candidates
from arbbot.engine.types import Leg, Opportunity
from arbbot.execution.reconcile import nets_pairs, netted_held_costs
from arbbot.model import Venue
from arbbot.units import TICKS_PER_DOLLAR
from arbbot.run.quotes import StreamedQuotes
from arbbot.run.samples import MAX_SAMPLES, StreamSamples
from arbbot.sizing import state
from arbbot.sizing.config import SizingConfig
from arbbot.sizing.clock import days_to_latest
from arbbot.sizing.pipeline import TradeSizing, size_trade
from arbbot.sizing.pricing import bound_micros
from arbbot.sizing.record import trade_record
from arbbot.sizing import native, on_engine, steps
from arbbot.sizing.trade import LegMarket, RelationIndex, trade_from_opportunity
from arbbot.sizing.types import ORDER, Outcome

SAMPLE_KEEP_S_MIN = 3_600       # samples older than max(window_s, this) are pruned from the store
PLANNED_AHEAD = 256             # the most recently sized opportunities planned after each refresh
PLAN_AHEAD_CHUNK = 4            # plans made per turn of the loop (≈ 30–150 µs each)
# a session whose lanes can report at most this many leg sets (intra per market, each relation's
# leg sets) plans every one of them after a refresh, after the recent ones: an opportunity found
# for the first time is then sized without building its plan in its frame (≈ 200 µs cold)
CANDIDATES_PLANNED_MAX = 1_024
# a larger session plans, after the recent ones, the leg sets nearest an arbitrage at the
# refresh (the engine's `nearest`: the largest edge at the best levels first, live ones first):
# an opportunity most often appears from a book a small move away from one
NEAREST_PLANNED = 512
# a larger session makes only its leg sets' LegSets ahead (≈ 30 µs each, once per universe), this
# many per turn of the loop
LEG_SETS_CHUNK = 32
LEG_SETS_MAX = 200_000          # LegSets kept (per opportunity id); all forgotten past it
ORDER_LABELS = tuple(step.label for step in ORDER)
log = logs.get("sizing")


@dataclass
class SizingStats:
    """Counts for the live view and metrics: per step, opportunities it rejected / lowered."""
    sized: int = 0
    traded: int = 0                                   # sized to a quantity > 0
    rejected: Counter = field(default_factory=Counter)    # step label (or "re-price") → count
    lowered: Counter = field(default_factory=Counter)     # step label → count
    elapsed_ns: list = field(default_factory=list)        # per sizing, ns (newest 2,000)
    quantities: Counter = field(default_factory=Counter)  # final qty (lots) → count


@dataclass(frozen=True)
class Sized:
    opportunity: Opportunity | None     # at the sized quantity; None = do not trade
    sizing: TradeSizing | None          # None when the opportunity could not be sized (see `error`)
    loss_budget: int                    # µ$ reserved while in flight (step 10's budget)
    error: str = ""

    def record(self) -> dict | None:
        """The `arbbot.sizing/1` per-opportunity object (formatted on demand: it takes longer
        than the sizing itself, so the executor asks for it once the first order is out; the step
        records it formats are built then too, `TradeSizing.steps`)."""
        return None if self.sizing is None else trade_record(self.sizing)


class SessionSizer:
    def __init__(self, session, store, settings, *, clock=time.time, relations: RelationIndex | None = None) -> None:
        self.session = session
        self.store = store
        self.settings = settings
        self.cfg: SizingConfig = settings.sizing
        self._configured: SizingConfig = settings.sizing   # as configured, before lanes taken out (drift)
        self._excluded: frozenset = frozenset()            # lane labels the drift monitor took out
        self.clock = clock
        self.samples = StreamSamples()
        self.stats = SizingStats()
        self.errors: dict[str, int] = {}              # why an opportunity could not be sized → count
        self._portfolio = None
        self._estimates: dict = {}                   # the refresh's memo: shared values, plans (on_engine)
        self._as_of_s: float | None = None           # when the portfolio in place was read (unix s)
        self._generation = 0                         # +1 with each portfolio installed or settings change
        self._params = self.cfg.params()
        self._confidence: dict[str, float] = {}       # opportunity id → c (the relations are fixed)
        self._relations = relations or RelationIndex(session.universe)
        # resume: the window's samples, as many per key as the rings keep
        stored = state.history(store, int(clock() * 1000), self.cfg, newest=MAX_SAMPLES)
        self.samples.load(stored.latency, stored.depletion, stored.mids)
        self._infos = {str(m.id): m for m in session.markets}
        self._meta = {name: (m.event_id or None, m.category or None) for name, m in self._infos.items()}
        # each execution's legs are written with their markets' event and category (the same map,
        # markets added mid-session included): a held market the session stops listing keeps them
        store.market_meta = self._meta
        # venue name → the store's `event_seq()` when the trader last read that venue's cash (the
        # trader's own map): a market resolved and paid since is valued at its payout, which that
        # cash does not hold yet (`OrderStore.net_positions`); a venue missing: its cash has it
        self.cash_read: dict[str, int] = {}
        # executions with lots their venues filled but have not listed yet: what the kept cash paid
        # for them is in the positions too (`OrderStore.unlisted_positions`), until they are listed
        self.unlisted: set[str] = set(store.executions_with_unlisted_fills())
        # venues that hold a YES and a NO token of one market apart (Polymarket): a pair is worth $1
        self._pair_venues = tuple(v.label for v in Venue if not nets_pairs(v.label))
        # implementations chosen once (ARB_ENGINE_DECOMPOSE / ARB_ENGINE_EVAL / ARB_ENGINE at start),
        # not re-read from the environment per opportunity
        self._quotes = StreamedQuotes(session)
        self._marks: dict[str, int] = {}             # market name → its last streamed mid (ticks), `_mid`
        # the Swift chain decodes its step records only when they are read (`Sized.record()`)
        self._chain = native.size_lazy if implementation("eval") == "swift" else steps.size_opportunity
        self._legs: dict[str, tuple] = {}            # market name → (its packed book, LegMarket of it)
        self._last: Opportunity | None = None        # the last opportunity sized (`warm` sizes it again)
        self._recent: OrderedDict[str, Opportunity] = OrderedDict()   # sized on the engine, newest last
        self._candidates: tuple[tuple, list[Opportunity]] = ((), [])   # (universe key, `candidates()`)
        self._leg_sets: dict[str, on_engine.LegSet] = {}   # opportunity id → its LegSet (never changes)
        self._leg_parts: dict = {}                   # the LegSets' equal parts, one object each (`leg_set`)
        self._leg_sets_made: tuple = ()              # the universe (key) whose every LegSet is made
        self._listed_candidates: tuple[tuple, list] = ((), [])   # (universe key, its Candidates): large sessions
        # with the Swift chain and a Swift engine, an opportunity is sized in one native call on
        # the engine's own books (`_size_on_engine`); False: every leg's book decomposed in Python,
        # the portfolio steps in Python (the same answers; the feed benchmark's --legs-in-python)
        self.on_engine_books = True

    def reconfigure(self, cfg: SizingConfig) -> None:
        """Size with `cfg` from now on (an operator's live change), lanes taken out still out."""
        self._configured = cfg
        self._apply()

    def exclude_lanes(self, labels) -> None:
        """Size as if `[sizing.lane_allocator] lanes` lacked `labels` (lanes the drift monitor took
        out): step 9 rejects them and their budget share goes to the lanes still trading."""
        self._excluded = frozenset(labels)
        self._apply()

    def _apply(self) -> None:
        la = self._configured.lane_allocator
        lanes = [lane for lane in la.lanes if lane not in self._excluded]
        cfg = self._configured.model_copy(update={"lane_allocator": la.model_copy(update={"lanes": lanes})})
        self._params, self.cfg = cfg.params(), cfg
        self._estimates = {}              # memoised under the old settings (robust params, lane weights)
        self._generation += 1             # a refresh off the loop that read the old settings reads again

    def markets_added(self, infos) -> None:
        """Markets the session listed mid-session (MarketInfo): sized like the others from now on
        (their venue, event, category and close time; their events and categories reach the
        exposure steps from the next refresh)."""
        for m in infos:
            name = str(m.id)
            self._infos[name] = m
            self._meta[name] = (m.event_id or None, m.category or None)

    def markets_repriced(self, infos) -> None:
        """Markets the session re-priced (MarketInfo with their new fee schedules): sized with
        them from now on (the legs decomposed before are made again)."""
        for m in infos:
            name = str(m.id)
            self._infos[name] = m
            self._legs.pop(name, None)

    def relations_changed(self, universe) -> None:
        """The session's relations grew (generated twins): index them, forget cached confidences."""
        self._relations.reset(universe)
        self._confidence.clear()
        self._estimates = {}              # the plans (`_size_on_engine`) hold confidences too

    # ---- state --------------------------------------------------------------------------------
    def refresh(self, cash: dict[str, int]) -> None:
        """Re-read the portfolio (cash: venue name → µ$, as the trader keeps it), on this thread."""
        asked = self._positions_asked()
        self._install(*self._read(cash, self._positions_value(*self._positions_read(asked, self._positions(*asked))),
                                  self._prime_inputs()), self._generation)

    async def refresh_off_loop(self, cash: dict[str, int], latencies=()) -> int:
        """`flush_samples(latencies)` then `refresh(cash)` with the store's reads and writes and
        the plans' shared values computed on a worker thread, so that the book stream goes on
        while they run (in a 60-second `arbbot run` a refresh on the loop took 2.3 ms p50, 40 ms
        at worst). The caller keeps the trader from sizing until this returns: the portfolio in
        place until then is the previous one. What only the loop may touch (the sample rings'
        queue, the streamed mids, the confidences seen) is read on it. Returns the rows written."""
        cash = dict(cash)                    # as it is now: the loop may change the trader's meanwhile
        while True:
            generation = self._generation
            rows, keep_before_ms = self._take_samples(latencies)
            latencies = ()
            asked = self._positions_asked()

            def write_and_read_positions() -> tuple:
                self._write_samples(rows, keep_before_ms)
                return self._positions(*asked)
            value = self._positions_value(*self._positions_read(asked, await asyncio.to_thread(write_and_read_positions)))
            reading = await asyncio.to_thread(self._read, cash, value, self._prime_inputs())
            if generation == self._generation:
                self._install(*reading, generation)
                return len(rows)
            # settings changed meanwhile (`reconfigure`, `exclude_lanes`): read again under the new ones

    def _prime_inputs(self) -> tuple:
        """What a refresh reads of the session's settings and sizing state (on the loop)."""
        return self.cfg, frozenset(self._confidence.values())

    def _read(self, cash: dict[str, int], positions_value: int, prime_inputs: tuple) -> tuple:
        """(portfolio, memo, as of): the portfolio at the clock's now (`as of`, unix s), with equity =
        cash + `positions_value` (µ$), the drawdown state advanced and persisted, and the memo every
        plan shares primed.
        Safe on a worker thread: it reads the store (under its lock: one consistent reading) and
        values computed from it, and of the session only the latency rings, which change only in
        `_take_samples`."""
        cfg, confidences = prime_inputs
        now_ms = int(self.clock() * 1000)
        cash_v = {Venue.parse(v): c for v, c in cash.items()}
        equity = sum(cash_v.values()) + positions_value
        with self.store.lock:
            state.observe_equity(self.store, equity, now_ms, cfg, self.settings.day_start_utc)
            portfolio = state.portfolio(self.store, cash=cash_v, equity=equity, now_ms=now_ms, cfg=cfg,
                                        day_start_utc=self.settings.day_start_utc, meta=self._meta,
                                        samples=self.samples)
        memo: dict = {}                      # step 5's estimates of this portfolio's history, the plans
        # what every opportunity's plan reads of this portfolio, computed here, off the decision path
        on_engine.prime(memo, portfolio, cfg, now_s=now_ms / 1000, confidences=confidences,
                        daily_loss_cap_usd=self.settings.daily_loss_cap_usd)
        return portfolio, memo, now_ms / 1000

    def _install(self, portfolio, memo: dict, as_of_s: float, generation: int) -> None:
        self._portfolio, self._estimates, self._generation = portfolio, memo, generation + 1
        self._as_of_s = as_of_s

    def _estimated_at(self, now: float) -> float:
        """The time (s) step 5's estimates are taken at: the refresh's, not the sizing's. The
        samples keep arriving in the session's rings, and an estimate made at its first use
        (memoised for the refresh) would depend on when that was, a plan made ahead or the first
        sizing in a frame: the two sizing paths (the engine's books, the Python chain) would
        disagree, and a replay with them. Before the first refresh: `now`."""
        return now if self._as_of_s is None else self._as_of_s

    def _confidence_of(self, opp: Opportunity) -> float:
        """c of `opp` (its relation's mapping confidence; cached: the relations are fixed)."""
        confidence = self._confidence.get(opp.id)
        if confidence is None:
            confidence = self._confidence[opp.id] = self._relations.confidence(opp)
        return confidence

    def _positions_asked(self) -> tuple[dict, frozenset]:
        """What a positions reading needs of the loop's state (`cash_read`, `unlisted`), copied."""
        return dict(self.cash_read), frozenset(self.unlisted)

    def _positions(self, cash_read: dict | None = None, unlisted=frozenset()) -> tuple:
        """The store's net positions (a market resolved and paid after its venue's cash was read
        kept: `cash_read`; on a venue that nets YES+NO pairs into cash, a market that netted some
        at the FIFO cost of the lots it holds, `held_cost_basis`, not at a cost that still counts
        the pairs the cash has), with the lots the `unlisted` executions' venues filled but have not
        listed yet added, its resolutions, the YES+NO pairs held on venues that do not net them,
        and which of `unlisted` still have such lots: one reading (any thread)."""
        with self.store.lock:
            positions = self.store.net_positions(cash_read) if cash_read else self.store.net_positions()
            resolved = self.store.resolutions()
            extra, short = self.store.unlisted_positions(unlisted) if unlisted else ({}, set())
            pairs = self.store.pair_lots(self._pair_venues)
            # where the venue paid netted pairs back as cash, the lots held cost what is left of them
            netted = netted_held_costs(self.store.netted_markets(), self.store.market_fills)
        for name, cost in netted.items():
            if name in positions:
                positions[name] = (positions[name][0], cost)
        for name, (lots, cost) in extra.items():
            if name in resolved and resolved[name].paid and name not in positions:
                continue                       # paid out, and the cash read since has it
            have = positions.get(name, (0, 0))
            positions[name] = (have[0] + lots, have[1] + cost)
        return positions, resolved, pairs, short

    def _positions_read(self, asked: tuple, reading: tuple) -> tuple:
        """`reading` (`_positions`) as `_positions_value` takes it; the executions asked about
        whose lots are all listed now are forgotten (on the loop)."""
        positions, resolved, pairs, short = reading
        self.unlisted.difference_update(asked[1] - short)
        return positions, resolved, pairs

    def _positions_value(self, positions: dict[str, tuple[int, int]], resolved: dict, pairs: dict | None = None) -> int:
        """µ$: every net position held (`positions`: the store's market → (lots, cost µ$)): a
        resolved market's at what it pays (`resolved`: the store's resolutions; a void one at its
        cost), else at the streamed mid, else at its cost. On a venue that holds a YES and a NO
        token apart (Polymarket), the pairs a market holds (`pairs`: market → min(YES, NO) lots)
        are worth $1 a contract whatever the book (what they pay, or merge into), the net lots
        beyond them valued as above; a market holding only pairs is worth them (a void one, its
        cost)."""
        pairs = pairs or {}
        value = 0
        for name, (lots, cost) in positions.items():
            both = pairs.get(name, 0) * TICKS_PER_DOLLAR        # lots × ticks = µ$
            if name in resolved:
                paid = resolved[name].lot_value(lots)
                if paid is None:
                    value += cost if lots or both else 0         # void: returned at cost, pairs too
                else:
                    value += paid + both
                continue
            if not lots:
                value += both
                continue
            mid = self._mid(name)
            if mid is None:
                value += cost               # Polymarket: the pairs' cost is in it; netting venues: the lots held
            else:
                value += (lots * mid if lots > 0 else -lots * (TICKS_PER_DOLLAR - mid)) + both
        return value

    def _mid(self, name: str) -> int | None:
        """Market `name`'s streamed mid (ticks), else the last one it had: a book held out a while
        (quiet, awaiting its snapshot after a reconnect) keeps its mark. Marked at cost meanwhile,
        a position's value jumped to cost and back, and the equity peak kept the higher reading:
        a drawdown made of marking alone, never recovered."""
        decomposed = self._quotes(name)
        mid = None if decomposed is None else decomposed.quote.mid
        if mid is None:
            return self._marks.get(name)
        self._marks[name] = mid
        return mid

    @property
    def portfolio(self):
        return self._portfolio

    # ---- samples ------------------------------------------------------------------------------
    def flush_samples(self, latencies: list[tuple[str, float, float]] = ()) -> int:
        """Take `latencies` ((venue, seconds, unix s) of the orders answered since the last call),
        then write every sample taken since the last flush to the store (one transaction) and
        prune those older than max(window_s, 1 h). Returns the rows written."""
        rows, keep_before_ms = self._take_samples(latencies)
        self._write_samples(rows, keep_before_ms)
        return len(rows)

    def _take_samples(self, latencies) -> tuple[list, int]:
        """The latencies into their rings, and (the samples taken since the last call, the ms
        before which the store's samples are pruned)."""
        for venue, seconds, ts in latencies:
            self.samples.on_latency(Venue.parse(venue), seconds, ts)
        keep_s = max(self.cfg.robust_inputs.window_s, SAMPLE_KEEP_S_MIN)
        return self.samples.drain(), int((self.clock() - keep_s) * 1000)

    def _write_samples(self, rows: list, keep_before_ms: int) -> None:
        """`rows` into the store and older samples pruned, one transaction (any thread)."""
        if rows:
            self.store.add_estimate_samples(rows, prune_before_ms=keep_before_ms)

    # ---- sizing -------------------------------------------------------------------------------
    def size(self, opp: Opportunity) -> Sized:
        started = time.perf_counter_ns()
        self._last = opp
        try:
            sized = self._size(opp)
        except (ValueError, KeyError) as exc:          # EngineInputError is a ValueError
            self.stats.rejected["input"] += 1
            self.errors[str(exc)] = self.errors.get(str(exc), 0) + 1
            return Sized(None, None, 0, f"sizing input: {exc}")
        finally:
            self.stats.elapsed_ns.append(time.perf_counter_ns() - started)
            del self.stats.elapsed_ns[:-2_000]
        return sized

    def _leg_market(self, name: str) -> LegMarket:
        """Market `name` as sizing reads it, its streamed book decomposed. The book is decomposed
        once per update: the session replaces a market's packed book with each update, so the
        one decomposed last is reused while it is still the session's (and the market not held)."""
        session = self.session
        packed = session.books.get(name)
        cached = self._legs.get(name)
        if cached is not None and cached[0] is packed and name not in session.held:
            return cached[1]
        decomposed = self._quotes(name)
        if decomposed is None:
            raise KeyError(f"{name}: no healthy book")
        market = LegMarket.from_info(self._infos[name], None, decomposed)
        self._legs[name] = (packed, market)
        return market

    def warm(self) -> bool:
        """Size the last opportunity again, counting and keeping nothing: between the rare frames
        that find one, detection evicts the sizing path's code and data from the CPU caches, and
        a cold sizing costs several times a warm one. Called when the loop is idle. False when
        there is nothing to size (none yet, or its books are gone)."""
        opp = self._last
        if opp is None:
            return False
        try:
            self._size(opp, count=False)
        except (ValueError, KeyError):
            self._last = None
            return False
        return True

    def _size(self, opp: Opportunity, count: bool = True) -> Sized:
        now = self.clock()
        confidence = self._confidence_of(opp)
        min_profit = int(round(self.settings.min_profit * 1_000_000))
        engine = self._engine_for(opp)
        if engine is not None:
            sizing = self._size_on_engine(engine, opp, confidence, min_profit, now)
        else:
            markets = {leg.market: self._leg_market(leg.market) for leg in opp.legs}
            # T from the decision's whole second (what its stamp would say), no stamp formatted and parsed
            trade = trade_from_opportunity(opp, markets, confidence=confidence, decided_at=None, decided_s=int(now),
                                           unknown_days=self.cfg.unknown_days, min_profit=min_profit)
            sizing = size_trade(trade, self._portfolio, self.cfg, now_s=self._estimated_at(now),
                                daily_loss_cap_usd=self.settings.daily_loss_cap_usd, chain=self._chain,
                                params=self._params, memo=self._estimates)
        if not count:
            return Sized(None, sizing, 0)
        self.stats.sized += 1
        for label, outcome in zip(ORDER_LABELS, sizing.outcomes):
            if outcome is Outcome.LOWERED:
                self.stats.lowered[label] += 1
            elif outcome is Outcome.REJECTED:
                self.stats.rejected[label] += 1
        budget = bound_micros(sizing.loss_budget) if sizing.loss_budget > 0 else 0
        if sizing.qty == 0:
            if sizing.bound_by == "re-price":
                self.stats.rejected["re-price"] += 1
            return Sized(None, sizing, budget)
        self.stats.traded += 1
        self.stats.quantities[sizing.qty] += 1
        return Sized(at_quantity(opp, sizing), sizing, budget)

    def _engine_for(self, opp: Opportunity):
        """The Swift engine that sizes `opp` on its own books with a plan (`_size_on_engine`), or
        None: the Python path (no engine: tests, explain; the Python chain; too many legs)."""
        return self._books_engine() if len(opp.legs) <= on_engine.LEGS_MAX else None

    def _books_engine(self):
        """The session's Swift engine when opportunities are sized on its books, else None."""
        engine = getattr(self.session, "engine", None)
        if self.on_engine_books and engine is not None and engine.sizes_on_books and self._chain is native.size_lazy:
            return engine
        return None

    def remember(self, opp: Opportunity) -> None:
        """Note `opp` (found while the trader could not take it: an execution or a refresh under
        way) among the recently sized, so that the next `plan_ahead` plans it: it is likely the
        next trade once the trader is free."""
        if self._engine_for(opp) is not None:
            self._recent_add(opp)

    def _recent_add(self, opp: Opportunity) -> None:
        recent = self._recent
        recent[opp.id] = opp
        recent.move_to_end(opp.id)
        if len(recent) > PLANNED_AHEAD:
            recent.popitem(last=False)

    def _size_on_engine(self, engine, opp: Opportunity, confidence: float, min_profit: int, now: float
                        ) -> TradeSizing:
        """`size_trade`'s answer from one native call on the engine's own books (the books the
        session gave it, decomposed once by the engine): the chain, steps 9–12 and the final
        re-price (`sizing.on_engine`); what only the portfolio changes is planned once per
        opportunity per refresh. The same TradeSizing as the other path (tests/run/test_sizer_engine.py)."""
        session = self.session
        books, held = session.books, session.held
        for leg in opp.legs:                     # as `_leg_market`: a held book is not sized
            if leg.market not in books or leg.market in held:
                raise KeyError(f"{leg.market}: no healthy book")
        self._recent_add(opp)
        plan = self._estimates.get(("plan", opp.id))
        if plan is None:
            plan = self._plan(opp, confidence, now)
        days = days_to_latest(plan.legs.latest_close, plan.legs.closes, int(now), self.cfg.unknown_days)
        return on_engine.size(engine, opp, plan, confidence=confidence, days=days, min_profit=min_profit,
                              params=self._params, robust_enabled=self.cfg.robust_inputs.enabled)

    def _plan(self, opp: Opportunity, confidence: float, now: float) -> on_engine.Plan:
        """`opp`'s plan against the portfolio in place, kept in the refresh's memo."""
        memo = self._estimates
        plan = memo[("plan", opp.id)] = on_engine.plan(
            opp, self._leg_set(opp), confidence, self._portfolio, self.cfg, now_s=self._estimated_at(now),
            daily_loss_cap_usd=self.settings.daily_loss_cap_usd, memo=memo)
        return plan

    def _leg_set(self, opp: Opportunity) -> on_engine.LegSet:
        """`opp`'s LegSet, made once per leg set (an opportunity id names its lane and legs) and kept
        across refreshes. KeyError for a market the session does not know."""
        legs = self._leg_sets.get(opp.id)
        if legs is None:
            if len(self._leg_sets) >= LEG_SETS_MAX:
                self._leg_sets.clear()
                self._leg_parts.clear()
            legs = self._keep_leg_set(opp.id, [(leg.market, leg.side) for leg in opp.legs])
        return legs

    def _keep_leg_set(self, opp_id: str, legs: list) -> on_engine.LegSet:
        """The LegSet of `legs` ((market name, Side) pairs), kept under `opp_id`."""
        made = self._leg_sets[opp_id] = on_engine.leg_set(legs, self.session.index, self._infos, self._leg_parts)
        return made

    async def plan_ahead(self) -> int:
        """Plan the recently sized or `remember`ed opportunities (newest first, at most
        PLANNED_AHEAD), then every leg set the lanes can report (`candidates`), against the
        portfolio just installed, a few per turn of the loop between frames: an opportunity found
        after a refresh (after every execution) is then sized without its plan, the cold ≈
        100–200 µs of a found frame's sizing. In a session of more leg sets than
        CANDIDATES_PLANNED_MAX, the NEAREST_PLANNED nearest an arbitrage are planned instead
        (`_nearest`), and every LegSet is made (once: they never change), so that a plan made in a
        found frame reads them instead of the markets. Stops when another
        portfolio or other settings take its place; a plan that cannot be made (a market gone) is
        left to the sizing, which reports it. Returns the plans made."""
        generation = self._generation
        made = await self._plan_each(chain(reversed(list(self._recent.values())), self.candidates()), generation)
        if self._generation == generation and self._portfolio is not None:
            made += await self._plan_each(await self._nearest(), generation)
            await self._make_leg_sets()
        return made

    async def _plan_each(self, opportunities, generation: int) -> int:
        """Plan each of `opportunities` not planned yet against the portfolio of `generation`,
        PLAN_AHEAD_CHUNK per turn of the loop; stops when another takes its place. The plans made."""
        made = 0
        for opp in opportunities:
            if self._generation != generation or self._portfolio is None:
                break
            if ("plan", opp.id) in self._estimates or self._engine_for(opp) is None:
                continue
            try:
                self._plan(opp, self._confidence_of(opp), self.clock())
            except (ValueError, KeyError):
                continue
            made += 1
            if made % PLAN_AHEAD_CHUNK == 0:
                await asyncio.sleep(0)
        return made

    async def _nearest(self) -> list[Opportunity]:
        """In a session of more leg sets than CANDIDATES_PLANNED_MAX, the NEAREST_PLANNED leg
        sets nearest an arbitrage now (`Engine.nearest`, on the session's books), as opportunities
        of no size; [] in a smaller session (every leg set is planned) or without a Swift engine."""
        universe = self._large_universe()
        if universe is None:
            return []
        listed = await self._listed(universe)
        if self._universe_key(getattr(self.session, "universe", None)) != self._universe_key(universe):
            return []                            # the universe grew meanwhile: the next refresh
        names = [m.name for m in universe.markets]
        return [_unsized(listed[c], names) for c in self.session.engine.nearest(NEAREST_PLANNED) if c < len(listed)]

    def _large_universe(self):
        """The session's universe when it has more leg sets than CANDIDATES_PLANNED_MAX (so not
        every one is planned ahead) and opportunities are sized on its Swift engine, else None."""
        universe = getattr(self.session, "universe", None)
        if universe is None or self._books_engine() is None or self._reportable(universe) <= CANDIDATES_PLANNED_MAX:
            return None
        return universe

    async def _listed(self, universe) -> list:
        """The engine's candidates of `universe` (`build_candidates`: the engine's indices),
        listed on a worker thread once per universe (U20k: ≈ 0.5 s of SHA-256 ids)."""
        key = self._universe_key(universe)
        if self._listed_candidates[0] != key:
            self._listed_candidates = (key, await asyncio.to_thread(build_candidates, universe))
        return self._listed_candidates[1]

    async def _make_leg_sets(self) -> None:
        """In a session of more leg sets than CANDIDATES_PLANNED_MAX (whose plans are not all made
        ahead), every leg set's LegSet, once per universe: the engine's candidates listed on a
        worker thread (U20k: ≈ 0.5 s of SHA-256 ids), then LEG_SETS_CHUNK LegSets per turn of the
        loop; then frozen out of the cyclic GC's reach (hundreds of thousands of long-lived small
        objects that each full collection would otherwise walk: tens of ms)."""
        universe = self._large_universe()
        if universe is None or self._universe_key(universe) == self._leg_sets_made:
            return
        key, started = self._universe_key(universe), time.monotonic()
        found = await self._listed(universe)     # once per universe (a refresh may cancel this pass)
        names = [m.name for m in universe.markets]
        for k, c in enumerate(found, 1):
            if self._universe_key(getattr(self.session, "universe", None)) != key:
                return                          # the universe grew: the next refresh starts again
            if len(self._leg_sets) >= LEG_SETS_MAX:
                break                           # kept for the ones found (`_leg_set` forgets them all past it)
            if len(c.legs) <= on_engine.LEGS_MAX and c.id_hex not in self._leg_sets:
                try:
                    self._keep_leg_set(c.id_hex, [(names[m], side) for m, side in c.legs])
                except KeyError:
                    pass
            if k % LEG_SETS_CHUNK == 0:
                await asyncio.sleep(0)
        self._leg_sets_made = key
        gc.freeze()
        log.info("sizing.leg_sets", leg_sets=len(found), kept=len(self._leg_sets),
                 seconds=round(time.monotonic() - started, 2))

    @staticmethod
    def _universe_key(universe) -> tuple:
        return () if universe is None else (id(universe), len(universe.markets), len(universe.relations))

    @staticmethod
    def _reportable(universe) -> int:
        """At most how many leg sets the universe's lanes can report (intra per market, each
        relation's leg sets: two per relation for the two-market ones)."""
        return len(universe.markets) + 2 * len(universe.relations)

    def candidates(self) -> list[Opportunity]:
        """Every leg set the session's lanes can report (the engine's candidates: intra for each
        market, then each relation's leg sets), as an opportunity of no size with the id the
        engine reports it under (planning reads only its id, lane and legs); [] when the session
        can report more than CANDIDATES_PLANNED_MAX. Built again when the universe grows."""
        universe = getattr(self.session, "universe", None)
        if universe is None:
            return []
        key = self._universe_key(universe)
        if self._candidates[0] != key:
            found: list[Opportunity] = []
            if self._reportable(universe) <= CANDIDATES_PLANNED_MAX:
                names = [m.name for m in universe.markets]
                found = [_unsized(c, names) for c in build_candidates(universe)]
            self._candidates = (key, found)
        return self._candidates[1]


def _unsized(c, names: list[str]) -> Opportunity:
    """Candidate `c` as an opportunity of no size with the id the engine reports it under
    (planning reads only its id, lane and legs)."""
    legs = tuple(Leg(names[m], side, 0, 0, 0, 0) for m, side in c.legs)
    return Opportunity(c.id_hex, c.lane, c.kind, 0, 0, 0, 0, 0, legs)


def at_quantity(opp: Opportunity, sizing: TradeSizing) -> Opportunity:
    """`opp` re-priced at the sized quantity (the final re-price's legs, costs and fees)."""
    p = sizing.priced
    legs = tuple(Leg(leg.market, leg.side, p.qty, worst, cost, fee)
                 for leg, worst, cost, fee in zip(opp.legs, p.worst, p.leg_cost, p.leg_fee))
    return Opportunity(opp.id, opp.lane, opp.kind, p.qty, p.payout, p.cost, p.fee, p.profit, legs)
