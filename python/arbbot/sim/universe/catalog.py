"""The `universe` scenario's catalog: N markets (books) over Kalshi, Polymarket and ForecastEx,
structured as each venue publishes its catalog. Deterministic for (seed, N).

Proportions (`SHARES`): Polymarket 70 %, Kalshi 28.5 %, ForecastEx 1.5 % of the N books — at
N = 20,000 that is 14,000 / 5,700 / 300. Polymarket's Gamma lists well over ten thousand open
markets (most of them binary questions and neg-risk outcome groups); Kalshi's catalog without
combos is thousands of markets in events; ForecastEx lists a few hundred YES/NO contract pairs,
a strike ladder per product and expiry.

Structures, as published:
- Kalshi: mutually exclusive multi-outcome events (one market per outcome), threshold ladders
  ("above X": strike_type greater, floor_strike), binary one-market events and two-market game
  events (one market per team, mutually exclusive).
- Polymarket: neg-risk events (some augmented: an "Other" market and placeholders, exclusive but
  not exhaustive), binary one-market events, "A vs. B" game markets and non-exclusive
  multi-market threshold events.
- ForecastEx: products (symbol) × expiry, each a ladder of strikes; one contract pair a strike.

Cross-venue twins (the same question listed on two venues, each titled in its own style):
`TWIN_P` is the chance that a generated event of a family is also listed on the other venue
(≈ 7 % of the books have a twin). Look-alikes (`LOOKALIKE_P`): a Polymarket market worded like
a Kalshi one but with a deadline two months earlier, priced 25¢ apart — the matcher must
reject them. Otherwise a real-world question (a series and date, a race, a game) is listed at
most once per venue (`_Catalog._claim`): two independently priced books of one question would
be a permanent, fake arbitrage.

Activity: each question has a mean inter-update interval (`Question.mean_interval_ms`), shared
by its listings; `BUSY_SHARE` of the questions are busy (log-uniform 0.1–1 s: 1–10 updates a
second; sports games and crypto ladders more often), the rest log-uniform 4–20 s. At
N = 20,000 that is ≈ 3,600 book updates/s (`UniverseDriver.intended_rate`).
"""
from __future__ import annotations

import math
import random
from datetime import date, timedelta

from arbbot.sim.engine.matching import FULL
from arbbot.sim.faults import Faults
from arbbot.sim import scenarios
from arbbot.sim.scenarios import EventDef, Listing, Question, Scenario, start_day

DEFAULT_MARKETS = 20_000
SHARES = (("polymarket", 0.70), ("kalshi", 0.285), ("forecastex", 0.015))
BUSY_SHARE = 0.01
QUIET_INTERVAL_MS = (4_000, 20_000)       # log-uniform mean interval of a quiet book
BUSY_INTERVAL_MS = (100, 1_000)           # … of a busy one
TWIN_P = {"fx_ladder": 0.40, "k_exclusive": 0.15, "k_binary": 0.15, "k_game": 0.50, "k_ladder": 0.10}
LOOKALIKE_P = 0.10                        # per Kalshi binary event: a Polymarket look-alike
PLANT_RATE = 0.0003                       # chance per book update of a planted mispricing
DEPTH_LEVELS = 5                          # house bid levels a side

KALSHI_FEE, POLY_FEES = 70_000, {"crypto": 70_000, "sports": 30_000, "politics": 40_000,
                                 "economics": 50_000, "culture": 50_000, "weather": 50_000,
                                 "geopolitics": 0}

_FIRST = ("Ana", "Ben", "Carla", "Dev", "Elena", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Kira",
          "Liam", "Maya", "Nikhil", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
          "Wes", "Xena", "Yusuf", "Zoe")
_LAST = ("Abbott", "Brandt", "Castillo", "Dimitrov", "Eriksen", "Fujita", "Garza", "Hollis", "Iqbal",
         "Jansen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quintero",
         "Romano", "Sandoval", "Takahashi", "Ueda", "Vasquez", "Whitaker", "Xu", "Yilmaz", "Zielinski")
