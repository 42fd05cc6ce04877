"""Relations that contradict each other never reach the engine, and mapping rows that relate
nothing are said, by line.

Parity (spec/ARBITRAGE.md lanes 2 and 4): `same`/`equivalent` say YES a ≡ YES b, `inverse`/
`complement` YES a ≡ NO b. A cycle of relations whose parities do not add up (K~P same, P~F
same, K~F inverse) makes the engine trade a naked bet as a hedge: a mapping file holding one is
an error naming every line of it; a session drops what the venues did not state themselves.
Two relations on one pair of markets: the first source wins (mapping CSV over --rules).
"""
from __future__ import annotations

import asyncio
import json

import pytest
from structlog.testing import capture_logs

from arbbot.mapping import table
from arbbot.mapping.table import HEADER, MappingError, parse_mappings, relations_for
from arbbot.model import Book, FeeSchedule, MarketInfo
from arbbot.run.live import LiveSession
from arbbot.venues.common.model import Venue
from tests.mapping.twins import sim_twins

H = ",".join(HEADER)
F1 = "FX-20261231-100"


def pairs(relations: list[dict]) -> list[tuple[str, str, str]]:
    return [(r["kind"], r["a"], r["b"]) for r in relations]


# ---- the parity helpers --------------------------------------------------------------------------

def test_relation_parity_reads_the_four_pair_kinds_and_an_exhaustive_pair_bucket() -> None:
    assert table.relation_parity({"kind": "same", "a": "x", "b": "y"}) == ("x", "y", 0)
    assert table.relation_parity({"kind": "equivalent", "a": "x", "b": "y"}) == ("x", "y", 0)
    assert table.relation_parity({"kind": "inverse", "a": "x", "b": "y"}) == ("x", "y", 1)
    assert table.relation_parity({"kind": "complement", "a": "x", "b": "y"}) == ("x", "y", 1)
    assert table.relation_parity({"kind": "bucket", "members": ["x", "y"], "exhaustive": True}) == ("x", "y", 1)
    assert table.relation_parity({"kind": "bucket", "members": ["x", "y"], "exhaustive": False}) is None
    assert table.relation_parity({"kind": "bucket", "members": ["x", "y", "z"], "exhaustive": True}) is None
    assert table.relation_parity({"kind": "implies", "parent": "x", "child": "y"}) is None


def test_the_forest_names_the_cycle_that_disagrees() -> None:
    forest = table.ParityForest()
    assert forest.add("a", "b", 0, "ab") is None
    assert forest.add("b", "c", 1, "bc") is None
    assert forest.add("c", "d", 0, "cd") is None
    assert forest.add("a", "d", 1, "ad") is None            # 0+1+0 = 1: consistent
    assert forest.add("a", "c", 0, "ac") == ["ab", "bc", "ac"]
    assert table.contradicting_components([("a", "b", 0), ("b", "c", 0), ("a", "c", 1), ("x", "y", 1)]) == [[0, 1, 2]]
    assert table.contradicting_components([("a", "b", 1), ("b", "c", 1), ("a", "c", 0)]) == []


# ---- 1a. a mapping file ------------------------------------------------------------------------

def test_a_mapping_file_whose_rows_contradict_through_a_third_market_is_an_error_naming_the_lines() -> None:
    """The reviewer's r1: no pair repeats, yet K1 ≡ P1 ≡ F1 and K1 ≡ ¬F1. It used to load, and
    `arbbot scan` then reported an 'inverse' arb {YES K1, YES F1}: a naked bet."""
    lines = [H, "K1,0xP1,,same,0.99", ",0xP1,FX-20261231-100,same,0.99", "K1,,FX-20261231-100,inverse,0.99"]
    with pytest.raises(MappingError) as err:
        parse_mappings(lines, "m.csv")
    assert str(err.value).startswith("m.csv:4: contradicts line(s) 2, 3: ")
    assert "kalshi:K1 and forecastex:FX-20261231-100" in str(err.value)


def test_a_longer_cycle_names_every_line_of_it_and_no_other() -> None:
    lines = [H, "K1,0xP1,,same,0.9", "K9,0xP9,,same,0.9", "K2,0xP1,,same,0.9", "K2,,FX-20261231-100,same,0.9",
             "K1,,FX-20261231-100,inverse,0.9"]
    with pytest.raises(MappingError, match=r"^m\.csv:6: contradicts line\(s\) 2, 4, 5: "):
        parse_mappings(lines, "m.csv")


