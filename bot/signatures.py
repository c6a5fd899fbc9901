"""The near-duplicate fingerprints of the stored articles, for one write session.

They are loaded once when a writer first needs them, then kept up to date by that writer (the
write lock guarantees there is no other) instead of re-reading every signature per article.
"""

from __future__ import annotations

import numpy as np

from index.store import ArticleStore
from ingest.models import Article
from ingest.similarity import Signature, most_similar


class KnownSignatures:
    def __init__(self, store: ArticleStore) -> None:
        self.store = store
        self._loaded: tuple[list[str], np.ndarray, dict[str, int]] | None = None
        self._unwritten: dict[str, Article] = {}  # remembered before their batch is written

    def forget(self) -> None:
        """Another process may have written, or a batch failed: read them again when next
        needed."""
        self._loaded = None
        self._unwritten.clear()

    def nearest(
        self, sig: Signature, article_id: str, threshold: float
    ) -> tuple[Article, float] | None:
        """The most similar other stored article, if at least ``threshold`` similar."""
        if self._loaded is None:
            ids, matrix = self.store.signatures()
            self._loaded = (ids, matrix, {a: i for i, a in enumerate(ids)})
        ids, matrix, _ = self._loaded
        if not ids:
            return None
        best = most_similar(sig, matrix)
        if best is not None and ids[best[0]] == article_id:
            # The article's own previous version: compare with everything else.
            others = [i for i, a in enumerate(ids) if a != article_id]
            found = most_similar(sig, matrix[others]) if others else None
            best = None if found is None else (others[found[0]], found[1])
        if best is None or best[1] < threshold:
            return None
        other = self._unwritten.get(ids[best[0]]) or self.store.get(ids[best[0]])
        return None if other is None else (other, best[1])

    def written(self) -> None:
        """The batch is in the store: its articles are found there from now on."""
        self._unwritten.clear()

    def remember(self, article_id: str, sig: Signature, article: Article | None = None) -> None:
        """Count ``sig`` as stored (``article``: about to be, in the batch being built)."""
        if article is not None:
            self._unwritten[article_id] = article
        if self._loaded is None:
            return
        ids, matrix, index = self._loaded
        if article_id in index:
            matrix[index[article_id]] = sig
            return
        index[article_id] = len(ids)
        ids.append(article_id)
        self._loaded = (ids, np.vstack([matrix, sig]) if matrix.size else sig[None, :], index)
