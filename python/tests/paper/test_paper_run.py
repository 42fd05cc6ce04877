"""`arbbot run --paper --connect HANDLE` against a simulator in its own process: executions
happen and complete, the simulator receives no order at all, every fill is the book's depth at
the limit with the venue's fee to the µ$, the summary marks the run paper, and `arbbot
reconcile` of the paper database finds no difference against the local fill engine."""
from __future__ import annotations

import json
import subprocess

from arbbot.execution.store import OrderStore
from tests.run.botproc import BOT, SimProcess, run_bot, venue_view

TERMINAL = {"complete", "aborted", "unwound", "naked"}
FULL = 10_000                      # ticks in $1


def expected_fills(order: dict) -> list[tuple[int, int, int]]:
    """(price ticks, lots, fee µ$) of each fill, worked out from the recorded book and terms as a
    venue would: buys take the side's asks (Kalshi, ForecastEx: the other side's bids at
    10,000 − p; Polymarket: the token's asks), sells its bids, less what earlier paper orders took
    there (`terms.taken`, per price of the order's ladder); whole lots; the order's fee
    ceil(r·Σ q·p·(1 − p) / R)·R + ceil(c·q / 100), each fill carrying the increase of that fee
    (Kalshi: rounded per fill, one fill per level)."""
    yes_bids, yes_asks, no_bids, no_asks = order["book"]
    terms = order["terms"]
    rate, per_contract, rounding, _maker = terms["fees"]
    merged: dict[int, int] = {}
    if order["action"] == "buy":
        if terms["venue"] == "polymarket":
            raw = yes_asks if order["side"] == "yes" else no_asks
        else:
            raw = [(FULL - p, q) for p, q in (no_bids if order["side"] == "yes" else yes_bids)]
        for p, q in raw:
            merged[p] = merged.get(p, 0) + q
        within = [(p, q) for p, q in sorted(merged.items()) if p <= order["price"]]
    else:
        for p, q in (yes_bids if order["side"] == "yes" else no_bids):
            merged[p] = merged.get(p, 0) + q
        within = [(p, q) for p, q in sorted(merged.items(), reverse=True) if p >= order["price"]]
    gone = dict(terms.get("taken", ()))
    levels = [(p, q - gone.get(p, 0)) for p, q in within if q > gone.get(p, 0)]
    if terms.get("budget") and order["action"] == "buy":
        # Polymarket's market BUY spends the amount its adapter signed, in whole lots, at the asks
        left, spend = terms["budget"], []
        for p, q in levels:
            spend.append((p, min(q, left // (p * terms["lot"]) * terms["lot"])))
            left -= p * spend[-1][1]
            if spend[-1][1] < q:
                break
        levels = [(p, q) for p, q in spend if q > 0]
        take = 0 if order["tif"] == "fok" and left >= order["price"] * terms["lot"] else sum(q for _, q in levels)
    else:
        take = min(order["qty"], sum(q for _, q in levels)) // terms["lot"] * terms["lot"]
        if order["tif"] == "fok" and take < order["qty"]:
            take = 0
    out, walked, fee_before = [], [], 0
    for p, q in levels:
        if take <= 0:
            break
        walked.append((p, min(q, take)))
        take -= walked[-1][1]
    if terms["venue"] == "kalshi":
        # Kalshi rounds per fill since 2026, one fill per level walked (the rule, checked against
        # the venue's worked examples, in tests/sim/test_kalshi_fee_rounding.py)
        from arbbot.venues.kalshi.fees import fill_fees
        return [(p, q, fee) for (p, q), fee in zip(walked, fill_fees(rate, walked, sale=order["action"] == "sell"))]
    for k in range(len(walked)):
        raw_fee = sum(rate * lots * price * (FULL - price) for price, lots in walked[:k + 1])
        unit = rounding * 10**10
        fee = -(-raw_fee // unit) * rounding - (-(per_contract * sum(lots for _, lots in walked[:k + 1])) // 100)
        out.append((*walked[k], fee - fee_before))
        fee_before = fee
    return out


def test_paper_run_against_a_simulator_sends_nothing_and_fills_from_its_books(tmp_path):
    sim = SimProcess(tmp_path, seed=0, step=0.2)
    db = tmp_path / "paper.db"
    try:
        before = venue_view(sim.handle)
        run = run_bot(sim, db, "--paper", "--duration", "8", "--cooldown", "0.5", "--no-dashboard")
        after = venue_view(sim.handle)
    finally:
        sim.stop()
    assert run.returncode == 0, run.stderr[-3000:]
    summary, trading = run.summary, run.summary["trading"]
    assert summary["paper"] is True and trading["mode"] == "paper" and summary["errors"] == []
    assert trading["executions"].get("complete", 0) >= 1, trading
    assert trading["reconcile_differences"] == 0 and trading["safe_mode"] is None

    # the simulator never saw an order: no order, no fill, every balance as it was
    assert {v: len(o) for v, o in after.orders.items()} == {"kalshi": 0, "polymarket": 0, "forecastex": 0}
    assert {v: len(f) for v, f in after.fills.items()} == {"kalshi": 0, "polymarket": 0, "forecastex": 0}
    assert after.balances == before.balances and after.positions == {}

    store = OrderStore(str(db))
    try:
        executions = store.executions()
        assert len(executions) == sum(trading["executions"].values())
        assert all(x.state in TERMINAL and x.paper for x in executions), [(x.id, x.state) for x in executions]
        assert {i.paper for i in store.intents()} == {1} and store.fill_outcomes() == {}
        orders = store.paper_orders()
        assert len(orders) == sum(v["orders"] for v in trading["paper"].values())
        assert len(orders) + sum(v["refused"] for v in trading["paper"].values()) == len(store.intents())
        assert all(v["latency_ms"] is None or v["latency_ms"]["source"] == "measured"
                   for v in trading["paper"].values())
        ledger_fills = {f["fill_id"]: f for f in store.paper_fills()}
        store_fills = {f.fill_id: f for f in store.fills()}
        assert set(store_fills) == set(ledger_fills) and store_fills
        filled = 0
        for order in orders:
            assert order["latency_us"] > 0                         # the measured round trip was waited
            got = sorted((f for f in ledger_fills.values() if f["order_id"] == order["order_id"]),
                         key=lambda f: int(f["fill_id"].rsplit("-", 1)[1]))
            assert [(f["price"], f["qty"], f["fee"]) for f in got] == expected_fills(order), order
            assert (order["filled"], order["cost"], order["fee"]) == (
                sum(f["qty"] for f in got), sum(f["price"] * f["qty"] for f in got), sum(f["fee"] for f in got))
            for f in got:                                          # the executor recorded exactly these
                s = store_fills[f["fill_id"]]
                assert (s.qty, s.price, s.fee, s.client_order_id) == (f["qty"], f["price"], f["fee"],
                                                                      order["client_order_id"])
            intent = store.intent(order["client_order_id"])
            assert (intent.filled_qty, intent.cost, intent.fee) == (order["filled"], order["cost"], order["fee"])
            filled += bool(got)
        assert filled >= 2                                          # a complete execution has two legs
    finally:
        store.close()

    rec = subprocess.run(BOT + ["reconcile", "--db", str(db), "--json"], capture_output=True, text=True, timeout=60)
    assert rec.returncode == 0, rec.stderr
    report = json.loads(rec.stdout)
    assert report["paper"] is True and report["differences"] == 0
    assert sum(v["fill_engine"]["rematched"] for v in report["venues"].values()) == len(orders)
    assert sum(v["fills"]["store"] for v in report["venues"].values()) == len(store_fills)
