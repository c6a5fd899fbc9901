"""Exact nearest neighbours over the vectors a Chroma collection holds, for the quality figures.

Chroma 1.5 (its Rust engine) adds the vectors of one write to the HNSW graph from a hash map walked
by a thread pool, so the insertion order, and with it the graph, changes from one build of the same
data to the next. ``hnsw.num_threads`` does not reach that code; one vector per write would fix the
order, at about seven times the time Chroma takes to write them. On the synthetic corpora, where
every article has near-copies (some 160 at 10k), Chroma's default search (ef 100) returns the
exact top 10 for about a third of the questions at 10k, and which near-copies it returns depends
on the graph: the same 10k corpus measured dev ans@5 0.94 and 0.84 in two runs. The quality pass
therefore ranks against exact neighbours, which depend only on the data and the code; the timed
pass still searches Chroma's index as built.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np

from index.vectors import DenseHit

PAGE = 5000  # vectors read from Chroma per call
TieKey = Callable[[str, dict[str, Any], str], Any]


class ExactIndex:
    """Every vector of a collection in memory. Equal similarities (identical passages) come back
    in the order of ``tie_key(id, metadata, document)``, by default the id; the baseline's ids
    are random (LangChain draws a UUID per passage), so it orders by source and text instead."""

    def __init__(
        self,
        ids: list[str],
        vectors: np.ndarray,
        metadatas: list[dict[str, Any]],
        documents: list[str],
        *,
        tie_key: TieKey | None = None,
    ) -> None:
        key = tie_key or (lambda id_, _meta, _doc: id_)
        order = sorted(
            range(len(ids)), key=lambda i: (key(ids[i], metadatas[i], documents[i]), ids[i])
        )
        self.ids = [ids[i] for i in order]
        self.metadatas = [metadatas[i] for i in order]
        self.documents = [documents[i] for i in order]
        # One reordered float32 copy, normalised in place: at a million passages every extra
        # copy is 1.5 GB in the quality phase.
        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1)[order]
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        matrix /= norms
        self.vectors = matrix

    @classmethod
    def from_collection(cls, collection: Any, *, tie_key: TieKey | None = None) -> ExactIndex:
        ids: list[str] = []
        vectors: list[np.ndarray] = []
        metadatas: list[dict[str, Any]] = []
        documents: list[str] = []
        # In pages: one get of a 100k collection binds more SQL variables than SQLite allows.
        for offset in itertools.count(0, PAGE):
            got = collection.get(
                include=["embeddings", "metadatas", "documents"], limit=PAGE, offset=offset
            )
            if not got["ids"]:
                break
            ids += list(got["ids"])
            vectors.append(np.asarray(got["embeddings"], dtype=np.float32))
            metadatas += [dict(m or {}) for m in got["metadatas"]]
            documents += [d or "" for d in got["documents"]]
        matrix = np.vstack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)
        del vectors
        return cls(ids, matrix, metadatas, documents, tie_key=tie_key)

    def nearest(
        self, vector: Sequence[float], k: int, where_article: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """(row, cosine similarity) of the ``k`` closest vectors, among the rows whose
        ``article_id`` metadata is in ``where_article`` when it is given."""
        query = np.asarray(vector, dtype=np.float32)
        query = query / (np.linalg.norm(query) or 1.0)
        similarity = self.vectors @ query
        if where_article is not None:
            allowed = np.array([m.get("article_id") in where_article for m in self.metadatas])
            similarity = np.where(allowed, similarity, -np.inf)
        # A stable sort keeps the rows' order among equal similarities.
        rows = np.argsort(-similarity, kind="stable")[:k]
        return [(int(r), float(similarity[r])) for r in rows if np.isfinite(similarity[r])]


class ExactVectors:
    """Stands in for tinbot's ``VectorStore`` on the read side (``query`` only)."""

    def __init__(self, index: ExactIndex) -> None:
        self.index = index

    def query(
        self, vector: Sequence[float], k: int, article_ids: Collection[str] | None = None
    ) -> list[DenseHit]:
        if k <= 0 or (article_ids is not None and not article_ids):
            return []
        return [
            DenseHit(self.index.ids[row], similarity)
            for row, similarity in self.index.nearest(vector, k, article_ids)
        ]
