"""The tinbot service: the one object the CLI and the bot hold. A thin facade over focused parts —
the shared data dir (``bot/datadir.py``: locks, the Chroma copy, interrupted writes), writing
(``bot/ingesting.py``: ingest and maintenance) and answering (``bot/answering/service.py``) —
that owns the stores and the model and closes them; use it as a context manager::

    with Tinbot.open(settings) as bot:
        print(bot.answer("Tuần Giáo kết nạp bao nhiêu đảng viên?").text)
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bot.answering.extractive import ExtractiveAnswerer
from bot.answering.facts import FactsAnswerer
from bot.answering.service import Answering
from bot.datadir import DataDir
from bot.ingesting import Ingester
from bot.maintenance import Maintenance
from bot.settings import Settings
from bot.types import Answer, ArticleInfo, IngestReport, IngestResult, Passage, Stats
from index.embeddings import Embedder
from index.facts import FactStore
from index.lexical import LexicalIndex
from index.retrieve import Hit, HybridRetriever
from index.store import ArticleStore
from index.vectors import VectorStore
from ingest.loaders import LoadLimits
from ingest.models import Article, RawDocument

logger = logging.getLogger(__name__)


class Tinbot:
    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.embedder = embedder
        self.store = ArticleStore(settings.data_dir / "tinbot.sqlite3")
        self.lexical = LexicalIndex(self.store.conn)
        self.data = DataDir(
            settings.data_dir,
            self.store,
            lambda recreate: VectorStore(
                settings.chroma, embedder.name, embedder.dim, recreate=recreate
            ),
        )
        self.retriever = HybridRetriever(
            self.store,
            self.lexical,
            self.data.vectors,
            embedder,
            dense_weight=settings.dense_weight,
        )
        self.facts = FactStore(self.store.conn)
        self.answerer = ExtractiveAnswerer(self.lexical, self.store, self.facts)
        self.writer = Ingester(
            settings,
            self.data,
            self.store,
            self.lexical,
            self.facts,
            embedder,
            on_new_vectors=self._use_vectors,
        )
        self.maintenance = Maintenance(self.writer)
        generator = None
        if settings.llm != "none":
            from bot.answering.generate import build_generator

            generator = build_generator(settings)
        self.answering = Answering(
            self.store,
            self.retriever,
            self.answerer,
            FactsAnswerer(self.facts, self.store),
            top_k=settings.top_k,
            generator=generator,
            sync=self.data.sync_vectors,
        )
        try:
            # Articles stored before facts existed, or read by an older extractor: rules only,
            # nothing is embedded, so this is quick.
            self.facts.refresh(self.store)
        except sqlite3.OperationalError as exc:  # another process is writing; next open retries
            logger.warning("facts not refreshed: %s", exc)

    @classmethod
    def open(cls, settings: Settings) -> Tinbot:
        return cls(settings, settings.embedder_instance())

    def close(self) -> None:
        self.data.close()
        self.store.close()

    def __enter__(self) -> Tinbot:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        """New settings reach the parts that read them (limits, near-duplicate policy)."""
        self._settings = settings
        if hasattr(self, "writer"):
            self.writer.settings = settings

    @property
    def vectors(self) -> VectorStore:
        return self.data.vectors

    def _use_vectors(self, vectors: VectorStore) -> None:
        self.retriever.vectors = vectors

    # --- writing (bot/ingesting.py) --------------------------------------------------------
    @contextmanager
    def write_lock(self) -> Iterator[None]:
        with self.writer.write_lock():
            yield

    def limits(self) -> LoadLimits:
        return self.writer.limits()

    def ingest(
        self, sources: Sequence[str], *, progress: bool = False, prune: bool = False
    ) -> IngestReport:
        return self.writer.ingest(sources, progress=progress, prune=prune)

    def ingest_bytes(self, data: bytes, *, filename: str, origin: str) -> IngestReport:
        return self.writer.ingest_bytes(data, filename=filename, origin=origin)

    def ingest_raw(self, raw: RawDocument) -> IngestResult:
        return self.writer.ingest_raw(raw)

    def remove(self, id_or_origin: str) -> Article | None:
        return self.writer.remove(id_or_origin)

    def remove_alias(self, origin: str) -> Article | None:
        return self.writer.remove_alias(origin)

    def recover(self) -> list[str]:
        return self.writer.recover()

    def verify(self) -> dict[str, int]:
        return self.maintenance.verify()

    def repair(self) -> dict[str, int]:
        return self.maintenance.repair()

    def backup(self, dest: Path) -> Path:
        return self.maintenance.backup(dest)

    def reindex(self, *, progress: bool = False) -> int:
        return self.maintenance.reindex(progress=progress)

    # --- reading (bot/answering/service.py) ------------------------------------------------
    def answer(
        self,
        question: str,
        *,
        history: list[tuple[str, str]] | None = None,
        article_ids: Sequence[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        generate: bool = True,
    ) -> Answer:
        """Answer from all articles, or only those given / published in a date range;
        ``generate=False`` skips the LLM for an answer needed at once."""
        return self.answering.answer(
            question, history=history, article_ids=article_ids, date_from=date_from,
            date_to=date_to, generate=generate,
        )  # fmt: skip

    def answer_stream(
        self,
        question: str,
        on_text: Callable[[str], None],
        *,
        history: list[tuple[str, str]] | None = None,
        article_ids: Sequence[str] | None = None,
    ) -> Answer:
        """:meth:`answer`, with a generated answer's unchecked text passed to ``on_text`` as it
        grows; the returned answer is the checked one (or the extractive fallback). Blocking:
        a front end runs it in a worker thread and hands ``on_text`` back to its own loop."""
        return self.answering.answer_stream(
            question, on_text, history=history, article_ids=article_ids
        )

    def search(
        self,
        question: str,
        k: int = 5,
        *,
        article_ids: Sequence[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> list[Hit]:
        """The passages the answerer reads for a question, best first."""
        return self.answering.search(
            question, k, article_ids=article_ids, date_from=date_from, date_to=date_to
        )

    def explain(self, question: str, *, top: int = 5) -> dict[str, object]:
        return self.answering.explain(question, top=top)

    def articles(self) -> list[ArticleInfo]:
        return self.answering.articles()

    def stats(self) -> Stats:
        return self.answering.stats()

    def passage(
        self, article_id: str, start: int, end: int, context_chars: int = 300
    ) -> Passage | None:
        return self.answering.passage(article_id, start, end, context_chars)

    def example_questions(self, n: int = 3) -> list[str]:
        return self.answering.example_questions(n)
