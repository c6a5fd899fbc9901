"""What each benchmark child process runs: one phase of one system.

``python -m bench.run --phase SYSTEM:ACTION`` lands here, in a fresh process, so memory is measured
per process and nothing is shared through warm caches in Python. The results go back to the runner
as JSON. Actions: ``ingest``; ``query`` (latency, and ranks with Chroma's index as built); and
``quality`` (ranks and answers with exact nearest neighbours in place of Chroma's search, so they
do not change between two builds of the same index: see ``bench.exact``). ``quality`` runs in a
process of its own so that the vectors it holds do not count in the bot's memory.
"""

from __future__ import annotations

import json
import resource
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import corpus as bc
from bench import embedders as be
from index.embeddings import Embedder

BASELINE_K = 5
METRIC_K = 10
WARMUP = 3
BASELINE_COLLECTION = "baseline"


def _rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def _peak_rss_mb() -> float:
    """The kernel's high-water mark of this process's resident memory. VmHWM rather than
    ru_maxrss, which also counts the parent's memory at fork time."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _chroma_client(url: str | None, path: Path | None = None) -> Any:
    """A client of the server at ``url``, or of the embedded index in ``path``."""
    from urllib.parse import urlparse

    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if not url:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    parsed = urlparse(url)
    return chromadb.HttpClient(
        host=parsed.hostname or "127.0.0.1", port=parsed.port or 8000, settings=settings
    )


def _rank(texts_and_sources: list[tuple[str, str]], question: bc.Question) -> int | None:
    """1-based rank of the first passage from a right source holding every expected string."""
    if not question.answerable:
        return None
    for i, (text, source) in enumerate(texts_and_sources, start=1):
        text = unicodedata.normalize("NFC", text)
        if source in question.sources and all(e in text for e in question.expect):
            return i
    return None


def _answer_ok(answer: Any, question: bc.Question) -> bool:
    """Quotes the expected answer and cites the right article; refuses an unanswerable one."""
    if not question.answerable:
        return bool(answer.refused)
    text = unicodedata.normalize("NFC", answer.text)
    cited = {Path(c.origin).name for c in answer.citations}
    return (
        not answer.refused
        and all(e in text for e in question.expect)
        and bool(cited & set(question.sources))
    )


def _questions(spec: dict[str, Any]) -> list[bc.Question]:
    return bc.questions_from_json(json.loads(Path(spec["questions"]).read_text(encoding="utf-8")))


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, (time.perf_counter() - started) * 1000


def _rounds_of(spec: dict[str, Any]) -> int:
    return max(1, int(spec.get("rounds") or 1))


def _rounds(
    questions: list[bc.Question], rounds: int, ask: Callable[[str], object]
) -> list[list[float]]:
    """Milliseconds of ``ask`` for each question, once per round. A round asks every question in
    turn, so a passing burst of load on the machine touches a few samples of many questions
    rather than every sample of a few; more rounds make a p95 of 93 questions less of a draw."""
    samples: list[list[float]] = [[] for _ in questions]
    for _ in range(rounds):
        for q, out in zip(questions, samples, strict=True):
            _, ms = _timed(ask, q.question)
            out.append(round(ms, 2))
    return samples


class _Counting(Embedder):
    """Counts the passages an embedder is asked to embed (none, on an unchanged re-ingest)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.documents = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def token_counts(self, texts: list[str]) -> list[int]:
        return self.inner.token_counts(texts)


def phase_tinbot(action: str, spec: dict[str, Any]) -> dict[str, Any]:
    from bot.service import Tinbot
    from bot.settings import Settings

    embedder = _Counting(be.make_embedder(spec["embedder"], _path_or_none(spec.get("bank"))))
    settings = Settings(data_dir=Path(spec["data_dir"]), chroma_url=spec.get("chroma_url"))
    started = time.perf_counter()
    tinbot = Tinbot(settings, embedder)
    result: dict[str, Any] = {"open_s": round(time.perf_counter() - started, 3)}
    if action == "ingest":
        report, ms = _timed(tinbot.ingest, [spec["corpus_dir"]])
        passages = tinbot.stats().chunks
        result.update(
            articles=report.count("added"),
            failed=[f"{r.origin}: {r.reason}" for r in report.results if r.status == "failed"][:5],
            passages=passages,
            lexical_rows=tinbot.lexical.count(),
            vectors=tinbot.vectors.count(),
            ingest_s=round(ms / 1000, 2),
            passages_per_s=round(passages / (ms / 1000), 1),
        )
        embedded = embedder.documents
        again, ms = _timed(tinbot.ingest, [spec["corpus_dir"]])
        result.update(
            reingest_s=round(ms / 1000, 2),
            reingest_unchanged=again.count("unchanged"),
            reingest_embedded=embedder.documents - embedded,
        )
    elif action == "quality":
        from bench.exact import ExactIndex, ExactVectors

        client = _chroma_client(spec.get("chroma_url"), settings.data_dir / "chroma")
        exact = ExactIndex.from_collection(client.get_collection(settings.collection))
        # The retriever's only use of the vector store is ``query``.
        tinbot.retriever.vectors = ExactVectors(exact)
        origins = {a.article_id: Path(a.origin).name for a in tinbot.articles()}
        rows = []
        for q in _questions(spec):
            answer = tinbot.answer(q.question)
            hits = tinbot.search(q.question, k=METRIC_K)
            ranked = [(h.chunk.text, origins.get(h.chunk.article_id, "")) for h in hits]
            rows.append(
                {
                    "id": q.id,
                    "kind": q.kind,
                    "answer_ok": _answer_ok(answer, q),
                    "rank": _rank(ranked, q),
                }
            )
        result["questions"] = rows
    else:
        questions = _questions(spec)
        origins = {a.article_id: Path(a.origin).name for a in tinbot.articles()}
        result["rss_open_mb"] = _rss_mb()
        for q in questions[:WARMUP]:
            # Both halves: a figure answered from the fact table never reaches the vector
            # index, whose first search loads it (the baseline's warm-up searches too).
            tinbot.answer(q.question)
            tinbot.search(q.question, k=settings.top_k)
        k = settings.top_k
        search_ms = _rounds(questions, _rounds_of(spec), lambda q: tinbot.search(q, k=k))
        rows = []
        for q, searched in zip(questions, search_ms, strict=True):
            # Answers are timed once each: the answerer keeps features of the sentences it has
            # read, so a second round would time a warm cache that new questions do not find.
            answer, answer_ms = _timed(tinbot.answer, q.question)
            hits = tinbot.search(q.question, k=METRIC_K)
            ranked = [(h.chunk.text, origins.get(h.chunk.article_id, "")) for h in hits]
            rows.append(
                {
                    "id": q.id,
                    "kind": q.kind,
                    "retrieval_ms": searched[0],
                    "retrieval_samples_ms": searched,
                    "answer_ms": round(answer_ms, 2),
                    "answer_ok": _answer_ok(answer, q),
                    "rank": _rank(ranked, q),
                }
            )
        result["questions"] = rows
    tinbot.close()
    if isinstance(embedder.inner, be.ComposedEmbedder):
        composed = embedder.inner
        result.update(composed_sentences=composed.sentences, composed_fallbacks=composed.fallbacks)
    result.update(rss_end_mb=_rss_mb(), peak_rss_mb=_peak_rss_mb())
    return result


