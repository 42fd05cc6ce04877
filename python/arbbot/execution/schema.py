"""The one owner of the SQLite schema: a `schema_version` table and ordered forward migrations.

`migrate(db)` runs at every open (`OrderStore.__init__`): it reads the database's version and
applies every newer migration, in order, inside ONE transaction (SQLite DDL is transactional: a
crash or an error leaves the database exactly as it was). Reopening an up-to-date database reads
one row and writes nothing. A database newer than this code raises `SchemaError`.

Versions (each migration is frozen once released; add a new one, never edit an old one):

  1  the original order store: meta, executions, intents, fills, events, flags, market_failures.
     Databases written before `schema_version` existed carry `meta(schema_version=1)` instead;
     they are adopted as version 1.
  2  durable risk: `realised_losses` (a ledger of each loss-making execution's realised loss,
     backfilled from existing unwound/naked executions), `fills.recorded_ms` (store clock when a
     fill was recorded, backfilled from the event log), `breakers` (circuit-breaker state),
     `cash_baselines` (each venue's cash when the store first met it, for reconciliation).
  3  sizing state (spec/SIZING.md): `estimate_samples` (step 5's raw samples: order latency per
     venue, depletion per market side, mids per market), `drawdown` (equity peak, last equity,
     stop latch and tier), `sizing_records` (each execution's `arbbot.sizing/1` step record and
     the loss budget it reserves while in flight). Fill outcomes and per-lane realised PnL are
     derived from intents and executions, not stored twice.
  4  bucket selection (issue 12): `bucket_groups` (per bucket relation, the discounted success /
     failure counts of its executions, the failure streak and how long it stays disabled).
  5  paper trading (issue 14): `executions.paper` and `intents.paper` (1 = written by
     `arbbot run --paper`: filled by the local fill engine, never sent to a venue; existing rows
     0), and the paper venues' own ledger, which plays the venue for reconciliation and crash
     recovery: `paper_accounts` (each venue's starting cash), `paper_orders` (every paper order
     with the book it was matched against and the market terms, so it can be re-matched) and
     `paper_fills`.
  6  `estimate_samples` loses its index by key (never read by key; each insert into it was a
     random page write).
  7  market resolutions: `resolutions` (each market's final result as its venue published it, or
     as the operator recorded it: what its lots pay, and whether the venue paid them out). A
     resolved market's lots are no longer exposure; a naked execution's loss is what its lots
     came to. `paper_settlements`: what a paper account was paid when a market its venue pays out
     at settlement (Kalshi) resolved (the paper ledger plays the venue: the position is gone, the
     cash credited).
  8  indexes (fills by client order id, executions by last update) and running totals kept by
     triggers: `market_positions` (net lots and cost per market), `fill_outcome_counts`.
  9  voided fills: `voided_fills` (a fill its venue reverted after listing it — Polymarket's trade
     FAILED on chain, no tokens and no cash moved — moved there out of `fills` by
     `OrderStore.void_fills`, so that no reader of `fills` counts it), and a trigger taking a
     deleted fill back out of `market_positions`.
 10  `market_positions.yes_acquired` / `no_acquired` (lots of each side acquired: a sale of one side
     is an acquisition of the other), so that a market where a venue netting pairs (Kalshi, IB)
     paid some back as cash is known without reading its fills, and `fills_by_market` to read
     such a market's fills by index (`OrderStore.netted_held_costs`).
 11  `intents.at_venue` (0: refused while the venue took no orders — rate limited after the
     retries, Polymarket's restart and post-only modes); `fill_outcome_counts` counts the entry
     IOC orders that reached the venue's matching only: neither `failed` ones (never sent, never
     found there) nor those.

Units: ms since the Unix epoch (wall clock), money in µ$, quantities in lots, prices in ticks.
"""
from __future__ import annotations

import sqlite3
from arbbot.units import TICKS_PER_DOLLAR
from dataclasses import dataclass
from typing import Callable, Union

FULL = TICKS_PER_DOLLAR              # a YES + NO pair pays $1 per contract: this many µ$ per lot

