"""Hybrid retrieval: BM25 over Vietnamese syllables fused with dense e5 similarity.

Fusion is a weighted sum of per-query normalised scores (``dense_weight`` for the dense side).
On the dev set this beat reciprocal-rank fusion, which treats a weak dense ranking as equal to a
strong lexical one (README, "How it works"). ``mode="rrf"`` is kept for comparison.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from index.embeddings import Embedder, bounded_query, spare_a_core
from index.errors import VectorsUnavailable
from index.lexical import LexicalIndex
from index.store import ArticleStore, StoredChunk
from index.vectors import DenseSearch

logger = logging.getLogger(__name__)

FusionMode = Literal["weighted", "rrf", "lexical", "dense"]
# Up to this many passages the dense side is searched exhaustively: asked for at least as many
# neighbours as there are vectors, HNSW visits every one. Chroma rebuilds the graph of a
# collection it has not persisted yet each time a process opens it, differently each time, so
# the approximate top 30 differed from process to process for up to 4 of 231 questions (a
# neighbour near the 30th place swapped), and evaluations and the ranker's fit with it.
# Exhaustive, it is exact and the same in every process, for ~2 ms more at 1,000 passages;
# larger indexes keep the graph's speed.
EXACT_DENSE_BELOW = 1000


@dataclass(frozen=True)
class Hit:
    chunk: StoredChunk
    score: float
    lexical: float  # normalised 0..1 (0 when the lexical side did not return it)
    dense: float  # normalised 0..1
    similarity: float  # raw cosine similarity (0 when not returned)


def _normalise(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    top = max(scores.values())
    low = min(scores.values())
    if top <= 0:
        return {k: 0.0 for k in scores}
    # Lexical scores are divided by the best one; dense similarities are spread between the
    # worst and best candidate, since raw cosine values of e5 bunch up around 0.8.
    return {k: max(0.0, (v - low) / (top - low)) if top > low else 1.0 for k, v in scores.items()}


class HybridRetriever:
    def __init__(
        self,
        store: ArticleStore,
        lexical: LexicalIndex,
        vectors: DenseSearch,
        embedder: Embedder,
        *,
        dense_weight: float = 0.4,
        mode: FusionMode = "weighted",
        candidates: int = 30,
    ) -> None:
        self.store = store
        self.lexical = lexical
        self.vectors = vectors
        self.embedder = embedder
        self.dense_weight = dense_weight
        self.mode = mode
        self.candidates = candidates
        self._dense_down = False

    def _dense(self, query: str, n: int, allowed: set[str] | None, depth: int) -> dict[str, float]:
        """The ``n`` nearest passages, out of the ``depth`` nearest the vector index finds."""
        spare_a_core()  # the lexical half runs meanwhile (see ``search``)
        vector = self.embedder.embed_query(bounded_query(query))
        try:
            hits = self.vectors.query(vector, depth, allowed)
        except VectorsUnavailable as exc:
            # Said once per outage, not per question; the lexical index answers meanwhile.
            if not self._dense_down:
                logger.warning("%s: answering from the lexical index until it is back", exc)
            self._dense_down = True
            return {}
        if self._dense_down:
            logger.warning("the vector index answers again: hybrid search resumed")
            self._dense_down = False
        best = sorted(hits, key=lambda h: (-h.similarity, h.chunk_id))[:n]
        return {h.chunk_id: h.similarity for h in best}

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        article_ids: Collection[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        about: Sequence[str] = (),
    ) -> list[Hit]:
        """The k best passages. ``about``: folded names (places, people) the question asks
        about; passages of articles that mention all of them come first, since a passage often
        gives a figure without naming the place its article is about ("Đảng bộ thành phố kết
        nạp …") and articles about other places can share its wording word for word."""
        allowed: set[str] | None = None if article_ids is None else set(article_ids)
        if date_from or date_to:
            in_dates = self.store.article_ids_in_dates(date_from, date_to)
            allowed = in_dates if allowed is None else allowed & in_dates
        n = max(k, self.candidates)
        dense: Future[dict[str, float]] | None = None
        if self.mode != "lexical" and self.dense_weight > 0:
            # The query embedding (C code) and Chroma's search release the GIL, as does
            # SQLite: the dense side runs beside the lexical one instead of after it.
            depth = max(n, EXACT_DENSE_BELOW) if self.lexical.count() <= EXACT_DENSE_BELOW else n
            # e5 reads "huyện xuân trường kết nạp" far better than "huyen xuan truong ket nap":
            # a question typed without diacritics is embedded with the corpus's spellings.
            # Only what the embedder reads is restored: a 4,096-character message would take
            # ~60 ms at 100k passages, its first 500 characters ~8.
            meant = self.lexical.restore_diacritics(bounded_query(query)) or query
            dense = _DENSE_POOL.submit(self._dense, meant, n, allowed, depth)
        lexical: dict[str, float] = {}
        if self.mode != "dense":
            lexical = {h.chunk_id: h.score for h in self.lexical.search(query, n, allowed)}
        similarity: dict[str, float] = {} if dense is None else dense.result()
        # Chroma may hold vectors of a passage whose SQLite row is gone (a crash between the two
        # writes); only passages present in the store are live.
        chunks = self.store.chunks_by_ids([*lexical, *similarity])
        lex_norm = _lexical_norm(lexical)
        dense_norm = _normalise(similarity)
        fused: dict[str, float] = {}
        for cid in chunks:
            if self.mode == "rrf":
                fused[cid] = _rrf(cid, lexical) + _rrf(cid, similarity)
            elif self.mode == "lexical":
                fused[cid] = lex_norm.get(cid, 0.0)
            elif self.mode == "dense":
                fused[cid] = dense_norm.get(cid, 0.0)
            else:
                w = self.dense_weight
                fused[cid] = (1 - w) * lex_norm.get(cid, 0.0) + w * dense_norm.get(cid, 0.0)
        ranked = sorted(fused, key=lambda c: (-fused[c], chunks[c].article_id, chunks[c].position))
        if about:
            mentioning = {chunks[c].article_id for c in ranked}
            for name in about:
                mentioning &= self.lexical.articles_mentioning(name, mentioning)
            if mentioning:
                ranked = [c for c in ranked if chunks[c].article_id in mentioning] + [
                    c for c in ranked if chunks[c].article_id not in mentioning
                ]
        return [
            Hit(
                chunk=chunks[cid],
                score=fused[cid],
                lexical=lex_norm.get(cid, 0.0),
                dense=dense_norm.get(cid, 0.0),
                similarity=similarity.get(cid, 0.0),
            )
            for cid in ranked[:k]
        ]


def _dense_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="tinbot-dense")


_DENSE_POOL = _dense_pool()


def _lexical_norm(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    top = max(scores.values())
    if top <= 0:
        return {k: 0.0 for k in scores}
    return {k: max(0.0, v / top) for k, v in scores.items()}


def _rrf(chunk_id: str, scores: dict[str, float], k: int = 60) -> float:
    if chunk_id not in scores:
        return 0.0
    rank = sum(1 for score in scores.values() if score > scores[chunk_id])  # ties share a rank
    return 1.0 / (k + rank + 1)
