"""The check vocabulary: what a check declares, outcomes and the verdict, known deviations, the services catalog.

Imports nothing of the suite but ``errors`` and ``timeouts``: every other layer may use it.
"""
