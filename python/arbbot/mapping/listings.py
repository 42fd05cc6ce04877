"""Listings: the markets a venue lists, read from API bodies a user saved, one `Listing` each.

`load_listings(venue, paths)` reads one venue's files (several pages or endpoints per venue, in
the given order, concatenated) and returns one `Listing` per market, in reading order. A market
listed twice (e.g. in an `/events` page and a `/markets` page) is kept once: the copy read nested
in its event's body if any, else the first.
Missing optional fields take their empty value; a file that is not JSON, or whose shape or a
present field's type is wrong, raises `ListingError` carrying the file name and the JSON path of
the offending element (`kalshi.json: events[2].markets[0].ticker: expected a string`).

Accepted bodies, per venue:
- **kalshi** — `GET /markets` (`{"markets": [...], "cursor": ...}`), `GET /events`
  (`{"events": [...]}`, with `markets` nested when `with_nested_markets=true`), and the
  single-object forms `{"market": {...}}` / `{"event": {...}, "markets": [...]}`. An event's
  fields (`title`, `series_ticker`, `mutually_exclusive`, `category`) reach its markets also
  when the markets come from another file.
- **polymarket** — Gamma `/markets` and `/events` bodies: a JSON list, `{"data": [...]}`, or one
  object. An element with `conditionId` is a market, one with `markets` is an event (its
  markets nested). A market outside any event body takes its event from its own `events[0]`.
- **forecastex** — format `arbbot.forecastex-contracts/1`: a plain JSON list of IB contract
  details, one object per contract (the YES "C" and the NO "P" contract of a question are two
  elements), with IB's field names: `conId` (integer), `symbol`, `lastTradeDateOrContractMonth`
  (`YYYYMMDD`), `strike` (number or decimal string), `right` (`C` = YES, `P` = NO), optional
  `localSymbol`, `longName`, `description`, `exchange` (default `FORECASTX`), `secType` (default
  `OPT`). Contracts on another exchange or secType are ignored, and so is a question missing its
  YES or its NO contract (the adapter cannot trade it either). The market id is the adapter's:
  `SYMBOL-YYYYMMDD-STRIKE` (strike normalised: `4.875`, `40500`), event `SYMBOL-YYYYMMDD`.

JSON numbers are read as exact decimals (strikes are compared exactly, never as floats).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from arbbot.json_depth import bounded_nesting
from arbbot.model import utc_second
from arbbot.venues.forecastex.venue import closes_at as forecastex_closes_at

VENUES = ("kalshi", "polymarket", "forecastex")


class ListingError(ValueError):
    """A listing file that cannot be read; `str()` is `FILE: PATH: problem`."""

    def __init__(self, file: str, path: str, problem: str) -> None:
        self.file, self.path, self.problem = file, path, problem
        super().__init__(f"{file}: {path}: {problem}" if path else f"{file}: {problem}")


@dataclass(frozen=True)
class Listing:
    """One binary market as its venue lists it. Strings are "" and optionals None when the
    venue did not say."""
    venue: str                       # kalshi | polymarket | forecastex
    market_id: str                   # Kalshi ticker, Polymarket conditionId, ForecastEx SYMBOL-YYYYMMDD-STRIKE
    event_id: str                    # Kalshi event_ticker, Polymarket Gamma event id, ForecastEx SYMBOL-YYYYMMDD
    title: str                       # the question (Kalshi title, Polymarket question, IB longName/description)
    subtitle: str = ""               # outcome name: Kalshi yes_sub_title, Polymarket groupItemTitle, IB localSymbol
    rules: str = ""                  # Kalshi rules_primary + rules_secondary, Polymarket description
    closes_at: str = ""              # YYYY-MM-DDTHH:MM:SSZ (arbbot.model.utc_second) or ""
    event_title: str = ""
    series: str = ""                 # Kalshi series_ticker, Polymarket event slug, ForecastEx symbol
    category: str = ""
    active: bool = True              # open for trading as listed (Kalshi status, Polymarket active/closed)
    # Structured strike (Kalshi strike_type ∈ greater, greater_or_equal, less, less_or_equal,
    # between, functional, custom, structured; YES iff value > / ≥ floor_strike, < / ≤ cap_strike,
    # floor ≤ value ≤ cap for between). ForecastEx: floor_strike = the contract's strike and
    # strike_type "" (IB states no direction or inclusivity).
    strike_type: str = ""
    floor_strike: Decimal | None = None
    cap_strike: Decimal | None = None
    mutually_exclusive: bool | None = None   # the event's statement (Kalshi mutually_exclusive,
                                             # Polymarket negRisk); None: the event was not listed
    in_event_body: bool = False              # read nested in its event's body, beside all its siblings
    neg_risk: bool = False                   # Polymarket negRisk
    neg_risk_augmented: bool = False         # Polymarket negRiskAugmented (market's or event's)
    neg_risk_other: bool = False             # Polymarket negRiskOther: the augmented event's "Other" market
    neg_risk_market_id: str = ""
    line: Decimal | None = None              # Polymarket `line` (sports spreads/totals)
    outcomes: tuple[str, ...] = ()           # Polymarket outcomes (["Yes", "No"])
    tokens: tuple[str, ...] = ()             # Polymarket clobTokenIds; ForecastEx (YES conId, NO conId)
    resolution_source: str = ""
    game_start: str = ""                     # Polymarket gameStartTime (a game's start, UTC, as written)
    slug: str = ""                           # Polymarket market slug ("nfl-dal-was-2025-12-25", a game's day in it)
    source: str = ""                         # the file it was read from

    @property
    def name(self) -> str:
        """`venue:id`, as in snapshots and relations."""
        return f"{self.venue}:{self.market_id}"


def load_listings(venue: str, paths: list[str]) -> list[Listing]:
    """Every market in `paths` (one venue's saved API bodies), first appearance of each id kept."""
    return _read(venue, ((str(path), _load_json(str(path))) for path in paths))


def listings_from_bodies(venue: str, bodies: list, source: str = "discovery") -> list[Listing]:
    """The same from bodies already parsed (a running session's discovery: `listing_bodies()`
    of a venue adapter); errors name `source[i]`. Floats (JSON parsed without Decimal) are read
    by their shortest repr, so 4.125 stays 4.125."""
    return _read(venue, ((f"{source}[{i}]", body) for i, body in enumerate(bodies)))


def _read(venue: str, docs) -> list[Listing]:
    if venue not in VENUES:
        raise ValueError(f"unknown venue {venue!r} (expected {', '.join(VENUES)})")
    reader = {"kalshi": _KalshiReader, "polymarket": _PolymarketReader, "forecastex": _ForecastExReader}[venue]()
    for name, root in docs:
        reader.read(_Doc(name, root))
    out: dict[str, Listing] = {}
    for listing in reader.listings():
        kept = out.get(listing.market_id)
        if kept is None or (listing.in_event_body and not kept.in_event_body):
            out[listing.market_id] = listing          # the copy read beside its event's siblings wins
    return list(out.values())


def _load_json(path: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ListingError(path, "", exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise ListingError(path, "", "not UTF-8 text") from None
    try:
        with bounded_nesting():
            return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ListingError(path, "", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ListingError(path, "", "JSON nested too deeply") from None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Doc:
    """One file's parsed JSON and typed accessors that raise `ListingError` with the JSON path."""

    def __init__(self, file: str, root: Any) -> None:
        self.file, self.root = file, root

    def fail(self, path: str, problem: str) -> ListingError:
        return ListingError(self.file, path or "$", problem)

    def obj(self, raw: Any, path: str) -> dict:
        if not isinstance(raw, dict):
            raise self.fail(path, "expected an object")
        return raw

    def items(self, raw: Any, path: str) -> list:
        if not isinstance(raw, list):
            raise self.fail(path, "expected a list")
        return raw

    def text(self, obj: dict, key: str, path: str, *, required: bool = False) -> str:
        raw = obj.get(key)
        if raw is None:
            if required:
                raise self.fail(_join(path, key), "required field missing")
            return ""
        if not isinstance(raw, str):
            raise self.fail(_join(path, key), "expected a string")
        if required and not raw:
            raise self.fail(_join(path, key), "must not be empty")
        return raw

    def flag(self, obj: dict, key: str, path: str) -> bool | None:
        raw = obj.get(key)
        if raw is None:
            return None
        if not isinstance(raw, bool):
            raise self.fail(_join(path, key), "expected true or false")
        return raw

    def number(self, obj: dict, key: str, path: str) -> Decimal | None:
        """A JSON number or a decimal string, exactly; None when absent or null."""
        raw = obj.get(key)
        if raw is None or raw == "":
            return None
        if isinstance(raw, float):
            raw = repr(raw)
        if isinstance(raw, bool) or not isinstance(raw, (int, Decimal, str)):
            raise self.fail(_join(path, key), "expected a number")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise self.fail(_join(path, key), f"{raw!r} is not a number") from None
        if not value.is_finite():
            raise self.fail(_join(path, key), f"{raw!r} is not a finite number")
        return value

    def encoded_list(self, obj: dict, key: str, path: str) -> tuple[str, ...]:
        """Gamma's JSON-encoded string lists (`"[\\"Yes\\", \\"No\\"]"`); a real list is accepted too."""
        raw = obj.get(key)
        if raw is None or raw == "":
            return ()
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError:
                raise self.fail(_join(path, key), "not a JSON-encoded list") from None
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise self.fail(_join(path, key), "expected a list of strings")
        return tuple(raw)


def _records(doc: _Doc, root: dict, key: str) -> list[tuple[str, Any]]:
    """(path, element) for each element of the list under `key` of an object body."""
    if key not in root:
        return []
    return [(f"{key}[{i}]", r) for i, r in enumerate(doc.items(root[key], key))]


class _KalshiReader:
    def __init__(self) -> None:
        self.markets: list[tuple[dict, str, _Doc, dict | None]] = []   # (market, path, doc, nesting event)
        self.events: dict[str, dict] = {}                              # event_ticker → event object

    def read(self, doc: _Doc) -> None:
        root = doc.obj(doc.root, "")
        if not any(k in root for k in ("markets", "events", "market", "event")):
            raise doc.fail("", "expected a Kalshi /markets or /events body (a `markets` or `events` key)")
        events = _records(doc, root, "events")
        if "event" in root:
            events.append(("event", root["event"]))
        for path, raw in events:
            ev = doc.obj(raw, path)
            ticker = doc.text(ev, "event_ticker", path, required=True)
            for key in ("title", "sub_title", "series_ticker", "category"):
                doc.text(ev, key, path)
            doc.flag(ev, "mutually_exclusive", path)
            self.events.setdefault(ticker, ev)
            for j, m in enumerate(doc.items(ev.get("markets") or [], f"{path}.markets")):
                self._market(doc, m, f"{path}.markets[{j}]", ev)
        plain = _records(doc, root, "markets")
        if "market" in root:
            plain.append(("market", root["market"]))
        single = root.get("event")
        for path, raw in plain:
            self._market(doc, raw, path, single if isinstance(single, dict) else None)

    def _market(self, doc: _Doc, raw: Any, path: str, event: dict | None) -> None:
        m = doc.obj(raw, path)
        doc.text(m, "ticker", path, required=True)
        if event is None:
            doc.text(m, "event_ticker", path, required=True)
        for key in ("title", "subtitle", "yes_sub_title", "rules_primary", "rules_secondary", "close_time",
                    "status", "strike_type"):
            doc.text(m, key, path)
        doc.number(m, "floor_strike", path)
        doc.number(m, "cap_strike", path)
        self.markets.append((m, path, doc, event))

    def listings(self) -> list[Listing]:
        out = []
        for m, path, doc, nesting in self.markets:
            event_id = m.get("event_ticker") or nesting.get("event_ticker", "")
            ev = self.events.get(event_id) or nesting or {}
            rules = "\n".join(r for r in (m.get("rules_primary") or "", m.get("rules_secondary") or "") if r)
            out.append(Listing(
                "kalshi", m["ticker"], event_id, m.get("title") or ev.get("title") or "",
                subtitle=m.get("yes_sub_title") or m.get("subtitle") or "", rules=rules,
                closes_at=utc_second(m.get("close_time") or ""), event_title=ev.get("title") or "",
                series=ev.get("series_ticker") or "", category=ev.get("category") or "",
                active=(m.get("status") or "active") in ("active", "open"),
                strike_type=m.get("strike_type") or "", floor_strike=doc.number(m, "floor_strike", path),
                cap_strike=doc.number(m, "cap_strike", path), mutually_exclusive=ev.get("mutually_exclusive"),
                in_event_body=nesting is not None, source=doc.file))
        return out


class _PolymarketReader:
    def __init__(self) -> None:
        self.out: list[Listing] = []

    def read(self, doc: _Doc) -> None:
        root = doc.root
        if isinstance(root, dict) and "data" in root:
            elements = [(f"data[{i}]", r) for i, r in enumerate(doc.items(root["data"], "data"))]
        elif isinstance(root, list):
            elements = [(f"[{i}]", r) for i, r in enumerate(root)]
        elif isinstance(root, dict):
            elements = [("", root)]
        else:
            raise doc.fail("", "expected a Gamma /markets or /events body (a list, {\"data\": [...]} or an object)")
        for path, raw in elements:
            el = doc.obj(raw, path)
            if "conditionId" in el:
                self._market(doc, el, path, None)
            elif "markets" in el:
                self._event(doc, el, path)
            else:
                raise doc.fail(path, "neither a market (`conditionId`) nor an event (`markets`)")

    def _event(self, doc: _Doc, ev: dict, path: str) -> None:
        _gamma_id(doc, ev, path)
        for key in ("title", "slug", "category"):
            doc.text(ev, key, path)
        for key in ("negRisk", "enableNegRisk", "negRiskAugmented"):
            doc.flag(ev, key, path)
        for j, m in enumerate(doc.items(ev["markets"], _join(path, "markets"))):
            at = f"{_join(path, 'markets')}[{j}]"
            self._market(doc, doc.obj(m, at), at, ev, path)

    def _market(self, doc: _Doc, m: dict, path: str, event: dict | None, epath: str = "") -> None:
        """`event`, at `epath`: the body the market was nested in; None: its own `events[0]`."""
        cid = doc.text(m, "conditionId", path, required=True)
        nested = event is not None
        if event is None:
            epath = f"{_join(path, 'events')}[0]"
            refs = doc.items(m.get("events") or [], _join(path, "events"))
            event = doc.obj(refs[0], epath) if refs else {}
        event_neg_risk = bool(doc.flag(event, "negRisk", epath) or doc.flag(event, "enableNegRisk", epath))
        stated = doc.flag(m, "negRisk", path)      # the market's own flag wins: a neg-risk event may hold others
        neg_risk = stated if stated is not None else event_neg_risk
        other = bool(doc.flag(m, "negRiskOther", path))
        augmented = bool(doc.flag(m, "negRiskAugmented", path) or doc.flag(event, "negRiskAugmented", epath)) \
            or other
        # tradeable as listed: open, and its order book taking orders (a market past its end
        # awaiting resolution stays `closed: false` with `acceptingOrders: false`)
        active = doc.flag(m, "active", path) is not False and not doc.flag(m, "closed", path) \
            and not doc.flag(m, "archived", path) and doc.flag(m, "acceptingOrders", path) is not False \
            and doc.flag(m, "enableOrderBook", path) is not False
        self.out.append(Listing(
            "polymarket", cid, _gamma_id(doc, event, epath), doc.text(m, "question", path),
            subtitle=doc.text(m, "groupItemTitle", path), rules=doc.text(m, "description", path),
            closes_at=utc_second(doc.text(m, "endDate", path)), event_title=doc.text(event, "title", epath),
            series=doc.text(event, "slug", epath), category=doc.text(m, "category", path) or doc.text(
                event, "category", epath), active=active,
            mutually_exclusive=neg_risk if event else None, in_event_body=nested,
            neg_risk=neg_risk, neg_risk_augmented=augmented, neg_risk_other=other,
            neg_risk_market_id=doc.text(m, "negRiskMarketID", path) or doc.text(event, "negRiskMarketID", epath),
            line=doc.number(m, "line", path), outcomes=doc.encoded_list(m, "outcomes", path),
            tokens=doc.encoded_list(m, "clobTokenIds", path),
            resolution_source=doc.text(m, "resolutionSource", path), game_start=doc.text(m, "gameStartTime", path),
            slug=doc.text(m, "slug", path), source=doc.file))

    def listings(self) -> list[Listing]:
        return self.out


def _gamma_id(doc: _Doc, obj: dict, path: str) -> str:
    """Gamma ids are strings ("239826"); an integer is accepted as its decimal form."""
    raw = obj.get("id")
    if raw is None:
        return ""
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise doc.fail(_join(path, "id"), "expected a string")
    return str(raw)


class _ForecastExReader:
    def __init__(self) -> None:
        # market id → right (C/P) → (contract, its file, its strike as `_Doc.number` read it: 4.1 stays 4.1)
        self.pairs: dict[str, dict[str, tuple[dict, _Doc, Decimal]]] = {}

    def read(self, doc: _Doc) -> None:
        for i, raw in enumerate(doc.items(doc.root, "")):
            path = f"[{i}]"
            c = doc.obj(raw, path)
            if (c.get("exchange") or "FORECASTX") != "FORECASTX" or (c.get("secType") or "OPT") != "OPT":
                continue
            con = c.get("conId")
            if isinstance(con, bool) or not isinstance(con, int):
                raise doc.fail(f"{path}.conId", "expected an integer")
            symbol = doc.text(c, "symbol", path, required=True)
            expiry = doc.text(c, "lastTradeDateOrContractMonth", path, required=True)
            if len(expiry) < 8 or not expiry[:8].isdigit():
                raise doc.fail(f"{path}.lastTradeDateOrContractMonth", f"{expiry!r} is not YYYYMMDD")
            strike = doc.number(c, "strike", path)
            if strike is None:
                raise doc.fail(f"{path}.strike", "required field missing")
            right = doc.text(c, "right", path, required=True)
            if right not in ("C", "P"):
                raise doc.fail(f"{path}.right", f"{right!r} is not C (YES) or P (NO)")
            for key in ("localSymbol", "longName", "description"):
                doc.text(c, key, path)
            strike = strike.normalize()
            mid = f"{symbol}-{expiry[:8]}-{format(strike, 'f')}"
            self.pairs.setdefault(mid, {}).setdefault(right, (c, doc, strike))

    def listings(self) -> list[Listing]:
        out = []
        for mid, p in self.pairs.items():
            if "C" not in p or "P" not in p:
                continue
            (yes, doc, strike), (no, _, _) = p["C"], p["P"]
            expiry = yes["lastTradeDateOrContractMonth"][:8]
            title = next((c.get(k) for c in (yes, no) for k in ("longName", "description") if c.get(k)), mid)
            out.append(Listing(
                "forecastex", mid, f"{yes['symbol']}-{expiry}", title,
                subtitle=yes.get("localSymbol") or "", closes_at=forecastex_closes_at(expiry), series=yes["symbol"],
                floor_strike=strike, tokens=(str(yes["conId"]), str(no["conId"])), source=doc.file))
        return out