def phase_baseline(action: str, spec: dict[str, Any]) -> dict[str, Any]:
    """What most users write first: split, embed into Chroma, ``similarity_search(k=5)``."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    embedder = be.make_embedder(spec["embedder"], _path_or_none(spec.get("bank")))
    where: dict[str, Any] = (
        {"client": _chroma_client(spec["chroma_url"])}
        if spec.get("chroma_url")
        else {"persist_directory": spec["data_dir"]}
    )
    result: dict[str, Any] = {}
    if action == "quality":
        from bench.exact import ExactIndex

        client = _chroma_client(spec.get("chroma_url"), Path(spec["data_dir"]))
        exact = ExactIndex.from_collection(
            client.get_collection(BASELINE_COLLECTION),
            tie_key=lambda _id, meta, text: (meta.get("source", ""), text),
        )
        rows: list[dict[str, Any]] = []
        for q in _questions(spec):
            # Cosine order; the baseline's collection measures L2, the same order for the
            # unit-length vectors every embedder here returns.
            nearest = exact.nearest(embedder.embed_query(q.question), METRIC_K)
            ranked = [
                (exact.documents[r], exact.metadatas[r].get("source", "")) for r, _ in nearest
            ]
            rows.append({"id": q.id, "kind": q.kind, "rank": _rank(ranked, q)})
        result["questions"] = rows
    elif action == "ingest":
        started = time.perf_counter()
        docs = [
            Document(page_content=path.read_text(encoding="utf-8"), metadata={"source": path.name})
            for path in sorted(Path(spec["corpus_dir"]).glob("*.txt"))
        ]
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=bc.CHUNK_SIZE, chunk_overlap=bc.CHUNK_OVERLAP
        )
        chunks = splitter.split_documents(docs)
        store = Chroma.from_documents(
            chunks, embedder, collection_name=BASELINE_COLLECTION, **where
        )
        seconds = time.perf_counter() - started
        result.update(
            articles=len(docs),
            passages=len(chunks),
            vectors=store._collection.count(),
            ingest_s=round(seconds, 2),
            passages_per_s=round(len(chunks) / seconds, 1),
        )
    else:
        questions = _questions(spec)
        started = time.perf_counter()
        store = Chroma(
            collection_name=BASELINE_COLLECTION,
            embedding_function=embedder,
            create_collection_if_not_exists=False,
            **where,
        )
        result["open_s"] = round(time.perf_counter() - started, 3)
        result["rss_open_mb"] = _rss_mb()
        for q in questions[:WARMUP]:
            store.similarity_search(q.question, k=BASELINE_K)
        search_ms = _rounds(
            questions, _rounds_of(spec), lambda q: store.similarity_search(q, k=BASELINE_K)
        )
        rows = [
            {"id": q.id, "kind": q.kind, "retrieval_ms": ms[0], "retrieval_samples_ms": ms}
            for q, ms in zip(questions, search_ms, strict=True)
        ]
        for q, row in zip(questions, rows, strict=True):
            docs = store.similarity_search(q.question, k=METRIC_K)
            row["rank"] = _rank([(d.page_content, d.metadata["source"]) for d in docs], q)
        result["questions"] = rows
    if isinstance(embedder, be.ComposedEmbedder):
        result.update(composed_sentences=embedder.sentences, composed_fallbacks=embedder.fallbacks)
    result.update(rss_end_mb=_rss_mb(), peak_rss_mb=_peak_rss_mb())
    return result


def _path_or_none(value: str | None) -> Path | None:
    return Path(value) if value else None


def run_phase(system: str, action: str, spec_file: Path, result_file: Path) -> int:
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    phase = phase_tinbot if system == "tinbot" else phase_baseline
    result = phase(action, spec)
    result_file.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0