# µ$ received (positive) or paid (negative) by one execution's fills, fees included; one `?`:
# the execution id. Prices are converted to the intent's own side (a venue may report a sell of
# YES at p as a buy of NO at 10,000 − p); an unwind that BUYS the opposite side completes a pair
# worth $1 per contract (10,000 µ$ per lot). The single definition of an execution's cash flow.
CASH_FLOW_TERM = f"""
    (CASE WHEN f.side = i.side THEN f.price ELSE {FULL} - f.price END) * f.qty
        * (CASE WHEN i.action = 'sell' THEN 1 ELSE -1 END)
    - f.fee
    + (CASE WHEN i.role = 'unwind' AND i.action = 'buy' THEN {FULL} * f.qty ELSE 0 END)"""


def cash_flow_sql(execution_id: str = "?") -> str:
    """The cash flow (µ$) of the execution `execution_id` names: a parameter, or a column of an
    outer query (a correlated subquery)."""
    return f"""
SELECT COALESCE(SUM({CASH_FLOW_TERM}), 0)
FROM fills f JOIN intents i ON i.client_order_id = f.client_order_id
WHERE i.execution_id = {execution_id}"""


CASH_FLOW_SQL = cash_flow_sql()

LOSS_STATES = ("unwound", "naked")   # terminal states whose negative cash flow is a realised loss