_RACES = (("mayor", "mayoral election"), ("gov", "governor's race"), ("sen", "Senate race"),
          ("pm", "prime ministerial election"), ("chair", "party chair election"), ("award", "MVP award"))
_PLACES = tuple(a + b for a in ("Spring", "River", "Lake", "Fair", "Green", "King", "Maple", "North", "Oak",
                                  "West", "Brook", "Clear", "Dun", "East")
                for b in ("field", "ton", "side", "view", "ville", "port", "wood", "gate", "ridge", "haven",
                          "water", "more", "burg", "dale"))
TRIES = 50                  # draws of a family's parameters before giving up on a fresh question
_NBA = (("ATL", "Atlanta", "Hawks"), ("BOS", "Boston", "Celtics"), ("BKN", "Brooklyn", "Nets"),
        ("CHA", "Charlotte", "Hornets"), ("CHI", "Chicago", "Bulls"), ("CLE", "Cleveland", "Cavaliers"),
        ("DAL", "Dallas", "Mavericks"), ("DEN", "Denver", "Nuggets"), ("DET", "Detroit", "Pistons"),
        ("GSW", "Golden State", "Warriors"), ("HOU", "Houston", "Rockets"), ("IND", "Indiana", "Pacers"),
        ("LAC", "Los Angeles C", "Clippers"), ("LAL", "Los Angeles L", "Lakers"),
        ("MEM", "Memphis", "Grizzlies"), ("MIA", "Miami", "Heat"), ("MIL", "Milwaukee", "Bucks"),
        ("MIN", "Minnesota", "Timberwolves"), ("NOP", "New Orleans", "Pelicans"),
        ("NYK", "New York", "Knicks"), ("OKC", "Oklahoma City", "Thunder"), ("ORL", "Orlando", "Magic"),
        ("PHI", "Philadelphia", "76ers"), ("PHX", "Phoenix", "Suns"), ("POR", "Portland", "Trail Blazers"),
        ("SAC", "Sacramento", "Kings"), ("SAS", "San Antonio", "Spurs"), ("TOR", "Toronto", "Raptors"),
        ("UTA", "Utah", "Jazz"), ("WAS", "Washington", "Wizards"))
# ForecastEx product → (Kalshi series, question template {s} = strike, {d} = date, strike grid)
_FX = {"FF": ("KXFED", "Fed funds target above {s}% after {d}?", (3.0, 0.125)),
       "CPI": ("KXCPIYOY", "CPI year-over-year above {s}% for {d}?", (1.8, 0.1)),
       "UNR": ("KXU3", "Unemployment rate above {s}% in {d}?", (3.6, 0.1)),
       "GDP": ("KXGDP", "Real GDP growth above {s}% in {d}?", (0.5, 0.25)),
       "NFP": ("KXPAYROLLS", "Nonfarm payrolls above {s}k in {d}?", (50.0, 25.0)),
       "YLD": ("KXTNOTE", "10-year Treasury yield above {s}% on {d}?", (3.5, 0.05)),
       "GCE": ("KXCO2", "Global CO2 emissions above {s} Mt in {d}?", (39500.0, 250.0)),
       "HPI": ("KXHOUSE", "Case-Shiller home price index above {s}% year-over-year in {d}?", (0.5, 0.25))}
# Kalshi ladder series → (title template, strike start, step, unit formatting, Polymarket fee category)
_LADDERS = {"KXBTCD": ("Bitcoin above ${s} on {d}?", 80_000, 2_500, "crypto"),
            "KXETHD": ("Ethereum above ${s} on {d}?", 2_000, 100, "crypto"),
            "KXINX": ("S&P 500 above {s} at close on {d}?", 5_800, 25, "economics"),
            "KXHIGHNY": ("Highest temperature in NYC above {s}°F on {d}?", 30, 2, "weather"),
            "KXHIGHCHI": ("Highest temperature in Chicago above {s}°F on {d}?", 20, 2, "weather"),
            "KXGAS": ("US average gas price above ${s} on {d}?", 2.8, 0.05, "economics")}
