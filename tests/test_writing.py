"""What a passage's vector is made of, on a real sample article, the real bundled model and a
real Chroma collection."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.service import Tinbot
from bot.settings import Settings
from bot.writing import embedding_context
from tests.conftest import SAMPLES
from tests.helpers import CountingEmbedder


class TextsSeen(CountingEmbedder):
    """The real model, keeping every text it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts += texts
        return super().embed_documents(texts)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def test_a_passage_vector_carries_its_articles_title_and_date(tmp_path: Path) -> None:
    embedder = TextsSeen()
    with Tinbot(Settings(data_dir=tmp_path / "data"), embedder) as bot:
        bot.ingest([str(SAMPLES / "000_f0ce5db119e1970c.txt")])
        (info,) = bot.articles()
        article = bot.store.get(info.article_id)
        assert article is not None
        context = embedding_context(article)
        chunks = bot.store.chunks_of(article.article_id)
        assert len(chunks) > 3
        assert article.title in context and article.date and article.date in context
        # The model reads the title and date once for the article, and each passage alone.
        assert embedder.texts.count(context) == 1
        assert sorted(t for t in embedder.texts if t != context) == sorted(c.text for c in chunks)
        inner = embedder.inner
        context_vector = np.asarray(inner.embed_documents([context])[0])
        (context_tokens,) = inner.token_counts([context])
        for chunk in chunks[:3]:
            own = np.asarray(inner.embed_documents([chunk.text])[0])
            (own_tokens,) = inner.token_counts([chunk.text])
            # Stored: the two vectors averaged by their tokens, as e5 averages a text's tokens.
            expected = _unit(context_tokens * context_vector + own_tokens * own)
            (hit,) = bot.vectors.query(expected.tolist(), 1)
            assert hit.chunk_id == chunk.chunk_id
            assert hit.similarity > 0.9999
            # Nearer the title than the passage alone, and close to embedding both together.
            assert float(expected @ context_vector) > float(own @ context_vector) + 0.01
            joint = np.asarray(inner.embed_documents([f"{context}\n{chunk.text}"])[0])
            assert float(expected @ joint) > 0.98
