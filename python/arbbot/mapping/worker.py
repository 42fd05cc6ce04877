"""`python -m arbbot.mapping.worker`: one `generated_mappings` run for a session
(`generate.generated_mappings_in_worker`). Reads the pickled `(listings, cache_dir)` from stdin,
writes the pickled `Generated` to stdout; its logs go to stderr. Only ever fed by its parent.

It runs at a lower CPU priority (`NICENESS`): matching 20,000 listings takes a core for half a
minute, and on a small machine the session's books (and a local simulator) must not wait for it."""
from __future__ import annotations

import os
import pickle
import sys

NICENESS = 10          # added to the worker's nice value: background work yields to the bot


def main() -> int:
    try:
        os.nice(NICENESS)
    except OSError:                           # not permitted here: run at the parent's priority
        pass
    payload = sys.stdin.buffer.read()
    out = sys.stdout.buffer
    sys.stdout = sys.stderr                  # nothing but the result reaches the parent's pipe
    from arbbot.mapping.generate import generated_mappings
    listings, cache_dir = pickle.loads(payload)
    result = generated_mappings(listings, cache_dir)
    try:
        out.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        out.flush()
    except BrokenPipeError:                  # the session is gone (stopped, or killed): nobody to answer
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())    # (and no error when Python exits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
