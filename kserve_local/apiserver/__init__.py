"""A Kubernetes API server (store, REST, apply and merge, OpenAPI, tables, events, port-forward); imports nothing else from kserve_local."""  # noqa: E501
