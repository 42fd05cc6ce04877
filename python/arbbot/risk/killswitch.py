"""Kill switch: trading is blocked while the file exists or after a programmatic trip. The file's
path is made absolute when the switch is built (a relative `kill_file` is relative to the bot's
working directory at start), so what it reports names the very file `arbbot halt` must write.

A halt reason is typed by an operator (`arbbot halt --reason`, the dashboard) and then written to
the kill file, audited in the store, logged and shown: `clean_reason` makes it fit for all of
them first."""
from __future__ import annotations

import os
import unicodedata

from arbbot import logs

MAX_REASON = 200        # characters of a halt reason kept (the notifier reads the kill file's first 200)
DEFAULT_REASON = "operator halt"


def clean_reason(text: str | None, default: str = DEFAULT_REASON) -> str:
    """`text` as one line fit to store and show: every secret registered with the log redaction
    (`logs.scrub`, on the text as typed) replaced by `logs.REDACTED`, then every control or format
    character (Unicode category C: newlines, ESC, NUL, bidi overrides) as a space, runs of
    whitespace as one space, at most MAX_REASON characters; `default` when nothing is left."""
    raw = logs.scrub(str(text or ""))
    line = "".join(" " if unicodedata.category(c).startswith("C") else c for c in raw)
    return " ".join(line.split())[:MAX_REASON].rstrip() or default


HALT_FLAG = "halt"      # the store flag holding a programmatic trip's reason ("" or absent: none)


class KillSwitch:
    """Blocks trading while the kill file exists or after a programmatic trip (the dashboard's
    halt where no kill file is configured or it cannot be written). With a `store`, a trip is kept
    in it (flag HALT_FLAG) and a switch built on that store starts tripped: a restart does not undo
    a halt that no file holds."""

    def __init__(self, path: str | os.PathLike | None = None, store=None) -> None:
        self.path = os.path.abspath(os.fspath(path)) if path is not None and os.fspath(path) else None
        self.store = store
        self._seen = store.data_version() if store is not None else None
        self._tripped: str | None = stored_halt(store) if store is not None else None

    def trip(self, reason: str = "tripped") -> None:
        self._tripped = reason
        if self.store is not None:
            self.store.set_flag(HALT_FLAG, reason, "kill switch tripped")

    def reset(self) -> None:
        """Clear a programmatic trip (the file, if present, still blocks: remove it)."""
        if self._tripped is not None and self.store is not None:
            self.store.set_flag(HALT_FLAG, "", "kill switch reset")
        self._tripped = None

    def reason(self) -> str | None:
        if self.store is not None:
            seen = self.store.data_version()
            if seen != self._seen:          # another process wrote the store (`arbbot resume`): re-read
                self._seen, self._tripped = seen, stored_halt(self.store)
        if self.path is not None and os.path.exists(self.path):
            return f"kill switch file {self.path} is present"
        return f"kill switch: {self._tripped}" if self._tripped is not None else None

    @property
    def tripped(self) -> bool:
        return self.reason() is not None


def stored_halt(store) -> str | None:
    """The reason of a programmatic trip kept in `store` (None: none)."""
    value = store.flags(HALT_FLAG).get(HALT_FLAG, ("", ""))[0]
    return value or None
