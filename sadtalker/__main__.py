"""`python -m sadtalker` runs the CLI."""

import sys

from sadtalker.cli import main

sys.exit(main())
