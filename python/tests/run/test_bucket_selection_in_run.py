"""Bucket selection in `arbbot run`: every bucket execution is a trial of its group, a group whose
executions keep failing is disabled (its opportunities skipped), and the store holds the counts."""
from __future__ import annotations

import pytest

from arbbot.engine.types import Lane
from arbbot.execution.store import OrderStore
from tests.run.botproc import SimProcess, run_bot


def test_failing_bucket_groups_are_disabled_and_counted(tmp_path):
    # every second order is rejected: a bucket's second leg fails, the first is unwound. The unwinds'
    # losses also make the lane drift from its expected PnL; the drift monitor would then disable the
    # whole lane (its skips counted as "lane disabled (drift)", not by group), so it only alerts here.
    # The fed scenario alone: its rate-decision bucket gets several planted opportunities in 12 s (in
    # all scenarios together the bucket's opportunities are rare and often arrive while the trader is busy)
    sim = SimProcess(tmp_path, seed=1, step=0.2, faults={"order_reject_every": 2}, scenario="fed")
    try:
        bot = run_bot(sim, tmp_path / "b.db", "--duration", "12", "--cooldown", "0.1",
                      env={"ARB_BUCKET_MAX_CONSECUTIVE_FAILURES": "1", "ARB_BREAKER_FAILURES": "1000",
                           "ARB_DRIFT_DISABLE_LANE": "false"})
    finally:
        sim.stop()
    assert bot.returncode == 0, bot.stderr[-3000:]
    trading = bot.summary["trading"]
    store = OrderStore(str(tmp_path / "b.db"))
    groups = {key: (s, f, streak, until) for key, s, f, streak, until, _ in store.bucket_groups()}
    bucket_executions = store._db.execute("SELECT COUNT(*) FROM executions WHERE lane = ?",
                                          (int(Lane.BUCKET),)).fetchone()[0]
    store.close()
    assert groups, trading
    assert trading["buckets"]["groups"] == len(groups)
    assert sorted(trading["buckets"]["disabled"]) == sorted(k for k, (_, _, streak, until) in groups.items()
                                                            if until > 0)
    failed = [k for k, (s, f, streak, until) in groups.items() if streak >= 1]
    assert failed, groups                                  # the fault made some bucket execution fail
    for key in failed:                                     # one failure in a row disables (max 1)
        assert groups[key][3] > 0
    assert trading["skipped"].get("bucket group disabled", 0) >= 1, trading
    # every bucket execution was one trial of its group (no decay worth speaking of in 12 s)
    assert sum(s + f for s, f, _, _ in groups.values()) == pytest.approx(bucket_executions, abs=1e-3)
