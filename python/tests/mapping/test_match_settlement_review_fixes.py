"""Fixes from a review of the matcher (scripts in the review's r12_close_gap, r6_tie_rule,
r10_flip_quit):

1. an undated question ("Will the US government shut down?") is asked until its deadline, read
   from the rules too: deadlines days apart are rejected (both stated in the rules) or cautioned
   under auto-approval (a side with its close time only); dated questions keep the old rule;
2. what a tie or draw resolves to, read from each side's rules: different rules are rejected
   (for an inverse pair, the rules must be opposite), a rule on one side only is a caution;
3. `arbbot map --review`: a flipped row left unreviewed is saved under auto-approval."""
from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from arbbot.mapping.listings import Listing, listings_from_bodies
from arbbot.mapping.match.features import Features
from arbbot.mapping.match.matcher import match
from arbbot.mapping.match.review import review
from arbbot.mapping.match.scoring import CAUTION_CAP
from arbbot.mapping.match.settlement import check
from arbbot.mapping.table import DEFAULT_AUTO_APPROVE, HEADER, load_mappings, trade_selection
from arbbot.mapping.match import calibration

TOP = calibration.shipped()[-1][1]          # the calibration's top step: a pair with no caution

DATA = Path(__file__).parent / "data"
AUTO = DEFAULT_AUTO_APPROVE / 1_000_000
SHUT = "Will the US government shut down?"


def K(title: str, mid: str = "KXSHUT-26", **kw) -> Listing:
    return Listing("kalshi", mid, "KXSHUT", title, **kw)


def P(title: str, mid: str = "0xs1", **kw) -> Listing:
    return Listing("polymarket", mid, "9", title, **kw)


def pairs(a: Listing, b: Listing) -> list[tuple[str, float, tuple[str, ...]]]:
    return [(p.relation, p.confidence, p.reasons) for p in match({"kalshi": [a], "polymarket": [b]}, 0.0)]


# ---- 1. deadlines of an undated question -----------------------------------------------------

def test_undated_question_with_rules_deadlines_days_apart_is_rejected() -> None:
    """r12: Kalshi closes Jan 31 (its rules: "before the market closes"), Polymarket's rules say
    "before Feb 6, 2026": paired `same` at 0.975 with no caution before the fix."""
    k = K(SHUT, closes_at="2026-01-31T04:59:00Z",
          rules="If the federal government shuts down before the market closes, resolves Yes.")
    p = P(SHUT, closes_at="2026-02-06T04:59:00Z",
          rules="This market resolves to Yes if the US federal government shuts down before Feb 6, 2026.")
    assert Features.of(k).deadline == date(2026, 1, 31) and Features.of(p).deadline == date(2026, 2, 5)
    v = check(Features.of(k), Features.of(p))
    assert v.rejects == ["deadline differs: 2026-01-31 (rules) vs 2026-02-05 (rules)"]
    assert pairs(k, p) == []


def test_undated_question_with_close_dates_days_apart_is_capped_under_auto_approval() -> None:
    """r12, no rules: the close dates are the only deadlines, 6 days apart (a caution: a venue may
    close a market after the question's deadline), so a person must look."""
    k, p = K(SHUT, closes_at="2026-01-31T04:59:00Z"), P(SHUT, closes_at="2026-02-06T04:59:00Z")
    v = check(Features.of(k), Features.of(p))
    assert v.ok and v.cautions == ["deadline differs: 2026-01-31 (close) vs 2026-02-06 (close)"]
    [(relation, confidence, reasons)] = pairs(k, p)
    assert relation == "same" and confidence == CAUTION_CAP < AUTO
    assert "caution: deadline differs: 2026-01-31 (close) vs 2026-02-06 (close)" in reasons


def test_a_rules_deadline_against_the_other_close_date_is_a_caution() -> None:
    k = K(SHUT, closes_at="2026-01-31T04:59:00Z")
    p = P(SHUT, closes_at="2026-02-06T04:59:00Z", rules="Resolves Yes if it shuts down by 11:59 PM ET on February 5, 2026.")
    v = check(Features.of(k), Features.of(p))
    assert v.ok and v.cautions == ["deadline differs: 2026-01-31 (close) vs 2026-02-05 (rules)"]


