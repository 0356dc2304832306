"""Test kits: targets of known timing and the peer tools' result readers, for ``tests/`` and ``bench/``.

The suite itself never imports these (``docs/ARCHITECTURE.md``: no product layer may import
``testing``): they exist to measure the suite, a known target to judge the load generator's
fidelity against, the peer LLM load tools' files to compare its figures with. They ship in the
wheel so ``python -m kserve_conformance.testing.known_target`` works wherever the suite is
installed, as kopf ships its ``kopf.testing``, which the framework does not use.
"""
