#!/usr/bin/env python3
"""A stand-in for kubectl that records its argv and stdin to $FAKE_KUBECTL_LOG and succeeds, so a
self-test can compare what the kind install would run with the plan, without fetching anything."""

from __future__ import annotations

import json
import os
import sys

stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
with open(os.environ["FAKE_KUBECTL_LOG"], "a") as log:
    log.write(json.dumps({"args": sys.argv[1:], "stdin": bool(stdin)}) + "\n")
fail = os.environ.get("FAKE_KUBECTL_FAIL", "")
if fail and fail in " ".join(sys.argv[1:]):
    print(
        f'error: unable to read URL "{fail}": Get "{fail}": dial tcp: lookup github.com: no such host', file=sys.stderr
    )
    sys.exit(1)
