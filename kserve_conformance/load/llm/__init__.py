"""Open-loop load of streaming OpenAI requests, measured per token (TTFT, ITL, TPOT).

``metrics`` defines what is measured (one stream's event timeline to its figures), ``spec`` what
is sent, ``worker`` one generator process, ``runner`` the processes together, ``results`` their
merged outcome, ``slo`` the judgement and ``reports`` the files a run leaves.
"""
