"""Kill switch: trading is blocked while the file exists or after a programmatic trip. The file's
path is made absolute when the switch is built (a relative `kill_file` is relative to the bot's
working directory at start), so what it reports names the very file `arbbot halt` must write."""
from __future__ import annotations

import os


class KillSwitch:
    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = os.path.abspath(os.fspath(path)) if path is not None and os.fspath(path) else None
        self._tripped: str | None = None

    def trip(self, reason: str = "tripped") -> None:
        self._tripped = reason

    def reset(self) -> None:
        """Clear a programmatic trip (the file, if present, still blocks: remove it)."""
        self._tripped = None

    def reason(self) -> str | None:
        if self.path is not None and os.path.exists(self.path):
            return f"kill switch file {self.path} is present"
        return f"kill switch: {self._tripped}" if self._tripped is not None else None

    @property
    def tripped(self) -> bool:
        return self.reason() is not None
