"""The simulator in a child process: `spawn(...)` starts `python -m arbbot.sim --handle-file …`,
waits for its handle file and returns a `SpawnedSimulator` (its `.handle` is what `load_handle`
returns: URLs and the simulator-only credentials). The bot and a 20,000-book universe then do not
share an interpreter (nor its GIL).

    with spawn("universe", 0, markets=20_000) as sim:
        ... connect to sim.handle (or pass sim.handle_file to `arbbot run --connect`) ...
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

STOP_TIMEOUT_S = 10.0        # terminate → wait this long → kill


class SpawnError(RuntimeError):
    """The simulator process did not come up (it died, or gave no handle in time)."""


@dataclass
class SpawnedSimulator:
    handle: object                 # arbbot.sim.SimHandle (no live objects: another process); .stop() = stop()
    process: subprocess.Popen = field(repr=False)
    handle_file: str
    log_file: str                  # the child's stdout + stderr
    _dir: str = field(repr=False, default="")

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """Terminate the child (SIGTERM, then SIGKILL after `timeout` s), wait for it, remove its
        temporary directory; its exit status. Idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = ""
        return self.process.returncode

    def log_lines(self) -> list[str]:
        """The child's output so far (gone after `stop()`)."""
        try:
            with open(self.log_file, errors="replace") as fh:
                return fh.read().splitlines()
        except OSError:
            return []

    def __enter__(self) -> SpawnedSimulator:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _tail(path: str, n: int = 2_000) -> str:
    try:
        with open(path, errors="replace") as fh:
            return fh.read()[-n:]
    except OSError:
        return ""


def spawn(scenario: str = "all", seed: int = 0, *, markets: int | None = None,
          step_interval: float | None = 1.0, faults: dict | None = None, log_json: bool = False,
          timeout: float = 120.0, settlements: list | None = None) -> SpawnedSimulator:
    """Start the simulator (`scenario`, `seed`; `markets` books for the universe) in a child
    process and return once its handle file is written. `step_interval` as for `start` (None:
    books never move on their own); the child also stops by itself once this process is gone.
    `faults`: `Faults` fields as a dict. `settlements`: markets the child settles on its own clock
    (a list of {venue, market, result, after_s}, `arbbot.sim.settlements`). `log_json`: the child
    logs its events (plants; the universe's `sim.universe` rate figures every 10 s) as JSON lines
    to `log_file`. Raises `SpawnError`
    (with the end of the child's output) if the child exits or writes no handle within
    `timeout` seconds; the child is stopped then. The child's environment is the dashboard
    child's (`arbbot.ops.dashboard.process.child_env`): the process basics and the interpreter's
    settings, none of the bot's ARB_* variables."""
    from arbbot.sim import load_handle
    tmp = tempfile.mkdtemp(prefix="arbbot-sim-")
    handle_file, log_file = os.path.join(tmp, "handle.json"), os.path.join(tmp, "sim.log")
    cmd = [sys.executable, "-m", "arbbot.sim", "--scenario", scenario, "--seed", str(seed),
           "--step", str(step_interval or 0), "--handle-file", handle_file, "--exit-with-parent", str(os.getpid())]
    if markets is not None:
        cmd += ["--markets", str(markets)]
    if faults:
        cmd += ["--faults", json.dumps(faults)]
    if settlements:
        cmd += ["--settlements", json.dumps(settlements)]
    if log_json:
        cmd.append("--log-json")
    from arbbot.ops.dashboard.process import child_env
    with open(log_file, "wb") as log:
        # the dashboard child's minimal environment: the simulator reads no ARB_* variable, and the
        # bot's (venue keys, webhooks, the dashboard token) are none of its business
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=child_env())
    sim = SpawnedSimulator(None, proc, handle_file, log_file, tmp)
    deadline = time.monotonic() + timeout
    while not os.path.exists(handle_file):
        if proc.poll() is not None or time.monotonic() > deadline:
            why = (f"exited with status {proc.returncode}" if proc.poll() is not None
                   else f"wrote no handle within {timeout:g} s")
            out = _tail(log_file)
            sim.stop()
            raise SpawnError(f"simulator {' '.join(cmd[2:])} {why}:\n{out}")
        time.sleep(0.05)
    sim.handle = load_handle(handle_file)
    sim.handle._stop = sim.stop             # handle.stop() stops the child too
    return sim
