"""Deterministic, seeded scenarios: the universe of markets per venue and a price process.

A scenario is a set of *questions* (each with a fair YES probability in ticks) grouped in
events; each question is listed on one or more venues. A house market maker quotes bids around
the fair value on every venue; `PriceProcess.step()` moves fair values (one seeded random walk
shared by all venues, renormalised within exclusive events) and requotes, which produces real
book deltas on the wire. Occasionally (`mispricing_rate`) one venue's quotes on a question are
shifted by `plant_ticks` for three steps: a planted, short-lived arbitrage against the question's
other listings, recorded in `PriceProcess.plants`.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from arbbot.sim.engine.matching import FULL, HOUSE, Exchange, FeeModel, MarketState
from arbbot.sim.faults import Faults


@dataclass
class Listing:
    venue: str                  # kalshi | polymarket | forecastex
    market_id: str              # Kalshi ticker / Polymarket condition id / ForecastEx "SYM-DATE-STRIKE"
    title: str
    event_id: str
    series: str = ""
    yes_token: str = ""
    no_token: str = ""
    fee_ppm: int = 0            # taker p(1−p) coefficient (Kalshi: 0.07 × multiplier)
    fee_multiplier: str = "1"
    fee_type: str = "quadratic"
    tick: int = 100
    neg_risk: bool = False
    neg_risk_augmented: bool = False
    neg_risk_market_id: str = ""
    min_order_size: str = "5"
    fee_exponent: int = 1       # Polymarket feeSchedule.exponent (fee = C·rate·(p(1−p))^exponent)
    con_ids: tuple[int, int] = (0, 0)
    strike: str = ""
    expiry: str = ""


@dataclass
class Question:
    key: str
    fair: int                  # YES probability in ticks
    listings: list[Listing] = field(default_factory=list)
    mean_interval_ms: int = 0  # universe: mean time between updates of each of its books (0: stepped)


@dataclass
class EventDef:
    event_id: str
    title: str
    questions: list[Question]
    exclusive: bool = False
    exhaustive: bool = False
    series: str = ""
    closes_in_days: int = 30     # trading closes this many days after the simulator's start day, 19:00 UTC
    ladder: bool = False         # threshold ladder ("above X" rungs): fair values move together, keeping order


DAY_MS = 86_400_000


def close_ms(event: EventDef, start_ms: int) -> int:
    """When `event` stops trading (Unix ms): 19:00 UTC, `closes_in_days` after the UTC day of
    `start_ms`. Relative to the simulator's start, so a simulated venue always lists markets
    that are still open, weeks to months out, as the real ones do."""
    return (start_ms // DAY_MS + event.closes_in_days) * DAY_MS + 19 * 3_600_000


def start_day(start_ms: int) -> date:
    """The UTC calendar day of `start_ms` (Unix ms): day 0 of a scenario's dates."""
    return date(1970, 1, 1) + timedelta(days=start_ms // DAY_MS)


def now_ms() -> int:
    """Unix ms now: the default start of a scenario (`build`). Called through the module, so a test
    session can pin every in-process simulator's calendar to one day."""
    return int(time.time() * 1000)


VARIED_LEVEL_CONTRACTS = (5, 300)   # a served simulator's house level sizes, contracts (log-uniform)
DEPTHS = ("varied", "fixed")         # `arbbot sim --depth`


@dataclass
class Scenario:
    name: str
    events: list[EventDef]
    faults: Faults = Faults()
    spread: int = 200          # half-spread around fair (ticks)
    depth_levels: int = 3
    level_lots: int = 10_000   # 100 contracts per level (with `level_contracts` None), times the depth k + 1
    # varied depth (`arbbot sim --depth varied`, the default of a served simulator): a new house
    # level's size is whole contracts drawn log-uniformly in [lo, hi], kept while the level keeps
    # its price. Real books' levels range from a few contracts to thousands, so a taker's quantity
    # is often set by depth rather than by a per-trade cap. None: every level `level_lots` × (k + 1)
    level_contracts: tuple[int, int] | None = None
    mispricing_rate: float = 0.02    # chance per listing per step of a planted mispricing
    plant_ticks: int = 1200          # how far a plant moves a venue's quotes (> 2·spread + fees)
    # markets the simulator settles on its own clock (`arbbot.sim.settlements.ScheduledSettlement`)
    settlements: tuple = ()

    def listings(self, venue: str) -> list[tuple[EventDef, Question, Listing]]:
        return [(e, q, l) for e in self.events for q in e.questions for l in q.listings if l.venue == venue]


FX_CLOSES_IN_DAYS = 18   # the forecastex group's questions expire (and their Kalshi twins close) then


def forecastex_ids(scenario: Scenario) -> dict[str, str]:
    """ForecastEx market ids of `scenario` by strike ("4.125" → "FF-YYYYMMDD-4.125"): its ids
    carry its start day's expiry (`build`)."""
    return {l.strike: l.market_id for _e, _q, l in scenario.listings("forecastex")}


def _tok(rng: random.Random) -> str:
    return str(rng.randrange(10**75, 10**76))


def _cond(rng: random.Random) -> str:
    return "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(64))


def build(name: str, seed: int, faults: Faults | None = None, *, markets: int | None = None,
          start_ms: int | None = None) -> Scenario:
    """Scenarios: `fed` (rate-decision bucket, cross-venue twins), `election` (neg-risk group and
    an augmented one), `sports` (pairs), `forecastex` (IB twins, a strike ladder), `crypto` (a
    close-rung Kalshi ladder), `politics` (a two-outcome complement; with `election`, the augmented
    group also lists "Other" and a placeholder), `weather` (look-alike twins that settle
    differently: traps), `all` (everything); `universe` (`markets` books over the three venues,
    `arbbot.sim.universe.catalog`; moved by `UniverseDriver`, not by `PriceProcess.step`).

    `start_ms` (Unix ms; default now): the simulator's start. Dates that name markets (a ForecastEx
    question's expiry, in its id "FF-YYYYMMDD-STRIKE"; the universe's calendar) count from its UTC
    day, as the listed close times do (`close_ms`), so a scenario never lists questions that have
    already expired. Ids are therefore a function of the seed and the start day: tests read them
    from the scenario (`forecastex_ids`), not from a calendar."""
    start_ms = now_ms() if start_ms is None else start_ms
    if name == "universe":
        from arbbot.sim.universe.catalog import DEFAULT_MARKETS, build_universe
        return build_universe(seed, markets or DEFAULT_MARKETS, faults, start_ms=start_ms)
    if markets is not None:
        raise ValueError("--markets applies to the universe scenario only")
    rng = random.Random(seed)
    events: list[EventDef] = []
    groups = ("fed", "election", "sports", "forecastex", "crypto", "politics", "weather")
    want = set(groups) if name in ("all", "default") else {name}
    if want - set(groups):
        raise ValueError(f"unknown scenario {name!r}; choose {', '.join(groups)}, all or universe")

    if "fed" in want:
        outcomes = [("H0", "Fed holds rates", 5200), ("C25", "Fed cuts 25bp", 3600),
                    ("C50", "Fed cuts 50bp or more", 700), ("H25", "Fed hikes", 500)]
        nr = _cond(rng)
        qs = []
        for code, title, fair in outcomes:
            qs.append(Question(code, fair, [
                Listing("kalshi", f"KXFEDDECISION-26DEC-{code}", f"{title} at the December 2026 meeting?",
                        "KXFEDDECISION-26DEC", series="KXFEDDECISION", fee_ppm=70_000),
                Listing("polymarket", _cond(rng), f"{title} after the December 2026 meeting?",
                        "fed-decision-december-2026", yes_token=_tok(rng), no_token=_tok(rng),
                        fee_ppm=50_000, neg_risk=True, neg_risk_market_id=nr),
            ]))
        events.append(EventDef("KXFEDDECISION-26DEC", "Fed decision December 2026", qs, True, True, "KXFEDDECISION",
                               closes_in_days=18))

    if "election" in want:
        nr1, nr2 = _cond(rng), _cond(rng)
        cands = [("ALV", 4100), ("BRK", 3300), ("CHO", 1800), ("DVS", 800)]
        qs = [Question(c, f, [Listing("polymarket", _cond(rng), f"Will {c} win the 2026 mayoral election?",
                                      "mayor-2026", yes_token=_tok(rng), no_token=_tok(rng), fee_ppm=40_000,
                                      neg_risk=True, neg_risk_market_id=nr1)]) for c, f in cands]
        qs[0].listings.append(Listing("kalshi", "KXMAYOR-26-ALV", "Will ALV win the 2026 mayoral election?",
                                      "KXMAYOR-26", series="KXMAYOR", fee_ppm=70_000))
        events.append(EventDef("mayor-2026", "2026 mayoral election", qs, True, True, closes_in_days=95))
        aug = [("EVA", 3500), ("FOX", 2500), ("GIL", 1500)]   # implicit "Other" holds the rest
        qs2 = [Question(c, f, [Listing("polymarket", _cond(rng), f"Will {c} be the 2026 party nominee?",
                                       "nominee-2026", yes_token=_tok(rng), no_token=_tok(rng), fee_ppm=40_000,
                                       neg_risk=True, neg_risk_augmented=True, neg_risk_market_id=nr2)])
               for c, f in aug]
        events.append(EventDef("nominee-2026", "2026 party nominee (augmented)", qs2, True, False, closes_in_days=200))

    if "sports" in want:
        for i, (a, b, fa) in enumerate([("LAL", "BOS", 5500), ("NYK", "MIA", 4700)]):
            ev = f"KXNBAGAME-26NOV30{a}{b}"
            cond, ta, tb = _cond(rng), _tok(rng), _tok(rng)
            qa = Question(f"{a}{b}-{a}", fa, [
                Listing("kalshi", f"{ev}-{a}", f"{a} beats {b}?", ev, series="KXNBAGAME", fee_ppm=70_000),
                Listing("polymarket", cond, f"{a} vs. {b}", f"nba-{a.lower()}-{b.lower()}-2026-11-30", yes_token=ta,
                        no_token=tb, fee_ppm=30_000)])
            qb = Question(f"{a}{b}-{b}", FULL - fa, [
                Listing("kalshi", f"{ev}-{b}", f"{b} beats {a}?", ev, series="KXNBAGAME", fee_ppm=70_000)])
            events.append(EventDef(ev, f"{a} vs {b}", [qa, qb], True, True, "KXNBAGAME", closes_in_days=2 + i))

    if "forecastex" in want:
        # the questions expire (last trade date) on the day the event closes, FX_CLOSES_IN_DAYS out
        expiry = (start_day(start_ms) + timedelta(days=FX_CLOSES_IN_DAYS)).strftime("%Y%m%d")
        qs = []
        for j, (strike, fair) in enumerate([("3.875", 8200), ("4.125", 3900), ("4.375", 900)]):
            con = 713_900_000 + 2 * j
            qs.append(Question(f"FF-{strike}", fair, [
                Listing("forecastex", f"FF-{expiry}-{strike}", f"Fed funds above {strike}% after Dec 2026?",
                        f"FF-{expiry}", con_ids=(con, con + 1), strike=strike, expiry=expiry),
                Listing("kalshi", f"KXFED-26DEC-T{strike}", f"Fed funds above {strike}% after Dec 2026?",
                        "KXFED-26DEC", series="KXFED", fee_ppm=70_000, strike=strike)]))
        events.append(EventDef(f"FF-{expiry}", "Fed funds target, Dec 2026", qs, False, False, "KXFED",
                               closes_in_days=FX_CLOSES_IN_DAYS))

    # Structures added later draw their ids from their own generator, so the ids above (and
    # mappings users saved for them) stay what they were for a seed.
    more = random.Random(f"{seed}:structures")
    if "crypto" in want:
        events.append(_ladder())
    if "politics" in want:
        events.append(_senate_pair(more))
        if "election" in want:
            _name_augmented_extras(events, more)
    if "weather" in want:
        events += _look_alikes(more)
    return Scenario(name, events, faults or Faults())


def _ladder() -> EventDef:
    """Kalshi threshold ladder, one event of "above X" markets (strike_type greater): a higher
    strike implies a lower one (rules → implies → tree lane). Rungs 300 ticks apart, so a planted
    skew of one rung inverts the ladder for a few steps."""
    qs = []
    for strike, fair in (("100000", 5600), ("102500", 5300), ("105000", 5000)):
        qs.append(Question(f"BTC-{strike}", fair, [
            Listing("kalshi", f"KXBTCD-26DEC31-T{strike}", f"Bitcoin above ${int(strike):,} on Dec 31, 2026?",
                    "KXBTCD-26DEC31", series="KXBTCD", fee_ppm=70_000, strike=strike)]))
    return EventDef("KXBTCD-26DEC31", "Bitcoin price on Dec 31, 2026", qs, False, False, "KXBTCD",
                    closes_in_days=33, ladder=True)


def _senate_pair(rng: random.Random) -> EventDef:
    """Polymarket two-outcome neg-risk event (complete, not augmented): exactly one YES, so the
    pair is a complement (rules → parity lane)."""
    nr = _cond(rng)
    qs = [Question(f"OH-{party[0]}", fair, [
        Listing("polymarket", _cond(rng), f"Will the {party} Party win the 2026 Ohio Senate race?",
                "ohio-senate-2026", yes_token=_tok(rng), no_token=_tok(rng), fee_ppm=40_000, neg_risk=True,
                neg_risk_market_id=nr)]) for party, fair in (("Democratic", 4400), ("Republican", 5600))]
    return EventDef("ohio-senate-2026", "Ohio Senate race 2026", qs, True, True, closes_in_days=60)


def _name_augmented_extras(events: list[EventDef], rng: random.Random) -> None:
    """An augmented neg-risk event lists, as Polymarket does, an "Other" market and unnamed
    placeholders beside the named outcomes; rules leave both out of its bucket."""
    event = next(e for e in events if e.event_id == "nominee-2026")
    nr = event.questions[0].listings[0].neg_risk_market_id
    for key, fair in (("Other", 2300), ("Person D", 200)):
        event.questions.append(Question(key, fair, [
            Listing("polymarket", _cond(rng), f"Will {key} be the 2026 party nominee?", "nominee-2026",
                    yes_token=_tok(rng), no_token=_tok(rng), fee_ppm=40_000, neg_risk=True,
                    neg_risk_augmented=True, neg_risk_market_id=nr)]))


def _look_alikes(rng: random.Random) -> list[EventDef]:
    """Twins that look alike but settle differently, priced apart: mapped as `same`, each would
    show a large, permanent cross-venue "arbitrage". The matcher's settlement check must reject
    them (different station; different deadline); the bot must never trade them."""
    station = [
        EventDef("KXHIGHNY-26DEC01", "NYC high temperature Dec 1, 2026", [Question("NYC-CP-50", 3800, [
            Listing("kalshi", "KXHIGHNY-26DEC01-T50", "Highest temperature in NYC (Central Park) above 50°F on "
                    "Dec 1, 2026?", "KXHIGHNY-26DEC01", series="KXHIGHNY", fee_ppm=70_000, strike="50")])],
                 series="KXHIGHNY", closes_in_days=4),
        EventDef("nyc-lga-high-dec-1", "LaGuardia high temperature Dec 1, 2026", [Question("NYC-LGA-50", 5600, [
            Listing("polymarket", _cond(rng), "Highest temperature at LaGuardia Airport above 50°F on December 1, "
                    "2026?", "nyc-lga-high-dec-1", yes_token=_tok(rng), no_token=_tok(rng), fee_ppm=30_000)])],
                 closes_in_days=4)]
    deadline = [
        EventDef("KXFEDEMERG-27", "Emergency Fed cut before May 2027", [Question("FED-EMERG-MAY", 1400, [
            Listing("kalshi", "KXFEDEMERG-27MAY01", "Will the Fed make an emergency rate cut before May 1, 2027?",
                    "KXFEDEMERG-27", series="KXFEDEMERG", fee_ppm=70_000)])], series="KXFEDEMERG",
                 closes_in_days=154),
        EventDef("fed-emergency-cut-by-march-31", "Emergency Fed cut by March 31, 2027", [
            Question("FED-EMERG-MAR", 600, [
                Listing("polymarket", _cond(rng), "Will the Fed make an emergency rate cut by March 31, 2027?",
                        "fed-emergency-cut-by-march-31", yes_token=_tok(rng), no_token=_tok(rng), fee_ppm=30_000)])],
                 closes_in_days=123)]
    return station + deadline


@dataclass(frozen=True)
class Plant:
    """One planted mispricing: from `step` on, for `steps` steps, `venue` quotes `market` around
    fair + `shift` ticks (both sides), while the question's other listings stay at fair. Against
    a twin on another venue that is a cross-venue arbitrage of |shift| − 2·spread ticks gross."""
    venue: str
    market_id: str
    question: str
    step: int
    steps: int
    shift: int                 # ticks, signed
    ts: float                  # wall-clock seconds when the first skewed quote was published


class PriceProcess:
    """Moves fair values and requotes the house on one venue's `Exchange`.

    Fair values follow one seeded path shared by every venue (the same question has the same
    fair value on Kalshi, Polymarket and ForecastEx after the same number of steps); planted
    mispricings are drawn per venue. Every plant is kept in `plants` and passed to `on_plant`.
    """

    def __init__(self, scenario: Scenario, venue: str, exchange: Exchange, seed: int) -> None:
        self.s = scenario
        self.venue = venue
        self.ex = exchange
        self.fair_rng = random.Random(f"{seed}:fair")
        self.rng = random.Random(f"{seed}:{venue}")
        self.size_rng = random.Random(f"{seed}:{venue}:sizes")   # its own: the plants' draws are unchanged
        self.sizes: dict[str, dict[tuple[str, int], int]] = {}   # market → (side, price) → lots (varied depth)
        self.skew: dict[str, tuple[int, int]] = {}     # market → (remaining skewed steps, shift ticks)
        self.steps = 0
        self.plants: list[Plant] = []
        self.on_plant = None                           # callable(Plant), e.g. a logger
        self.clock = time.time

    def fair(self, q: Question) -> int:
        return q.fair

    def quote(self, listing: Listing, fair: int) -> None:
        """Replace the house quotes on `listing` around `fair` (ticks), shifted while planted."""
        m = self.ex.markets[listing.market_id]
        self.ex.cancel_all(HOUSE, listing.market_id)
        t = listing.tick
        left, shift = self.skew.get(listing.market_id, (0, 0))
        if left > 0:
            self.skew[listing.market_id] = (left - 1, shift)
        else:
            shift = 0
        centre = fair + shift
        yes_top = max(t, ((centre - self.s.spread) // t) * t)
        no_top = max(t, ((FULL - centre - self.s.spread) // t) * t)
        if yes_top + no_top >= FULL:          # never rest a crossed book
            no_top = ((FULL - yes_top - t) // t) * t
        varied = self.s.level_contracts is not None
        was = self.sizes.get(listing.market_id, {}) if varied else None
        kept: dict[tuple[str, int], int] = {}
        for k in range(self.s.depth_levels):
            for side, top in (("yes", yes_top), ("no", no_top)):
                p = top - k * t
                if t <= p < FULL:
                    if varied:
                        lots = kept[(side, p)] = was.get((side, p)) or self._level_lots()
                    else:
                        lots = self.s.level_lots * (k + 1)
                    self.ex.place(HOUSE, m.ticker, side, "buy", p, lots)
        if varied:
            self.sizes[listing.market_id] = kept

    def _level_lots(self) -> int:
        """A new house level's size with varied depth (`Scenario.level_contracts`), lots."""
        lo, hi = self.s.level_contracts
        return max(1, round(math.exp(self.size_rng.uniform(math.log(lo), math.log(hi))))) * 100

    def seed_books(self) -> None:
        for _e, q, l in self.s.listings(self.venue):
            self.quote(l, q.fair)

    def _plant(self, q: Question, listing: Listing) -> None:
        """Skew `listing` for 3 steps by `plant_ticks`, towards the side that keeps the shifted
        quotes inside the price range (so the gross edge against a twin is the full amount)."""
        shift = self.s.plant_ticks if self.rng.random() < 0.5 else -self.s.plant_ticks
        room = self.s.spread + 2 * listing.tick
        if not room <= q.fair + shift <= FULL - room:
            shift = -shift
        self.skew[listing.market_id] = (3, shift)
        plant = Plant(self.venue, listing.market_id, q.key, self.steps, 3, shift, self.clock())
        self.plants.append(plant)
        if self.on_plant is not None:
            self.on_plant(plant)

    def step(self) -> None:
        """One tick of the price process (deterministic given the seed and the call count)."""
        self.steps += 1
        for e in self.s.events:
            if e.ladder:            # one move for every rung: the ladder keeps its order and spacing
                move = self.fair_rng.choice((-100, 0, 0, 100))
                if all(300 <= q.fair + move <= 9_700 for q in e.questions):
                    for q in e.questions:
                        q.fair += move
                continue
            for q in e.questions:
                q.fair = min(9_700, max(300, q.fair + self.fair_rng.choice((-100, 0, 0, 100))))
            if e.exclusive and e.exhaustive:
                tot = sum(q.fair for q in e.questions)
                for q in e.questions:
                    q.fair = max(100, q.fair * FULL // tot // 100 * 100)
        for _e, q, l in self.s.listings(self.venue):
            if not self.ex.markets[l.market_id].open:
                continue                      # closed or settled: nobody quotes it any more
            if self.skew.get(l.market_id, (0, 0))[0] == 0 and self.rng.random() < self.s.mispricing_rate:
                self._plant(q, l)
            self.quote(l, q.fair)


def make_markets(scenario: Scenario, venue: str, exchange: Exchange) -> None:
    for _e, _q, l in scenario.listings(venue):
        if venue == "kalshi":
            fees = FeeModel.kalshi(l.fee_ppm, 17_500 if l.fee_type == "quadratic_with_maker_fees" else 0)
        elif venue == "polymarket":
            fees = FeeModel(l.fee_ppm, 0, 10)
        else:
            fees = FeeModel(0, 0, 1)
        exchange.add_market(MarketState(l.market_id, fees, tick=lambda p, t=l.tick: t,
                                        lot=1 if venue == "polymarket" else 100))   # Polymarket: 0.01 shares
