"""Child process for the crash tests: run one execution and SIGKILL itself at a named step.

usage: python -m tests.execution.crash_child CONFIG_JSON DB_PATH OPP_JSON CRASH_AT
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from arbbot.execution import Executor, OrderStore
from tests.execution.harness import load_opp, routes, venue


def main() -> int:
    cfg_path, db, opp_path, crash_at = sys.argv[1:5]
    cfg = json.load(open(cfg_path))
    opp = load_opp(open(opp_path).read())

    def on_step(name: str) -> None:
        if name == crash_at:
            os.kill(os.getpid(), signal.SIGKILL)

    async def run():
        v = venue(cfg)
        ex = Executor(OrderStore(db), routes(v), on_step=on_step)
        res = await ex.execute(opp, execution_id="x1")
        print(res.state)
        await v.close()
    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
