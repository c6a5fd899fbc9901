"""Passage vectors in Chroma: embedded ``PersistentClient`` by default, ``HttpClient`` when
``TINBOT_CHROMA_URL`` is set.

The collection records which embedding model and dimension built it; opening it with another
model raises ``IndexMismatchError`` instead of mixing incomparable vectors.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from bot.errors import ConfigError, IndexMismatchError
from bot.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    similarity: float  # cosine similarity, higher is better


def _client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    # No network here: telemetry would only wait on timeouts.
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"TINBOT_CHROMA_URL={settings.chroma_url!r} is not an http(s) URL")
        port = url.port or (443 if url.scheme == "https" else 8000)
        try:
            return chromadb.HttpClient(
                host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings
            )
        except Exception as exc:
            raise ConfigError(
                f"cannot reach the Chroma server at {settings.chroma_url}: {exc}"
            ) from exc
    path = settings.data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class VectorStore:
    def __init__(
        self, settings: Settings, model_name: str, dim: int, *, recreate: bool = False
    ) -> None:
        self._client = _client(settings)
        self.name = settings.collection if len(settings.collection) >= 3 else "tinbot"
        self.model_name = model_name
        self.dim = dim
        if recreate and any(c.name == self.name for c in self._client.list_collections()):
            self._client.delete_collection(self.name)
        self._collection = self._client.get_or_create_collection(
            self.name,
            metadata={"embedding_model": model_name, "dim": dim},
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
        meta = self._collection.metadata or {}
        if meta.get("embedding_model") != model_name or int(meta.get("dim", dim)) != dim:
            raise IndexMismatchError(
                f"the index in collection {self.name!r} was built with "
                f"{meta.get('embedding_model')} ({meta.get('dim')}-d) but {model_name} ({dim}-d) "
                "is configured. Run `tinbot reindex` to rebuild it for the new model, or set "
                "TINBOT_EMBEDDER/TINBOT_EMBEDDING_MODEL back."
            )

    def upsert(
        self,
        ids: Sequence[str],
        vectors: Sequence[Sequence[float]],
        metadatas: Sequence[dict[str, Any]],
        documents: Sequence[str],
    ) -> None:
        for i in range(0, len(ids), 1000):
            self._collection.upsert(
                ids=list(ids[i : i + 1000]),
                embeddings=[list(v) for v in vectors[i : i + 1000]],
                metadatas=list(metadatas[i : i + 1000]),
                documents=list(documents[i : i + 1000]),
            )

    def delete(self, ids: Collection[str]) -> None:
        id_list = list(ids)
        for i in range(0, len(id_list), 1000):
            self._collection.delete(ids=id_list[i : i + 1000])

    def ids_for_article(self, article_id: str) -> set[str]:
        result = self._collection.get(where={"article_id": article_id}, include=[])
        return set(result["ids"])

    def ids(self) -> set[str]:
        return set(self._collection.get(include=[])["ids"])

    def count(self) -> int:
        return int(self._collection.count())

    def query(
        self, vector: Sequence[float], k: int, article_ids: Collection[str] | None = None
    ) -> list[DenseHit]:
        if article_ids is not None and not article_ids:
            return []
        where = None if article_ids is None else {"article_id": {"$in": list(article_ids)}}
        if k <= 0:
            return []
        # Chroma returns what it has when asked for more; counting first would cost a scan of
        # the collection on every question (20 ms at 100k passages).
        result = self._collection.query(
            query_embeddings=[list(vector)], n_results=k, where=where, include=["distances"]
        )
        return [
            DenseHit(chunk_id, 1.0 - float(distance))
            for chunk_id, distance in zip(result["ids"][0], result["distances"][0], strict=True)
        ]
