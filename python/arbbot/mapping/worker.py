"""`python -m arbbot.mapping.worker`: one `generated_mappings` run for a session
(`generate.generated_mappings_in_worker`). Reads the pickled `(listings, cache_dir)` from stdin,
writes the pickled `Generated` to stdout; its logs go to stderr. Only ever fed by its parent."""
from __future__ import annotations

import pickle
import sys


def main() -> int:
    payload = sys.stdin.buffer.read()
    out = sys.stdout.buffer
    sys.stdout = sys.stderr                  # nothing but the result reaches the parent's pipe
    from arbbot.mapping.generate import generated_mappings
    listings, cache_dir = pickle.loads(payload)
    result = generated_mappings(listings, cache_dir)
    out.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
