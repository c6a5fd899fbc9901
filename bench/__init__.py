"""Benchmarks: tinbot against a plain LangChain + Chroma pipeline on synthetic corpora.

``python -m bench.run`` (or ``bench/run``) builds the corpora, runs both pipelines side by side and
writes ``bench/results/``. See the README section "Benchmarks".
"""
