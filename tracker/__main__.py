"""`python -m tracker ...`: the `track` command, for environments without the console script on PATH."""

import sys

from tracker.cli import main

sys.exit(main())
