"""A dashboard client in its own process, for benchmarks: headless Chromium showing the page
(`--browser`, Debian's chromium driven by Playwright), or a plain Server-Sent Events reader.
The login URL (with `?token=`) is the first line of its stdin, never an argument (a command
line is readable by every local user: `ps`, /proc/PID/cmdline), as the dashboard child gets its
token. It prints {"connected": true} once it shows a state, runs until stdin closes or it is
terminated, then prints {"states": N} (SSE: states read;
browser: the book-update count the page showed last).

    echo LOGIN_URL | python -m arbbot.ops.dashboard.client [--browser]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import threading
from urllib.parse import parse_qs

CHROMIUM = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path() -> str | None:
    return next((p for p in CHROMIUM if os.access(p, os.X_OK)), None) or shutil.which("chromium")


def _until_stdin_closes(stop: threading.Event) -> None:
    def wait():
        sys.stdin.read()
        stop.set()
    threading.Thread(target=wait, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())


def login_token(url: str) -> tuple[str, str]:
    """(the dashboard's base URL, the token) of a login URL, the token percent-decoded as the
    server decodes its query (`auth.login_url` encodes it: `+ / = %` and spaces)."""
    base, _, query = url.partition("?")
    return base, parse_qs(query, keep_blank_values=True).get("token", [""])[0]


def sse(url: str, stop: threading.Event) -> int:
    import httpx
    base, token = login_token(url)
    states = 0
    with httpx.stream("GET", base + "api/stream", headers={"Authorization": f"Bearer {token}"}, timeout=None) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                states += 1
                json.loads(line[6:])
                if states == 1:
                    print(json.dumps({"connected": True}), flush=True)
            if stop.is_set():
                break
    return states


def browser(url: str, stop: threading.Event) -> int:
    from playwright.sync_api import sync_playwright
    path = chromium_path()
    if path is None:
        raise SystemExit("chromium is not installed (scripts/setup.sh installs it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = b.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(url)
        page.wait_for_function("document.getElementById('conn').textContent === 'live'", timeout=30_000)
        print(json.dumps({"connected": True}), flush=True)
        while not stop.is_set():
            page.wait_for_timeout(250)
        states = page.evaluate("document.getElementById('kpi-updates').textContent")   # rendered: it ran
        b.close()
    return int(states.replace(",", "") or 0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m arbbot.ops.dashboard.client", description=__doc__.splitlines()[0])
    ap.add_argument("--browser", action="store_true", help="headless Chromium showing the page (default: SSE reader)")
    args = ap.parse_args(argv)
    url = sys.stdin.readline().strip()        # the login URL: on stdin, never on the command line
    if "?token=" not in url:
        raise SystemExit("give the dashboard's login URL (with ?token=) as the first line of stdin")
    stop = threading.Event()
    _until_stdin_closes(stop)
    states = browser(url, stop) if args.browser else sse(url, stop)
    print(json.dumps({"states": states}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
