"""``python -m kserve_local``: the local target as a process of its own (see ``kserve_local.target``)."""

import sys

from kserve_local.target import main

sys.exit(main())
