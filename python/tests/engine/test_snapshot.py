"""Snapshot parsing: units, JSON-path error messages, round trips."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from arbbot import units
from arbbot.snapshot import SnapshotError, load_snapshot, parse_snapshot, snapshot_to_dict

from .builders import KALSHI_FEES, market, snapshot

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


def test_units_parse_exactly():
    assert units.parse_price("0.5000") == 5_000 and units.parse_price("1") == 10_000
    assert units.parse_price("0.0001") == 1
    assert units.parse_size("900.5") == 90_050 and units.parse_size("0.01") == 1
    assert units.parse_rate("0.07") == 70_000 and units.parse_rate("0.0175") == 17_500
    assert units.parse_money("0.00001") == 10 and units.parse_money("4.328") == 4_328_000
    assert units.format_qty(22_000) == "220" and units.format_qty(1_250) == "12.5"
    assert units.format_qty(37) == "0.37" and units.format_qty(0) == "0"
    assert units.format_money(4_328_000) == "4.328000" and units.format_money(-5) == "-0.000005"
    assert units.format_price(4_500) == "0.4500" and units.format_price(10_000) == "1.0000"


@pytest.mark.parametrize("text", ["-1", "1e3", " 1", ".5", "5.", "0x10", "", "1,5", "+1"])
def test_units_reject_malformed_decimals(text):
    with pytest.raises(units.UnitError):
        units.parse_price(text)


BASE = snapshot([
    market("kalshi", "K1", KALSHI_FEES, yes_bids=[["0.42", "150"]], no_bids=[["0.55", "20"]]),
    market("polymarket", "P1", {"taker_rate": "0.03"}, yes_asks=[["0.45", "120"]]),
    market("polymarket", "P2", {}, no_asks=[["0.45", "120"]]),
], [{"kind": "same", "a": "kalshi:K1", "b": "polymarket:P1", "confidence": "0.98"}], max_qty="500")


def broken(mutate):
    obj = copy.deepcopy(BASE)
    mutate(obj)
    with pytest.raises(SnapshotError) as info:
        parse_snapshot(obj)
    return str(info.value)


@pytest.mark.parametrize("mutate, message", [
    (lambda o: o["markets"][0]["book"]["yes_bids"][0].__setitem__(0, "1.2"),
     "markets[0].book.yes_bids[0][0]: price 1.2 is above 1"),
    (lambda o: o["relations"][0].__setitem__("b", "kalshi:ZZ"), 'relations[0].b: unknown market "kalshi:ZZ"'),
    (lambda o: o["relations"].append({"kind": "bucket", "members": ["polymarket:P1", "kalshi:K1", "polymarket:P1"]}),
     "relations[1].members[2]: polymarket:P1 appears twice in one relation"),
    (lambda o: o["relations"][0].__setitem__("kind", "xor"), 'relations[0].kind: unknown kind "xor"'),
    (lambda o: o["markets"][0]["book"].__setitem__("yes_asks", [["0.5", "1"]]),
     "markets[0].book.yes_asks: kalshi books have bids only"),
    (lambda o: o["markets"][1]["book"]["yes_asks"][0].__setitem__(1, 12.5), "markets[1].book.yes_asks[0][1]: "),
    (lambda o: o["markets"][1]["book"]["yes_asks"][0].__setitem__(1, "1.005"), "markets[1].book.yes_asks[0][1]: "),
    (lambda o: o["markets"][1]["book"]["yes_asks"][0].__setitem__(0, "0.12345"), "markets[1].book.yes_asks[0][0]: "),
    (lambda o: o["markets"][1]["book"]["yes_asks"][0].__setitem__(1, "1000000.01"), "markets[1].book.yes_asks[0][1]: "),
    (lambda o: o["markets"][1].__setitem__("venue", "nyse"), 'markets[1].venue: unknown venue "nyse"'),
    (lambda o: o["markets"][2].__setitem__("id", "P1"), 'markets[2].id: duplicate market "polymarket:P1"'),
    (lambda o: o["markets"][1].__setitem__("lot", "0.5"), "markets[1].lot: "),
    (lambda o: o["markets"][1]["fees"].__setitem__("taker_rate", "1"), "markets[1].fees.taker_rate: "),
    (lambda o: o["markets"][1]["fees"].__setitem__("rounding", "0"), "markets[1].fees.rounding: "),
    (lambda o: o["markets"][1]["book"]["yes_asks"].append(["0.5"]), "markets[1].book.yes_asks[1]: "),
    (lambda o: o.__setitem__("format", "arbbot.snapshot/2"), "format: "),
    (lambda o: o.pop("markets"), "markets: "),
    (lambda o: o["params"].__setitem__("max_qty", "-5"), "params.max_qty: "),
    (lambda o: o["relations"][0].__setitem__("confidence", "1.5"), "relations[0].confidence: "),
    (lambda o: o["relations"].append({"kind": "tree", "parent": "kalshi:K1", "children": ["polymarket:P1"]}),
     "relations[1].children: "),
    (lambda o: o["relations"].append({"kind": "bucket", "members": ["kalshi:K1"]}), "relations[1].members: "),
    (lambda o: o["relations"].append({"kind": "bucket", "members": ["kalshi:K1", "polymarket:P2"], "exhaustive": "yes"}),
     "relations[1].exhaustive: "),
    (lambda o: o["relations"].append({"kind": "implies", "child": "kalshi:K1"}), "relations[1].parent: "),
    (lambda o: o["markets"].append("not a market"), "markets[3]: "),
])
def test_errors_name_the_deepest_json_path(mutate, message):
    assert broken(mutate).startswith(message)


def test_unknown_keys_are_ignored_and_zero_levels_kept_out_of_ladders():
    obj = copy.deepcopy(BASE)
    obj["future_field"] = {"x": 1}
    obj["markets"][0]["extra"] = True
    obj["markets"][0]["book"]["no_bids"].append(["0.10", "0"])
    universe = parse_snapshot(obj).universe
    assert universe.markets[0].book.no_bids == ((5_500, 2_000), (1_000, 0))
    assert universe.max_qty == 50_000 and universe.min_profit == 1
    assert universe.relations[0].confidence == 980_000


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.snapshot.json")))
def test_examples_round_trip(name):
    snap = load_snapshot(EXAMPLES / name)
    again = parse_snapshot(json.loads(json.dumps(snapshot_to_dict(snap.universe, snap.taken_at))))
    assert again.universe == snap.universe


def test_unreadable_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SnapshotError, match=r"^\$: invalid JSON at line 1"):
        load_snapshot(bad)
    with pytest.raises(SnapshotError, match=r"^\$: cannot read"):
        load_snapshot(tmp_path / "missing.json")
