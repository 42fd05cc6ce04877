"""The dashboard in a real browser (headless Chromium from Debian, driven by Playwright) while
`arbbot run` paper-trades the embedded simulator: the page loads with the token and shows
numbers that change, the kill switch works from the page, a live setting is edited from the
page, no token is refused, and nothing is logged as an error in the browser console.

The tests share one bot and one page and run in file order. Screenshots are kept in
`artifacts/` (or $ARBBOT_ARTIFACTS); with ARBBOT_DASHBOARD_SCREENSHOT=PATH the mid-run one is
also copied there (how benchmarks/dashboard.png is made)."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.ops.dashboard.conftest import Console, artifacts_dir

pytestmark = pytest.mark.timeout(300)


def usd(micros: int) -> str:
    """The page's money format: µ$ → "$1,234.56" / "−$0.42" (half-up to the cent)."""
    cents = (abs(micros) + 5_000) // 10_000
    return f"{'−' if micros < 0 else ''}${cents // 100:,}.{cents % 100:02d}"


def wait_for(predicate, timeout: float = 30.0, every: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def session(browser, bot):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    console = Console(page)
    yield page, console
    context.close()


def shot(page, name: str) -> Path:
    path = artifacts_dir() / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_no_token_is_refused(bot):
    for path in ("", "api/state", "api/stream", "static/app.js"):
        r = httpx.get(bot.base + path, timeout=10)
        assert r.status_code == 401, (path, r.status_code)
    assert httpx.get(bot.base + "?token=wrong", timeout=10).status_code == 401
    assert httpx.get(bot.base + "api/state", headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    assert httpx.post(bot.base + "api/halt", timeout=10).status_code == 401
    assert not (bot.workdir / "arbbot.kill").exists()


def test_page_loads_with_the_token_and_shows_live_numbers(session, bot):
    page, console = session
    page.goto(bot.login_url)
    assert page.url == bot.base                       # the token left the address bar
    cookies = page.context.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [(f"arbbot_session_{urlsplit(bot.base).port}", True, "Strict")]
    wait_for(lambda: page.text_content("#conn") == "live", what="the live stream")
    updates = lambda: int(page.text_content("#kpi-updates").replace(",", ""))   # noqa: E731
    first = wait_for(updates, what="book updates")
    wait_for(lambda: updates() > first, timeout=15, what="book updates to grow")
    # executions arrive in the table, with their PnL and the chosen one's sizing record
    wait_for(lambda: page.locator("#executions tbody tr[data-id]").count() >= 3, timeout=60, what="3 executions")
    wait_for(lambda: page.locator("#sizing tbody tr").count() > 0, timeout=20, what="a sizing record")
    state = bot.state()
    assert state["format"] == "arbbot.state/1" and state["mode"] == "trading" and not state["halted"]
    newest = page.locator("#executions tbody tr[data-id]").first.get_attribute("data-id")
    known = {x["id"] for x in bot.state()["executions"]["recent"]}
    assert newest in known
    detail = bot.api(f"api/executions/{page.text_content('#detail-id')}").json()
    assert detail["sizing"] is not None and len(detail["sizing"]["steps"]) == page.locator("#sizing tbody tr").count()
    assert [c.text_content() for c in page.locator("#sizing tbody tr td:first-child").all()] == \
        [s["step"] for s in detail["sizing"]["steps"]]
    # opportunities per lane: the page's counts are the bot's (they only grow)
    found_page = {r.locator("td").nth(0).text_content(): int(r.locator("td").nth(1).text_content())
                  for r in page.locator("#lanes tbody tr").all()}
    found_api = bot.state()["lanes"]
    assert set(found_page) == set(found_api) and sum(found_page.values()) > 0
    assert all(found_page[lane] <= found_api[lane]["found"] for lane in found_page)
    # the PnL chart: three series, drawn from the points the bot sent
    wait_for(lambda: len(bot.state()["pnl"]["t"]) >= 3, what="3 PnL points")
    wait_for(lambda: len(page.get_attribute('#chart polyline[data-series="locked_in_micros"]', "points").split()) >= 3,
             what="the chart to draw 3 points")
    assert page.locator("#chart polyline").count() == 3
    # venues: every venue with books and cash (page cash = the bot's µ$, formatted)
    venues = bot.state()["venues"]
    rows = {r.locator("td").nth(0).text_content(): r for r in page.locator("#venues tbody tr").all()}
    assert set(rows) == set(venues) and {"kalshi", "polymarket"} <= set(rows)
    assert all(int(rows[v].locator("td").nth(1).text_content()) == venues[v]["markets"] > 0 for v in venues)
    if os.environ.get("ARBBOT_DASHBOARD_SCREENSHOT"):       # the committed one: a longer chart, more rows
        wait_for(lambda: len(bot.state()["pnl"]["t"]) >= 20 and len(bot.state()["executions"]["recent"]) >= 8,
                 timeout=90, what="20 PnL points and 8 executions")
        time.sleep(1.5)
    path = shot(page, "dashboard-live.png")
    if os.environ.get("ARBBOT_DASHBOARD_SCREENSHOT"):
        shutil.copyfile(path, os.environ["ARBBOT_DASHBOARD_SCREENSHOT"])
    assert not console.errors, console.errors


def total(counts: dict) -> int:
    return sum(counts.values())


def test_kill_switch_works_from_the_page(session, bot):
    page, console = session
    page.click("#btn-halt")
    wait_for(lambda: page.text_content("#halt-state") == "HALTED", timeout=10, what="HALTED on the page")
    state = bot.state()
    assert state["halted"] and "arbbot.kill" in state["halt_reason"]
    assert (bot.workdir / "arbbot.kill").read_text() == "operator halt (dashboard)\n"
    assert page.is_disabled("#btn-halt") and page.is_enabled("#btn-resume")
    wait_for(lambda: not bot.state()["risk"]["busy"], timeout=30, what="the execution in flight to end")
    before = bot.state()
    time.sleep(4)
    after = bot.state()
    assert total(after["executions"]["run"]) == total(before["executions"]["run"])      # none started
    assert total(after["executions"]["stored"]) == total(before["executions"]["stored"])
    refused = lambda s: s["risk"]["skipped"].get("kill switch", 0)                      # noqa: E731
    assert refused(after) > refused(before)           # opportunities kept coming and were refused
    # money on the page is the bot's, to the cent (stable while halted)
    wait_for(lambda: page.text_content("#kpi-locked") == usd(bot.state()["locked_in_micros"]), timeout=5,
             what="the page's locked-in to equal the bot's")
    assert page.text_content("#kpi-realised") == usd(bot.state()["realised_micros"])
    wait_for(lambda: "halted" in page.text_content("#audit"), timeout=5, what="the audit trail")
    shot(page, "dashboard-halted.png")
    page.click("#btn-resume")
    wait_for(lambda: page.text_content("#halt-state") == "running", timeout=10, what="running on the page")
    assert not (bot.workdir / "arbbot.kill").exists() and not bot.state()["halted"]
    wait_for(lambda: total(bot.state()["executions"]["run"]) > total(after["executions"]["run"]), timeout=60,
             what="executions to start again")
    # the operator's two actions, newest first (a drift alert of the running bot may fall between)
    audit = [e["kind"] for e in bot.state()["audit"] if e["kind"] in ("halted", "resumed")]
    assert audit[:2] == ["resumed", "halted"]
    assert not console.errors, console.errors


def test_a_live_setting_is_edited_from_the_page(session, bot):
    page, console = session
    assert bot.state()["tunables"]["min_profit"]["value"] == 0.01
    page.fill("#tune-min_profit", "0.02")
    page.click('button[data-key="min_profit"]')
    wait_for(lambda: "min_profit: 0.01 → 0.02" in page.text_content("#notice"), timeout=10, what="the notice")
    state = bot.state()
    assert state["tunables"]["min_profit"]["value"] == 0.02 and state["config"]["min_profit"] == 0.02
    # the newest operator action (a drift alert of the running bot may come after it)
    changed = next(e for e in state["audit"] if e["kind"] != "drift_alert")
    assert changed["kind"] == "config_changed"
    assert {k: changed["data"][k] for k in ("key", "old", "new")} == {"key": "min_profit", "old": 0.01, "new": 0.02}
    wait_for(lambda: bot.state()["session"]["min_profit_micros"] == 20_000, timeout=5, what="the engine's min_profit")
    wait_for(lambda: page.input_value("#tune-min_profit") == "0.02", timeout=5, what="the input to show 0.02")
    assert not console.errors, console.errors


def test_the_stream_survives_and_the_console_stays_clean(session, bot):
    page, console = session
    page.reload()
    wait_for(lambda: page.text_content("#conn") == "live", what="the live stream after a reload")
    assert page.text_content("#mode") == "trading"
    assert not console.errors, console.errors