@pytest.mark.parametrize("k_close, k_rules", [
    ("2026-02-06T04:59:00Z", ""),                                                        # 23:59 ET Feb 5 as a UTC date
    ("2026-02-06T04:59:00Z", "Resolves Yes if it shuts down before the market closes."),  # the same, stated
    ("2026-02-05T23:00:00Z", "Resolves Yes if it shuts down on or before February 5, 2026."),
])
def test_the_same_deadline_within_a_day_passes_without_caution(k_close: str, k_rules: str) -> None:
    """One instant (23:59 ET on Feb 5 = 04:59 UTC on Feb 6) read as adjacent days is one deadline."""
    k = K(SHUT, closes_at=k_close, rules=k_rules)
    p = P(SHUT, closes_at="2026-02-06T04:59:00Z",
          rules="This market resolves to Yes if the US federal government shuts down before Feb 6, 2026.")
    v = check(Features.of(k), Features.of(p))
    assert v.ok and v.cautions == [] and v.rejects == []
    assert [(r, c) for r, c, _ in pairs(k, p)] == [("same", TOP)]


@pytest.mark.parametrize("rules, deadline", [
    ("Resolves Yes if it happens before Feb 6, 2026.", date(2026, 2, 5)),
    ("Resolves Yes if it happens by 11:59 PM ET on February 5, 2026.", date(2026, 2, 5)),
    ("Resolves Yes if it happens on or before March 3, 2026.", date(2026, 3, 3)),
    ("Resolves Yes if it happens by the end of 2026.", date(2026, 12, 31)),
    ("Resolves Yes if it happens before the market closes.", date(2026, 2, 6)),
    # a void clause's date and a point in time are no deadline
    ("Resolves Yes if it happens. If the vote is postponed and not held by April 1, 2026, resolves No. "
     "Data published on March 9, 2026.", None),
    ("", None),
])
def test_the_rules_deadline(rules: str, deadline: date | None) -> None:
    assert Features.of(P(SHUT, closes_at="2026-02-06T04:59:00Z", rules=rules)).deadline == deadline


def test_dated_questions_keep_the_close_date_rule() -> None:
    """A question with its own date is decided by it: close dates 6 days apart say nothing."""
    k = K("Will the US government shut down by Jan 30, 2026?", closes_at="2026-01-31T04:59:00Z")
    p = P("US government shutdown by January 30, 2026?", closes_at="2026-02-06T04:59:00Z")
    v = check(Features.of(k), Features.of(p))
    assert v.ok and v.cautions == [] and "same date 2026-01-30" in v.agreements


# ---- 2. tie / draw rules ---------------------------------------------------------------------

def _nfl(kalshi_rule: str | None, poly_rule: str | None) -> dict[str, list[Listing]]:
    """The NFL game of the venue-shape data (Kalshi's DAL and WAS markets, Polymarket's Cowboys
    vs. Commanders) with the tie rules given appended to each side's rules."""
    k = json.loads((DATA / "shapes_kalshi_markets.json").read_text(encoding="utf-8"))
    g = json.loads((DATA / "shapes_gamma_events.json").read_text(encoding="utf-8"))
    for m in k["markets"]:
        if m["ticker"].startswith("KXNFLGAME") and kalshi_rule:
            m["rules_secondary"] = kalshi_rule
    for e in (g if isinstance(g, list) else g["data"]):
        for m in e.get("markets", []):
            if m.get("conditionId") == "0xdd01" and poly_rule:
                m["description"] += " " + poly_rule
    return {"kalshi": [x for x in listings_from_bodies("kalshi", [k]) if x.market_id.startswith("KXNFLGAME")],
            "polymarket": [x for x in listings_from_bodies("polymarket", [g]) if x.market_id == "0xdd01"]}


def _nfl_verdicts(kalshi_rule: str | None, poly_rule: str | None) -> dict[str, tuple[str, list[str], list[str]]]:
    got = _nfl(kalshi_rule, poly_rule)
    [poly] = got["polymarket"]
    return {x.market_id.rsplit("-", 1)[1]: (v.relation, v.rejects, v.cautions)
            for x in got["kalshi"] for v in [check(Features.of(x), Features.of(poly))]}


def _nfl_pairs(kalshi_rule: str | None, poly_rule: str | None) -> dict[str, tuple[str, float]]:
    return {p.ids[0].rsplit("-", 1)[1]: (p.relation, p.confidence) for p in match(_nfl(kalshi_rule, poly_rule), 0.5)}


KALSHI_TIE_NO = "If the game ends in a tie, the market resolves to No."
POLY_TIE_5050 = "If the game ends in a tie, this market will resolve 50-50."


def test_tie_no_against_tie_50_50_is_rejected() -> None:
    """r6: both NFL twins (DAL same, WAS inverse) paired at 0.975 with no caution before the fix."""
    assert _nfl_verdicts(KALSHI_TIE_NO, POLY_TIE_5050) == {
        "DAL": ("same", ["tie rule differs: no vs 50-50"], []),
        "WAS": ("inverse", ["tie rule differs: no vs 50-50 (inverse pair)"], [])}
    assert _nfl_pairs(KALSHI_TIE_NO, POLY_TIE_5050) == {}
    assert _nfl_pairs(None, None) == {"DAL": ("same", TOP), "WAS": ("inverse", TOP)}   # the twins without tie rules


