"""The prefix-aware routing checks' arithmetic, from vLLM's exposition as this machine's vLLM 0.32 (CPU) wrote it.

What a pod's counters say (``dataplane/prefix_cache.py``), when the scrapes after the requests
have settled, whether the service has a scheduler of KServe's to judge, and the replicas option's
rewrite of the walk-through's manifest.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kserve_conformance.dataplane import prefix_cache as pc
from kserve_conformance.dataplane.metrics import Snapshot
from kserve_conformance.fixtures import llmisvc_prefix_steps as steps
from kserve_conformance.fixtures.llmisvc import with_model

CONFIG = 'vllm:cache_config_info{block_size="128",enable_prefix_caching="%s",engine="0",num_gpu_blocks="1024"} 1.0\n'


def scrape(
    hits: float, queries: float, stop: float, length: float, caching: str = "True", old: bool = False
) -> Snapshot:
    """A vLLM /metrics body (counters as vLLM 0.32 names them; ``old``: the gpu_ names before 0.10)."""
    prefix = "vllm:gpu_prefix_cache" if old else "vllm:prefix_cache"
    return Snapshot.parse(
        "# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig\n"
        "# TYPE vllm:cache_config_info gauge\n" + CONFIG % caching + f"# TYPE {prefix}_queries counter\n"
        f'{prefix}_queries_total{{engine="0",model_name="m"}} {queries}\n'
        f'{prefix}_queries_created{{engine="0",model_name="m"}} 1.7e9\n'
        f"# TYPE {prefix}_hits counter\n"
        f'{prefix}_hits_total{{engine="0",model_name="m"}} {hits}\n'
        "# TYPE vllm:request_success counter\n"
        f'vllm:request_success_total{{engine="0",finished_reason="stop",model_name="m"}} {stop}\n'
        f'vllm:request_success_total{{engine="0",finished_reason="length",model_name="m"}} {length}\n'
    )


def test_a_pod_s_rise_sums_its_series_and_reads_its_cache_settings() -> None:
    rise = pc.rise("a", scrape(0, 218, 0, 3), scrape(512, 1308, 0, 8))
    assert (rise.hits, rise.queries, rise.requests) == (512, 1090, 5)
    assert not rise.caching_off()
    assert rise.describe() == (
        "pod a: requests +5, prefix-cache queries +1090, hits +512 "
        "(vllm:cache_config_info enable_prefix_caching=True, block_size=128)"
    )


def test_the_older_counter_names_count_too() -> None:
    rise = pc.rise("a", scrape(0, 0, 0, 0, old=True), scrape(128, 436, 0, 2, old=True))
    assert (rise.hits, rise.queries, rise.requests) == (128, 436, 2)


def test_absent_is_not_zero_and_caching_off_is_read() -> None:
    bare = Snapshot.parse('vllm:request_success_total{finished_reason="length"} 4\n')
    rise = pc.rise("b", bare, bare)
    assert rise.hits is None and rise.requests == 0 and pc.total([rise], "hits") is None
    off = pc.rise("c", scrape(0, 0, 0, 0, caching="False"), scrape(0, 0, 0, 5, caching="False"))
    assert off.caching_off() and pc.total([rise, off], "hits") == 0


def test_the_scrapes_settle_once_every_answer_is_counted_and_a_hit_shows() -> None:
    measured = steps.Measured(5, answered=5)
    measured.rises = [pc.rise("a", scrape(0, 0, 0, 0), scrape(0, 654, 0, 3))]
    assert not measured.settled(), "3 of 5 counted: a counter may still trail the answers"
    measured.rises = [
        pc.rise("a", scrape(0, 0, 0, 0), scrape(256, 872, 0, 4)),
        pc.rise("b", scrape(0, 0, 0, 0), scrape(0, 218, 0, 1)),
    ]
    assert measured.settled()


def test_the_prompts_share_the_prefix_and_differ_after_it() -> None:
    first, second = pc.prompt(1), pc.prompt(2)
    assert (
        first != second and first.startswith(pc.PLAN["prefix"].strip()) and second.startswith(pc.PLAN["prefix"].strip())
    )
    assert len(pc.PLAN["prefix"]) > 400, "long enough to span whole KV blocks (about 200 tokens of the stand-in)"
    assert pc.completion_body("m", 1) == {"model": "m", "prompt": first, "max_tokens": 4, "temperature": 0}


@pytest.mark.parametrize(
    ("router", "problem"),
    [
        ({"scheduler": {}}, None),
        ({"route": {}}, "spec.router.scheduler is not set"),
        ({"scheduler": {"pool": {"ref": {"name": "mine"}}}}, "pool.ref names a pool KServe does not manage"),
    ],
)
def test_only_a_managed_scheduler_is_judged(router: dict[str, object], problem: str | None) -> None:
    found = steps.scheduler_problem({"spec": {"router": router}})
    assert (found is None) if problem is None else (problem in (found or ""))


def test_the_replicas_option_rewrites_spec_replicas_only_when_given() -> None:
    manifest = {"spec": {"model": {"uri": "hf://m", "name": "m"}, "replicas": 1}}
    cluster = SimpleNamespace(storage=SimpleNamespace(rewrite=lambda uri: uri))

    def suite(replicas: int | None) -> object:
        return SimpleNamespace(llmisvc_model_uri=None, llmisvc_model_name=None, llmisvc_replicas=replicas)

    assert with_model(manifest, suite(None), cluster)["spec"]["replicas"] == 1  # type: ignore[arg-type]
    assert with_model(manifest, suite(2), cluster)["spec"]["replicas"] == 2  # type: ignore[arg-type]
    assert manifest["spec"]["replicas"] == 1, "the catalog's manifest is not changed"
