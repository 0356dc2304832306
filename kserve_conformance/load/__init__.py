"""Open-loop load generation with exact (HDR) latency accounting."""
