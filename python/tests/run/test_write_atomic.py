"""`files.write_atomic` (snapshot -o, the simulator's handle file, mapping outputs): a regular file
is replaced whole; a symbolic link is followed (the file it names is replaced, the link stays); a
device or a named pipe is written into. Before (CLI review, session 33), `arbbot snapshot -o
/dev/full --force` left /dev/full a 38 KB regular file, and a symlink or a pipe was replaced by one."""
from __future__ import annotations

import os
import stat
import threading

import pytest

from arbbot.files import write_atomic


def test_a_regular_file_is_replaced_whole(tmp_path):
    p = tmp_path / "out.json"
    p.write_text("old")
    write_atomic(p, b"new")
    assert p.read_bytes() == b"new" and os.listdir(tmp_path) == ["out.json"]


def test_a_symlink_is_followed_and_kept(tmp_path):
    target, link = tmp_path / "target.json", tmp_path / "link.json"
    target.write_text("old")
    link.symlink_to(target)
    write_atomic(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(target) and target.read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["link.json", "target.json"]


def test_a_named_pipe_is_written_into(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    write_atomic(fifo, b'{"format": "arbbot.snapshot/1"}')
    reader.join(5)
    assert got == [b'{"format": "arbbot.snapshot/1"}'] and stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_a_device_is_written_into_and_its_error_reaches_the_caller():
    with pytest.raises(OSError) as err:
        write_atomic("/dev/full", b"x" * 10_000)
    assert "No space left" in str(err.value) and stat.S_ISCHR(os.stat("/dev/full").st_mode)


@pytest.mark.parametrize("how", ["pipe", "append"])
def test_dev_stdout_is_written_into_whatever_stdout_is(tmp_path, how):
    """/dev/stdout is a link to /proc/self/fd/1. Before (review of the first version), it was
    resolved: through a pipe to a name that is no file (FileNotFoundError), redirected to a file
    in append mode to that file, replaced (its earlier lines lost)."""
    import subprocess
    import sys
    code = ("import sys; print('before', flush=True); from arbbot.files import write_atomic; "
            "write_atomic('/dev/stdout', b'snap\\n'); print('after', flush=True)")
    if how == "pipe":
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert (out.returncode, out.stdout) == (0, "before\nsnap\nafter\n"), out.stderr
    else:
        target = tmp_path / "out.txt"
        target.write_text("line1\n")
        with open(target, "a") as fh:
            out = subprocess.run([sys.executable, "-c", code], stdout=fh, stderr=subprocess.PIPE, text=True)
        assert out.returncode == 0, out.stderr
        assert target.read_text() == "line1\nbefore\nsnap\nafter\n"
