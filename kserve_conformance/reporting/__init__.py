"""The conformance report, Allure labels and the evidence attached to each step.

May import ``checks``, ``dataplane`` (what an exchange looks like), ``certification``, ``errors``, ``timeouts``.
"""