def test_a_tie_rule_on_one_side_only_is_capped_under_auto_approval() -> None:
    assert _nfl_verdicts(KALSHI_TIE_NO, None) == {"DAL": ("same", [], ["tie rule stated on one side only: no"]),
                                                  "WAS": ("inverse", [], ["tie rule stated on one side only: no"])}
    assert _nfl_pairs(KALSHI_TIE_NO, None) == {"DAL": ("same", CAUTION_CAP), "WAS": ("inverse", CAUTION_CAP)}


def test_an_inverse_pair_needs_opposite_tie_rules() -> None:
    """Tie → No on both sides: the `same` pair hedges; the inverse one (YES WAS against YES DAL)
    loses both legs on a tie. Tie → 50-50 on both hedges either way."""
    both_no = _nfl_verdicts(KALSHI_TIE_NO, "If the game ends in a tie, the market resolves to No.")
    assert both_no == {"DAL": ("same", [], []), "WAS": ("inverse", ["tie rule differs: no vs no (inverse pair)"], [])}
    both_half = _nfl_verdicts("If the game ends in a tie, the market resolves 50-50.", POLY_TIE_5050)
    assert both_half == {"DAL": ("same", [], []), "WAS": ("inverse", [], [])}
    assert _nfl_pairs("If the game ends in a tie, the market resolves 50-50.", POLY_TIE_5050) == {
        "DAL": ("same", TOP), "WAS": ("inverse", TOP)}


@pytest.mark.parametrize("rules, tie", [
    ("If the game ends in a tie, the market resolves to No.", {"no"}),
    ("If the game ends in a tie, this market will resolve 50-50.", {"50-50"}),
    ("In the event of a draw, the market resolves to \"No\".", {"no"}),
    ("If the match ends in a draw, all positions are refunded.", {"void"}),
    ("Resolves Yes if Dallas wins, and No if Washington wins or the game ends in a tie.", {"no"}),
    ("Resolves Yes if Dallas wins, otherwise No, including a tie.", {"no"}),
    ("The market resolves 50-50 in the event of a tie.", {"50-50"}),
    ("The tie-breaker is the earliest filing. Resolves Yes if filed.", set()),
    ("The price is tied to the index; resolves Yes if above.", set()),
])
def test_the_tie_rule_read_from_the_rules(rules: str, tie: set[str]) -> None:
    assert Features.of(P("Cowboys vs. Commanders", rules=rules)).tie == frozenset(tie)


# ---- 3. review: flip, then quit --------------------------------------------------------------

def _review(tmp_path: Path, script: str, row: str = "K1,0xP1,,same,0.975,title similarity 1.00,") -> Path:
    path = tmp_path / "m.csv"
    path.write_text(",".join(HEADER) + ",reasons,approved\n" + row + "\n", encoding="utf-8")
    review(path, {}, io.StringIO(script), Console(file=io.StringIO()))
    return path


def test_a_flipped_row_left_unreviewed_is_not_auto_traded(tmp_path: Path) -> None:
    """r10: saved `inverse` at the 0.975 computed for `same`, unreviewed: traded on paper."""
    [row] = load_mappings(_review(tmp_path, "f\nq\n"))
    assert (row.relation, row.confidence, row.approved) == ("inverse", 900_000, None)
    assert row.reason_list() == ["title similarity 1.00", "relation flipped to inverse in review (the confidence was for same)"]
    selection = trade_selection([row])
    assert selection.rows == [] and selection.left_out["below_auto_approve"] == 1


def test_a_flipped_row_skipped_is_not_auto_traded_and_a_low_confidence_stays(tmp_path: Path) -> None:
    [row] = load_mappings(_review(tmp_path, "f\ns\n"))
    assert (row.relation, row.confidence, row.approved) == ("inverse", 900_000, None)
    [low] = load_mappings(_review(tmp_path, "f\nq\n", "K1,0xP1,,same,0.6,title 0.88,"))
    assert (low.relation, low.confidence) == ("inverse", 600_000)


def test_a_flipped_row_approved_trades_and_a_second_flip_restores_the_row(tmp_path: Path) -> None:
    [row] = load_mappings(_review(tmp_path, "f\na\n"))
    assert (row.relation, row.confidence, row.approved) == ("inverse", 900_000, True)
    assert trade_selection([row]).rows == [row]
    [back] = load_mappings(_review(tmp_path, "f\nf\nq\n"))
    assert (back.relation, back.confidence, back.approved, back.reasons) == ("same", 975_000, None, "title similarity 1.00")
