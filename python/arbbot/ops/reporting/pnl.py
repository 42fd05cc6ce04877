"""One execution's PnL, by the definitions of the run summary (`arbbot.run.trader.TradeStats`).

All amounts µ$ (integers), quantities lots. For a terminal execution with planned quantity
`qty`, payout `payout` (what every held pair pays at settlement for `qty` lots), planned profit
`planned_profit` (at decision), net lots held per leg `net` (entry fills − unwind fills) and cash
flow `cash_flow` (`execution.schema.CASH_FLOW_SQL`: fills' proceeds − costs − fees):

- locked-in (state `complete`): payout × min(net) // qty + cash_flow + held — the payout of the
  lots held on every leg plus what was paid for them (fees included);
- realised (state `unwound`): cash_flow + held — usually a loss;
- held (`held_cost`): what was paid for lots a leg holds beyond the complete sets (a venue filled
  beyond an order's size: Polymarket's market BUY), at the leg's average entry price, floored, and
  for lots an unwind bought of the other side beyond the leg, their price less the $1 pair the cash
  flow credits them: a position held at cost, neither a loss nor a gain;
- realised (state `naked`): cash_flow + `resolved`, what its lots in resolved markets paid (a
  lot in a market not resolved yet counts for nothing: the daily loss cap's reading);
- other states (aborted, executing) count in neither (as in the run summary).

Drift (expected vs realised) compares, per finished execution that traded (complete or unwound
with lots filled on its first leg):
- expected = planned_profit × traded // qty, where traded = lots its first leg's entry orders
  filled, at most `qty` (the quantity it committed to; equal to min(net) when complete: lots a
  venue filled beyond an order's size are held, not traded);
- realised = its locked-in (complete) or realised (unwound) PnL above.
"""
from __future__ import annotations

from dataclasses import dataclass

COUNTED = ("complete", "unwound", "naked")          # the states the run summary's PnL counts
FULL_LOT = 10_000                          # µ$ a complete YES + NO pair pays per lot ($1 a contract)


@dataclass(frozen=True)
class ExecutionPnL:
    locked_in: int = 0          # µ$, complete executions
    realised: int = 0           # µ$, unwound executions
    expected: int = 0           # µ$, planned profit pro rata of the traded lots
    traded: int = 0             # lots the first leg's entry orders filled

    @property
    def outcome(self) -> int:
        """µ$: what the fills produced (locked-in + realised)."""
        return self.locked_in + self.realised

    @property
    def drift_counted(self) -> bool:
        """Whether this execution enters the drift comparison (it traded and finished counted)."""
        return self.traded > 0


def held_cost(net: list[int], entry_lots: list[int], entry_paid: list[int], buyback_lots: list[int] | None = None,
              buyback_paid: list[int] | None = None) -> int:
    """µ$ to add back to an execution's cash flow for the lots it holds beyond its complete sets
    K = max(0, min(net)) (a venue filled beyond an order's size), so that they count at cost:
    - a leg above K: (net − K) lots at its entry fills' average (`entry_paid` µ$, price × lots +
      fees, over `entry_lots`), floored;
    - a leg below 0 (an unwind bought more of the other side than the leg held): the cash flow
      credits each such lot as a completed $1 pair it is not; −net lots at the average of those
      purchases (`buyback_paid` over `buyback_lots`), floored, less $1 (10,000 µ$) each.
    0 when the legs are equal."""
    sets = max(0, min(net, default=0))
    held = 0
    for i, n in enumerate(net):
        if n > sets and entry_lots[i] > 0:
            held += (n - sets) * entry_paid[i] // entry_lots[i]
        elif n < 0 and buyback_lots and buyback_lots[i] > 0:
            held += -n * buyback_paid[i] // buyback_lots[i] + n * FULL_LOT
    return held


def execution_pnl(state: str, qty: int, payout: int, planned_profit: int, net: dict[int, int] | list[int],
                  first_leg_entry_lots: int, cash_flow: int, held: int = 0, resolved: int = 0) -> ExecutionPnL:
    """The PnL of one execution (see the module docstring); `net`: net lots per leg, every leg;
    `held`: µ$ paid for lots held beyond the complete sets (`held_cost`), added back; `resolved`:
    µ$ a naked one's lots in resolved markets paid (`store.resolved_value`)."""
    if state == "naked":
        return ExecutionPnL(realised=cash_flow + resolved)
    values = list(net.values()) if isinstance(net, dict) else list(net)
    first_leg_entry_lots = min(first_leg_entry_lots, qty)
    cash_flow += held
    if state == "complete":
        held = min(values) if values else 0
        locked = payout * held // qty + cash_flow
        return ExecutionPnL(locked_in=locked, expected=planned_profit * first_leg_entry_lots // qty,
                            traded=first_leg_entry_lots)
    if state == "unwound":
        return ExecutionPnL(realised=cash_flow, expected=planned_profit * first_leg_entry_lots // qty,
                            traded=first_leg_entry_lots)
    return ExecutionPnL()
