"""Structured logging (structlog): one event per line on stderr, JSON with `--log-json`.

Events are named `area.what` (`opportunity`, `execution.done`, `order.placed`, `book.held_out`,
`recovery`, `sim.planted`, ...) with typed fields; money fields are µ$ integers, prices ticks,
quantities lots, `ts` is Unix seconds. Without `--log-json` only warnings and errors are printed
(the live view shows the rest). Every string value passes a redaction step: any registered
secret (API secrets, private keys) is replaced by `********` wherever it appears — after
exceptions and stacks are formatted (so a traceback's messages and frames are covered), and once
more on the rendered line. A value that is not a string (an exception, rendered by repr) and
holds a secret is replaced by its redacted text before rendering (JSON would escape a non-ASCII
secret past the last step).
"""
from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

REDACTED = "********"
_secrets: set[str] = set()


def register_secret(*values: str | bytes | None) -> None:
    """Never print these values (or any line of a PEM key) in a log event."""
    for value in values:
        if not value:
            continue
        text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
        for line in text.splitlines() or [text]:
            line = line.strip()
            if len(line) >= 8 and not line.startswith("-----"):
                _secrets.add(line)


def scrub(value: Any) -> Any:
    """`value` (str, or dicts/lists of them) with every registered secret replaced by REDACTED.
    Any other value (an exception, an object a renderer shows by repr) holding a secret in its
    repr or str becomes that text, redacted: once rendered it may be escaped (JSON writes a
    non-ASCII character as \\uXXXX), and the rendered line no longer contains the secret as
    registered. Numbers, booleans and None are kept as they are."""
    if isinstance(value, str):
        for secret in _secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub(v) for v in value)
    if value is None or isinstance(value, (bool, int, float)) or not _secrets:
        return value
    try:
        for text in (repr(value), str(value)):
            clean = scrub(text)
            if clean != text:
                return clean
    except Exception:           # noqa: BLE001 - a repr that fails: the renderer's problem, not ours
        pass
    return value


def _redact(_logger, _name, event: dict) -> dict:
    """Every string field, including the formatted `exception` and `stack` (run it after
    `format_exc_info` and `StackInfoRenderer`)."""
    return {k: scrub(v) for k, v in event.items()} if _secrets else event


def _redact_rendered(_logger, _name, line):
    """The rendered line (after the renderer): what `repr` or a renderer added to it."""
    return scrub(line) if _secrets and isinstance(line, str) else line


# control characters a terminal acts on (ESC starts colour, title, clipboard and screen sequences),
# other than the line breaks and tabs of a traceback; C1 controls too (0x9b is a one-byte CSI)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape_controls(_logger, _name, line):
    """The console line with every control character shown as \\xNN: venue text (an error body,
    a market title) reaches the message itself, which the console renderer prints as is."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", line) if isinstance(line, str) else line


class _CurrentStderr:
    """Whatever `sys.stderr` is at write time (the live view redirects it above its display)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _StdlibBridge(logging.Handler):
    """Library and adapter messages logged with the standard `logging` module become structlog
    events too (same format, same redaction), so `--log-json` output is JSON on every line."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            event = {"logger": record.name}
            if record.exc_info:
                event["exc_info"] = record.exc_info
            if record.stack_info:
                event["stack"] = record.stack_info      # already formatted by `logging`
            structlog.get_logger().log(record.levelno, record.getMessage(), **event)
        except Exception:       # logging must never take the bot down
            self.handleError(record)


def configure(json: bool = False, *, stream=None, level: int | None = None) -> None:
    """Route every `structlog.get_logger()` event to `stream` (default stderr)."""
    level = level if level is not None else (logging.INFO if json else logging.WARNING)
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        # redaction after everything that turns objects into text (tracebacks, stacks), and
        # again after the renderer
        processors=[structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt=None, key="ts"),
                    structlog.processors.StackInfoRenderer(), structlog.processors.format_exc_info,
                    _redact, renderer, _redact_rendered, *(() if json else (_escape_controls,))],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream or _CurrentStderr()),
        cache_logger_on_first_use=False)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StdlibBridge)]:
        root.removeHandler(handler)
    root.addHandler(_StdlibBridge())
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))    # one line per request otherwise


def get(name: str | None = None):
    return structlog.get_logger(name) if name else structlog.get_logger()


if not structlog.is_configured():      # importers that never call configure() get warnings only
    configure(json=False)
