"""Writing a file whole or not at all."""
from __future__ import annotations

import os
import secrets
import stat
import sys


def write_atomic(path: str | os.PathLike, data: bytes, *, private: bool = False) -> None:
    """`data` to `path` whole or not at all: a temporary file beside it, renamed over it (a reader
    polling for the file never sees half of it); on failure no temporary file is left behind.
    `private`: readable by the owner only (0600, whatever an older file's mode was).

    A symbolic link is followed: the file it names is replaced, the link stays. A path that is
    not a regular file (a device, a named pipe) is written into, as any tool writes to it, never
    replaced by a regular file; one that is this process's stdout or stderr (/dev/stdout, whatever
    it is redirected to) is written on that descriptor, where it stands."""
    path = os.fspath(path)
    try:
        st = os.stat(path)                      # through any link: what is written in the end
    except OSError:
        st = None                               # none yet (or unreadable: the write below says why)
    mode = None if st is None else st.st_mode
    for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
        try:
            ours = st is not None and os.path.samestat(st, os.fstat(fd))
        except OSError:
            ours = False
        if ours:
            # this process's own stdout or stderr (/dev/stdout, /dev/fd/1, or the file it is
            # redirected to): written on the descriptor, where it stands (an append stays one)
            stream.flush()
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            return
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        # written through the name given (/dev/stdout is a link to /proc/self/fd/1: resolved, it
        # names no file); its own errors (e.g. ENOSPC on /dev/full) reach the caller
        with open(path, "wb") as fh:
            fh.write(data)
        return
    if os.path.islink(path):
        path = os.path.realpath(path)           # the regular file it names is replaced, the link kept
    # beside the file (the same filesystem: an atomic rename), under a short name: a file name
    # near the filesystem's limit (255 bytes) must not fail on its temporary's longer one
    head, _tail = os.path.split(path)
    tmp = os.path.join(head, f".arbbot-{os.getpid()}-{secrets.token_hex(4)}.tmp")
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
