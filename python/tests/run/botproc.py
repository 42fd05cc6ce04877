"""Run the real bot and the simulator as separate processes, as an operator would.

`SimProcess` runs `arbbot sim --handle-file …` (it keeps its state when the bot dies);
`run_bot` runs `arbbot run --connect …` and returns its JSON summary and JSON log events;
`venue_view` reads the simulator's record of our account through the real adapters.
"""
from __future__ import annotations

import re

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from arbbot.execution.reconcile import cash_moved, fill_form, store_net_positions as net_positions
from arbbot.run.live import FORECASTEX_CLIENT_ID, connect_simulated_venues
from arbbot.sim import load_handle

BOT = [sys.executable, "-m", "arbbot.cli"]


def events(path: Path) -> list[dict]:
    """The JSON log lines of a process (anything else in the file is a failure)."""
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                raise AssertionError(f"non-JSON line in {path.name}: {line[:300]}") from None
    return out


class SimProcess:
    """`arbbot sim` in its own process; `stop()` returns its log events (incl. `sim.planted`)."""

    def __init__(self, workdir: Path, seed: int = 0, step: float = 0.2, faults: dict | None = None,
                 scenario: str = "all", settlements: list[dict] | None = None) -> None:
        self.workdir = workdir
        self.handle_file = workdir / "sim-handle.json"
        self.log = workdir / "sim.log"
        args = BOT + ["sim", "--scenario", scenario, "--seed", str(seed), "--step", str(step),
                      "--handle-file", str(self.handle_file), "--log-json"]
        if faults:
            args += ["--faults", json.dumps(faults)]
        if settlements:
            args += ["--settlements", json.dumps(settlements)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(self.log, "w"), cwd=workdir)
        deadline = time.monotonic() + 30
        while not self.handle_file.exists() or not self.handle_file.stat().st_size:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"simulator did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        time.sleep(0.05)
        self.handle = load_handle(str(self.handle_file))

    def stop(self) -> list[dict]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return events(self.log)


@dataclass
class BotRun:
    returncode: int
    summary: dict | None
    events: list[dict]
    stderr: str


def run_bot(sim: SimProcess, db: Path, *args: str, env: dict | None = None, timeout: float = 120,
            name: str = "bot") -> BotRun:
    """`arbbot run --connect … --db DB --json --log-json ARGS…`; waits for it to end."""
    log = sim.workdir / f"{name}.log"
    out = sim.workdir / f"{name}.out"
    full_env = {**os.environ, "ARB_KILL_FILE": str(sim.workdir / "arbbot.kill"), **(env or {})}
    with open(log, "w") as err, open(out, "w") as stdout:
        proc = subprocess.run(BOT + ["run", "--connect", str(sim.handle_file), "--db", str(db), "--json",
                                     "--log-json", "--metrics-port", "0", *args],
                              stdout=stdout, stderr=err, env=full_env, cwd=sim.workdir, timeout=timeout)
    text = out.read_text().strip()
    summary = json.loads(text.splitlines()[-1]) if text else None
    return BotRun(proc.returncode, summary, events(log), log.read_text())


@dataclass
class VenueView:
    balances: dict[str, int]            # venue → cash µ$
    orders: dict[str, dict[str, object]]  # venue → order id → Order (every order the venue knows of ours)
    fills: dict[str, dict[str, object]]   # venue → fill id → Fill
    positions: dict[tuple[str, str], int]  # (venue, market id) → net YES lots


def venue_view(handle, store=None) -> VenueView:
    """The simulator's record of our account, read through the real adapters. Orders: those the
    venue lists, plus (venues without client order ids) those the store knows by order id."""
    async def read() -> VenueView:
        venues = await connect_simulated_venues(handle, forecastex_client_id=FORECASTEX_CLIENT_ID + 1)
        try:
            view = VenueView({}, {}, {}, {})
            for name, venue in venues.items():
                await venue.discover_markets()
                view.balances[name] = (await venue.balance()).cash_micros
                view.orders[name] = {o.order_id: o for o in await venue.orders()}
                view.fills[name] = {f.fill_id: f for f in await venue.fills()}
                for p in await venue.positions():
                    view.positions[(name, p.market_id)] = p.yes_lots
                if store is not None and hasattr(venue, "order"):
                    for intent in store.intents():
                        if intent.venue == name and intent.order_id and intent.order_id not in view.orders[name]:
                            o = await venue.order(intent.order_id)
                            if o is not None:
                                view.orders[name][o.order_id] = o
            return view
        finally:
            for venue in venues.values():
                await venue.close()
    return asyncio.run(asyncio.wait_for(read(), 60))


