"""`python -m tracker ...`: the `track` command, for environments without the console script on PATH."""

import sys

from tracker.cli import main

if __name__ == "__main__":  # importing this module (docs tools, test collectors) must not run the CLI
    sys.exit(main())