_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY,
    opportunity_id TEXT NOT NULL,
    lane INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    qty INTEGER NOT NULL CHECK (qty > 0),            -- lots, equal on every leg
    payout INTEGER NOT NULL,                         -- µ$
    planned_cost INTEGER NOT NULL,                   -- µ$
    planned_fee INTEGER NOT NULL,                    -- µ$
    planned_profit INTEGER NOT NULL,                 -- µ$
    legs TEXT NOT NULL,                              -- JSON list of planned legs
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    acknowledged INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS intents (
    client_order_id TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL REFERENCES executions(id),
    leg INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('entry', 'unwind')),
    attempt INTEGER NOT NULL,
    venue TEXT NOT NULL,
    market TEXT NOT NULL,                            -- engine name venue:id
    market_id TEXT NOT NULL,                         -- venue market id
    side TEXT NOT NULL,                              -- yes | no
    action TEXT NOT NULL,                            -- buy | sell
    qty INTEGER NOT NULL CHECK (qty > 0),            -- lots
    price INTEGER NOT NULL,                          -- limit, ticks of `side`
    tif TEXT NOT NULL,
    state TEXT NOT NULL,
    order_id TEXT,
    filled_qty INTEGER NOT NULL DEFAULT 0,           -- lots, as the venue reports
    cost INTEGER NOT NULL DEFAULT 0,                 -- µ$, as the venue reports
    fee INTEGER NOT NULL DEFAULT 0,                  -- µ$, as the venue reports
    error TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    UNIQUE (execution_id, leg, role, attempt)
);
CREATE INDEX IF NOT EXISTS intents_by_state ON intents(state);
CREATE TABLE IF NOT EXISTS fills (
    venue TEXT NOT NULL,
    fill_id TEXT NOT NULL,
    client_order_id TEXT NOT NULL REFERENCES intents(client_order_id),
    order_id TEXT NOT NULL,
    market_id TEXT NOT NULL,
    side TEXT NOT NULL,                              -- as the venue reports it
    action TEXT NOT NULL,
    qty INTEGER NOT NULL,                            -- lots
    price INTEGER NOT NULL,                          -- ticks of `side`
    fee INTEGER NOT NULL,                            -- µ$
    is_taker INTEGER NOT NULL,
    ts_ms INTEGER NOT NULL,
    PRIMARY KEY (venue, fill_id)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    execution_id TEXT,
    client_order_id TEXT,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS flags (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    ts_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS market_failures (
    market TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    blacklisted_until_ms INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER NOT NULL
);
"""

_V2 = """
CREATE TABLE realised_losses (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id TEXT NOT NULL REFERENCES executions(id),
    ts_ms INTEGER NOT NULL,                          -- store clock when booked: the risk day it counts in
    state TEXT NOT NULL,                             -- execution state that booked the row
    loss INTEGER NOT NULL,                           -- µ$: change of the execution's realised loss
    total INTEGER NOT NULL CHECK (total >= 0)        -- µ$: the execution's realised loss after this row
);
CREATE INDEX realised_losses_by_ts ON realised_losses(ts_ms);
CREATE INDEX realised_losses_by_execution ON realised_losses(execution_id);
ALTER TABLE fills ADD COLUMN recorded_ms INTEGER NOT NULL DEFAULT 0;   -- store clock at insertion
UPDATE fills SET recorded_ms = COALESCE(
    (SELECT MIN(e.ts_ms) FROM events e WHERE e.kind = 'fill' AND e.client_order_id = fills.client_order_id
                                         AND json_extract(e.data, '$.fill_id') = fills.fill_id),
    ts_ms);
CREATE INDEX fills_by_recorded ON fills(recorded_ms);
CREATE TABLE breakers (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('closed', 'open', 'half_open')),
    failures INTEGER NOT NULL CHECK (failures >= 0), -- consecutive failed executions
    opened_at_ms INTEGER NOT NULL,                   -- wall clock when last opened (0 = never)
    cooldown_ms INTEGER NOT NULL,                    -- OPEN lasts this long before HALF_OPEN
    updated_ms INTEGER NOT NULL
);
CREATE TABLE cash_baselines (
    venue TEXT PRIMARY KEY,
    cash_micros INTEGER NOT NULL,                    -- µ$: the venue's cash before this store traded there
    ts_ms INTEGER NOT NULL
);
"""

_V3 = """
CREATE TABLE estimate_samples (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('latency', 'depletion', 'mid')),
    key TEXT NOT NULL,                               -- venue | market#side | market (venue:id)
    ts_ms INTEGER NOT NULL,                          -- wall clock of the observation
    value REAL NOT NULL                              -- latency s | depletion per s | mid $
);
CREATE INDEX estimate_samples_by_key ON estimate_samples(kind, key, ts_ms);
CREATE INDEX estimate_samples_by_time ON estimate_samples(ts_ms);   -- pruning past the window
CREATE INDEX executions_by_state ON executions(state);              -- sizing reads held / in-flight ones
CREATE TABLE drawdown (
    name TEXT PRIMARY KEY CHECK (name = 'equity'),   -- one row
    peak INTEGER NOT NULL,                           -- µ$: the equity peak
    equity INTEGER NOT NULL,                         -- µ$: the last equity observed
    stopped_ms INTEGER NOT NULL,                     -- wall ms the drawdown stop started, 0 = none
    tier TEXT NOT NULL CHECK (tier IN ('normal', 'caution', 'stop')),
    updated_ms INTEGER NOT NULL
);
CREATE TABLE sizing_records (
    execution_id TEXT PRIMARY KEY REFERENCES executions(id),
    opportunity_id TEXT NOT NULL,
    record TEXT NOT NULL,                            -- JSON: the arbbot.sizing/1 per-opportunity object
    loss_budget INTEGER NOT NULL CHECK (loss_budget >= 0),   -- µ$ of the daily loss cap reserved in flight
    ts_ms INTEGER NOT NULL
);
CREATE INDEX sizing_records_by_opportunity ON sizing_records(opportunity_id);
"""

_V4 = """
CREATE TABLE bucket_groups (
    group_key TEXT PRIMARY KEY,                      -- member markets (venue:id) sorted, joined by '|'
    successes REAL NOT NULL,                         -- discounted counts as of updated_ms
    failures REAL NOT NULL,
    consecutive_failures INTEGER NOT NULL,
    disabled_until_ms INTEGER NOT NULL,              -- 0 = enabled
    updated_ms INTEGER NOT NULL
);
"""

_V5 = """
ALTER TABLE executions ADD COLUMN paper INTEGER NOT NULL DEFAULT 0;   -- 1: arbbot run --paper
ALTER TABLE intents ADD COLUMN paper INTEGER NOT NULL DEFAULT 0;      -- 1: filled locally, never sent
CREATE TABLE paper_accounts (
    venue TEXT PRIMARY KEY,
    start_cash INTEGER NOT NULL,                     -- µ$: the paper account's cash before any paper fill
    ts_ms INTEGER NOT NULL
);
CREATE TABLE paper_orders (
    venue TEXT NOT NULL,
    order_id TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    market_id TEXT NOT NULL,                         -- venue market id
    side TEXT NOT NULL,                              -- yes | no
    action TEXT NOT NULL,                            -- buy | sell
    price INTEGER NOT NULL,                          -- limit, ticks of `side`
    qty INTEGER NOT NULL CHECK (qty > 0),            -- lots
    tif TEXT NOT NULL,                               -- ioc | fok
    status TEXT NOT NULL CHECK (status IN ('filled', 'canceled')),
    filled INTEGER NOT NULL,                         -- lots
    cost INTEGER NOT NULL,                           -- µ$: Σ price × qty of the fills (a sale: proceeds)
    fee INTEGER NOT NULL,                            -- µ$
    reason TEXT NOT NULL DEFAULT '',                 -- why nothing could fill (no trusted book), else ''
    latency_us INTEGER NOT NULL,                     -- µs waited between the request and the match
    terms TEXT NOT NULL,                             -- JSON: the market's fee schedule and lot
    book TEXT NOT NULL,                              -- JSON: the book matched against (four sides; empty: none)
    sent_ms INTEGER NOT NULL,                        -- wall ms of the request
    matched_ms INTEGER NOT NULL,                     -- wall ms of the match
    PRIMARY KEY (venue, order_id)
);
CREATE INDEX paper_orders_by_client_id ON paper_orders(venue, client_order_id);
CREATE TABLE paper_fills (
    venue TEXT NOT NULL,
    fill_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    market_id TEXT NOT NULL,
    side TEXT NOT NULL,
    action TEXT NOT NULL,
    qty INTEGER NOT NULL,                            -- lots
    price INTEGER NOT NULL,                          -- ticks of `side`
    fee INTEGER NOT NULL,                            -- µ$ (per-order accumulator: the fills add up to the order's fee)
    ts_ms INTEGER NOT NULL,
    PRIMARY KEY (venue, fill_id)
);
CREATE INDEX paper_fills_by_order ON paper_fills(venue, order_id);
"""

# the samples are read by kind and time only (`estimate_samples_by_time`); an index by key made
# every insert touch a random page (≈ 14 GB written in a 10-minute 20k-market session)
_V6 = """
DROP INDEX estimate_samples_by_key;
"""

_V7 = """
CREATE TABLE resolutions (
    market TEXT PRIMARY KEY,                         -- engine name venue:id
    venue TEXT NOT NULL,
    market_id TEXT NOT NULL,                         -- venue market id
    result TEXT NOT NULL CHECK (result IN ('yes', 'no', 'scalar', 'void')),
    yes_value INTEGER CHECK (yes_value BETWEEN 0 AND 10000),   -- µ$ a YES lot pays (a NO lot: 10,000 − it); NULL: void
    paid INTEGER NOT NULL CHECK (paid IN (0, 1)),    -- 1: the venue credited cash and dropped the position
    source TEXT NOT NULL CHECK (source IN ('venue', 'operator')),
    resolved_ms INTEGER NOT NULL,                    -- the venue's settlement time (0: not given)
    recorded_ms INTEGER NOT NULL,                    -- store clock when recorded
    CHECK ((result = 'void') = (yes_value IS NULL))
);
CREATE TABLE paper_settlements (
    venue TEXT NOT NULL,
    market_id TEXT NOT NULL,
    lots INTEGER NOT NULL,                           -- net YES lots the paper account held (< 0: NO lots)
    payout INTEGER NOT NULL,                         -- µ$ credited to the paper account
    ts_ms INTEGER NOT NULL,
    PRIMARY KEY (venue, market_id)
);
"""

# an order's fills and an execution's cash flow are read by client order id on every execution
# (the ledger, the result, the drift monitor): without an index each read scanned every fill
# (0.34 s per execution's cash flow in a 200,000-execution store; 0.1 ms with it). Sizing's
# per-lane daily PnL reads the executions of its window by their last update. The net position per
# market and the fill outcomes per venue (every portfolio refresh: 0.9 s and 0.4 s there, summing
# the whole history) are kept as running totals, by triggers on the rows that move them (the
# terminal intent states are INTENT_TERMINAL's as of this version).
_ENDED = "('filled', 'partially_filled', 'canceled', 'rejected', 'failed')"   # INTENT_TERMINAL as of version 8
_V8 = f"""
CREATE INDEX fills_by_order ON fills(client_order_id);
CREATE INDEX executions_by_update ON executions(updated_ms);
CREATE TABLE market_positions (                      -- every fill's lots and cost, summed as they are written
    venue TEXT NOT NULL,
    market_id TEXT NOT NULL,
    lots INTEGER NOT NULL,                           -- net YES lots (a NO lot counts −1; a sale reduces)
    cost INTEGER NOT NULL,                           -- µ$: Σ ±lots × price ticks
    PRIMARY KEY (venue, market_id)
);
INSERT INTO market_positions(venue, market_id, lots, cost)
    SELECT venue, market_id,
           SUM((CASE WHEN action = 'buy' THEN 1 ELSE -1 END) * (CASE WHEN side = 'yes' THEN qty ELSE -qty END)),
           SUM((CASE WHEN action = 'buy' THEN 1 ELSE -1 END) * qty * price)
    FROM fills GROUP BY venue, market_id;
CREATE TRIGGER fills_move_positions AFTER INSERT ON fills BEGIN
    INSERT INTO market_positions(venue, market_id, lots, cost) VALUES (NEW.venue, NEW.market_id,
        (CASE WHEN NEW.action = 'buy' THEN 1 ELSE -1 END) * (CASE WHEN NEW.side = 'yes' THEN NEW.qty ELSE -NEW.qty END),
        (CASE WHEN NEW.action = 'buy' THEN 1 ELSE -1 END) * NEW.qty * NEW.price)
    ON CONFLICT(venue, market_id) DO UPDATE SET lots = lots + excluded.lots, cost = cost + excluded.cost;
END;
CREATE TABLE fill_outcome_counts (                   -- per venue, entry IOC intents ended (venue rows only)
    venue TEXT PRIMARY KEY,
    fills INTEGER NOT NULL,                          -- of which filled in full
    attempts INTEGER NOT NULL
);
INSERT INTO fill_outcome_counts(venue, fills, attempts)
    SELECT venue, SUM(state = 'filled'), COUNT(*) FROM intents
    WHERE role = 'entry' AND tif = 'ioc' AND paper = 0
      AND state IN {_ENDED}
    GROUP BY venue;
CREATE TRIGGER intents_count_outcomes AFTER UPDATE OF state ON intents
WHEN NEW.role = 'entry' AND NEW.tif = 'ioc' AND NEW.paper = 0 AND OLD.state IS NOT NEW.state BEGIN
    INSERT INTO fill_outcome_counts(venue, fills, attempts) VALUES (NEW.venue,
        (NEW.state = 'filled') - (OLD.state = 'filled'),
        (NEW.state IN {_ENDED})
        - (OLD.state IN {_ENDED}))
    ON CONFLICT(venue) DO UPDATE SET fills = fills + excluded.fills, attempts = attempts + excluded.attempts;
END;
CREATE TRIGGER intents_count_inserted AFTER INSERT ON intents
WHEN NEW.role = 'entry' AND NEW.tif = 'ioc' AND NEW.paper = 0
     AND NEW.state IN {_ENDED} BEGIN
    INSERT INTO fill_outcome_counts(venue, fills, attempts) VALUES (NEW.venue, NEW.state = 'filled', 1)
    ON CONFLICT(venue) DO UPDATE SET fills = fills + excluded.fills, attempts = attempts + excluded.attempts;
END;
CREATE TRIGGER intents_recount_paper AFTER UPDATE OF paper ON intents
WHEN NEW.role = 'entry' AND NEW.tif = 'ioc' AND OLD.paper IS NOT NEW.paper
     AND NEW.state IN {_ENDED} BEGIN
    INSERT INTO fill_outcome_counts(venue, fills, attempts) VALUES (NEW.venue,
        (NEW.state = 'filled') * (OLD.paper - NEW.paper), OLD.paper - NEW.paper)
    ON CONFLICT(venue) DO UPDATE SET fills = fills + excluded.fills, attempts = attempts + excluded.attempts;
END;
"""


# a fill its venue reverted (Polymarket: the trade FAILED on chain) leaves `fills` for this table, its
# row as it was plus when and why it was voided; `fills_unmove_positions` takes it out of the running
# positions (`fills_move_positions` put it in)
_V9 = """
CREATE TABLE voided_fills (
    venue TEXT NOT NULL,
    fill_id TEXT NOT NULL,
    client_order_id TEXT NOT NULL REFERENCES intents(client_order_id),
    order_id TEXT NOT NULL,
    market_id TEXT NOT NULL,
    side TEXT NOT NULL,                              -- as the venue reported it
    action TEXT NOT NULL,
    qty INTEGER NOT NULL,                            -- lots
    price INTEGER NOT NULL,                          -- ticks of `side`
    fee INTEGER NOT NULL,                            -- µ$
    is_taker INTEGER NOT NULL,
    ts_ms INTEGER NOT NULL,                          -- the venue's time of the fill
    recorded_ms INTEGER NOT NULL,                    -- store clock when it was recorded as a fill
    voided_ms INTEGER NOT NULL,                      -- store clock when it was voided
    reason TEXT NOT NULL,
    PRIMARY KEY (venue, fill_id)
);
CREATE TRIGGER fills_unmove_positions AFTER DELETE ON fills BEGIN
    UPDATE market_positions SET
        lots = lots - (CASE WHEN OLD.action = 'buy' THEN 1 ELSE -1 END)
                      * (CASE WHEN OLD.side = 'yes' THEN OLD.qty ELSE -OLD.qty END),
        cost = cost - (CASE WHEN OLD.action = 'buy' THEN 1 ELSE -1 END) * OLD.qty * OLD.price
    WHERE venue = OLD.venue AND market_id = OLD.market_id;
END;
"""


# the running positions learn each side's acquired lots (a buy of YES or a sale of NO acquires YES);
# on a venue that nets pairs, min(yes_acquired, no_acquired) lots came back as $1 of cash each
_ACQUIRES_YES = "((NEW.action = 'buy') = (NEW.side = 'yes'))"
_V10 = f"""
CREATE INDEX fills_by_market ON fills(venue, market_id);
ALTER TABLE market_positions ADD COLUMN yes_acquired INTEGER NOT NULL DEFAULT 0;
ALTER TABLE market_positions ADD COLUMN no_acquired INTEGER NOT NULL DEFAULT 0;
UPDATE market_positions SET
    yes_acquired = COALESCE((SELECT SUM(qty) FROM fills f WHERE f.venue = market_positions.venue
        AND f.market_id = market_positions.market_id AND (f.action = 'buy') = (f.side = 'yes')), 0),
    no_acquired = COALESCE((SELECT SUM(qty) FROM fills f WHERE f.venue = market_positions.venue
        AND f.market_id = market_positions.market_id AND (f.action = 'buy') != (f.side = 'yes')), 0);
DROP TRIGGER fills_move_positions;
CREATE TRIGGER fills_move_positions AFTER INSERT ON fills BEGIN
    INSERT INTO market_positions(venue, market_id, lots, cost, yes_acquired, no_acquired) VALUES (NEW.venue,
        NEW.market_id,
        (CASE WHEN NEW.action = 'buy' THEN 1 ELSE -1 END) * (CASE WHEN NEW.side = 'yes' THEN NEW.qty ELSE -NEW.qty END),
        (CASE WHEN NEW.action = 'buy' THEN 1 ELSE -1 END) * NEW.qty * NEW.price,
        CASE WHEN {_ACQUIRES_YES} THEN NEW.qty ELSE 0 END,
        CASE WHEN {_ACQUIRES_YES} THEN 0 ELSE NEW.qty END)
    ON CONFLICT(venue, market_id) DO UPDATE SET lots = lots + excluded.lots, cost = cost + excluded.cost,
        yes_acquired = yes_acquired + excluded.yes_acquired, no_acquired = no_acquired + excluded.no_acquired;
END;
DROP TRIGGER fills_unmove_positions;
CREATE TRIGGER fills_unmove_positions AFTER DELETE ON fills BEGIN
    UPDATE market_positions SET
        lots = lots - (CASE WHEN OLD.action = 'buy' THEN 1 ELSE -1 END)
                      * (CASE WHEN OLD.side = 'yes' THEN OLD.qty ELSE -OLD.qty END),
        cost = cost - (CASE WHEN OLD.action = 'buy' THEN 1 ELSE -1 END) * OLD.qty * OLD.price,
        yes_acquired = yes_acquired - (CASE WHEN {_ACQUIRES_YES.replace("NEW.", "OLD.")} THEN OLD.qty ELSE 0 END),
        no_acquired = no_acquired - (CASE WHEN {_ACQUIRES_YES.replace("NEW.", "OLD.")} THEN 0 ELSE OLD.qty END)
    WHERE venue = OLD.venue AND market_id = OLD.market_id;
END;
"""


# step 2's fill outcomes count the entry IOC orders that reached the venue's matching: not those
# never sent or never found there ('failed'), nor those refused while the venue took no orders
# (`intents.at_venue` 0: rate limited after the retries, Polymarket's restart 425 and post-only /
# cancel-only modes). Counted, an outage lowered a venue's fill probability for good (the Beta
# posterior has no window) and could reject every trade with a later leg there.
_COUNTED = "('filled', 'partially_filled', 'canceled', 'rejected')"
_V11 = f"""
ALTER TABLE intents ADD COLUMN at_venue INTEGER NOT NULL DEFAULT 1;   -- 0: refused while the venue took no orders
DROP TRIGGER intents_count_outcomes;
DROP TRIGGER intents_count_inserted;
DROP TRIGGER intents_recount_paper;
-- the refusals written before: each one's message says nothing was placed (VenueUnavailable's)
UPDATE intents SET at_venue = 0 WHERE state = 'rejected' AND error LIKE '%nothing was placed%';
DELETE FROM fill_outcome_counts;
INSERT INTO fill_outcome_counts(venue, fills, attempts)
    SELECT venue, SUM(state = 'filled'), COUNT(*) FROM intents
    WHERE role = 'entry' AND tif = 'ioc' AND paper = 0 AND state IN {_COUNTED} AND at_venue
    GROUP BY venue;
