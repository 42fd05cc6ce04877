"""`arbbot map --review FILE`: a scripted review session (decisions from a StringIO) writes exactly
the decisions made to the CSV's `approved` column after each one; bad input exits 2."""
from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest
from rich.console import Console

from arbbot.mapping.match.command import main
from arbbot.mapping.table import HEADER, load_mappings
from tests.mapping.map_bodies import BTC_COND, GAME_COND, TWINS_KALSHI, TWINS_POLYMARKET, parse

BTC, GAME = BTC_COND, GAME_COND
KALSHI, POLYMARKET = TWINS_KALSHI, TWINS_POLYMARKET
PROPOSED = [",".join([*HEADER, "reasons"]),
            f'KXBTCD-26DEC31-T100000,{BTC},,same,0.97,"same source coinbase; same threshold 100000"',
            f"KXNBAGAME-26DEC02LALBOS-BOS,{GAME},,same,0.91,team orientation unclear",
            "KXOTHER-1,0xfeed,,same,0.6,title 0.88",
            "KXOTHER-2,,FF-20261216-4.125,inverse,0.7,",
            "KXOTHER-3,0xbeef,,same,0.99,title 0.97"]


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    k, p, m = tmp_path / "kalshi.json", tmp_path / "polymarket.json", tmp_path / "proposed.csv"
    k.write_text(json.dumps(KALSHI), encoding="utf-8")
    p.write_text(json.dumps(POLYMARKET), encoding="utf-8")
    m.write_text("\n".join(PROPOSED) + "\n", encoding="utf-8")
    return {"kalshi": k, "polymarket": p, "csv": m}