def test_consistent_cycles_load() -> None:
    """Inverse twice is the same: K1 ≡ ¬P1, P1 ≡ ¬F1 (a two-market inverse row), K1 ≡ F1."""
    lines = [H, "K1,0xP1,,inverse,0.9", ",0xP1,FX-20261231-100,inverse,0.9", "K1,,FX-20261231-100,same,0.9",
             "K2,0xP2,FX-20261231-200,inverse,0.9"]
    rows = parse_mappings(lines, "m.csv")
    assert [r.line for r in rows] == [2, 3, 4, 5]


def test_a_three_venue_inverse_row_contradicting_later_rows_is_an_error() -> None:
    """Row 2 makes P1 and F1 the same (both inverse to K1); rows 3 and 4 make them inverse
    through K2."""
    with pytest.raises(MappingError, match=r"^m\.csv:4: contradicts line\(s\) 2, 3: "):
        parse_mappings([H, "K1,0xP1,FX-20261231-100,inverse,0.9", "K2,,FX-20261231-100,same,0.9",
                        "K2,0xP1,,inverse,0.9"], "m.csv")


# ---- 4. what a cell holds ----------------------------------------------------------------------

def test_a_redundant_venue_prefix_is_stripped() -> None:
    rows = parse_mappings([H, "kalshi:K1,polymarket:0xP1,forecastex:FX-20261231-100,same,0.9"], "m.csv")
    assert rows[0].ids == ("K1", "0xP1", "FX-20261231-100")
    assert rows[0].names() == ["kalshi:K1", "polymarket:0xP1", "forecastex:FX-20261231-100"]


def test_another_venues_prefix_is_refused_naming_the_line() -> None:
    with pytest.raises(MappingError, match=r"^m\.csv:3: 'polymarket:0xP2' names a polymarket market in the kalshi "
                                           r"column$"):
        parse_mappings([H, "K1,0xP1,,same,0.9", "polymarket:0xP2,0xP3,,same,0.9"], "m.csv")


def test_a_numeric_ib_conid_in_the_forecastex_column_is_refused_naming_the_line() -> None:
    """The reviewer's r9: the column is named forecastex_conid, but the session names ForecastEx
    markets SYMBOL-YYYYMMDD-STRIKE; a conId there loaded, then related nothing, silently."""
    with pytest.raises(MappingError, match=r"^m\.csv:2: forecastex_conid '712345678' looks like an IB conId; "
                                           r"the column takes the ForecastEx market id SYMBOL-YYYYMMDD-STRIKE"):
        parse_mappings([H, "KXFED-26DEC-T4.125,,712345678,same,0.99"], "m.csv")


def test_each_undiscovered_row_is_logged_with_its_line_and_markets() -> None:
    rows = parse_mappings([H, "K1,0xP1,,same,0.9", "kalshi:K2,,FX-20261231-100,same,0.9",
                           "K3,0xP3,FX-20261231-300,same,0.9"], "m.csv")
    with capture_logs() as logs:
        out = relations_for(rows, {"kalshi:K1", "polymarket:0xP1", "kalshi:K3", "polymarket:0xP3"})
    assert pairs(out) == [("same", "kalshi:K1", "polymarket:0xP1"), ("same", "kalshi:K3", "polymarket:0xP3")]
    assert [(e["event"], e.get("line"), e.get("markets"), e.get("pairs_left")) for e in logs] == [
        ("mappings.undiscovered_row", 3, ["kalshi:K2", "forecastex:FX-20261231-100"], 0),
        ("mappings.undiscovered_row", 4, ["forecastex:FX-20261231-300"], 1),
        ("mappings.undiscovered", None, None, None)]


def test_a_session_keeps_its_undiscovered_rows_apart_from_the_traded_ones() -> None:
    rows = parse_mappings([H, "K1,0xP1,,same,0.99", "K2,0xNOPE,,same,0.99"], "m.csv")
    session = LiveSession({}, rows)
    session.index = {"kalshi:K1": 0, "polymarket:0xP1": 1, "kalshi:K2": 2}
    assert pairs(session._assemble()) == [("same", "kalshi:K1", "polymarket:0xP1")]
    assert [(row.line, missing) for row, missing in session.mappings_undiscovered] == [(3, ["polymarket:0xNOPE"])]


