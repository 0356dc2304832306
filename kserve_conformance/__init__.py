"""kserve-conformance: an end-to-end conformance suite for KServe InferenceServices."""
