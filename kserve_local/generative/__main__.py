"""``python -m kserve_local.generative ensure``: build the generative venv if needed, print its python.

``model`` also builds the tiny model (inside the venv) and prints its directory. Progress goes to
stderr, the answer alone to stdout, so a caller can read it with ``$(...)``.
"""

from __future__ import annotations

import argparse
import sys

from kserve_local.generative import env, standins


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kserve_local.generative", description=__doc__)
    parser.add_argument("command", choices=["ensure", "model"])
    args = parser.parse_args(argv)
    try:
        python = env.ensure()
        print(standins.ensure_model(python) if args.command == "model" else python)
    except (env.EnvError, standins.ModelBuildError) as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
