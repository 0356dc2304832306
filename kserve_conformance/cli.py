"""``kserve-conformance``: the console script installed with the package.

``kserve-conformance run [PYTEST ARGS]`` runs the checks from any directory: it is
``pytest --pyargs kserve_conformance.conformance`` (the checks are an installed package, so no
checkout and no rootdir is needed), with the same options. ``kserve-conformance verify BUNDLE``
is what a reviewer runs on a submission (see ``kserve_conformance.verify``).
"""

from __future__ import annotations

import argparse
import sys

from kserve_conformance.certification import PACKAGE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kserve-conformance", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the checks (all further arguments go to pytest)", add_help=False)
    run.add_argument("pytest_args", nargs=argparse.REMAINDER)
    verify = sub.add_parser("verify", help="check submission bundles; exit 1 if any has a problem")
    verify.add_argument("bundles", nargs="+", metavar="BUNDLE")
    args = parser.parse_args(argv)
    if args.command == "verify":
        from kserve_conformance.verify import main as verify_main

        return verify_main(args.bundles)
    import pytest

    return int(pytest.main(["--pyargs", PACKAGE, *args.pytest_args]))


if __name__ == "__main__":
    sys.exit(main())