def store_net_positions(store) -> dict[tuple[str, str], int]:
    """Net YES lots per (venue, market id) from the fills in the order store."""
    fills = store.fills()
    return {(venue, market): lots for venue in {f.venue for f in fills}
            for market, lots in net_positions([f for f in fills if f.venue == venue]).items()}


DUST = re.compile(r"leg (\d+) holds (\d+) lots under its venue's minimum order \(held\)")


def assert_hedged_unless_naked(store, x) -> None:
    """Execution `x`'s legs hold equal lots, or it is naked, or they differ only by lots venues
    filled beyond an order's size (Polymarket's market BUY spends whole cents;
    `OrderStore.hedged_sets`) and by an excess the executor held because no order could sell it
    (under the venue's minimum, as its reason says): complete when they hold sets, unwound or
    aborted when not."""
    net = store.leg_net(x.id)
    dust = {int(leg): int(lots) for leg, lots in DUST.findall(x.reason or "")}
    if dust:
        assert x.state in ("complete", "unwound", "aborted"), (x.id, x.state, x.reason)
        net = {i: n - dust.get(i, 0) for i, n in net.items()}
        assert len(set(net.values())) == 1, (x.id, x.state, store.leg_net(x.id), x.reason)
        return
    sets = store.hedged_sets(x.id)
    if len(set(net.values())) == 1:
        assert x.state != "naked", (x.id, x.state, net)
    elif x.state == "naked":
        assert sets is None, (x.id, x.state, net, store.leg_overfill(x.id))
    else:
        assert sets is not None and (x.state == "complete" if sets else x.state in ("unwound", "aborted")), \
            (x.id, x.state, net, store.leg_overfill(x.id))


def assert_store_matches_venues(store, view: VenueView, before: dict[str, int] | None = None) -> None:
    """Nothing lost, nothing duplicated, money to the µ$:
    - every fill the store holds is the venue's fill (qty, price, fee), and every venue fill of an
      order the store knows is in the store;
    - every venue order of ours belongs to exactly one intent in the store, with the same fills;
    - each venue's net position per market equals what the store's fills add up to;
    - (with `before`) each venue's cash moved by exactly the store's cash flow on it."""
    intents = {i.client_order_id: i for i in store.intents()}
    by_order = {(i.venue, i.order_id): i for i in intents.values() if i.order_id}
    store_fills = store.fills()
    for row in store_fills:
        f = view.fills[row.venue].get(row.fill_id)
        assert f is not None, f"store fill {row.fill_id} ({row.venue}) unknown to the venue"
        # (Kalshi: one YES book, a fill compared as the book order it is, whichever way it is reported)
        assert (row.qty, fill_form(row.venue, row.side, row.action, row.price), row.fee) == \
            (f.qty_lots, fill_form(row.venue, f.side.label, f.action.value, f.price_ticks), f.fee_micros), (row, f)
    known_fill_ids = {(r.venue, r.fill_id) for r in store_fills}
    for venue, fills in view.fills.items():
        for f in fills.values():
            assert (venue, f.order_id) in by_order, f"venue fill {f.fill_id} of an order the store does not know"
            assert (venue, f.fill_id) in known_fill_ids, f"venue fill {f.fill_id} missing from the store"
    for venue, orders in view.orders.items():
        for o in orders.values():
            intent = intents.get(o.client_order_id) if o.client_order_id else by_order.get((venue, o.order_id))
            assert intent is not None, f"venue order {o.order_id} ({venue}) is not in the store"
            # IB reports a finished order without fills under -permId (its completed-order message has
            # no API order id); such orders are matched by orderRef = client order id alone
            if not (venue == "forecastex" and o.filled_lots == 0):
                assert intent.order_id == o.order_id, (intent.client_order_id, intent.order_id, o.order_id)
            assert intent.filled_qty == o.filled_lots, (intent.client_order_id, intent.filled_qty, o.filled_lots)
    coids = [o.client_order_id for orders in view.orders.values() for o in orders.values() if o.client_order_id]
    assert len(coids) == len(set(coids)), "a client order id reached a venue twice"
    assert store_net_positions(store) == {k: v for k, v in view.positions.items() if v}
    if before is not None:
        diff = {v: view.balances[v] - before[v] for v in view.balances}
        assert diff == {v: cash_moved([f for f in store_fills if f.venue == v]) for v in view.balances}
