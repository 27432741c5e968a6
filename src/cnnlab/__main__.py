"""``python -m cnnlab`` — the same as the ``cnnlab`` script."""

import sys

from cnnlab.cli import main

sys.exit(main())
