"""``kill -9`` an ingest at many different moments; after each, the system must answer from a
consistent state and the next run must clean up what the killed one left.

Every trial updates all five sample articles (a new closing note each time), so each kill lands
somewhere in loading, embedding, writing vectors, the SQLite transaction or deleting stale
vectors. Delays are spread over the measured length of an uninterrupted run.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bot.evaluate import load_cases, run_eval
from bot.service import Tinbot
from bot.settings import Settings
from tests.conftest import REPO
from tests.helpers import CountingEmbedder, ingest_process, write_sample_versions

TRIALS = 20


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
        assert found["duplicate_passages"] == found["term_stat_errors"] == 0, found
    finally:
        service.close()


@pytest.mark.slow
def test_ingest_killed_at_any_point_recovers(tmp_path: Path) -> None:
    folder, data = tmp_path / "corpus", tmp_path / "data"
    folder.mkdir()
    embedder = CountingEmbedder()
    write_sample_versions(folder, 0)
    assert ingest_process(folder, data).wait(timeout=600) == 0
    # What a trial's uninterrupted run costs: an update where most passages are cached.
    write_sample_versions(folder, -1)
    started = time.monotonic()
    assert ingest_process(folder, data).wait(timeout=600) == 0
    full_run = time.monotonic() - started

    cases = [c for c in load_cases(REPO / "eval" / "dev.jsonl") if c.answerable]
    rng = random.Random(1234)
    kills = 0
    for trial in range(1, TRIALS + 1):
        write_sample_versions(folder, trial)
        process = ingest_process(folder, data)
        # Spread kills from start-up to the end of a typical run (the last may land after it).
        delay = full_run * (0.1 + 0.9 * (trial - 1) / TRIALS) * rng.uniform(0.9, 1.1)
        started = time.monotonic()
        try:
            process.wait(timeout=delay)
            # It finished first: runs are faster than measured (the machine got quieter), so
            # later kills aim within the time this one took.
            full_run = min(full_run, time.monotonic() - started)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
        _check(data, embedder, [c.question for c in cases])

    assert kills >= TRIALS // 2, "most trials must actually interrupt an ingest"
    # After all that, a clean run completes and the dev questions are answered as before.
    assert ingest_process(folder, data).wait(timeout=600) == 0
    service = Tinbot(Settings(data_dir=data), embedder)
    try:
        metrics = run_eval(service, cases).metrics()
    finally:
        service.close()
    assert metrics["answer_accuracy"] >= 0.9, metrics
    assert metrics["answerable_refused"] == 0, metrics
