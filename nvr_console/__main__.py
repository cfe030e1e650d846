"""`python -m nvr_console`: the same command line as the `nvr-console` entry point."""

import sys

from nvr_console.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
