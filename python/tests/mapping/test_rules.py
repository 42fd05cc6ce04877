"""`arbbot rules`: relations derived from venue metadata (golden output on the hand-written
listing bodies), the rules one by one, the CLI's exit codes, and `scan --rules`."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from arbbot.cli import main
from arbbot.mapping.listings import Listing, load_listings
from arbbot.mapping.rules import derive_relations, parse_line

DATA = Path(__file__).parent / "data"
KALSHI = [str(DATA / n) for n in ("kalshi_events.json", "kalshi_markets.json", "kalshi_events_fed.json")]
POLY = [str(DATA / n) for n in ("gamma_events.json", "gamma_markets.json")]
FX = [str(DATA / "forecastex_contracts.json")]


def fixture_relations() -> list[dict]:
    return derive_relations(load_listings("kalshi", KALSHI) + load_listings("polymarket", POLY)
                            + load_listings("forecastex", FX))


def test_golden_relations_of_the_fixture_listings():
    golden = json.loads((DATA / "fixtures.relations.json").read_text())
    assert golden["format"] == "arbbot.relations/1"
    assert fixture_relations() == golden["relations"]


def test_kalshi_buckets_are_never_exhaustive_and_skip_closed_markets():
    buckets = [r for r in fixture_relations() if r["kind"] == "bucket" and r["members"][0].startswith("kalshi:")]
    assert [(r["members"], r["exhaustive"], r["confidence"]) for r in buckets] == [
        (["kalshi:KXFEDDECISION-26DEC-C25", "kalshi:KXFEDDECISION-26DEC-H0"], False, "1"),   # event from another file
        (["kalshi:KXHIGHNY-26DEC01-B40.5", "kalshi:KXHIGHNY-26DEC01-T40", "kalshi:KXHIGHNY-26DEC01-T41"], False, "1"),
    ]
    assert buckets[1]["evidence"]["rule"] == "kalshi-mutually-exclusive"


def test_polymarket_neg_risk_buckets():
    rel = {tuple(r.get("members") or (r.get("a"), r.get("b"))): r for r in fixture_relations()
           if r["evidence"]["rule"] == "polymarket-neg-risk"}
    # augmented: "Person C" (placeholder) and "Other" left out, not exhaustive
    aug = rel[("polymarket:0xb1", "polymarket:0xb2")]
    assert aug["kind"] == "bucket" and aug["exhaustive"] is False
    assert "left out: Person C, Other" in aug["evidence"]["detail"]
    # 0xa4 was read from /markets only: the event body does not list it, so not exhaustive
    fed = rel[("polymarket:0xa1", "polymarket:0xa2", "polymarket:0xa3", "polymarket:0xa4")]
    assert fed["exhaustive"] is False
    # a whole two-outcome neg-risk event: exactly one YES → complement
    assert rel[("polymarket:0xc1", "polymarket:0xc2")]["kind"] == "complement"


def test_other_is_a_real_outcome_when_not_augmented():
    ev = {"id": "1", "negRisk": True, "markets": [
        {"conditionId": f"0x{c}", "negRisk": True, "groupItemTitle": t} for c, t in (("1", "ALV"), ("2", "BRK"), ("3", "Other"))]}
    relations = derive_relations(_poly([ev]))
    assert relations == [{"kind": "bucket", "members": ["polymarket:0x1", "polymarket:0x2", "polymarket:0x3"],
                          "exhaustive": True, "confidence": "1", "evidence": relations[0]["evidence"]}]


def test_a_closed_market_makes_a_neg_risk_bucket_not_exhaustive():
    ev = {"id": "1", "negRisk": True, "markets": [
        {"conditionId": f"0x{c}", "negRisk": True, "closed": c == "3"} for c in "123"]}
    [bucket] = derive_relations(_poly([ev]))
    assert bucket["members"] == ["polymarket:0x1", "polymarket:0x2"] and bucket["exhaustive"] is False


def test_the_venues_other_flag_and_markets_not_taking_orders():
    """Gamma flags an augmented event's "Other" market with `negRiskOther` whatever its name; a
    market past its end awaiting resolution stays `closed: false` but stops taking orders
    (`acceptingOrders: false`), and one without a CLOB has `enableOrderBook: false`: neither is
    a tradeable member, and without them the event is not listed whole."""
    aug = {"id": "7", "negRisk": True, "enableNegRisk": True, "markets": [
        {"conditionId": "0xa", "negRisk": True, "groupItemTitle": "Alice", "active": True},
        {"conditionId": "0xb", "negRisk": True, "groupItemTitle": "Bob", "active": True},
        {"conditionId": "0xc", "negRisk": True, "groupItemTitle": "Anyone else", "negRiskOther": True}]}
    [bucket] = derive_relations(_poly([aug]))
    assert bucket["members"] == ["polymarket:0xa", "polymarket:0xb"] and bucket["exhaustive"] is False
    assert "negRiskAugmented=true" in bucket["evidence"]["detail"] and "left out: Anyone else" in bucket[
        "evidence"]["detail"]
    for flag in ("acceptingOrders", "enableOrderBook"):
        ev = {"id": "8", "negRisk": True, "markets": [
            {"conditionId": f"0x{c}", "negRisk": True, flag: c != "3"} for c in "123"]}
        [bucket] = derive_relations(_poly([ev]))
        assert bucket["members"] == ["polymarket:0x1", "polymarket:0x2"] and bucket["exhaustive"] is False, flag
    whole = {"id": "9", "negRisk": True, "markets": [
        {"conditionId": f"0x{c}", "negRisk": True, "acceptingOrders": True, "enableOrderBook": True} for c in "12"]}
    assert [r["kind"] for r in derive_relations(_poly([whole]))] == ["complement"]


def test_a_ladder_below_zero_implies_in_the_right_direction():
    """"-10°F or below" is within "-5°F or below": the minus sign was dropped, the ladder read as
    10 and 5, and the implication reversed (at −7°F the trade YES ≤ −10 / NO ≤ −5 pays nothing)."""
    ev = {"id": "5", "markets": [
        {"conditionId": f"0x{c}", "question": f"Will the lowest temperature in Chicago on January 20 be {t}°F or below?"}
        for c, t in (("5", "-5"), ("10", "-10"))]}
    [r] = derive_relations(_poly([ev]))
    assert (r["kind"], r["child"], r["parent"]) == ("implies", "polymarket:0x10", "polymarket:0x5")


def test_a_neg_risk_event_holds_only_its_groups_markets():
    """Gamma's event flag does not make a market neg-risk: its own does. An event may hold a market
    beside its neg-risk group ("both teams to score" beside the match's outcomes) or two races'
    groups; taken as one exhaustive bucket, its all-NO set was said to pay one more than it can."""
    match = {"id": "20", "negRisk": True, "negRiskMarketID": "0xm", "markets": [
        {"conditionId": f"0x{c}", "negRisk": True, "negRiskMarketID": "0xm", "groupItemTitle": t}
        for c, t in (("1", "Arsenal"), ("2", "Draw"), ("3", "Chelsea"))]
        + [{"conditionId": "0x4", "negRisk": False, "question": "Both teams to score?"}]}
    [bucket] = derive_relations(_poly([match]))
    assert bucket["members"] == ["polymarket:0x1", "polymarket:0x2", "polymarket:0x3"] and not bucket["exhaustive"]
    races = {"id": "21", "negRisk": True, "markets": [
        {"conditionId": f"0x{c}", "negRisk": True, "negRiskMarketID": group, "groupItemTitle": t}
        for c, group, t in (("ga", "0xg", "GA Dem"), ("gr", "0xg", "GA Rep"), ("oa", "0xo", "OH Dem"),
                            ("or", "0xo", "OH Rep"))]}
    assert sorted((r["kind"], r["a"], r["b"]) for r in derive_relations(_poly([races]))) == [
        ("complement", "polymarket:0xga", "polymarket:0xgr"), ("complement", "polymarket:0xoa", "polymarket:0xor")]
    # a member whose group is unknown may be of either: each known group's bucket, neither whole
    races["markets"][3]["negRiskMarketID"] = None
    assert [(r["kind"], r["members"], r["exhaustive"]) for r in derive_relations(_poly([races]))] == [
        ("bucket", ["polymarket:0xga", "polymarket:0xgr"], False)]


def test_the_rules_and_the_adapter_group_neg_risk_markets_alike():
    """Two races' groups with a market of neither beside them (not neg-risk, no group id): each
    group is whole. The rules counted the other market in each group's listing and called neither
    exhaustive, while the adapter's relations (`providers.neg_risk_groups`) paired them as
    complements: one grouping (`providers.neg_risk_partition`) now serves both."""
    from arbbot.venues.polymarket.providers import neg_risk_groups
    from arbbot.venues.polymarket.schemas.gamma import parse_event
    races = {"id": "22", "negRisk": True, "markets": [
        {"conditionId": f"0x{c}", "negRisk": True, "negRiskMarketID": group, "groupItemTitle": t}
        for c, group, t in (("ga", "0xg", "GA Dem"), ("gr", "0xg", "GA Rep"), ("oa", "0xo", "OH Dem"),
                            ("or", "0xo", "OH Rep"))]
        + [{"conditionId": "0xturnout", "negRisk": False, "question": "Turnout above 60%?"}]}
    assert sorted((r["kind"], r["a"], r["b"]) for r in derive_relations(_poly([races]))) == [
        ("complement", "polymarket:0xga", "polymarket:0xgr"), ("complement", "polymarket:0xoa", "polymarket:0xor")]
    ev = parse_event({**races, "markets": [{**m, "active": True, "closed": False, "clobTokenIds": '["1", "2"]',
                                            "outcomes": '["Yes", "No"]'} for m in races["markets"]]})
    kept = {gm.condition_id: SimpleNamespace(market_id=gm.condition_id, active=True) for gm in ev.markets}
    assert neg_risk_groups(ev, kept) == [(("0xga", "0xgr"), True), (("0xoa", "0xor"), True)]


def _poly(body) -> list[Listing]:
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "gamma.json"
        f.write_text(json.dumps(body))
        return load_listings("polymarket", [str(f)])


def test_strike_ladders_and_complements():
    rel = [(r["kind"], r.get("child") or r.get("a"), r.get("parent") or r.get("b"), r["confidence"])
           for r in fixture_relations() if r["evidence"]["rule"] == "kalshi-strikes"]
    assert rel == [
        ("complement", "kalshi:KXBTCD-26DEC3117-B99999.99", "kalshi:KXBTCD-26DEC3117-T99999.99", "0.99"),
        ("implies", "kalshi:KXBTCD-26DEC3117-T104999.99", "kalshi:KXBTCD-26DEC3117-T99999.99", "0.99"),
    ]


def kalshi(ticker, strike_type, floor=None, cap=None, event="E") -> Listing:
    return Listing("kalshi", ticker, event, ticker, strike_type=strike_type, mutually_exclusive=False,
                   floor_strike=None if floor is None else Decimal(floor), cap_strike=None if cap is None else Decimal(cap))


@pytest.mark.parametrize("a, b, expected", [
    (kalshi("GE5", "greater_or_equal", 5), kalshi("GT5", "greater", 5), ("implies", "GT5", "GE5")),   # (5,∞) ⊂ [5,∞)
    (kalshi("B6", "between", 6, 7), kalshi("GT5", "greater", 5), ("implies", "B6", "GT5")),
    (kalshi("B5", "between", 5, 7), kalshi("GT5", "greater", 5), None),                             # 5 ∉ (5,∞)
    (kalshi("LT3", "less", None, 3), kalshi("LE4", "less_or_equal", None, 4), ("implies", "LT3", "LE4")),
    (kalshi("LT3", "less", None, 3), kalshi("GE3", "greater_or_equal", 3), ("complement", "GE3", "LT3")),
    (kalshi("LE3", "less_or_equal", None, 3), kalshi("GE3", "greater_or_equal", 3), None),          # overlap at 3
    (kalshi("C1", "custom"), kalshi("GT5", "greater", 5), None),
])
def test_strike_intervals(a, b, expected):
    got = [(r["kind"], (r.get("child") or r.get("a")).split(":")[1], (r.get("parent") or r.get("b")).split(":")[1])
           for r in derive_relations([a, b])]
    assert got == ([expected] if expected else [])


def test_polymarket_title_ladder_skips_closed_and_other_underlyings():
    rel = [r for r in fixture_relations() if r["evidence"]["rule"] == "polymarket-title-lines"]
    # $120,000 is closed; the Ethereum line has another template
    assert [(r["child"], r["parent"], r["confidence"]) for r in rel] == [("polymarket:0xd2", "polymarket:0xd1", "0.9")]


def test_forecastex_ladder_from_titles_that_state_the_strike():
    rel = [r for r in fixture_relations() if r["evidence"]["rule"] == "forecastex-title-lines"]
    assert [(r["child"], r["parent"]) for r in rel] == [("forecastex:FF-20261216-4.125", "forecastex:FF-20261216-3.875")]
    wrong = Listing("forecastex", "FF-1-5", "FF-1", "Fed funds above 4.5%?", floor_strike=Decimal(5))
    right = Listing("forecastex", "FF-1-3", "FF-1", "Fed funds above 3%?", floor_strike=Decimal(3))
    assert derive_relations([wrong, right]) == []


def test_below_ladders_and_no_ladder_in_exclusive_events():
    low = Listing("polymarket", "0x1", "9", "Will CPI be below 2.5% in 2026?", mutually_exclusive=False)
    high = Listing("polymarket", "0x2", "9", "Will CPI be below 3% in 2026?", mutually_exclusive=False)
    [r] = derive_relations([low, high])
    assert (r["kind"], r["child"], r["parent"]) == ("implies", "polymarket:0x1", "polymarket:0x2")
    exclusive = [Listing("kalshi", t, "E", f"Fed cuts {n}bp or more?", mutually_exclusive=True) for t, n in
                 (("C25", 25), ("C50", 50))]
    assert [r["kind"] for r in derive_relations(exclusive)] == ["bucket"]


def test_polymarket_totals_ladder_from_line_and_over_outcome():
    def total(cid, line, outcomes=("Over", "Under")):
        return {"conditionId": cid, "question": f"Lakers vs. Celtics: O/U {line}", "line": line,
                "outcomes": json.dumps(list(outcomes)), "sportsMarketType": "totals"}
    ev = {"id": "50001", "negRisk": False, "markets": [total("0x1", 220.5), total("0x2", 224.5),
                                                       total("0x3", 228.5, ("Under", "Over"))]}
    [r] = derive_relations(_poly([ev]))
    assert (r["kind"], r["child"], r["parent"]) == ("implies", "polymarket:0x2", "polymarket:0x1")
    assert r["evidence"]["detail"] == "'Over|Lakers vs. Celtics: O/U #' above 224.5 implies above 220.5"


@pytest.mark.parametrize("title, up, value, template", [
    ("Will the price of Bitcoin be above $100,000 on June 30?", True, "100000", "Will the price of Bitcoin be above $# on June 30?"),
    ("↑ 120k", True, "120000", "↑ #"),
    ("4.125% or more", True, "4.125", "#% or more"),
    ("Under 2.5 goals", False, "2.5", "Under # goals"),
    ("Fed cuts 50bp or less", False, "50", "Fed cuts #bp or less"),
    ("Will the low in Chicago be -5°F or below?", False, "-5", "Will the low in Chicago be -#°F or below?"),
    ("GDP growth −1.5% or lower", False, "-1.5", "GDP growth −#% or lower"),
    ("Will WTI close at $-5 or lower?", False, "-5", "Will WTI close at $-# or lower?"),
    ("Will WTI close at -$5 or lower?", False, "-5", "Will WTI close at -$# or lower?"),
    ("Fed decision in July - 25+ bps cut?", True, "25", "Fed decision in July - #+ bps cut?"),
    ("NYC high on June 5 - 90°F or higher?", True, "90", "NYC high on June 5 - #°F or higher?"),
])
def test_parse_line(title, up, value, template):
    line = parse_line(title)
    assert (line.up, line.value, line.template) == (up, Decimal(value), template)


@pytest.mark.parametrize("title", ["Will Bitcoin hit $150k in 2026?", "Between 2 and 3?", "Moreover 5",
                                   "at least 2 or more", "above 3 and below 5", "3-5% or more"])
def test_parse_line_needs_exactly_one_directional_number(title):
    assert parse_line(title) is None


# ---- the command -------------------------------------------------------------------------

def test_rules_cli_json_and_out(tmp_path, capsys):
    out = tmp_path / "rules.json"
    code = main(["rules", "--kalshi", *KALSHI, "--polymarket", *POLY, "--forecastex", *FX, "--out", str(out), "--json"])
    printed, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert json.loads(printed) == json.loads(out.read_text()) == json.loads((DATA / "fixtures.relations.json").read_text())


def test_rules_cli_table(capsys):
    assert main(["rules", "--kalshi", *KALSHI]) == 0
    out = capsys.readouterr().out
    assert "4 relations from 9 listed markets" in out and "complement" in out


@pytest.mark.parametrize("argv, message", [
    ([], "give at least one of"),
    (["--kalshi", "DATA/gamma_events.json"], "gamma_events.json: $: expected an object"),
    (["--polymarket", "DATA/kalshi_events.json"], "kalshi_events.json: $: neither a market"),
])
def test_rules_cli_input_errors_exit_2(capsys, argv, message):
    code = main(["rules", *[a.replace("DATA", str(DATA)) for a in argv]])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


# ---- scan --rules ------------------------------------------------------------------------

def ladder_snapshot() -> dict:
    """Two rungs of the Bitcoin ladder: YES above $100k asks 0.50 (NO bid 0.50), NO above
    $105k asks 0.40 (YES bid 0.60): 0.90 for a pair that pays at least $1 — an implication
    arbitrage that only a relation between the two reveals."""
    fees = {"taker_rate": "0.07", "rounding": "0.01"}
    return {"format": "arbbot.snapshot/1", "markets": [
        {"venue": "kalshi", "id": "KXBTCD-26DEC3117-T99999.99", "fees": fees,
         "book": {"yes_bids": [["0.45", "100"]], "no_bids": [["0.50", "100"]]}},
        {"venue": "kalshi", "id": "KXBTCD-26DEC3117-T104999.99", "fees": fees,
         "book": {"yes_bids": [["0.60", "100"]], "no_bids": [["0.35", "100"]]}},
    ]}


def test_scan_with_rules_finds_what_the_snapshot_alone_does_not(tmp_path, capsys):
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(ladder_snapshot()))
    rules = tmp_path / "rules.json"
    assert main(["rules", "--kalshi", *KALSHI, "--out", str(rules), "--json"]) == 0
    capsys.readouterr()
    assert main(["scan", str(snap), "--json", "--engine", "python"]) == 0
    assert json.loads(capsys.readouterr().out)["opportunities"] == []
    assert main(["scan", str(snap), "--json", "--engine", "python", "--rules", str(rules)]) == 0
    out, err = capsys.readouterr()
    [opp] = json.loads(out)["opportunities"]
    assert opp["lane"] == "tree" and opp["qty"] == "100"
    assert [(leg["market"], leg["side"], leg["worst_price"]) for leg in opp["legs"]] == [
        ("kalshi:KXBTCD-26DEC3117-T99999.99", "yes", "0.5000"), ("kalshi:KXBTCD-26DEC3117-T104999.99", "no", "0.4000")]
    # 100 × $1 − $90 − fees ($1.75 + $1.68, each rounded up to the cent per order)
    assert opp["profit"] == "6.570000"
    assert err == f"arbbot scan: 3 relation(s) of {rules} name markets not in the snapshot; dropped\n"


def test_scan_does_not_add_a_relation_the_snapshot_has(tmp_path, capsys):
    body = ladder_snapshot()
    body["relations"] = [{"kind": "implies", "child": "kalshi:KXBTCD-26DEC3117-T104999.99",
                          "parent": "kalshi:KXBTCD-26DEC3117-T99999.99"}]
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(body))
    from arbbot.mapping.rules_file import load_rules, merge_rules, relation_key
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"format": "arbbot.relations/1", "relations": body["relations"]}))
    known = {"kalshi:KXBTCD-26DEC3117-T99999.99", "kalshi:KXBTCD-26DEC3117-T104999.99"}
    present = [relation_key("implies", ["kalshi:KXBTCD-26DEC3117-T99999.99", "kalshi:KXBTCD-26DEC3117-T104999.99"])]
    assert merge_rules(load_rules(rules), known, present) == ([], 0)
    assert main(["scan", str(snap), "--json", "--engine", "python", "--rules", str(rules)]) == 0
    assert len(json.loads(capsys.readouterr().out)["opportunities"]) == 1


def test_a_bucket_already_present_as_exhaustive_is_not_added():
    from arbbot.mapping.rules_file import merge_rules, relation_key
    names = ["kalshi:A", "kalshi:B"]
    plain = {"kind": "bucket", "members": names[::-1], "exhaustive": False}
    assert merge_rules([plain], set(names), [relation_key("bucket", names, True)]) == ([], 0)
    stated = {"kind": "bucket", "members": names, "exhaustive": True}
    assert merge_rules([stated], set(names), [relation_key("bucket", names, False)]) == ([stated], 0)


def test_a_non_exhaustive_bucket_keeps_its_known_members():
    from arbbot.mapping.rules_file import merge_rules
    rules = [{"kind": "bucket", "members": ["kalshi:A", "kalshi:B", "kalshi:C"], "exhaustive": False},
             {"kind": "bucket", "members": ["polymarket:A", "polymarket:B", "polymarket:C"], "exhaustive": True},
             {"kind": "complement", "a": "kalshi:A", "b": "kalshi:Z"}]
    added, dropped = merge_rules(rules, {"kalshi:A", "kalshi:C", "polymarket:A", "polymarket:B"}, [])
    assert added == [{"kind": "bucket", "members": ["kalshi:A", "kalshi:C"], "exhaustive": False}] and dropped == 2


@pytest.mark.parametrize("body, message", [
    ({"format": "arbbot.snapshot/1", "relations": []}, "format: expected \"arbbot.relations/1\""),
    ({"format": "arbbot.relations/1", "relations": [{"kind": "xor", "a": "kalshi:A", "b": "kalshi:B"}]},
     "relations[0].kind: unknown kind \"xor\""),
    ({"format": "arbbot.relations/1", "relations": [
        {"kind": "implies", "child": "kalshi:A", "parent": "kalshi:B"},
        {"kind": "bucket", "members": ["kalshi:A", "kalshi:A"]}]}, "relations[1].members[1]: kalshi:A appears twice"),
    ({"format": "arbbot.relations/1", "relations": [{"kind": "same", "a": "kalshi:A", "b": "kalshi:B",
                                                    "confidence": "1.5"}]}, "relations[0].confidence"),
])
def test_scan_rejects_a_malformed_rules_file(tmp_path, capsys, body, message):
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(ladder_snapshot()))
    rules = tmp_path / "bad-rules.json"
    rules.write_text(json.dumps(body))
    code = main(["scan", str(snap), "--rules", str(rules)])
    err = capsys.readouterr().err
    assert code == 2 and f"bad-rules.json: {message}" in err and "Traceback" not in err


def test_a_bucket_whose_members_are_not_a_list_is_named(tmp_path):
    from arbbot.mapping.rules_file import RulesFileError, load_rules
    f = tmp_path / "r.json"
    f.write_text(json.dumps({"format": "arbbot.relations/1", "relations": [{"kind": "bucket", "members": 5}]}))
    with pytest.raises(RulesFileError, match=r"r\.json: relations\[0\]\.members: expected a list"):
        load_rules(f)