def test_the_run_says_each_undiscovered_row_on_stderr_and_counts_it_apart(in_tmp, capsys, monkeypatch) -> None:
    from arbbot.cli import main
    shipped = sim_twins()
    path = in_tmp / "m.csv"
    path.write_text("\n".join([H, *(",".join([*r.ids, r.relation, "0.99"]) for r in shipped[:2]),
                               "KXNOPE-1,0xnope,,same,0.99", f"{shipped[2].ids[0]},0xnope2,,same,0.99"]) + "\n")
    monkeypatch.setenv("ARB_GENERATE_MAPPINGS", "false")
    assert main(["live", "--duration", "1", "--json", "--metrics-port", "0", "--seed", "0",
                 "--mappings", str(path)]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert summary["mappings"]["traded"] == 2
    assert summary["mappings"]["undiscovered"] == 2
    assert summary["mappings"]["contradictory"] == 0
    assert f"arbbot: {path}:4: kalshi:KXNOPE-1, polymarket:0xnope not discovered; the row is not traded" in err
    assert f"arbbot: {path}:5: polymarket:0xnope2 not discovered; the row is not traded" in err


# ---- 1b. a session's relations from several sources -----------------------------------------------

def session_over(rows_text: list[str], *, rules=None, stated=None, extra=()) -> LiveSession:
    rows = parse_mappings([H, *rows_text], "m.csv")
    session = LiveSession({}, rows, rules=rules)
    names = ["kalshi:K1", "kalshi:K2", "polymarket:0xP1", "polymarket:0xP2", "polymarket:0xP3",
             "polymarket:0xP8", "polymarket:0xP9", "kalshi:K8", *extra]
    session.index = {n: i for i, n in enumerate(names)}
    session.listings = {}
    session._stated = stated or []
    return session


def test_mapping_rows_and_a_rules_complement_that_contradict_are_all_dropped_and_logged() -> None:
    """The reviewer's r11: K1 ≡ P1, K1 ≡ P2 (two pairs: the file is fine) and a --rules
    complement(P1, P2). None is the venues' own: all three are dropped; an unrelated
    consistent pair stays."""
    session = session_over(["K1,0xP1,,same,0.99", "K1,0xP2,,same,0.99", "K8,0xP8,,inverse,0.99"],
                           rules=[{"kind": "complement", "a": "polymarket:0xP1", "b": "polymarket:0xP2",
                                   "confidence": "1"}])
    with capture_logs() as logs:
        relations = session._assemble()
    assert pairs(relations) == [("inverse", "kalshi:K8", "polymarket:0xP8")]
    assert session._sources == ["mapping"]
    assert [(r["kind"], source) for r, source in session.contradictory] == [
        ("same", "mapping"), ("same", "mapping"), ("complement", "rules")]
    [event] = [e for e in logs if e["event"] == "relations.contradictory"]
    assert event["log_level"] == "error"
    assert event["markets"] == ["kalshi:K1", "polymarket:0xP1", "polymarket:0xP2"]
    assert event["dropped"] == ["same(kalshi:K1, polymarket:0xP1) from mapping",
                                "same(kalshi:K1, polymarket:0xP2) from mapping",
                                "complement(polymarket:0xP1, polymarket:0xP2) from rules"]
    assert event["kept"] == []


def test_the_venues_own_structure_is_kept_and_what_contradicts_it_dropped() -> None:
    """Polymarket states P1, P2 complementary (an exhaustive neg-risk pair): the mapping rows
    that would make both the same as K1 are dropped, the venue's bucket kept."""
    bucket = {"kind": "bucket", "members": ["polymarket:0xP1", "polymarket:0xP2"], "exhaustive": True}
    session = session_over(["K1,0xP1,,same,0.99", "K1,0xP2,,same,0.99"], stated=[bucket])
    relations = session._assemble()
    assert relations == [bucket]
    assert session._sources == ["venue"]
    assert [source for _, source in session.contradictory] == ["mapping", "mapping"]


def test_structure_that_contradicts_itself_is_dropped_too() -> None:
    """Three markets pairwise exactly-one-YES cannot all hold: the venue's own groups are dropped
    as well; a consistent group elsewhere is not."""
    def pair(a, b):
        return {"kind": "bucket", "members": [f"polymarket:{a}", f"polymarket:{b}"], "exhaustive": True}
    stated = [pair("0xP1", "0xP2"), pair("0xP2", "0xP3"), pair("0xP1", "0xP3"), pair("0xP8", "0xP9")]
    session = session_over(["K2,0xP9,,same,0.99"], stated=stated)
    relations = session._assemble()
    assert relations == [pair("0xP8", "0xP9"), {"kind": "same", "a": "kalshi:K2", "b": "polymarket:0xP9",
                                                "confidence": "0.99"}]
    assert [r for r, _ in session.contradictory] == stated[:3]


# ---- 2. one relation per pair -------------------------------------------------------------------

def test_a_rules_relation_on_a_pair_the_mapping_relates_is_not_added_beside_it() -> None:
    """The reviewer's r2: inverse, complement and equivalent from --rules on the mapped pair were
    all added beside the mapping's `same` (keyed on the raw kind)."""
    rules = [{"kind": "inverse", "a": "polymarket:0xP1", "b": "kalshi:K1", "confidence": "1"},
             {"kind": "complement", "a": "kalshi:K1", "b": "polymarket:0xP1", "confidence": "1"},
             {"kind": "equivalent", "a": "kalshi:K1", "b": "polymarket:0xP1", "confidence": "1"},
             {"kind": "same", "a": "polymarket:0xP1", "b": "kalshi:K1", "confidence": "1"},
             {"kind": "same", "a": "kalshi:K2", "b": "polymarket:0xP2", "confidence": "1"}]
    session = session_over(["K1,0xP1,,same,0.99"], rules=rules)
    with capture_logs() as logs:
        relations = session._assemble()
    assert relations == [{"kind": "same", "a": "kalshi:K1", "b": "polymarket:0xP1", "confidence": "0.99"}, rules[4]]
    assert session._sources == ["mapping", "rules"]
    assert (session.rules_added, session.rules_dropped) == (1, 0)
    said = [(e["not_added"], e["kept"], e["parities_disagree"], e["log_level"])
            for e in logs if e["event"] == "relations.pair_already_related"]
    kept = "same(kalshi:K1, polymarket:0xP1) from mapping"
    assert said == [("inverse(polymarket:0xP1, kalshi:K1) from rules", kept, True, "warning"),
                    ("complement(kalshi:K1, polymarket:0xP1) from rules", kept, True, "warning"),
                    ("equivalent(kalshi:K1, polymarket:0xP1) from rules", kept, False, "warning")]
    # (the second `same` is a silent duplicate)
    assert session.contradictory == []


# ---- mid-session: generated twins -----------------------------------------------------------------

class Stub:
    def __init__(self, name, markets, books):
        self.venue, self.markets, self.books = name, markets, books

    async def discover_markets(self):
        return list(self.markets)

    async def discover_events(self):
        return []

    async def fetch_book(self, mid):
        return self.books[mid]

    async def close(self):
        pass


def stub_venues() -> dict:
    fees = FeeSchedule(0, 0, 10)
    k = [MarketInfo(Venue.KALSHI, f"K{i}", f"K{i}", fees=fees) for i in (1, 2)]
    p = [MarketInfo(Venue.POLYMARKET, f"0xP{i}", f"P{i}", fees=fees, yes_token=f"y{i}", no_token=f"n{i}")
         for i in (1, 2)]
    book = {m.market_id: Book(yes_bids=((4000, 10000),), no_bids=((5500, 10000),), market=m.id) for m in k + p}
    return {"kalshi": Stub("kalshi", k, book), "polymarket": Stub("polymarket", p, book)}


def test_generated_twins_that_close_a_contradictory_cycle_are_dropped_with_what_they_contradict() -> None:
    """--rules relate K2 ≡ P1 and P1 ≡ ¬P2; a generated twin K2 ≡ P2 closes a cycle that does not
    add up: all three are dropped mid-session, the user's unrelated row stays."""
    from arbbot.mapping.table import MappingRow
    rules = [{"kind": "same", "a": "kalshi:K2", "b": "polymarket:0xP1", "confidence": "1"},
             {"kind": "complement", "a": "polymarket:0xP1", "b": "polymarket:0xP2", "confidence": "1"}]

    async def go():
        session = LiveSession(stub_venues(), [], rules=rules)
        await session.discover()
        assert pairs(session._relations) == [("same", "kalshi:K2", "polymarket:0xP1"),
                                             ("complement", "polymarket:0xP1", "polymarket:0xP2")]
        added = session.apply_generated([MappingRow(("K2", "0xP2", ""), "same", 990_000)])
        return session, added
    session, added = asyncio.run(go())
    assert added == 0
    assert session._relations == [] and session._sources == []
    assert [(r["kind"], source) for r, source in session.contradictory] == [
        ("same", "rules"), ("complement", "rules"), ("same", "generated")]
    assert session.universe.relations == ()
