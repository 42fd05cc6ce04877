"""Writing a file whole or not at all."""
from __future__ import annotations

import os
import stat


def write_atomic(path: str | os.PathLike, data: bytes, *, private: bool = False) -> None:
    """`data` to `path` whole or not at all: a temporary file beside it, renamed over it (a reader
    polling for the file never sees half of it); on failure no temporary file is left behind.
    `private`: readable by the owner only (0600, whatever an older file's mode was).

    A symbolic link is followed: the file it names is replaced, the link stays. A path that is
    not a regular file (a device such as /dev/stdout, a named pipe) is written into, as any tool
    writes to it, never replaced by a regular file."""
    path = os.path.realpath(path) if os.path.islink(path) else os.fspath(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError:
        mode = None                             # unreadable: the write below says why
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        with open(path, "wb") as fh:            # its own errors (e.g. ENOSPC on /dev/full) reach the caller
            fh.write(data)
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666)
        with os.fdopen(fd, "wb") as fh:
            if private:
                os.fchmod(fh.fileno(), 0o600)       # a stale temporary file keeps its mode through O_CREAT
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
