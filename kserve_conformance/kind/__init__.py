"""``--cluster=kind``: a kind cluster (created or reused) with KServe installed from pinned releases."""
