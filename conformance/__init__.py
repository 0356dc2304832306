"""The conformance checks: one pytest module per area, their data under ``data/``.

They may import ``kserve_conformance.fixtures`` (types, helpers) and the suite library; nothing
imports them but pytest (and the verifier, which reads their markers to know every check).
"""
