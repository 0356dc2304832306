"""Certification: the published rules a run must keep, the submission bundle, and the reviewer's verifier.

May import ``checks``, ``errors``; the verifier reads the report schema as data, not the reporting code.
"""
