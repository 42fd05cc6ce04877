"""Fixtures for the dashboard tests: a real `arbbot run` against the embedded simulator with its
dashboard on a free port (the URL read from its stderr; the token set in ARB_DASHBOARD_TOKEN: a
stderr that is a file never shows one), and headless Chromium from Debian
driven by Playwright. Screenshots go to `artifacts/` beside this file (ignored by git), or to
$ARBBOT_ARTIFACTS."""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

BOT = [sys.executable, "-m", "arbbot.cli"]
URL_LINE = re.compile(r"arbbot: dashboard (http://[^\s?]+/)")
CHROMIUM = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")


def artifacts_dir() -> Path:
    path = Path(os.environ.get("ARBBOT_ARTIFACTS", Path(__file__).parent / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Bot:
    proc: subprocess.Popen
    base: str                 # http://127.0.0.1:PORT/
    token: str
    workdir: Path
    stderr: Path

    @property
    def login_url(self) -> str:
        return f"{self.base}?token={self.token}"

    def api(self, path: str, **kw):
        import httpx
        return httpx.get(self.base + path.lstrip("/"), headers={"Authorization": f"Bearer {self.token}"},
                         timeout=10, **kw)

    def state(self) -> dict:
        r = self.api("api/state")
        assert r.status_code == 200, r.text
        return r.json()

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.stderr.read_text()


def start_bot(workdir: Path, *args: str, duration: float = 240, env: dict | None = None) -> Bot:
    """`arbbot run` (embedded simulator, paper trading) with the dashboard on a free port and a
    token of the test's (`env` may set its own ARB_DASHBOARD_TOKEN)."""
    err = workdir / "bot.stderr"
    full_env = {k: v for k, v in os.environ.items() if k != "ARB_DASHBOARD_TOKEN"}
    full_env.update({"ARB_KILL_FILE": str(workdir / "arbbot.kill"), "ARB_DASHBOARD_TOKEN": secrets.token_urlsafe(24),
                     **(env or {})})
    proc = subprocess.Popen(BOT + ["run", "--db", str(workdir / "orders.db"), "--json", "--metrics-port", "0",
                                   "--dashboard-port", "0", "--duration", str(duration), *args],
                            stdout=open(workdir / "bot.stdout", "w"), stderr=open(err, "w"), cwd=workdir,
                            env=full_env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        m = URL_LINE.search(err.read_text())
        if m:
            return Bot(proc, m.group(1), full_env["ARB_DASHBOARD_TOKEN"], workdir, err)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"no dashboard URL on stderr: {err.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    b = start_bot(tmp_path_factory.mktemp("bot"))
    yield b
    text = b.stop()
    assert "Traceback" not in text, text[-3000:]


def chromium_path() -> str | None:
    return next((p for p in CHROMIUM if os.access(p, os.X_OK)), None) or shutil.which("chromium")


def _missing(why: str) -> None:
    """Skip on a developer's machine; in CI (`CI` set) the browser tests must run: fail."""
    if os.environ.get("CI"):
        pytest.fail(f"{why} (CI must run the browser tests)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's `chromium`, installed by scripts/test.sh)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed: run scripts/setup.sh (pip install -e '.[test]')")
    path = chromium_path()
    if path is None:
        _missing("chromium is not installed: run scripts/test.sh (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


class Console:
    """Every console error and uncaught page error of a page."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda msg: self.errors.append(f"console.{msg.type}: {msg.text}")
                if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