_BINARY = (("Will {p} pass the {x} bill by {d}?", "{p} passes {x} bill by {d}?"),       # (Kalshi, Polymarket)
           ("Will {p} announce a {x} plan before {d}?", "{p} {x} plan announced before {d}?"),
           ("Will the {p} {x} referendum succeed by {d}?", "{p} {x} referendum passes by {d}?"),
           ("Will {p} report {x} growth above forecast by {d}?", "{p} {x} growth beats forecast by {d}?"))
_TOPICS = ("housing", "transit", "budget", "energy", "water", "zoning", "tax", "tourism", "school")


def budgets(n: int) -> dict[str, int]:
    """Books per venue for N books in total (`SHARES`; ForecastEx at least one)."""
    if n < 100:
        raise ValueError("the universe scenario needs at least 100 markets")
    fx = max(1, round(n * SHARES[2][1]))
    kalshi = round(n * SHARES[1][1])
    return {"polymarket": n - fx - kalshi, "kalshi": kalshi, "forecastex": fx}


def _kdate(d: date) -> str:
    """Kalshi's date code: 26DEC31."""
    return d.strftime("%y%b%d").upper()


def _words(d: date) -> str:
    return f"{d.strftime('%B')} {d.day}, {d.year}"


def _short(d: date) -> str:
    return f"{d.strftime('%b')} {d.day}, {d.year}"


def _num(x: float) -> str:
    """A strike as venues print it: no trailing zeros ("4.125", "80000")."""
    return f"{x:.4f}".rstrip("0").rstrip(".")


def _exclusive_fairs(rng: random.Random, k: int, total: int) -> list[int]:
    """k fair values (ticks, multiples of 100, each ≥ 100) summing to `total`, favourite first."""
    w = sorted((rng.paretovariate(1.2) for _ in range(k)), reverse=True)
    units = total // 100 - k                          # what is left after 1¢ each
    out = [100 + 100 * int(units * x / sum(w)) for x in w]
    out[0] += total - sum(out)
    return out


def _ladder_fairs(rng: random.Random, k: int) -> list[int]:
    """Fair values of k "above X" rungs, strikes ascending: non-increasing, 1¢–99¢."""
    centre, width = rng.uniform(0, k - 1), rng.uniform(0.8, 2.5)
    return [min(9_900, max(100, 100 * round(100 / (1 + math.exp((i - centre) / width))))) for i in range(k)]


