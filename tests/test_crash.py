"""``kill -9`` an ingest at many different moments; after each, the system must answer from a
consistent state and the next run must clean up what the killed one left.

Every trial updates all five sample articles (a new closing note each time), so each kill lands
somewhere in loading, embedding, writing vectors, the SQLite transaction or deleting stale
vectors. Delays are spread over the measured length of an uninterrupted run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.evaluate import load_cases, run_eval
from bot.service import Tinbot
from bot.settings import Settings
from tests.conftest import REPO, SAMPLES
from tests.helpers import CountingEmbedder

TRIALS = 20


def _write_version(folder: Path, version: int) -> None:
    for path in sorted(SAMPLES.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        (folder / path.name).write_text(
            f"{text.rstrip()}\n\nGhi chú biên tập: bản cập nhật số {version}.\n", encoding="utf-8"
        )


def _ingest_process(folder: Path, data: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TINBOT_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "ingest", str(folder), "--no-progress"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _check(data: Path, embedder: CountingEmbedder, answerable: list[str]) -> None:
    service = Tinbot(Settings(data_dir=data), embedder)
    try:
        # Before any cleanup, readers see only committed passages.
        for question in answerable[:3]:
            answer = service.answer(question)
            for citation in answer.citations:
                article = service.store.get(citation.article_id)
                assert article is not None
                assert article.text[citation.start : citation.end] == citation.quote
        # What the next writer does first.
        with service.write_lock():
            service.recover()
        found = service.verify()
        assert found["articles"] == 5, found
        assert found["passages"] == found["lexical"] == found["vectors"], found
        assert found["orphan_vectors"] == found["missing_vectors"] == 0, found
        assert found["duplicate_passages"] == 0, found
    finally:
        service.close()


@pytest.mark.slow
def test_ingest_killed_at_any_point_recovers(tmp_path: Path) -> None:
    folder, data = tmp_path / "corpus", tmp_path / "data"
    folder.mkdir()
    embedder = CountingEmbedder()
    _write_version(folder, 0)
    assert _ingest_process(folder, data).wait(timeout=600) == 0
    # What a trial's uninterrupted run costs: an update where most passages are cached.
    _write_version(folder, -1)
    started = time.monotonic()
    assert _ingest_process(folder, data).wait(timeout=600) == 0
    full_run = time.monotonic() - started

    cases = [c for c in load_cases(REPO / "eval" / "dev.jsonl") if c.answerable]
    rng = random.Random(1234)
    kills = 0
    for trial in range(1, TRIALS + 1):
        _write_version(folder, trial)
        process = _ingest_process(folder, data)
        # Spread kills from start-up to past the end of a typical run.
        delay = full_run * (0.15 + 1.0 * (trial - 1) / TRIALS) * rng.uniform(0.9, 1.1)
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
        _check(data, embedder, [c.question for c in cases])

    assert kills >= TRIALS // 2, "most trials must actually interrupt an ingest"
    # After all that, a clean run completes and the dev questions are answered as before.
    assert _ingest_process(folder, data).wait(timeout=600) == 0
    service = Tinbot(Settings(data_dir=data), embedder)
    try:
        metrics = run_eval(service, cases).metrics()
    finally:
        service.close()
    assert metrics["answer_accuracy"] >= 0.9, metrics
    assert metrics["answerable_refused"] == 0, metrics