CREATE TRIGGER intents_count_outcomes AFTER UPDATE OF state, at_venue ON intents
WHEN NEW.role = 'entry' AND NEW.tif = 'ioc' AND NEW.paper = 0
     AND (OLD.state IS NOT NEW.state OR OLD.at_venue IS NOT NEW.at_venue) BEGIN
    INSERT INTO fill_outcome_counts(venue, fills, attempts) VALUES (NEW.venue,
        (NEW.state = 'filled') - (OLD.state = 'filled'),
        (NEW.state IN {_COUNTED} AND NEW.at_venue) - (OLD.state IN {_COUNTED} AND OLD.at_venue))
    ON CONFLICT(venue) DO UPDATE SET fills = fills + excluded.fills, attempts = attempts + excluded.attempts;
END;
CREATE TRIGGER intents_count_inserted AFTER INSERT ON intents
WHEN NEW.role = 'entry' AND NEW.tif = 'ioc' AND NEW.paper = 0 AND NEW.state IN {_COUNTED} AND NEW.at_venue BEGIN
    INSERT INTO fill_outcome_counts(venue, fills, attempts) VALUES (NEW.venue, NEW.state = 'filled', 1)
    ON CONFLICT(venue) DO UPDATE SET fills = fills + excluded.fills, attempts = attempts + excluded.attempts;