class _Catalog:
    """Generates events family by family until each venue's budget of books is spent."""

    def __init__(self, seed: int, n: int, base_day: date) -> None:
        self.rng = random.Random(f"{seed}:universe:{n}")
        self.base_day = base_day                  # day 0 of every date listed: the simulator's start day
        self.left = budgets(n)
        self.events: list[EventDef] = []
        self.used: set[str] = set()               # event ids / tickers already taken
        self.topics: set[tuple] = set()           # real-world questions already listed (never twice apart)
        self.con = 720_000_000                    # next ForecastEx conId (pairs: YES, NO)

    # ---- ids and listings ---------------------------------------------------------------
    def _day(self, days: int) -> date:
        return self.base_day + timedelta(days=days)

    def _cond(self) -> str:
        return "0x%064x" % self.rng.getrandbits(256)

    def _tok(self) -> str:
        return str(self.rng.randrange(10**75, 10**76))

    def _unique(self, base: str) -> str:
        out, i = base, 1
        while out in self.used:
            i += 1
            out = f"{base}{i}"
        self.used.add(out)
        return out

    def _claim(self, *keys: tuple) -> bool:
        """Reserve the real-world questions `keys` (e.g. a series and date); False if one is taken.
        One question is one book per venue: two independently priced listings of the same
        question would be a permanent, fake arbitrage."""
        if any(k in self.topics for k in keys):
            return False
        self.topics.update(keys)
        return True

    def _interval(self, busy_p: float = BUSY_SHARE) -> int:
        lo, hi = BUSY_INTERVAL_MS if self.rng.random() < busy_p else QUIET_INTERVAL_MS
        return round(math.exp(self.rng.uniform(math.log(lo), math.log(hi))))

    def _kalshi(self, ticker: str, title: str, event: str, series: str, strike: str = "") -> Listing:
        return Listing("kalshi", ticker, title, event, series=series, fee_ppm=KALSHI_FEE, strike=strike)

    def _poly(self, title: str, slug: str, category: str, neg_risk_id: str = "", augmented: bool = False) -> Listing:
        return Listing("polymarket", self._cond(), title, slug, yes_token=self._tok(), no_token=self._tok(),
                       fee_ppm=POLY_FEES[category], neg_risk=bool(neg_risk_id), neg_risk_augmented=augmented,
                       neg_risk_market_id=neg_risk_id)

    def _take(self, venue: str, want: int) -> int:
        """How many of `want` books `venue` may still list (and spend them)."""
        got = max(0, min(want, self.left[venue]))
        self.left[venue] -= got
        return got

    def _question(self, key: str, fair: int, listings: list[Listing], busy_p: float = BUSY_SHARE) -> Question:
        return Question(key, fair, listings, mean_interval_ms=self._interval(busy_p))

    def fill(self, venue: str, down_to: int, family) -> None:
        """Call `family()` while `venue` has at least `down_to` books left to list; ValueError if
        the catalog runs out of distinct questions (no progress in `TRIES` × 20 calls)."""
        stalled = 0
        while self.left[venue] >= down_to:
            before = self.left[venue]
            family()
            stalled = 0 if self.left[venue] < before else stalled + 1
            if stalled > TRIES * 20:
                raise ValueError(f"the universe has no more distinct {venue} questions to list")

    # ---- ForecastEx ladders (and their Kalshi twins) ------------------------------------
    def fx_ladder(self, n: int) -> None:
        rng = self.rng
        for _ in range(TRIES):
            sym, d = rng.choice(sorted(_FX)), self._day(rng.randrange(7, 400))
            if self._claim(("fx", sym, d)):
                break
        else:
            return
        series, template, (start, step) = _FX[sym]
        expiry = d.strftime("%Y%m%d")
        eid = self._unique(f"{sym}-{expiry}")
        k = self._take("forecastex", min(n, rng.randint(6, 14)))
        twin = rng.random() < TWIN_P["fx_ladder"] and self.left["kalshi"] >= k
        if twin:
            self._take("kalshi", k)
        kev = self._unique(f"{series}-{_kdate(d)}") if twin else ""
        first = rng.randrange(0, 8)
        qs = []
        for i, fair in enumerate(_ladder_fairs(rng, k)):
            strike = _num(start + (first + i) * step)
            title = template.format(s=strike, d=_short(d))
            ls = [Listing("forecastex", f"{sym}-{expiry}-{strike}", title, eid, con_ids=(self.con, self.con + 1),
                          strike=strike, expiry=expiry)]
            self.con += 2
            if twin:
                ls.append(self._kalshi(f"{kev}-T{strike}", template.format(s=strike, d=_words(d)), kev, series,
                                       strike=strike))
            qs.append(self._question(f"{sym}-{strike}", fair, ls))
        self.events.append(EventDef(eid, f"{sym} {_short(d)}", qs, series=series, ladder=True,
                                    closes_in_days=(d - self.base_day).days + 3))

    # ---- Kalshi families ----------------------------------------------------------------
    def k_ladder(self) -> None:
        rng = self.rng
        for _ in range(TRIES):
            series, d = rng.choice(sorted(_LADDERS)), self._day(rng.randrange(1, 365))
            if self._claim(("ladder", series, d)):
                break
        else:
            return
        template, start, step, category = _LADDERS[series]
        ev = self._unique(f"{series}-{_kdate(d)}")
        k = self._take("kalshi", rng.randint(6, 15))
        if not k:
            return
        first = rng.randrange(0, 10)
        twin = rng.random() < TWIN_P["k_ladder"]
        slug = f"{series[2:].lower()}-above-on-{d.strftime('%B-%d').lower()}-{len(self.events)}"
        qs = []
        for i, fair in enumerate(_ladder_fairs(rng, k)):
            strike = _num(start + (first + i) * step)
            shown = f"{float(strike):,.0f}" if float(strike) >= 1_000 else strike
            ls = [self._kalshi(f"{ev}-T{strike}", template.format(s=shown, d=_short(d)), ev, series, strike=strike)]
            if twin and i % 2 == 0 and self._take("polymarket", 1):   # Polymarket lists every other rung
                ls.append(self._poly(template.format(s=shown, d=_words(d).rsplit(",", 1)[0]), slug, category))
            qs.append(self._question(f"{series}-{strike}", fair, ls, busy_p=0.04 if category == "crypto" else BUSY_SHARE))
        self.events.append(EventDef(ev, f"{series} on {_short(d)}", qs, series=series, ladder=True,
                                    closes_in_days=(d - self.base_day).days))

    def k_exclusive(self) -> None:
        rng = self.rng
        if self.left["kalshi"] < 3:
            return
        for _ in range(TRIES):
            (code, race), place, year = rng.choice(_RACES), rng.choice(_PLACES), self.base_day.year + rng.randrange(4)
            if self._claim(("race", code, place, year)):
                break
        else:
            return
        series = f"KX{code.upper()}{place[:4].upper()}"
        ev = self._unique(f"{series}-{year % 100}")
        k = self._take("kalshi", rng.randint(3, 12))
        names = rng.sample([f"{f} {l}" for f in _FIRST for l in _LAST], k)
        twin = rng.random() < TWIN_P["k_exclusive"]
        slug = f"{place.lower()}-{code}-{year}-{len(self.events)}"
        nr = self._cond() if twin else ""
        qs = []
        for j, (name, fair) in enumerate(zip(names, _exclusive_fairs(rng, k, FULL))):
            last = name.split()[1].upper()[:4]
            ls = [self._kalshi(f"{ev}-{last}{j}", f"Will {name} win the {year} {place} {race}?", ev, series)]
            if twin and self._take("polymarket", 1):
                ls.append(self._poly(f"Will {name} be the winner of the {place} {race} in {year}?", slug, "politics", nr))
            qs.append(self._question(f"{ev}-{name}", fair, ls))
        self.events.append(EventDef(ev, f"{place} {race} {year}", qs, exclusive=True, exhaustive=True, series=series,
                                    closes_in_days=rng.randrange(20, 700)))

    def _binary_subject(self, venue: str) -> tuple[str, str, int] | None:
        """A (place, topic, `_BINARY` template index) no binary question has used yet, one book of
        `venue`'s share taken for it; None when the share is used up or after TRIES draws."""
        if not self.left[venue]:
            return None
        rng = self.rng
        for _ in range(TRIES):
            place, topic, which = rng.choice(_PLACES), rng.choice(_TOPICS), rng.randrange(len(_BINARY))
            if self._claim(("binary", place, topic, which)):
                self._take(venue, 1)
                return place, topic, which
        return None

    def k_binary(self) -> None:
        rng = self.rng
        drawn = self._binary_subject("kalshi")
        if drawn is None:
            return
        place, topic, which = drawn
        d = self._day(rng.randrange(70, 500))
        series = f"KX{topic.upper()[:5]}{place[:3].upper()}"
        ev = self._unique(f"{series}-{_kdate(d)}")
        kt, pt = _BINARY[which]
        fair = rng.randrange(5, 96) * 100
        q = self._question(ev, fair, [self._kalshi(ev, kt.format(p=place, x=topic, d=_short(d)), ev, series)])
        self.events.append(EventDef(ev, q.listings[0].title, [q], series=series, closes_in_days=(d - self.base_day).days))
        roll = rng.random()
        if roll < TWIN_P["k_binary"] and self._take("polymarket", 1):
            q.listings.append(self._poly(pt.format(p=place, x=topic, d=_words(d)),
                                         f"{place.lower()}-{topic}-{len(self.events)}", "politics"))
        elif roll > 1 - LOOKALIKE_P and self._take("polymarket", 1):
            self._lookalike(pt, place, topic, d, q)

    def _lookalike(self, template: str, place: str, topic: str, d: date, of: Question) -> None:
        """Worded like the Kalshi market `of`, but with a deadline two months earlier: it
        settles differently and is priced 25¢ apart (a trap for a text-only matcher)."""
        early = d - timedelta(days=61)
        fair = of.fair - 2_500 if of.fair >= 3_000 else of.fair + 2_500
        q = self._question(f"lookalike-of-{of.key}", fair, [
            self._poly(template.format(p=place, x=topic, d=_words(early)), f"lookalike-{len(self.events)}",
                       "politics")])
        self.events.append(EventDef(q.listings[0].event_id, q.listings[0].title, [q],
                                    closes_in_days=max(1, (early - self.base_day).days)))

    def k_game(self) -> None:
        rng = self.rng
        if self.left["kalshi"] < 2:
            return
        for _ in range(TRIES):                  # a team plays at most once a day
            (a, city_a, nick_a), (b, city_b, nick_b) = rng.sample(_NBA, 2)
            d = self._day(rng.randrange(0, 60))
            if self._claim(("team", a, d), ("team", b, d)):
                break
        else:
            return
        ev = self._unique(f"KXNBAGAME-{_kdate(d)}{a}{b}")
        self._take("kalshi", 2)
        fa = rng.randrange(25, 76) * 100
        game = f"{city_a} vs {city_b} on {_short(d)}"
        qa = self._question(f"{ev}-{a}", fa, [self._kalshi(f"{ev}-{a}", f"Will {city_a} win {game}?", ev, "KXNBAGAME")],
                            busy_p=0.05)
        qb = self._question(f"{ev}-{b}", FULL - fa, [self._kalshi(f"{ev}-{b}", f"Will {city_b} win {game}?", ev,
                                                                  "KXNBAGAME")], busy_p=0.05)
        if rng.random() < TWIN_P["k_game"] and self._take("polymarket", 1):
            qa.listings.append(self._poly(f"{nick_a} vs. {nick_b}", f"nba-{a.lower()}-{b.lower()}-{d.isoformat()}",
                                          "sports"))
        self.events.append(EventDef(ev, f"{city_a} vs {city_b}", [qa, qb], exclusive=True, exhaustive=True,
                                    series="KXNBAGAME", closes_in_days=(d - self.base_day).days + 1))

    # ---- Polymarket-only families -------------------------------------------------------
    def p_negrisk(self) -> None:
        rng = self.rng
        if self.left["polymarket"] < 3:
            return
        for _ in range(TRIES):
            (code, race), place, year = rng.choice(_RACES), rng.choice(_PLACES), self.base_day.year + rng.randrange(4)
            if self._claim(("race", code, place, year)):
                break
        else:
            return
        augmented = rng.random() < 0.25
        k = self._take("polymarket", rng.randint(3, 20))
        slug = f"{place.lower()}-{code}-winner-{year}-{len(self.events)}"
        nr = self._cond()
        names = rng.sample([f"{f} {l}" for f in _FIRST for l in _LAST], k)
        if augmented:                     # the implicit rest, and an unnamed placeholder, listed too
            names[-2:] = ["Other", f"Person {chr(65 + k)}"]
        total = FULL - (rng.randrange(5, 25) * 100 if augmented else 0)
        qs = [self._question(f"{slug}-{name}", fair, [
            self._poly(f"Will {name} win the {year} {place} {race}?", slug, "politics", nr, augmented)])
            for name, fair in zip(names, _exclusive_fairs(rng, k, total))]
        self.events.append(EventDef(slug, f"{place} {race} {year}", qs, exclusive=True, exhaustive=not augmented,
                                    closes_in_days=rng.randrange(20, 700)))

    def p_binary(self) -> None:
        rng = self.rng
        drawn = self._binary_subject("polymarket")
        if drawn is None:
            return
        place, topic, which = drawn
        d = self._day(rng.randrange(5, 500))
        slug = f"{place.lower()}-{topic}-by-{d.isoformat()}-{len(self.events)}"
        q = self._question(slug, rng.randrange(3, 98) * 100, [
            self._poly(_BINARY[which][1].format(p=place, x=topic, d=_words(d)), slug,
                       rng.choice(("politics", "economics", "culture", "geopolitics")))])
        self.events.append(EventDef(slug, q.listings[0].title, [q], closes_in_days=(d - self.base_day).days))

    def p_thresholds(self) -> None:
        """A non-exclusive multi-market event: "above X" rungs, each its own binary market."""
        rng = self.rng
        if not self.left["polymarket"]:
            return
        for _ in range(TRIES):
            series, d = rng.choice(sorted(_LADDERS)), self._day(rng.randrange(1, 365))
            if self._claim(("ladder", series, d)):
                break
        else:
            return
        template, start, step, category = _LADDERS[series]
        k = self._take("polymarket", rng.randint(4, 10))
        slug = f"{series[2:].lower()}-price-{d.isoformat()}-{len(self.events)}"
        first = rng.randrange(0, 10)
        qs = []
        for i, fair in enumerate(_ladder_fairs(rng, k)):
            strike = _num(start + (first + i) * step)
            shown = f"{float(strike):,.0f}" if float(strike) >= 1_000 else strike
            qs.append(self._question(f"{slug}-{strike}", fair, [
                self._poly(template.format(s=shown, d=_words(d)), slug, category)],
                busy_p=0.04 if category == "crypto" else BUSY_SHARE))
        self.events.append(EventDef(slug, f"{series[2:]} on {_words(d)}", qs, ladder=True,
                                    closes_in_days=(d - self.base_day).days))


def build_universe(seed: int, markets: int = DEFAULT_MARKETS, faults: Faults | None = None, *,
                   start_ms: int | None = None) -> Scenario:
    """The universe of `markets` books (see the module docstring). Its dates (expiries, titles,
    tickers, close times) count from the UTC day of `start_ms` (Unix ms; default now), the
    simulator's start, so its questions are always still open."""
    c = _Catalog(seed, markets, start_day(scenarios.now_ms() if start_ms is None else start_ms))
    c.fill("forecastex", 1, lambda: c.fx_ladder(c.left["forecastex"]))
    kalshi = (c.k_ladder, c.k_exclusive, c.k_binary, c.k_game)
    c.fill("kalshi", 2, lambda: c.rng.choices(kalshi, weights=(30, 25, 25, 20))[0]())
    c.fill("kalshi", 1, c.k_binary)
    poly = (c.p_negrisk, c.p_binary, c.p_thresholds)
    c.fill("polymarket", 1, lambda: c.rng.choices(poly, weights=(35, 50, 15))[0]())
    return Scenario("universe", c.events, faults or Faults(), depth_levels=DEPTH_LEVELS,
                    mispricing_rate=PLANT_RATE)
