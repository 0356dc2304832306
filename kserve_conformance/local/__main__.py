import sys

from kserve_conformance.local.target import main

sys.exit(main())
