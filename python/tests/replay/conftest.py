"""A real paper run against the embedded simulator, recorded once for the replay tests."""
import json
import os
import subprocess
import sys

import pytest

BOT = [sys.executable, "-m", "arbbot.cli"]


def bot(*args, cwd, env_extra=None, timeout=180):
    env = {**os.environ, "ARB_KILL_FILE": "", **(env_extra or {})}
    return subprocess.run([*BOT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def recorded(tmp_path_factory):
    """(recording path, the recording run's JSON summary)."""
    work = tmp_path_factory.mktemp("record")
    # 12 s: the generated twins come from a worker process (about 1 s on an idle machine, several
    # under a loaded test run); the twins tests need them recorded
    out = bot("run", "--duration", "12", "--json", "--db", "rec.db", "--metrics-port", "0", "--no-dashboard",
              "--record", "rec.jsonl.gz", cwd=work)
    assert out.returncode == 0, out.stderr[-3000:]
    return work / "rec.jsonl.gz", json.loads(out.stdout.strip().splitlines()[-1])
