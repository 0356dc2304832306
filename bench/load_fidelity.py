"""Does the load generator tell the truth? Measured against a target whose latency is known.

The target (``kserve_conformance.load.known_target``) holds every request exactly D ms and
counts what arrives, so the truth is on the server side: the achieved rate is the server's
count over the server's time span, and the true latency is the server's measured hold.

    python bench/load_fidelity.py                       # 500 and 2000 req/s, 20 ms, 30 s each
    python bench/load_fidelity.py --duration 10 --max-rate-search --compare

Prints a table and writes ``reports/bench/load_fidelity.json``. ``--compare`` runs wrk and hey
(Debian packages ``wrk``, ``hey``) against the same target for comparison; both are closed-loop
tools (a fixed number of connections, each waiting for its answer), so they are given the
connection count that yields the same rate at D ms.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from kserve_conformance.load.attack import LoadSpec, Target
from kserve_conformance.load.runner import run_load

REPORT = Path("reports/bench/load_fidelity.json")


class KnownTarget:
    def __init__(self, delay_ms: float) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "kserve_conformance.load.known_target",
                                      "--delay-ms", str(delay_ms)], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}"

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/reset", data=b"", method="POST")).read()

    def stats(self) -> dict[str, Any]:
        doc = json.loads(urllib.request.urlopen(f"{self.url}/stats").read())
        span_s = (doc["last_ns"] - doc["first_ns"]) / 1e9
        doc["rate"] = (doc["requests"] - 1) / span_s if span_s > 0 else 0.0  # intervals between arrivals
        return doc

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def ours(target: KnownTarget, rate: float, duration: float, workers: int = 1) -> dict[str, Any]:
    target.reset()
    spec = LoadSpec(Target("POST", f"{target.url}/infer", {"Content-Type": "application/json"},
                           b'{"instances": [[6.8, 2.8, 4.8, 1.4]]}'), rate, duration, workers)
    result = run_load(spec)
    server = target.stats()
    return {
        "tool": f"kserve-conformance ({workers} worker{'s' * (workers > 1)})", "asked_rate": rate,
        "server_rate": server["rate"], "server_requests": server["requests"], "sent": result.requests,
        "p50_ms": result.latency_us(50) / 1000, "p99_ms": result.latency_us(99) / 1000,
        "true_p50_ms": server["hold_us"]["p50"] / 1000, "true_p99_ms": server["hold_us"]["p99"] / 1000,
        "lag_p99_ms": result.lag_us(99) / 1000, "failures": result.failures,
    }


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0}[unit]


def wrk(target: KnownTarget, connections: int, duration: float) -> dict[str, Any] | None:
    if not shutil.which("wrk"):
        return None
    target.reset()
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s", "--latency", f"{target.url}/"],
                         capture_output=True, text=True, check=True).stdout
    pct = {m[0]: _ms(m[1], m[2]) for m in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", out, re.M)}
    server = target.stats()
    return {"tool": f"wrk -c{connections} (closed loop)", "asked_rate": None, "server_rate": server["rate"],
            "server_requests": server["requests"], "p50_ms": pct.get("50"), "p99_ms": pct.get("99"),
            "true_p50_ms": server["hold_us"]["p50"] / 1000, "true_p99_ms": server["hold_us"]["p99"] / 1000}


def hey(target: KnownTarget, rate: float, connections: int, duration: float) -> dict[str, Any] | None:
    if not shutil.which("hey"):
        return None
    target.reset()
    per_worker = rate / connections
    out = subprocess.run(["hey", "-z", f"{int(duration)}s", "-c", str(connections), "-q", f"{per_worker:g}",
                          f"{target.url}/"], capture_output=True, text=True, check=True).stdout
    pct = {m[0]: float(m[1]) * 1000 for m in re.findall(r"^\s+(50|99)%+ in ([\d.]+) secs$", out, re.M)}
    server = target.stats()
    return {"tool": f"hey -c{connections} -q{per_worker:g} (closed loop, paced per worker)", "asked_rate": rate,
            "server_rate": server["rate"], "server_requests": server["requests"], "p50_ms": pct.get("50"),
            "p99_ms": pct.get("99"), "true_p50_ms": server["hold_us"]["p50"] / 1000,
            "true_p99_ms": server["hold_us"]["p99"] / 1000}


def max_rate(target: KnownTarget, duration: float) -> list[dict[str, Any]]:
    """Raise the rate until one worker misses it by more than 1 % (counted on the server)."""
    rows = []
    for rate in (1000, 2000, 3000, 4000, 5000, 6000, 8000):
        row = ours(target, rate, duration)
        row["held"] = abs(row["server_rate"] - rate) <= 0.01 * rate and row["sent"] == round(rate * duration)
        rows.append(row)
        if not row["held"]:
            break
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    def f(v: Any) -> str:
        return "" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    cols = ("tool", "asked_rate", "server_rate", "p50_ms", "true_p50_ms", "p99_ms", "true_p99_ms", "lag_p99_ms",
            "failures", "held")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(f(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--rates", default="500,2000")
    parser.add_argument("--max-rate-search", action="store_true")
    parser.add_argument("--compare", action="store_true", help="also run wrk and hey")
    args = parser.parse_args()
    target = KnownTarget(args.delay_ms)
    results: dict[str, Any] = {"delay_ms": args.delay_ms, "duration_s": args.duration}
    try:
        results["rates"] = [ours(target, float(r), args.duration) for r in args.rates.split(",")]
        print(f"target holds every request {args.delay_ms:g} ms\n\n{table(results['rates'])}\n")
        if args.compare:
            conns = max(1, round(500 * args.delay_ms / 1000))  # Little's law: 500 req/s x D
            results["compare"] = [r for r in (ours(target, 500, args.duration), wrk(target, conns, args.duration),
                                              hey(target, 500, conns, args.duration)) if r]
            print(f"side by side at ~500 req/s\n\n{table(results['compare'])}\n")
        if args.max_rate_search:
            results["max_rate"] = max_rate(target, min(args.duration, 10.0))
            print(f"highest rate one worker holds within 1 %\n\n{table(results['max_rate'])}\n")
    finally:
        target.close()
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {REPORT}")


if __name__ == "__main__":
    main()
