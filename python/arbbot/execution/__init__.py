"""Execution: the order store, the sequential leg executor and crash recovery.

    store = OrderStore(path)                      # SQLite WAL; durability "process" (default): synchronous=NORMAL
                                                  # plus a background fsync (execution/walsync.py); "power": FULL
    rep = await recover(store, {"kalshi": kalshi_venue, ...})   # on start, before trading
    ex = Executor(store, {"kalshi:TICKER": Route(kalshi_venue, "TICKER"), ...}, risk=gates)
    result = await ex.execute(opportunity)        # raises Refused in safe mode / blacklist
    acknowledge(store)                            # `arbbot ack`
"""
from arbbot.execution.executor import ExecutionResult, Executor, ExecutorConfig, Refused, Route
from arbbot.execution.recovery import RecoveryReport, acknowledge, recover
from arbbot.execution.store import OrderStore, client_order_id

__all__ = ["ExecutionResult", "Executor", "ExecutorConfig", "OrderStore", "RecoveryReport", "Refused", "Route",
           "acknowledge", "client_order_id", "recover"]
