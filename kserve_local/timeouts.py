"""The local target's own waits, named in one place (the suite's table bounds the suite, not these).

Each is what the system the target stands in for would wait, shortened where a self-test must see
the effect in seconds; the reason is beside each value.
"""

from __future__ import annotations

# A model server loads the model and answers its first probe (KServe's sklearn image needs about
# 10 s on a laptop; the bound is generous for a loaded 2-core CI runner). It also bounds how long
# Knative's activator holds a request for a revision at zero replicas.
MODEL_SERVER_STARTUP_S = 120.0
# A kubelet's CrashLoopBackOff starts at 10 s and doubles to 5 min; the local target starts at 1 s
# so that a self-test sees a restart in seconds, and caps at 30 s.
RESTART_BACKOFF_S, RESTART_BACKOFF_MAX_S = 1.0, 30.0
# A reconcile that raises is retried as controller-runtime's rate limiter retries: doubling.
RECONCILE_BACKOFF_S, RECONCILE_BACKOFF_MAX_S = 0.5, 60.0
# Knative's autoscaler ticks every 2 s; the HPA syncs every 15 s by default. Faster here.
AUTOSCALER_TICK_S = 0.5
# A replica taken out of routing finishes its in-flight requests before it is stopped.
DRAIN_S = 10.0
# SIGTERM, then SIGKILL: a model server that ignores SIGTERM must not outlive the target.
PROCESS_STOP_GRACE_S = 5.0
# How often the target checks that the process that started it (``--parent-pid``) is alive, and
# how long the last-resort watchdog thread waits after that before it kills everything.
PARENT_POLL_S = 1.0
PARENT_GONE_GRACE_S = 15.0
# One readiness probe of a starting model server.
PROBE_S = 2.0
# The gateway's upstream request (a slow model answer is the model's, not the gateway's, to bound).
UPSTREAM_S = 300.0
# A generative model server (KServe's Hugging Face or vLLM runtime) imports torch and vLLM before
# it answers: the Hugging Face stand-in about 20 s, vLLM 90-130 s on an idle 2-core machine and up
# to 7 min under load (measured), so its start-up budget is this, not the sklearn one.
GENERATIVE_SERVER_STARTUP_S = 600.0
# KEDA's HPA reads the triggers' values on its sync period (15 s on a cluster); KEDA's own HTTP
# client gives a Prometheus query 3 s. The local KEDA syncs faster, so a self-test sees it act.
KEDA_SYNC_S, KEDA_QUERY_S = 1.0, 3.0
# Prometheus answers /-/ready (Debian's 2.42 on a 2-core machine: about a second when idle; the bound is
# for a loaded machine) before its Endpoints are stored.
PROMETHEUS_STARTUP_S = 60.0