def run_review(files, script, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    console = Console(file=out, width=160, force_terminal=False, color_system=None)
    stdin = script if not isinstance(script, str) else io.StringIO(script)
    code = main(parse(["--review", str(files["csv"]), "--kalshi", str(files["kalshi"]),
                       "--polymarket", str(files["polymarket"]), *extra]), stdin=stdin, console=console)
    return code, out.getvalue()


def decisions(path: Path) -> list[tuple[str, str, bool | None]]:
    return [(r.ids[0], r.relation, r.approved) for r in load_mappings(path)]


def test_scripted_session_saves_exactly_the_decisions_made(files) -> None:
    # approve BTC; reject the game; flip KXOTHER-1 then approve it; skip KXOTHER-2; quit at KXOTHER-3
    code, shown = run_review(files, "a\nr\nf\na\ns\nq\n")
    assert code == 0
    assert decisions(files["csv"]) == [("KXBTCD-26DEC31-T100000", "same", True),
                                       ("KXNBAGAME-26DEC02LALBOS-BOS", "same", False),
                                       ("KXOTHER-1", "inverse", True),
                                       ("KXOTHER-2", "inverse", None),
                                       ("KXOTHER-3", "same", None)]
    lines = files["csv"].read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join([*HEADER, "reasons", "approved"])          # columns kept, approved added
    assert lines[1] == f'KXBTCD-26DEC31-T100000,{BTC},,same,0.97,same source coinbase; same threshold 100000,yes'
    # what the person saw: both titles, rules, close dates, the reasons; ids of unlisted markets
    for text in ("Will Bitcoin be above $100,000 on Dec 31, 2026?", "Bitcoin above $100k on December 31?",
                 "Coinbase BTC-USD price at 4 PM ET", "higher than $100,000", "2026-12-31T21:00:00Z",
                 "same source coinbase", "same threshold 100000", "greater floor 100000", "Boston",
                 "KXOTHER-1", "0xfeed", "not in the listings given", "5 unreviewed of 5 row(s)",
                 "pair 3/5", "relation inverse", "approve (a) · reject (r) · flip same↔inverse (f)"):
        assert text in shown, text
    assert "stopped: 2 approve, 1 reject, 1 flip, 1 skip; 2 row(s) unreviewed" in shown


def test_a_second_session_asks_only_the_unreviewed_rows(files) -> None:
    run_review(files, "a\nr\ns\nq\n")
    code, shown = run_review(files, "a\na\nr\n")
    assert code == 0 and "3 unreviewed of 5 row(s)" in shown and "done: 2 approve, 1 reject" in shown
    assert [d[2] for d in decisions(files["csv"])] == [True, False, True, True, False]
    code, shown = run_review(files, "")
    assert code == 0 and "0 unreviewed of 5 row(s)" in shown


def test_end_of_input_quits_and_keeps_what_was_decided(files) -> None:
    code, shown = run_review(files, "r\n")
    assert code == 0 and "stopped: 1 reject; 4 row(s) unreviewed" in shown
    assert [d[2] for d in decisions(files["csv"])] == [False, None, None, None, None]


def test_unknown_keys_ask_again(files) -> None:
    code, shown = run_review(files, "x\n\nyes please\nApprove\nq\n")
    assert code == 0 and shown.count("type one of a, r, f, s, q") == 3
    assert [d[2] for d in decisions(files["csv"])] == [True, None, None, None, None]


class Recording(io.StringIO):
    """Decisions from a script; before each answer, what the file holds at that moment. A
    KeyboardInterrupt in the script acts like Ctrl-C at that prompt."""

    def __init__(self, path: Path, answers: list) -> None:
        super().__init__()
        self.path, self.answers, self.seen = path, list(answers), []

    def readline(self, *args) -> str:
        self.seen.append(decisions(self.path))
        answer = self.answers.pop(0)
        if answer is KeyboardInterrupt:
            raise KeyboardInterrupt
        return answer


def test_each_decision_is_on_disk_before_the_next_prompt_and_ctrl_c_loses_nothing(files) -> None:
    script = Recording(files["csv"], ["a\n", "f\n", "f\n", "r\n", KeyboardInterrupt])
    code, shown = run_review(files, script)
    assert code == 0 and "every decision made is saved" in shown
    approvals = [[d[2] for d in seen] for seen in script.seen]
    relations = [[d[1] for d in seen][1] for seen in script.seen]
    assert approvals[:2] == [[None] * 5, [True, None, None, None, None]]
    assert relations == ["same", "same", "inverse", "same", "same"]      # flipped, flipped back, then rejected
    assert decisions(files["csv"])[1] == ("KXNBAGAME-26DEC02LALBOS-BOS", "same", False)
    assert [d[2] for d in decisions(files["csv"])] == [True, False, None, None, None]
    assert sorted(os.listdir(files["csv"].parent)) == ["kalshi.json", "polymarket.json", "proposed.csv"]


def test_old_five_column_file_gains_the_approved_column(files) -> None:
    files["csv"].write_text("\n".join([",".join(HEADER), f"KXBTCD-26DEC31-T100000,{BTC},,same,0.97"]) + "\n",
                            encoding="utf-8")
    code, shown = run_review(files, "a\n")
    assert code == 0 and "reasons: none given" in shown
    assert files["csv"].read_text(encoding="utf-8").splitlines() == [
        ",".join([*HEADER, "approved"]), f"KXBTCD-26DEC31-T100000,{BTC},,same,0.97,yes"]


def test_review_without_listings_shows_ids(files) -> None:
    out = io.StringIO()
    code = main(parse(["--review", str(files["csv"])]), stdin=io.StringIO("s\nq\n"),
                console=Console(file=out, width=160, color_system=None))
    assert code == 0 and "KXBTCD-26DEC31-T100000" in out.getvalue() and BTC in out.getvalue()
    assert "not in the listings given" in out.getvalue()


# ---- bad input: exit 2 with a clear message -----------------------------------------------------

def test_no_terminal_and_no_input_exits_2(files, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("a\n"))          # not a TTY
    assert main(parse(["--review", str(files["csv"])])) == 2
    assert "standard input is not a terminal" in capsys.readouterr().err
    assert [d[2] for d in decisions(files["csv"])] == [None] * 5


@pytest.mark.parametrize("setup, extra, message", [
    (lambda f: f["csv"].unlink(), [], "proposed.csv"),
    (lambda f: f["csv"].write_text(",".join(HEADER) + "\nK,P,,same,2\n", encoding="utf-8"), [], "proposed.csv:2: confidence 2"),
    (lambda f: f["csv"].write_text(",".join([*HEADER, "approved"]) + "\nK,P,,same,1,ok\n", encoding="utf-8"), [],
     ":2: approved 'ok'"),
    (lambda f: f["kalshi"].write_text(json.dumps({"markets": [{"ticker": 7}]}), encoding="utf-8"), [],
     "markets[0].ticker"),
    (lambda f: None, ["--json"], "--json and --out do not apply"),
])
def test_bad_input_exits_2(files, capsys, setup, extra, message) -> None:
    setup(files)
    code, _ = run_review(files, "a\n", *extra)
    assert code == 2 and message in capsys.readouterr().err


def test_unwritable_file_exits_2_and_keeps_the_file(files, monkeypatch, capsys) -> None:
    before = files["csv"].read_text(encoding="utf-8")

    def broken(src, dst):
        raise OSError(30, "Read-only file system")
    monkeypatch.setattr(os, "replace", broken)
    code, _ = run_review(files, "a\n")
    assert code == 2 and "cannot save" in capsys.readouterr().err
    assert files["csv"].read_text(encoding="utf-8") == before
    assert sorted(os.listdir(files["csv"].parent)) == ["kalshi.json", "polymarket.json", "proposed.csv"]


def test_map_without_review_still_needs_both_listings(files, capsys) -> None:
    assert main(parse(["--kalshi", str(files["kalshi"])])) == 2
    assert "--kalshi and --polymarket are required" in capsys.readouterr().err
