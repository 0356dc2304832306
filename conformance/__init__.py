"""Conformance checks: one pytest module per area, data under data/."""
