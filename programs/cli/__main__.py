"""``python -m programs.cli``: the ``relais`` command, as the tests run it."""

import sys

from programs.cli import main

sys.exit(main())
