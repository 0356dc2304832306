"""Requests to model servers: the REST client with its retries, OIP schemas, the OpenAI-compatible
client and its server-sent events reader, closed-loop traffic.

May import ``checks``, ``errors``, ``timeouts``; knows nothing of Kubernetes (a bare ``--kserve-endpoint`` has none).
"""
