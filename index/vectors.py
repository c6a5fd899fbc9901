"""Passage vectors in Chroma: embedded ``PersistentClient`` by default, ``HttpClient`` when
``TINBOT_CHROMA_URL`` is set.

The collection records which embedding model and dimension built it; opening it with another
model raises ``IndexMismatchError`` instead of mixing incomparable vectors.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from index.errors import ConfigError, IndexMismatchError, StoreError, VectorsUnavailable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    similarity: float  # cosine similarity, higher is better


class DenseSearch(Protocol):
    """What retrieval asks of a vector index (``VectorStore``; the benchmark's exact search)."""

    def query(
        self, vector: Sequence[float], k: int, article_ids: Collection[str] | None = None
    ) -> list[DenseHit]: ...


@dataclass(frozen=True)
class ChromaConfig:
    """Where the vectors live: a Chroma server (``url``) or an embedded index under ``path``."""

    path: Path
    url: str | None = None
    collection: str = "tinbot"


def _client(config: ChromaConfig) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    # No network here: telemetry would only wait on timeouts.
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if config.url:
        url = urlparse(config.url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"TINBOT_CHROMA_URL={config.url!r} is not an http(s) URL")
        port = url.port or (443 if url.scheme == "https" else 8000)
        try:
            return chromadb.HttpClient(
                host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings
            )
        except Exception as exc:
            raise ConfigError(f"cannot reach the Chroma server at {config.url}: {exc}") from exc
    path = config.path
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:  # Chroma's own errors wrap its SQLite's: read-only, damaged, full
        raise StoreError(f"cannot open the vector index in {path}: {exc}") from exc


class _ReadWriteLock:
    """Queries and writes run side by side; a reopen waits for them to finish and holds new ones
    back (writer-preferring, so a steady stream of questions cannot starve it)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._users = 0
        self._exclusive = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._users += 1
        try:
            yield
        finally:
            with self._cond:
                self._users -= 1
                if not self._users:
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._exclusive = True
            while self._users:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


class VectorStore:
    def __init__(
        self, config: ChromaConfig, model_name: str, dim: int, *, recreate: bool = False
    ) -> None:
        self.config = config
        self.name = config.collection if len(config.collection) >= 3 else "tinbot"
        self.model_name = model_name
        self.dim = dim
        self._lock = _ReadWriteLock()
        self._open(recreate=recreate)

    @property
    def embedded(self) -> bool:
        """True for the in-process PersistentClient, whose view of the directory is loaded once
        (see ``reopen``); a Chroma server always answers from its current state."""
        return not self.config.url

    def reopen(self) -> None:
        """Drop this process's copy of the embedded index and load it again from disk.

        The embedded client keeps the HNSW index in memory: it does not see what another
        process wrote since, and a write through a stale copy can bring deleted vectors back.
        Chroma shares one client per directory within a process, so the fresh load happens
        only once every VectorStore on that directory has let go of it."""
        with self._lock.exclusive():
            self._client.close()
            self._open(recreate=False)
            # Chroma loads the HNSW index at the first query; do it now, while the caller holds
            # writers off, rather than in the middle of someone's write later.
            probe = [1.0] + [0.0] * (self.dim - 1)
            self._collection.query(query_embeddings=[probe], n_results=1, include=[])

    def close(self) -> None:
        with self._lock.exclusive():
            self._client.close()

    def _open(self, *, recreate: bool) -> None:
        self._client = _client(self.config)
        model_name, dim = self.model_name, self.dim
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
            self._client.close()
            raise IndexMismatchError(
                f"the index in collection {self.name!r} was built with "
                f"{meta.get('embedding_model')} ({meta.get('dim')}-d) but {model_name} ({dim}-d) "
                "is configured. Run `tinbot reindex` to rebuild it for the new model, or set "
                "TINBOT_EMBEDDER/TINBOT_EMBEDDING_MODEL back."
            )

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Chroma's errors on writing are about its storage (disk full, read-only files): one
        line naming where, not a traceback."""
        from chromadb.errors import ChromaError

        try:
            with self._reachable():
                yield
        except ChromaError as exc:
            where = self.config.url or self.config.path
            raise StoreError(f"cannot write the vector index in {where}: {exc}") from exc

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        """A Chroma server that stopped answering is one line, not an httpx traceback."""
        import httpx

        try:
            yield
        except httpx.TransportError as exc:
            raise VectorsUnavailable(
                f"the Chroma server at {self.config.url} does not answer ({exc})"
            ) from exc

    def upsert(
        self,
        ids: Sequence[str],
        vectors: Sequence[Sequence[float]],
        metadatas: Sequence[dict[str, Any]],
    ) -> None:
        """Vectors and their metadata only: the passages' text lives in SQLite, and giving it
        to Chroma too doubled the write time (Chroma indexes documents for its own full-text
        search, which tinbot never uses) and tripled its size on disk."""
        with self._lock.shared(), self._writing():
            for i in range(0, len(ids), 1000):
                self._collection.upsert(
                    ids=list(ids[i : i + 1000]),
                    embeddings=[list(v) for v in vectors[i : i + 1000]],
                    metadatas=list(metadatas[i : i + 1000]),
                )

    def delete(self, ids: Collection[str]) -> None:
        id_list = list(ids)
        with self._lock.shared(), self._writing():
            for i in range(0, len(id_list), 1000):
                self._collection.delete(ids=id_list[i : i + 1000])

    def ids_for_article(self, article_id: str) -> set[str]:
        with self._lock.shared(), self._reachable():
            result = self._collection.get(where={"article_id": article_id}, include=[])
        return set(result["ids"])

    def ids(self) -> set[str]:
        with self._lock.shared(), self._reachable():
            return set(self._collection.get(include=[])["ids"])

    def count(self) -> int:
        with self._lock.shared(), self._reachable():
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
        with self._lock.shared(), self._reachable():
            result = self._collection.query(
                query_embeddings=[list(vector)], n_results=k, where=where, include=["distances"]
            )
        return [
            DenseHit(chunk_id, 1.0 - float(distance))
            for chunk_id, distance in zip(result["ids"][0], result["distances"][0], strict=True)
        ]
