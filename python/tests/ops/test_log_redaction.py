"""Registered secrets never reach the log output, including the text rendered late in the chain:
formatted tracebacks (the exception's message, a frame's file name, a chained cause), stack
dumps, and values that are not strings (rendered by repr) — for the JSON and console renderers,
for structlog loggers and for stdlib `logging` routed through them (aiohttp's "Error handling
request" is logged that way, with its traceback)."""
from __future__ import annotations

import io
import json
import logging

import pytest

from arbbot import logs

HOOK = "https://hooks.example.com/services/WebhookSECRETzzz"
FRAME_DIR = "FrameDirSECRET0123"       # a secret in a traceback frame's text (its file name)
CAUSE = "CauseSECRET-abcdef99"


class Url:                              # a value that is not a string: rendered with repr
    def __repr__(self) -> str:
        return f"Url({HOOK!r})"


def _raise() -> None:
    code = compile(f"raise ValueError('the cause: {CAUSE}')", f"/srv/{FRAME_DIR}/webhook.py", "exec")
    try:
        exec(code, {})
    except ValueError as exc:
        raise RuntimeError(f"POST {HOOK} failed") from exc


@pytest.fixture
def out():
    stream = io.StringIO()
    yield stream
    logs.configure(json=False)


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "console"])
def test_secrets_in_tracebacks_and_rendered_values_are_redacted(out, as_json):
    logs.configure(json=as_json, stream=out)
    logs.register_secret(HOOK, FRAME_DIR, CAUSE)
    try:
        _raise()
    except RuntimeError:
        logging.getLogger("httpx").error("POST %s", HOOK, exc_info=True)         # stdlib, routed
        logs.get("notify").exception("notify.failed", url=Url())                # structlog
    logging.getLogger("aiohttp.server").error("Error handling request to %s", HOOK, stack_info=True)
    logs.get("notify").error("notify.stack", stack_info=True, hook=HOOK)
    text = out.getvalue()
    for secret in (HOOK, "WebhookSECRETzzz", FRAME_DIR, CAUSE):
        assert secret not in text, text
    if as_json:                         # the checks below read the decoded fields
        lines = [json.loads(line) for line in text.splitlines()]
        text = "\n".join(str(v) for line in lines for v in line.values())
    # the rest of the traceback is still there, redacted in place
    assert text.count("Traceback (most recent call last)") == 4             # two chained tracebacks
    assert text.count("The above exception was the direct cause of the following exception") == 2
    assert text.count(f"RuntimeError: POST {logs.REDACTED} failed") == 2
    assert text.count(f"ValueError: the cause: {logs.REDACTED}") == 2
    assert text.count(f'File "/srv/{logs.REDACTED}/webhook.py", line 1') == 2
    assert f"Url('{logs.REDACTED}')" in text
    assert text.count("test_log_redaction.py") >= 6        # frames of the two stack dumps as well
    if as_json:
        assert [e["event"] for e in lines] == [f"POST {logs.REDACTED}", "notify.failed",
                                               f"Error handling request to {logs.REDACTED}", "notify.stack"]
        assert lines[0]["logger"] == "httpx" and lines[0]["level"] == "error"
        assert lines[0]["exception"].endswith(f"RuntimeError: POST {logs.REDACTED} failed")
        assert lines[1]["url"] == f"Url('{logs.REDACTED}')"
        assert "Stack (most recent call last)" in lines[2]["stack"] and lines[3]["hook"] == logs.REDACTED
        assert "Stack (most recent call last)" in lines[3]["stack"]
    else:
        assert f"[error    ] POST {logs.REDACTED}" in text


def test_a_secret_json_escapes_is_still_redacted(out):
    """JSON escapes a quote or a non-ASCII character: the value is redacted before rendering."""
    secret = 'pa"ss\\wörd-0123456789'
    logs.configure(json=True, stream=out)
    logs.register_secret(secret)
    try:
        raise PermissionError(f"login refused for {secret}")
    except PermissionError:
        logs.get("venue").exception("venue.login_failed")
    line = json.loads(out.getvalue())
    assert line["exception"].endswith(f"PermissionError: login refused for {logs.REDACTED}")
    assert "0123456789" not in out.getvalue()


def test_control_characters_from_venue_text_never_reach_the_terminal(out):
    """A venue's error body (`{"error": "\\u001b]0;…\\u0007"}` decodes to a real ESC) reaches a
    message printed by the console renderer as is: shown as \\xNN instead, so it can neither set the
    terminal's title, clear its screen nor write its clipboard (OSC 52); a traceback's line breaks
    stay. JSON lines escape them already (\\u001b)."""
    hostile = '{"error": "\x1b]0;PWNED-title\x07\x1b[2J\x9b31m\x1b]52;c;ZWNobw==\x07"}'
    logs.configure(json=False, stream=out, level=logging.INFO)
    logging.getLogger("arbbot.venues.kalshi").warning("kalshi feed: fetching MKT-1 failed: HTTP 400: %s", hostile)
    logs.get().warning("order.rejected", reason=hostile)
    try:
        raise RuntimeError(hostile)
    except RuntimeError:
        logs.get().exception("feed.failed")
    text = out.getvalue()
    assert not any(ch in text for ch in "\x1b\x07\x9b") and text.count("\\x1b]0;PWNED-title\\x07") >= 2
    assert "\\x9b31m" in text and "Traceback (most recent call last):\n" in text
    out.seek(0), out.truncate()
    logs.configure(json=True, stream=out, level=logging.INFO)
    logging.getLogger("arbbot.venues.kalshi").warning("failed: %s", hostile)
    line = out.getvalue().strip()
    assert "\x1b" not in line and json.loads(line)["event"] == f"failed: {hostile}"      # escaped, not altered
