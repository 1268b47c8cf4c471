"""`python -m tui.cli` runs the `digits` command."""

import sys

from tui.cli import main

sys.exit(main())
