"""kserve-conformance: an end-to-end conformance suite for KServe InferenceServices."""

__version__ = "0.1.0"
