"""The mapping CSV's `approved` column (yes / no / blank) and which rows a session trades: approved
rows, unreviewed rows at confidence ≥ auto_approve_confidence unless --live, rejected rows never."""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from arbbot.config import ConfigError, load_settings
from arbbot.mapping.table import (HEADER, MappingError, MappingRow, load_mappings,
                                  parse_mappings, trade_selection, write_mappings)
from arbbot.run.live import LiveSession, default_session_mappings
from arbbot.mapping.generate import merge_mappings
from tests.mapping.twins import sim_twins

OLD = ["kalshi_ticker,polymarket_condition_id,forecastex_conid,relation,confidence",
       "K1,P1,,same,0.97", "K2,,F2,inverse,0.5"]


def rows_of(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_old_five_column_files_load_unreviewed_and_write_back_with_approved(tmp_path: Path) -> None:
    rows = parse_mappings(OLD, "old.csv")
    assert [(r.ids, r.relation, r.confidence, r.approved, r.reasons) for r in rows] == [
        (("K1", "P1", ""), "same", 970_000, None, None), (("K2", "", "F2"), "inverse", 500_000, None, None)]
    out = tmp_path / "m.csv"
    write_mappings(rows, out)
    assert out.read_text(encoding="utf-8").splitlines() == [",".join([*HEADER, "approved"]),
                                                            "K1,P1,,same,0.97,", "K2,,F2,inverse,0.5,"]
    assert load_mappings(out) == rows


def test_round_trip_keeps_reasons_and_approval(tmp_path: Path) -> None:
    lines = [",".join([*HEADER, "reasons", "approved"]),
             'K1,P1,,same,0.97,"same date 2026-12-31; same threshold 100000, coinbase",yes',
             "K2,P2,,inverse,0.9,,NO",
             "K3,P3,,same,0.8,title 0.91,"]
    rows = parse_mappings(lines, "m.csv")
    assert [r.approved for r in rows] == [True, False, None]
    assert rows[0].reasons == "same date 2026-12-31; same threshold 100000, coinbase"
    assert rows[0].reason_list() == ["same date 2026-12-31", "same threshold 100000, coinbase"]
    assert rows[1].reasons == "" and rows[1].reason_list() == []
    out = tmp_path / "m.csv"
    write_mappings(rows, out)
    assert list(rows_of(out)[0]) == [*HEADER, "reasons", "approved"]
    assert [r["approved"] for r in rows_of(out)] == ["yes", "no", ""]
    assert load_mappings(out) == rows


def test_approved_before_reasons_is_read_and_the_column_order_kept(tmp_path: Path) -> None:
    rows = parse_mappings([",".join([*HEADER, "approved", "reasons"]), "K1,P1,,same,1,yes,r1"], "m.csv")
    assert (rows[0].approved, rows[0].reasons) == (True, "r1")
    out = tmp_path / "m.csv"
    write_mappings(rows, out, [*HEADER, "approved", "reasons"])
    assert out.read_text(encoding="utf-8").splitlines()[1] == "K1,P1,,same,1,yes,r1"


def test_the_matchers_csv_reads_as_is() -> None:
    from arbbot.mapping.match.matcher import Pair
    from arbbot.mapping.match.output import to_csv
    pair = Pair(("K1", "P1", ""), "inverse", 0.93, ("orientation: YES is the other team", "same date 2026-12-02"))
    rows = parse_mappings(to_csv([pair]).splitlines(), "proposed.csv")
    assert (rows[0].relation, rows[0].confidence, rows[0].approved) == ("inverse", 930_000, None)
    assert rows[0].reason_list() == ["orientation: YES is the other team", "same date 2026-12-02"]


@pytest.mark.parametrize("lines, message", [
    ([",".join([*HEADER, "approved"]), "K,P,,same,0.9,maybe"], ":2: approved 'maybe' must be yes, no or blank"),
    ([",".join([*HEADER, "notes"]), "K,P,,same,0.9,x"], ":1: unknown column 'notes'"),
    ([",".join([*HEADER, "approved", "approved"]), "K,P,,same,0.9,,"], ":1: a column is repeated"),
    ([",".join([*HEADER, "approved"]), "K,P,,same,0.9"], ":2: expected 6 columns, got 5"),
    ([",".join(HEADER[:4])], ":1: header must be"),
])
def test_malformed_approval_columns_name_the_line(lines, message) -> None:
    with pytest.raises(MappingError, match=message):
        parse_mappings(lines, "m.csv")


def test_missing_file_is_a_mapping_error(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="nope.csv"):
        load_mappings(tmp_path / "nope.csv")


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "m.csv"
    out.write_text("\n".join(OLD) + "\n", encoding="utf-8")
    os.chmod(out, 0o640)
    before = out.read_text(encoding="utf-8")
    rows = [MappingRow(("K9", "P9", ""), "same", 1_000_000, True)]

    def broken(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        write_mappings(rows, out)
    assert out.read_text(encoding="utf-8") == before and os.listdir(tmp_path) == ["m.csv"]
    monkeypatch.undo()
    write_mappings(rows, out)
    assert load_mappings(out) == rows and os.listdir(tmp_path) == ["m.csv"]
    assert out.stat().st_mode & 0o777 == 0o640           # the file's mode is kept


# ---- which rows trade -------------------------------------------------------------------------

ROWS = [MappingRow(("A", "a", ""), "same", 500_000, True),      # approved, low confidence
        MappingRow(("B", "b", ""), "same", 990_000, False),     # rejected, high confidence
        MappingRow(("C", "c", ""), "same", 950_000),            # unreviewed, at the default bar
        MappingRow(("D", "d", ""), "same", 949_999),            # unreviewed, just below it
        MappingRow(("E", "", "e"), "inverse", 1_000_000)]       # unreviewed, certain


@pytest.mark.parametrize("approved_only, auto_approve, traded, left_out", [
    (False, 950_000, "ACE", {"rejected": 1, "below_auto_approve": 1}),
    (False, 0, "ACDE", {"rejected": 1}),
    (False, 1_000_000, "AE", {"rejected": 1, "below_auto_approve": 2}),
    (True, 950_000, "A", {"rejected": 1, "unreviewed_live": 3}),
    (True, 0, "A", {"rejected": 1, "unreviewed_live": 3}),          # --live: the bar does not apply
])
def test_trade_selection(approved_only, auto_approve, traded, left_out) -> None:
    chosen = trade_selection(ROWS, auto_approve=auto_approve, approved_only=approved_only)
    assert "".join(r.ids[0] for r in chosen.rows) == traded
    assert dict(chosen.left_out) == left_out
    text = chosen.describe(auto_approve)
    assert text.startswith("1 rejected (approved=no)") and ("unreviewed" in text) == (len(left_out) > 1)


def test_live_session_filters_its_mappings_once() -> None:
    session = LiveSession({}, ROWS)
    assert [r.ids[0] for r in session.mappings] == ["A", "C", "E"]
    assert dict(session.mappings_left_out) == {"rejected": 1, "below_auto_approve": 1}
    assert "below auto_approve_confidence 0.95" in session.mappings_left_out_text
    live = LiveSession({}, ROWS, approved_only=True)
    assert [r.ids[0] for r in live.mappings] == ["A"]
    assert "--live trades approved rows only" in live.mappings_left_out_text


def test_generated_mappings_trade_in_paper_mode_only_not_live() -> None:
    assert default_session_mappings() == []          # nothing hand-written: the session generates its twins
    rows = [MappingRow(r.ids, r.relation, r.confidence, None, "title similarity 1.00") for r in sim_twins()]
    paper = trade_selection(merge_mappings([], rows))
    live = trade_selection(merge_mappings([], rows), approved_only=True)
    assert paper.rows == rows and not paper.left_out
    assert live.rows == [] and dict(live.left_out) == {"unreviewed_live": 10}


# ---- the setting and the command ----------------------------------------------------------------



def test_auto_approve_confidence_setting(in_tmp, monkeypatch) -> None:
    assert load_settings().auto_approve_confidence == 0.95
    (in_tmp / "arbbot.toml").write_text("auto_approve_confidence = 0.9\n")
    assert load_settings().auto_approve_confidence == 0.9
    monkeypatch.setenv("ARB_AUTO_APPROVE_CONFIDENCE", "0.5")
    assert load_settings().auto_approve_confidence == 0.5
    for bad in ("1.5", "-0.1", "nan"):
        monkeypatch.setenv("ARB_AUTO_APPROVE_CONFIDENCE", bad)
        with pytest.raises(ConfigError, match="auto_approve_confidence"):
            load_settings()


def test_live_command_leaves_out_rejected_and_low_rows(in_tmp, capsys, monkeypatch) -> None:
    from arbbot.cli import main
    shipped = sim_twins()
    rows = [*(MappingRow(r.ids, r.relation, r.confidence, False) for r in shipped[:2]),
            MappingRow(shipped[2].ids, shipped[2].relation, 500_000),
            *(MappingRow(r.ids, r.relation, r.confidence, True if i == 3 else None)
              for i, r in enumerate(shipped[3:], start=3))]
    write_mappings(rows, in_tmp / "reviewed.csv")
    monkeypatch.setenv("ARB_GENERATE_MAPPINGS", "false")     # the file alone (generation: test_generate.py)
    assert main(["live", "--duration", "1", "--json", "--metrics-port", "0", "--seed", "0",
                 "--mappings", str(in_tmp / "reviewed.csv")]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert summary["mappings"] == {"traded": 7, "left_out": {"rejected": 2, "below_auto_approve": 1},
                                   "undiscovered": 0, "contradictory": 0, "closed_markets": 0,
                                   "generated": None, "listings_refreshes": 0}
    # 6 buckets, a complement and 9 implications from the listings, then the 7 traded twins
    assert summary["structural_relations"] == 16 and summary["relations"] == 16 + 7
    assert "3 mapping row(s) left out, 7 traded: 2 rejected (approved=no), 1 unreviewed below " \
           "auto_approve_confidence 0.95" in err
