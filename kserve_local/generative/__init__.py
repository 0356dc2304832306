"""The generative runtimes on the local target: their side environment, the tiny model, the stand-ins.

KServe's Hugging Face and vLLM runtimes need torch, vLLM and KServe's OpenAI layer, about 3.5 GB
that the rest of the target never imports. They live in a venv of their own (``env``, the
runtimes' "image"), built on first use only, and the model servers run in it as processes
(``huggingface``, and vLLM's own API server). The tiny language model (``tiny_lm``) stands in
for the Hugging Face hub models KServe's generative e2e tests name (``standins``).

Only ``env`` and ``standins`` are imported by the target (standard library and PyYAML); the
rest runs inside the generative venv.
"""
