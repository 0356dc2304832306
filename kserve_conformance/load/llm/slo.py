"""What an LLM load run is judged by: validity first, then the stream's own defects, then the SLOs.

* **Invalid** (neither pass nor fail): the generator's send-side scheduling lag p99, or its
  receive-side event-loop stall p99, above ``max_lag_ms``; or fewer streams recorded than planned.
  Either lag is the generator's own delay, charged to the target's TTFT and ITL.
* **Stream defects**, from the OpenAI API's text for ``stream``: "tokens will be sent as data-only
  server-sent events as they become available, with the stream terminated by a ``data: [DONE]``
  message", and for ``stream_options.include_usage``: "an additional chunk will be streamed before
  the ``data: [DONE]`` message. The ``usage`` field on this chunk shows the token usage statistics
  for the entire request". So a stream delivered in one burst (``buffered``), a usage chunk
  missing, or a usage that cannot be true of what was streamed (fewer tokens than content chunks,
  or more than ``max_tokens``) each fail, with their counts. ``usage`` differing from the content
  chunks' count alone is reported, not failed: a chunk may carry several tokens.
* **SLOs**: error rate (failed / sent) at most ``error_rate``; each request *meets the SLOs* when
  it succeeded, its TTFT is within ``ttft_ms`` and its TPOT within ``tpot_ms`` (one-token outputs
  have no TPOT and are judged on TTFT alone); goodput, the share of requests meeting them, must be
  at least ``goodput`` (default ``1 - error_rate``: the only requests allowed to miss are those
  the error budget allows to fail). Where the target shares this machine (the local target), a
  goodput that falls short only through streams the target was starved during (``starved``) is
  invalid, not failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kserve_conformance.checks.spec import invalid_measurement
from kserve_conformance.load.llm.results import LLMResult
from kserve_conformance.load.slo import Judgement

BUFFERED_EVIDENCE = 2  # unexplained bursts it takes to fail: one stream never decides the run


@dataclass(frozen=True)
class LLMSLO:
    ttft_ms: float | None = 2000.0
    tpot_ms: float | None = 200.0
    error_rate: float = 0.0
    goodput: float | None = None  # None: 1 - error_rate
    max_lag_ms: float = 10.0

    @property
    def min_goodput(self) -> float:
        return 1.0 - self.error_rate if self.goodput is None else self.goodput


def meets(record: dict[str, Any], slo: LLMSLO) -> list[str]:
    """Which SLOs one request broke (empty: it counts toward goodput)."""
    if record["outcome"] != "ok":
        return ["error"]
    broke = []
    if slo.ttft_ms is not None and record["ttft_ms"] > slo.ttft_ms:
        broke.append("ttft")
    if slo.tpot_ms is not None and record["tpot_ms"] is not None and record["tpot_ms"] > slo.tpot_ms:
        broke.append("tpot")
    return broke


def goodput(result: LLMResult, slo: LLMSLO) -> tuple[int, dict[str, int]]:
    """``(requests meeting every SLO, {slo: requests breaking it})`` from the per-request records."""
    good, broken = 0, {"error": 0, "ttft": 0, "tpot": 0}
    for r in result.records:
        broke = meets(r, slo)
        good += not broke
        for name in broke:
            broken[name] += 1
    return good, broken


def worst(result: LLMResult, name: str) -> float:
    return max((r[name] for r in result.records if r["outcome"] == "ok" and r[name] is not None), default=0.0)


def judge(result: LLMResult, slo: LLMSLO) -> Judgement:
    invalid: list[str] = []
    for name, what in (("lag", "send-side scheduling lag"), ("stall", "receive-side event-loop stall")):
        p99 = result.ms(name, 99)
        if p99 > slo.max_lag_ms:
            invalid.append(
                f"generator {what} p99 {p99:.3f}ms > {slo.max_lag_ms:g}ms (--kserve-load-max-lag-ms): "
                "the generator was starved of CPU and its TTFT and ITL include its own delay"
            )
    if result.sent != result.spec.planned:
        invalid.append(f"the generator recorded {result.sent} of {result.spec.planned} planned streams")
    violations: list[str] = []
    n = result.sent
    buffered, excused = result.flags["buffered"], result.flags["buffered_explained"]
    if buffered >= BUFFERED_EVIDENCE:
        also = f"; {excused} more arrived in one burst as the client woke from a stall (not counted)"
        violations.append(
            f"{buffered} of {n} streams were buffered, not streamed: all their content chunks arrived within "
            "1 ms of each other while the client was not stalled (the API: tokens are sent as they become "
            f"available){also if excused else ''}"
        )
    missing = result.flags["usage_missing"]
    if missing:
        violations.append(
            f"{missing} of {result.ok} successful streams had no usage chunk "
            "though stream_options.include_usage was set"
        )
    impossible = [r for r in result.records if r.get("usage_impossible")]
    if impossible:
        violations.append(
            f"usage disagrees with what was streamed in {len(impossible)} of {n} streams "
            f"(first: request {impossible[0]['i']}: {impossible[0]['usage_impossible']})"
        )
    allowed = slo.error_rate * n
    if result.failed > allowed:
        violations.append(
            f"error rate {result.failed}/{n} exceeds --kserve-slo-error-rate={slo.error_rate:g} "
            f"(at most {int(allowed)} of {n} may fail; outcomes: {result.outcome_line()})"
        )
    good, broken = goodput(result, slo)
    excused = starved(result, slo)
    if n and good / n < slo.min_goodput and (good + excused) / n >= slo.min_goodput:
        invalid.append(
            f"goodput {good}/{n} = {good / n:.4f} below --kserve-slo-goodput={slo.min_goodput:g}, but only through "
            f"{excused} streams that were over their TTFT/TPOT bounds by no more than the target's processes "
            "waited for a CPU while they were in flight (the machine this target shares was busy)"
        )
    elif n and good / n < slo.min_goodput:
        parts = [f"{broken['error']} failed"] if broken["error"] else []
        if broken["ttft"]:
            parts.append(
                f"{broken['ttft']} over --kserve-slo-ttft-ms={slo.ttft_ms:g} (worst {worst(result, 'ttft_ms'):.3f}ms)"
            )
        if broken["tpot"]:
            parts.append(
                f"{broken['tpot']} over --kserve-slo-tpot-ms={slo.tpot_ms:g} (worst {worst(result, 'tpot_ms'):.3f}ms)"
            )
        if excused:
            parts.append(f"{excused} of those late while the target waited for a CPU at least as long (excused)")
        violations.append(
            f"goodput {good}/{n} = {good / n:.4f} below --kserve-slo-goodput={slo.min_goodput:g}: {'; '.join(parts)}"
        )
    return Judgement(invalid, violations)


def starved(result: LLMResult, slo: LLMSLO) -> int:
    """Successful streams that missed only their TTFT/TPOT bounds, by no more than the target's
    processes waited for a CPU while they were in flight (``ServerWait``; the local target only).

    A stream's lateness is its TTFT over the bound plus, where TPOT broke, the TPOT excess over
    each of its later tokens: the time a starved target would have had to make up. Such a stream
    is evidence neither way (``checks/validity.py``'s rule).
    """
    waits = result.server_wait
    if waits is None or slo.ttft_ms is None:
        return 0
    count = 0
    for r in result.records:
        broke = meets(r, slo)
        if not broke or "error" in broke or "intended_ns" not in r or r.get("e2e_ms") is None:
            continue
        late_ms = r["ttft_ms"] - slo.ttft_ms if "ttft" in broke else 0.0
        if "tpot" in broke and slo.tpot_ms is not None:
            late_ms += (r["tpot_ms"] - slo.tpot_ms) * (r["output_tokens"] - 1)
        start = int(r["intended_ns"])
        count += waits.waited_ns(start, start + int(r["e2e_ms"] * 1e6)) >= late_ms * 1e6
    return count


def assert_met(result: LLMResult, judgement: Judgement) -> None:
    """Fail with what broke (invalid first: an invalid run is not judged against the SLOs)."""
    if judgement.invalid:
        invalid_measurement(f"{'; '.join(judgement.invalid)} | measured: {result.summary_line()}")
    assert judgement.passed, f"{'; '.join(judgement.violations)} | measured: {result.summary_line()}"
