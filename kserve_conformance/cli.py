"""``kserve-conformance``: the console script installed with the package.

``kserve-conformance run [PYTEST ARGS]`` runs the checks from any directory: it is
``pytest --pyargs kserve_conformance.conformance`` (the checks are an installed package, so no
checkout and no rootdir is needed), with the same options. ``kserve-conformance verify BUNDLE``
is what a reviewer runs on a submission (see ``kserve_conformance.certification.verify``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from kserve_conformance.certification.rules import PACKAGE


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:  # everything after "run" is pytest's, options included
        # A fresh interpreter, not pytest.main() here: this process has already imported
        # kserve_conformance, which pytest could then not assertion-rewrite (it would warn).
        command = [sys.executable, "-m", "pytest", "--pyargs", PACKAGE, *argv[1:]]
        if os.name == "posix":
            os.execv(sys.executable, command)
        return subprocess.call(command)
    parser = argparse.ArgumentParser(prog="kserve-conformance", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the checks: kserve-conformance run [PYTEST OPTIONS] (see pytest --help)")
    verify = sub.add_parser("verify", help="check submission bundles; exit 1 if any has a problem")
    verify.add_argument("bundles", nargs="+", metavar="BUNDLE")
    verify.add_argument(
        "--rehearsal",
        action="store_true",
        help="hold a rehearsal's bundle to every rule but being a submission (to try the reviewer's side)",
    )
    args = parser.parse_args(argv)
    from kserve_conformance.certification.verify import main as verify_main

    return verify_main(args.bundles, args.rehearsal)


if __name__ == "__main__":
    sys.exit(main())