END;
CREATE TRIGGER intents_recount_paper AFTER UPDATE OF paper ON intents
WHEN NEW.role = 'entry' AND NEW.tif = 'ioc' AND OLD.paper IS NOT NEW.paper
     AND NEW.state IN {_COUNTED} AND NEW.at_venue BEGIN
    INSERT INTO fill_outcome_counts(venue, fills, attempts) VALUES (NEW.venue,
        (NEW.state = 'filled') * (OLD.paper - NEW.paper), OLD.paper - NEW.paper)
    ON CONFLICT(venue) DO UPDATE SET fills = fills + excluded.fills, attempts = attempts + excluded.attempts;
END;
"""


def _backfill_losses(db: sqlite3.Connection, now_ms: int) -> None:
    """Book the realised loss of every unwound/naked execution written before version 2, dated
    when it ended (its last `execution_<state>` event, else its `updated_ms`)."""
    rows = db.execute("SELECT id, state, updated_ms FROM executions WHERE state IN (?, ?) ORDER BY created_ms, id",
                      LOSS_STATES).fetchall()
    for xid, state, updated_ms in rows:
        loss = max(0, -db.execute(CASH_FLOW_SQL, (xid,)).fetchone()[0])
        if loss:
            ended = db.execute("SELECT MAX(ts_ms) FROM events WHERE execution_id=? AND kind=?",
                               (xid, f"execution_{state}")).fetchone()[0]
            db.execute("INSERT INTO realised_losses(execution_id, ts_ms, state, loss, total) VALUES (?,?,?,?,?)",
                       (xid, updated_ms if ended is None else ended, state, loss, loss))


Step = Union[str, Callable[[sqlite3.Connection, int], None]]


@dataclass(frozen=True)
class Migration:
    """One forward step: SQL scripts and/or functions `(db, now_ms)`, run in order."""
    version: int
    description: str
    steps: tuple[Step, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "order store: executions, intents, fills, events, flags, market failures", (_V1,)),
    Migration(2, "durable risk: realised_losses ledger, fills.recorded_ms, breakers, cash_baselines",
              (_V2, _backfill_losses)),
    Migration(3, "sizing state: estimate_samples, drawdown, sizing_records", (_V3,)),
    Migration(4, "bucket selection: bucket_groups", (_V4,)),
    Migration(5, "paper trading: executions.paper, intents.paper, paper_accounts, paper_orders, paper_fills",
              (_V5,)),
    Migration(6, "estimate samples: no index by key (read by kind and time only)", (_V6,)),
    Migration(7, "market resolutions, paper settlements", (_V7,)),
    Migration(8, "fills indexed by client order id, executions by last update; running market positions and "
                 "fill outcomes", (_V8,)),
    Migration(9, "voided fills: fills their venue reverted (Polymarket trades FAILED on chain), out of "
                 "the running positions", (_V9,)),
    Migration(10, "running positions: each side's acquired lots; fills indexed by market", (_V10,)),
    Migration(11, "fill outcomes: only orders that reached the venue's matching (intents.at_venue)", (_V11,)),
)
LATEST = MIGRATIONS[-1].version
VOIDED_FILLS_VERSION = 9            # the version that adds `voided_fills`
AT_VENUE_VERSION = 11               # the version that adds `intents.at_venue`


class SchemaError(ValueError):
    """The database cannot be used by this version of arbbot (e.g. it is newer)."""


def _statements(script: str):
    """Split an SQL script into complete statements (executescript would COMMIT first)."""
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            yield buf.strip()
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buf.strip()[:80]!r}")


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def current_version(db: sqlite3.Connection, where: str = "") -> int:
    """The database's schema version: the highest row of `schema_version`, else a pre-versioning
    database's `meta.schema_version`, else 0 (empty database). SchemaError when it is not a whole
    number (another tool's database with tables of those names; `where` names the file in it)."""
    if _has_table(db, "schema_version"):
        v = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        if v is not None:
            return _whole(v, "schema_version", where)
    if _has_table(db, "meta"):
        r = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if r is not None:
            return _whole(r[0], "meta.schema_version", where)
    return 0


def _whole(value, column: str, where: str) -> int:
    """A stored schema version as an int; SchemaError when it is not a whole number ≥ 0."""
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise SchemaError(f"{where + ' is ' if where else ''}not an arbbot order store: its {column} is "
                      f"{str(value)[:40]!r}, not a version number")


def _check(version: int, where: str) -> None:
    if version > LATEST:
        raise SchemaError(f"{where}: database schema version {version} is newer than this arbbot supports "
                          f"({LATEST}); upgrade arbbot to open it")


def migrate(db: sqlite3.Connection, now_ms: int, where: str = "database") -> tuple[int, int]:
    """Bring `db` (a connection in autocommit mode, `isolation_level=None`) to `LATEST`.

    Returns (version before, version after). All pending migrations run in one BEGIN IMMEDIATE
    transaction, each recorded in `schema_version(version, description, applied_ms)`; the
    legacy `meta.schema_version` row is kept equal to the latest version. Raises `SchemaError`
    if the database is newer than this code."""
    before = current_version(db, where)     # read without the write lock: reopening is read-only
    _check(before, where)
    if before == LATEST:
        return before, before
    db.execute("BEGIN IMMEDIATE")
    try:
        before = current_version(db, where)  # another process may have migrated meanwhile
        _check(before, where)
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
                   " description TEXT NOT NULL, applied_ms INTEGER NOT NULL)")
        if before and db.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 0:
            db.execute("INSERT INTO schema_version(version, description, applied_ms) VALUES (?,?,?)",
                       (before, "adopted from meta.schema_version", now_ms))
        for m in MIGRATIONS:
            if m.version <= before:
                continue
            for step in m.steps:
                if callable(step):
                    step(db, now_ms)
                else:
                    for stmt in _statements(step):
                        db.execute(stmt)
            db.execute("INSERT INTO schema_version(version, description, applied_ms) VALUES (?,?,?)",
                       (m.version, m.description, now_ms))
        db.execute("INSERT INTO meta(key, value) VALUES ('schema_version', ?)"
                   " ON CONFLICT(key) DO UPDATE SET value=excluded.value", (str(LATEST),))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return before, LATEST
