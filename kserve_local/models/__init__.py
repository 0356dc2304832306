"""The model servers (KServe's ModelServer on scikit-learn) and the stand-in models; run in their own processes, so they import only faults from kserve_local."""  # noqa: E501
