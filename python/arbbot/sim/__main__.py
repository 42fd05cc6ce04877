"""`python -m arbbot.sim …` = `arbbot sim …` (what `arbbot.sim.spawn` starts in a child process)."""
import sys

from arbbot.sim import cli_main

sys.exit(cli_main())
