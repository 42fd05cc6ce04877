"""A real HTTP server on 127.0.0.1 (its own thread) that records every POST and answers from a
script: per path, a list of answers used in order (the last one repeats).

An answer is a status code, or (status, headers), or ("hang", seconds): sleep that long, then 200.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Request:
    path: str
    at: float                   # time.monotonic() when the request arrived
    body: dict
    raw: bytes
    headers: dict


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.scripts: dict[str, list] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._release = threading.Event()           # ends every hang early (teardown)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:          # noqa: N802 (http.server naming)
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    receiver.requests.append(Request(self.path, time.monotonic(), json.loads(raw or b"{}"), raw,
                                                     {k.lower(): v for k, v in self.headers.items()}))
                    script = receiver.scripts.get(self.path, [200])
                    answer = script.pop(0) if len(script) > 1 else script[0]
                    receiver._arrived.notify_all()
                status, headers = answer, {}
                if isinstance(answer, tuple) and answer[0] == "hang":
                    receiver._release.wait(answer[1])
                    status = 200
                elif isinstance(answer, tuple):
                    status, headers = answer
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:                 # the client gave up (timeout)
                    pass

            def log_message(self, *args) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def url(self, path: str, prefix: str = "") -> str:
        return f"{prefix}http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, answers: list) -> None:
        self.scripts[path] = list(answers)

    def on(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, path: str, n: int, timeout: float = 5.0) -> list[Request]:
        """Wait until `path` got at least `n` requests; returns them (fails the test on timeout)."""
        end = time.monotonic() + timeout
        with self._lock:
            while len([r for r in self.requests if r.path == path]) < n:
                left = end - time.monotonic()
                assert left > 0, f"{path}: {len([r for r in self.requests if r.path == path])} requests, wanted {n}"
                self._arrived.wait(left)
            return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
